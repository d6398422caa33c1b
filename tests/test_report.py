import json
import re

import polars as pl
import pytest

from pipeline.config import Params, SegmentParams
from pipeline.ingest import expand_inputs, ingest
from pipeline.report.figures import hover_text, stance_map
from pipeline.report.render import build_report, script_json
from pipeline.segment import load_nlp, segment
from tests.conftest import write_jsonl

HOSTILE = [
    "<script>window.__pwned = 1</script> Distillation is theft of the lab's work.",
    "</script><script>window.__pwned = 2</script> They paid for every token they used.",
    '<img src=x onerror="window.__pwned=3"> Export controls are a national security matter.',
    "{{ 7*7 }} and {% raw %} template syntax; the labs scraped the web without asking.",
    "Right-to-left \u202eevil override\u202c and zero\u200bwidth text in a claim about theft.",
    '<a href="javascript:window.__pwned=4">click me</a> fair use is transformative learning.',
    "<style>body{display:none}</style> Terms of service breaches are a contract matter.",
    "Emoji \U0001f916\U0001f525 and line\u2028separators in an argument about imitation.",
]


def tables(tmp_path, texts):
    records = [
        {
            "id": i,
            "parent": i - 1 if i else None,
            "author": f"<b>user{i}</b>\u202e",
            "time": 0,
            "text": t,
            "url": "javascript:alert(1)" if i == 0 else f"https://example.org/c/{i}",
        }
        for i, t in enumerate(texts)
    ]
    comments, _ = ingest(expand_inputs([write_jsonl(tmp_path / "hostile.jsonl", records)]))
    claims = segment(comments, load_nlp("blank"), SegmentParams())
    n = claims.height
    clusters = pl.DataFrame(
        {
            "claim_id": claims["claim_id"],
            "cluster": [i % 2 if i < n - 1 else -1 for i in range(n)],
            "probability": [1.0] * n,
            "x": [float(i) for i in range(n)],
            "y": [float(i % 3) for i in range(n)],
        },
        schema={"claim_id": pl.Utf8, "cluster": pl.Int32, "probability": pl.Float32, "x": pl.Float32, "y": pl.Float32},
    )
    labels = pl.DataFrame(
        {
            "cluster": [0, 1, -1],
            "label": ["<i>theft</i> · paid", "security", "Unclustered"],
            "keywords": [["<i>theft</i>"], ["security"], []],
            "key_claims": [[claims["claim_id"][0]], [claims["claim_id"][1]], []],
            "n_claims": [1, 1, 1],
            "n_comments": [1, 1, 1],
            "n_authors": [1, 1, 1],
        },
        schema={
            "cluster": pl.Int32,
            "label": pl.Utf8,
            "keywords": pl.List(pl.Utf8),
            "key_claims": pl.List(pl.Utf8),
            "n_claims": pl.Int32,
            "n_comments": pl.Int32,
            "n_authors": pl.Int32,
        },
    )
    return claims, comments, clusters, labels


def test_script_json_cannot_close_its_script_element():
    nasty = {"t": "</script><script>alert(1)</script>\u2028<!--"}
    encoded = script_json(nasty)
    assert "<" not in encoded and ">" not in encoded and "\u2028" not in encoded
    assert json.loads(encoded) == nasty


def test_hover_text_escapes_markup():
    text = hover_text("<script>x</script>", "<b>me</b>", "t<1>", "a & b", 280)
    assert "<script>" not in text and "&lt;script&gt;" in text and "&lt;b&gt;me" in text and "a &amp; b" in text


def test_figure_has_a_trace_per_cluster_and_customdata(tmp_path):
    claims, comments, clusters, labels = tables(tmp_path, HOSTILE)
    points = (
        claims.join(clusters, on="claim_id")
        .join(comments.select("comment_id", "author", "thread_id"), on="comment_id")
        .with_row_index("index")
    )
    fig = stance_map(points, labels).to_dict()
    assert [t["meta"]["cluster"] for t in fig["data"]] == [0, 1, -1]
    assert sum(len(t["x"]) for t in fig["data"]) == claims.height
    assert all(t["type"] == "scatter" for t in fig["data"])
    assert fig["data"][0]["name"].startswith("0: &lt;i&gt;theft")
    for trace in fig["data"]:
        for hover in trace["hovertext"]:
            assert "<script" not in hover and "<img" not in hover


def test_page_is_self_contained_and_keeps_hostile_text_inert(tmp_path):
    claims, comments, clusters, labels = tables(tmp_path, HOSTILE)
    page, metrics = build_report(claims, comments, clusters, labels, Params())
    assert metrics["claims"] == claims.height and metrics["clusters"] == 2
    # no external resources: every <script> is inline, nothing is fetched
    assert not re.search(r"<script[^>]*\bsrc=", page)
    assert not re.search(r"<link[^>]*\bhref=", page)
    assert "default-src 'none'" in page
    # the comment text never appears as markup
    for needle in ["<script>window.__pwned", "<img src=x", "<style>body{display:none}", '<a href="javascript:']:
        assert needle not in page
    assert "&lt;i&gt;theft&lt;/i&gt;" in page  # cluster label escaped by the template
    assert page.count("</script>") == page.count("<script")  # nothing closed a script early


@pytest.mark.parametrize("size", [1, 12_000])
def test_large_maps_switch_to_webgl(size):
    points = pl.DataFrame(
        {
            "index": range(size),
            "claim_id": [f"c{i}" for i in range(size)],
            "cluster": [0] * size,
            "x": [0.0] * size,
            "y": [0.0] * size,
            "text": ["t"] * size,
            "author": [None] * size,
            "thread_id": ["th"] * size,
        }
    )
    labels = pl.DataFrame({"cluster": [0], "label": ["x"]})
    kind = stance_map(points, labels).to_dict()["data"][0]["type"]
    assert kind == ("scattergl" if size > 5000 else "scatter")
