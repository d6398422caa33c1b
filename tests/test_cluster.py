import numpy as np
import polars as pl
import pytest

from stancemap.cluster import cluster, renumber
from stancemap.config import ClusterParams


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


# --- reruns: incremental placement and stable ids


def test_match_ids_keeps_the_previous_id_of_the_most_shared_group():
    from stancemap.cluster import match_ids

    keys = [f"k{i}" for i in range(8)]
    previous = {"k0": 4, "k1": 4, "k2": 4, "k3": 9, "k4": 9, "k5": -1}
    labels = np.array([0, 0, 1, 1, 1, -1, 2, 2])  # new group 1 shares k3, k4 with old 9 and k2 with old 4
    ids, next_id = match_ids(labels, keys, previous, next_id=10)
    assert ids.tolist() == [4, 4, 9, 9, 9, -1, 10, 10] and next_id == 11
    # a first run (nothing before) keeps the size order
    ids, next_id = match_ids(labels, keys, {}, next_id=0)
    assert ids.tolist() == labels.tolist() and next_id == 3


def grown(vectors: np.ndarray, truth: np.ndarray, extra: int, seed: int) -> tuple[np.ndarray, list[str]]:
    """The blobs plus `extra` new points near blob 0, with ids new-0.."""
    rng = np.random.default_rng(seed)
    centre = vectors[truth == 0].mean(axis=0)
    more = centre + 0.02 * rng.normal(size=(extra, vectors.shape[1]))
    more /= np.linalg.norm(more, axis=1, keepdims=True)
    ids = [f"c{i}" for i in range(len(vectors))] + [f"new-{i}" for i in range(extra)]
    return np.concatenate([vectors, more.astype(np.float32)]), ids


@pytest.fixture(scope="module")
def first_run():
    from stancemap.cluster import assign_incremental

    vectors, truth = blobs(per=40)
    ids = [f"c{i}" for i in range(len(vectors))]
    return vectors, truth, ids, assign_incremental(vectors, ids, ClusterParams(), 42)


@pytest.mark.slow
def test_a_rerun_places_new_claims_without_moving_the_old(first_run, tmp_path):
    from stancemap.cluster import assign_incremental, load_state, save_state

    vectors, truth, ids, first = first_run
    assert first.mode == "full" and not first.new.any()
    save_state(first.state, tmp_path / "state.joblib")
    state = load_state(tmp_path / "state.joblib")
    more, more_ids = grown(vectors, truth, extra=6, seed=1)  # 6 of 120: under max_drift 0.2
    second = assign_incremental(more, more_ids, ClusterParams(), 42, previous=state)
    assert second.mode == "incremental"
    n = len(vectors)
    assert np.array_equal(second.clusters[:n], first.clusters)  # nothing seen before moves
    assert np.array_equal(second.coords[:n], first.coords)
    assert second.new.tolist() == [False] * n + [True] * 6
    blob0 = set(first.clusters[truth == 0].tolist()) - {-1}
    assert set(second.clusters[n:].tolist()) <= blob0  # the new claims join blob 0's cluster
    again = assign_incremental(more, more_ids, ClusterParams(), 42, previous=load_state(tmp_path / "state.joblib"))
    assert np.array_equal(again.clusters, second.clusters) and np.array_equal(again.coords, second.coords)


@pytest.mark.slow
def test_past_max_drift_it_refits_and_keeps_the_ids(first_run):
    from stancemap.cluster import assign_incremental

    vectors, truth, ids, first = first_run
    more, more_ids = grown(vectors, truth, extra=40, seed=2)  # a third more: refit
    # ids of the first run, scrambled, to see that the refit follows them and not the size order
    state = first.state
    shuffled = {0: 7, 1: 3, 2: 5}
    state.claims = {k: (t, shuffled.get(c, c), p, x, y) for k, (t, c, p, x, y) in state.claims.items()}
    second = assign_incremental(more, more_ids, ClusterParams(), 42, previous=state)
    assert second.mode == "full" and "max_drift" in second.reason
    n = len(vectors)
    before = np.array([shuffled.get(c, c) for c in first.clusters.tolist()])
    assert (second.clusters[:n] == before).mean() > 0.95
    assert second.new.sum() == 40
    forced = assign_incremental(vectors, ids, ClusterParams(), 42, previous=first.state, full=True)
    assert forced.mode == "full" and forced.reason == "asked for (--full)"


