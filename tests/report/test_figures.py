"""The Plotly figures: stance map, hover text, threads chart."""

import html
import textwrap

import plotly.graph_objects as go
import polars as pl
import pytest

from stancemap.report import data as pagedata
from stancemap.report.figures import (
    MAX_TOPIC_LABELS,
    PALETTE,
    UNCLUSTERED_COLOUR,
    hover_text,
    stance_map,
    threads_chart,
    wrap,
)
from stancemap.report.maplayers import LIGHTEST, map_colours, shade, short
from tests.report.helpers import HOSTILE, points_of, tables


def test_hover_text_escapes_markup():
    text = hover_text("<script>x</script>", "<b>me</b>", "t<1>", "a & b", 280)
    assert "<script>" not in text and "&lt;script&gt;" in text and "&lt;b&gt;me" in text and "a &amp; b" in text


def test_hover_lines_wrap_at_spaces_like_textwrap_and_cut_long_words():
    words = ["a", "bb", "ccc", "dddddddd", "e" * 30, "x-y", "é", "🙂", "end."]
    for n in range(0, 60, 3):
        text = " ".join(words[(i * 7) % len(words)] for i in range(n))
        assert wrap(text) == textwrap.wrap(text, 70, break_on_hyphens=False)
    assert wrap("  a \n b\t c ") == ["a b c"]
    assert wrap("w" * 150) == ["w" * 70, "w" * 70, "w" * 10]
    assert wrap("") == []


@pytest.mark.parametrize("sides", [False, True])
def test_the_map_traces_pass_plotlys_own_checks(tmp_path, sides):
    """stance_map builds its traces without plotly's per-element validation (speed): the same
    figure must pass it, every property and every array element."""
    claims, comments, clusters, labels = tables(tmp_path, HOSTILE)
    if sides:
        claims = claims.with_columns(stance=pl.Series((["pro", "con", None] * claims.height)[: claims.height]))
        clusters = clusters.with_columns(new=pl.Series([i % 2 == 0 for i in range(clusters.height)]))
    built = stance_map(points_of(claims, comments, clusters), labels).to_dict()
    checked = go.Figure(built).to_dict()  # validating constructor: raises on any invalid value
    assert checked["data"] == built["data"]
    assert any("line" in t["marker"] for t in checked["data"]) == sides


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


def _points(clusters, xs, ys, sides=None):
    n = len(clusters)
    table = {
        "index": range(n),
        "claim_id": [f"c{i}" for i in range(n)],
        "cluster": clusters,
        "x": [float(x) for x in xs],
        "y": [float(y) for y in ys],
        "text": [f"claim {i}" for i in range(n)],
        "author": [None] * n,
        "thread_id": ["th"] * n,
    }
    if sides is not None:
        table["side"] = sides
    return pl.DataFrame(table, schema_overrides={"cluster": pl.Int32, "side": pl.Utf8})


def _labels(rows):
    """rows: (cluster, topic, side, topic_label, label)"""
    cluster, topic, side, topic_label, label = (list(c) for c in zip(*rows, strict=True))
    return pl.DataFrame(
        {"cluster": cluster, "topic": topic, "side": side, "topic_label": topic_label, "label": label},
        schema={"cluster": pl.Int32, "topic": pl.Int32, "side": pl.Utf8, "topic_label": pl.Utf8, "label": pl.Utf8},
    )


HOSTILE_TOPIC = "<script>window.__pwned=1</script> theft & <b>copying</b> the lab's work"


def _two_topics():
    """Topic 0 has two sides (clusters 0 pro, 1 con; 5 claims); topic 1 one cluster (2; 3 claims)."""
    clusters = [0, 0, 0, 1, 1, 2, 2, 2, -1]
    points = _points(clusters, [0, 1, 2, 3, 4, 10, 11, 15, 5], [0, 0, 1, 1, 9, 5, 6, 7, 5])
    labels = _labels(
        [
            (-1, -1, None, "Unclustered", "Unclustered"),
            (0, 0, "pro", HOSTILE_TOPIC, "theft (pro)"),
            (1, 0, "con", HOSTILE_TOPIC, "theft (con)"),
            (2, 1, None, "export · controls", "export · controls"),
        ]
    )
    return points, labels


