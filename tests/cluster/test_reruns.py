import numpy as np
import polars as pl
import pytest

from stancemap.cluster import (
    Assignment,
    Fitted,
    State,
    assign_incremental,
    full_fit,
    load_state,
    place_new,
    refit_reason,
    save_state,
)
from stancemap.cluster.state import STATE_VERSION, claim_keys, fingerprint
from stancemap.config import ClusterParams
from tests.cluster.test_model import blobs


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
    vectors, truth = blobs(per=40)
    ids = [f"c{i}" for i in range(len(vectors))]
    return vectors, truth, ids, assign_incremental(vectors, ids, ClusterParams(), 42)


def saved(keys: list[str], params: ClusterParams, *, changed: int = 0, clusterer: object | None = None) -> State:
    """A state as a full fit of `keys` leaves it (no real models: refit_reason does not use them)."""
    return State(
        version=STATE_VERSION,
        fingerprint=fingerprint(params, 42),
        fitted=Fitted(None, None, clusterer if clusterer is not None else object(), np.zeros(len(keys), np.int32)),
        raw_to_topic={0: 0},
        centres=np.zeros((1, 32), np.float32),
        centre_topics=[0],
        fit_size=len(keys),
        changed=changed,
        claims={k: (0, 0, 1.0, 0.0, 0.0) for k in keys},
        next_topic=1,
        next_cluster=1,
    )


def test_refit_reason_says_when_to_fit_again_and_when_to_place():
    vectors, _ = blobs(per=10)
    keys = claim_keys([f"c{i}" for i in range(len(vectors))], vectors)
    params = ClusterParams()
    assert refit_reason(None, keys, params, 42) == "no earlier run"
    state = saved(keys[:25], params)  # 5 new of 30 claims, 4 of them below: 16% of the 25 fitted
    assert refit_reason(state, keys[:29], params, 42) == ""  # under max_drift: placement
    assert refit_reason(state, keys[:29], ClusterParams(max_drift=0.5), 42) == ""  # max_drift is not fitted
    assert refit_reason(state, keys[:29], params, 42, full=True) == "asked for (--full)"
    assert refit_reason(state, keys[:29], params, 7) == "params or clustering code changed"
    assert refit_reason(state, keys[:29], ClusterParams(min_samples=4), 42) == "params or clustering code changed"
    state.fingerprint = state.fingerprint.replace("code=", "code=0")  # other clustering code
    assert refit_reason(state, keys[:29], params, 42) == "params or clustering code changed"
    earlier = saved(keys[:25], params, changed=2)  # 2 changed before, 4 new now: 24% of 25
    assert refit_reason(earlier, keys[:29], params, 42) == (
        "24% of the claims changed since the last full fit (max_drift 20%)"
    )
    assert refit_reason(saved(keys[:25], params), keys[3:29], params, 42).startswith("28% ")  # 3 removed, 4 new
    state = saved(keys[:25], params)
    state.fitted.clusterer = None
    assert refit_reason(state, keys[:29], params, 42) == "the last fit had too few claims"


def test_full_fit_and_place_new_give_one_assignment_type(first_run):
    vectors = np.eye(6, 8, dtype=np.float32)  # too few claims to cluster: no UMAP
    ids = [f"c{i}" for i in range(6)]
    full = full_fit(vectors, ids, ClusterParams(), 42, reason="no earlier run")
    placed = place_new(vectors, ids, ClusterParams(), 42, full.state)
    assert type(full) is Assignment and type(placed) is Assignment
    assert (full.mode, full.reason, placed.mode, placed.reason) == ("full", "no earlier run", "incremental", "")
    assert placed.clusters.tolist() == full.clusters.tolist() and not placed.new.any()
    vectors, _, ids, first = first_run  # a real fit: its claims placed again keep everything
    again = place_new(vectors, ids, ClusterParams(), 42, first.state)
    assert type(first) is Assignment and type(again) is Assignment
    assert np.array_equal(again.clusters, first.clusters) and np.array_equal(again.coords, first.coords)


@pytest.mark.slow
def test_a_rerun_places_new_claims_without_moving_the_old(first_run, tmp_path):
    vectors, truth, ids, first = first_run
    assert first.mode == "full" and not first.new.any()
    save_state(first.state, tmp_path / "state.pickle")
    state = load_state(tmp_path / "state.pickle")
    more, more_ids = grown(vectors, truth, extra=6, seed=1)  # 6 of 120: under max_drift 0.2
    second = assign_incremental(more, more_ids, ClusterParams(), 42, previous=state)
    assert second.mode == "incremental"
    n = len(vectors)
    assert np.array_equal(second.clusters[:n], first.clusters)  # nothing seen before moves
    assert np.array_equal(second.coords[:n], first.coords)
    assert second.new.tolist() == [False] * n + [True] * 6
    blob0 = set(first.clusters[truth == 0].tolist()) - {-1}
    assert set(second.clusters[n:].tolist()) <= blob0  # the new claims join blob 0's cluster
    again = assign_incremental(more, more_ids, ClusterParams(), 42, previous=load_state(tmp_path / "state.pickle"))
    assert np.array_equal(again.clusters, second.clusters) and np.array_equal(again.coords, second.coords)


@pytest.mark.slow
def test_past_max_drift_it_refits_and_keeps_the_ids(first_run):
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


def test_sides_toward_opening_posts_mark_claims_without_splitting(first_run):
    """split_sides=False (no propositions): every claim keeps its side, clusters are the topics."""
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
