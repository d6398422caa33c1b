import json
import re
from pathlib import Path

import polars as pl
import pytest

from stancemap import cluster as cluster_stage
from stancemap import embed as embed_stage
from stancemap import ingest as ingest_stage
from stancemap import label as label_stage
from stancemap import report as report_stage
from stancemap import segment as segment_stage
from stancemap.config import Params, SegmentParams, load_params
from stancemap.errors import ConfigError
from stancemap.ingest import expand_inputs, ingest
from stancemap.report import data as pagedata
from stancemap.report.figures import hover_text, reply_graph, stance_map, threads_chart
from stancemap.report.graph import cluster_replies, reply_edges, reply_nodes
from stancemap.report.provenance import author_names, run_date
from stancemap.report.render import build_report, script_json, web_url
from stancemap.schemas import ARTIFACTS
from stancemap.segment import load_nlp, segment
from stancemap.stages import Layout
from tests.conftest import TOPICS, FakeEmbedder, write_jsonl

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
MORE_HOSTILE = [
    '<svg onload="window.__pwned=5"></svg> ${window.__pwned=6} `${x}` <!-- a comment --> is still theft.',
    '<iframe src="https://evil.example/"></iframe></textarea><link rel=stylesheet href=https://evil.example/x.css> '
    "export controls leak.",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467 family emoji, \u202bembedded RTL\u202c and \u2066isolates\u2069 "
    "in a fair use argument.",
    '=HYPERLINK("https://evil.example","x") spreadsheet formulas must not run in the CSV download.',
]
BIG = 1_000_000  # characters in the one huge comment


