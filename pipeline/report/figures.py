"""Pure figure builders: tables in, `go.Figure` out. Nothing here writes files.

Every string that came from a comment is HTML-escaped before it reaches plotly, whose hover
labels understand a few tags: escaped, a `<script>` in a claim shows as text.
"""

from __future__ import annotations

import html
import textwrap

import plotly.graph_objects as go
import polars as pl

PALETTE = [
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#393b79",
    "#ad494a",
    "#637939",
    "#8c6d31",
    "#7b4173",
    "#3182bd",
    "#e6550d",
]
UNCLUSTERED_COLOUR = "#a8a8a8"
WEBGL_FROM = 5000  # points; SVG is crisper below, WebGL keeps large maps responsive


def colour(cluster: int) -> str:
    return UNCLUSTERED_COLOUR if cluster < 0 else PALETTE[cluster % len(PALETTE)]


def hover_text(claim: str, author: str | None, thread: str, label: str, limit: int) -> str:
    """Escaped, wrapped hover label: cluster label, claim, author and thread."""
    short = claim if len(claim) <= limit else claim[: limit - 1].rstrip() + "…"
    lines = textwrap.wrap(short, 70) or [""]
    body = "<br>".join(html.escape(line) for line in lines)
    who = html.escape(author) if author else "unknown author"
    return f"<b>{html.escape(label)}</b><br>{body}<br><i>{who} · {html.escape(thread)}</i>"


def stance_map(points: pl.DataFrame, labels: pl.DataFrame, hover_chars: int = 280) -> go.Figure:
    """Claims as points on the 2-D map, one trace per cluster (the legend toggles them).

    `points` needs claim_id, cluster, x, y, text, author, thread_id and `index` (the claim's
    row in the report's data, carried as customdata so a click can find its source).
    """
    names = dict(zip(labels["cluster"].to_list(), labels["label"].to_list(), strict=True))
    scatter = go.Scattergl if points.height >= WEBGL_FROM else go.Scatter
    fig = go.Figure()
    clusters = sorted(points["cluster"].unique().to_list(), key=lambda c: (c < 0, c))
    for c in clusters:
        part = points.filter(pl.col("cluster") == c)
        label = names.get(c, f"cluster {c}")
        hover = [
            hover_text(t, a, th, label, hover_chars)
            for t, a, th in zip(part["text"], part["author"], part["thread_id"], strict=True)
        ]
        name = f"{label} ({part.height})" if c < 0 else f"{c}: {label} ({part.height})"
        fig.add_trace(
            scatter(
                x=part["x"].to_list(),
                y=part["y"].to_list(),
                mode="markers",
                name=html.escape(name),
                hovertext=hover,
                hoverinfo="text",
                customdata=part["index"].to_list(),
                marker={"color": colour(c), "size": 6 if c < 0 else 8, "opacity": 0.5 if c < 0 else 0.85},
                meta={"cluster": c},
            )
        )
    fig.update_layout(
        template="plotly_white",
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"visible": False},
        yaxis={"visible": False, "scaleanchor": "x"},
        legend={"title": {"text": "Clusters (click to hide)"}, "itemsizing": "constant"},
        hoverlabel={"align": "left"},
        dragmode="pan",
        uirevision="stancemap",
    )
    return fig
