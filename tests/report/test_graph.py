"""Replies between clusters: counts, edges, nodes and rebuttals."""

import polars as pl

from stancemap.report.figures import reply_graph
from stancemap.report.graph import cluster_replies, reply_edges, reply_nodes


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
