"""A run is all or nothing (pipeline/workdir.py): a failed or killed run leaves the previous set
byte for byte, a commit killed part-way is finished by the next run, one run writes to a workdir
at a time, and every failure is one line and exit 2. Real runs, in fresh interpreters."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from stancemap import workdir as txn
from stancemap.io import KILL_AT, file_mode
from stancemap.stages import RUN_STAGES, Layout
from tests.conftest import REPO, TOPICS, stancemap, write_jsonl

KILLED = -signal.SIGKILL
LATER = (
    "Taking the answers of a paid API to train a rival is theft,\x00 whatever the terms of service say.",
    "National security is the excuse\x1b[31m every lab reaches for when it wants a moat around its model.",
    "Scraping every book without asking and then crying about distillation is hypocrisy of the first order.",
)


def corpus(folder: Path, extra: tuple[str, ...] = ()) -> Path:
    """The three-topic thread of conftest, with `extra` replies to its first comment."""
    records = []
    for topic, texts in TOPICS.items():
        for i, text in enumerate(texts):
            parent = f"{topic}0" if i else None
            records.append(
                {"id": f"{topic}{i}", "parent": parent, "author": f"user{i}", "text": text, "thread": "demo"}
            )
    for i, text in enumerate(extra):
        records.append({"id": f"later{i}", "parent": "theft0", "author": "late", "text": text, "thread": "demo"})
    for n, record in enumerate(records):
        record["time"] = 1771941791 + 60 * n
    folder.mkdir(parents=True, exist_ok=True)
    write_jsonl(folder / "thread.jsonl", records)
    return folder


def snapshot(root: Path) -> dict[str, str]:
    """sha256 of every file of the workdir but its lock and staging (.stancemap/)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).parts[0] != txn.META
    }


