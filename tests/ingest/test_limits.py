"""Inputs a thread file should not be: FIFOs, link loops, dangling links, gzip bombs, comments
over the length limit, control characters, the same id in two files. Each is one line and exit 2,
with nothing written (or, with --skip-bad, left out and logged)."""

from __future__ import annotations

import gzip
import json
import os

import polars as pl
import pytest

from stancemap.config import IngestParams
from stancemap.errors import InputError
from stancemap.ingest import ingest
from stancemap.ingest.base import gunzip
from tests.conftest import stancemap, write_jsonl


def _error(result) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def _ingest(tmp_path, *args):
    out = tmp_path / "comments.parquet"
    return stancemap("ingest", *args, "--out", str(out), cwd=tmp_path), out


def test_a_fifo_is_named_as_one(tmp_path):
    os.mkfifo(tmp_path / "live.jsonl")
    result, out = _ingest(tmp_path, "live.jsonl")
    assert "live.jsonl: a FIFO (named pipe), not a regular file" in _error(result) and not out.exists()


def test_a_link_loop_and_a_dangling_link_are_named_as_such(tmp_path):
    (tmp_path / "a.jsonl").symlink_to("b.jsonl")
    (tmp_path / "b.jsonl").symlink_to("a.jsonl")
    (tmp_path / "gone.jsonl").symlink_to("nowhere.jsonl")
    result, out = _ingest(tmp_path, "a.jsonl")
    assert "a.jsonl: a symbolic link loop" in _error(result) and not out.exists()
    result, out = _ingest(tmp_path, "gone.jsonl")
    assert "gone.jsonl: a symbolic link to 'nowhere.jsonl', which does not exist" in _error(result)
    # inside a folder, too, rather than skipped or "no such file"
    folder = tmp_path / "threads"
    folder.mkdir()
    (folder / "x.jsonl").symlink_to(folder / "x.jsonl")
    result, out = _ingest(tmp_path, "threads")
    assert "x.jsonl: a symbolic link loop" in _error(result)


def test_a_gzip_bomb_is_refused_while_decompressing(tmp_path):
    bomb = tmp_path / "spaces.txt.gz"
    bomb.write_bytes(gzip.compress(b" " * (3 * 2**20)))
    assert bomb.stat().st_size < 2**16
    result, out = _ingest(tmp_path, bomb.name, "--set", "ingest.max_input_mb=1")
    line = _error(result)
    assert "spaces.txt.gz: decompresses to more than ingest.max_input_mb (1 MiB)" in line and not out.exists()
    assert "--set ingest.max_input_mb=N" in line
    with pytest.raises(InputError, match="decompresses to more than"):
        gunzip(bomb, bomb.read_bytes(), limit=2**20)
    assert len(gunzip(bomb, bomb.read_bytes(), limit=4 * 2**20)) == 3 * 2**20


def test_a_file_over_the_limit_is_refused_by_its_size(tmp_path):
    write_jsonl(
        tmp_path / "t.jsonl", [{"id": str(i), "author": "a", "time": 0, "text": "x" * 2000} for i in range(700)]
    )
    result, out = _ingest(tmp_path, "t.jsonl", "--set", "ingest.max_input_mb=1")
    assert "t.jsonl: 1.4 MiB, over ingest.max_input_mb (1 MiB)" in _error(result) and not out.exists()


def test_a_comment_over_the_length_limit_is_an_error_or_skipped_and_logged(tmp_path):
    records = [
        {"id": "long", "author": "a", "time": 0, "text": "word " * 50},
        {"id": "short", "author": "b", "time": 1, "text": "a comment of ordinary length"},
    ]
    write_jsonl(tmp_path / "t.jsonl", records)
    result, out = _ingest(tmp_path, "t.jsonl", "--set", "ingest.max_comment_chars=100")
    line = _error(result)
    assert "t.jsonl:1: comment 'jsonl:t:long' is 250 characters, over ingest.max_comment_chars (100)" in line
    assert not out.exists()
    result, out = _ingest(tmp_path, "t.jsonl", "--set", "ingest.max_comment_chars=100", "--skip-bad")
    assert result.returncode == 0, result.stderr
    assert pl.read_parquet(out)["comment_id"].to_list() == ["jsonl:t:short"]  # never cut short
    logged = [json.loads(line) for line in out.with_name(out.name + ".skipped.jsonl").read_text().splitlines()]
    assert [(e["file"], e["line"]) for e in logged] == [("t.jsonl", 1)]
    assert "250 characters" in logged[0]["problem"]


def test_control_characters_are_removed_from_text_author_and_title(tmp_path):
    records = [
        {"id": "1", "author": "bell\x07man", "time": 0, "text": "nul\x00 here, escape\x1b[31m red,\ttab\nline\x85 next"}
    ]
    write_jsonl(tmp_path / "t.jsonl", records)
    comments, _ = ingest([tmp_path / "t.jsonl"], limits=IngestParams())
    row = comments.row(0, named=True)
    assert row["text"] == "nul here, escape[31m red,\ttab\nline next"
    assert row["author"] == "bellman"


def test_the_same_id_in_two_files_names_both_places(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [{"id": "x1", "author": "a", "time": 0, "text": "first copy", "thread": "t"}])
    write_jsonl(
        tmp_path / "b.jsonl",
        [
            {"id": "q", "author": "a", "time": 0, "text": "another comment", "thread": "t"},
            {"id": "x1", "author": "b", "time": 1, "text": "second copy", "thread": "t"},
        ],
    )
    result, out = _ingest(tmp_path, "a.jsonl", "b.jsonl")
    assert "b.jsonl:2: comment id 'jsonl:t:x1' repeats the one at a.jsonl:1" in _error(result)
    assert not out.exists()
