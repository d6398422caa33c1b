"""Repeated comments: marked once, with a count."""

import polars as pl

from stancemap.ingest import expand_inputs, ingest
from stancemap.ingest.duplicates import find_duplicates


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
