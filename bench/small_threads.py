"""Small threads: clusters of debates of about 40 arguments, sampled from each ArgKP dev topic.

    python bench/small_threads.py [--size 40] [--samples 5] [--split dev] [--only N] [--setting 'cluster.KEY=VALUE ...']

Each sample keeps `--size` arguments of one topic (seeded, without replacement) with their gold
key points, and runs the `stancemap evaluate argkp` protocol on it (segment -> embed -> cluster,
scored by `score_topic`). It prints the mean coverage, stance purity and NMI over topics and
samples, for today's params and for other `cluster.*` settings, beside the same settings on the
whole topics. Vectors come from one embed cache, so every setting sees the same vectors.
"""

from __future__ import annotations

import argparse
import random
import tempfile
from pathlib import Path

import polars as pl

from stancemap.config import load_params
from stancemap.embed import SentenceTransformerEmbedder
from stancemap.evaluate.argkp import evaluate

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "eval" / "argkp"
SETTINGS = [
    ["cluster.small_topic_share=1.0"],  # a fixed min_cluster_size, as before small_topic_share
    [],
    ["cluster.min_cluster_size=8"],
    ["cluster.min_cluster_size=6"],
    ["cluster.min_cluster_size=5"],
    ["cluster.min_cluster_size=4"],
    ["cluster.min_cluster_size=4", "cluster.min_samples=2"],
    ["cluster.min_cluster_size=3", "cluster.min_samples=2"],
]


def sample_split(split: str, size: int, seed: int, out: Path) -> Path:
    """ArgKP files for `size` arguments of every topic (all of a smaller one), under `out`."""
    args = pl.read_csv(DATA / f"arguments_{split}.csv")
    rng = random.Random(seed)
    kept = []
    for topic in args["topic"].unique(maintain_order=True).to_list():
        ids = args.filter(pl.col("topic") == topic)["arg_id"].to_list()
        kept += rng.sample(ids, min(size, len(ids)))
    out.mkdir(parents=True, exist_ok=True)
    args.filter(pl.col("arg_id").is_in(kept)).write_csv(out / f"arguments_{split}.csv")
    pl.read_csv(DATA / f"key_points_{split}.csv").write_csv(out / f"key_points_{split}.csv")
    labels = pl.read_csv(DATA / f"labels_{split}.csv")
    labels.filter(pl.col("arg_id").is_in(kept)).write_csv(out / f"labels_{split}.csv")
    return out


def scores(data_dir: Path, split: str, overrides: list[str], embedder, cache) -> list[dict]:
    params = load_params(REPO / "params.yaml", overrides)
    return evaluate(data_dir, split, params, embedder=embedder, cache=cache)["topics"]


def averaged(rows: list[dict]) -> dict:
    out = {}
    for key in ("coverage", "stance_purity", "nmi", "n_clusters"):
        values = [r[key] for r in rows if r[key] is not None]
        out[key] = sum(values) / len(values) if values else float("nan")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=40)
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--split", default="dev")
    parser.add_argument("--only", type=int, default=None, help="run only the first N settings")
    parser.add_argument(
        "--setting", action="append", default=[], metavar="'KEY=VALUE [KEY=VALUE ...]'",
        help="a setting to measure after the built-in ones (repeat for more); with --only 0, only these",
    )
    args = parser.parse_args()
    settings = SETTINGS[: args.only] + [s.split() for s in args.setting]
    embedder = SentenceTransformerEmbedder("all-MiniLM-L6-v2")
    cache: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        folders = [sample_split(args.split, args.size, s, Path(tmp) / str(s)) for s in range(args.samples)]
        print(f"ArgKP {args.split}: {args.samples} samples of {args.size} arguments per topic, and whole topics")
        small_head = f"{'small: cov':>10} {'purity':>7} {'nmi':>6} {'k':>5}"
        print(f"{'setting':<48} {small_head} | {'whole: cov':>10} {'purity':>7} {'nmi':>6}")
        for overrides in settings:
            small = averaged([r for f in folders for r in scores(f, args.split, overrides, embedder, cache)])
            whole = averaged(scores(DATA, args.split, overrides, embedder, cache))
            name = " ".join(o.removeprefix("cluster.") for o in overrides) or "params.yaml"
            print(
                f"{name:<48} {small['coverage']:>10.3f} {small['stance_purity']:>7.3f} {small['nmi']:>6.3f} "
                f"{small['n_clusters']:>5.1f} | {whole['coverage']:>10.3f} {whole['stance_purity']:>7.3f} "
                f"{whole['nmi']:>6.3f}"
            )


if __name__ == "__main__":
    main()
