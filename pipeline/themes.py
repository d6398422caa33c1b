"""Themes: topics grouped into at most `max_themes` by how close their centres are (the cluster
stage's `topic_centres`), so a report of a large thread opens at a dozen themes rather than a
hundred topics. A pure function over arrays; the label stage (pipeline/label.py) calls it and names
the themes."""

from __future__ import annotations

import numpy as np


def topic_themes(
    topic_ids: np.ndarray, centres: np.ndarray | None, sizes: np.ndarray, max_themes: int
) -> dict[int, int]:
    """Topic id -> theme id (0, 1, ...), at most `max_themes` themes.

    With no more topics than `max_themes` each topic is its own theme (`centres` may then be None).
    Otherwise the centres (rows in the order of `topic_ids`, ascending) are joined by average-linkage
    agglomeration on cosine distance and the tree is cut into at most `max_themes` groups. Themes
    are numbered by claims (`sizes`, per topic) descending, ties by their smallest topic id.
    """
    topic_ids = np.asarray(topic_ids)
    sizes = np.asarray(sizes)
    if len(topic_ids) <= max_themes:
        groups = np.arange(len(topic_ids))
    else:
        from scipy.cluster.hierarchy import fcluster, linkage

        centres = np.asarray(centres, np.float64).copy()
        # a centre of zero length (every vector zero) has no direction: give it a fixed one, as
        # cosine distance to a zero vector is undefined
        empty = ~np.any(centres != 0, axis=1)
        centres[empty, 0] = 1.0
        tree = linkage(centres, method="average", metric="cosine")
        groups = fcluster(tree, t=max_themes, criterion="maxclust")
    members: dict[int, list[int]] = {}
    for topic, group in zip(topic_ids.tolist(), groups.tolist(), strict=True):
        members.setdefault(group, []).append(topic)
    size_of = dict(zip(topic_ids.tolist(), sizes.tolist(), strict=True))
    order = sorted(members.values(), key=lambda ts: (-sum(size_of[t] for t in ts), min(ts)))
    return {t: theme for theme, ts in enumerate(order) for t in ts}
