"""The Plotly figures: stance map, hover text, threads chart."""

import polars as pl
import pytest

from stancemap.report import data as pagedata
from stancemap.report.figures import hover_text, stance_map, threads_chart
from tests.report.helpers import HOSTILE, points_of, tables


def test_hover_text_escapes_markup():
    text = hover_text("<script>x</script>", "<b>me</b>", "t<1>", "a & b", 280)
    assert "<script>" not in text and "&lt;script&gt;" in text and "&lt;b&gt;me" in text and "a &amp; b" in text


def test_figure_has_a_trace_per_cluster_and_customdata(tmp_path):
    claims, comments, clusters, labels = tables(tmp_path, HOSTILE)
    fig = stance_map(points_of(claims, comments, clusters), labels).to_dict()
    assert [t["meta"]["cluster"] for t in fig["data"]] == [0, 1, -1]
    assert sum(len(t["x"]) for t in fig["data"]) == claims.height
    assert all(t["type"] == "scatter" for t in fig["data"])
    assert all("symbol" not in t["marker"] for t in fig["data"])  # no sides yet: plain circles
    assert fig["data"][0]["name"].startswith("0: &lt;i&gt;theft")
    for trace in fig["data"]:
        for hover in trace["hovertext"]:
            assert "<script" not in hover and "<img" not in hover


def test_sides_set_marker_symbols_and_the_panel_split_when_a_stance_column_exists(tmp_path):
    claims, comments, clusters, labels = tables(tmp_path, HOSTILE)
    sides = ["pro", "con", None] * claims.height
    claims = claims.with_columns(stance=pl.Series(sides[: claims.height], dtype=pl.Utf8))
    points = points_of(claims, comments, clusters)
    fig = stance_map(points, labels).to_dict()
    first = points.filter(pl.col("cluster") == 0)["side"].to_list()
    assert fig["data"][0]["marker"]["symbol"] == [
        {"pro": "triangle-up", "con": "triangle-down"}.get(s, "circle") for s in first
    ]
    panel = pagedata.cluster_panel(points, labels)
    assert panel[0]["sides"] == {s: first.count(s) for s in set(first) - {None}}


def test_threads_chart_stacks_each_threads_share_per_cluster():
    threads = [{"thread": "<b>t</b>", "source": "jsonl", "n_claims": 4, "clusters": {0: 3, -1: 1}}]
    fig = threads_chart(threads, {0: "zero", -1: "Unclustered"}).to_dict()
    assert [t["x"][0] for t in fig["data"]] == [75.0, 25.0]
    assert fig["data"][0]["y"] == ["&lt;b&gt;t&lt;/b&gt; (jsonl)"]


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
