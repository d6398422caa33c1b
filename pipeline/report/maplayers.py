"""The map's hierarchy, theme -> topic -> side: colours, legend groups and the labels drawn on it.

Without themes (labels.parquet from before them, or no more topics than themes) every topic has a
colour of its own and its own legend group. With themes, a theme has one hue and its topics are
shades of it (lighter for smaller topics), the legend is grouped by theme, and each theme of two
or more topics gets a label of its own, placed before any topic label, so the map opens at the
theme level and zooming in makes room for the topics' labels (maplabels.js drops a label that
would overlap one placed before it). Pure functions: tables in, plain values out.
"""

from __future__ import annotations

import html

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
MAX_TOPIC_LABELS = 60  # topic labels drawn on the map, largest topics first (maplabels.js hides colliding ones)
TOPIC_LABEL_CHARS = 32
LIGHTEST = 0.55  # the smallest topic of a theme: its hue mixed this far towards white


def short(text: str, limit: int = TOPIC_LABEL_CHARS) -> str:
    """`text` cut to `limit` characters (before escaping, so no entity is cut in half)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def shade(hex_colour: str, towards_white: float) -> str:
    """`hex_colour` mixed with white: 0 keeps it, 1 is white."""
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    mix = [round(c + (255 - c) * towards_white) for c in (r, g, b)]
    return "#" + "".join(f"{c:02x}" for c in mix)


def themes_of(labels: pl.DataFrame, topics: set[int]) -> tuple[dict[int, int], dict[int, str]] | None:
    """Topic -> theme and theme -> label from labels.parquet, or None when themes add no level
    (no theme column, or as many themes as topics)."""
    if "theme" not in labels.columns or "theme_label" not in labels.columns:
        return None
    rows = labels.filter(pl.col("topic") >= 0).select("topic", "theme", "theme_label").unique("topic", keep="first")
    theme_of = {t: th for t, th, _ in rows.iter_rows() if t in topics and th is not None and th >= 0}
    if len(set(theme_of.values())) >= len(theme_of):
        return None
    names = {th: name for _, th, name in rows.sort("theme").iter_rows() if th is not None}
    return theme_of, names


def topic_colours(sizes: dict[int, int], hierarchy: tuple[dict[int, int], dict[int, str]] | None) -> dict[int, str]:
    """A colour per topic (`sizes`: claims per topic): its own from PALETTE, or with themes the
    theme's hue, shaded from full (the theme's largest topic) to LIGHTEST (its smallest)."""
    if hierarchy is None:
        return {t: PALETTE[t % len(PALETTE)] for t in sizes}
    theme_of, _ = hierarchy
    members: dict[int, list[int]] = {}
    for t in sorted(sizes, key=lambda t: (-sizes[t], t)):
        members.setdefault(theme_of.get(t, -1), []).append(t)
    colours = {}
    for theme, ts in members.items():
        if theme < 0:  # a topic the labels put in no theme keeps a colour of its own
            colours.update({t: PALETTE[t % len(PALETTE)] for t in ts})
            continue
        hue = PALETTE[theme % len(PALETTE)]
        for k, t in enumerate(ts):
            colours[t] = shade(hue, LIGHTEST * k / (len(ts) - 1)) if len(ts) > 1 else hue
    return colours


def _label(x: float, y: float, text: str, border: str, kind: str) -> dict:
    theme = kind == "theme-label"
    return {
        "name": kind,
        "x": x,
        "y": y,
        "xref": "x",
        "yref": "y",
        "text": f"<b>{html.escape(short(text))}</b>" if theme else html.escape(short(text)),
        "showarrow": False,
        "xanchor": "center",
        "yanchor": "middle",
        "font": {"size": 14 if theme else 12, "color": "#111" if theme else "#222"},
        "bgcolor": "rgba(255,255,255,0.88)" if theme else "rgba(255,255,255,0.82)",
        "bordercolor": border,
        "borderwidth": 2.5 if theme else 1.5,
        "borderpad": 3 if theme else 2,
        "captureevents": False,
    }


def _centres(points: pl.DataFrame, key_of: dict[int, int]) -> list[tuple[int, int, float, float]]:
    """(key, claims, median x, median y) per key of the claims' clusters, largest first."""
    table = (
        points.select("cluster", "x", "y")
        .with_columns(pl.col("cluster").replace_strict(key_of, default=-1, return_dtype=pl.Int64).alias("_key"))
        .filter(pl.col("_key") >= 0)
        .group_by("_key")
        .agg(pl.len().alias("n"), pl.col("x").median(), pl.col("y").median())
        .sort(["n", "_key"], descending=[True, False])
    )
    return list(table.iter_rows())


def label_annotations(
    points: pl.DataFrame,
    topic_of: dict[int, int],
    topic_names: dict[int, str],
    colours: dict[int, str],
    hierarchy: tuple[dict[int, int], dict[int, str]] | None = None,
    most: int = MAX_TOPIC_LABELS,
) -> tuple[list[dict], dict[str, list[int]]]:
    """The map's labels and what each one names: theme labels first (themes of two or more topics,
    largest first), then one per topic (the `most` largest; none for a topic whose label is a drawn
    theme label), each at the median of its claims.
    Returns the annotations and {"theme_labels": [theme ids], "topic_labels": [topic ids]} in
    annotation order (the browser keeps the earlier of two colliding labels)."""
    meta: dict[str, list[int]] = {"theme_labels": [], "topic_labels": []}
    if points.is_empty():
        return [], meta
    annotations = []
    named: set[str] = set()  # theme labels drawn: a topic whose label says the same gets none
    if hierarchy is not None:
        theme_of, theme_names = hierarchy
        counts: dict[int, int] = {}
        for t in theme_of:
            counts[theme_of[t]] = counts.get(theme_of[t], 0) + 1
        cluster_theme = {c: theme_of.get(t, -1) for c, t in topic_of.items() if t >= 0}
        for theme, _, x, y in _centres(points, cluster_theme):
            if counts.get(theme, 0) < 2:
                continue  # a theme of one topic is named by the topic's label
            hue = PALETTE[theme % len(PALETTE)]
            annotations.append(_label(x, y, theme_names.get(theme, f"theme {theme}"), hue, "theme-label"))
            meta["theme_labels"].append(theme)
            named.add(theme_names.get(theme, ""))
    for topic, _, x, y in _centres(points, {c: t for c, t in topic_of.items() if t >= 0})[:most]:
        if topic_names[topic] in named:
            continue
        annotations.append(_label(x, y, topic_names[topic], colours.get(topic, "#444"), "topic-label"))
        meta["topic_labels"].append(topic)
    return annotations, meta


def map_colours(points: pl.DataFrame, labels: pl.DataFrame) -> tuple[dict[int, str], dict[int, str]]:
    """The page's colours, the map's: (cluster -> colour, topic -> colour). `points` needs cluster
    and topic; unclustered claims (-1) are grey. The cluster panel, the reply graph and the threads
    chart use these, so a topic looks the same everywhere."""
    per = points.group_by("cluster", "topic").len().sort("cluster")
    sizes: dict[int, int] = {}
    for _, t, n in per.iter_rows():
        if t >= 0:
            sizes[t] = sizes.get(t, 0) + n
    topics = topic_colours(sizes, themes_of(labels, set(sizes)))
    clusters = {c: topics.get(t, UNCLUSTERED_COLOUR) if c >= 0 else UNCLUSTERED_COLOUR for c, t, _ in per.iter_rows()}
    return clusters, topics
