"""The stage table: every stage's `run`, the artifacts it reads and writes, and the params it reads.

`stancemap run` walks it in order, `Layout` puts every artifact under a working folder from it, and
tests/test_stages.py checks that dvc.yaml says the same thing (deps, outs, params, each stage's code).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stancemap.config import Params

# every artifact's path under a working folder; dvc.yaml names the same paths
ARTIFACTS = {
    "raw": "data/raw",
    "comments": "data/interim/comments.parquet",
    "threads": "data/interim/threads.parquet",
    "sources": "data/interim/sources.parquet",
    "claims": "data/interim/claims.parquet",
    "segment_cache": "data/interim/segment_cache.parquet",
    "embeddings": "data/interim/embeddings.parquet",
    "embed_cache": "data/interim/embed_cache.parquet",
    "stances": "data/processed/stances.parquet",
    "replies": "data/processed/replies.parquet",
    "clusters": "data/processed/clusters.parquet",
    "cluster_state": "data/processed/cluster_state.pickle",
    "positions": "data/processed/positions.parquet",
    "sides": "data/processed/sides.parquet",
    "labels": "data/processed/labels.parquet",
    "report": "reports/stance_map.html",
    "metrics": "reports/metrics.json",
    "summary": "reports/summary.md",
    # in the repository, not a working folder: written only by train_stance, which `stancemap run` skips
    "stance_model": "pipeline/models/stance-minilm",
    # in the repository too: the forum-style pairs written for the project, read only by train_stance
    "forum_pairs": "data/train/forum_style",
}


@dataclass(frozen=True)
class Layout:
    """Where each artifact goes under a working folder: `Layout(root).claims` and so on."""

    root: Path

    def __getattr__(self, name: str) -> Path:
        if name not in ARTIFACTS:
            raise AttributeError(name)
        return Path(self.root) / ARTIFACTS[name]


@dataclass(frozen=True)
class Stage:
    """One stage: `run(params, **paths)` of `module`, the artifacts it reads and writes (keyed by
    run()'s keyword), and everything dvc.yaml says about it."""

    name: str
    module: str  # the module whose run() the stage calls
    code: tuple[str, ...]  # the stage's own source and model files (its code deps in dvc.yaml)
    reads: dict[str, str]  # run() keyword -> artifact
    writes: dict[str, str]  # run() keyword -> artifact
    params: tuple[str, ...] = ()  # the keys or whole sections it reads, as dvc.yaml lists them
    section: str | None = None  # the params section run() gets; ALL for the whole of params; None: none
    persist: tuple[str, ...] = ()  # artifacts that outlive reruns (caches, the cluster state)
    extra: Callable[[Params], dict] | None = None  # run()'s other keywords, from params
    in_run: bool = True  # False: only dvc.yaml runs it (the stance model's training)
    metrics: tuple[str, ...] = ()  # written artifacts dvc.yaml lists as metrics

    def function(self) -> Callable:
        return importlib.import_module(self.module).run

    def section_of(self, params: Params):
        if self.section is None:
            return None
        return params if self.section == ALL else getattr(params, self.section)

    def paths(self, at: Layout) -> dict[str, Path]:
        return {key: getattr(at, artifact) for key, artifact in {**self.reads, **self.writes}.items()}

    def run(self, params: Params, at: Layout, **options):
        """Run the stage on the artifacts under `at`; `options` are run()'s own keywords (ingest's
        inputs and format)."""
        keywords = {**self.paths(at), **(self.extra(params) if self.extra else {}), **options}
        return self.function()(self.section_of(params), **keywords)


ALL = "*"
SECTIONS = ("seed", "ingest", "segment", "embed", "stance", "cluster", "label", "report")
STANCE_CODE = (
    "pipeline/stance/stage.py",
    "pipeline/stance/model.py",
    "pipeline/stance/backends.py",
    "pipeline/stance/onnx.py",
    "pipeline/stance/ray.py",
)

STAGES: tuple[Stage, ...] = (
    Stage(
        "ingest",
        "stancemap.ingest",
        code=("pipeline/ingest",),
        reads={"inputs": "raw"},
        writes={"out": "comments", "threads": "threads", "sources": "sources"},
        params=("ingest",),
        section="ingest",
    ),
    Stage(
        "segment",
        "stancemap.segment",
        code=("pipeline/segment.py",),
        reads={"comments": "comments"},
        writes={"out": "claims", "cache": "segment_cache"},
        params=("segment",),
        section="segment",
        persist=("segment_cache",),
    ),
    Stage(
        "embed",
        "stancemap.embed",
        code=("pipeline/embed.py", "pipeline/embed_onnx.py"),
        reads={"claims": "claims"},
        writes={"out": "embeddings", "cache": "embed_cache"},
        params=("embed",),
        section="embed",
        persist=("embed_cache",),
    ),
    Stage(
        "train_stance",
        "stancemap.stance.train",
        code=tuple(f"pipeline/stance/{m}.py" for m in ("train", "data", "model", "card")),
        reads={"extra": "forum_pairs"},
        writes={"out": "stance_model"},
        params=("seed",),
        in_run=False,
    ),
    Stage(
        "stance",
        "stancemap.stance.stage",
        code=(*STANCE_CODE, "pipeline/stance/replies.py", "pipeline/models/stance-minilm"),
        reads={"claims": "claims", "comments": "comments"},
        writes={"out": "stances", "replies": "replies"},
        params=("stance",),
        section="stance",
    ),
    Stage(
        "cluster",
        "stancemap.cluster",
        code=("pipeline/cluster",),
        reads={"embeddings": "embeddings", "stances": "stances"},
        writes={"out": "clusters", "state": "cluster_state"},
        params=("seed", "cluster", "stance.propositions"),  # clusters are split by side only toward propositions
        section="cluster",
        persist=("cluster_state",),
        extra=lambda p: {"seed": p.seed, "split_sides": bool(p.stance.propositions)},
    ),
    Stage(
        "positions",
        "stancemap.stance.positions",
        code=("pipeline/stance/positions.py", *STANCE_CODE, "pipeline/models/stance-minilm"),
        reads={"claims": "claims", "embeddings": "embeddings", "clusters": "clusters", "replies": "replies"},
        writes={"out": "positions", "sides": "sides"},
        params=("stance",),
        section="stance",
    ),
    Stage(
        "label",
        "stancemap.label",
        code=("pipeline/label.py", "pipeline/themes.py", "pipeline/cluster/topics.py"),
        reads={"claims": "claims", "comments": "comments", "embeddings": "embeddings", "clusters": "clusters"},
        writes={"out": "labels"},
        params=("label",),
        section="label",
    ),
    Stage(
        "report",
        "stancemap.report",
        code=("pipeline/report",),
        reads={
            "claims": "claims",
            "comments": "comments",
            "threads": "threads",
            "sources": "sources",
            "clusters": "clusters",
            "labels": "labels",
            "replies": "replies",
            "positions": "positions",
            "sides": "sides",
        },
        writes={"out": "report", "metrics": "metrics", "summary": "summary"},
        params=SECTIONS,  # the page shows every param of the run (its provenance panel)
        section=ALL,
        metrics=("metrics",),
    ),
)
RUN_STAGES = tuple(s for s in STAGES if s.in_run)


def stage(name: str) -> Stage:
    """The stage called `name`."""
    return next(s for s in STAGES if s.name == name)