def run(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return stancemap("--quiet", "run", *args, "--workdir", ".", cwd=root, env=env)


def popen(root: Path, *args: str) -> subprocess.Popen:
    command = [
        sys.executable,
        "-c",
        "from stancemap.cli import main; main()",
        "--quiet",
        "run",
        *args,
        "--workdir",
        ".",
    ]
    return subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def one_line_error(result, *needles: str) -> str:
    """Exit 2, one `error:` line on stderr, no traceback; the line holds every needle."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A workdir after one run on `first/`, with a later version of the thread in `later/`."""
    root = tmp_path_factory.mktemp("finished")
    corpus(root / "first")
    corpus(root / "later", LATER)
    # topics of four or more, so that this small thread has clusters to keep between runs
    params = (REPO / "params.yaml").read_text(encoding="utf-8")
    (root / "params.yaml").write_text(params.replace("min_cluster_size: 12", "min_cluster_size: 4"), encoding="utf-8")
    result = run(root, "first")
    assert result.returncode == 0, result.stderr
    assert pl.read_parquet(Layout(root).clusters)["topic"].n_unique() >= 3
    return root


def clone(finished: Path, target: Path) -> Path:
    shutil.copytree(finished, target, symlinks=True)
    return target


def test_a_run_killed_at_any_stage_leaves_the_previous_set_and_the_rerun_loses_nothing(finished, tmp_path):
    reference = clone(finished, tmp_path / "reference")
    assert run(reference, "later").returncode == 0
    root = clone(finished, tmp_path / "killed")
    before = snapshot(root)
    for point in [f"stage:{s.name}" for s in RUN_STAGES] + ["commit"]:
        killed = run(root, "later", env={KILL_AT: point})
        assert killed.returncode == KILLED, (point, killed.stderr)
        assert snapshot(root) == before, f"killed at {point}, the workdir changed"
    rerun = run(root, "later")
    assert rerun.returncode == 0, rerun.stderr
    # the whole set, the cluster state and caches included, is what an uninterrupted run writes:
    # no kill point lost the "new" marks of the later claims
    assert snapshot(root) == snapshot(reference)
    clusters = pl.read_parquet(Layout(root).clusters).join(pl.read_parquet(Layout(root).claims), on="claim_id")
    assert set(clusters.filter(pl.col("new"))["comment_id"].str.extract(r"(later\d)").to_list()) == {
        "later0",
        "later1",
        "later2",
    }
    page = Layout(root).report.read_bytes()
    assert b"\x00" not in page and b"\x1b" not in page  # control characters never reach the page
    # every artifact has the mode the umask gives (0644 under 022), the report included
    modes = {name: stat.S_IMODE((root / name).stat().st_mode) for name in snapshot(root)}
    assert set(modes.values()) == {file_mode()}, modes


COMMIT = "import sys; from pathlib import Path; from stancemap.workdir import commit; commit(Path(sys.argv[1]))"
RECOVER = "import sys; from pathlib import Path; from stancemap.workdir import recover; recover(Path(sys.argv[1]))"


def _killed(code: str, root: Path, rename: int) -> None:
    result = subprocess.run([sys.executable, "-c", code, str(root)], env={**os.environ, KILL_AT: f"rename:{rename}"})
    assert result.returncode == KILLED, f"rename {rename} was not reached"


def test_a_commit_killed_at_any_rename_is_old_or_new_once_recovered(finished, tmp_path):
    staged = clone(finished, tmp_path / "staged")
    assert run(staged, "later", env={KILL_AT: "commit"}).returncode == KILLED
    old = snapshot(staged)
    done = clone(staged, tmp_path / "done")
    txn.commit(done)
    new = snapshot(done)
    assert new != old and not (done / txn.STAGING).exists()
    files = sum(1 for p in (staged / txn.STAGING).rglob("*") if p.is_file())
    assert files >= 15  # every artifact of the run
    for rename in range(1, files + 2):  # the journal's rename, then one per staged file
        root = clone(staged, tmp_path / f"kill{rename}")
        _killed(COMMIT, root, rename)
        txn.recover(root)  # what every run does first, under the lock
        assert snapshot(root) == (old if rename == 1 else new), f"killed at rename {rename}"
    # killed again while finishing the moves: the journal stays until every move is done
    root = clone(staged, tmp_path / "twice")
    _killed(COMMIT, root, 4)
    _killed(RECOVER, root, 3)
    assert (root / txn.JOURNAL).exists()
    # the next run finishes the moves before anything else: it runs on top of the new set
    assert run(root, "later").returncode == 0
    assert run(done, "later").returncode == 0
    assert not (root / txn.JOURNAL).exists() and snapshot(root) == snapshot(done)


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ("seed=-1", "seed"),
        ("seed=8589934592", "seed"),
        ("cluster.n_neighbors=1", "cluster.n_neighbors"),
        ("cluster.reassign_min_similarity=2", "cluster.reassign_min_similarity"),
        ("cluster.max_drift=inf", "cluster.max_drift"),
        ("cluster.n_components=2000", "cluster.n_components"),
        ("ingest.max_comment_chars=0", "ingest.max_comment_chars"),
    ],
)
def test_params_are_checked_before_the_first_stage(finished, tmp_path, override, needle):
    root = clone(finished, tmp_path / "w")
    before = snapshot(root)
    one_line_error(run(root, "later", "--set", override), needle)
    assert snapshot(root) == before


def test_a_failing_stage_leaves_the_previous_set_and_no_staging(finished, tmp_path):
    root = clone(finished, tmp_path / "w")
    before = snapshot(root)
    # more components than the thread has claims: the cluster stage says which param to lower
    one_line_error(run(root, "later", "--set", "cluster.n_components=60"), "cluster.n_components=60", "or less")
    assert snapshot(root) == before and not (root / txn.STAGING).exists()
    # an input with no claims fails in embed, after ingest and segment have staged their output
    empty = write_jsonl(tmp_path / "empty.jsonl", [{"id": "a", "author": "x", "time": 0, "text": "+1"}])
    one_line_error(run(root, str(empty)), "no claims")
    assert snapshot(root) == before and not (root / txn.STAGING).exists()


def test_a_second_run_is_refused_with_the_holder_named(finished, tmp_path):
    root = clone(finished, tmp_path / "w")
    before = snapshot(root)
    with txn.locked(root):
        line = one_line_error(run(root, "later"), "another stancemap run is writing", f"pid {os.getpid()}", "--wait")
        assert "started 20" in line
    assert snapshot(root) == before


def test_two_runs_started_together_one_writes_and_the_other_is_refused(finished, tmp_path):
    root = clone(finished, tmp_path / "w")
    procs = {name: popen(root, name) for name in ("first", "later")}
    results = {name: (proc.wait(timeout=300), proc.stderr.read()) for name, proc in procs.items()}
    codes = sorted(code for code, _ in results.values())
    assert codes == [0, 2], results
    winner = next(name for name, (code, _) in results.items() if code == 0)
    loser_error = next(err for code, err in results.values() if code == 2)
    assert "another stancemap run is writing" in loser_error and "Traceback" not in loser_error
    ids = set(pl.read_parquet(Layout(root).comments)["comment_id"].to_list())
    assert any("later" in i for i in ids) == (winner == "later")


