"""Replies between positions (topics, or topics split by side) and between clusters: pure table
maths for the report's reply graph.

The graph's nodes are positions: `position_points` gives every claim the node of its topic, or of
its (topic, side) when the sides are toward one proposition per topic (propositions in params, or
found ones), and the functions below then count replies between those nodes exactly as between
clusters (they read the node from the `cluster` column).

How replies are counted: take every comment that has a parent in the comments table. Let A be the
set of clusters its claims fall in and B the set for its parent's claims (unclustered claims, -1,
are left out of both). The pair (comment, parent) adds one reply from each cluster in A to each
cluster in B. So one comment adds at most one reply per pair of clusters, however many claims it
makes, and a reply whose two comments share a cluster counts as a reply *within* that cluster.
A reply is a rebuttal when the two clusters stand on opposite sides of one proposition (one pro,
the other con; clusters never mix sides, so a cluster has one side). Without stances (no `side`
column, or all null), a reply is a rebuttal when the stance stage's replies table (its reply
detector's edges, at `stance.reply_prior`) says the comment rebuts its parent; without either (no
replies table given), rebuttals are None: not computed.
"""

from __future__ import annotations

import polars as pl


def opposite(a: str | None, b: str | None) -> bool:
    """True when sides `a` and `b` ("pro", or "1:pro 2:con" with several propositions) take
    opposite stances on at least one proposition."""
    if not a or not b:
        return False

    def parse(side: str) -> dict[str, str]:
        return dict(part.split(":", 1) if ":" in part else ("1", part) for part in side.split())

    pa, pb = parse(a), parse(b)
    return any({pa[k], pb.get(k)} == {"pro", "con"} for k in pa)


SIDE_MARKS = {"pro": "▲", "con": "▼", "neither": "■"}  # as the map's marker shapes


