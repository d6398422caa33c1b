"""Cluster: claim vectors -> topics (HDBSCAN on a seeded UMAP reduction), sides within each topic,
and 2-D map positions.

A topic is what HDBSCAN finds. When claims have stances (the stance stage), each topic is split by
side, so a cluster never mixes the pro and con claims of one proposition: a cluster is one
(topic, side). HDBSCAN's noise joins the nearest topic when its similarity to that topic's centre
is at least `reassign_min_similarity`; the rest stays unclustered (-1), never dropped. Numbers are
ordered by size (largest first, ties by first claim), so the same input gives the same numbers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from stancemap.config import ClusterParams
from stancemap.io import atomic_path, read_table, write_table
from stancemap.progress import say, track
from stancemap.schemas import CLUSTERS

MAP_MIN_DIST = 0.1  # spreads points a little on the map; clustering uses params.min_dist
CHUNK = 20_000  # rows placed by UMAP transform at a time
SIMILARITY_BLOCK = 4096  # claims compared with every topic centre at a time
EXACT_PLACE_MAX = 200_000  # rows placed by exact search in a full fit; beyond, pynndescent (see fit)
PARALLEL_FROM = 5_000  # claims from which the two UMAPs run in two processes (when there are 2 CPUs)
MEMMAP_FROM = "1M"  # arrays at least this big reach the workers as read-only memory maps (joblib)


def reduce(vectors: np.ndarray, n_components: int, n_neighbors: int, min_dist: float, seed: int, knn=None):
    """Seeded UMAP (cosine) to `n_components`: (the fitted reducer, the reduced rows); `knn` reuses
    a neighbour graph already computed."""
    import warnings

    import umap

    # a seed makes UMAP single-threaded on purpose (reproducible); its warning says so on every run
    warnings.filterwarnings("ignore", message="n_jobs value", category=UserWarning)
    # our exact index stands in for pynndescent's (see ExactIndex); UMAP warns it might not
    warnings.filterwarnings("ignore", message="precomputed_knn\\[2\\]", category=UserWarning)

    reducer = umap.UMAP(
        n_neighbors=n_neighbors,
        n_components=n_components,
        min_dist=min_dist,
        metric="cosine",
        random_state=seed,  # also makes UMAP single-threaded, hence reproducible
        precomputed_knn=knn if knn is not None else (None, None, None),
        init="spectral" if len(vectors) > n_components + 10 else "random",
    )
    return reducer, reducer.fit_transform(vectors).astype(np.float32)


class ExactIndex:
    """Exact cosine neighbours by blocked matrix products, in the place of pynndescent's index.

    UMAP uses it twice: its neighbour graph is the fit's `precomputed_knn`, and `transform` calls
    `query` to place new rows (UMAP needs only `query` and `_angular_trees`). The fit sample is at
    most `fit_sample` rows, so exact search costs seconds (25,000 rows: ~5 s on 2 cores), while
    pynndescent spent ~24 s of every process compiling numba code, and exact is also never worse.
    Ties are broken by row number, so the graph is the same in every process.
    """

    _angular_trees = True  # read by UMAP's transform (it picks a search epsilon; unused here)
    BLOCK = 1024  # query rows per product: 1,024 x 25,000 floats = 100 MB
    MEMO = 16  # answers kept: one per chunk of rows placed (at most 10 chunks before pynndescent takes over)

    def __init__(self, vectors: np.ndarray):
        data = np.ascontiguousarray(vectors, dtype=np.float32)
        self.data = data / np.maximum(np.linalg.norm(data, axis=1, keepdims=True), 1e-12)
        self.memo: dict = {}  # (k, shape, hash of the queries) -> (indices, distances)

    def query(self, queries: np.ndarray, k: int, epsilon: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(indices, cosine distances) of the `k` nearest rows to each query, nearest first."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        # the two UMAPs place the same rows: the second asks again, and gets the answer from memory
        key = (k, queries.shape, hashlib.blake2b(queries.tobytes(), digest_size=16).hexdigest())
        if key in self.memo:  # a copy: UMAP writes into what it gets, and a worker's memory is read-only
            return np.array(self.memo[key][0]), np.array(self.memo[key][1])
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
            dists[start : start + len(dist)] = np.maximum(np.take_along_axis(near_dist, order, axis=1), 0.0)
        if len(self.memo) >= self.MEMO:
            self.memo.pop(next(iter(self.memo)))  # the oldest
        self.memo[key] = (indices, dists)
        return indices, dists

    def __getstate__(self):  # the memory of past queries is not worth saving
        return {"data": self.data}

    def __setstate__(self, state):
        self.data, self.memo = state["data"], {}


def renumber(labels: np.ndarray) -> np.ndarray:
    """Clusters numbered 0.. by descending size, ties by first appearance; -1 stays -1."""
    ids = [c for c in dict.fromkeys(labels.tolist()) if c != -1]
    sizes = {c: int((labels == c).sum()) for c in ids}
    order = sorted(ids, key=lambda c: -sizes[c])  # stable sort keeps first appearance on ties
    mapping = {old: new for new, old in enumerate(order)}
    return np.array([mapping.get(c, -1) for c in labels.tolist()], dtype=np.int32)


@dataclass
class Fitted:
    """What a full fit leaves behind so later runs can place new claims without refitting."""

    umap: object | None  # to params.n_components dimensions, for HDBSCAN
    umap_map: object | None  # to 2-D, for the map
    clusterer: object | None  # HDBSCAN with prediction data
    raw: np.ndarray  # HDBSCAN's own label per fitted row


def smallest_topic(params: ClusterParams, n: int) -> int:
    """HDBSCAN's min_cluster_size for `n` claims: `min_cluster_size`, or `min_cluster_share` of the
    claims when that is more, so a large corpus gives topics a reader can take in (at 1M claims a
    fixed 12 gave 9,096 topics)."""
    return max(params.min_cluster_size, math.ceil(params.min_cluster_share * n))


def fit(vectors: np.ndarray, params: ClusterParams, seed: int) -> tuple[Fitted, np.ndarray, np.ndarray]:
    """Full fit: (models, membership probability per row, (n, 2) map coordinates); topics are
    `renumber(fitted.raw)`. Beyond `fit_sample` rows, UMAP learns from a seeded sample and places
    the rest with `transform`, in chunks, so memory stays flat; HDBSCAN always sees every row."""
    import hdbscan

    n = len(vectors)
    if n < max(params.min_cluster_size, params.n_components + 3, 5):
        say(f"cluster: only {n} claim(s), too few to cluster; all are left unclustered")
        return Fitted(None, None, None, np.full(n, -1, np.int32)), np.zeros(n, np.float32), _small_map(vectors)
    sample = np.arange(n)
    if n > params.fit_sample:
        sample = np.sort(np.random.RandomState(seed).choice(n, params.fit_sample, replace=False))
    k = min(params.n_neighbors, len(sample) - 1)
    index = ExactIndex(vectors[sample])
    knn = (*index.query(index.data, k), index)
    approximate = None
    if n - len(sample) > EXACT_PLACE_MAX:
        # exact search costs (rows to place) x (sample) products: past this many rows, an
        # approximate index (pynndescent, ~24 s of numba compile) is cheaper, e.g. at 1M claims
        from pynndescent import NNDescent

        approximate = NNDescent(
            vectors[sample], metric="cosine", n_neighbors=k, random_state=np.random.RandomState(seed), n_jobs=1
        )
        approximate.prepare()
    rest = np.setdiff1d(np.arange(n), sample)
    chunks = np.array_split(rest, max(1, len(rest) // CHUNK)) if len(rest) else []
    jobs = [(params.n_components, params.min_dist), (2, MAP_MIN_DIST)]  # for HDBSCAN, for the map
    # side by side only with the exact index: past EXACT_PLACE_MAX each worker would hold and
    # compile its own approximate index (the 1M memory figures are for one after the other)
    parallel = n >= PARALLEL_FROM and _cpus() >= 2 and approximate is None
    answers = {}
    if parallel and chunks:
        # each worker would search the same rows again: search them once, here, and send the answers
        for chunk in track(chunks, len(chunks), "cluster: neighbours of the claims to place"):
            index.query(vectors[chunk], k)
        answers = dict(index.memo)
    args = (vectors, sample, chunks, k, seed, knn, approximate, answers)
    if parallel:
        # a seeded UMAP is single-threaded: the two run side by side in two processes, with the
        # same result as one after the other (joblib memory-maps `vectors` rather than copying it)
        from joblib import Parallel, delayed

        say(f"cluster: fitting the two UMAPs side by side, placing {len(rest)} claim(s) with each")
        runs = Parallel(n_jobs=2, backend="loky", max_nbytes=MEMMAP_FROM)(
            delayed(_umap_all)(dims, dist, *args) for dims, dist in jobs
        )
    else:
        runs = [_umap_all(dims, dist, *args) for dims, dist in track(jobs, 2, "cluster: UMAP")]
    (reducer, reduced), (mapper, coords) = runs
    if isinstance(reducer._knn_search_index, ExactIndex):  # one index (and its query memory) for both
        mapper._knn_search_index = reducer._knn_search_index
    clusterer = hdbscan.HDBSCAN(
        min_cluster_size=smallest_topic(params, n),
        min_samples=min(params.min_samples, n - 1),
        cluster_selection_method=params.cluster_selection_method,
        prediction_data=True,
    ).fit(reduced)
    fitted = Fitted(reducer, mapper, clusterer, clusterer.labels_.astype(np.int32))
    return fitted, clusterer.probabilities_.astype(np.float32), coords


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _umap_all(n_components, min_dist, vectors, sample, chunks, k, seed, knn, approximate, answers=None):
    """One UMAP: fitted on `vectors[sample]`, then placing the other rows chunk by chunk; (the
    reducer, (n, n_components) coordinates for every row). `answers` are neighbour searches
    already done (ExactIndex memory) for those rows."""
    if answers and isinstance(knn[2], ExactIndex):
        knn[2].memo.update(answers)
    # in a worker, joblib hands large arrays over as read-only memory maps, and UMAP writes into the
    # neighbour arrays it is given: each UMAP gets its own copy
    knn = (np.array(knn[0]), np.array(knn[1]), knn[2])
    reducer, reduced_sample = reduce(vectors[sample], n_components, k, min_dist, seed, knn)
    if approximate is not None:
        reducer._knn_search_index = approximate
    out = np.zeros((len(vectors), n_components), np.float32)
    out[sample] = reduced_sample
    for chunk in chunks:
        out[chunk] = transform(reducer, vectors[chunk])
    return reducer, out


def transform(reducer, vectors: np.ndarray) -> np.ndarray:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return reducer.transform(vectors).astype(np.float32)


def predict(fitted: Fitted, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """New rows placed with the models of an earlier fit: (HDBSCAN label, probability, map coordinates)."""
    import hdbscan

    reduced = np.concatenate([transform(fitted.umap, c) for c in _chunks(vectors)])
    coords = np.concatenate([transform(fitted.umap_map, c) for c in _chunks(vectors)])
    labels, strengths = hdbscan.approximate_predict(fitted.clusterer, reduced)
    return labels.astype(np.int32), strengths.astype(np.float32), coords


def _chunks(vectors: np.ndarray) -> list[np.ndarray]:
    return [vectors[i : i + CHUNK] for i in range(0, max(len(vectors), 1), CHUNK)]


def cluster(vectors: np.ndarray, params: ClusterParams, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cluster per row, membership probability per row, (n, 2) map coordinates)."""
    fitted, probabilities, coords = fit(vectors, params, seed)
    return renumber(fitted.raw), probabilities, coords


