import numpy as np
import pytest

from stancemap.cluster import cluster, fit, renumber, smallest_topic
from stancemap.config import ClusterParams


def blobs(seed: int = 0, per: int = 30, dim: int = 32) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, dim))
    points = np.concatenate([c + 0.15 * rng.normal(size=(per, dim)) for c in centres])
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return points.astype(np.float32), np.repeat(np.arange(3), per)


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


@pytest.mark.slow
def test_umap_learns_from_a_sample_and_places_the_rest():
    vectors, truth = blobs(per=40)
    labels, prob, coords = cluster(vectors, ClusterParams(fit_sample=60), 42)
    assert coords.shape == (120, 2) and np.isfinite(coords).all()
    for t in range(3):  # the blobs are still found, sampled or placed
        assert len({c for c in labels[truth == t].tolist() if c >= 0}) == 1


@pytest.mark.slow
def test_the_map_beside_the_clustering_gives_what_one_after_the_other_gives():
    vectors, _ = blobs(per=40)
    params = ClusterParams(fit_sample=60)  # so that some rows are placed, too
    alone, prob, coords = fit(vectors, params, 42, parallel_from=10**9)
    # two worker processes, every array read-only in the workers, as big ones are
    paired, prob2, coords2 = fit(vectors, params, 42, parallel_from=10, cpus=2, memmap_from=1)
    assert np.array_equal(coords, coords2) and np.array_equal(alone.raw, paired.raw)
    assert np.array_equal(prob, prob2) and np.array_equal(alone.spectral.positions, paired.spectral.positions)
    assert np.array_equal(alone.layout.positions, paired.layout.positions)


@pytest.mark.slow
def test_many_rows_to_place_use_an_approximate_index():
    """Past exact_place_max rows to place, a full fit places them through pynndescent; the result
    is as good and still the same in a second run."""
    vectors, truth = blobs(per=40)
    params = ClusterParams(fit_sample=60)
    fitted, _, coords = fit(vectors, params, 42, exact_place_max=10)
    assert type(fitted.spectral.search).__name__ == "NNDescent"
    again, _, coords_again = fit(vectors, params, 42, exact_place_max=10)
    assert np.array_equal(coords, coords_again) and np.array_equal(fitted.raw, again.raw)
    labels = renumber(fitted.raw)
    for t in range(3):
        assert len({c for c in labels[truth == t].tolist() if c >= 0}) == 1


@pytest.mark.slow
def test_a_claim_placed_in_a_fit_and_in_a_later_run_lands_in_the_same_place():
    """Rows beyond the fit sample go on the map at the weighted mean of their nearest sample rows'
    map positions (no UMAP epochs), and `predict` places a row exactly as the fit did."""
    from stancemap.cluster.model import predict
    from stancemap.cluster.spectral import neighbour_weights

    vectors, truth = blobs(per=40)
    fitted, _, coords = fit(vectors, ClusterParams(fit_sample=60), 42, parallel_from=10**9)
    placed = np.setdiff1d(np.arange(len(vectors)), np.sort(np.random.RandomState(42).choice(120, 60, replace=False)))
    indices, distances = fitted.spectral.search.query(vectors[placed], fitted.spectral.k)
    weights = neighbour_weights(distances)
    expected = (weights[:, :, None] * fitted.layout.positions[indices]).sum(1) / weights.sum(1, keepdims=True)
    assert np.allclose(coords[placed], expected, atol=1e-5)
    labels, _, again = predict(fitted, vectors[placed])
    assert np.array_equal(again, coords[placed])
    assert np.array_equal(labels, fitted.raw[placed])  # the blobs are far apart: every row keeps its topic


def test_the_smallest_topic_grows_with_the_corpus():
    params = ClusterParams()
    assert smallest_topic(params, 810) == 12 and smallest_topic(params, 24_000) == 12
    assert smallest_topic(params, 100_000) == 50 and smallest_topic(params, 1_000_000) == 500
    assert smallest_topic(ClusterParams(min_cluster_share=0.0), 1_000_000) == 12


def test_the_smallest_topic_shrinks_in_a_small_thread():
    params = ClusterParams()  # min_cluster_size 12, small_topic_share 0.1, min_samples 3
    assert [smallest_topic(params, n) for n in (10, 30, 40, 50, 80, 119, 120, 500)] == [4, 4, 4, 5, 8, 12, 12, 12]
    assert smallest_topic(ClusterParams(min_samples=6), 40) == 7
    assert smallest_topic(ClusterParams(small_topic_share=1.0), 40) == 12  # 1.0: never below min_cluster_size
