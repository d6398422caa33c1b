"""`dvc repro` runs the same stages as `stancemap run`, and a second repro has nothing to do."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stancemap.stages import RUN_STAGES, Layout
from tests.conftest import REPO, RUN_DATE

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


def _recorded(lock: Path) -> dict:
    """What dvc.lock records (deps, outs, params) for each stage that `dvc repro` runs."""
    import yaml

    stages = yaml.safe_load(lock.read_text(encoding="utf-8"))["stages"]
    return {s.name: stages.get(s.name) for s in RUN_STAGES}


def test_make_report_uses_the_tests_run_date():
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert f"export SOURCE_DATE_EPOCH ?= {RUN_DATE}\n" in makefile


@pytest.mark.slow
def test_second_repro_reruns_nothing_and_matches_stancemap_run(tmp_path, demo_run):
    for name in ["dvc.yaml", "params.yaml", ".dvcignore"]:
        shutil.copy(REPO / name, tmp_path / name)
    shutil.copytree(REPO / "data" / "raw", tmp_path / "data" / "raw")
    shutil.copytree(REPO / "data" / "train", tmp_path / "data" / "train")  # train_stance's pairs (a frozen dep)
    shutil.copytree(REPO / "pipeline", tmp_path / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    assert dvc("init", "--no-scm", "-q", cwd=tmp_path).returncode == 0
    first = dvc("repro", cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    for stage in ["ingest", "segment", "embed", "stance", "cluster", "label", "report"]:
        assert f"Running stage '{stage}'" in first.stdout
    assert "Running stage 'train_stance'" not in first.stdout  # frozen: the adapter is committed
    # a first repro from nothing (no caches, no cluster state) is what a fresh clone's `make report`
    # does: it must write what the committed dvc.lock records, so the clone's `git status` stays clean
    # (train_stance is frozen: a repro never runs it, and a lock made from nothing records its code
    # as it is now, not as it was when the committed model was trained)
    assert _recorded(tmp_path / "dvc.lock") == _recorded(REPO / "dvc.lock")
    second = dvc("repro", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "Running stage" not in second.stdout
    assert "Data and pipelines are up to date." in second.stdout
    # separate processes under DVC give the very bytes of the in-process run
    at, ref = Layout(tmp_path), Layout(demo_run)
    for name in ["comments", "claims", "embeddings", "stances", "replies", "clusters", "labels", "report"]:
        assert getattr(at, name).read_bytes() == getattr(ref, name).read_bytes(), name
    # a param change reruns only the stages that read it
    params = (tmp_path / "params.yaml").read_text(encoding="utf-8")
    (tmp_path / "params.yaml").write_text(params.replace("n_keywords: 6", "n_keywords: 5"), encoding="utf-8")
    third = dvc("repro", cwd=tmp_path)
    assert third.returncode == 0, third.stderr
    ran = {line.split("'")[1] for line in third.stdout.splitlines() if line.startswith("Running stage")}
    assert ran == {"label", "report"}

    # a new thread: its comments are segmented and embedded (the caches grow by them alone), its
    # claims join the existing clusters, the old claims keep their ids, and the report marks the new
    import json

    import polars as pl

    before = {name: pl.read_parquet(getattr(at, name)) for name in ["clusters", "segment_cache", "embed_cache"]}
    records = [
        {"id": f"n{i}", "parent": f"n{i - 1}" if i else None, "author": f"reader{i % 3}", "thread": "late-thread",
         "text": text}
        for i, text in enumerate(NEW_THREAD)
    ]
    with (tmp_path / "data" / "raw" / "late-thread.jsonl").open("w", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)
    fourth = dvc("repro", cwd=tmp_path)
    assert fourth.returncode == 0, fourth.stderr
    after = {name: pl.read_parquet(getattr(at, name)) for name in ["clusters", "segment_cache", "embed_cache"]}
    claims = pl.read_parquet(at.claims)
    new_claims = claims.filter(pl.col("comment_id").str.contains("late-thread"))["claim_id"].to_list()
    assert new_claims
    assert after["segment_cache"].height == before["segment_cache"].height + len(NEW_THREAD)
    assert after["embed_cache"].height == before["embed_cache"].height + len(set(
        claims.filter(pl.col("claim_id").is_in(new_claims))["text"].to_list()))
    clusters = after["clusters"]
    assert sorted(clusters.filter(pl.col("new"))["claim_id"].to_list()) == sorted(new_claims)
    kept = clusters.filter(~pl.col("new")).select("claim_id", "cluster", "x", "y")
    assert kept.equals(before["clusters"].select("claim_id", "cluster", "x", "y"))
    assert "new since the last run" in at.report.read_text(encoding="utf-8")


NEW_THREAD = [
    "A late thread on distillation: the labs say copying outputs is theft, the copiers say it is learning.",
    "Calling it theft stretches the word. Nobody lost the model, and every answer was paid for.",
    "It is theft of the effort, not of the weights. The terms of service were clear about training.",
    "Terms of service are a contract question, and a contract breach is not a crime in most places.",
    "The national security angle matters more than the contract, because the copies ship abroad.",
    "Everyone trained on scraped web text, so the big labs complaining now sounds hypocritical to me.",
]
