"""The models: HDBSCAN in a spectral embedding of the neighbour graph (cluster/spectral.py), and a
seeded 2-D UMAP for the map, both learnt on a sample with the rest placed (the UMAP in a second
process when that pays); `fit` and `predict`.

A claim outside the sample goes on the map where UMAP's `transform` starts it, at the weighted mean
of its nearest sample claims' map positions, without transform's 30 to 100 optimisation epochs:
those took 6.2 s of a 100k-claim fit, and the neighbours are the ones the spectral placement finds
anyway (docs/performance.md has what it changes on the map).
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass

import numpy as np

from stancemap.cluster import jitcache
from stancemap.cluster.exact import ExactIndex
from stancemap.cluster.spectral import Spectral, neighbour_weights, weighted_mean
from stancemap.cluster.topics import renumber
from stancemap.config import ClusterParams
from stancemap.errors import StancemapError
from stancemap.progress import say, track

MAP_MIN_DIST = 0.1  # spreads points a little on the map (bench/stability.py's `umap` method clusters at 0.0)
CHUNK = 20_000  # rows placed at a time
EXACT_PLACE_MAX = 200_000  # rows placed by exact search in a full fit; beyond, pynndescent (see fit)
PARALLEL_FROM = 5_000  # claims from which the map's UMAP runs beside HDBSCAN, in two processes (when there are 2 CPUs)
MEMMAP_FROM = "1M"  # arrays at least this big reach the workers as read-only memory maps (joblib)


class UmapIndex(ExactIndex):
    """The exact index as UMAP takes it in the place of pynndescent's (`precomputed_knn`'s third
    part): UMAP reads `_angular_trees` when it would search it."""

    _angular_trees = True


@dataclass
class MapLayout:
    """The map: the fit sample's 2-D UMAP positions. Any other claim is placed at the mean of its
    nearest sample claims' positions, weighted as the spectral placement weighs them (`place`)."""

    positions: np.ndarray  # (sample rows, 2) float32

    def place(self, indices: np.ndarray, distances: np.ndarray) -> np.ndarray:
        """Map positions of rows from their neighbours in the sample (`indices`, cosine `distances`)."""
        weights = neighbour_weights(np.asarray(distances, np.float32))
        return weighted_mean(self.positions, np.asarray(indices), weights).astype(np.float32)


@dataclass
class Fitted:
    """What a full fit leaves behind so later runs can place new claims without refitting."""

    spectral: Spectral | None  # to params.n_components dimensions, for HDBSCAN; its search finds neighbours
    layout: MapLayout | None  # to 2-D, for the map
    clusterer: object | None  # HDBSCAN with prediction data
    raw: np.ndarray  # HDBSCAN's own label per fitted row


def reduce(
    vectors: np.ndarray,
    n_components: int,
    n_neighbors: int,
    min_dist: float,
    seed: int,
    knn=None,
    n_epochs=None,
    init=None,
):
    """Seeded UMAP (cosine) to `n_components`: (the fitted reducer, the reduced rows); `knn` reuses
    a neighbour graph already computed; `n_epochs` None is UMAP's own choice; `init` a starting
    layout (rows x n_components), None for UMAP's own spectral one. The map's reduction;
    bench/stability.py also clusters in one, as this stage did before cluster/spectral.py."""
    import umap

    jitcache.enable()  # UMAP's numba code from disk after the first process (cluster/jitcache.py)

    # a seed makes UMAP single-threaded on purpose (reproducible); its warning says so on every run
    warnings.filterwarnings("ignore", message="n_jobs value", category=UserWarning)
    # our exact index stands in for pynndescent's (see UmapIndex); UMAP warns it might not
    warnings.filterwarnings("ignore", message="precomputed_knn\\[2\\]", category=UserWarning)

    reducer = umap.UMAP(
        n_neighbors=n_neighbors,
        n_components=n_components,
        min_dist=min_dist,
        metric="cosine",
        random_state=seed,  # also makes UMAP single-threaded, hence reproducible
        precomputed_knn=knn if knn is not None else (None, None, None),
        init=init if init is not None else "spectral" if len(vectors) > n_components + 10 else "random",
        n_epochs=n_epochs,
    )
    return reducer, reducer.fit_transform(vectors).astype(np.float32)


