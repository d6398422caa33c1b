"""The cluster stage: embeddings (and stances) in, the clusters table and the state for reruns out
(`run`), and the same on arrays from scratch (`assign`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from stancemap.cluster.reruns import assign_incremental
from stancemap.cluster.state import load_state, save_state
from stancemap.config import ClusterParams
from stancemap.io import read_table, write_table
from stancemap.progress import say
from stancemap.schemas import CLUSTERS


def assign(
    vectors: np.ndarray, claim_ids: list[str], params: ClusterParams, seed: int, stances: pl.DataFrame | None = None
):
    """The whole stage on arrays, from scratch (no earlier run): (cluster, topic, side, probability,
    map coordinates) per claim."""
    r = assign_incremental(vectors, claim_ids, params, seed, stances)
    return r.clusters, r.topics, r.sides, r.probabilities, r.coords


def run(
    params: ClusterParams,
    *,
    seed: int,
    embeddings: str | Path,
    out: str | Path,
    stances: str | Path | None = None,
    state: str | Path | None = None,
    full: bool = False,
    split_sides: bool = True,
) -> pl.DataFrame:
    """Cluster the vectors in `embeddings` (split by side toward propositions from `stances` when
    `split_sides`), write `out`, and keep the fit in `state` for reruns (`full`: refit anyway)."""
    state_file = Path(state) if state else None
    embeddings = read_table(embeddings, "embeddings")
    vectors = embeddings["vector"].to_numpy().astype(np.float32)
    stances = read_table(stances, "stances") if stances is not None else None
    previous = load_state(state_file)
    ids = embeddings["claim_id"].to_list()
    result = assign_incremental(vectors, ids, params, seed, stances, previous, full, split_sides)
    table = pl.DataFrame(
        {
            "claim_id": embeddings["claim_id"],
            "cluster": result.clusters,
            "topic": result.topics,
            "side": result.sides,
            "probability": result.probabilities,
            "x": result.coords[:, 0],
            "y": result.coords[:, 1],
            "new": result.new,
        },
        schema=CLUSTERS,
    )
    write_table(table, out, "clusters")
    if state_file is not None:
        save_state(result.state, state_file)
    topics, clusters = result.topics, result.clusters
    how = f"full fit ({result.reason})" if result.mode == "full" else f"{int(result.new.sum())} new claim(s) placed"
    say(
        f"cluster: {how}; {len(set(topics.tolist()) - {-1})} topic(s), {len(set(clusters.tolist()) - {-1})} "
        f"cluster(s){' split by side' if split_sides and stances is not None and stances.height else ''}, "
        f"{int((topics == -1).sum())} of {len(topics)} claim(s) unclustered"
    )
    return table
