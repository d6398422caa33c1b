"""Tables with column maps, --skip-bad, gzip, repeated comments and linked quotes."""

import gzip
import json

import polars as pl
import pytest

from stancemap.errors import InputError, StancemapError
from stancemap.ingest import expand_inputs, ingest, skip_log_path
from stancemap.ingest import run as ingest_run
from stancemap.ingest.base import Context
from stancemap.ingest.duplicates import find_duplicates
from stancemap.ingest.records import parse_map
from tests.conftest import write_jsonl


def test_csv_with_a_column_map(tmp_path):
    f = tmp_path / "sheet.csv"
    f.write_text(
        "msg_id,reply_to,user,posted,body,votes\n"
        'a1,,mira,2026-02-24T14:00:00Z,"Distillation is theft, full stop.",5\n'
        'a2,a1,tok,1771941791,"> Distillation is theft\nNo: they paid for access.",\n',
        encoding="utf-8",
    )
    mapping = parse_map("id=msg_id,parent=reply_to,author=user,time=posted,text=body,score=votes")
    comments, threads = ingest([f], ctx=Context(field_map=mapping))
    assert comments["comment_id"].to_list() == ["csv:sheet:a1", "csv:sheet:a2"]
    assert comments["parent_id"].to_list() == [None, "csv:sheet:a1"]
    assert comments["score"].to_list() == [5, None]
    assert comments["quotes"][1].to_list() == [{"start": 0, "end": 23, "quoted_id": "csv:sheet:a1"}]
    assert threads["thread_id"].to_list() == ["sheet"]


def test_missing_column_names_file_and_column(tmp_path):
    f = tmp_path / "sheet.csv"
    f.write_text("id,body\n1,hello there\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"sheet.csv: missing column\(s\) 'text'"):
        ingest([f])
    with pytest.raises(InputError, match=r"missing column\(s\) 'message' \(mapped to text\)"):
        ingest([f], ctx=Context(field_map={"text": "message"}))


def test_bad_row_is_located(tmp_path):
    f = tmp_path / "sheet.csv"
    f.write_text("id,text,score\n1,fine text here,3\n2,more text,lots\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"sheet.csv \[row 2\]: `score` must be a whole number"):
        ingest([f])


@pytest.mark.parametrize(("spec", "message"), [("txt=body", "not a field"), ("text", "expected FIELD=COLUMN")])
def test_bad_map(spec, message):
    with pytest.raises(StancemapError, match=message):
        parse_map(spec)


def test_parquet_and_tsv_and_gzip(tmp_path):
    pl.DataFrame(
        {"id": [1, 2], "text": ["Theft of the work.", "Fair use of the work."], "parent": [None, 1]}
    ).write_parquet(tmp_path / "a.parquet")
    (tmp_path / "b.tsv").write_text("id\ttext\n1\tA tab separated claim.\n", encoding="utf-8")
    records = [{"id": "x", "author": "a", "time": 0, "text": "Compressed comment text."}]
    (tmp_path / "c.jsonl.gz").write_bytes(gzip.compress(b"".join(json.dumps(r).encode() + b"\n" for r in records)))
    (tmp_path / "c.provenance.json").write_text("{}", encoding="utf-8")  # fetch's note: not a thread
    comments, _ = ingest(expand_inputs([tmp_path]))
    assert comments["comment_id"].to_list() == ["parquet:a:1", "parquet:a:2", "csv:b:1", "jsonl:c:x"]
    assert comments["parent_id"][1] == "parquet:a:1"


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


def test_repeats_are_marked_once_with_a_count(tmp_path):
    block = "Paying for tokens does not give you the right to clone the product."
    f = tmp_path / "dump.txt"
    f.write_text(
        f"{block}\nSomething else entirely, said once.\n{block.upper()}\n+1\n+1\n{block}  \n", encoding="utf-8"
    )
    comments, _ = ingest([f])
    assert comments["duplicate_of"].to_list() == [None, None, "text:dump:1", None, None, "text:dump:1"]
    assert comments["repeats"].to_list() == [3, 1, 3, 1, 1, 3]


def test_find_duplicates_ignores_case_punctuation_and_spacing():
    rows, counts = find_duplicates(["It is theft, plain and simple, folks!", "it is THEFT plain and simple folks", "x"])
    assert rows == [None, 0, None] and counts == [2, 2, 1]


def test_quotes_link_to_the_quoted_comment_in_a_dump(tmp_path):
    f = tmp_path / "dump.txt"
    f.write_text(
        "Export controls on chips are pointless if the model can be copied through an API.\n"
        "> export controls on chips are pointless\n"
        "They slow things down, which is the point.\n"
        "> a sentence that nobody in this thread ever wrote down\n"
        "Quoting the article, not a comment.\n",
        encoding="utf-8",
    )
    comments, _ = ingest([f])
    assert comments["quotes"][1].to_list() == [{"start": 0, "end": 40, "quoted_id": "text:dump:1"}]
    assert comments["quotes"][2].to_list()[0]["quoted_id"] is None


def test_seed_dumps_mark_repeats_and_link_quotes(seeds_dir):
    comments, _ = ingest(expand_inputs([seeds_dir]))
    repeats = comments.filter(pl.col("duplicate_of").is_not_null())
    assert repeats.height >= 10, "the seeds repeat whole passages"
    originals = set(repeats["duplicate_of"])
    assert originals <= set(comments["comment_id"])
    assert comments.filter(pl.col("comment_id").is_in(list(originals)))["repeats"].min() >= 2
    linked = [q["quoted_id"] for qs in comments["quotes"].to_list() for q in qs if q["quoted_id"]]
    assert linked, "some quotes in the seeds quote earlier comments of the same thread"
    assert set(linked) <= set(comments["comment_id"])


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
