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

from stancemap import __version__
from stancemap.config import Params
from stancemap.io import read_table, write_json, write_text
from stancemap.report import data as pagedata
from stancemap.report import graph, overview, provenance, summary
from stancemap.report.figures import reply_graph, stance_map, threads_chart
from stancemap.report.maplayers import map_colours

_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_WEB = re.compile(r"^https?://[^\s]+$", re.IGNORECASE)
AUTHORS_NOTE = {
    "show": "shown as in the input",
    "pseudonymize": 'replaced by pseudonyms ("Author N", numbered by first comment; stable for the same inputs)',
    "hide": "hidden",
}


def sides_note(stance, found: bool = False) -> str:
    """What pro and con mean on this map: toward the propositions, toward each topic's found
    proposition, or, with the reply fallback, toward each thread's opening post."""
    if stance.propositions:
        named = "; ".join(f"{i + 1}: {p}" for i, p in enumerate(stance.propositions))
        return f"Sides are pro, con or neither toward the proposition(s) {named}."
    if found:
        return (
            "No propositions are set, so each topic's proposition is its most central claim (see Positions): "
            "a claim's side is pro or con toward its own topic's proposition, and neither when the stance model "
            "is not sure enough."
        )
    return (
        "Sides come from reply structure (no propositions are set): pro = with the thread's opening post, "
        "con = against it, neither = no evidence either way."
    )


def measured_note(stance) -> str | None:
    """How the stance model's sides were measured, from the model folder's scores.json (written by
    bench/stance_eval.py on sets it never trained or was tuned on); None when not measured."""
    from stancemap.stance.backends import adapter_path

    path = adapter_path(stance.adapter) / "scores.json"
    if not path.exists():
        return None
    sets = json.loads(path.read_text(encoding="utf-8")).get("sets", {})
    parts = [
        f"{name}: {s['side_precision']:.2f} of the sides given were right, {s['side_recall']:.2f} of the sided "
        f"claims found (n={s['n']})"
        for name, s in sets.items()
        if s.get("side_precision") is not None and s.get("side_recall") is not None
    ]
    if not parts:
        return None
    return (
        f"How far to trust the sides: the stance model was measured at min_confidence {stance.min_confidence} on "
        "sets it never saw in training or tuning. " + "; ".join(parts) + ". A wrong side is worse than none, so "
        "claims the model is unsure of are left as neither (docs/stance.md)."
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
    return resources.files("stancemap.report").joinpath(name).read_text(encoding="utf-8")


def _figure_json(fig) -> str:
    return script_json(fig.to_dict())  # the figures hold plain lists: no numpy values for plotly's encoder


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def rebutting_comments(replies: pl.DataFrame | None) -> set[str] | None:
    """Comments that rebut their own parent, from the stance stage's replies table (scored at its
    `stance.reply_prior`, docs/stance.md); edges to an inferred parent (the opening post, a quoted
    or named comment) are not reply links, so they do not count. None without a replies table."""
    if replies is None:
        return None
    rebuts = replies.filter(pl.col("direct") & (pl.col("relation") == "rebut"))
    return set(rebuts["comment_id"].to_list())


def build_report(*args, **kwargs) -> tuple[str, dict]:
    """(the page as one HTML string, the run's metrics): build_outputs without the summary."""
    page, metrics, _ = build_outputs(*args, **kwargs)
    return page, metrics


def build_outputs(
    claims: pl.DataFrame,
    comments: pl.DataFrame,
    clusters: pl.DataFrame,
    labels: pl.DataFrame,
    params: Params,
    threads: pl.DataFrame | None = None,
    sources: pl.DataFrame | None = None,
    run_date: str | None = None,
    replies: pl.DataFrame | None = None,
    positions: pl.DataFrame | None = None,
    sides: pl.DataFrame | None = None,
) -> tuple[str, dict, str]:
    """(the page as one HTML string, the run's metrics, the summary as Markdown). `run_date` defaults to
    SOURCE_DATE_EPOCH, or now. `replies` (the stance stage's replies table) gives the reply graph's
    rebuttals when clusters are not split by side; without it (a workdir from before the table) they
    are "not computed" there, as with no sides at all. The report never reruns the reply detector."""
    import jinja2
    import plotly.offline

    p = params.report
    found = sides is not None and sides["side"].drop_nulls().len() > 0
    if found:  # sides toward each topic's found proposition replace the clusters table's
        clusters = clusters.drop("side", strict=False).join(
            sides.select("claim_id", "side"), on="claim_id", how="left", maintain_order="left"
        )
    names = provenance.author_names(comments["author"], p.authors)
    points = pagedata.points_table(claims, comments, clusters, names)
    label_of = pagedata.label_names(labels)
    shown = pagedata.shown_sample(points, labels, p.max_points)  # what the map and lists carry
    cluster_colours, topic_colours = map_colours(points, labels)  # the map's, everywhere on the page
    panel = pagedata.cluster_panel(points, labels, shown, cluster_colours)
    compared = pagedata.threads_compared(points, threads, comments)
    # the reply graph is between positions: topics, split by side when the sides are toward one
    # proposition per topic (not toward each thread's opening post)
    mode = "propositions" if params.stance.propositions else "found" if found else "replies"
    topic_names = dict(
        labels.select(  # labels from before topics (no topic columns): each cluster is its own topic
            pl.col("topic" if "topic" in labels.columns else "cluster").alias("t"),
            pl.col("topic_label" if "topic_label" in labels.columns else "label").alias("l"),
        )
        .filter(pl.col("t") >= 0)
        .unique("t", keep="first", maintain_order=True)
        .iter_rows()
    )
    at_node, node_info = graph.position_points(points, topic_names, by_side=mode != "replies")
    between = graph.cluster_replies(at_node, comments, rebutting_comments(replies))
    nodes = graph.reply_nodes(at_node, between, dict(node_info.select("node", "label").iter_rows())).join(
        node_info.select(pl.col("node").alias("cluster"), "topic", "side", "text", "select"), on="cluster"
    )
    edges = graph.reply_edges(between)
    versions = provenance.package_versions()
    prov = provenance.provenance(params, sources, threads, run_date or provenance.run_date(), versions)
    no_author = "author hidden" if p.authors == "hide" else "unknown author"
    data = pagedata.page_data(shown, comments, names, author_keys=p.authors != "hide")
    topics = overview.topic_rows(
        points, shown, labels, positions if found else None, p, params.label.key_claim_min_words, mode
    )
    if found and positions is not None:
        opposes = dict(positions.select("topic", "opposes").iter_rows())
        for r in topics:
            r["opposes"] = opposes.get(r["topic"])
    themes = overview.theme_groups(topics, labels, shown, points)
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
            "title": p.title,
        },
        total_claims=points.height,
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
    env.filters["plural"] = lambda n, word: word if n == 1 else word + "s"
    page = env.from_string(_asset("page.html")).render(
        title=p.title,
        version=__version__,
        run_date=prov["run_date"],
        metrics=metrics,
        model=params.embed.model,
        has_sides=points["side"].drop_nulls().len() > 0,
        sides_note=sides_note(params.stance, found),
        measured_note=measured_note(params.stance) if found or params.stance.propositions else None,
        themes=themes,
        n_topics=len(topics),
        positions_note=overview.positions_note(mode, params.stance.propositions),
        consensus_min_authors=p.consensus_min_authors,
        side_choices=overview.side_choices(points, mode),
        has_dates=comments["created_at"].drop_nulls().len() > 0,
        thread_titles={t["thread"]: t["title"] for t in compared if t.get("title")},
        list_chars=p.list_chars,
        no_author=no_author,
        clusters=shown_panel,
        edges=data["replies"],
        graph_by_side=mode != "replies",
        threads=compared,
        provenance=prov,
        authors_note=AUTHORS_NOTE[p.authors],
        params_yaml=yaml.safe_dump(params.to_dict(), sort_keys=False, allow_unicode=True),
        plotly_js=plotly.offline.get_plotlyjs(),
        maplabels_js=_asset("maplabels.js"),
        page_js=_asset("report.js"),
        page_css=_asset("report.css"),
        figure_json=_figure_json(stance_map(shown, labels, p.hover_chars, no_author)),
        graph_json=_figure_json(reply_graph(nodes, edges, colours=topic_colours)),
        threads_json=_figure_json(threads_chart(compared, label_of, cluster_colours)),
        data_json=script_json(data),
    )
    metrics["topics"] = len(topics)
    summary_md = summary.markdown(
        p.title,
        prov["run_date"],
        metrics,
        themes,
        overview.positions_note(mode, params.stance.propositions),
        compared,
    )
    return page, metrics, summary_md


