"""Render the stance map page: a Jinja2 template with plotly.js, the page's own JS and CSS,
and the data inlined, so the file opens offline and sends no request.

Comment text is untrusted. The template autoescapes everything it prints, and data goes in as
JSON inside <script type="application/json"> with `<`, `>`, `&` and line separators escaped,
so no text can close the script element; the page's JS only ever sets `textContent`.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import polars as pl

from pipeline import __version__
from pipeline.config import Params
from pipeline.io import read_table, write_json, write_text
from pipeline.report.figures import colour, stance_map

_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def script_json(data: object) -> str:
    """JSON safe to place inside a <script> element, whatever strings it holds."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=False)
    return "".join(_JSON_ESCAPES.get(ch, ch) for ch in text)


def _asset(name: str) -> str:
    return resources.files("pipeline.report").joinpath(name).read_text(encoding="utf-8")


def report_data(claims: pl.DataFrame, comments: pl.DataFrame, clusters: pl.DataFrame) -> tuple[pl.DataFrame, dict]:
    """Points for the map (with an `index` into the page data) and the page data itself."""
    points = (
        claims.join(clusters, on="claim_id", how="inner", maintain_order="left")
        .join(comments.select("comment_id", "author", "thread_id"), on="comment_id", how="left", maintain_order="left")
        .with_row_index("index")
    )
    used = comments.filter(pl.col("comment_id").is_in(points["comment_id"].implode()))
    # parents of commented claims are shown beside them, so keep their text too
    parents = comments.filter(pl.col("comment_id").is_in(used["parent_id"].drop_nulls().implode()))
    shown = pl.concat([used, parents]).unique("comment_id", keep="first", maintain_order=True)
    data = {
        "claims": [
            {"id": cid, "comment": com, "start": s, "end": e, "cluster": c}
            for cid, com, s, e, c in zip(
                points["claim_id"],
                points["comment_id"],
                points["start"],
                points["end"],
                points["cluster"],
                strict=True,
            )
        ],
        "comments": {
            row["comment_id"]: {
                "author": row["author"],
                "thread": row["thread_id"],
                "parent": row["parent_id"],
                "time": row["created_at"].isoformat() if row["created_at"] else None,
                "url": row["url"],
                "source": f"{row['source_file']}:{row['source_line']}",
                "text": row["text"],
            }
            for row in shown.iter_rows(named=True)
        },
    }
    return points, data


def cluster_panel(labels: pl.DataFrame, claims: pl.DataFrame, points: pl.DataFrame) -> list[dict]:
    text_of = dict(zip(claims["claim_id"].to_list(), claims["text"].to_list(), strict=True))
    index_of = dict(zip(points["claim_id"].to_list(), points["index"].to_list(), strict=True))
    rows = sorted(labels.iter_rows(named=True), key=lambda r: (r["cluster"] < 0, r["cluster"]))
    return [
        {
            "cluster": r["cluster"],
            "label": r["label"],
            "colour": colour(r["cluster"]),
            "keywords": r["keywords"],
            "n_claims": r["n_claims"],
            "n_comments": r["n_comments"],
            "n_authors": r["n_authors"],
            "key_claims": [{"text": text_of[k], "index": index_of[k]} for k in r["key_claims"]],
        }
        for r in rows
    ]


def build_report(
    claims: pl.DataFrame, comments: pl.DataFrame, clusters: pl.DataFrame, labels: pl.DataFrame, params: Params
) -> tuple[str, dict]:
    """(the page as one HTML string, the run's metrics)."""
    import jinja2
    import plotly.offline

    points, data = report_data(claims, comments, clusters)
    fig = stance_map(points, labels, params.report.hover_chars)
    n_clusters = int((labels["cluster"] >= 0).sum())
    unclustered = int(clusters.filter(pl.col("cluster") < 0).height)
    metrics = {
        "comments": comments.height,
        "threads": comments["thread_id"].n_unique(),
        "claims": claims.height,
        "clusters": n_clusters,
        "unclustered_share": round(unclustered / clusters.height, 4) if clusters.height else 0.0,
    }
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    page = env.from_string(_asset("page.html")).render(
        title=params.report.title,
        version=__version__,
        metrics=metrics,
        model=params.embed.model,
        clusters=cluster_panel(labels, claims, points),
        plotly_js=plotly.offline.get_plotlyjs(),
        page_js=_asset("report.js"),
        page_css=_asset("report.css"),
        figure_json=script_json(json.loads(fig.to_json())),
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
) -> Path:
    page, metrics = build_report(
        read_table(claims_path, "claims"),
        read_table(comments_path, "comments"),
        read_table(clusters_path, "clusters"),
        read_table(labels_path, "labels"),
        params,
    )
    write_text(page, out)
    if metrics_out is not None:
        write_json(metrics, metrics_out)
    return Path(out)
