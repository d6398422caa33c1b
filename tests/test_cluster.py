import numpy as np
import pytest

from pipeline.cluster import cluster, renumber
from pipeline.config import ClusterParams


def blobs(seed: int = 0, per: int = 30, dim: int = 32) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, dim))
    points = np.concatenate([c + 0.15 * rng.normal(size=(per, dim)) for c in centres])
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return points.astype(np.float32), np.repeat(np.arange(3), per)


def test_renumber_orders_by_size_then_first_appearance():
    labels = np.array([5, 2, 2, -1, 7, 7, 5, 2, 7])
    assert renumber(labels).tolist() == [2, 0, 0, -1, 1, 1, 2, 0, 1]


def test_too_few_claims_stay_unclustered_with_positions():
    labels, prob, coords = cluster(np.eye(4, 8, dtype=np.float32), ClusterParams(), 42)
    assert labels.tolist() == [-1] * 4 and coords.shape == (4, 2) and np.isfinite(coords).all()


@pytest.mark.slow
def test_real_umap_hdbscan_finds_the_blobs_and_repeats_exactly():
    vectors, truth = blobs()
    labels, prob, coords = cluster(vectors, ClusterParams(), 42)
    assert coords.shape == (len(vectors), 2)
    found = {c for c in labels.tolist() if c >= 0}
    assert found == {0, 1, 2}
    for t in range(3):  # each true blob maps to one cluster
        assert len({c for c in labels[truth == t].tolist() if c >= 0}) == 1
    again = cluster(vectors, ClusterParams(), 42)
    assert np.array_equal(again[0], labels) and np.array_equal(again[2], coords)
