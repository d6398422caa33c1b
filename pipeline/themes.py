"""Themes: topics grouped into at most `max_themes` by how close their centres are, so a report of a
large thread opens at a dozen themes rather than a hundred topics. Pure functions over arrays; the
label stage (pipeline/label.py) calls them and names the themes."""

from __future__ import annotations

import numpy as np

CHUNK = 16_384  # claim vectors turned into float64 at a time: a big topic never doubles in memory


def topic_centres(topics: np.ndarray, rows: np.ndarray, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each topic's centre: the mean of its claims' L2-normalised vectors, renormalised, in float64.

    `topics` holds one topic id per claim, sorted ascending (ties in a fixed order, so sums run
    the same way every time); `rows` the claim's row in `matrix`. Returns the distinct topic ids
    (ascending) and their centres, one row each. The work is per topic and per chunk of claims:
    no Python loop over claims, no float64 copy of the whole matrix.
    """
    ids, starts, counts = np.unique(topics, return_index=True, return_counts=True)
    centres = np.zeros((len(ids), matrix.shape[1]), np.float64)
    for k, (start, count) in enumerate(zip(starts.tolist(), counts.tolist(), strict=True)):
        total = np.zeros(matrix.shape[1], np.float64)
        for lo in range(start, start + count, CHUNK):
            vectors = matrix[rows[lo : min(lo + CHUNK, start + count)]].astype(np.float64)
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            total += (vectors / np.where(norms > 0, norms, 1.0)).sum(axis=0)
        norm = np.linalg.norm(total)
        if norm > 0:
            centres[k] = total / norm
    return ids, centres


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
