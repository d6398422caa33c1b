"""Ingest never lets anything but its own error escape: random bytes, truncated and mutated
files, and JSON whose values were swapped for random ones, for every reader.

`make fuzz` runs this with STANCEMAP_FUZZ_EXAMPLES=10000 (examples per test); the default run
uses a small number so `make test` stays quick.
"""

from __future__ import annotations

import io
import json
import os

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stancemap.errors import StancemapError
from stancemap.ingest import ingest
from stancemap.ingest.base import Context

EXAMPLES = int(os.environ.get("STANCEMAP_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=False)

HN_ITEM = {
    "id": 1,
    "created_at_i": 1160418111,
    "created_at": "2006-10-09T18:21:51.000Z",
    "type": "story",
    "author": "pg",
    "title": "A story",
    "url": "https://example.org/",
    "text": None,
    "points": 3,
    "parent_id": None,
    "story_id": 1,
    "children": [
        {
            "id": 2,
            "created_at_i": 1160418200,
            "type": "comment",
            "author": "a",
            "text": "<p>Theft, &quot;clearly&quot;.",
            "parent_id": 1,
            "story_id": 1,
            "points": None,
            "children": [
                {
                    "id": 3,
                    "created_at_i": 1160418300,
                    "type": "comment",
                    "author": "b",
                    "text": "&gt; Theft<p>No, fair use.",
                    "parent_id": 2,
                    "story_id": 1,
                    "children": [],
                }
            ],
        },
    ],
}
REDDIT_LISTING = [
    {
        "kind": "Listing",
        "data": {
            "children": [
                {
                    "kind": "t3",
                    "data": {
                        "id": "abc",
                        "name": "t3_abc",
                        "title": "A post",
                        "permalink": "/r/x/comments/abc/a_post/",
                        "selftext": "",
                        "author": "op",
                        "created_utc": 1600000000.0,
                        "score": 5,
                        "subreddit": "x",
                        "url": "https://example.org",
                    },
                }
            ]
        },
    },
    {
        "kind": "Listing",
        "data": {
            "children": [
                {
                    "kind": "t1",
                    "data": {
                        "id": "c1",
                        "name": "t1_c1",
                        "parent_id": "t3_abc",
                        "link_id": "t3_abc",
                        "author": "u",
                        "body": "Distillation is theft.",
                        "created_utc": 1600000100.0,
                        "score": 2,
                        "permalink": "/r/x/comments/abc/a_post/c1/",
                        "subreddit": "x",
                        "replies": {
                            "kind": "Listing",
                            "data": {
                                "children": [
                                    {
                                        "kind": "t1",
                                        "data": {
                                            "id": "c2",
                                            "name": "t1_c2",
                                            "parent_id": "t1_c1",
                                            "link_id": "t3_abc",
                                            "author": "v",
                                            "body": "> theft\n\nNo.",
                                            "created_utc": 1600000200.0,
                                            "score": 1,
                                            "replies": "",
                                        },
                                    },
                                    {
                                        "kind": "more",
                                        "data": {
                                            "count": 4,
                                            "children": ["c3", "c4"],
                                            "id": "c3",
                                            "parent_id": "t1_c1",
                                        },
                                    },
                                ]
                            },
                        },
                    },
                }
            ]
        },
    },
]
JSONL = b"".join(
    json.dumps(r).encode() + b"\n"
    for r in [
        {"id": 1, "parent": None, "author": "a", "time": "2026-02-24T14:03:11Z", "text": "Distillation is theft."},
        {"id": 2, "parent": 1, "author": "b", "time": 1771941791, "text": "> Distillation is theft.\nNo."},
    ]
)
CSV = b'id,parent,author,time,text\n1,,a,2026-02-24T14:03:11Z,"Theft, clearly."\n2,1,b,1771941791,"No, fair use."\n'


def _parquet() -> bytes:
    buf = io.BytesIO()
    pl.DataFrame(
        {
            "id": ["1", "2"],
            "parent": [None, "1"],
            "author": ["a", "b"],
            "time": [0, 60],
            "text": ["Theft.", "Fair use."],
        }
    ).write_parquet(buf)
    return buf.getvalue()


SAMPLES = {
    "hn": ("thread.json", json.dumps(HN_ITEM).encode()),
    "reddit": ("thread.json", json.dumps(REDDIT_LISTING).encode()),
    "jsonl": ("thread.jsonl", JSONL),
    "csv": ("thread.csv", CSV),
    "parquet": ("thread.parquet", _parquet()),
    "text": ("thread.txt", "Theft, clearly.\n> Theft, clearly.\nNo — fair use 🤖.\n1 reply →\n".encode()),
}


def _ingest_or_our_error(tmp_path, name: str, data: bytes, fmt: str, skip_bad: bool) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    try:
        comments, _ = ingest([path], fmt, Context(skip_bad=skip_bad))
    except StancemapError:
        return
    ids = set(comments["comment_id"])
    assert set(comments["parent_id"].drop_nulls()) <= ids


def test_samples_are_valid():
    for fmt, (name, data) in SAMPLES.items():
        assert fmt  # each sample reads cleanly with auto-detection, as the fuzzing starts from valid input
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            path.write_bytes(data)
            comments, _ = ingest([path])
            assert comments.height >= 2, fmt
            assert set(comments["source"]) == {fmt}


def mutate(data: bytes, ops: list[tuple[int, int, int, bytes]]) -> bytes:
    for kind, a, b, extra in ops:
        if not data:
            return extra
        i, j = sorted((a % len(data), b % len(data)))
        if kind == 0:
            data = data[:i]  # truncate
        elif kind == 1:
            data = data[:i] + data[j:]  # cut a piece out
        elif kind == 2:
            data = data[:i] + extra + data[i:]  # insert bytes
        else:
            data = data[:i] + bytes([data[i] ^ (1 + (b % 255))]) + data[i + 1 :]  # flip a byte
    return data


ops = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 10**6), st.integers(0, 10**6), st.binary(max_size=8)),
    min_size=1,
    max_size=4,
)


