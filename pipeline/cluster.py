"""Cluster: claim vectors -> topics (HDBSCAN on a seeded UMAP reduction), sides within each topic,
and 2-D map positions.

A topic is what HDBSCAN finds. When claims have stances (the stance stage), each topic is split by
side, so a cluster never mixes the pro and con claims of one proposition: a cluster is one
(topic, side). HDBSCAN's noise joins the nearest topic when its similarity to that topic's centre
is at least `reassign_min_similarity`; the rest stays unclustered (-1), never dropped. Numbers are
ordered by size (largest first, ties by first claim), so the same input gives the same numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from pipeline.config import ClusterParams
from pipeline.io import read_table, write_table
from pipeline.progress import say
from pipeline.schemas import CLUSTERS

MAP_MIN_DIST = 0.1  # spreads points a little on the map; clustering uses params.min_dist


def reduce(vectors: np.ndarray, n_components: int, n_neighbors: int, min_dist: float, seed: int, knn=None):
    """Seeded UMAP (cosine) to `n_components`; `knn` reuses a neighbour graph already computed."""
    import warnings

    import umap

    # a seed makes UMAP single-threaded on purpose (reproducible); its warning says so on every run
    warnings.filterwarnings("ignore", message="n_jobs value", category=UserWarning)

    reducer = umap.UMAP(
        n_neighbors=n_neighbors,
        n_components=n_components,
        min_dist=min_dist,
        metric="cosine",
        random_state=seed,  # also makes UMAP single-threaded, hence reproducible
        precomputed_knn=knn if knn is not None else (None, None, None),
        init="spectral" if len(vectors) > n_components + 10 else "random",
    )
    return reducer.fit_transform(vectors).astype(np.float32)


def renumber(labels: np.ndarray) -> np.ndarray:
    """Clusters numbered 0.. by descending size, ties by first appearance; -1 stays -1."""
    ids = [c for c in dict.fromkeys(labels.tolist()) if c != -1]
    sizes = {c: int((labels == c).sum()) for c in ids}
    order = sorted(ids, key=lambda c: -sizes[c])  # stable sort keeps first appearance on ties
    mapping = {old: new for new, old in enumerate(order)}
    return np.array([mapping.get(c, -1) for c in labels.tolist()], dtype=np.int32)


def cluster(vectors: np.ndarray, params: ClusterParams, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cluster per row, membership probability per row, (n, 2) map coordinates)."""
    import hdbscan

    n = len(vectors)
    if n < max(params.min_cluster_size, params.n_components + 3, 5):
        say(f"cluster: only {n} claim(s), too few to cluster; all are left unclustered")
        coords = _small_map(vectors)
        return np.full(n, -1, np.int32), np.zeros(n, np.float32), coords
    k = min(params.n_neighbors, n - 1)
    from umap.umap_ import nearest_neighbors

    knn = nearest_neighbors(
        vectors,
        n_neighbors=k,
        metric="cosine",
        metric_kwds={},
        angular=False,
        random_state=np.random.RandomState(seed),
    )
    reduced = reduce(vectors, params.n_components, k, params.min_dist, seed, knn)
    coords = reduce(vectors, 2, k, MAP_MIN_DIST, seed, knn)
    model = hdbscan.HDBSCAN(
        min_cluster_size=params.min_cluster_size,
        min_samples=min(params.min_samples, n - 1),
        cluster_selection_method=params.cluster_selection_method,
    ).fit(reduced)
    return renumber(model.labels_), model.probabilities_.astype(np.float32), coords


def _small_map(vectors: np.ndarray) -> np.ndarray:
    """2-D positions for a handful of points: their first two principal components."""
    centred = vectors - vectors.mean(axis=0)
    if len(vectors) < 2:
        return np.zeros((len(vectors), 2), np.float32)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    coords = centred @ vt[:2].T
    if coords.shape[1] < 2:
        coords = np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
    return coords.astype(np.float32)


def reassign_noise(labels: np.ndarray, vectors: np.ndarray, min_similarity: float) -> np.ndarray:
    """Unclustered claims join the topic whose centre (mean unit vector) is most similar, when that
    cosine similarity reaches `min_similarity`; 1.0 or more turns reassignment off."""
    topics = sorted(set(labels.tolist()) - {-1})
    noise = np.flatnonzero(labels == -1)
    if not topics or not len(noise) or min_similarity >= 1.0:
        return labels
    centres = np.stack([vectors[labels == t].mean(axis=0) for t in topics])
    centres /= np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)
    sims = vectors[noise] @ centres.T
    best = sims.argmax(axis=1)
    out = labels.copy()
    keep = sims[np.arange(len(noise)), best] >= min_similarity
    out[noise[keep]] = np.array(topics)[best[keep]]
    return out


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


def assign(
    vectors: np.ndarray, claim_ids: list[str], params: ClusterParams, seed: int, stances: pl.DataFrame | None = None
):
    """The whole stage on arrays: (cluster, topic, side, probability, map coordinates) per claim."""
    topics, probabilities, coords = cluster(vectors, params, seed)
    topics = renumber(reassign_noise(topics, vectors, params.reassign_min_similarity))
    sides = side_keys(claim_ids, stances)
    clusters = split_by_side(topics, sides) if any(s is not None for s in sides) else topics
    return clusters, topics, sides, probabilities, coords


def run(
    params: ClusterParams,
    seed: int,
    embeddings_path: str | Path,
    out: str | Path,
    stances_path: str | Path | None = None,
) -> pl.DataFrame:
    embeddings = read_table(embeddings_path, "embeddings")
    vectors = embeddings["vector"].to_numpy().astype(np.float32)
    stances = read_table(stances_path, "stances") if stances_path is not None else None
    clusters, topics, sides, probabilities, coords = assign(
        vectors, embeddings["claim_id"].to_list(), params, seed, stances
    )
    table = pl.DataFrame(
        {
            "claim_id": embeddings["claim_id"],
            "cluster": clusters,
            "topic": topics,
            "side": sides,
            "probability": probabilities,
            "x": coords[:, 0],
            "y": coords[:, 1],
        },
        schema=CLUSTERS,
    )
    write_table(table, out, "clusters")
    found = len(set(topics.tolist()) - {-1})
    say(
        f"cluster: {found} topic(s), {len(set(clusters.tolist()) - {-1})} cluster(s) with sides, "
        f"{int((topics == -1).sum())} of {len(topics)} claim(s) unclustered"
    )
    return table
