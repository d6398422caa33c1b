"""The positions overview and reports/summary.md: counts per topic and side, the contested call,
the best quote per side, themes, and inert Markdown."""

import polars as pl
import pytest

from stancemap.config import ReportParams
from stancemap.report import overview
from stancemap.report.summary import markdown, md

# topic 0: three pro authors and two con; topic 1: only con authors; topic 2: no sides taken
ROWS = [
    # claim, comment, author, topic, side, x, y, text
    ("a1", "c1", "ann", 0, "pro", 0.0, 0.0, "Distillation of a rival model is plain theft of its work."),
    ("a2", "c2", "bob", 0, "pro", 0.1, 0.0, "Copying the outputs wholesale is theft, whatever the terms say."),
    ("a3", "c3", "cat", 0, "pro", 0.1, 0.0, "It is theft."),
    ("a7", "c3", "cat", 0, "pro", 0.2, 0.0, "Taking a rival's answers to build your own model is theft too."),
    ("a4", "c4", "dan", 0, "con", 1.0, 1.0, "They paid for every token they used, so it is not theft at all."),
    ("a5", "c5", "eve", 0, "con", 1.1, 1.0, "Paying for access makes learning from the answers fair."),
    ("a6", "c5", "eve", 0, "neither", 0.5, 0.5, "The lawyers will argue about this for years to come."),
    ("b1", "c6", "ann", 1, "con", 5.0, 5.0, "Export controls will not stop a determined lab from copying."),
    ("b2", "c7", "bob", 1, "con", 5.1, 5.0, "Controls on exports come far too late to matter here."),
    ("b3", "c8", "fay", 1, "con", 5.2, 5.1, "No export rule can reach the outputs once they are public."),
    ("b4", "c9", "gus", 1, "con", 5.3, 5.0, "The export rules miss the point about published outputs."),
    ("c1", "c10", "hal", 2, "neither", 9.0, 9.0, "The meeting on the fifth will take the votes on this."),
    ("n1", "c11", "ian", -1, None, 3.0, 3.0, "Unrelated chatter that belongs to no topic at all."),
]


def points(rows=ROWS, new=()):
    frame = pl.DataFrame(
        {
            "claim_id": [r[0] for r in rows],
            "comment_id": [r[1] for r in rows],
            "real_author": [r[2] for r in rows],
            "author": [r[2] for r in rows],
            "cluster": [r[3] for r in rows],
            "topic": [r[3] for r in rows],
            "side": [r[4] for r in rows],
            "x": [r[5] for r in rows],
            "y": [r[6] for r in rows],
            "text": [r[7] for r in rows],
            "thread_id": ["t"] * len(rows),
            "new": [r[0] in new for r in rows],
        },
        schema_overrides={"cluster": pl.Int32, "topic": pl.Int32},
    )
    return frame.with_row_index("index")


def labels(themes=None):
    frame = pl.DataFrame(
        {
            "cluster": [0, 1, 2, -1],
            "topic": [0, 1, 2, -1],
            "topic_label": ["theft · paid", "export · controls", "meeting · votes", "Unclustered"],
            "key_claims": [["a4", "a1"], ["b1"], ["c1"], []],
            "n_claims": [6, 4, 1, 1],
        },
        schema_overrides={"cluster": pl.Int32, "topic": pl.Int32},
    )
    if themes is not None:
        frame = frame.with_columns(
            pl.Series("theme", themes, dtype=pl.Int32),
            pl.Series("theme_label", ["law", "law", "meetings", "Unclustered"][: frame.height]),
            pl.Series("theme_claim", ["a1", "a1", "c1", None]),
        )
    return frame


def rows_of(pts=None, lab=None, **kw):
    pts = points() if pts is None else pts
    return overview.topic_rows(pts, pts, labels() if lab is None else lab, None, ReportParams(**kw), min_words=8)


@pytest.mark.parametrize(
    "pro, con, sided, kind",
    [
        (0, 4, 4, "one-sided"),  # (0+1)/(4+2) = 0.17 < 0.25
        (2, 2, 4, "contested"),
        (1, 3, 4, "contested"),  # (1+1)/(4+2) = 0.33: the smoothing gives a small side its due
        (1, 0, 1, "few"),  # one author is no consensus
        (0, 0, 0, "none"),
    ],
)
def test_the_call_is_smoothed_as_polis_does(pro, con, sided, kind):
    assert overview.call(pro, con, sided, 3, 0.25)["kind"] == kind


