"""Sides: each claim's stance toward the propositions, and clusters as (topic, side) groups."""

from __future__ import annotations

import numpy as np
import polars as pl

from stancemap.cluster.topics import renumber


def side_keys(claim_ids: list[str], stances: pl.DataFrame | None) -> list[str | None]:
    """Each claim's side: its stance toward every proposition ("pro", or "1:pro 2:con" with
    several propositions); None when there are no stances."""
    if stances is None or stances.height == 0:
        return [None] * len(claim_ids)
    n_props = stances["proposition"].max() + 1
    wide: dict[str, list[str]] = {}
    for cid, prop, stance in stances.select("claim_id", "proposition", "stance").iter_rows():
        wide.setdefault(cid, ["neither"] * n_props)[prop] = stance

    def key(cid: str) -> str:
        sides = wide.get(cid, ["neither"] * n_props)
        return sides[0] if n_props == 1 else " ".join(f"{i + 1}:{s}" for i, s in enumerate(sides))

    return [key(c) for c in claim_ids]


def split_by_side(topics: np.ndarray, sides: list[str | None]) -> np.ndarray:
    """Cluster ids for (topic, side) groups, numbered by size; unclustered stays -1."""
    groups = [f"{t}\0{s}" if t >= 0 else None for t, s in zip(topics.tolist(), sides, strict=True)]
    names = {g: i for i, g in enumerate(dict.fromkeys(g for g in groups if g is not None))}
    return renumber(np.array([names[g] if g is not None else -1 for g in groups], dtype=np.int64))
