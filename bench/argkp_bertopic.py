"""ArgKP: stancemap's clusters beside BERTopic's on the same split, with the same model.

    python bench/argkp_bertopic.py [--split dev] [--seeds 42,43,44] [--sweep]

Both are scored by `stancemap.evaluate.argkp.score_topic` (the `stancemap evaluate argkp` protocol).
stancemap runs its own stages with params.yaml (segment -> embed -> cluster). BERTopic 0.17.4 runs
with its defaults on whole arguments (one document each), given the same all-MiniLM-L6-v2 vectors;
its UMAP is its default one plus `random_state=seed`, so a run can be repeated. Two references
that know the answer follow: k-means with the true number of key points, and k-means within each
gold stance side with that side's number of key points (no noise in either). `--sweep` adds
stancemap with other cluster params. BERTopic is a bench-only dependency:
`.venv/bin/pip install bertopic==0.17.4` (it adds pandas and leaves torch as it is).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

from stancemap.config import Params, load_params
from stancemap.embed import SentenceTransformerEmbedder, embed
from stancemap.evaluate.argkp import METRICS, Topic, evaluate, load_split, mean, score_topic

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "eval" / "argkp"


SWEEP = [
    {"min_cluster_size": 5},
    {"min_cluster_size": 8},
    {"min_cluster_size": 8, "min_samples": 1},
    {"min_cluster_size": 8, "n_neighbors": 10},
    {"min_cluster_size": 8, "cluster_selection_method": "leaf"},
    {"min_cluster_size": 12, "n_neighbors": 30},
    {"min_cluster_size": 12, "cluster_selection_method": "leaf"},
    {"min_cluster_size": 15},
]


def argument_vectors(topic: Topic, embedder, cache: dict) -> np.ndarray:
    table = pl.DataFrame({"claim_id": topic.arg_ids, "text": topic.arguments})
    return embed(table, embedder, cache)["vector"].to_numpy().astype(np.float32)


def run_bertopic(topics: list[Topic], embedder, cache: dict, seed: int) -> list[dict]:
    from bertopic import BERTopic
    from sentence_transformers import SentenceTransformer
    from umap import UMAP

    from stancemap.embed import resolve_model

    # BERTopic gets the same vectors as stancemap (below), and its own SentenceTransformer of the same model
    encoder = SentenceTransformer(resolve_model(embedder.name)[0], device="cpu")
    rows = []
    for topic in topics:
        umap_model = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=seed)
        model = BERTopic(embedding_model=encoder, umap_model=umap_model)
        labels, _ = model.fit_transform(topic.arguments, embeddings=argument_vectors(topic, embedder, cache))
        rows.append(score_topic(labels, topic.key_points, topic.stances))
    return rows


def kmeans(topics: list[Topic], embedder, cache: dict, seed: int, by_side: bool) -> list[dict]:
    """k-means with the true k (per gold side when `by_side`): an upper reference, not a method."""
    from sklearn.cluster import KMeans

    rows = []
    for topic in topics:
        vectors = argument_vectors(topic, embedder, cache)
        stances = np.array(topic.stances)
        labels = np.zeros(len(stances), np.int64)
        sides = [stances == 1, stances == -1] if by_side else [np.ones(len(stances), bool)]
        for number, side in enumerate(sides):
            kps = {kp for kp, s in zip(topic.key_points, side, strict=True) if kp is not None and s}
            k = max(1, min(len(kps), int(side.sum())))
            labels[side] = number * 1000 + KMeans(n_clusters=k, random_state=seed, n_init=10).fit(vectors[side]).labels_
        rows.append(score_topic(labels, topic.key_points, topic.stances))
    return rows


def line(name: str, m: dict, seconds: float | None = None) -> str:
    cells = " ".join("    n/a" if m[k] is None else f"{m[k]:>7.3f}" for k in METRICS)
    return f"{name:<44} {cells}" + (f" {seconds:>6.1f}s" if seconds is not None else "")


def averaged(runs: list[dict]) -> dict:
    return {k: (None if runs[0][k] is None else sum(r[k] for r in runs) / len(runs)) for k in METRICS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--split", default="dev")
    parser.add_argument("--params", type=Path, default=REPO / "params.yaml")
    parser.add_argument("--seeds", default="42", help="comma-separated; each metric is averaged over them")
    parser.add_argument("--sweep", action="store_true", help="also run stancemap with other cluster params")
    args = parser.parse_args()
    if not args.data.exists():
        sys.exit(f"{args.data} is missing: the benchmark reads ../shared beside the repository")
    if importlib.util.find_spec("bertopic") is None:
        sys.exit("BERTopic is not installed: .venv/bin/pip install bertopic==0.17.4 (bench only)")
    params: Params = load_params(args.params)
    seeds = [int(s) for s in args.seeds.split(",")]
    embedder = SentenceTransformerEmbedder(params.embed.model, params.embed.batch_size)
    cache: dict = {}
    topics = load_split(args.data, args.split)

    def ours(p: Params) -> tuple[dict, float]:
        start = time.perf_counter()
        seeded = [p.model_copy(update={"seed": s}) for s in seeds]
        runs = [evaluate(args.data, args.split, q, embedder, cache=cache)["mean"] for q in seeded]
        return averaged(runs), (time.perf_counter() - start) / len(seeds)

    def timed(fn, **kw) -> tuple[dict, float]:
        start = time.perf_counter()
        runs = [mean(fn(topics, embedder, cache, s, **kw)) for s in seeds]
        return averaged(runs), (time.perf_counter() - start) / len(seeds)

    ours(params)  # warm up: the embeddings and numba's compilation count for neither side
    print(f"ArgKP {args.split}: {len(topics)} topics, seeds {seeds}, model {embedder.model_id}")
    print(f"{'method':<44} " + " ".join(f"{k[:7]:>7}" for k in METRICS) + "  s/run")
    stancemap_mean, t = ours(params)
    print(line("stancemap (params.yaml)", stancemap_mean, t))
    bertopic_mean, t = timed(run_bertopic)
    print(line("BERTopic 0.17.4 defaults (seeded UMAP)", bertopic_mean, t))
    print(line("reference: k-means, true k", timed(kmeans, by_side=False)[0]))
    print(line("reference: k-means within gold sides, true k", timed(kmeans, by_side=True)[0]))
    ratios = {
        k: None if not bertopic_mean[k] or stancemap_mean[k] is None else stancemap_mean[k] / bertopic_mean[k]
        for k in METRICS
    }
    print(
        "ratio stancemap / BERTopic: "
        + " ".join(f"{k}={'n/a' if v is None else f'{v:.2f}'}" for k, v in ratios.items())
    )
    if args.sweep:
        print()
        print(f"{'stancemap, cluster params changed':<44} " + " ".join(f"{k[:7]:>7}" for k in METRICS))
        for change in SWEEP:
            m, t = ours(params.model_copy(update={"cluster": params.cluster.model_copy(update=change)}))
            print(line(", ".join(f"{k}={v}" for k, v in change.items()), m, t))


if __name__ == "__main__":
    main()
