"""Reruns: whether the claims need a full fit (`refit_reason`), and the two ways to assign them,
`full_fit` (ids matched to the previous run's) and `place_new` (new claims placed in the saved
fit, the others kept); both give an `Assignment`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import polars as pl

from stancemap.cluster.model import fit, predict
from stancemap.cluster.sides import side_keys, split_by_side
from stancemap.cluster.state import STATE_VERSION, State, claim_keys, fingerprint, match_ids
from stancemap.cluster.topics import nearest_topic, reassign_noise, renumber, topic_centres
from stancemap.config import ClusterParams


@dataclass
class Assignment:
    """What the stage gives every claim, and the state to keep for the next run."""

    clusters: np.ndarray
    topics: np.ndarray
    sides: list[str | None]
    probabilities: np.ndarray
    coords: np.ndarray
    new: np.ndarray  # claim not in the previous run
    mode: str  # "full" or "incremental"
    reason: str
    state: State


def refit_reason(
    previous: State | None, keys: list[str], params: ClusterParams, seed: int, *, full: bool = False
) -> str:
    """Why the claims (`claim_keys`) need a full fit: no usable previous state, `full` asked for, or
    more than `max_drift` of the claims changed since the last full fit; "" when the new claims can
    be placed in the previous fit."""
    if previous is None:
        return "no earlier run"
    if full:
        return "asked for (--full)"
    if previous.version != STATE_VERSION or previous.fingerprint != fingerprint(params, seed):
        return "params or clustering code changed"
    if previous.fitted.clusterer is None:
        return "the last fit had too few claims"
    drift = (previous.changed + _changes(previous, keys)) / max(previous.fit_size, 1)
    if drift > params.max_drift:
        return f"{drift:.0%} of the claims changed since the last full fit (max_drift {params.max_drift:.0%})"
    return ""


def full_fit(
    vectors: np.ndarray,
    claim_ids: list[str],
    params: ClusterParams,
    seed: int,
    previous: State | None = None,
    *,
    keys: list[str] | None = None,
    stances: pl.DataFrame | None = None,
    split_sides: bool = True,
    reason: str = "",
) -> Assignment:
    """A full fit, its topic and cluster ids matched to those of `previous` (when there is one);
    `keys` are the claims' `claim_keys` when already known, `reason` why it refits."""
    keys = claim_keys(claim_ids, vectors) if keys is None else keys
    before = previous.claims if previous is not None else {}
    fitted, probabilities, coords = fit(vectors, params, seed)
    raw = renumber(fitted.raw)
    topics = renumber(reassign_noise(raw, vectors, params.reassign_min_similarity))
    old_topics = {k: v[0] for k, v in before.items()}
    topics, next_topic = match_ids(topics, keys, old_topics, previous.next_topic if previous is not None else 0)
    raw_to_topic = {}
    for r, t in zip(fitted.raw.tolist(), topics.tolist(), strict=True):
        if r >= 0:
            raw_to_topic.setdefault(r, t)
    centres, centre_topics = topic_centres(topics, vectors)
    new = np.array([k not in before for k in keys], dtype=bool)
    if previous is None:
        new[:] = False  # a first run has nothing to be new against
    sides, clusters, next_cluster = _clusters(topics, claim_ids, keys, previous, stances, split_sides)
    state = State(
        version=STATE_VERSION,
        fingerprint=fingerprint(params, seed),
        fitted=fitted,
        raw_to_topic=raw_to_topic,
        centres=centres,
        centre_topics=centre_topics,
        fit_size=len(keys),
        changed=0,
        claims=_claims(keys, topics, clusters, probabilities, coords),
        next_topic=max(next_topic, int(topics.max(initial=-1)) + 1),
        next_cluster=next_cluster,
    )
    return Assignment(clusters, topics, sides, probabilities, coords, new, "full", reason, state)