def hostile_records() -> list[dict]:
    """Hostile comments (markup, scripts, bidi controls, zero-width names, a 1 MB comment) mixed into
    the three-topic debate, with replies between them and hostile URLs."""
    texts = HOSTILE + MORE_HOSTILE + [t for topic in TOPICS.values() for t in topic]
    records = []
    for i, text in enumerate(texts):
        records.append(
            {
                "id": f"h{i}",
                "parent": f"h{i - 1}" if i % 4 else None,
                "author": ["<b>mallory</b>", "eve\u202etxt.exe", "zero\u200bwidth", "\U0001f608 devil", "{{ name }}"][
                    i % 5
                ],
                "time": 1771941791 + 60 * i,
                "text": text,
                "thread": "<i>hostile</i>-thread" if (i // 4) % 2 else "plain-thread",
                "url": [
                    "javascript:window.__pwned=7",
                    "data:text/html,<script>alert(1)</script>",
                    f"https://example.org/c/{i}",
                    "  https://example.org/spaces",
                ][i % 4],
            }
        )
    # a pasted log: one short claim, then a megabyte with no sentence break (one huge claim)
    big = ("Theft is theft at any length. " + "log line without an end " * (BIG // 24 + 1))[:BIG]
    records.append(
        {
            "id": "big",
            "parent": "h0",
            "author": "verbose",
            "time": 1771950000,
            "text": big,
            "thread": "plain-thread",
            "url": "https://example.org/big",
        }
    )
    return records


def hostile_run(folder: Path, overrides: tuple[str, ...] = ()) -> Layout:
    """The real stages on the hostile corpus: ingest, segment (spaCy blank), embed (fake), cluster,
    label, report. Returns where everything went."""
    at = Layout(folder)
    at.raw.mkdir(parents=True, exist_ok=True)
    write_jsonl(at.raw / "hostile.jsonl", hostile_records())
    (at.raw / "dump.txt").write_text(
        "> </script><script>window.__pwned=8</script>\n<b>bold</b> claims about theft and the paid tokens.\n"
        "\u202eevil right to left line about the national security matter\n",
        encoding="utf-8",
    )
    p = load_params(None, ["cluster.min_cluster_size=3", *overrides])
    ingest_stage.run(inputs=[at.raw], out=at.comments, threads=at.threads, sources=at.sources)
    segment_stage.run(p.segment, comments=at.comments, out=at.claims)
    embed_stage.run(p.embed, claims=at.claims, out=at.embeddings, embedder=FakeEmbedder())
    cluster_stage.run(p.cluster, seed=p.seed, embeddings=at.embeddings, out=at.clusters)
    label_stage.run(
        p.label, claims=at.claims, comments=at.comments, clusters=at.clusters, embeddings=at.embeddings, out=at.labels
    )
    report_stage.run(
        p, claims=at.claims, comments=at.comments, clusters=at.clusters, labels=at.labels, out=at.report,
        metrics=at.metrics, threads=at.threads, sources=at.sources,
    )
    return at


def tables(tmp_path, texts):
    records = [
        {
            "id": i,
            "parent": i - 1 if i else None,
            "author": f"<b>user{i % 3}</b>\u202e",
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


def points_of(claims, comments, clusters, mode="show"):
    return pagedata.points_table(claims, comments, clusters, author_names(comments["author"], mode))


def test_script_json_cannot_close_its_script_element():
    nasty = {"t": "</script><script>alert(1)</script>\u2028<!--"}
    encoded = script_json(nasty)
    assert "<" not in encoded and ">" not in encoded and "\u2028" not in encoded
    assert json.loads(encoded) == nasty


def test_hover_text_escapes_markup():
    text = hover_text("<script>x</script>", "<b>me</b>", "t<1>", "a & b", 280)
    assert "<script>" not in text and "&lt;script&gt;" in text and "&lt;b&gt;me" in text and "a &amp; b" in text


@pytest.mark.parametrize(
    "url, ok",
    [
        ("https://example.org/x", True),
        ("HTTP://a.b", True),
        ("javascript:alert(1)", False),
        ("data:text/html,x", False),
        (" https://a.b", False),
        (None, False),
        ("https://a.b/x y", False),
    ],
)
def test_only_web_urls_become_links(url, ok):
    assert web_url(url) is ok


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


def test_cluster_panel_has_every_cluster_threads_authors_and_no_sides_yet(tmp_path):
    claims, comments, clusters, labels = tables(tmp_path, HOSTILE)
    points = points_of(claims, comments, clusters)
    panel = pagedata.cluster_panel(points, labels.filter(pl.col("cluster") >= 0))  # -1 missing from labels
    assert [c["cluster"] for c in panel] == [0, 1, -1]
    assert panel[-1]["label"] == "Unclustered"
    assert sum(c["n_claims"] for c in panel) == claims.height
    assert all(c["sides"] is None for c in panel)
    assert panel[0]["threads"] == [["hostile", panel[0]["n_claims"]]]
    assert panel[0]["n_authors"] == points.filter(pl.col("cluster") == 0)["real_author"].n_unique()
    assert panel[0]["key_claims"] == [0]


def test_reply_counts_between_clusters_are_per_comment_pair():
    # comment b (claims in clusters 1 and 2) replies to a (claims in 0, 0); c (cluster 0) replies to b;
    # d (unclustered) replies to a: left out
    points = pl.DataFrame(
        {
            "comment_id": ["a", "a", "b", "b", "b", "c", "d"],
            "cluster": [0, 0, 1, 2, 2, 0, -1],
            "x": [0.0, 2.0, 4.0, 6.0, 6.0, 0.0, 1.0],
            "y": [0.0] * 7,
        }
    )
    comments = pl.DataFrame({"comment_id": ["a", "b", "c", "d"], "parent_id": [None, "a", "b", "a"]})
    replies = cluster_replies(points, comments)
    assert replies.select("source", "target", "replies").rows() == [(0, 1, 1), (0, 2, 1), (1, 0, 1), (2, 0, 1)]
    edges = reply_edges(replies)
    assert edges.select("a", "b", "a_to_b", "b_to_a", "total").rows() == [(0, 1, 1, 1, 2), (0, 2, 1, 1, 2)]
    assert edges["rebuttals"].null_count() == edges.height  # no stance, no rebuttals
    nodes = reply_nodes(points, replies, {0: "zero", 1: "one", 2: "two"})
    assert nodes.select("cluster", "n_claims", "label", "within").rows() == [
        (0, 3, "zero", 0),
        (1, 1, "one", 0),
        (2, 2, "two", 0),
    ]
    fig = reply_graph(nodes, edges).to_dict()
    assert fig["data"][-1]["customdata"] == [0, 1, 2]
    assert "rebuttals: not computed" in fig["data"][-2]["hovertext"][0]


def test_rebuttals_are_replies_between_opposite_sides():
    # cluster 0 is pro, 1 con, 2 neither: b (clusters 1, 2) replies to a (cluster 0)
    points = pl.DataFrame(
        {
            "comment_id": ["a", "b", "b"],
            "cluster": [0, 1, 2],
            "side": ["pro", "con", "neither"],
            "x": [0.0, 1.0, 2.0],
            "y": [0.0] * 3,
        }
    )
    comments = pl.DataFrame({"comment_id": ["a", "b"], "parent_id": [None, "a"]})
    edges = reply_edges(cluster_replies(points, comments))
    assert edges.select("a", "b", "total", "rebuttals").rows() == [(0, 1, 1, 1), (0, 2, 1, 0)]


def test_without_sides_the_reply_detector_counts_rebuttals():
    # b and c reply to a; the detector says b rebuts a; c agrees
    points = pl.DataFrame(
        {"comment_id": ["a", "b", "c"], "cluster": [0, 1, 1], "x": [0.0, 1.0, 1.0], "y": [0.0] * 3}
    )
    comments = pl.DataFrame(
        {
            "comment_id": ["a", "b", "c"],
            "thread_id": ["t"] * 3,
            "parent_id": [None, "a", "a"],
            "author": ["ann", "bob", "cat"],
            "text": [
                "Distillation of a rival's model is theft of its work.",
                "No, that is not theft. They paid for every answer they used.",
                "Agreed, it is theft and the terms said so.",
            ],
            "quotes": [[], [], []],
            "is_deleted": [False] * 3,
        },
        schema_overrides={"quotes": pl.List(pl.Struct({"start": pl.Int32, "end": pl.Int32, "quoted_id": pl.Utf8}))},
    )
    from stancemap.report.render import rebutting_comments
    from stancemap.stance.replies import reply_edges as detect
    from stancemap.stance.stage import replies_table

    rebutting = rebutting_comments(replies_table(comments, detect(comments)))
    assert rebutting == {"b"}
    assert rebutting_comments(None) is None  # no replies table (an older workdir): not computed
    edges = reply_edges(cluster_replies(points, comments, rebutting))
    assert edges.select("a", "b", "total", "rebuttals").rows() == [(0, 1, 2, 1)]
    # sides toward each thread's opening post mark claims but do not split clusters: cluster 1 holds
    # both sides, so rebuttals still come from the detector, not from comparing cluster sides
    mixed = points.with_columns(pl.Series("side", ["pro", "con", "pro"]))
    edges = reply_edges(cluster_replies(mixed, comments, rebutting))
    assert edges.select("a", "b", "total", "rebuttals").rows() == [(0, 1, 2, 1)]


def test_the_reports_rebuttals_follow_the_stance_stages_reply_prior(tmp_path):
    """The bug this guards: stance.reply_prior moved the sides but not the report's rebuttals, since
    the report reran the reply detector at its own default prior. Now the stance stage writes the
    replies table and the report counts its rebut edges, so both move together."""
    from stancemap.config import StanceParams
    from stancemap.io import read_table, write_table
    from stancemap.schemas import CLUSTERS, LABELS
    from stancemap.stance import stage as stance_stage

    texts = [
        "Distillation of a rival's model is theft of its work.",
        "No, that is not theft. They paid for every answer they used.",  # rebuts: a cue
        "The export rules are a separate question for the lawmakers.",  # no evidence either way
        "Agreed, the export rules matter more than the contract here.",  # agrees: a cue
        "The terms of service forbid training on the outputs anyway.",  # no evidence either way
    ]
    claims, comments, _, _ = tables(tmp_path, texts)
    ids = comments["comment_id"].to_list()
    # one cluster per comment, so each reply is one edge between clusters
    cluster = [ids.index(c) for c in claims["comment_id"]]
    clusters = pl.DataFrame(
        {"claim_id": claims["claim_id"], "cluster": cluster, "topic": cluster, "side": None, "probability": 1.0,
         "x": [float(c) for c in cluster], "y": 0.0, "new": False},
        schema=CLUSTERS,
    )
    first = [claims.filter(pl.col("comment_id") == c)["claim_id"][0] for c in ids]
    labels = pl.DataFrame(
        {"cluster": range(len(ids)), "topic": range(len(ids)), "side": None, "topic_label": "t", "label": "l",
         "keywords": [[]] * len(ids), "key_claims": [[c] for c in first], "n_claims": 1, "n_comments": 1,
         "n_authors": 1},
        schema=LABELS,
    )
    paths = {name: tmp_path / f"{name}.parquet" for name in ["claims", "comments", "clusters", "labels"]}
    for name, table in [("claims", claims), ("comments", comments), ("clusters", clusters), ("labels", labels)]:
        write_table(table, paths[name], name)
    tables_in = {name: paths[name] for name in ["claims", "comments", "clusters", "labels"]}

    def rebuttals(page: str) -> list:
        data = json.loads(re.search(r'id="stancemap-data">(.*?)</script>', page, re.S).group(1))
        assert data["replies"]
        return [e["rebuttals"] for e in data["replies"]]

    found = {}
    for prior in (0.5, 0.8):
        replies_path, page = tmp_path / f"replies-{prior}.parquet", tmp_path / f"map-{prior}.html"
        params = Params(stance=StanceParams(fallback="replies", reply_prior=prior))
        sides = stance_stage.run(
            params.stance, claims=paths["claims"], out=tmp_path / "stances.parquet", comments=paths["comments"],
            replies=replies_path,
        )
        replies = read_table(replies_path, "replies")
        report_stage.run(params, **tables_in, out=page, replies=replies_path)
        expected = replies.filter(pl.col("direct") & (pl.col("relation") == "rebut")).height
        found[prior] = (sum(rebuttals(page.read_text(encoding="utf-8"))), expected, sides)
    assert found[0.5][:2] == (1, 1)  # only the reply that says "No,"
    assert found[0.8][:2] == (3, 3)  # and the two without evidence, which now rebut
    assert not found[0.5][2].equals(found[0.8][2])  # the same prior moved the sides too
    # without a replies table (an older workdir) the page still renders, rebuttals not computed
    report_stage.run(params, **tables_in, out=tmp_path / "old.html")
    assert set(rebuttals((tmp_path / "old.html").read_text(encoding="utf-8"))) == {None}


def test_the_report_never_runs_the_reply_detector():
    from stancemap.report import render

    for module in Path(render.__file__).parent.glob("*.py"):
        text = module.read_text(encoding="utf-8")
        assert "stance.replies" not in text and "stance import replies" not in text, module.name


def test_threads_chart_stacks_each_threads_share_per_cluster():
    threads = [{"thread": "<b>t</b>", "source": "jsonl", "n_claims": 4, "clusters": {0: 3, -1: 1}}]
    fig = threads_chart(threads, {0: "zero", -1: "Unclustered"}).to_dict()
    assert [t["x"][0] for t in fig["data"]] == [75.0, 25.0]
    assert fig["data"][0]["y"] == ["&lt;b&gt;t&lt;/b&gt; (jsonl)"]


def test_authors_pseudonymized_are_stable_and_hidden_are_gone(tmp_path):
    claims, comments, clusters, labels = tables(tmp_path, HOSTILE)
    names = author_names(comments["author"], "pseudonymize")
    assert names == author_names(comments["author"], "pseudonymize")
    assert sorted(names.values()) == ["Author 1", "Author 2", "Author 3"]
    for mode in ["pseudonymize", "hide"]:
        page, _ = build_report(
            claims,
            comments,
            clusters,
            labels,
            load_params(None, [f"report.authors={mode}"]),
            run_date="2026-01-01T00:00:00Z",
        )
        assert "user1" not in page
    with pytest.raises(ConfigError, match="report.authors"):
        load_params(None, ["report.authors=maybe"])


def test_run_date_honours_source_date_epoch():
    assert run_date({"SOURCE_DATE_EPOCH": "1700000000"}) == "2023-11-14T22:13:20Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", run_date({}))
    with pytest.raises(ConfigError, match="SOURCE_DATE_EPOCH"):
        run_date({"SOURCE_DATE_EPOCH": "yesterday"})


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


@pytest.mark.slow  # UMAP's first compile
def test_hostile_pipeline_run_gives_an_inert_report_with_provenance(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    at = hostile_run(tmp_path)
    page = at.report.read_text(encoding="utf-8")
    sources = pl.read_parquet(at.sources)
    for sha in sources["sha256"]:
        assert sha in page  # every input file's hash is in the method section
    assert "2023-11-14T22:13:20Z" in page
    assert page.count("</script>") == page.count("<script") == 6
    assert not re.search(r"<(img|svg|iframe|style|link)\b[^>]*(onerror|onload|src=|href=)", page.split("<script")[0])
    assert not re.search(r'<a [^>]*href="(?!https?://|#)', page.split("<script")[0])  # the only links are to the web
    data = json.loads(re.search(r'id="stancemap-data">(.*?)</script>', page, re.S).group(1))
    assert max(len(c["text"]) for c in data["comments"]) == BIG
    assert data["settings"]["authors"] == "show"
    # byte-identical on a rerun with the same SOURCE_DATE_EPOCH
    first = at.report.read_bytes()
    report_stage.run(
        load_params(None, ["cluster.min_cluster_size=3"]),
        claims=at.claims,
        comments=at.comments,
        clusters=at.clusters,
        labels=at.labels,
        out=at.report,
        threads=at.threads,
        sources=at.sources,
    )
    assert at.report.read_bytes() == first


@pytest.mark.slow
def test_report_cli_takes_threads_and_sources(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from stancemap.cli import app

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    at = hostile_run(tmp_path)
    out = tmp_path / "again.html"
    (tmp_path / "params.yaml").write_text("seed: 42\n", encoding="utf-8")  # the defaults, as hostile_run uses
    args = [
        "--quiet",
        "report",
        "--claims",
        str(at.claims),
        "--comments",
        str(at.comments),
        "--clusters",
        str(at.clusters),
        "--labels",
        str(at.labels),
        "--threads",
        str(at.threads),
        "--sources",
        str(at.sources),
        "--out",
        str(out),
        "--params",
        str(tmp_path / "params.yaml"),
        "--set",
        "cluster.min_cluster_size=3",
    ]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == at.report.read_bytes()


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


def test_new_claims_are_marked_in_hover_list_counts_and_summary(tmp_path):
    texts = ["Distillation is theft of the lab's work.", "They paid for every token they used.", "Export rules matter."]
    claims, comments, clusters, labels = tables(tmp_path, texts)
    fresh = [i == 1 for i in range(clusters.height)]
    clusters = clusters.with_columns(pl.Series("new", fresh))
    points = points_of(claims, comments, clusters)
    assert points["new"].to_list() == fresh
    panel = {c["cluster"]: c for c in pagedata.cluster_panel(points, labels)}
    assert sum(c["n_new"] for c in panel.values()) == 1
    assert pagedata.page_data(points, comments, {})["claims"]["new"] == [int(f) for f in fresh]
    assert "new since the last run" in hover_text("claim", "me", "t", "label", 280, new=True)
    assert "new since" not in hover_text("claim", "me", "t", "label", 280)
    figure = stance_map(points, labels).to_dict()
    outlined = [t["marker"].get("line") for t in figure["data"]]
    assert any(line and "#111" in line["color"] for line in outlined)
    page, metrics = build_report(claims, comments, clusters, labels, Params())
    assert metrics["new_claims"] == 1 and "new since the last run" in page and 'class="new-badge"' in page
    # a table without the column (an older run) reads as nothing new
    page, metrics = build_report(claims, comments, clusters.drop("new"), labels, Params())
    assert metrics["new_claims"] == 0 and 'class="new-badge"' not in page


def test_past_max_points_the_page_carries_a_labelled_sample(tmp_path):
    texts = [f"Claim number {i} says something about distillation and theft." for i in range(40)]
    claims, comments, clusters, labels = tables(tmp_path, texts)
    # key claims sit late in each cluster, so a sample that ignored them would miss them
    late = {c: claims["claim_id"][i] for i, c in ((37, 1), (36, 0))}
    labels = labels.with_columns(pl.Series("key_claims", [[late[0]], [late[1]], []]))
    points = points_of(claims, comments, clusters)
    shown = pagedata.shown_sample(points, labels, 10)
    assert 10 <= shown.height < points.height  # quotas, plus key claims and one per cluster
    assert set(late.values()) <= set(shown["claim_id"].to_list())
    assert shown["index"].to_list() == list(range(shown.height))
    assert shown["claim_id"].to_list() == [c for c in points["claim_id"].to_list() if c in set(shown["claim_id"])]
    assert set(shown["cluster"].to_list()) == set(points["cluster"].to_list())  # every cluster stays visible
    assert pagedata.shown_sample(points, labels, 10).equals(shown)  # the same sample every time
    assert pagedata.shown_sample(points, labels, points.height).equals(points)  # under the limit: all
    panel = {c["cluster"]: c for c in pagedata.cluster_panel(points, labels, shown)}
    assert sum(c["n_claims"] for c in panel.values()) == points.height  # counts are over all claims
    ids = shown["claim_id"].to_list()
    assert [ids[i] for i in panel[0]["key_claims"]] == [late[0]]  # key claims point into the sample
    params = load_params(None, ["report.max_points=10"])
    page, metrics = build_report(claims, comments, clusters, labels, params)
    assert metrics["claims"] == points.height and metrics["shown_claims"] == shown.height
    assert f"a sample of\n    {shown.height} of the {points.height} claims" in page
    data = json.loads(re.search(r'id="stancemap-data">(.*?)</script>', page, re.S).group(1))
    assert data["claims"]["id"] == ids
    page, metrics = build_report(claims, comments, clusters, labels, Params())
    assert metrics["shown_claims"] == metrics["claims"] and "a sample of" not in page


def test_found_positions_get_a_section_with_sides_per_topic_and_stay_inert(tmp_path):
    claims, comments, clusters, labels = tables(tmp_path, HOSTILE)
    ids = claims["claim_id"].to_list()
    topic = [0 if c == 0 else None for c in clusters["cluster"].to_list()]
    sides = pl.DataFrame(
        {"claim_id": ids, "topic": topic, "p_pro": [0.9] * len(ids), "p_con": [0.05] * len(ids),
         "side": ["pro" if t == 0 and i % 2 == 0 else "con" if t == 0 else None for i, t in enumerate(topic)],
         "evidence": ["model" if t == 0 else None for t in topic]},
        schema=ARTIFACTS["sides"],
    )
    first = next(i for i, t in enumerate(topic) if t == 0)
    positions = pl.DataFrame(
        {"topic": [0], "proposition": [claims["text"][first]], "claim_id": [ids[first]], "n_claims": [3],
         "n_pro": [2], "n_con": [1], "n_neither": [0], "opposes": [None], "opposition": [None]},
        schema=ARTIFACTS["positions"],
    )
    page, _ = build_report(claims, comments, clusters, labels, Params(), positions=positions, sides=sides)
    assert 'id="positions"' in page and 'data-topic="0"' in page
    sided = sides.filter(pl.col("topic") == 0)
    for side in ("pro", "con"):
        claims_on_side = sided.filter(pl.col("side") == side).height
        assert f'data-side="{side}"' in page and f"{claims_on_side} claims" in page
    assert "<script>window.__pwned" not in page  # the proposition is hostile text, shown as text
    plain, _ = build_report(claims, comments, clusters, labels, Params())
    assert 'id="positions"' not in plain