def test_clusters_of_one_topic_share_its_colour_and_legend_group():
    points, labels = _two_topics()
    fig = stance_map(points, labels).to_dict()
    data = fig["data"]
    assert [t["meta"] for t in data] == [
        {"cluster": 0, "topic": 0, "theme": -1},
        {"cluster": 1, "topic": 0, "theme": -1},
        {"cluster": 2, "topic": 1, "theme": -1},
        {"cluster": -1, "topic": -1, "theme": -1},
    ]
    assert [t["customdata"] for t in data] == [[0, 1, 2], [3, 4], [5, 6, 7], [8]]
    colours = [t["marker"]["color"] for t in data]
    assert colours[0] == colours[1] == PALETTE[0] and colours[2] == PALETTE[1] and colours[3] == UNCLUSTERED_COLOUR
    assert data[0]["legendgroup"] == data[1]["legendgroup"] != data[2]["legendgroup"]
    assert "legendgroup" not in data[3]  # unclustered stands alone
    # the topic titles its group once; the entries are its sides
    assert "legendgrouptitle" in data[0] and "legendgrouptitle" not in data[1]
    assert [t["name"] for t in data[:2]] == ["pro (3)", "con (2)"]
    # a one-cluster topic whose label is its cluster's: the entry says it all, no title repeats it
    assert data[2]["name"] == "2: export · controls (3)" and "legendgrouptitle" not in data[2]
    assert fig["layout"]["legend"]["groupclick"] == "toggleitem"


def test_hostile_topic_labels_are_escaped_in_annotations_and_legend_titles():
    points, labels = _two_topics()
    fig = stance_map(points, labels).to_dict()
    title = fig["data"][0]["legendgrouptitle"]["text"]
    assert title == html.escape(HOSTILE_TOPIC)
    texts = [a["text"] for a in fig["layout"]["annotations"]]
    assert texts[0] == html.escape(HOSTILE_TOPIC[:31].rstrip()) + "…"  # cut before escaping: no entity halved
    for text in [title, *texts]:
        assert "<script" not in text and "<b>" not in text
    assert "&lt;script&gt;" in texts[0]


def test_one_label_per_topic_at_its_centre_largest_first():
    points, labels = _two_topics()
    layout = stance_map(points, labels).to_dict()["layout"]
    notes = layout["annotations"]
    assert layout["meta"] == {"theme_labels": [], "topic_labels": [0, 1]}  # 5 claims, then 3; none for unclustered
    assert [a["name"] for a in notes] == ["topic-label", "topic-label"]
    assert [(a["x"], a["y"]) for a in notes] == [(2.0, 1.0), (11.0, 6.0)]  # median of the topic's claims
    assert notes[1]["text"] == "export · controls"
    assert all(a["showarrow"] is False and a["xref"] == "x" and a["yref"] == "y" for a in notes)
    assert [a["bordercolor"] for a in notes] == [PALETTE[0], PALETTE[1]]
    # order by size, whatever the topic ids
    big = _points([2] * 6 + [0], range(7), range(7))
    labels = _labels([(0, 0, None, "small", "small"), (2, 1, None, "big", "big")])
    layout = stance_map(big, labels).to_dict()["layout"]
    assert layout["meta"]["topic_labels"] == [1, 0] and [a["text"] for a in layout["annotations"]] == ["big", "small"]


def test_labels_without_topics_use_the_clusters_and_only_the_largest_topics_get_labels(tmp_path):
    claims, comments, clusters, labels = tables(tmp_path, HOSTILE)  # no topic columns: each cluster its own topic
    layout = stance_map(points_of(claims, comments, clusters), labels).to_dict()["layout"]
    assert sorted(layout["meta"]["topic_labels"]) == [0, 1]
    assert "&lt;i&gt;theft&lt;/i&gt; · paid" in [a["text"] for a in layout["annotations"]]
    n = MAX_TOPIC_LABELS + 10
    many = _points(list(range(n)) * 2, range(2 * n), range(2 * n))
    layout = stance_map(many, pl.DataFrame({"cluster": range(n), "label": [f"t{i}" for i in range(n)]})).to_dict()
    assert len(layout["layout"]["annotations"]) == MAX_TOPIC_LABELS


HOSTILE_THEME = "<img src=x onerror=alert(1)> law & order"


