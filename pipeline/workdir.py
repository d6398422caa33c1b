"""A workdir that `stancemap run` owns: one writer at a time, and its artifacts replaced as one set.

- **Lock.** `W/.stancemap/lock` is held with `flock` for the whole run; the kernel lets go of it
  when the process ends, however it ends, so a killed run's lock is simply taken over. The file
  names the holder (pid, start time), for the message a second run prints.
- **Staging.** Every stage writes under `W/.stancemap/staging/`, which starts with hard links to
  the artifacts that outlive reruns (caches, the cluster state; every write replaces a file by a
  rename, so a link never sees a change). A failed or killed run leaves the workdir as it was,
  and the next run throws the staging folder away.
- **Commit.** When the last stage has succeeded, a journal listing every move is written
  atomically, then each staged file is renamed onto its place, then the journal goes. A run
  killed during the moves leaves the journal, and the next run finishes the moves before it does
  anything else: the set a reader sees once a run has started is always one run's whole output.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from stancemap.errors import StancemapError
from stancemap.io import KILL_AT, replace, sweep_leftovers, write_json
from stancemap.stages import ARTIFACTS, RUN_STAGES, Layout

META = ".stancemap"
STAGING = f"{META}/staging"
JOURNAL = f"{META}/commit.json"
LOCK = f"{META}/lock"

# what a run writes, relative to the workdir (ingest's --skip-bad log too); a file of these that
# the new set does not have is removed when it is committed, so no stale artifact survives
PERSISTED = tuple(name for s in RUN_STAGES for name in s.persist)
OWNED = tuple(
    sorted(
        {ARTIFACTS[name] for s in RUN_STAGES for name in s.writes.values()} | {ARTIFACTS["comments"] + ".skipped.jsonl"}
    )
)


def check_workdir(root: Path, inputs: list[Path]) -> None:
    """One clear line for a workdir that cannot be one, or inputs that hold its own artifacts."""
    if root.exists() and not root.is_dir():
        raise StancemapError(f"--workdir {root}: is a file, not a folder; give a folder (it is created if missing)")
    mine = [root.resolve() / ARTIFACTS[name] for name in ("comments", "clusters", "report")]
    folders = {path.parent for path in mine} | {(root / META).resolve()}
    for item in inputs:
        given = Path(item).resolve()
        for folder in folders:
            if folder == given or folder.is_relative_to(given) or given.is_relative_to(folder):
                raise StancemapError(
                    f"{item}: holds this workdir's own artifacts ({folder}); give the thread files or "
                    f"{root / ARTIFACTS['raw']} instead"
                )


@contextlib.contextmanager
def locked(root: Path, wait: bool = False, say=print) -> Iterator[None]:
    """Hold the workdir's lock; a second writer gets one line naming the holder, or waits."""
    import fcntl

    meta = root / META
    meta.mkdir(parents=True, exist_ok=True)
    fd = os.open(meta / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            if not wait:
                raise StancemapError(
                    f"{root}: another stancemap run is writing to this workdir ({holder}); wait for it, or pass --wait"
                ) from None
            say(f"run: waiting for the run writing to {root} ({holder})")
            fcntl.flock(fd, fcntl.LOCK_EX)
        left = _holder(fd, raw=True)
        if left:
            say(f"run: taking over the lock of a run that ended without releasing it ({_holder(fd)})")
        _write_holder(fd)
        yield
        os.ftruncate(fd, 0)  # an empty lock file: the last holder ended normally
    finally:
        os.close(fd)  # releases the flock


def _write_holder(fd: int) -> None:
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
    info = {"pid": os.getpid(), "host": socket.gethostname(), "started": started}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(info).encode(), 0)


def _holder(fd: int, raw: bool = False) -> str:
    text = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
    if raw:
        return text
    try:
        info = json.loads(text)
        return f"pid {info['pid']} on {info['host']}, started {info['started']}"
    except (ValueError, KeyError, TypeError):
        return "holder unknown"


def begin(root: Path) -> Layout:
    """Finish a commit a killed run left, clear leftovers, and return a fresh staging layout
    holding links to the persisted artifacts."""
    recover(root)
    for rel in OWNED:
        sweep_leftovers(root / rel)
    staging = root / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    current, staged = Layout(root), Layout(staging)
    for name in PERSISTED:
        source, target = getattr(current, name), getattr(staged, name)
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, target)
            except OSError:  # a filesystem without hard links
                shutil.copy2(source, target)
    return staged


@contextlib.contextmanager
def transaction(root: Path) -> Iterator[Layout]:
    """Stage a run: yield the staging layout; commit it when the block succeeds, throw it away
    (freeing its space) when the block raises."""
    staged = begin(root)
    try:
        yield staged
    except BaseException as exc:
        shutil.rmtree(root / STAGING, ignore_errors=True)
        if isinstance(exc, OSError) and not exc.filename:  # written through a file object: name the workdir
            exc.filename = str(root)
        raise
    checkpoint("commit")
    commit(root)


def commit(root: Path) -> None:
    """Move the staged set into the workdir: journal first, so a kill part-way is finished later."""
    staging = root / STAGING
    moves = sorted(str(p.relative_to(staging)) for p in staging.rglob("*") if p.is_file() and not p.is_symlink())
    removals = [rel for rel in OWNED if rel not in moves and (root / rel).exists()]
    write_json({"move": moves, "remove": removals}, root / JOURNAL)
    recover(root)


def recover(root: Path) -> bool:
    """Finish the moves of a commit whose run was killed; True when there was one."""
    journal = root / JOURNAL
    if not journal.exists():
        return False
    try:
        plan = json.loads(journal.read_text(encoding="utf-8"))
        moves, removals = list(plan["move"]), list(plan["remove"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StancemapError(f"{journal}: unreadable commit journal ({exc}); remove it and rerun") from None
    staging = root / STAGING
    for rel in moves:
        source = staging / rel
        if source.exists():  # moved already when absent
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            replace(source, root / rel)
    for rel in removals:
        (root / rel).unlink(missing_ok=True)
    journal.unlink()
    shutil.rmtree(staging, ignore_errors=True)
    return True


def describe_os_error(exc: OSError) -> str:
    """An OS error as one line: the path, what happened, and what to do."""
    path = exc.filename or "?"
    hints = {
        errno.EROFS: "the filesystem is read-only; choose a writable --workdir",
        errno.ENOSPC: "no space left on the device; free some space or choose another --workdir",
        errno.EDQUOT: "disk quota exceeded; free some space or choose another --workdir",
        errno.EACCES: "permission denied; check the folder's owner and mode, or choose another --workdir",
        errno.EPERM: "operation not permitted; check the folder's owner and mode",
        errno.ENOTDIR: "a part of this path is a file, not a folder",
        errno.EISDIR: "is a folder, where a file was expected",
        errno.ELOOP: "too many levels of symbolic links (a link loop?)",
        errno.ENAMETOOLONG: "the path is too long",
    }
    hint = hints.get(exc.errno, exc.strerror or str(exc))
    return f"{path}: {hint} ({exc.strerror or type(exc).__name__})"


def checkpoint(event: str) -> None:
    """Tests: `STANCEMAP_TEST_KILL_AT=stage:NAME` SIGKILLs the run just before stage NAME, and
    `=commit` once every stage has succeeded, before the commit."""
    if os.environ.get(KILL_AT) == event:
        os.kill(os.getpid(), signal.SIGKILL)
