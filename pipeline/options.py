"""The command line's shared options, and params as the commands read them."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from stancemap.config import Params, load_params

ParamsOpt = Annotated[
    Path, typer.Option("--params", "-p", help="params.yaml to read (defaults apply when it is absent).")
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set", "-s", metavar="SECTION.KEY=VALUE", help="Override a param, e.g. cluster.min_cluster_size=20."
    ),
]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="File to write (atomically).")]


def read_params(path: Path, overrides: list[str] | None) -> Params:
    explicit = path != Path("params.yaml")
    return load_params(path if (explicit or path.exists()) else None, overrides or [])


FormatOpt = Annotated[
    str, typer.Option("--format", "-f", help="auto, or one of: hn, reddit, jsonl, csv, parquet, text.")
]
SkipBadOpt = Annotated[
    bool, typer.Option("--skip-bad", help="Skip bad records (logged to OUT.skipped.jsonl) instead of stopping.")
]
MapOpt = Annotated[
    str | None,
    typer.Option(
        "--map", metavar="FIELD=COLUMN,...", help="Column names for CSV/JSONL/Parquet, e.g. text=body,author=user."
    ),
]


class Engine(StrEnum):
    local = "local"
    ray = "ray"


EngineOpt = Annotated[
    Engine, typer.Option(help="Where the work runs: this process, or Ray workers (the optional ray extra).")
]
RayAddressOpt = Annotated[
    str | None,
    typer.Option(
        help="Ray cluster for --engine ray: auto, HOST:6379 or ray://HOST:10001 (default: RAY_ADDRESS, else a new "
        "local Ray). See docs/ray.md."
    ),
]
