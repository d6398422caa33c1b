"""`ingest`, `run` and `expand_inputs`: formats, output files, skip logs, sources and whole trees."""

import json

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stancemap.errors import InputError, StancemapError
from stancemap.ingest import READERS, expand_inputs, ingest, read_file, skip_log_path
from stancemap.ingest import run as ingest_run
from stancemap.ingest.base import Context
from stancemap.io import read_table
from tests.conftest import write_jsonl


def test_unknown_format_and_missing_path(tmp_path):
    f = tmp_path / "data.bin"
    f.write_bytes(b"[1,2,3]")
    with pytest.raises(InputError, match="unknown format"):
        ingest([f])
    with pytest.raises(StancemapError, match="no such file or folder"):
        expand_inputs([tmp_path / "missing"])
    with pytest.raises(StancemapError, match="unknown format 'xml'"):
        ingest([f], fmt="xml")


def test_failed_ingest_leaves_previous_output(tmp_path, small_corpus):
    out = tmp_path / "comments.parquet"
    ingest_run(inputs=[small_corpus], out=out)
    before = out.read_bytes()
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1}\n', encoding="utf-8")
    with pytest.raises(InputError):
        ingest_run(inputs=[bad], out=out)
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_ingest_round_trips_through_parquet(tmp_path, small_corpus):
    out = tmp_path / "comments.parquet"
    df = ingest_run(inputs=[small_corpus], out=out)
    assert read_table(out, "comments").equals(df)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300), reader=st.sampled_from(sorted(READERS)))
def test_any_bytes_give_comments_or_our_error(tmp_path, data, reader):
    f = tmp_path / "fuzz.in"
    f.write_bytes(data)
    try:
        read_file(f, Context(), reader)
    except StancemapError:
        pass


def test_skip_bad_writes_the_good_rest_and_a_log(tmp_path):
    f = write_jsonl(
        tmp_path / "t.jsonl",
        [
            {"id": 1, "text": "A good top-level comment."},
            {"id": 2, "parent": 1, "text": 7},
            {"id": 3, "parent": 2, "text": "Replies to the bad one, so it cannot reach the root."},
            {"id": 4, "parent": 1, "text": "A good reply."},
        ],
    )
    with open(f, "a", encoding="utf-8") as fh:
        fh.write('{"id": 5, "text": "cut off\n')
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    out = tmp_path / "out" / "comments.parquet"
    with pytest.raises(InputError):
        ingest_run(inputs=[f], out=out)
    assert not out.exists()
    comments = ingest_run(inputs=[f, tmp_path / "empty.txt"], out=out, skip_bad=True)
    assert comments["comment_id"].to_list() == ["jsonl:t:1", "jsonl:t:4"]
    log = [json.loads(line) for line in skip_log_path(out).read_text(encoding="utf-8").splitlines()]
    problems = {(e["file"].split("/")[-1], e["line"]): e["problem"] for e in log}
    assert problems[("t.jsonl", 2)].startswith("`text` must be a string")
    assert problems[("t.jsonl", 5)].startswith("not valid JSON")
    assert "is not in the input" in problems[("t.jsonl", 3)]
    assert problems[("empty.txt", None)] == "empty file: no comments"


def _walk_t1(node) -> int:
    """Reddit t1 things below `node`, counted independently of the reader."""
    if isinstance(node, list):
        return sum(_walk_t1(n) for n in node)
    if isinstance(node, dict):
        own = 1 if node.get("kind") == "t1" else 0
        return own + sum(_walk_t1(v) for v in node.values() if isinstance(v, dict | list))
    return 0


def _more_count(node) -> int:
    if isinstance(node, list):
        return sum(_more_count(n) for n in node)
    if isinstance(node, dict):
        own = node["data"].get("count", 0) if node.get("kind") == "more" else 0
        return own + sum(_more_count(v) for v in node.values() if isinstance(v, dict | list))
    return 0


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (["hn/hn-comments-1000-sample.jsonl"], 1000),
        (["hn/hn-thread-48849066-flat.json.gz"], 1079),
        (["reddit/2gmzqe.json"], None),
        (["reddit/fo7p5b.json"], None),
        (["reddit/n49rw.json", "reddit/n49rw_morechildren_responses.json"], None),
    ],
)
def test_real_fixtures_keep_every_comment_and_a_whole_tree(files, expected):
    from tests.conftest import shared_path

    paths = [shared_path("fixtures", *f.split("/")) for f in files]
    comments, threads = ingest(paths)
    if expected is None:
        docs = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
        posts_with_text = sum(
            1 for d in docs[:1] for t in d[0]["data"]["children"] if t["data"].get("selftext", "").strip()
        )
        expected = sum(_walk_t1(d) for d in docs) + posts_with_text
    assert comments.height == expected
    ids = set(comments["comment_id"])
    assert set(comments["parent_id"].drop_nulls()) <= ids
    by_id = dict(zip(comments["comment_id"], comments["parent_id"], strict=True))
    for cid, depth in zip(comments["comment_id"], comments["depth"], strict=True):
        steps, node = 0, cid
        while by_id[node] is not None:
            node, steps = by_id[node], steps + 1
        assert steps == depth
    assert comments["thread_id"].n_unique() == threads.height
    assert comments.filter(pl.col("is_deleted"))["text"].str.len_chars().max() in (0, None)
    if files[0].startswith("reddit"):
        listing = json.loads(paths[0].read_text(encoding="utf-8"))
        assert threads["held_back"].sum() == _more_count(listing)
        assert threads["title"].null_count() == 0


def test_sources_record_each_input_file(tmp_path, small_corpus):
    import hashlib

    from stancemap.io import read_table

    out, sources = tmp_path / "c.parquet", tmp_path / "s.parquet"
    comments = ingest_run(inputs=[small_corpus], out=out, sources=sources)
    table = read_table(sources, "sources")
    assert sorted(table["reader"]) == ["jsonl", "text"]
    for row in table.iter_rows(named=True):
        data = open(row["source_file"], "rb").read()
        assert row["sha256"] == hashlib.sha256(data).hexdigest() and row["bytes"] == len(data)
    assert table["n_comments"].sum() == comments.height
