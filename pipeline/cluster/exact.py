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

    # Every CPU computes the same distances. A float32 matrix product sums in an order that depends
    # on the BLAS kernel (AVX2 or AVX-512, ...), so its last bits differed between machines, and the
    # map's UMAP, which amplifies any change, drew another map (docs/cluster.md, "On every machine").
    # Here every sum is of integers small enough to be exact, so its order cannot matter:
    # 1. candidates: the unit vectors' components x COARSE, rounded. Every product and partial sum
    #    of a dot product is then an integer below 2**24 (Cauchy-Schwarz bounds a partial sum by
    #    |q| |d| <= (COARSE + 0.5 sqrt(dims))**2), which float32 holds exactly, so one float32
    #    matrix product gives the same products on every machine; the `k + EXTRA` rows with the
    #    largest are kept (these products rank rows within about 1e-4 of their true cosines).
    # 2. distances: the candidates' cosines from the components x 2**24, rounded (still exact in
    #    float32), multiplied and summed in float64, where every partial sum stays below 2**53.
    #    A component moves by at most 3e-8 from the float32 unit vector's, so a rounding-sized
    #    change of a vector moves these distances about as little as float32 products did.
    COARSE = 4000
    FINE = 2**24
    EXTRA = 8

    def __init__(self, vectors: np.ndarray):
        unit = unit_rows(vectors)
        self.data, _ = quantised(unit, self.COARSE)
        self.fine, self.fine_norms = quantised(unit, self.FINE)

    def query(self, queries: np.ndarray, k: int, epsilon: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(indices, cosine distances) of the `k` nearest rows to each query, nearest first."""
        unit = unit_rows(queries)
        coarse, _ = quantised(unit, self.COARSE)
        fine, fine_norms = quantised(unit, self.FINE)
        k = min(k, len(self.data))
        wide = min(k + self.EXTRA, len(self.data))
        indices = np.empty((len(unit), k), np.int32)
        dists = np.empty((len(unit), k), np.float32)
        import torch  # its top-k is ~12x faster than numpy's argpartition here

        for start in range(0, len(unit), self.BLOCK):
            block = slice(start, start + self.BLOCK)
            products = coarse[block] @ self.data.T  # exact integers: the same on every machine
            near = torch.topk(torch.from_numpy(products), wide, dim=1, sorted=False).indices.numpy()
            # exact integer dot products in float64, in whatever order einsum sums them
            dots = np.einsum("qcd,qd->qc", self.fine[near].astype(np.float64), fine[block].astype(np.float64))
            cosine = dots / fine_norms[block, None] / self.fine_norms[near]
            near_dist = (1.0 - cosine).astype(np.float32)
            order = np.lexsort((near, near_dist), axis=1)[:, :k]  # by distance, then by row number
            indices[block] = np.take_along_axis(near, order, axis=1)
            near_dist = np.take_along_axis(near_dist, order, axis=1)
            dists[block] = np.where(near_dist < self.SAME, 0.0, near_dist)
        return indices, dists


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """float64 rows scaled to unit length, with element-wise arithmetic only, summed column by
    column in a fixed order: no step depends on the CPU's vector width or a BLAS kernel."""
    rows = np.asarray(vectors, dtype=np.float32).astype(np.float64)
    squares = np.zeros(len(rows))
    for column in rows.T:
        squares += column * column
    return rows / np.maximum(np.sqrt(squares), 1e-12)[:, None]


def quantised(unit: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """(unit rows x `scale`, rounded to integers, in float32: exact up to 2**24; each integer row's
    length, float64: its sum of squares is an integer below 2**53, exact in any order)."""
    integers = np.rint(np.asarray(unit, dtype=np.float64) * scale)
    lengths = np.sqrt(np.einsum("qd,qd->q", integers, integers))
    return np.ascontiguousarray(integers, dtype=np.float32), np.maximum(lengths, 1.0)