@pytest.mark.slow
def test_umap_learns_from_a_sample_and_places_the_rest():
    from dataclasses import replace

    vectors, truth = blobs(per=40)
    labels, prob, coords = cluster(vectors, replace(ClusterParams(), fit_sample=60), 42)
    assert coords.shape == (120, 2) and np.isfinite(coords).all()
    for t in range(3):  # the blobs are still found, sampled or placed
        assert len({c for c in labels[truth == t].tolist() if c >= 0}) == 1


@pytest.mark.slow
def test_the_two_umaps_side_by_side_give_what_one_after_the_other_gives(monkeypatch):
    from dataclasses import replace

    from stancemap import cluster as stage

    vectors, _ = blobs(per=40)
    params = replace(ClusterParams(), fit_sample=60)  # so that some rows are placed, too
    monkeypatch.setattr(stage, "PARALLEL_FROM", 10**9)
    alone, prob, coords = stage.fit(vectors, params, 42)
    monkeypatch.setattr(stage, "PARALLEL_FROM", 10)
    monkeypatch.setattr(stage, "_cpus", lambda: 2)
    monkeypatch.setattr(stage, "MEMMAP_FROM", 1)  # every array read-only in the workers, as big ones are
    paired, prob2, coords2 = stage.fit(vectors, params, 42)  # two worker processes
    assert np.array_equal(coords, coords2) and np.array_equal(alone.raw, paired.raw)
    assert np.array_equal(prob, prob2)
    assert paired.umap_map._knn_search_index is paired.umap._knn_search_index


@pytest.mark.slow
def test_many_rows_to_place_use_an_approximate_index(monkeypatch):
    """Past EXACT_PLACE_MAX rows to place, a full fit places them through pynndescent; the result
    is as good and still the same in a second run."""
    from dataclasses import replace

    from stancemap import cluster as stage

    vectors, truth = blobs(per=40)
    params = replace(ClusterParams(), fit_sample=60)
    monkeypatch.setattr(stage, "EXACT_PLACE_MAX", 10)
    fitted, _, coords = stage.fit(vectors, params, 42)
    assert type(fitted.umap._knn_search_index).__name__ == "NNDescent"
    again, _, coords_again = stage.fit(vectors, params, 42)
    assert np.array_equal(coords, coords_again) and np.array_equal(fitted.raw, again.raw)
    labels = renumber(fitted.raw)
    for t in range(3):
        assert len({c for c in labels[truth == t].tolist() if c >= 0}) == 1


def test_the_exact_index_finds_true_neighbours_and_remembers_its_answers():
    from stancemap.cluster import ExactIndex

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
    index.data = None  # from here on, only the memory can answer
    again = index.query(queries.copy(), 5)
    assert np.array_equal(again[0], indices) and again[0] is not indices  # from memory, as a copy
    assert np.array_equal(index.query(queries, 5)[1], dists)


def test_sides_toward_opening_posts_mark_claims_without_splitting(first_run):
    """split_sides=False (no propositions): every claim keeps its side, clusters are the topics."""
    from stancemap.cluster import assign_incremental

    vectors, _, ids, first = first_run
    sides = ["pro" if i % 3 == 0 else "con" if i % 3 == 1 else "neither" for i in range(len(ids))]
    stances = pl.DataFrame(
        {"claim_id": ids, "proposition": [0] * len(ids), "p_pro": [0.5] * len(ids), "stance": sides},
        schema={"claim_id": pl.Utf8, "proposition": pl.Int32, "p_pro": pl.Float32, "stance": pl.Utf8},
    )
    kept = assign_incremental(vectors, ids, ClusterParams(), 42, stances, split_sides=False)
    assert kept.sides == sides
    assert kept.clusters.tolist() == first.clusters.tolist()  # the same grouping as without sides
    split = assign_incremental(vectors, ids, ClusterParams(), 42, stances)
    assert len(set(split.clusters.tolist()) - {-1}) > len(set(kept.clusters.tolist()) - {-1})


def test_the_smallest_topic_grows_with_the_corpus():
    from dataclasses import replace

    from stancemap.cluster import smallest_topic

    params = ClusterParams()
    assert smallest_topic(params, 810) == 12 and smallest_topic(params, 24_000) == 12
    assert smallest_topic(params, 100_000) == 50 and smallest_topic(params, 1_000_000) == 500
    assert smallest_topic(replace(params, min_cluster_share=0.0), 1_000_000) == 12
