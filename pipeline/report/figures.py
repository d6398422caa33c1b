"""Pure figure builders: tables in, `go.Figure` out. Nothing here writes files.

Every string that came from a comment is HTML-escaped before it reaches plotly, whose hover
labels understand a few tags: escaped, a `<script>` in a claim shows as text.
"""

from __future__ import annotations

import html
import re

import plotly.graph_objects as go
import polars as pl

from stancemap.report.maplayers import (
    MAX_TOPIC_LABELS,
    PALETTE,
    UNCLUSTERED_COLOUR,
    label_annotations,
    short,
    themes_of,
    topic_colours,
)

__all__ = [
    "MAX_TOPIC_LABELS",
    "PALETTE",
    "UNCLUSTERED_COLOUR",
    "hover_text",
    "reply_graph",
    "stance_map",
    "threads_chart",
]

WEBGL_FROM = 5000  # points; SVG is crisper below, WebGL keeps large maps responsive
# marker per side, once a stance stage gives claims one; a claim with no side is a circle
SIDE_SYMBOLS = {"pro": "triangle-up", "con": "triangle-down", "neither": "square", "unknown": "circle"}


def colour(cluster: int) -> str:
    return UNCLUSTERED_COLOUR if cluster < 0 else PALETTE[cluster % len(PALETTE)]


def symbol(side: str | None) -> str:
    """The marker for a side; a mix of sides toward several propositions ("1:pro 2:con") is a diamond."""
    return SIDE_SYMBOLS.get(side or "unknown", "diamond")


HOVER_WIDTH = 70  # characters per hover line
# a line: as many words as fit, ending before a space or the end; or a word too long for a line, cut
_LINE = re.compile(rf"\S.{{0,{HOVER_WIDTH - 1}}}(?=\s|$)|\S{{{HOVER_WIDTH}}}")


def wrap(text: str) -> list[str]:
    """Lines of at most HOVER_WIDTH characters, broken at spaces (a longer word is cut); every run
    of whitespace counts as one space. One regular expression, not textwrap: a 100k-claim map has
    100k hovers."""
    return _LINE.findall(" ".join(text.split()))


def hover_text(
    claim: str,
    author: str | None,
    thread: str,
    label: str,
    limit: int,
    side: str | None = None,
    no_author: str = "unknown author",
    new: bool = False,
) -> str:
    """Escaped, wrapped hover label: cluster label, claim, author, thread (and side, once known; and
    whether the claim is new since the previous run)."""
    short = claim if len(claim) <= limit else claim[: limit - 1].rstrip() + "…"
    lines = wrap(short) or [""]
    body = "<br>".join(html.escape(line) for line in lines)
    who = html.escape(author if author else no_author)
    where = f"{who} · {html.escape(thread or '')}" + (f" · side: {html.escape(side)}" if side else "")
    where += " · new since the last run" if new else ""
    return f"<b>{html.escape(label)}</b><br>{body}<br><i>{where}</i>"


def _by_cluster(labels: pl.DataFrame, column: str) -> dict:
    """`column` of the labels table by cluster ({} when the table has no such column)."""
    if column not in labels.columns:
        return {}
    return dict(zip(labels["cluster"].to_list(), labels[column].to_list(), strict=True))


def _topics(points: pl.DataFrame, labels: pl.DataFrame, clusters: list[int]) -> dict[int, int]:
    """Each cluster's topic: from the labels table, else the points' topic column, else the cluster itself."""
    found = _by_cluster(labels, "topic")
    if not found and "topic" in points.columns:
        found = dict(points.select("cluster", "topic").unique("cluster").iter_rows())
    return {c: -1 if c < 0 else int(found[c]) if found.get(c) is not None else c for c in clusters}


