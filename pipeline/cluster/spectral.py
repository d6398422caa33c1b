"""The space HDBSCAN clusters in: a spectral embedding of UMAP's fuzzy neighbour graph (`Spectral`).

The graph is UMAP's own (the same neighbours and weights its layout starts from), but where UMAP
then optimises a layout by stochastic gradient descent, this takes the graph's leading
eigenvectors (Laplacian eigenmaps, rows scaled to unit length as in Ng, Jordan and Weiss's
spectral clustering). An eigenvector moves smoothly with the graph, so a rounding-sized
change of the vectors leaves the topics as they were, which UMAP's optimisation does not: it
took 1e-6 of noise to another layout (topics at ARI 0.71 to 0.81 on the demo; docs/cluster.md). It is also
deterministic without a seed, and one sparse eigen-solve is cheaper than a second UMAP.

Rows outside the graph (the claims beyond `fit_sample`, new claims in a rerun) are placed at the
weighted mean of their nearest fitted rows' positions, with the weights UMAP's graph gives them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stancemap.cluster import jitcache

DENSE_MAX = 2_000  # graphs up to this many rows are solved densely (LAPACK); bigger ones by ARPACK
MAX_DIMS = 64  # dimensions at most, however many pieces the graph falls into (see embed)
DECIMALS = 5  # positions are rounded to this, so the last bits of a BLAS on another CPU do not reach HDBSCAN


@dataclass
class Spectral:
    """A fitted spectral embedding: the fitted rows' positions and the index that finds a new
    row's neighbours among them (the exact index, or pynndescent's past `exact_place_max`)."""

    search: object  # .query(rows, k) -> (indices, cosine distances) among the fitted rows
    positions: np.ndarray  # (fitted rows, dims) float32, unit rows
    k: int

    @classmethod
    def fit(cls, vectors: np.ndarray, indices: np.ndarray, distances: np.ndarray, dims: int, search) -> Spectral:
        """The embedding of `vectors` from their `k` nearest neighbours (`indices`, `distances`,
        nearest first and each row itself first)."""
        from umap.umap_ import fuzzy_simplicial_set

        jitcache.enable()  # the graph's numba code from disk: 3.6 s -> 0.1 s at 20k (cluster/jitcache.py)
        graph, _, _ = fuzzy_simplicial_set(
            vectors,
            indices.shape[1],
            np.random.RandomState(0),  # unused when the neighbours are given
            "cosine",
            knn_indices=indices,
            knn_dists=distances,
        )
        return cls(search, embed(graph, dims), indices.shape[1])

    def place(self, vectors: np.ndarray) -> np.ndarray:
        """Positions of rows that are not in the graph: the mean of their `k` nearest fitted
        rows' positions, weighted as UMAP's graph weighs a row's neighbours, scaled to unit length."""
        return self.place_near(*self.search.query(vectors, self.k))

    def place_near(self, indices: np.ndarray, distances: np.ndarray) -> np.ndarray:
        """`place` for rows whose neighbours were already searched (`indices`, cosine `distances`)."""
        return mean_of_neighbours(self.positions, np.asarray(indices), np.asarray(distances, np.float32))