def test_wait_takes_the_lock_when_the_holder_lets_go(finished, tmp_path):
    root = clone(finished, tmp_path / "w")
    with txn.locked(root):
        proc = popen(root, "later", "--wait")
        time.sleep(4)
        assert proc.poll() is None, proc.stderr.read()
    assert proc.wait(timeout=300) == 0, proc.stderr.read()
    assert "later0" in "".join(pl.read_parquet(Layout(root).comments)["comment_id"].to_list())


def test_a_stale_lock_and_leftover_temporary_files_are_cleared(finished, tmp_path):
    root = clone(finished, tmp_path / "w")
    gone = subprocess.Popen(["true"])
    gone.wait()
    (root / txn.LOCK).write_text(json.dumps({"pid": gone.pid, "host": "elsewhere", "started": "2026-01-01 00:00:00"}))
    interim = Layout(root).claims.parent
    leftovers = [interim / f".claims.parquet.{gone.pid}.x1y2.tmp", interim / ".embeddings.parquet.abc123.tmp"]
    for leftover in leftovers:
        leftover.write_bytes(b"\0" * 1000)
    result = stancemap("run", "later", "--workdir", ".", cwd=root)
    assert result.returncode == 0, result.stderr
    assert "taking over the lock" in result.stderr and f"pid {gone.pid}" in result.stderr
    assert not any(p.exists() for p in leftovers)
    assert not list(root.rglob("*.tmp")) and (root / txn.LOCK).read_text() == ""


def test_a_workdir_that_is_a_file_or_holds_its_own_inputs(finished, tmp_path):
    root = clone(finished, tmp_path / "w")
    (root / "notes.txt").write_text("not a folder")
    before = snapshot(root)
    one_line_error(stancemap("run", "later", "--workdir", "notes.txt", cwd=root), "notes.txt", "is a file")
    one_line_error(stancemap("run", "later", "--workdir", "notes.txt/sub", cwd=root), "notes.txt", "is a file")
    one_line_error(run(root, "."), "holds this workdir's own artifacts")
    one_line_error(run(root, "data/processed"), "holds this workdir's own artifacts")
    assert snapshot(root) == before


def _mount(target: Path, *options: str) -> None:
    target.mkdir(exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(target)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip()}): needs root (CAP_SYS_ADMIN)")


@pytest.fixture
def mounted(tmp_path):
    """A tmpfs at tmp_path/mnt, unmounted afterwards; skips where mounting is not allowed."""
    target = tmp_path / "mnt"
    yield target
    subprocess.run(["umount", "-l", str(target)], capture_output=True)


def test_a_read_only_workdir_is_one_line(finished, mounted):
    _mount(mounted, "size=64m")
    root = clone(finished, mounted / "w")
    before = snapshot(root)
    subprocess.run(["mount", "-o", "remount,ro", str(mounted)], check=True)
    one_line_error(run(root, "later"), "read-only", "writable --workdir")
    assert snapshot(root) == before


def test_a_full_disk_is_one_line_and_leaves_the_previous_set(finished, mounted):
    used = sum(p.stat().st_size for p in finished.rglob("*") if p.is_file())
    _mount(mounted, f"size={used + 2 * 2**20}")  # room for the previous set, not for a second one
    root = clone(finished, mounted / "w")
    before = snapshot(root)
    one_line_error(run(root, "later"), "no space left", "free some space")
    assert snapshot(root) == before and not (root / txn.STAGING).exists()


@pytest.mark.parametrize(
    ("error", "needle"),
    [
        (PermissionError(13, "Permission denied", "/srv/w/data"), "/srv/w/data: permission denied; check the folder"),
        (OSError(28, "No space left on device", "/srv/w"), "/srv/w: no space left on the device"),
        (OSError(30, "Read-only file system", "/srv/w"), "/srv/w: the filesystem is read-only"),
        (NotADirectoryError(20, "Not a directory", "/srv/f/w"), "/srv/f/w: a part of this path is a file"),
    ],
)
def test_os_errors_read_as_a_path_and_what_to_do(error, needle):
    line = txn.describe_os_error(error)
    assert line.startswith(needle) and "\n" not in line