def _small_map(vectors: np.ndarray) -> np.ndarray:
    """2-D positions for a handful of points: their first two principal components."""
    centred = vectors - vectors.mean(axis=0)
    if len(vectors) < 2:
        return np.zeros((len(vectors), 2), np.float32)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    coords = centred @ vt[:2].T
    if coords.shape[1] < 2:
        coords = np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
    return coords.astype(np.float32)


def reassign_noise(labels: np.ndarray, vectors: np.ndarray, min_similarity: float) -> np.ndarray:
    """Unclustered claims join the topic whose centre (mean unit vector) is most similar, when that
    cosine similarity reaches `min_similarity`; 1.0 or more turns reassignment off."""
    noise = np.flatnonzero(labels == -1)
    if not len(noise) or min_similarity >= 1.0:
        return labels
    out = labels.copy()
    out[noise] = nearest_topic(vectors, noise, *topic_centres(labels, vectors), min_similarity)
    return out


def side_keys(claim_ids: list[str], stances: pl.DataFrame | None) -> list[str | None]:
    """Each claim's side: its stance toward every proposition ("pro", or "1:pro 2:con" with
    several propositions); None when there are no stances."""
    if stances is None or stances.height == 0:
        return [None] * len(claim_ids)
    n_props = stances["proposition"].max() + 1
    wide: dict[str, list[str]] = {}
    for cid, prop, stance in stances.select("claim_id", "proposition", "stance").iter_rows():
        wide.setdefault(cid, ["neither"] * n_props)[prop] = stance

    def key(cid: str) -> str:
        sides = wide.get(cid, ["neither"] * n_props)
        return sides[0] if n_props == 1 else " ".join(f"{i + 1}:{s}" for i, s in enumerate(sides))

    return [key(c) for c in claim_ids]


