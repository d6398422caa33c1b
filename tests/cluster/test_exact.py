import numpy as np

from stancemap.cluster import ExactIndex


def test_the_exact_index_finds_true_neighbours():
    rng = np.random.default_rng(0)
    data = rng.normal(size=(300, 8)).astype(np.float32)
    index = ExactIndex(data)
    queries = rng.normal(size=(50, 8)).astype(np.float32)
    indices, dists = index.query(queries, 5)
    unit = data / np.linalg.norm(data, axis=1, keepdims=True)
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    truth = np.argsort(-(q @ unit.T), axis=1, kind="stable")[:, :5]
    assert np.array_equal(indices, truth)
    assert np.allclose(dists, 1 - np.take_along_axis(q @ unit.T, truth, axis=1), atol=1e-5)
    again = index.query(queries.copy(), 5)
    assert np.array_equal(again[0], indices) and np.array_equal(again[1], dists)


def test_a_row_is_at_distance_zero_from_itself_and_from_its_copy():
    """float32 products put a row up to ~8e-7 from itself; UMAP's graph takes the first distance
    above 0 as a row's nearest, so that rounding redrew the graph (docs/cluster.md)."""
    rng = np.random.default_rng(0)
    data = rng.normal(size=(400, 384)).astype(np.float32)
    data[1] = data[0]
    indices, dists = ExactIndex(data).query(data, 3)
    assert (dists[:, 0] == 0).all()
    assert indices[0].tolist()[:2] == [0, 1] and indices[1].tolist()[:2] == [0, 1]  # ties by row number
    assert (dists[2:, 1] > 1e-3).all()