def embed(graph, dims: int) -> np.ndarray:
    """(rows, dims) unit rows: the `dims` leading eigenvectors of the symmetric normalised
    adjacency D^-1/2 W D^-1/2 of `graph` (sparse, symmetric), the first (sqrt of the degree)
    included as Ng, Jordan and Weiss do, each scaled by its eigenvalue and signed so that its
    largest entry is positive, then rows scaled to unit length and rounded to `DECIMALS`.

    Scaling by the eigenvalue and keeping the first matter when a graph falls apart into pieces
    (the first eigenvectors are then one per piece): without them, three separate blobs of 30
    claims came out as five topics in tests/cluster/test_model.py. A graph in pieces is solved
    piece by piece, since ARPACK finds only some of the eigenvectors of a repeated eigenvalue
    (5 of 8 pieces' in tests/cluster/test_spectral.py), and gets one more dimension per extra
    piece (up to `MAX_DIMS`), so that each piece keeps its own dimension besides the `dims` that
    tell its rows apart."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    weights = sp.csr_matrix(graph, dtype=np.float64)
    n = weights.shape[0]
    count, piece = connected_components(weights, directed=False)
    dims = max(1, min(dims + count - 1, MAX_DIMS, n - 1))
    scale = 1.0 / np.sqrt(np.maximum(np.asarray(weights.sum(axis=1)).ravel(), 1e-12))
    adjacency = (sp.diags(scale) @ weights @ sp.diags(scale)).tocsr()
    found = []  # (eigenvalue, piece size, piece, index within the piece, rows, eigenvector)
    for p in range(count):
        rows = np.arange(n) if count == 1 else np.flatnonzero(piece == p)
        values, vectors = _leading(adjacency if count == 1 else adjacency[rows][:, rows], dims)
        found += [(values[j], len(rows), p, j, rows, vectors[:, j]) for j in range(len(values))]
    # ties (one eigenvalue 1 per piece) go to the bigger piece, then the first
    found.sort(key=lambda f: (-round(float(f[0]), 9), -f[1], f[2], f[3]))
    positions = np.zeros((n, min(dims, len(found))))
    for column, (value, _, _, _, rows, vector) in enumerate(found[:dims]):
        positions[rows, column] = vector * max(float(value), 0.0)
    biggest = np.abs(positions).argmax(axis=0)
    positions = positions * np.where(positions[biggest, np.arange(positions.shape[1])] < 0, -1.0, 1.0)
    return _unit_rounded(positions)


def _leading(adjacency, dims: int) -> tuple[np.ndarray, np.ndarray]:
    """Up to `dims` of the largest eigenvalues of a symmetric matrix and their eigenvectors,
    largest first: LAPACK up to `DENSE_MAX` rows (and whenever `dims` would not be fewer than
    the rows, which ARPACK needs), ARPACK past that."""
    n = adjacency.shape[0]
    if n <= DENSE_MAX or dims >= n - 1:
        values, vectors = np.linalg.eigh(adjacency.toarray())
    else:
        from scipy.sparse.linalg import eigsh

        # v0 fixed: ARPACK otherwise starts from a random vector; tol far below the rounding
        values, vectors = eigsh(adjacency, k=dims, which="LA", v0=np.ones(n), tol=1e-10)
    order = np.argsort(-values, kind="stable")[:dims]
    return values[order], vectors[:, order]


def mean_of_neighbours(positions: np.ndarray, indices: np.ndarray, distances: np.ndarray) -> np.ndarray:
    """Each row's position from its neighbours' (`indices` into `positions`, cosine `distances`,
    nearest first), weighted by `neighbour_weights`, scaled to unit length and rounded."""
    return _unit_rounded(weighted_mean(positions, indices, neighbour_weights(distances)))


def neighbour_weights(distances: np.ndarray) -> np.ndarray:
    """(rows, k) weights of each row's neighbours from their cosine `distances` (nearest first):
    exp(-(d - d_nearest) / sigma), with the per-row sigma UMAP's graph uses."""
    from umap.umap_ import smooth_knn_dist

    jitcache.enable()
    sigmas, rhos = smooth_knn_dist(distances, float(distances.shape[1]), local_connectivity=1.0)
    return np.exp(-np.maximum(distances - rhos[:, None], 0.0) / sigmas[:, None])


def weighted_mean(positions: np.ndarray, indices: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(rows, dims) float64: each row's mean of `positions[indices[row]]`, weighted by `weights[row]`.
    Summed neighbour by neighbour in a fixed order, without BLAS, so every machine gets the same bits."""
    total = np.zeros((len(indices), positions.shape[1]))
    weight = np.zeros((len(indices), 1))
    for j in range(indices.shape[1]):
        w = weights[:, j, None].astype(np.float64)
        total += w * positions[indices[:, j]]
        weight += w
    return total / np.maximum(weight, 1e-12)


def _unit_rounded(positions: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(positions, axis=1, keepdims=True)
    return np.round(positions / np.maximum(norms, 1e-12), DECIMALS).astype(np.float32)
