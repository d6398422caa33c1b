"""The stage table: every stage's `run`, the artifacts it reads and writes, and the params it reads.

`stancemap run` walks it in order, `Layout` puts every artifact under a working folder from it, and
tests/test_stages.py checks that dvc.yaml says the same thing (deps, outs, params, each stage's code).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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
    "cluster_state": "data/processed/cluster_state.joblib",
    "positions": "data/processed/positions.parquet",
    "sides": "data/processed/sides.parquet",
    "labels": "data/processed/labels.parquet",
    "report": "reports/stance_map.html",
    "metrics": "reports/metrics.json",
}


@dataclass(frozen=True)
class Layout:
    """Where each artifact goes under a working folder: `Layout(root).claims` and so on."""

    root: Path

    def __getattr__(self, name: str) -> Path:
        if name not in ARTIFACTS:
            raise AttributeError(name)
        return Path(self.root) / ARTIFACTS[name]