def _themed():
    """Topics 0 (clusters 0 pro, 1 con; 5 claims) and 2 (cluster 3; 2 claims) make theme 0; topic 1
    (cluster 2; 3 claims) is theme 1 alone."""
    clusters = [0, 0, 0, 1, 1, 2, 2, 2, 3, 3, -1]
    points = _points(clusters, [0, 1, 2, 3, 4, 10, 11, 15, 1, 2, 5], [0, 0, 1, 1, 9, 5, 6, 7, 2, 2, 5])
    rows = [
        (-1, -1, None, "Unclustered", "Unclustered", -1, "Unclustered"),
        (0, 0, "pro", "theft", "theft (pro)", 0, HOSTILE_THEME),
        (1, 0, "con", "theft", "theft (con)", 0, HOSTILE_THEME),
        (2, 1, None, "export · controls", "export · controls", 1, "export · controls"),
        (3, 2, None, "contract · breach", "contract · breach", 0, HOSTILE_THEME),
    ]
    cols = list(zip(*rows, strict=True))
    labels = pl.DataFrame(
        dict(zip(["cluster", "topic", "side", "topic_label", "label", "theme", "theme_label"], cols, strict=True)),
        schema={
            "cluster": pl.Int32,
            "topic": pl.Int32,
            "side": pl.Utf8,
            "topic_label": pl.Utf8,
            "label": pl.Utf8,
            "theme": pl.Int32,
            "theme_label": pl.Utf8,
        },
    )
    topics = {-1: -1, 0: 0, 1: 0, 2: 1, 3: 2}
    return points.with_columns(pl.col("cluster").replace_strict(topics).alias("topic")), labels


def test_with_themes_the_map_reads_theme_topic_side():
    points, labels = _themed()
    fig = stance_map(points, labels).to_dict()
    data = {t["meta"]["cluster"]: t for t in fig["data"]}
    # a theme's topics share its hue: the largest in full, the smaller lighter; sides share the topic's
    assert data[0]["marker"]["color"] == data[1]["marker"]["color"] == PALETTE[0]
    assert data[3]["marker"]["color"] == shade(PALETTE[0], LIGHTEST) != PALETTE[0]
    assert data[2]["marker"]["color"] == PALETTE[1] and data[-1]["marker"]["color"] == UNCLUSTERED_COLOUR
    # the legend is grouped by theme, titled once with the theme's (escaped) label
    assert data[0]["legendgroup"] == data[1]["legendgroup"] == data[3]["legendgroup"] == "theme-0"
    assert data[2]["legendgroup"] == "theme-1"
    assert data[0]["legendgrouptitle"]["text"] == html.escape(HOSTILE_THEME)
    assert "legendgrouptitle" not in data[1] and "legendgrouptitle" not in data[3]
    assert data[0]["name"] == "0: theft · pro (3)" and data[1]["name"] == "0: theft · con (2)"
    assert [t["meta"]["theme"] for t in fig["data"]] == [0, 0, 1, 0, -1]
    # the theme of two topics gets a label, before every topic label; a theme of one topic does not
    layout = fig["layout"]
    assert layout["meta"] == {"theme_labels": [0], "topic_labels": [0, 1, 2]}
    notes = layout["annotations"]
    assert [a["name"] for a in notes] == ["theme-label", "topic-label", "topic-label", "topic-label"]
    assert notes[0]["text"] == "<b>" + html.escape(short(HOSTILE_THEME)) + "</b>" and "<img" not in notes[0]["text"]
    assert (notes[0]["x"], notes[0]["y"]) == (2.0, 1.0)  # the median of the theme's 7 claims
    assert notes[0]["font"]["size"] > notes[1]["font"]["size"]
    # the page's other parts use the same colours
    clusters, topics = map_colours(points, labels)
    assert clusters == {c: t["marker"]["color"] for c, t in data.items()}
    assert topics == {0: PALETTE[0], 1: PALETTE[1], 2: shade(PALETTE[0], LIGHTEST)}


def test_a_topic_named_as_its_theme_gets_no_second_label():
    points, labels = _themed()
    labels = labels.with_columns(
        pl.when(pl.col("theme") == 0).then(pl.lit("theft")).otherwise(pl.col("theme_label")).alias("theme_label")
    )
    layout = stance_map(points, labels).to_dict()["layout"]
    assert layout["meta"] == {"theme_labels": [0], "topic_labels": [1, 2]}  # topic 0 is "theft" too
    assert [a["text"] for a in layout["annotations"]][:2] == ["<b>theft</b>", "export · controls"]


def test_as_many_themes_as_topics_adds_no_level():
    points, labels = _themed()
    labels = labels.with_columns(pl.col("topic").alias("theme"))
    fig = stance_map(points, labels).to_dict()
    assert {t.get("legendgroup") for t in fig["data"]} == {"topic-0", "topic-1", "topic-2", None}
    assert fig["layout"]["meta"]["theme_labels"] == []
    assert shade("#000000", 0.5) == "#808080" and shade("#1f77b4", 0) == "#1f77b4"
