"""`dvc repro` runs the same stages as `stancemap run`, and a second repro has nothing to do."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.config import Layout
from tests.conftest import REPO

pytestmark = pytest.mark.slow
DVC = str(Path(sys.executable).parent / "dvc")


def dvc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env_path = f"{Path(sys.executable).parent}:{__import__('os').environ.get('PATH', '')}"
    return subprocess.run(
        [DVC, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**__import__("os").environ, "PATH": env_path},
    )


def test_second_repro_reruns_nothing_and_matches_stancemap_run(tmp_path, demo_run):
    for name in ["dvc.yaml", "params.yaml", ".dvcignore"]:
        shutil.copy(REPO / name, tmp_path / name)
    shutil.copytree(REPO / "data" / "raw", tmp_path / "data" / "raw")
    shutil.copytree(REPO / "pipeline", tmp_path / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "models", tmp_path / "models")  # the committed stance adapter
    assert dvc("init", "--no-scm", "-q", cwd=tmp_path).returncode == 0
    first = dvc("repro", cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    for stage in ["ingest", "segment", "embed", "stance", "cluster", "label", "report"]:
        assert f"Running stage '{stage}'" in first.stdout
    assert "Running stage 'train_stance'" not in first.stdout  # frozen: the adapter is committed
    second = dvc("repro", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "Running stage" not in second.stdout
    assert "Data and pipelines are up to date." in second.stdout
    # separate processes under DVC give the very bytes of the in-process run
    at, ref = Layout(tmp_path), Layout(demo_run)
    for name in ["comments", "claims", "embeddings", "stances", "clusters", "labels", "report"]:
        assert getattr(at, name).read_bytes() == getattr(ref, name).read_bytes(), name
    # a param change reruns only the stages that read it
    params = (tmp_path / "params.yaml").read_text(encoding="utf-8")
    (tmp_path / "params.yaml").write_text(params.replace("n_keywords: 6", "n_keywords: 5"), encoding="utf-8")
    third = dvc("repro", cwd=tmp_path)
    assert third.returncode == 0, third.stderr
    ran = {line.split("'")[1] for line in third.stdout.splitlines() if line.startswith("Running stage")}
    assert ran == {"label", "report"}
