"""`>` quotes linked to the comment they quote."""

from stancemap.ingest import ingest


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
