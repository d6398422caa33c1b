"""Render the stance map page: a Jinja2 template with plotly.js, the page's own JS and CSS,
and the data inlined, so the file opens offline and sends no request.

Comment text is untrusted. The template autoescapes everything it prints, and data goes in as
JSON inside <script type="application/json"> with `<`, `>`, `&` and line separators escaped,
so no text can close the script element; the page's JS only ever sets `textContent`.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import polars as pl
import yaml

from pipeline import __version__
from pipeline.config import Params
from pipeline.io import read_table, write_json, write_text
from pipeline.report import data as pagedata
from pipeline.report import graph, provenance
from pipeline.report.figures import reply_graph, stance_map, threads_chart

_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_WEB = re.compile(r"^https?://[^\s]+$", re.IGNORECASE)
AUTHORS_NOTE = {
    "show": "shown as in the input",
    "pseudonymize": 'replaced by pseudonyms ("Author N", numbered by first comment; stable for the same inputs)',
    "hide": "hidden",
}


def sides_note(stance) -> str:
    """What pro and con mean on this map: toward the propositions, or, without them, toward each
    thread's opening post (the reply-structure fallback)."""
    if stance.propositions:
        named = "; ".join(f"{i + 1}: {p}" for i, p in enumerate(stance.propositions))
        return f"Sides are pro, con or neither toward the proposition(s) {named}."
    return (
        "Sides come from reply structure (no propositions are set): pro = with the thread's opening post, "
        "con = against it, neither = no evidence either way."
    )


def script_json(data: object) -> str:
    """JSON safe to place inside a <script> element, whatever strings it holds."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=False)
    for char, escape in _JSON_ESCAPES.items():  # str.replace runs in C: 10x the per-character join
        text = text.replace(char, escape)
    return text


def web_url(url: object) -> bool:
    """Only http(s) URLs become links; `javascript:` and the like stay text."""
    return isinstance(url, str) and bool(_WEB.match(url))


def _asset(name: str) -> str:
    return resources.files("pipeline.report").joinpath(name).read_text(encoding="utf-8")


def _figure_json(fig) -> str:
    return script_json(json.loads(fig.to_json()))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def rebutting_comments(comments: pl.DataFrame) -> set[str]:
    """Comments the reply detector says rebut their own parent (docs/stance.md)."""
    from pipeline.stance.replies import reply_edges

    edges = reply_edges(comments).filter(pl.col("relation") == "rebut")
    parent_of = dict(comments.select("comment_id", "parent_id").iter_rows())
    return {cid for cid, parent in edges.select("comment_id", "parent").iter_rows() if parent_of.get(cid) == parent}


def build_report(
    claims: pl.DataFrame,
    comments: pl.DataFrame,
    clusters: pl.DataFrame,
    labels: pl.DataFrame,
    params: Params,
    threads: pl.DataFrame | None = None,
    sources: pl.DataFrame | None = None,
    run_date: str | None = None,
) -> tuple[str, dict]:
    """(the page as one HTML string, the run's metrics). `run_date` defaults to
    SOURCE_DATE_EPOCH, or now."""
    import jinja2
    import plotly.offline

    p = params.report
    names = provenance.author_names(comments["author"], p.authors)
    points = pagedata.points_table(claims, comments, clusters, names)
    label_of = pagedata.label_names(labels)
    shown = pagedata.shown_sample(points, labels, p.max_points)  # what the map and lists carry
    panel = pagedata.cluster_panel(points, labels, shown)
    compared = pagedata.threads_compared(points, threads, comments)
    replies = graph.cluster_replies(points, comments, rebutting_comments(comments))
    nodes = graph.reply_nodes(points, replies, label_of)
    edges = graph.reply_edges(replies)
    versions = provenance.package_versions()
    prov = provenance.provenance(params, sources, threads, run_date or provenance.run_date(), versions)
    no_author = "author hidden" if p.authors == "hide" else "unknown author"
    data = pagedata.page_data(shown, comments, names)
    data.update(
        clusters=panel,
        threads=compared,
        replies=graph.graph_summary(edges, nodes),
        provenance=prov,
        settings={
            "list_chars": p.list_chars,
            "source_chars": p.source_chars,
            "authors": p.authors,
            "no_author": no_author,
        },
    )
    n_clusters = sum(1 for c in panel if c["cluster"] >= 0)
    unclustered = int(clusters.filter(pl.col("cluster") < 0).height)
    metrics = {
        "comments": comments.height,
        "threads": comments["thread_id"].n_unique(),
        "claims": claims.height,
        "clusters": n_clusters,
        "unclustered_share": round(unclustered / clusters.height, 4) if clusters.height else 0.0,
        "new_claims": int(points["new"].sum()),
        "shown_claims": shown.height,
    }
    texts = shown["text"].to_list()
    shown_panel = [
        {**c, "key_claims": [{"index": i, "text": _cut(texts[i], p.list_chars)} for i in c["key_claims"]]}
        for c in panel
    ]
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["web_url"] = web_url
    page = env.from_string(_asset("page.html")).render(
        title=p.title,
        version=__version__,
        run_date=prov["run_date"],
        metrics=metrics,
        model=params.embed.model,
        has_sides=points["side"].drop_nulls().len() > 0,
        sides_note=sides_note(params.stance),
        clusters=shown_panel,
        edges=data["replies"],
        threads=compared,
        provenance=prov,
        authors_note=AUTHORS_NOTE[p.authors],
        params_yaml=yaml.safe_dump(params.to_dict(), sort_keys=False, allow_unicode=True),
        plotly_js=plotly.offline.get_plotlyjs(),
        page_js=_asset("report.js"),
        page_css=_asset("report.css"),
        figure_json=_figure_json(stance_map(shown, labels, p.hover_chars, no_author)),
        graph_json=_figure_json(reply_graph(nodes, edges)),
        threads_json=_figure_json(threads_chart(compared, label_of)),
        data_json=script_json(data),
    )
    return page, metrics


def run(
    params: Params,
    claims_path: str | Path,
    comments_path: str | Path,
    clusters_path: str | Path,
    labels_path: str | Path,
    out: str | Path,
    metrics_out: str | Path | None = None,
    threads_path: str | Path | None = None,
    sources_path: str | Path | None = None,
) -> Path:
    page, metrics = build_report(
        read_table(claims_path, "claims"),
        read_table(comments_path, "comments"),
        read_table(clusters_path, "clusters"),
        read_table(labels_path, "labels"),
        params,
        threads=read_table(threads_path, "threads") if threads_path is not None else None,
        sources=read_table(sources_path, "sources") if sources_path is not None else None,
    )
    write_text(page, out)
    if metrics_out is not None:
        write_json(metrics, metrics_out)
    return Path(out)
