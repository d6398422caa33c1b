"""The hostile corpus and small tables the report tests share."""

from pathlib import Path

import polars as pl

from stancemap import cluster as cluster_stage
from stancemap import embed as embed_stage
from stancemap import ingest as ingest_stage
from stancemap import label as label_stage
from stancemap import report as report_stage
from stancemap import segment as segment_stage
from stancemap.config import SegmentParams, load_params
from stancemap.ingest import expand_inputs, ingest
from stancemap.report import data as pagedata
from stancemap.report.provenance import author_names
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
        p,
        claims=at.claims,
        comments=at.comments,
        clusters=at.clusters,
        labels=at.labels,
        out=at.report,
        metrics=at.metrics,
        threads=at.threads,
        sources=at.sources,
        summary=at.summary,
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


# Chromium's flags on this closed network (tests/report/conftest.py starts it)
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def open_report(browser, path):
    page = browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    problems, requests = [], []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on(
        "request", lambda r: None if r.url.startswith(("file:", "data:", "blob:", "about:")) else requests.append(r.url)
    )
    page.on("dialog", lambda d: problems.append("dialog: " + d.message))
    page.goto(path.as_uri())
    page.wait_for_selector("html[data-ready=all]")
    return page, problems, requests