@pytest.mark.parametrize("fmt", sorted(SAMPLES))
@FUZZ
@given(data=st.binary(max_size=400), skip_bad=st.booleans())
def test_random_bytes(tmp_path, fmt, data, skip_bad):
    _ingest_or_our_error(tmp_path, SAMPLES[fmt][0], data, fmt, skip_bad)


@pytest.mark.parametrize("fmt", sorted(SAMPLES))
@FUZZ
@given(operations=ops, skip_bad=st.booleans(), forced=st.booleans())
def test_mutated_files(tmp_path, fmt, operations, skip_bad, forced):
    name, sample = SAMPLES[fmt]
    _ingest_or_our_error(tmp_path, name, mutate(sample, operations), fmt if forced else "auto", skip_bad)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def replace_at(doc, path: list[int], value):
    """Replace the node reached by following `path` (indices into lists / sorted dict keys)."""
    if not path or not isinstance(doc, list | dict) or not doc:
        return value
    if isinstance(doc, list):
        i = path[0] % len(doc)
        return [replace_at(v, path[1:], value) if k == i else v for k, v in enumerate(doc)]
    keys = sorted(doc)
    key = keys[path[0] % len(keys)]
    return {k: (replace_at(v, path[1:], value) if k == key else v) for k, v in doc.items()}


@pytest.mark.parametrize("fmt", ["hn", "reddit", "jsonl"])
@FUZZ
@given(path=st.lists(st.integers(0, 50), max_size=8), value=json_values, skip_bad=st.booleans())
def test_json_with_random_values(tmp_path, fmt, path, value, skip_bad):
    name, sample = SAMPLES[fmt]
    if fmt == "jsonl":
        docs = [json.loads(line) for line in sample.splitlines()]
        replaced = replace_at(docs, path, value)
        data = b"".join(
            json.dumps(d).encode() + b"\n" for d in (replaced if isinstance(replaced, list) else [replaced])
        )
    else:
        data = json.dumps(replace_at(json.loads(sample), path, value)).encode()
    _ingest_or_our_error(tmp_path, name, data, fmt, skip_bad)
