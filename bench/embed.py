"""Embedding: torch against int8 ONNX on the same claims, and batches sorted by length against not.

    python bench/embed.py [--n 2000] [--repeat 3] [--source argq|demo] [--threads N]

Embeds `--n` claims (arguments from ../shared/eval/argq30k, or the demo corpus's claims from
data/interim after `make report`) with each backend, with and without length-sorted batches, and
prints sentences/s (best of `--repeat` interleaved runs, and per CPU-second, which other work on
the machine disturbs less), the ratios, and the cosine between the two backends' vectors.
`--threads 1` runs both backends on one core: the fairest comparison on a busy machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

from stancemap.embed import SentenceTransformerEmbedder, normalise_text
from stancemap.embed_onnx import OnnxEmbedder, cores

REPO = Path(__file__).resolve().parents[1]
ARGQ = REPO.parent / "shared" / "eval" / "argq30k" / "arg_quality_rank_30k.csv"
DEMO = REPO / "data" / "interim" / "claims.parquet"


def load_claims(source: str, n: int, seed: int = 42) -> list[str]:
    """`n` distinct normalised claims, in the source's (random or thread) order."""
    if source == "argq":
        if not ARGQ.exists():
            sys.exit(f"{ARGQ} is missing: use --source demo, or put ../shared beside the repository")
        texts = pl.read_csv(ARGQ)["argument"].sample(fraction=1.0, shuffle=True, seed=seed).to_list()
    else:
        if not DEMO.exists():
            sys.exit(f"{DEMO} is missing: run `make report` (or `stancemap run`) first")
        texts = pl.read_parquet(DEMO)["text"].to_list()
    unique = list(dict.fromkeys(normalise_text(t) for t in texts if t and t.strip()))
    return unique[:n]


def timed(embedder, texts: list[str]) -> tuple[np.ndarray, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    vectors = embedder.encode(texts)
    return vectors, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--source", choices=["argq", "demo"], default="argq" if ARGQ.exists() else "demo")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=cores(), help="for both backends (default: every core)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    texts = load_claims(args.source, args.n)
    lengths = np.array([len(t) for t in texts])
    print(f"{len(texts)} claims from {args.source}: {lengths.mean():.0f} characters on average (min {lengths.min()},")
    print(
        f"median {np.median(lengths):.0f}, max {lengths.max()}); {args.threads} thread(s); batch size {args.batch_size}"
    )

    start = time.perf_counter()
    backends = {"torch": SentenceTransformerEmbedder("all-MiniLM-L6-v2", args.batch_size)}
    loaded = time.perf_counter()
    backends["onnx-int8"] = OnnxEmbedder("all-MiniLM-L6-v2", args.batch_size, threads=args.threads)
    print(
        f"load: torch {loaded - start:.1f} s, onnx-int8 {time.perf_counter() - loaded:.1f} s "
        f"(includes the one-time build if {backends['onnx-int8'].path} was absent)"
    )
    for embedder in backends.values():
        embedder.encode(texts[: args.batch_size])  # warm-up

    best: dict[tuple[str, bool], tuple[float, float]] = {}
    vectors: dict[str, np.ndarray] = {}
    for _ in range(args.repeat):  # interleaved, so a burst of other work hits every setup alike
        for sort in (True, False):
            for name, embedder in backends.items():
                embedder.sort_by_length = sort
                out, wall, cpu = timed(embedder, texts)
                if sort:
                    vectors[name] = out
                old = best.get((name, sort), (0.0, 0.0))
                best[(name, sort)] = (max(old[0], len(texts) / wall), max(old[1], len(texts) / cpu))

    print()
    print(f"{'backend':<10} {'batches':<9} {'sentences/s':>12} {'per CPU-s':>10}")
    for (name, sort), (rate, per_cpu) in best.items():
        grouped = "one shape" if name == "torch" else "sorted"  # torch: batches of one token length, filled
        print(f"{name:<10} {grouped if sort else 'as given':<9} {rate:>12,.0f} {per_cpu:>10,.0f}")
    print()
    for label, index in [("sentences/s", 0), ("per CPU-s", 1)]:
        speed = best[("onnx-int8", True)][index] / best[("torch", True)][index]
        gains = {name: best[(name, True)][index] / best[(name, False)][index] for name in backends}
        print(
            f"{label:<12} onnx-int8 / torch = {speed:.2f}; sorted / as given: "
            + ", ".join(f"{name} {gain:.2f}" for name, gain in gains.items())
        )
    cosine = (vectors["onnx-int8"] * vectors["torch"]).sum(axis=1)
    print(
        f"cosine onnx-int8 to torch: mean {cosine.mean():.4f}, min {cosine.min():.4f}, "
        f"1st percentile {np.percentile(cosine, 1):.4f}, below 0.97: {(cosine < 0.97).sum()} of {len(texts)}"
    )
    worst = np.argsort(cosine)[:3]
    print("lowest: " + "; ".join(f"{cosine[i]:.3f} {texts[i][:60]!r}" for i in worst))


if __name__ == "__main__":
    main()