def split_by_side(topics: np.ndarray, sides: list[str | None]) -> np.ndarray:
    """Cluster ids for (topic, side) groups, numbered by size; unclustered stays -1."""
    groups = [f"{t}\0{s}" if t >= 0 else None for t, s in zip(topics.tolist(), sides, strict=True)]
    names = {g: i for i, g in enumerate(dict.fromkeys(g for g in groups if g is not None))}
    return renumber(np.array([names[g] if g is not None else -1 for g in groups], dtype=np.int64))


def assign(
    vectors: np.ndarray, claim_ids: list[str], params: ClusterParams, seed: int, stances: pl.DataFrame | None = None
):
    """The whole stage on arrays, from scratch (no earlier run): (cluster, topic, side, probability,
    map coordinates) per claim."""
    r = assign_incremental(vectors, claim_ids, params, seed, stances)
    return r.clusters, r.topics, r.sides, r.probabilities, r.coords


# --- reruns: new claims join the clusters of the last full fit, and ids stay put


STATE_VERSION = 2  # 2: the exact neighbour index replaced pynndescent


@dataclass
class State:
    """Kept between runs (persisted next to the clusters): the last full fit and what each claim got."""

    version: int
    fingerprint: str  # params + seed of the last full fit; a change means a full refit
    fitted: Fitted
    raw_to_topic: dict[int, int]  # HDBSCAN label of the fit -> topic id
    centres: np.ndarray  # unit centre per topic, for placing new noise
    centre_topics: list[int]
    fit_size: int  # claims at the last full fit
    changed: int  # claims added or removed since then
    claims: dict[str, tuple[int, int, float, float, float]]  # key -> (topic, cluster, probability, x, y)
    next_topic: int  # ids only grow, so a vanished cluster's id is never given to another
    next_cluster: int


