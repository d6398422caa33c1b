"""Atomic writes and schema-checked reads for every artifact.

A stage writes to a temporary file beside the target and renames it into place, so a crash
or a bad input leaves the previous output untouched and never a half-written file. The temporary
name carries the writer's pid, so a later write of the same target removes what a killed writer
left; the file gets the mode the umask gives (0644 under 022), not the temporary file's 0600.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from stancemap.errors import StancemapError
from stancemap.schemas import conform

KILL_AT = "STANCEMAP_TEST_KILL_AT"  # tests: "rename:N" SIGKILLs this process just before its N-th rename
_renames = 0


def replace(source: Path, target: Path) -> None:
    """`os.replace`, counted for the kill tests (`STANCEMAP_TEST_KILL_AT=rename:N`)."""
    global _renames
    _renames += 1
    if os.environ.get(KILL_AT) == f"rename:{_renames}":
        os.kill(os.getpid(), signal.SIGKILL)
    os.replace(source, target)


def file_mode(directory: bool = False) -> int:
    """The mode a new file (or folder) gets under the current umask: 0644 (0755) under 022."""
    mask = os.umask(0)
    os.umask(mask)
    return (0o777 if directory else 0o666) & ~mask


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def sweep_leftovers(target: Path) -> None:
    """Remove the temporary files of `target` (`atomic_path`'s) whose writer is no longer running."""
    for leftover in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        pid = leftover.name[len(target.name) + 2 :].split(".", 1)[0]
        # no pid in the name: written by a version before pids were (so long gone)
        if not pid.isdigit() or (int(pid) != os.getpid() and not alive(int(pid))):
            leftover.unlink(missing_ok=True)


def temp_prefix(target: Path) -> str:
    return f".{target.name}.{os.getpid()}."


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it onto `target` only on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep_leftovers(target)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(target), suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, file_mode())
        replace(tmp_path, target)
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
