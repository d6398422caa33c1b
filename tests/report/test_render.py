"""The page: inert hostile text, self-contained output, rebuttals, positions, the stage and its CLI."""

import json
import re
from pathlib import Path

import polars as pl
import pytest

from stancemap import report as report_stage
from stancemap.config import Params, load_params
from stancemap.report.render import build_report, script_json, web_url
from stancemap.schemas import ARTIFACTS
from tests.report.helpers import BIG, HOSTILE, hostile_run, tables


def test_script_json_cannot_close_its_script_element():
    nasty = {"t": "</script><script>alert(1)</script>\u2028<!--"}
    encoded = script_json(nasty)
    assert "<" not in encoded and ">" not in encoded and "\u2028" not in encoded
    assert json.loads(encoded) == nasty


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
        {
            "claim_id": claims["claim_id"],
            "cluster": cluster,
            "topic": cluster,
            "side": None,
            "probability": 1.0,
            "x": [float(c) for c in cluster],
            "y": 0.0,
            "new": False,
        },
        schema=CLUSTERS,
    )
    first = [claims.filter(pl.col("comment_id") == c)["claim_id"][0] for c in ids]
    labels = pl.DataFrame(
        {
            "cluster": range(len(ids)),
            "topic": range(len(ids)),
            "side": None,
            "topic_label": "t",
            "label": "l",
            "keywords": [[]] * len(ids),
            "key_claims": [[c] for c in first],
            "n_claims": 1,
            "n_comments": 1,
            "n_authors": 1,
            "theme": range(len(ids)),
            "theme_label": "t",
            "theme_claim": first,
        },
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
            params.stance,
            claims=paths["claims"],
            out=tmp_path / "stances.parquet",
            comments=paths["comments"],
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
    assert page.count("</script>") == page.count("<script") == 7  # 4 JSON blocks, plotly, map labels, page
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


def test_found_positions_get_a_section_with_sides_per_topic_and_stay_inert(tmp_path):
    claims, comments, clusters, labels = tables(tmp_path, HOSTILE)
    ids = claims["claim_id"].to_list()
    topic = [0 if c == 0 else None for c in clusters["cluster"].to_list()]
    sides = pl.DataFrame(
        {
            "claim_id": ids,
            "topic": topic,
            "p_pro": [0.9] * len(ids),
            "p_con": [0.05] * len(ids),
            "side": ["pro" if t == 0 and i % 2 == 0 else "con" if t == 0 else None for i, t in enumerate(topic)],
            "evidence": ["model" if t == 0 else None for t in topic],
        },
        schema=ARTIFACTS["sides"],
    )
    first = next(i for i, t in enumerate(topic) if t == 0)
    positions = pl.DataFrame(
        {
            "topic": [0],
            "proposition": [claims["text"][first]],
            "claim_id": [ids[first]],
            "n_claims": [3],
            "n_pro": [2],
            "n_con": [1],
            "n_neither": [0],
            "opposes": [None],
            "opposition": [None],
        },
        schema=ARTIFACTS["positions"],
    )
    page, _ = build_report(claims, comments, clusters, labels, Params(), positions=positions, sides=sides)
    assert 'id="positions"' in page and 'data-topic="0"' in page
    sided = sides.filter(pl.col("topic") == 0)
    for side in ("pro", "con"):
        claims_on_side = sided.filter(pl.col("side") == side).height
        assert re.search(f'data-side="{side}" data-authors="\\d+" data-claims="{claims_on_side}"', page)
    assert "<script>window.__pwned" not in page  # the proposition is hostile text, shown as text
    proposition = positions["proposition"][0]
    plain, _ = build_report(claims, comments, clusters, labels, Params())
    # without found positions the overview is there too, each topic stated by its most central claim
    assert 'id="positions"' in plain and 'data-topic="0"' in plain and "no propositions were given" in plain.lower()
    assert "the stance model" not in plain.split('id="positions"')[1].split("</p>")[0]
    assert proposition[:20] not in plain or proposition[:20] in claims["text"].to_list()[0]
