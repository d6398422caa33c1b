"""Stance scoring: (proposition, claim) pairs per second, torch against int8 ONNX, and how often they agree.

    python bench/stance.py [--model pipeline/models/stance-minilm | --untrained] [--source demo|argkp]
                           [--n 2000] [--batch-sizes 16,32,64] [--repeat 2] [--threads N] [--compare FOLDER]

Scores every one of `--n` claims (the demo corpus's claims from data/interim after `make report`, or
`--claims` another claims table; or the ArgKP dev arguments from ../shared/eval/argkp) against two
propositions, with each backend in one process, at each batch size: best of `--repeat` interleaved
runs after a warm-up, as pairs/s and per CPU-second (which other work on the machine disturbs less).
Then the sides the stage would give (`stance.stage.sides`, at 0.6 and at stance.min_confidence, or
at `--min-confidence`) are compared with torch's. `--bf16` adds torch under bfloat16 autocast, for
comparison (not a stance.backend). `--compare FOLDER` times another saved model beside it on torch
(a joint-attention model beside a split one). A split-attention model has no ONNX copy, so none is timed.
Writes bench/results/stance.json, with the load average (/proc/loadavg) before and after: numbers
from a busy machine are lower bounds. `--untrained` saves an untrained model to a temporary folder
(also done when --model has none): right for speed, meaningless for agreement (its probabilities
all sit near 1/3).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from stancemap.config import StanceParams
from stancemap.embed import normalise_text
from stancemap.embed_onnx import cores
from stancemap.stance.stage import sides

REPO = Path(__file__).resolve().parents[1]
ARGKP = REPO.parent / "shared" / "eval" / "argkp" / "arguments_dev.csv"
DEMO = REPO / "data" / "interim" / "claims.parquet"
MODEL = REPO / "pipeline" / "models" / "stance-minilm"
RESULTS = REPO / "bench" / "results" / "stance.json"
# motions of the demo's two policy threads (the working group's motion, the security list's question)
DEMO_PROPOSITIONS = [
    "We should treat distilling a competitor's model through its API as a violation of the code of conduct",
    "We should treat the harvesting of model outputs by foreign labs as a national security issue",
]


def load_pairs(source: str, n: int, claims: Path) -> tuple[list[str], list[str], list[str]]:
    """(propositions, texts) of every claim against both propositions, and the propositions."""
    if source == "argkp":
        if not ARGKP.exists():
            sys.exit(f"{ARGKP} is missing: use --source demo, or put ../shared beside the repository")
        table = pl.read_csv(ARGKP)
        texts, topics = table["argument"].to_list(), sorted(set(table["topic"]))[:2]
    else:
        if not claims.exists():
            sys.exit(f"{claims} is missing: run `make report` (or `stancemap run`) first, or pass --claims")
        texts, topics = pl.read_parquet(claims)["text"].to_list(), DEMO_PROPOSITIONS
    unique = list(dict.fromkeys(normalise_text(t) for t in texts if t and t.strip()))[:n]
    return [p for p in topics for _ in unique], unique * len(topics), topics


def load_avg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def cpu_name() -> str:
    lines = Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []
    return next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), platform.machine())


def timed(model, propositions: list[str], texts: list[str], batch_size: int) -> tuple[np.ndarray, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    probs = model.predict(propositions, texts, batch_size)
    return probs, time.perf_counter() - wall, time.process_time() - cpu


def agreement(reference: np.ndarray, other: np.ndarray, min_confidence: float) -> dict:
    """How often `other` gives the side `reference` (torch) gives, and how far its probabilities are."""
    a, b = sides(reference, min_confidence), sides(other, min_confidence)
    same = np.array([x == y for x, y in zip(a, b, strict=True)])
    sided = np.array([x != "neither" or y != "neither" for x, y in zip(a, b, strict=True)])
    error = np.abs(reference - other)
    return {
        "sides_agree": round(float(same.mean()), 4),
        "sided_pairs": int(sided.sum()),  # pairs where either gives a side
        "sides_agree_where_sided": round(float(same[sided].mean()), 4) if sided.any() else None,
        "argmax_agree": round(float((reference.argmax(1) == other.argmax(1)).mean()), 4),
        "abs_diff_max": round(float(error.max()), 4),
        "abs_diff_mean": round(float(error.mean()), 5),
        "sides": {s: b.count(s) for s in ("pro", "con", "neither")},
    }


class TorchBf16:
    """StanceModel under torch's bfloat16 autocast (fast where the CPU has AMX or AVX512-BF16): not a
    stance.backend, measured for comparison only."""

    def __init__(self, model):
        import torch

        self.model, self.torch, logits = model, torch, model.logits
        model.logits = lambda propositions, texts: logits(propositions, texts).float()  # softmax -> numpy

    def predict(self, propositions: list[str], texts: list[str], batch_size: int) -> np.ndarray:
        with self.torch.autocast("cpu", dtype=self.torch.bfloat16):
            return self.model.predict(propositions, texts, batch_size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=MODEL, help="a saved stance model folder")
    parser.add_argument("--untrained", action="store_true", help="an untrained model instead (speed only)")
    parser.add_argument("--source", choices=["demo", "argkp"], default="demo" if DEMO.exists() else "argkp")
    parser.add_argument("--claims", type=Path, default=DEMO, help="claims table for --source demo")
    parser.add_argument("--n", type=int, default=2000, help="claims (each is scored against two propositions)")
    parser.add_argument("--batch-sizes", default="16,32,64")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--threads", type=int, default=cores(), help="for every backend (default: every core)")
    parser.add_argument("--bf16", action="store_true", help="also torch under bfloat16 autocast (comparison)")
    parser.add_argument("--compare", type=Path, default=None,
                        help="another saved model folder, timed side by side on torch (e.g. a joint-attention one)")
    default_confidence = ",".join(dict.fromkeys(str(c) for c in (0.6, StanceParams().min_confidence)))
    parser.add_argument("--min-confidence", default=default_confidence, help="thresholds for sides (comma list)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    import torch

    from stancemap.stance.model import StanceModel
    from stancemap.stance.onnx import OnnxStanceModel

    torch.set_num_threads(args.threads)
    load_before = load_avg()
    propositions, texts, topics = load_pairs(args.source, args.n, args.claims)
    sizes = [int(b) for b in args.batch_sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="stance-bench-") as tmp:
        folder = args.model
        if not args.untrained and not (folder / "stance.safetensors").exists():
            print(f"{folder}: no stance model; measuring speed with an untrained one (agreement says nothing)")
            args.untrained = True
        if args.untrained:
            folder = Path(tmp)
            StanceModel(None).save(folder, {"note": "untrained, for bench/stance.py"})
        start = time.perf_counter()
        models = {"torch": StanceModel(folder)}
        loaded = time.perf_counter()
        if models["torch"].attention == "joint":  # split attention has no ONNX export
            models["onnx"] = OnnxStanceModel(folder, threads=args.threads)
        else:
            print(f"{folder} uses split attention: no ONNX copy to time")
        load_s = {"torch": round(loaded - start, 2), "onnx": round(time.perf_counter() - loaded, 2)}
        if args.compare:
            models["compare"] = StanceModel(args.compare)
        if args.bf16:
            models["torch-bf16"] = TorchBf16(StanceModel(folder))
        print(f"{len(texts)} pairs: {len(texts) // len(topics)} {args.source} claims x {len(topics)} propositions")
        print(f"model {folder}{' (untrained)' if args.untrained else ''}; {args.threads} thread(s); load {load_before}")
        print(f"load: torch {load_s['torch']} s, onnx {load_s['onnx']} s (with the one-time build if it was absent)")
        for model in models.values():  # warm-up
            model.predict(propositions[: 2 * max(sizes)], texts[: 2 * max(sizes)], max(sizes))

        best: dict[tuple[str, int], list[float]] = {}
        probs: dict[tuple[str, int], np.ndarray] = {}
        for _ in range(args.repeat):  # interleaved, so a burst of other work hits every setup alike
            for size in sizes:
                for name, model in models.items():
                    out, wall, cpu = timed(model, propositions, texts, size)
                    probs[(name, size)] = out
                    old = best.get((name, size), [0.0, 0.0])
                    best[(name, size)] = [max(old[0], len(texts) / wall), max(old[1], len(texts) / cpu)]
        onnx_path = str(models["onnx"].path) if "onnx" in models else None
    load_after = load_avg()

    thresholds = [float(c) for c in args.min_confidence.split(",")]
    rows = []
    for size in sizes:
        for name in models:
            rate, per_cpu = best[(name, size)]
            row = {
                "backend": name,
                "batch_size": size,
                "pairs_per_s": round(rate, 1),
                "pairs_per_cpu_s": round(per_cpu, 1),
            }
            row["speed_vs_torch"] = round(rate / best[("torch", size)][0], 2)
            row["at_min_confidence"] = {
                str(t): agreement(probs[("torch", size)], probs[(name, size)], t) for t in thresholds
            }
            rows.append(row)
    print()
    header = ["backend", "batch", "pairs/s", "per CPU-s", "x torch"] + [f"sides@{t}" for t in thresholds]
    widths = [5, 8, 9, 7] + [11] * len(thresholds)
    print(f"{header[0]:<11} " + " ".join(f"{h:>{w}}" for h, w in zip(header[1:], widths, strict=True)) + " |dP| mean")
    for r in rows:
        at = list(r["at_min_confidence"].values())
        print(
            f"{r['backend']:<11} {r['batch_size']:>5} {r['pairs_per_s']:>8,.0f} {r['pairs_per_cpu_s']:>9,.0f} "
            f"{r['speed_vs_torch']:>7.2f} "
            + " ".join(f"{a['sides_agree']:>11.2%}" for a in at)
            + f" {at[0]['abs_diff_mean']:>9.4f}"
        )
    for r in rows:
        for t, a in r["at_min_confidence"].items():
            if r["backend"] != "torch":
                torch_sides = next(x for x in rows if x["backend"] == "torch" and x["batch_size"] == r["batch_size"])
                print(
                    f"{r['backend']} batch {r['batch_size']} at {t}: where either gives a side they agree on "
                    f"{a['sides_agree_where_sided']} of {a['sided_pairs']}; argmax {a['argmax_agree']:.2%}; "
                    f"|dP| max {a['abs_diff_max']}; sides {a['sides']} "
                    f"(torch {torch_sides['at_min_confidence'][t]['sides']})"
                )
    print(f"load average (/proc/loadavg): before {load_before}, after {load_after}")

    from importlib.metadata import version

    results = {
        "machine": {"cpus": os.cpu_count(), "cpu": cpu_name(), "python": platform.python_version()},
        "threads": args.threads,
        "load_avg_before": load_before,
        "load_avg_after": load_after,
        "model": "untrained" if args.untrained else str(folder),
        "onnx_file": onnx_path,
        "source": args.source,
        "propositions": topics,
        "pairs": len(texts),
        "min_confidence": thresholds,
        "repeat": args.repeat,
        "load_s": load_s,
        "versions": {p: version(p) for p in ("torch", "transformers", "onnxruntime")},
        "runs": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"results -> {args.out}")


if __name__ == "__main__":
    main()