def claim_keys(claim_ids: list[str], vectors: np.ndarray) -> list[str]:
    """A claim is "the same" in a later run when its id and its vector (so its text and the embedding
    model) are the same."""
    return [
        f"{cid}\0{hashlib.blake2b(row.tobytes(), digest_size=12).hexdigest()}"
        for cid, row in zip(claim_ids, np.ascontiguousarray(vectors, dtype=np.float32), strict=True)
    ]


def fingerprint(params: ClusterParams, seed: int) -> str:
    settings = {k: v for k, v in dataclasses.asdict(params).items() if k != "max_drift"}
    code = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]  # new clustering code: refit
    return f"v{STATE_VERSION} code={code} seed={seed} " + " ".join(f"{k}={v}" for k, v in sorted(settings.items()))


def match_ids(labels: np.ndarray, keys: list[str], previous: dict[str, int], next_id: int) -> tuple[np.ndarray, int]:
    """Relabel groups (-1 stays -1) with the id of the previous group they share most claims with,
    greedily, biggest overlap first; groups left over get fresh ids from `next_id`, in label order
    (labels come numbered by size). Returns (ids, the next fresh id)."""
    overlap: dict[tuple[int, int], int] = {}
    for key, label in zip(keys, labels.tolist(), strict=True):
        old = previous.get(key, -1)
        if label >= 0 and old >= 0:
            overlap[(label, old)] = overlap.get((label, old), 0) + 1
    mapping: dict[int, int] = {}
    used: set[int] = set()
    for (label, old), _ in sorted(overlap.items(), key=lambda item: (-item[1], item[0])):
        if label not in mapping and old not in used:
            mapping[label] = old
            used.add(old)
    for label in sorted(set(labels.tolist()) - {-1}):
        if label not in mapping:
            mapping[label] = next_id
            next_id += 1
    return np.array([mapping.get(label, -1) for label in labels.tolist()], dtype=np.int32), next_id


