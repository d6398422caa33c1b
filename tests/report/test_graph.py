"""Replies between clusters: counts, edges, nodes and rebuttals."""

import polars as pl

from stancemap.report.figures import reply_graph
from stancemap.report.graph import cluster_replies, position_points, reply_edges, reply_nodes


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
    points = pl.DataFrame({"comment_id": ["a", "b", "c"], "cluster": [0, 1, 1], "x": [0.0, 1.0, 1.0], "y": [0.0] * 3})
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


def test_replies_between_positions_are_between_topics_and_their_sides():
    # topic 0 has two clusters (0 pro, 1 con), topic 1 one cluster with no side; b (con) and c (no
    # side) reply to a (pro); d (con, same topic) replies to b
    points = pl.DataFrame(
        {
            "comment_id": ["a", "a", "b", "c", "d", "e"],
            "cluster": [0, 0, 1, 2, 1, -1],
            "topic": [0, 0, 0, 1, 0, -1],
            "side": ["pro", "pro", "con", None, "con", None],
            "x": [0.0, 2.0, 4.0, 6.0, 4.0, 9.0],
            "y": [0.0] * 6,
        }
    )
    comments = pl.DataFrame({"comment_id": list("abcde"), "parent_id": [None, "a", "a", "b", "a"]})
    names = {0: "theft", 1: "export"}
    at, nodes = position_points(points, names, by_side=True)
    assert nodes.select("node", "topic", "side", "label", "text", "select").rows() == [
        (0, 0, "pro", "theft · pro", "0▲", 0),
        (1, 0, "con", "theft · con", "0▼", 1),
        (2, 1, None, "export · no side", "1", 2),
    ]
    assert at["cluster"].to_list() == [0, 0, 1, 2, 1, -1]
    edges = reply_edges(cluster_replies(at, comments))
    assert edges.select("a", "b", "a_to_b", "b_to_a", "rebuttals").rows() == [(0, 1, 0, 1, 1), (0, 2, 0, 1, 0)]
    within = cluster_replies(at, comments).filter(pl.col("source") == pl.col("target"))
    assert within.select("source", "replies").rows() == [(1, 1)]  # d answers b on the same side
    # sides toward each thread's opening post do not make positions: one node per topic
    at, nodes = position_points(points, names, by_side=False)
    assert nodes.select("node", "topic", "side", "text").rows() == [(0, 0, None, "0"), (1, 1, None, "1")]
    assert at["cluster"].to_list() == [0, 0, 0, 1, 0, -1]
    edges = reply_edges(cluster_replies(at, comments))
    assert edges.select("a", "b", "total").rows() == [(0, 1, 1)] and edges["rebuttals"].to_list() == [None]
    fig = reply_graph(reply_nodes(at, cluster_replies(at, comments), {0: "theft", 1: "export"}), edges).to_dict()
    assert fig["data"][-1]["text"] == ["0", "1"]


def test_the_graph_draws_busy_pairs_and_leaves_single_replies_to_the_table():
    nodes = pl.DataFrame(
        {
            "cluster": [0, 1, 2],
            "label": ["x", "y", "z"],
            "n_claims": [3, 3, 3],
            "x": [0.0, 1.0, 2.0],
            "y": [0.0] * 3,
            "within": [0] * 3,
        }
    )
    edges = pl.DataFrame(
        {"a": [0, 0], "b": [1, 2], "a_to_b": [2, 1], "b_to_a": [1, 0], "total": [3, 1], "rebuttals": [None, None]}
    )
    fig = reply_graph(nodes, edges).to_dict()
    drawn = [t for t in fig["data"] if t.get("mode") == "lines"]
    assert sum(t["x"].count(None) for t in drawn) == 1  # the pair with 3 replies only
    fig = reply_graph(nodes, edges.filter(pl.col("total") == 1)).to_dict()
    assert sum(t["x"].count(None) for t in fig["data"] if t.get("mode") == "lines") == 1  # none busy: all drawn