def place_new(
    vectors: np.ndarray,
    claim_ids: list[str],
    params: ClusterParams,
    seed: int,
    previous: State,
    *,
    keys: list[str] | None = None,
    stances: pl.DataFrame | None = None,
    split_sides: bool = True,
) -> Assignment:
    """No refit: the claims seen before keep their topic, probability and place on the map; the new
    ones are placed by the saved spectral embedding, map layout and HDBSCAN's approximate
    prediction, and noise among them joins the nearest topic centre when similar enough."""
    keys = claim_keys(claim_ids, vectors) if keys is None else keys
    before = previous.claims
    new = np.array([k not in before for k in keys], dtype=bool)
    topics = np.zeros(len(keys), np.int32)
    probabilities = np.zeros(len(keys), np.float32)
    coords = np.zeros((len(keys), 2), np.float32)
    for i in np.flatnonzero(~new).tolist():
        t, _, p, x, y = before[keys[i]]
        topics[i], probabilities[i], coords[i] = t, p, (x, y)
    fresh = np.flatnonzero(new)
    if len(fresh):
        raw, strengths, placed = predict(previous.fitted, vectors[fresh])
        predicted = np.array([previous.raw_to_topic.get(r, -1) for r in raw.tolist()], dtype=np.int32)
        noise = predicted == -1
        predicted[noise] = nearest_topic(
            vectors, fresh[noise], previous.centres, previous.centre_topics, params.reassign_min_similarity
        )
        topics[fresh], probabilities[fresh], coords[fresh] = predicted, strengths, placed
    sides, clusters, next_cluster = _clusters(topics, claim_ids, keys, previous, stances, split_sides)
    state = dataclasses.replace(
        previous,
        version=STATE_VERSION,
        fingerprint=fingerprint(params, seed),
        changed=previous.changed + _changes(previous, keys),
        claims=_claims(keys, topics, clusters, probabilities, coords),
        next_topic=max(previous.next_topic, int(topics.max(initial=-1)) + 1),
        next_cluster=next_cluster,
    )
    return Assignment(clusters, topics, sides, probabilities, coords, new, "incremental", "", state)


def assign_incremental(
    vectors: np.ndarray,
    claim_ids: list[str],
    params: ClusterParams,
    seed: int,
    stances: pl.DataFrame | None = None,
    previous: State | None = None,
    full: bool = False,
    split_sides: bool = True,
) -> Assignment:
    """The stage with memory: a `full_fit` when `refit_reason` gives a reason, else `place_new`.
    `split_sides` False keeps every claim's side but does not split topics by it (sides toward each
    thread's own opening post mean different things in different threads)."""
    keys = claim_keys(claim_ids, vectors)
    reason = refit_reason(previous, keys, params, seed, full=full)
    sides = {"stances": stances, "split_sides": split_sides}
    if reason:
        return full_fit(vectors, claim_ids, params, seed, previous, keys=keys, reason=reason, **sides)
    return place_new(vectors, claim_ids, params, seed, previous, keys=keys, **sides)


def _changes(previous: State, keys: list[str]) -> int:
    """Claims added or removed since the previous run."""
    n_new = sum(k not in previous.claims for k in keys)
    return n_new + len(set(previous.claims) - set(keys))


def _clusters(
    topics: np.ndarray,
    claim_ids: list[str],
    keys: list[str],
    previous: State | None,
    stances: pl.DataFrame | None,
    split_sides: bool,
) -> tuple[list[str | None], np.ndarray, int]:
    """(each claim's side, its cluster, the next fresh cluster id): the topics, split by side when
    `split_sides` and there are sides, with the ids of the previous run's clusters."""
    sides = side_keys(claim_ids, stances)
    split = split_sides and any(s is not None for s in sides)
    groups = split_by_side(topics, sides) if split else renumber(topics)
    old_clusters = {k: v[1] for k, v in previous.claims.items()} if previous is not None else {}
    clusters, next_cluster = match_ids(groups, keys, old_clusters, previous.next_cluster if previous is not None else 0)
    return sides, clusters, next_cluster


def _claims(keys, topics, clusters, probabilities, coords) -> dict[str, tuple[int, int, float, float, float]]:
    """State.claims: key -> (topic, cluster, probability, x, y)."""
    return {
        k: (int(t), int(c), float(p), float(x), float(y))
        for k, t, c, p, (x, y) in zip(
            keys, topics.tolist(), clusters.tolist(), probabilities.tolist(), coords.tolist(), strict=True
        )
    }