def topic_centres(topics: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Unit centre of each topic (-1 aside) and the topic ids, in id order; one sparse product, so
    thousands of topics over a million claims cost one pass."""
    from scipy import sparse

    ids = sorted(set(topics.tolist()) - {-1})
    if not ids:
        return np.zeros((0, vectors.shape[1]), np.float32), []
    members = np.flatnonzero(topics >= 0)
    rows = np.searchsorted(np.array(ids), topics[members])
    membership = sparse.csr_matrix(
        (np.ones(len(members), np.float32), (rows, members)), shape=(len(ids), len(vectors))
    )
    centres = np.asarray(membership @ vectors, dtype=np.float32)
    centres /= np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)
    return centres, ids


def nearest_topic(
    vectors: np.ndarray, rows: np.ndarray, centres: np.ndarray, centre_topics: list[int], min_similarity: float
) -> np.ndarray:
    """For `vectors[rows]`: the topic of the most similar centre when at least `min_similarity`,
    else -1. Works through the rows in blocks, so memory stays at one block x topics."""
    out = np.full(len(rows), -1, np.int32)
    if not centre_topics or min_similarity >= 1.0 or not len(rows):
        return out
    ids = np.array(centre_topics, dtype=np.int32)
    for start in range(0, len(rows), SIMILARITY_BLOCK):
        block = rows[start : start + SIMILARITY_BLOCK]
        sims = vectors[block] @ centres.T
        best = sims.argmax(axis=1)
        ok = sims[np.arange(len(block)), best] >= min_similarity
        out[start : start + len(block)] = np.where(ok, ids[best], -1)
    return out


@dataclass
class Outcome:
    clusters: np.ndarray
    topics: np.ndarray
    sides: list[str | None]
    probabilities: np.ndarray
    coords: np.ndarray
    new: np.ndarray  # claim not in the previous run
    mode: str  # "full" or "incremental"
    reason: str
    state: State


def assign_incremental(
    vectors: np.ndarray,
    claim_ids: list[str],
    params: ClusterParams,
    seed: int,
    stances: pl.DataFrame | None = None,
    previous: State | None = None,
    full: bool = False,
    split_sides: bool = True,
) -> Outcome:
    """The stage with memory. Without a usable previous state, or when `full`, or when more than
    `max_drift` of the claims changed since the last full fit: a full fit whose ids are matched to
    the previous run's. Otherwise the claims seen before keep their cluster and place on the map,
    and the new ones are placed by the saved UMAPs and HDBSCAN's approximate prediction.
    `split_sides` False keeps every claim's side but does not split topics by it (sides toward each
    thread's own opening post mean different things in different threads)."""
    keys = claim_keys(claim_ids, vectors)
    before = previous.claims if previous is not None else {}
    new = np.array([k not in before for k in keys], dtype=bool)
    n_new = int(new.sum())
    removed = len(set(before) - set(keys))
    reason = ""
    if previous is None:
        reason = "no earlier run"
    elif full:
        reason = "asked for (--full)"
    elif previous.version != STATE_VERSION or previous.fingerprint != fingerprint(params, seed):
        reason = "params or clustering code changed"
    elif previous.fitted.clusterer is None:
        reason = "the last fit had too few claims"
    else:
        drift = (previous.changed + n_new + removed) / max(previous.fit_size, 1)
        if drift > params.max_drift:
            reason = f"{drift:.0%} of the claims changed since the last full fit (max_drift {params.max_drift:.0%})"
    if reason:
        fitted, probabilities, coords = fit(vectors, params, seed)
        raw = renumber(fitted.raw)
        topics = renumber(reassign_noise(raw, vectors, params.reassign_min_similarity))
        old_topics = {k: v[0] for k, v in before.items()}
        topics, next_topic = match_ids(topics, keys, old_topics, previous.next_topic if previous else 0)
        raw_to_topic = {}
        for r, t in zip(fitted.raw.tolist(), topics.tolist(), strict=True):
            if r >= 0:
                raw_to_topic.setdefault(r, t)
        centres, centre_topics = topic_centres(topics, vectors)
        fit_size, changed, mode = len(keys), 0, "full"
    else:
        fitted, raw_to_topic = previous.fitted, previous.raw_to_topic
        centres, centre_topics = previous.centres, previous.centre_topics
        topics = np.zeros(len(keys), np.int32)
        probabilities = np.zeros(len(keys), np.float32)
        coords = np.zeros((len(keys), 2), np.float32)
        old = np.flatnonzero(~new)
        for i in old.tolist():
            t, _, p, x, y = before[keys[i]]
            topics[i], probabilities[i], coords[i] = t, p, (x, y)
        fresh = np.flatnonzero(new)
        if len(fresh):
            raw, strengths, placed = predict(fitted, vectors[fresh])
            predicted = np.array([raw_to_topic.get(r, -1) for r in raw.tolist()], dtype=np.int32)
            noise = predicted == -1
            predicted[noise] = nearest_topic(
                vectors, fresh[noise], centres, centre_topics, params.reassign_min_similarity
            )
            topics[fresh], probabilities[fresh], coords[fresh] = predicted, strengths, placed
        next_topic, fit_size = previous.next_topic, previous.fit_size
        changed, mode = previous.changed + n_new + removed, "incremental"
    sides = side_keys(claim_ids, stances)
    split = split_sides and any(s is not None for s in sides)
    groups = split_by_side(topics, sides) if split else renumber(topics)
    old_clusters = {k: v[1] for k, v in before.items()}
    clusters, next_cluster = match_ids(groups, keys, old_clusters, previous.next_cluster if previous else 0)
    state = State(
        version=STATE_VERSION,
        fingerprint=fingerprint(params, seed),
        fitted=fitted,
        raw_to_topic=raw_to_topic,
        centres=centres,
        centre_topics=centre_topics,
        fit_size=fit_size,
        changed=changed,
        claims={
            k: (int(t), int(c), float(p), float(x), float(y))
            for k, t, c, p, (x, y) in zip(
                keys, topics.tolist(), clusters.tolist(), probabilities.tolist(), coords.tolist(), strict=True
            )
        },
        next_topic=max(next_topic, int(topics.max(initial=-1)) + 1),
        next_cluster=next_cluster,
    )
    if previous is None:
        new[:] = False  # a first run has nothing to be new against
    return Outcome(clusters, topics, sides, probabilities, coords, new, mode, reason, state)


def load_state(path: Path | None) -> State | None:
    """The previous run's state, or None (missing, unreadable or from another version: a full fit)."""
    if path is None or not path.exists():
        return None
    import joblib

    try:
        state = joblib.load(path)
    except Exception as exc:  # a damaged file costs a full fit, never the run
        say(f"cluster: ignoring the state in {path} ({type(exc).__name__}); fitting from scratch")
        return None
    return state if isinstance(state, State) and state.version == STATE_VERSION else None


def save_state(state: State, path: Path) -> None:
    import joblib

    with atomic_path(path) as tmp:
        joblib.dump(state, tmp)


def run(
    params: ClusterParams,
    *,
    seed: int,
    embeddings: str | Path,
    out: str | Path,
    stances: str | Path | None = None,
    state: str | Path | None = None,
    full: bool = False,
    split_sides: bool = True,
) -> pl.DataFrame:
    """Cluster the vectors in `embeddings` (split by side toward propositions from `stances` when
    `split_sides`), write `out`, and keep the fit in `state` for reruns (`full`: refit anyway)."""
    state_file = Path(state) if state else None
    embeddings = read_table(embeddings, "embeddings")
    vectors = embeddings["vector"].to_numpy().astype(np.float32)
    stances = read_table(stances, "stances") if stances is not None else None
    previous = load_state(state_file)
    ids = embeddings["claim_id"].to_list()
    result = assign_incremental(vectors, ids, params, seed, stances, previous, full, split_sides)
    table = pl.DataFrame(
        {
            "claim_id": embeddings["claim_id"],
            "cluster": result.clusters,
            "topic": result.topics,
            "side": result.sides,
            "probability": result.probabilities,
            "x": result.coords[:, 0],
            "y": result.coords[:, 1],
            "new": result.new,
        },
        schema=CLUSTERS,
    )
    write_table(table, out, "clusters")
    if state_file is not None:
        save_state(result.state, state_file)
    topics, clusters = result.topics, result.clusters
    how = f"full fit ({result.reason})" if result.mode == "full" else f"{int(result.new.sum())} new claim(s) placed"
    say(
        f"cluster: {how}; {len(set(topics.tolist()) - {-1})} topic(s), {len(set(clusters.tolist()) - {-1})} "
        f"cluster(s){' split by side' if split_sides and stances is not None and stances.height else ''}, "
        f"{int((topics == -1).sum())} of {len(topics)} claim(s) unclustered"
    )
    return table