def test_counts_per_topic_and_side_order_and_calls():
    rows = rows_of()
    assert [r["topic"] for r in rows] == [0, 1, 2]  # by distinct authors: 5, 4, 1; unclustered left out
    first = rows[0]
    sides = {s["side"]: s for s in first["sides"]}
    assert [s["side"] for s in first["sides"]] == ["pro", "con", "neither"]
    assert (sides["pro"]["claims"], sides["pro"]["authors"]) == (4, 3)
    assert (sides["con"]["claims"], sides["con"]["comments"], sides["con"]["authors"]) == (2, 2, 2)
    assert (first["claims"], first["comments"], first["authors"]) == (7, 5, 5)
    assert first["call"]["kind"] == "contested"  # 3 against 2 authors
    assert rows[1]["call"] == {"kind": "one-sided", "text": "one-sided (con)", "lean": "con", "pro_share": 0.167}
    assert {s["side"]: s["claims"] for s in rows[1]["sides"]} == {"pro": 0, "con": 4, "neither": 0}  # zeros shown
    assert rows[2]["call"]["kind"] == "none"
    # the topic reads as its most central claim, not as keywords
    assert first["statement"] == ROWS[4][7] and first["label"] == "theft · paid"


def test_best_quote_prefers_key_claims_then_the_centre_and_fuller_claims():
    sides = {s["side"]: s for s in rows_of()[0]["sides"]}
    assert sides["con"]["quote"]["claim_id"] == "a4"  # the topic's key claim on that side
    assert sides["pro"]["quote"]["claim_id"] == "a1"
    assert sides["neither"]["quote"] is None  # neither is quoted only where no side is taken
    # without key claims: the full-length claim nearest the side's centre ("It is theft." sits on the
    # centre but is too short)
    no_keys = labels().with_columns(pl.Series("key_claims", [[], [], [], []], dtype=pl.List(pl.Utf8)))
    quote = {s["side"]: s for s in rows_of(lab=no_keys)[0]["sides"]}["pro"]["quote"]
    assert quote["claim_id"] == "a2"


def test_new_claims_are_counted_per_topic_and_side():
    pts = points(new=("a2", "b3"))
    rows = rows_of(pts)
    assert rows[0]["new"] == 1 and {s["side"]: s["new"] for s in rows[0]["sides"]}["pro"] == 1
    assert rows[1]["new"] == 1


def test_too_few_authors_are_never_called():
    assert rows_of(consensus_min_authors=6)[0]["call"]["kind"] == "few"


def test_themes_group_topics_and_count_distinct_authors_once():
    pts = points()
    lab = labels(themes=[0, 0, 1, -1])
    themes = overview.theme_groups(rows_of(pts, lab), lab, pts, pts)
    assert [g["theme"] for g in themes] == [0, 1]
    law = themes[0]
    assert [t["topic"] for t in law["topics"]] == [0, 1] and law["label"] == "law"
    assert law["authors"] == 7  # ann and bob are in both topics
    assert law["claims"] == 11 and law["sides"] == {"pro": 4, "con": 6, "neither": 1}
    assert law["statement"] == ROWS[0][7]  # the theme's central claim
    flat = overview.theme_groups(rows_of(pts), labels(), pts, pts)  # no theme column: one per topic
    assert [len(g["topics"]) for g in flat] == [1, 1, 1]


def test_markdown_is_inert_and_one_line():
    nasty = "<script>alert(1)</script> | a*b_c [x](javascript:y) `code`\nnext line"
    out = md(nasty)
    assert "<" not in out and ">" not in out and "\n" not in out
    assert "\\|" in out and "\\*" in out and "\\[" in out and "\\`" in out
    assert md("x" * 50, 10) == "x" * 9 + "…"


def test_summary_has_a_row_per_topic_and_the_quotes():
    pts = points()
    rows = rows_of(pts)
    themes = overview.theme_groups(rows, labels(), pts, pts)
    metrics = {"claims": 13, "comments": 11, "threads": 1}
    text = markdown("Stance <map>", "2026-01-01T00:00:00Z", metrics, themes, "Sides are toward X.", [])
    lines = text.splitlines()
    assert lines[0] == "# Stance &lt;map&gt;: positions"
    table = [line for line in lines if line.startswith("| ") and not line.startswith("| theme")]
    assert len(table) == 3 and table[0].split(" | ")[1].startswith("0: theft")
    assert "contested" in table[0] and "one\\-sided" not in text and "one-sided (con)" in table[1]
    assert "### Topic 0:" in text and "“Distillation of a rival model is plain theft of its work.” — ann" in text
