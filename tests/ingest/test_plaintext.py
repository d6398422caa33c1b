"""The plain text reader: one comment per line, `>` quotes belong to the reply."""

from stancemap.ingest import expand_inputs, ingest, read_file
from stancemap.ingest.base import Context


def test_plain_text_quotes_belong_to_the_reply(tmp_path):
    f = tmp_path / "thread.txt"
    f.write_text("First point here.\n\n> quoted one\n> quoted two\nMy reply.\n> dangling quote\n", encoding="utf-8")
    comments = read_file(f, Context()).comments
    assert [c.text for c in comments] == [
        "First point here.",
        "> quoted one\n> quoted two\nMy reply.",
        "> dangling quote",
    ]
    assert [c.source_line for c in comments] == [1, 3, 6]
    assert comments[1].comment_id == "text:thread:3"
    assert all(c.parent_id is None for c in comments)


def test_seed_dumps_ingest(seeds_dir):
    df, _ = ingest(expand_inputs([seeds_dir]))
    assert df["thread_id"].n_unique() == 4
    lines = sum(
        1
        for f in seeds_dir.glob("*.txt")
        for ln in f.read_text(encoding="utf-8").splitlines()
        if ln.strip() and not ln.lstrip().startswith(">")
    )
    quote_only_tails = sum(
        1
        for f in seeds_dir.glob("*.txt")
        if (ls := [x for x in f.read_text(encoding="utf-8").splitlines() if x.strip()])
        and ls[-1].lstrip().startswith(">")
    )
    assert df.height == lines + quote_only_tails
    quoted = df.filter(df["quotes"].list.len() > 0)
    assert quoted.height > 5
    for text, quotes in zip(quoted["text"], quoted["quotes"], strict=True):
        assert all(text[q["start"] : q["end"]].lstrip().startswith(">") for q in quotes)
