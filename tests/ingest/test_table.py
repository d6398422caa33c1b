"""The CSV/TSV and Parquet readers: column maps, missing columns, bad rows, gzip."""

import gzip
import json

import polars as pl
import pytest

from stancemap.errors import InputError
from stancemap.ingest import expand_inputs, ingest
from stancemap.ingest.base import Context
from stancemap.ingest.records import parse_map


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