def position_points(
    points: pl.DataFrame, topic_labels: dict[int, str], by_side: bool
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`points` with `cluster` replaced by a position node id, and the nodes.

    A node is a topic, or a (topic, side) when `by_side` (claims with no side get their topic's
    "no side" node); unclustered claims stay -1. Nodes are numbered by topic, then pro, con,
    neither, other sides, no side. The nodes table: node, topic, side, label (the topic's label
    and the side), text (the topic id and the side's mark, drawn in the node) and select (the
    node's largest cluster, which a click selects)."""
    side = pl.col("side") if by_side and "side" in points.columns else pl.lit(None, pl.Utf8)
    keyed = points.with_columns(side.cast(pl.Utf8).alias("side"))
    rank = {"pro": 0, "con": 1, "neither": 2}
    keys = keyed.filter(pl.col("topic") >= 0).select("topic", "side").unique().rows()
    keys.sort(key=lambda k: (k[0], rank.get(k[1], 3) if k[1] is not None else 4, k[1] or ""))
    biggest = (  # each node's largest cluster
        keyed.filter(pl.col("topic") >= 0)
        .group_by("topic", "side", "cluster")
        .len()
        .sort("len", "cluster", descending=[True, False])
        .unique(["topic", "side"], keep="first")
    )
    select = {(t, sd): c for t, sd, c, _ in biggest.iter_rows()}
    rows = []
    for node, (topic, sid) in enumerate(keys):
        name = topic_labels.get(topic, "")
        rows.append(
            {
                "node": node,
                "topic": topic,
                "side": sid,
                "label": f"{name} · {sid}" if sid else name if not by_side else f"{name} · no side",
                "text": f"{topic}{SIDE_MARKS.get(sid, '◆' if sid else '')}",
                "select": select[(topic, sid)],
            }
        )
    schema = {
        "node": pl.Int64,
        "topic": pl.Int64,
        "side": pl.Utf8,
        "label": pl.Utf8,
        "text": pl.Utf8,
        "select": pl.Int64,
    }
    nodes = pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)
    ids = nodes.select("topic", "side", pl.col("node").alias("_node"))
    located = keyed.join(ids, on=["topic", "side"], how="left", nulls_equal=True, maintain_order="left")
    out = located.with_columns(pl.col("_node").fill_null(-1).cast(pl.Int64).alias("cluster")).drop("_node")
    return out, nodes


def cluster_replies(points: pl.DataFrame, comments: pl.DataFrame, rebutting: set[str] | None = None) -> pl.DataFrame:
    """Directed reply counts: source (replying cluster), target (cluster replied to), replies, and
    rebuttals. Sides decide rebuttals when there are any; otherwise `rebutting` (comments that
    rebut their parent, from the replies table) does; with neither, rebuttals are None."""
    located = points.filter(pl.col("cluster") >= 0).select("comment_id", "cluster").unique()
    pairs = comments.select("comment_id", "parent_id").drop_nulls("parent_id")
    flagged = pl.col("comment_id").is_in(sorted(rebutting or set())).cast(pl.Int64)
    joined = pairs.join(located, on="comment_id").join(
        located.rename({"comment_id": "parent_id", "cluster": "target"}), on="parent_id"
    )
    replies = (
        joined.group_by("cluster", "target")
        .agg(pl.len().cast(pl.Int64).alias("replies"), flagged.sum().alias("detected"))
        .rename({"cluster": "source"})
        .sort("source", "target")
    )
    sides: dict[int, str] = {}
    if "side" in points.columns:
        per_cluster = (
            points.filter(pl.col("cluster") >= 0)
            .drop_nulls("side")
            .group_by("cluster")
            .agg(pl.col("side").unique().sort())
        )
        # clusters split by side have one side each; otherwise (sides toward each thread's opening
        # post) a cluster holds several, and rebuttals come from the detector instead
        if all(len(v) == 1 for v in per_cluster["side"].to_list()):
            sides = {c: v[0] for c, v in per_cluster.iter_rows()}
    if not sides:
        detected = pl.col("detected") if rebutting is not None else pl.lit(None, pl.Int64)
        return replies.with_columns(detected.cast(pl.Int64).alias("rebuttals")).drop("detected")
    replies = replies.drop("detected")
    rebut = [
        count if opposite(sides.get(s), sides.get(t)) else 0
        for s, t, count in replies.select("source", "target", "replies").iter_rows()
    ]
    return replies.with_columns(pl.Series("rebuttals", rebut, dtype=pl.Int64))


def reply_edges(replies: pl.DataFrame) -> pl.DataFrame:
    """One row per unordered pair of different clusters: a < b, a_to_b, b_to_a, total, rebuttals."""
    between = replies.filter(pl.col("source") != pl.col("target"))
    a = pl.min_horizontal("source", "target").alias("a")
    b = pl.max_horizontal("source", "target").alias("b")
    return (
        between.with_columns(a, b)
        .group_by("a", "b")
        .agg(
            pl.col("replies").filter(pl.col("source") == pl.col("a")).sum().alias("a_to_b"),
            pl.col("replies").filter(pl.col("source") == pl.col("b")).sum().alias("b_to_a"),
            # null stays null (no stances); sum() would turn it into 0
            pl.when(pl.col("rebuttals").is_null().all())
            .then(None)
            .otherwise(pl.col("rebuttals").sum())
            .alias("rebuttals"),
        )
        .with_columns((pl.col("a_to_b") + pl.col("b_to_a")).alias("total"))
        .sort("a", "b")
    )


def reply_nodes(points: pl.DataFrame, replies: pl.DataFrame, labels: dict[int, str]) -> pl.DataFrame:
    """Clusters (unclustered left out) at the centre of their claims on the map, with their size
    and the replies within them."""
    within = dict(replies.filter(pl.col("source") == pl.col("target")).select("source", "replies").iter_rows())
    nodes = (
        points.filter(pl.col("cluster") >= 0)
        .group_by("cluster")
        .agg(pl.len().alias("n_claims"), pl.col("x").mean(), pl.col("y").mean())
        .sort("cluster")
    )
    return nodes.with_columns(
        pl.col("cluster").replace_strict(labels, default="", return_dtype=pl.Utf8).alias("label"),
        pl.col("cluster").replace_strict(within, default=0, return_dtype=pl.Int64).alias("within"),
    )


def graph_summary(edges: pl.DataFrame, nodes: pl.DataFrame) -> list[dict]:
    """The edges as rows for the page's table and downloads, most replies first."""
    names = dict(zip(nodes["cluster"].to_list(), nodes["label"].to_list(), strict=True))
    texts = (
        dict(zip(nodes["cluster"].to_list(), nodes["text"].to_list(), strict=True)) if "text" in nodes.columns else {}
    )
    rows = edges.sort("total", "a", "b", descending=[True, False, False]).to_dicts()
    return [
        {
            **r,
            "a_label": names.get(r["a"], ""),
            "b_label": names.get(r["b"], ""),
            "a_text": texts.get(r["a"], str(r["a"])),
            "b_text": texts.get(r["b"], str(r["b"])),
        }
        for r in rows
    ]