def stance_map(
    points: pl.DataFrame, labels: pl.DataFrame, hover_chars: int = 280, no_author: str = "unknown author"
) -> go.Figure:
    """Claims as points on the 2-D map, one trace per cluster, read as topic -> side: every cluster of
    a topic has the topic's colour and legend group (titled with the topic's label), each side its
    marker shape; each topic's label sits at its centre as an annotation (maplabels.js hides those
    that collide).

    `points` needs claim_id, cluster, x, y, text, author, thread_id and `index` (the claim's
    row in the report's data, carried as customdata so a click can find its source); an optional
    `side` column sets each marker's symbol, an optional `topic` column the topic when `labels` has none.
    """
    names = _by_cluster(labels, "label")
    label_sides = _by_cluster(labels, "side")
    kind = "scattergl" if points.height >= WEBGL_FROM else "scatter"
    traces: list[dict] = []
    parts = {key[0]: part for key, part in points.partition_by("cluster", as_dict=True).items()}  # one pass
    order = sorted(parts, key=lambda c: (c < 0, c))
    topic_of = _topics(points, labels, order)
    members: dict[int, list[int]] = {}
    for c in order:
        members.setdefault(topic_of[c], []).append(c)
    given = _by_cluster(labels, "topic_label")
    topic_names = {
        t: next((given[c] for c in cs if given.get(c)), None) or names.get(cs[0], f"topic {t}")
        for t, cs in members.items()
    }
    sizes = {t: sum(parts[c].height for c in cs) for t, cs in members.items() if t >= 0}
    hierarchy = themes_of(labels, set(sizes))
    colours = topic_colours(sizes, hierarchy)
    theme_of = hierarchy[0] if hierarchy else {}
    titled: set[str] = set()
    for c in order:
        part = parts[c]
        topic = topic_of[c]
        label = names.get(c, f"cluster {c}")
        sides = part["side"].to_list() if "side" in part.columns else [None] * part.height
        fresh = part["new"].to_list() if "new" in part.columns else [False] * part.height
        hover = [
            hover_text(t, a, th, label, hover_chars, sd, no_author, nw)
            for t, a, th, sd, nw in zip(part["text"], part["author"], part["thread_id"], sides, fresh, strict=True)
        ]
        grouped = topic >= 0
        side = label_sides.get(c)
        siblings = [label_sides.get(o) for o in members[topic]]
        if c < 0:
            name = f"{label} ({part.height})"
        elif hierarchy and len(members[topic]) > 1 and side and siblings.count(side) == 1:
            name = f"{topic}: {short(topic_names[topic], 40)} · {side} ({part.height})"  # under its theme's title
        elif len(members[topic]) > 1 and side and siblings.count(side) == 1:
            name = f"{side} ({part.height})"  # the topic is the group's title; the entry is its side
        else:
            name = f"{c}: {label} ({part.height})"
        marker = {
            "color": colours.get(topic, UNCLUSTERED_COLOUR),
            "size": 6 if c < 0 else 8,
            "opacity": 0.5 if c < 0 else 0.85,
        }
        if any(s is not None for s in sides):
            marker["symbol"] = [symbol(s) for s in sides]
        if any(fresh):  # new claims get a dark outline
            marker["line"] = {"color": ["#111" if nw else "rgba(0,0,0,0)" for nw in fresh], "width": 1.5}
        group: dict = {}
        if grouped and topic in theme_of:  # grouped by theme, titled with the theme's label
            key = f"theme-{theme_of[topic]}"
            group["legendgroup"] = key
            if key not in titled:
                group["legendgrouptitle"] = {"text": html.escape(hierarchy[1].get(theme_of[topic], key))}
            titled.add(key)
        elif grouped:
            key = f"topic-{topic}"
            group["legendgroup"] = key
            # the topic titles its group, unless the group is one entry that already says as much
            if key not in titled and (len(members[topic]) > 1 or topic_names[topic] != label):
                group["legendgrouptitle"] = {"text": html.escape(topic_names[topic])}
            titled.add(key)
        traces.append(
            {
                "type": kind,
                "x": part["x"].to_list(),
                "y": part["y"].to_list(),
                "mode": "markers",
                "name": html.escape(name),
                "hovertext": hover,
                "hoverinfo": "text",
                "customdata": part["index"].to_list(),
                "marker": marker,
                "unselected": {"marker": {"opacity": 0.06}},
                "meta": {"cluster": c, "topic": topic, "theme": theme_of.get(topic, -1)},
                **group,
            }
        )
    annotations, shown = label_annotations(points, topic_of, topic_names, colours, hierarchy)
    # plotly checks every element of every array it is given (a colour, a symbol per point), which
    # took most of a 100k-claim report; the traces above are plain values of a fixed shape (a test
    # passes them through plotly's checks), so only the layout is checked here
    layout = go.Layout(
        template="plotly_white",
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"visible": False},
        yaxis={"visible": False, "scaleanchor": "x"},
        legend={
            "title": {
                "text": "Themes, their topics and sides (click to hide)"
                if hierarchy
                else "Topics and their sides (click to hide)"
            },
            "itemsizing": "constant",
            # one click hides one cluster (one side), the unit the panel and the page work with
            "groupclick": "toggleitem",
            "tracegroupgap": 6,
        },
        annotations=annotations,
        meta=shown,
        hoverlabel={"align": "left"},
        dragmode="pan",
        uirevision="stancemap",
    )
    return go.Figure(data=traces, layout=layout, _validate=False)


