"""Atomic writes and schema-checked reads for every artifact.

A stage writes to a temporary file beside the target and renames it into place, so a crash
or a bad input leaves the previous output untouched and never a half-written file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from stancemap.errors import StancemapError
from stancemap.schemas import conform


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it onto `target` only on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_table(df: pl.DataFrame, path: str | Path, name: str) -> None:
    """Write artifact `name` (a schema in stancemap.schemas) to `path`, atomically."""
    df = conform(df, name, f"writing {path}")
    with atomic_path(path) as tmp:
        # no statistics: the file depends only on the data, so reruns are byte-identical
        df.write_parquet(tmp, compression="zstd", statistics=False)


def read_table(path: str | Path, name: str) -> pl.DataFrame:
    path = Path(path)
    if not path.exists():
        raise StancemapError(f"{path}: not found (run the stage that writes the {name} table first)")
    try:
        df = pl.read_parquet(path)
    except Exception as exc:  # polars raises several types for a corrupt file
        raise StancemapError(f"{path}: cannot read it as Parquet: {exc}") from None
    return conform(df, name, f"reading {path}")


def write_text(text: str, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(data: object, path: str | Path) -> None:
    write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", path)
