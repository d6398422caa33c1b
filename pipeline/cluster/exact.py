"""Exact cosine nearest neighbours by blocked matrix products (`ExactIndex`), in the place of
pynndescent's approximate index."""

from __future__ import annotations

import numpy as np


class ExactIndex:
    """Exact cosine neighbours by blocked matrix products, in the place of pynndescent's index.

    Its neighbour graph of the fit sample is UMAP's `precomputed_knn` and the spectral embedding's
    graph, and `query` finds the rows to place among the sample (`stancemap.cluster.model`). The fit sample is at most
    `fit_sample` rows, so exact search costs seconds (25,000 rows: ~5 s on 2 cores), while
    pynndescent spent ~24 s of every process compiling numba code, and exact is also never worse.
    Ties are broken by row number, so the graph is the same in every process.
    """

    # a row's cosine distance to itself comes out of float32 products as up to ~8e-7, not 0, and
    # UMAP takes the first non-zero distance as a row's `rho`: a rounding-sized change of the
    # vectors then swapped rho between the true nearest neighbour and that rounding error, and
    # redrew half the neighbour graph (bench/stability.py, docs/cluster.md). Distances this small
    # are read as 0: the same text, or one that differs by rounding only.
    SAME = 1e-5
    BLOCK = 1024  # query rows per product: 1,024 x 25,000 floats = 100 MB

    def __init__(self, vectors: np.ndarray):
        data = np.ascontiguousarray(vectors, dtype=np.float32)
        self.data = data / np.maximum(np.linalg.norm(data, axis=1, keepdims=True), 1e-12)

    def query(self, queries: np.ndarray, k: int, epsilon: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(indices, cosine distances) of the `k` nearest rows to each query, nearest first."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        queries = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
        k = min(k, len(self.data))
        indices = np.empty((len(queries), k), np.int32)
        dists = np.empty((len(queries), k), np.float32)
        import torch  # its top-k is ~12x faster than numpy's argpartition here

        for start in range(0, len(queries), self.BLOCK):
            dist = 1.0 - queries[start : start + self.BLOCK] @ self.data.T
            near = torch.topk(torch.from_numpy(dist), k, dim=1, largest=False, sorted=False).indices.numpy()
            near_dist = np.take_along_axis(dist, near, axis=1)
            order = np.lexsort((near, near_dist), axis=1)  # by distance, then by row number
            indices[start : start + len(dist)] = np.take_along_axis(near, order, axis=1)
            near_dist = np.take_along_axis(near_dist, order, axis=1)
            dists[start : start + len(dist)] = np.where(near_dist < self.SAME, 0.0, near_dist)
        return indices, dists