GRAPH_EDGES = 40  # the busiest pairs drawn; more make a hairball (the page's table and downloads hold all)
GRAPH_MIN_REPLIES = 2  # pairs with fewer replies are left to the table (unless no pair has more)


def _widths(total: int, most: int) -> int:
    """Line width bucket (1-6) for an edge: few traces, whatever the number of edges."""
    return 1 + min(5, int(5 * total / most)) if most else 1


def reply_graph(
    nodes: pl.DataFrame,
    edges: pl.DataFrame,
    max_edges: int = GRAPH_EDGES,
    min_replies: int = GRAPH_MIN_REPLIES,
    colours: dict[int, str] | None = None,
) -> go.Figure:
    """Positions (or clusters) as nodes, at the centre of their claims on the map and sized by
    claims, and replies between them as edges: wider for more, the `max_edges` busiest pairs with
    at least `min_replies` replies (all pairs when none has that many; the page's table lists the
    rest). `nodes`: cluster (the node id), label, n_claims, x, y, within, and optionally topic (its
    colour, from `colours` by topic when given), text (drawn in the node) and select (the cluster a
    click selects); `edges`: one row per unordered pair with a, b, a_to_b, b_to_a, total, rebuttals."""
    fig = go.Figure()
    pos = {r["cluster"]: (r["x"], r["y"]) for r in nodes.iter_rows(named=True)}
    names = dict(zip(nodes["cluster"].to_list(), nodes["label"].to_list(), strict=True))
    texts = nodes["text"].to_list() if "text" in nodes.columns else [str(c) for c in nodes["cluster"].to_list()]
    short = dict(zip(nodes["cluster"].to_list(), texts, strict=True))
    busy = edges.filter(pl.col("total") >= min_replies)
    drawn = (busy if busy.height else edges).sort("total", "a", "b", descending=[True, False, False]).head(max_edges)
    most = max(drawn["total"].to_list(), default=0)
    buckets: dict[int, tuple[list, list]] = {}
    mids_x, mids_y, mids_text = [], [], []
    for e in drawn.iter_rows(named=True):
        (x0, y0), (x1, y1) = pos[e["a"]], pos[e["b"]]
        xs, ys = buckets.setdefault(_widths(e["total"], most), ([], []))
        xs.extend([x0, x1, None])
        ys.extend([y0, y1, None])
        mids_x.append((x0 + x1) / 2)
        mids_y.append((y0 + y1) / 2)
        rebuttals = "not computed" if e["rebuttals"] is None else str(e["rebuttals"])
        a, b = short[e["a"]], short[e["b"]]
        mids_text.append(
            f"<b>{a}: {html.escape(names[e['a']])}</b> ↔ <b>{b}: {html.escape(names[e['b']])}</b><br>"
            f"{e['a_to_b']} repl{'y' if e['a_to_b'] == 1 else 'ies'} from {a} to {b}, "
            f"{e['b_to_a']} from {b} to {a}<br>rebuttals: {rebuttals}"
        )
    for width in sorted(buckets):
        xs, ys = buckets[width]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                hoverinfo="skip",
                showlegend=False,
                line={"width": width, "color": f"rgba(70,70,70,{0.2 + 0.1 * width:.1f})"},
            )
        )
    fig.add_trace(
        go.Scatter(
            x=mids_x,
            y=mids_y,
            mode="markers",
            hovertext=mids_text,
            hoverinfo="text",
            showlegend=False,
            marker={"size": 10, "color": "rgba(0,0,0,0)"},
            name="replies",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=nodes["x"].to_list(),
            y=nodes["y"].to_list(),
            mode="markers+text",
            text=texts,
            textposition="middle center",
            textfont={"color": "#fff", "size": 10},
            hovertext=[
                f"<b>{t}: {html.escape(lab)}</b><br>{n} claims<br>{w} repl{'y' if w == 1 else 'ies'} within it"
                for t, lab, n, w in zip(
                    texts, nodes["label"].to_list(), nodes["n_claims"].to_list(), nodes["within"].to_list(), strict=True
                )
            ],
            hoverinfo="text",
            showlegend=False,
            marker={
                "size": [10 + 3 * n**0.5 for n in nodes["n_claims"].to_list()],
                "color": [
                    (colours or {}).get(c) or colour(c)
                    for c in nodes["topic" if "topic" in nodes.columns else "cluster"].to_list()
                ],
                "symbol": [symbol(sd) if sd else "circle" for sd in nodes["side"].to_list()]
                if "side" in nodes.columns
                else "circle",
                "line": {"width": 1, "color": "#fff"},
            },
            customdata=nodes["select" if "select" in nodes.columns else "cluster"].to_list(),
            name="clusters",
        )
    )
    fig.update_layout(
        template="plotly_white",
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"visible": False},
        yaxis={"visible": False, "scaleanchor": "x"},
        hoverlabel={"align": "left"},
        dragmode="pan",
    )
    return fig


