import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import adjusted_rand_score

from stancemap.cluster import ExactIndex, cluster
from stancemap.cluster import spectral as spectral_module
from stancemap.cluster.spectral import Spectral, embed
from stancemap.config import ClusterParams


def topics(seed: int = 0, n_topics: int = 8, per: int = 60, dim: int = 48, spread: float = 0.35):
    """Overlapping blobs on the sphere, closer to real claims than well-separated ones."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_topics, dim))
    scale = spread / np.sqrt(dim)
    points = np.concatenate([c + scale * np.linalg.norm(c) * rng.normal(size=(per, dim)) for c in centres])
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return points.astype(np.float32), np.repeat(np.arange(n_topics), per)


def fitted(vectors: np.ndarray, dims: int = 10, k: int = 15) -> Spectral:
    index = ExactIndex(vectors)
    indices, distances = index.query(vectors, k)
    return Spectral.fit(vectors, indices, distances, dims, index)


def test_two_cliques_give_two_points():
    block = np.ones((5, 5)) - np.eye(5)
    graph = sp.block_diag([block, block]).tocsr()
    positions = embed(graph, 3)
    assert positions.shape == (10, 4) and positions.dtype == np.float32  # one more dimension for the second piece
    assert np.allclose(np.linalg.norm(positions, axis=1), 1, atol=1e-4)
    for members in (slice(0, 5), slice(5, 10)):  # a clique's rows sit together ...
        assert np.ptp(positions[members], axis=0).max() < 1e-4
    assert np.linalg.norm(positions[0] - positions[5]) > 0.5  # ... and the two cliques apart


def test_the_embedding_is_its_own_after_a_rounding_sized_change():
    vectors, _ = topics()
    moved = (vectors + np.random.default_rng(1).normal(0, 1e-6, vectors.shape)).astype(np.float32)
    a, b = fitted(vectors).positions, fitted(moved).positions
    # eigenvectors move as little as the graph; where the graph falls apart into pieces, their
    # eigenvalues tie and any rotation of those eigenvectors is as good: compare what HDBSCAN
    # sees, the distances between rows
    assert np.abs(a @ a.T - b @ b.T).max() < 1e-3


def test_a_row_is_placed_near_its_own_topic():
    vectors, truth = topics()
    fit_rows = np.arange(len(vectors)) % 3 != 0  # a third is left out of the fit and placed
    model = fitted(vectors[fit_rows])
    placed = model.place(vectors[~fit_rows])
    assert placed.shape == (int((~fit_rows).sum()), model.positions.shape[1])
    nearest = (placed @ model.positions.T).argmax(axis=1)
    assert (truth[fit_rows][nearest] == truth[~fit_rows]).mean() > 0.95


def test_the_sparse_solver_gives_the_dense_one_s_embedding(monkeypatch):
    vectors, _ = topics(per=40)
    dense = fitted(vectors).positions
    monkeypatch.setattr(spectral_module, "DENSE_MAX", 10)
    sparse = fitted(vectors).positions
    assert np.abs(dense @ dense.T - sparse @ sparse.T).max() < 1e-3


@pytest.mark.slow
def test_topics_do_not_move_with_noise_of_a_millionth():
    """The issue #15 measure in small: what 1e-6 of noise does to the topics (UMAP's layout took
    the demo to ARI 0.53 to 0.72; bench/stability.py measures the product on real claims)."""
    vectors, truth = topics()
    params = ClusterParams()
    labels = cluster(vectors, params, 42)[0]
    assert adjusted_rand_score(truth, labels) > 0.8
    for noise_seed in (1, 2, 3):
        moved = vectors + np.random.default_rng(noise_seed).normal(0, 1e-6, vectors.shape)
        # the positions are rounded, but a row on a rounding boundary can still tip one
        # borderline claim in or out of a topic: issue #15 asks for ARI >= 0.95
        assert adjusted_rand_score(labels, cluster(moved.astype(np.float32), params, 42)[0]) >= 0.99
    assert np.array_equal(cluster(vectors, params, 7)[0], labels)  # and no seed reaches the topics
