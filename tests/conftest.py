"""Shared fixtures: paths to ../shared, a deterministic fake embedder, small corpora, and one
session-scoped real model so the slow tests load it once."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
# the report shows its run date; a fixed one (the reproducible-builds convention) lets tests compare
# whole reports byte for byte, in process and in the DVC subprocesses, which inherit the environment
# (the Makefile's `make report` uses the same date, so the demo's dvc.lock is the same on every clone)
RUN_DATE = "1771941791"
os.environ["SOURCE_DATE_EPOCH"] = RUN_DATE


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or a skip (a failure in CI) when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        reason = f"{path} is absent: ../shared (real corpora and fixtures) sits beside the repo in CI only"
        if os.environ.get("STANCEMAP_REQUIRE_SHARED"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture
def seeds_dir() -> Path:
    return shared_path("corpora", "seeds")


class FakeEmbedder:
    """Bag of hashed words -> unit vector: texts sharing words land close together."""

    model_id = "fake-bow-64"

    def __init__(self, dim: int = 64):
        self.dim = dim
        self.calls: list[list[str]] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), self.dim), np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else out[row]
        return out


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


TOPICS = {
    "theft": [
        "Distillation is theft of the lab's work, plain and simple.",
        "Copying the outputs at scale is stealing the product they built.",
        "Calling it anything but theft ignores who paid for the training.",
        "They stole years of research by scraping the chat answers.",
        "It is theft when you clone a competitor by harvesting its outputs.",
        "Stealing model outputs to train a rival is still stealing.",
    ],
    "security": [
        "Export controls exist because frontier models matter for national security.",
        "A foreign military could use the distilled model against us.",
        "National security agencies should treat model distillation as a threat.",
        "Export rules on chips mean nothing if the model can be copied by API.",
        "The security risk is an adversary getting frontier capability cheaply.",
        "Military use of distilled models is the real national security worry.",
    ],
    "hypocrisy": [
        "The labs scraped the whole web without permission, so their complaint is hypocrisy.",
        "Authors never agreed to the crawl that trained these models.",
        "It is rich to complain about copying after scraping every book and blog.",
        "Hypocrisy: they took everyone's writing without asking and now cry foul.",
        "Nobody asked the artists before the crawlers scraped their work.",
        "They built the model on scraped data and call others thieves, pure hypocrisy.",
    ],
}


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    """A three-topic JSONL thread with replies and a quote, plus a plain-text dump."""
    records, n = [], 0
    for topic, texts in TOPICS.items():
        root = None
        for i, text in enumerate(texts):
            n += 1
            records.append(
                {
                    "id": f"{topic}{i}",
                    "parent": root,
                    "author": f"user{n % 7}",
                    "time": 1771941791 + 60 * n,
                    "text": text,
                    "thread": "demo",
                }
            )
            root = root or f"{topic}{i}"
    records.append(
        {
            "id": "q1",
            "parent": "theft0",
            "author": "quoter",
            "time": "2026-02-24T15:00:00Z",
            "text": (
                "> Distillation is theft of the lab's work, plain and simple.\nNo, they paid for every token they used."
            ),
            "thread": "demo",
        }
    )
    folder = tmp_path / "raw"
    folder.mkdir()
    write_jsonl(folder / "demo.jsonl", records)
    (folder / "dump.txt").write_text(
        "> If scraping is legal, distillation should be legal too.\n"
        "No, legality is not decided by what suits the big labs.\n"
        "1 reply →\n"
        "Distillation through the API breaks the terms of service, which is a contract matter.\n",
        encoding="utf-8",
    )
    return folder


@pytest.fixture(scope="session")
def real_embedder():
    from stancemap.embed import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder("all-MiniLM-L6-v2")


def run_pipeline(workdir: Path, *extra: str) -> str:
    """`stancemap --quiet run` in-process with `workdir` as the current folder (so the
    artifacts hold the same relative paths DVC would write); returns what it printed."""
    from typer.testing import CliRunner

    from stancemap.cli import app

    before = os.getcwd()
    os.chdir(workdir)
    try:
        result = CliRunner().invoke(app, ["--quiet", "run", *extra], catch_exceptions=False)
    finally:
        os.chdir(before)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> Path:
    """The real pipeline (spaCy, MiniLM, UMAP, HDBSCAN) on the demo corpus, run once per session."""
    import shutil

    workdir = tmp_path_factory.mktemp("demo")
    shutil.copytree(REPO / "data" / "raw", workdir / "data" / "raw")
    shutil.copy(REPO / "params.yaml", workdir / "params.yaml")
    run_pipeline(workdir)
    return workdir


def chromium_path() -> str:
    """Debian's Chromium for the browser tests, or a skip (a failure in CI) when it is absent."""
    import shutil

    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        reason = "Chromium is not installed (make test installs Debian's chromium package)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def claims_frame(*texts: str, end: int | None = None):
    """A claims table (schema CLAIMS) of one comment "c" holding `texts`."""
    import polars as pl

    from stancemap.schemas import CLAIMS

    n = len(texts)
    return pl.DataFrame(
        {
            "claim_id": [f"c#{i}" for i in range(n)],
            "comment_id": ["c"] * n,
            "position": list(range(n)),
            "start": [0] * n,
            "end": [end if end is not None else len(t) for t in texts],
            "text": list(texts),
            "kind": ["claim"] * n,
        },
        schema=CLAIMS,
    )


def stancemap(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: int = 120
) -> subprocess.CompletedProcess:
    """`stancemap ARGS...` in a fresh interpreter (exit code, stdout and stderr as a user sees them);
    `env` is added to this process's environment."""
    return subprocess.run(
        [sys.executable, "-c", "from stancemap.cli import main; main()", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
