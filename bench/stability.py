"""Cluster stability: how much a rounding-sized change of the vectors redraws the topics.

    python bench/stability.py [--source demo|argq] [--n 20000] [--noise 1e-6] [--noise-seeds 3]
                              [--methods product,umap,umap=100,consensus=5,pca=10,leiden=2.0]
                              [--argkp [--argkp-split dev|train]] [--set cluster.KEY=VALUE ...]

The same claims are clustered from their vectors and from the vectors plus Gaussian noise of
`--noise` per coordinate (several noise seeds), and each perturbed run is compared with the
unperturbed one by ARI over topics (unclustered claims count as one group). A run with another
UMAP seed is shown beside, as the yardstick of what the noise does. Vectors: the demo's
`data/interim/embeddings.parquet` (after `make report`), or `--n` ArgQ-30k arguments embedded with
the product's embedder (kept in `--cache`, an .npy file, so a second run does not embed again).

Methods (all with params.yaml's cluster section):
- `product`: the cluster stage's topics (`stancemap.cluster.assign`: a spectral embedding of the
  neighbour graph, HDBSCAN, noise reassignment).
- `umap`: what the stage did before (until 2026-12-07): HDBSCAN in a seeded UMAP to 5 dimensions
  (min_dist 0) of the same neighbour graph, then noise reassignment; `umap=N` cuts UMAP's
  optimisation to N epochs.
- `consensus=M`: M such UMAP + HDBSCAN runs (seeds seed … seed+M-1), claims joined where they share a
  topic in at least half of the runs (average linkage on the co-association), groups smaller than
  HDBSCAN's smallest topic left unclustered.
- `pca=D`: HDBSCAN on a D-dimensional PCA of the unit vectors (no UMAP), then noise reassignment.
- `leiden=R`: Leiden (RB configuration, resolution R) on UMAP's fuzzy neighbour graph; needs
  `pip install leidenalg igraph` (not a dependency of stancemap).
- `evoc`: EVōC (`pip install evoc`, not a dependency), its most persistent layer, with HDBSCAN's
  smallest topic as its base cluster size; `evoc=L` takes layer L (0 = finest).
- `fast-hdbscan`: the `umap` method's UMAP, then `fast_hdbscan` (`pip install fast-hdbscan`) in the place
  of hdbscan, then noise reassignment.
`--argkp` also scores each method on ArgKP (`--argkp-split`: dev, or train, the split to choose
settings on) as `stancemap evaluate argkp` does (ARI, NMI,
coverage, stance purity; no stance model). `--set` overrides params.yaml as `stancemap run --set`
does (to compare settings). Writes bench/results/stability-<source>.json. Run by
hand, never as a test.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.metrics import adjusted_rand_score

from stancemap.config import ClusterParams, load_params

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "interim" / "embeddings.parquet"
ARGQ = REPO.parent / "shared" / "eval" / "argq30k" / "arg_quality_rank_30k.csv"


def vectors_of(source: str, n: int, cache: Path | None) -> np.ndarray:
    if source == "demo":
        if not DEMO.exists():
            raise SystemExit(f"{DEMO} is missing: run `make report` first")
        return pl.read_parquet(DEMO)["vector"].to_numpy().astype(np.float32)
    if cache is not None and cache.exists():
        return np.load(cache)[:n]
    from stancemap.embed import SentenceTransformerEmbedder

    texts = pl.read_csv(ARGQ)["argument"].unique(maintain_order=True).head(n).to_list()
    vectors = SentenceTransformerEmbedder("all-MiniLM-L6-v2", 16).encode(texts).astype(np.float32)
    if cache is not None:
        np.save(cache, vectors)
    return vectors


UMAP_DIMS, UMAP_MIN_DIST = 5, 0.0  # the clustering UMAP the stage had before the spectral embedding


def product(vectors: np.ndarray, params: ClusterParams, seed: int) -> np.ndarray:
    from stancemap.cluster.stage import assign

    return assign(vectors, [f"c{i}" for i in range(len(vectors))], params, seed)[1]


def umap_topics(vectors: np.ndarray, params: ClusterParams, seed: int, epochs: int | None = None) -> np.ndarray:
    from stancemap.cluster.model import reduce
    from stancemap.cluster.topics import reassign_noise, renumber

    knn = _knn(vectors, params.n_neighbors)
    reduced = reduce(vectors, UMAP_DIMS, params.n_neighbors, UMAP_MIN_DIST, seed, knn, n_epochs=epochs)[1]
    raw = renumber(_hdbscan(reduced, params, len(vectors)))
    return renumber(reassign_noise(raw, vectors, params.reassign_min_similarity))


def _hdbscan(reduced: np.ndarray, params: ClusterParams, n: int) -> np.ndarray:
    import hdbscan

    from stancemap.cluster.model import smallest_topic

    return (
        hdbscan.HDBSCAN(
            min_cluster_size=smallest_topic(params, n),
            min_samples=min(params.min_samples, n - 1),
            cluster_selection_method=params.cluster_selection_method,
        )
        .fit(reduced)
        .labels_
    )


def _knn(vectors: np.ndarray, k: int):
    from stancemap.cluster.model import UmapIndex

    index = UmapIndex(vectors)
    return (*index.query(vectors, k), index)


def consensus(vectors: np.ndarray, params: ClusterParams, seed: int, runs: int) -> np.ndarray:
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    from stancemap.cluster.model import reduce, smallest_topic

    n = len(vectors)
    if n > 30_000:
        raise SystemExit("consensus: the co-association matrix is n x n; use --n 30000 or fewer")
    knn = _knn(vectors, params.n_neighbors)
    together = np.zeros((n, n), np.float32)
    for s in range(seed, seed + runs):
        reduced = reduce(vectors, UMAP_DIMS, params.n_neighbors, UMAP_MIN_DIST, s, knn)[1]
        labels = _hdbscan(reduced, params, n)
        for topic in set(labels.tolist()) - {-1}:
            members = np.flatnonzero(labels == topic)
            together[np.ix_(members, members)] += 1
    distance = 1 - together / runs
    np.fill_diagonal(distance, 0)
    groups = fcluster(linkage(squareform(distance, checks=False), "average"), t=0.5, criterion="distance")
    ids, counts = np.unique(groups, return_counts=True)
    small = ids[counts < smallest_topic(params, n)]
    return np.where(np.isin(groups, small), -1, groups)


def pca(vectors: np.ndarray, params: ClusterParams, seed: int, dims: int) -> np.ndarray:
    from sklearn.decomposition import PCA

    from stancemap.cluster.topics import reassign_noise, renumber

    unit = vectors.astype(np.float64) / np.linalg.norm(vectors, axis=1, keepdims=True)
    reduced = PCA(dims, svd_solver="full").fit_transform(unit) if dims < unit.shape[1] else unit
    raw = renumber(_hdbscan(reduced, params, len(vectors)))
    return renumber(reassign_noise(raw, vectors, params.reassign_min_similarity))


def leiden(vectors: np.ndarray, params: ClusterParams, seed: int, resolution: float) -> np.ndarray:
    try:
        import igraph
        import leidenalg
    except ImportError:
        raise SystemExit("leiden: pip install leidenalg igraph (not a dependency of stancemap)") from None
    from umap.umap_ import fuzzy_simplicial_set

    from stancemap.cluster.model import smallest_topic

    indices, distances, _ = _knn(vectors, params.n_neighbors)
    graph, _, _ = fuzzy_simplicial_set(
        vectors, params.n_neighbors, np.random.RandomState(seed), "cosine", knn_indices=indices, knn_dists=distances
    )
    graph = graph.tocoo()
    upper = graph.row < graph.col
    g = igraph.Graph(n=len(vectors), edges=list(zip(graph.row[upper].tolist(), graph.col[upper].tolist(), strict=True)))
    partition = leidenalg.find_partition(
        g,
        leidenalg.RBConfigurationVertexPartition,
        weights=graph.data[upper].tolist(),
        resolution_parameter=resolution,
        seed=seed,
        n_iterations=-1,
    )
    labels = np.array(partition.membership)
    ids, counts = np.unique(labels, return_counts=True)
    return np.where(np.isin(labels, ids[counts < smallest_topic(params, len(vectors))]), -1, labels)


def evoc_topics(vectors: np.ndarray, params: ClusterParams, seed: int, layer: int | None) -> np.ndarray:
    try:
        import evoc
    except ImportError:
        raise SystemExit("evoc: pip install evoc (not a dependency of stancemap)") from None
    from stancemap.cluster.model import smallest_topic

    model = evoc.EVoC(
        base_min_cluster_size=smallest_topic(params, len(vectors)),
        min_samples=params.min_samples,
        n_neighbors=params.n_neighbors,
        random_state=seed,
    )
    labels = model.fit_predict(vectors)
    if layer is not None:
        layers = model.cluster_layers_
        labels = layers[min(layer, len(layers) - 1)]
    return np.asarray(labels)


def fast(vectors: np.ndarray, params: ClusterParams, seed: int) -> np.ndarray:
    try:
        import fast_hdbscan
    except ImportError:
        raise SystemExit("fast-hdbscan: pip install fast-hdbscan (not a dependency of stancemap)") from None
    from stancemap.cluster.model import reduce, smallest_topic
    from stancemap.cluster.topics import reassign_noise, renumber

    reduced = reduce(
        vectors, UMAP_DIMS, params.n_neighbors, UMAP_MIN_DIST, seed, _knn(vectors, params.n_neighbors)
    )[1]
    raw = fast_hdbscan.HDBSCAN(
        min_cluster_size=smallest_topic(params, len(vectors)),
        min_samples=min(params.min_samples, len(vectors) - 1),
        cluster_selection_method=params.cluster_selection_method,
    ).fit_predict(reduced)
    return renumber(reassign_noise(renumber(np.asarray(raw)), vectors, params.reassign_min_similarity))


def argkp_scores(run, params, split: str = "dev") -> dict:
    """Mean ArgKP scores on `split` with `run` in the place of the cluster stage."""
    import stancemap.cluster as cluster_package
    from stancemap.evaluate.argkp import evaluate

    original = cluster_package.assign

    def assign(vectors, claim_ids, cluster_params, seed, stances=None):
        topics = run(vectors, cluster_params, seed)
        zeros = np.zeros(len(vectors), np.float32)
        return topics, topics, [None] * len(vectors), zeros, np.zeros((len(vectors), 2), np.float32)

    cluster_package.assign = assign
    try:
        result = evaluate(REPO.parent / "shared" / "eval" / "argkp", split, params)["mean"]
    finally:
        cluster_package.assign = original
    return {k: round(v, 3) for k, v in result.items() if k in ("ari", "nmi", "coverage", "stance_purity")}


def method(spec: str):
    name, _, value = spec.partition("=")
    if name == "product":
        return lambda v, p, s: product(v, p, s)
    if name == "umap":
        return lambda v, p, s: umap_topics(v, p, s, int(value) if value else None)
    if name == "consensus":
        return lambda v, p, s: consensus(v, p, s, int(value))
    if name == "pca":
        return lambda v, p, s: pca(v, p, s, int(value))
    if name == "leiden":
        return lambda v, p, s: leiden(v, p, s, float(value))
    if name == "evoc":
        return lambda v, p, s: evoc_topics(v, p, s, int(value) if value else None)
    if name == "fast-hdbscan":
        return lambda v, p, s: fast(v, p, s)
    raise SystemExit(f"unknown method {spec!r}")


def describe(labels: np.ndarray) -> dict:
    return {"topics": len(set(labels.tolist()) - {-1}), "unclustered": round(float((labels == -1).mean()), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", choices=["demo", "argq"], default="demo")
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--noise", type=float, default=1e-6)
    parser.add_argument("--noise-seeds", type=int, default=3)
    parser.add_argument("--methods", default="product")
    parser.add_argument("--cache", type=Path, help="ArgQ vectors as .npy (read, or written after embedding)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--argkp", action="store_true", help="also score each method on ArgKP")
    parser.add_argument("--argkp-split", choices=["dev", "train"], default="dev")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override params.yaml")
    args = parser.parse_args()
    params = load_params(REPO / "params.yaml", args.set)
    vectors = vectors_of(args.source, args.n, args.cache)
    print(f"{len(vectors):,} {args.source} vectors; noise {args.noise:g} per coordinate; load {os.getloadavg()}")
    results = []
    for spec in args.methods.split(","):
        run = method(spec)
        started = time.perf_counter()
        base = run(vectors, params.cluster, params.seed)
        seconds = time.perf_counter() - started
        noisy = []
        for s in range(1, args.noise_seeds + 1):
            moved = (vectors + np.random.default_rng(s).normal(0, args.noise, vectors.shape)).astype(np.float32)
            noisy.append(round(adjusted_rand_score(base, run(moved, params.cluster, params.seed)), 4))
        other_seed = round(adjusted_rand_score(base, run(vectors, params.cluster, params.seed + 1)), 4)
        row = {"method": spec, **describe(base), "seconds": round(seconds, 1), "noise_ari": noisy}
        row["other_seed_ari"] = other_seed
        if args.argkp:
            row[f"argkp_{args.argkp_split}"] = argkp_scores(run, params, args.argkp_split)
        results.append(row)
        print(
            f"{spec:<14} {row['topics']:>4} topics, {row['unclustered']:.1%} unclustered, {seconds:6.1f} s; "
            f"ARI with noise {noisy}; with seed {params.seed + 1}: {other_seed}"
            + (f"; ArgKP {args.argkp_split} {row[f'argkp_{args.argkp_split}']}" if args.argkp else "")
        )
    out = args.out or REPO / "bench" / "results" / f"stability-{args.source}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    record = {"source": args.source, "claims": len(vectors), "noise": args.noise, "set": args.set}
    record["load_after"] = os.getloadavg()
    out.write_text(json.dumps({**record, "runs": results}, indent=1) + "\n", encoding="utf-8")
    print(f"results -> {out}")


if __name__ == "__main__":
    main()
