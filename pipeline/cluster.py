"""Cluster: claim vectors -> clusters (HDBSCAN on a seeded UMAP reduction) and 2-D map positions.

Cluster numbers are ordered by size (largest first, ties by first claim), so the same input
always gives the same numbers; -1 marks claims HDBSCAN left unclustered, which stay in the table.
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


def run(params: ClusterParams, seed: int, embeddings_path: str | Path, out: str | Path) -> pl.DataFrame:
    embeddings = read_table(embeddings_path, "embeddings")
    vectors = embeddings["vector"].to_numpy().astype(np.float32)
    labels, probabilities, coords = cluster(vectors, params, seed)
    table = pl.DataFrame(
        {
            "claim_id": embeddings["claim_id"],
            "cluster": labels,
            "probability": probabilities,
            "x": coords[:, 0],
            "y": coords[:, 1],
        },
        schema=CLUSTERS,
    )
    write_table(table, out, "clusters")
    found = len(set(labels.tolist()) - {-1})
    say(f"cluster: {found} cluster(s), {int((labels == -1).sum())} of {len(labels)} claim(s) unclustered")
    return table