def threads_chart(threads: list[dict], labels: dict[int, str], colours: dict[int, str] | None = None) -> go.Figure:
    """Per thread, the share of its claims in each cluster: one stacked bar per thread, each cluster
    in `colours` (the map's, maplayers.map_colours; by cluster id when not given)."""
    fig = go.Figure()
    rows = [t for t in threads if t["n_claims"]]
    names = [html.escape(t["thread"] + (f" ({t['source']})" if t["source"] else "")) for t in rows]
    clusters = sorted({c for t in rows for c in t["clusters"]}, key=lambda c: (c < 0, c))
    for c in clusters:
        counts = [t["clusters"].get(c, 0) for t in rows]
        label = html.escape(labels.get(c, f"cluster {c}"))
        fig.add_trace(
            go.Bar(
                y=names,
                x=[100 * n / t["n_claims"] for n, t in zip(counts, rows, strict=True)],
                orientation="h",
                name=label if c < 0 else f"{c}: {label}",
                marker={"color": (colours or {}).get(c) or colour(c)},
                hovertext=[
                    f"<b>{c}: {label}</b><br>{n} of {t['n_claims']} claims" for n, t in zip(counts, rows, strict=True)
                ],
                hoverinfo="text",
                meta={"cluster": c},
            )
        )
    fig.update_layout(
        template="plotly_white",
        barmode="stack",
        height=max(160, 60 + 34 * len(rows)),
        margin={"l": 10, "r": 10, "t": 10, "b": 30},
        xaxis={"title": {"text": "% of the thread's claims"}, "range": [0, 100]},
        yaxis={"automargin": True, "autorange": "reversed"},
        showlegend=False,
        hoverlabel={"align": "left"},
    )
    return fig
