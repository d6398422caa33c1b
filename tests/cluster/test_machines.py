"""The same clusters and map on every x86-64 machine: a fit in a fresh process, once as this CPU
runs it and once with the kernels another CPU would pick (OpenBLAS's Sandy Bridge and Haswell
kernels, numpy without its AVX-512 loops, torch's AVX2 kernels, numba compiled for Haswell). A
float32 matrix product sums in the order its kernel chooses, and the map's UMAP amplifies a last
bit into another map, so every step must give the same bits whatever the kernel
(docs/cluster.md, "On every machine")."""

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# a fit with a sample and placed rows, as the cluster stage runs it; prints a hash of every output
SCRIPT = """
import hashlib, json
import numpy as np
from stancemap.cluster.model import fit
from stancemap.config import ClusterParams
rng = np.random.default_rng(7)
centres = rng.normal(size=(8, 384))
vectors = np.concatenate([c + 0.9 * rng.normal(size=(75, 384)) for c in centres]).astype(np.float32)
vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
fitted, probabilities, coords = fit(vectors, ClusterParams(fit_sample=400), 42, parallel_from=10**9)
parts = [coords, probabilities, fitted.spectral.positions, fitted.raw, fitted.layout.positions]
print(json.dumps({"hash": hashlib.sha256(b"".join(np.ascontiguousarray(p).tobytes() for p in parts)).hexdigest(),
                  "topics": int(fitted.raw.max()) + 1}))
"""

OTHER_CPU = {
    "OPENBLAS_CORETYPE": "SandyBridge",
    "NPY_DISABLE_CPU_FEATURES": "AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL AVX512_SPR",
    "ATEN_CPU_CAPABILITY": "avx2",
    "NUMBA_CPU_NAME": "haswell",
}


def fit_in_process(tmp_path: Path, **env) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / env.get("NUMBA_CPU_NAME", "host")), **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
        cwd=REPO,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _has_avx2() -> bool:
    try:
        return " avx2 " in f" {Path('/proc/cpuinfo').read_text()} ".replace("\n", " ")
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(
    platform.machine() not in ("x86_64", "AMD64") or not _has_avx2(), reason="needs an x86-64 CPU with AVX2"
)
@pytest.mark.parametrize("kernels", ["blas", "all"])
def test_a_fit_gives_the_same_bytes_with_another_cpus_kernels(tmp_path, kernels):
    here = fit_in_process(tmp_path)
    other = {"OPENBLAS_CORETYPE": "Haswell"} if kernels == "blas" else OTHER_CPU
    there = fit_in_process(tmp_path, **other)
    assert here["topics"] >= 4  # a real clustering, not everything in one
    assert here["hash"] == there["hash"]
