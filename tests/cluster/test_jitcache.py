"""numba's disk cache for UMAP (cluster/jitcache.py): written on the first process, read by the next,
and the same bytes with it, from it, and without it."""

import json
import os
import subprocess
import sys

import pytest

# a fit on a sample with the other rows placed, in a fresh process, as the cluster stage runs it;
# prints what enable() turned on and a hash of every output
SCRIPT = """
import hashlib, json, sys
import numpy as np
from stancemap.cluster import jitcache
from stancemap.cluster.model import fit
from stancemap.config import ClusterParams
from tests.cluster.test_model import blobs
vectors, _ = blobs()
fitted, probabilities, coords = fit(vectors, ClusterParams(fit_sample=60), 42, parallel_from=10**9)
outputs = coords.tobytes() + probabilities.tobytes() + fitted.spectral.positions.tobytes() + fitted.raw.tobytes()
print(json.dumps({"enabled": jitcache._enabled, "again": jitcache.enable(),
                  "hash": hashlib.sha256(outputs).hexdigest()}))
"""


def run(cache_dir, **env):
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env={**os.environ, "NUMBA_CACHE_DIR": str(cache_dir), **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_umaps_compiled_code_is_cached_and_changes_nothing(tmp_path):
    first = run(tmp_path)
    assert first["enabled"][0] > 50 and first["again"] == 0  # once a process
    written = {p.name.split(".")[0] for p in tmp_path.rglob("*.nbi")}
    assert any(name.startswith("layouts") for name in written)  # UMAP's optimiser, which has no cache of its own
    files = sorted(p.name for p in tmp_path.rglob("*.nbc"))
    second = run(tmp_path)
    assert sorted(p.name for p in tmp_path.rglob("*.nbc")) == files  # read, not compiled again
    off = run(tmp_path / "off", STANCEMAP_NUMBA_CACHE="0")
    assert off["enabled"] == []
    assert first["hash"] == second["hash"] == off["hash"]