def smallest_topic(params: ClusterParams, n: int) -> int:
    """HDBSCAN's min_cluster_size for `n` claims: `min_cluster_size`, or `min_cluster_share` of the
    claims when that is more, so a large corpus gives topics a reader can take in (at 1M claims a
    fixed 12 gave 9,096 topics); and in a small thread (under min_cluster_size / small_topic_share
    claims, 120 at the defaults) `small_topic_share` of them, down to min_samples + 1, so that a
    debate of 40 arguments gets topics too (ArgKP train: coverage 0.60 -> 0.98, docs/cluster.md)."""
    small = max(params.min_samples + 1, math.ceil(params.small_topic_share * n))
    return max(min(params.min_cluster_size, small), math.ceil(params.min_cluster_share * n))


def fit(
    vectors: np.ndarray,
    params: ClusterParams,
    seed: int,
    *,
    chunk: int = CHUNK,
    exact_place_max: int = EXACT_PLACE_MAX,
    parallel_from: int = PARALLEL_FROM,
    memmap_from: int | str = MEMMAP_FROM,
    cpus: int | None = None,
) -> tuple[Fitted, np.ndarray, np.ndarray]:
    """Full fit: (models, membership probability per row, (n, 2) map coordinates); topics are
    `renumber(fitted.raw)`. Beyond `fit_sample` rows, the spectral embedding and the map's UMAP
    learn from a seeded sample and the rest are placed, `chunk` rows at a time, so memory stays
    flat; HDBSCAN always sees every row. Past `exact_place_max` rows to place, they are placed
    through pynndescent; from `parallel_from` claims, with two CPUs (`cpus`, default: those this
    process may use), the map's UMAP runs in a second process while this one clusters; it gets
    arrays of `memmap_from` bytes or more as memory maps."""
    n = len(vectors)
    if n < max(smallest_topic(params, n), 8):
        say(f"cluster: only {n} claim(s), too few to cluster; all are left unclustered")
        return Fitted(None, None, None, np.full(n, -1, np.int32)), np.zeros(n, np.float32), _small_map(vectors)
    if n < params.n_components + 3:  # the embedding needs n_components + 1 eigenvectors of the graph
        raise StancemapError(
            f"cluster: {n:,} claims are too few for cluster.n_components={params.n_components} (it needs "
            f"n_components + 3 claims or more); set cluster.n_components to {n - 3} or less"
        )
    sample = np.arange(n)
    if n > params.fit_sample:
        sample = np.sort(np.random.RandomState(seed).choice(n, params.fit_sample, replace=False))
    k = min(params.n_neighbors, len(sample) - 1)
    index = UmapIndex(vectors[sample])
    knn = (*index.query(vectors[sample], k), index)
    search = index
    if n - len(sample) > exact_place_max:
        # exact search costs (rows to place) x (sample) products: past this many rows, an
        # approximate index (pynndescent, ~24 s of numba compile) is cheaper, e.g. at 1M claims
        from pynndescent import NNDescent

        search = NNDescent(
            vectors[sample], metric="cosine", n_neighbors=k, random_state=np.random.RandomState(seed), n_jobs=1
        )
        search.prepare()
    rest = np.setdiff1d(np.arange(n), sample)
    chunks = np.array_split(rest, max(1, len(rest) // chunk)) if len(rest) else []
    # side by side only with the exact index: past exact_place_max the worker would hold and
    # compile its own approximate index (the 1M memory figures are for one after the other)
    parallel = n >= parallel_from and (_cpus() if cpus is None else cpus) >= 2 and search is index
    # each row to place: its (indices, distances) among the sample, searched once for both placements
    near = [search.query(vectors[part], k) for part in track(chunks, len(chunks), "cluster: neighbours to place")]
    # the embedding first: the map's UMAP starts from it (see map_start)
    spectral = Spectral.fit(vectors[sample], np.array(knn[0]), np.array(knn[1]), params.n_components, search)
    start = map_start(spectral.positions)
    if parallel:
        # a seeded UMAP is single-threaded: it runs in one process while HDBSCAN runs in another,
        # with the same result as one after the other (joblib memory-maps `vectors` for both)
        from joblib import Parallel, delayed

        say(f"cluster: the map's UMAP beside HDBSCAN, in two processes ({len(rest)} claim(s) to place)")
        sample_map, clusterer = Parallel(n_jobs=2, backend="loky", max_nbytes=memmap_from)(
            [
                delayed(_map_sample)(vectors, sample, k, seed, knn, start),
                delayed(_cluster_all)(vectors, sample, chunks, near, spectral, params, n),
            ]
        )
    else:
        clusterer = _cluster_all(vectors, sample, chunks, near, spectral, params, n)
        sample_map = _map_sample(vectors, sample, k, seed, knn, start)
    layout = MapLayout(sample_map)
    coords = np.zeros((n, 2), np.float32)
    coords[sample] = sample_map
    for part, (indices, distances) in zip(chunks, near, strict=True):
        coords[part] = layout.place(indices, distances)
    fitted = Fitted(spectral, layout, clusterer, clusterer.labels_.astype(np.int32))
    return fitted, clusterer.probabilities_.astype(np.float32), coords


def cluster(vectors: np.ndarray, params: ClusterParams, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cluster per row, membership probability per row, (n, 2) map coordinates)."""
    fitted, probabilities, coords = fit(vectors, params, seed)
    return renumber(fitted.raw), probabilities, coords


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _cluster_all(vectors, sample, chunks, near, spectral: Spectral, params: ClusterParams, n: int):
    """HDBSCAN (with prediction data) over every row's position in the embedding: the sample's
    from the fit, each chunk's placed from its neighbours `near`; the clusterer."""
    import hdbscan

    positions = np.zeros((len(vectors), spectral.positions.shape[1]), np.float32)
    positions[sample] = spectral.positions
    for part, found in zip(chunks, near, strict=True):
        positions[part] = spectral.place_near(*found)
    clusterer = hdbscan.HDBSCAN(
        min_cluster_size=smallest_topic(params, n),
        min_samples=min(params.min_samples, n - 1),
        cluster_selection_method=params.cluster_selection_method,
        prediction_data=True,
    ).fit(positions)
    return clusterer


def _map_sample(vectors, sample, k, seed, knn, start) -> np.ndarray:
    """The map's UMAP of `vectors[sample]` from its neighbour graph `knn`, starting from `start`
    (`map_start`): (sample rows, 2) positions."""
    # in a worker, joblib hands large arrays over as read-only memory maps, and UMAP writes into the
    # neighbour arrays it is given: the UMAP gets its own copy
    knn = (np.array(knn[0]), np.array(knn[1]), knn[2])
    return reduce(vectors[sample], 2, k, MAP_MIN_DIST, seed, knn, init=start)[1]


def map_start(positions: np.ndarray) -> np.ndarray | str:
    """The map's starting layout: the spectral embedding's second and third dimensions (the first
    follows each claim's degree), in the place of UMAP's own spectral start. UMAP's comes from an
    eigen-solver at a tolerance of 1e-4 whose last bits depend on the CPU's BLAS kernel, and its
    optimisation turns a last bit into another map; the embedding's dimensions are solved to 1e-10
    and rounded (cluster/spectral.py), so every machine starts from the same layout. "random"
    (seeded) when the embedding has fewer than three dimensions or one of them is constant."""
    if positions.shape[1] < 3:
        return "random"
    start = np.ascontiguousarray(positions[:, 1:3], dtype=np.float64)
    if (start.max(axis=0) - start.min(axis=0) <= 0).any():
        return "random"
    return start


def predict(fitted: Fitted, vectors: np.ndarray, *, chunk: int = CHUNK) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """New rows placed with the models of an earlier fit, `chunk` rows at a time: (HDBSCAN label,
    probability, map coordinates). Each row's neighbours are searched once, for both placements."""
    import hdbscan

    parts = [vectors[i : i + chunk] for i in range(0, max(len(vectors), 1), chunk)]
    near = [fitted.spectral.search.query(c, fitted.spectral.k) for c in parts]
    positions = np.concatenate([fitted.spectral.place_near(*found) for found in near])
    coords = np.concatenate([fitted.layout.place(*found) for found in near])
    with warnings.catch_warnings():  # a fit that found no clusters places everything as noise: expected
        warnings.filterwarnings("ignore", message="Clusterer does not have any defined clusters")
        labels, strengths = hdbscan.approximate_predict(fitted.clusterer, positions)
    return labels.astype(np.int32), strengths.astype(np.float32), coords


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
