"""The JSON Lines reader: reply trees, located errors, and mutated records."""

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stancemap.errors import InputError, StancemapError
from stancemap.ingest import expand_inputs, ingest, read_file
from stancemap.ingest.base import Context
from tests.conftest import write_jsonl


def test_jsonl_builds_the_reply_tree(small_corpus):
    df, threads = ingest(expand_inputs([small_corpus]))
    assert df.height == 18 + 1 + 3  # 18 topic comments, 1 quoting reply, 3 dump comments
    by_id = {r["comment_id"]: r for r in df.iter_rows(named=True)}
    reply = by_id["jsonl:demo:q1"]
    assert reply["parent_id"] == "jsonl:demo:theft0" and reply["depth"] == 1
    assert reply["created_at"] == datetime(2026, 2, 24, 15, 0, tzinfo=UTC)
    # the quote is marked and linked to the comment it quotes
    assert reply["quotes"] == [{"start": 0, "end": reply["text"].index("\n"), "quoted_id": "jsonl:demo:theft0"}]
    assert threads["thread_id"].to_list() == ["demo", "dump"]
    assert threads["n_comments"].to_list() == [19, 3]
    assert by_id["jsonl:demo:theft0"]["depth"] == 0
    assert set(df["source"]) == {"jsonl", "text"}
    # every parent is in the table
    assert set(df["parent_id"].drop_nulls()) <= set(df["comment_id"])


def _errors_for(tmp_path: Path, content: bytes, name: str = "t.jsonl") -> str:
    f = tmp_path / name
    f.write_bytes(content)
    with pytest.raises(InputError) as info:
        ingest(expand_inputs([f]))
    return str(info.value)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            b'{"id": 1, "author": "a", "time": 0, "text": "ok"}\n{"id": 2, "author": "a", "time": 0, "text": "cut',
            r"t.jsonl:2: not valid JSON",
        ),
        (b'{"id": 1, "author": "a", "time": 0}\n', r"t.jsonl:1: missing field\(s\) text"),
        (
            b'{"id": 1, "parent": 9, "author": "a", "time": 0, "text": "x"}\n',
            r"t.jsonl:1: parent .*9.* is not in the input",
        ),
        (
            b'{"id": 1, "parent": 2, "author": "a", "time": 0, "text": "x"}\n'
            b'{"id": 2, "parent": 1, "author": "a", "time": 0, "text": "y"}\n',
            r"t.jsonl:\d: reply links form a cycle",
        ),
        (
            b'{"id": 1, "author": "a", "time": 0, "text": "x"}\n{"id": 1, "author": "b", "time": 0, "text": "y"}\n',
            r"t.jsonl:2: comment id .* repeats the one at line 1",
        ),
        (b'{"id": 1, "author": "a", "time": "yesterday", "text": "x"}\n', r"t.jsonl:1: 'yesterday' is neither"),
        (b'{"id": 1, "author": 5, "time": 0, "text": "x"}\n', r"t.jsonl:1: `author` must be a string"),
        (b"[1, 2]\n", r"t.jsonl:1: expected a JSON object"),
        (b"", r"t.jsonl: empty file"),
        (b'{"id": 1, "author": "a", "time": 0, "text": "caf\xe9"}\n', r"t.jsonl:1: not UTF-8 text"),
    ],
)
def test_bad_jsonl_names_file_line_and_problem(tmp_path, content, expected):
    assert re.search(expected, _errors_for(tmp_path, content))


record = st.fixed_dictionaries(
    {
        "id": st.one_of(st.integers(), st.text(max_size=5), st.none()),
        "author": st.one_of(st.text(max_size=5), st.none(), st.integers()),
        "time": st.one_of(
            st.integers(min_value=-(10**12), max_value=10**12), st.text(max_size=12), st.floats(), st.none()
        ),
        "text": st.one_of(st.text(max_size=40), st.none(), st.lists(st.integers(), max_size=2)),
    },
    optional={
        "parent": st.one_of(st.integers(0, 5), st.text(max_size=3), st.none()),
        "thread": st.one_of(st.text(max_size=4), st.integers(), st.none()),
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(record, min_size=1, max_size=6), cut=st.integers(0, 400))
def test_mutated_jsonl_gives_comments_or_our_error(tmp_path, records, cut):
    f = tmp_path / "fuzz.jsonl"
    text = "".join(json.dumps(r) + "\n" for r in records)
    f.write_text(text[: max(cut, 1)] if cut < len(text) else text, encoding="utf-8")
    try:
        df, _ = ingest([f])
    except StancemapError:
        return
    assert set(df["parent_id"].drop_nulls()) <= set(df["comment_id"])


def test_write_jsonl_helper_roundtrip(tmp_path):
    f = write_jsonl(tmp_path / "x.jsonl", [{"id": "a", "author": None, "time": None, "text": "hello there"}])
    (c,) = read_file(f, Context()).comments
    assert c.author is None and c.created_at is None and c.thread_id == "x"
