"""Cluster stage speed at scale: a full fit of N claims and a rerun's placement of 5 % more, for this checkout
beside another one (`--peer FOLDER`, a checkout whose `pipeline/` is imported as stancemap), in alternating fresh
processes on the same vectors.

    python bench/cluster_speed.py --peer /tmp/stancemap-old [--claims 100000] [--repeat 2] [--out results.json]

The vectors: ArgQ-30k arguments embedded by the bundled model (the first --real of them, cached in --cache), each
repeated with per-dimension noise of 0.02 and normalised until there are N, plus 5 % more made the same way for the
rerun. Times are wall seconds inside the process (the import of stancemap and its libraries not included), and
the first call of each process fills numba's disk cache beforehand on 500 vectors, as any second run finds it.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "eval" / "argq30k" / "arg_quality_rank_30k.csv"

WORKER = """
import json, sys, time
import numpy as np
import stancemap
from stancemap.cluster.model import fit, predict
from stancemap.config import ClusterParams
vectors = np.load(sys.argv[1], mmap_mode="r")
n = int(sys.argv[2])
fit(np.ascontiguousarray(vectors[:500]), ClusterParams(), 42)  # numba's disk cache, as a second run finds it
start = time.perf_counter()
fitted, _, _ = fit(np.ascontiguousarray(vectors[:n]), ClusterParams(), 42)
full = time.perf_counter() - start
start = time.perf_counter()
predict(fitted, np.ascontiguousarray(vectors[n:]))
print(json.dumps({"fit_s": full, "place_s": time.perf_counter() - start, "topics": int(fitted.raw.max()) + 1,
                  "code": stancemap.__file__}))
"""


def vectors(args) -> Path:
    path = args.cache / f"cluster-speed-{args.claims}.npy"
    if path.exists():
        return path
    real_path = args.cache / f"argq-{args.real}.npy"
    if real_path.exists():
        real = np.load(real_path)
    else:
        from stancemap.config import EmbedParams
        from stancemap.embed import make_embedder

        with DATA.open(encoding="utf-8", newline="") as handle:
            texts = sorted({" ".join(row["argument"].split()) for row in csv.DictReader(handle)})
        order = np.random.default_rng(0).permutation(len(texts))[: args.real]
        real = make_embedder(EmbedParams()).encode([texts[i] for i in order])
        np.save(real_path, real)
    total = int(args.claims * 1.05)
    rng = np.random.default_rng(1)
    out = np.empty((total, real.shape[1]), np.float32)
    for start in range(0, total, 50_000):
        rows = np.arange(start, min(total, start + 50_000))
        noisy = real[rows % len(real)] + rng.normal(0, 0.02, (len(rows), real.shape[1])).astype(np.float32)
        noisy[rows < len(real)] = real[rows[rows < len(real)]]
        out[rows] = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
    out = out[np.random.default_rng(2).permutation(total)]
    np.save(path, out)
    return path


def run(folder: Path, path: Path, claims: int) -> dict:
    link = Path(os.environ.get("TMPDIR", "/tmp")) / f"stancemap-bench-{os.getpid()}-{abs(hash(str(folder)))}"
    link.mkdir(exist_ok=True)
    if not (link / "stancemap").exists():
        (link / "stancemap").symlink_to(folder / "pipeline")
    env = {**os.environ, "PYTHONPATH": str(link)}
    done = subprocess.run(
        [sys.executable, "-c", WORKER, str(path), str(claims)], env=env, capture_output=True, text=True, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if not result["code"].startswith(str(link)):
        raise SystemExit(f"the worker imported {result['code']}, not {folder}/pipeline")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", type=Path, required=True, help="another checkout, run side by side")
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--real", type=int, default=8_000, help="real ArgQ arguments embedded")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if not DATA.exists():
        sys.exit(f"{DATA} is missing: the benchmark reads ArgQ-30k from ../shared beside the repository")
    path = vectors(args)
    rows = []
    for attempt in range(args.repeat):
        for name, folder in (("this", REPO), ("peer", args.peer.resolve())):
            result = {"run": name, "attempt": attempt, "load": os.getloadavg()[0], **run(folder, path, args.claims)}
            rows.append(result)
            print(
                f"{name:<5} fit {result['fit_s']:6.1f} s  place 5 % {result['place_s']:5.2f} s  "
                f"topics {result['topics']}  load {result['load']:.1f}",
                flush=True,
            )
    for key in ("fit_s", "place_s"):
        best = {n: min(r[key] for r in rows if r["run"] == n) for n in ("this", "peer")}
        print(f"best {key}: this {best['this']:.2f}, peer {best['peer']:.2f}, ratio {best['peer'] / best['this']:.2f}×")
    if args.out:
        args.out.write_text(json.dumps({"claims": args.claims, "peer": str(args.peer), "runs": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