def run(
    params: Params,
    *,
    claims: str | Path,
    comments: str | Path,
    clusters: str | Path,
    labels: str | Path,
    out: str | Path,
    metrics: str | Path | None = None,
    threads: str | Path | None = None,
    sources: str | Path | None = None,
    replies: str | Path | None = None,
    positions: str | Path | None = None,
    sides: str | Path | None = None,
    summary: str | Path | None = None,
) -> Path:
    """Read the tables, write the page `out` (and `metrics`). `params` is the whole of params, not
    one section: the page shows every param of the run in its provenance panel. The optional
    tables (`replies` from the stance stage, `positions` and `sides`): see build_report. `summary`:
    also write the positions overview as Markdown (reports/summary.md), from the same data."""

    def optional(path: str | Path | None, name: str) -> pl.DataFrame | None:
        return read_table(path, name) if path is not None else None

    page, numbers, summary_md = build_outputs(
        read_table(claims, "claims"),
        read_table(comments, "comments"),
        read_table(clusters, "clusters"),
        read_table(labels, "labels"),
        params,
        threads=optional(threads, "threads"),
        sources=optional(sources, "sources"),
        replies=optional(replies, "replies"),
        positions=optional(positions, "positions"),
        sides=optional(sides, "sides"),
    )
    write_text(page, out)
    if summary is not None:
        write_text(summary_md, summary)
    if metrics is not None:
        write_json(numbers, metrics)
    return Path(out)
