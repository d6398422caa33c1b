"""The page's data: points, the cluster panel, new claims and the shown sample."""

import json
import re

import polars as pl

from stancemap.config import Params, load_params
from stancemap.report import data as pagedata
from stancemap.report.figures import hover_text, stance_map
from stancemap.report.render import build_report
from tests.report.helpers import HOSTILE, points_of, tables


def test_cluster_panel_has_every_cluster_threads_authors_and_no_sides_yet(tmp_path):
    claims, comments, clusters, labels = tables(tmp_path, HOSTILE)
    points = points_of(claims, comments, clusters)
    panel = pagedata.cluster_panel(points, labels.filter(pl.col("cluster") >= 0))  # -1 missing from labels
    assert [c["cluster"] for c in panel] == [0, 1, -1]
    assert panel[-1]["label"] == "Unclustered"
    assert sum(c["n_claims"] for c in panel) == claims.height
    assert all(c["sides"] is None for c in panel)
    assert panel[0]["threads"] == [["hostile", panel[0]["n_claims"]]]
    assert panel[0]["n_authors"] == points.filter(pl.col("cluster") == 0)["real_author"].n_unique()
    assert panel[0]["key_claims"] == [0]


def test_new_claims_are_marked_in_hover_list_counts_and_summary(tmp_path):
    texts = ["Distillation is theft of the lab's work.", "They paid for every token they used.", "Export rules matter."]
    claims, comments, clusters, labels = tables(tmp_path, texts)
    fresh = [i == 1 for i in range(clusters.height)]
    clusters = clusters.with_columns(pl.Series("new", fresh))
    points = points_of(claims, comments, clusters)
    assert points["new"].to_list() == fresh
    panel = {c["cluster"]: c for c in pagedata.cluster_panel(points, labels)}
    assert sum(c["n_new"] for c in panel.values()) == 1
    assert pagedata.page_data(points, comments, {})["claims"]["new"] == [int(f) for f in fresh]
    assert "new since the last run" in hover_text("claim", "me", "t", "label", 280, new=True)
    assert "new since" not in hover_text("claim", "me", "t", "label", 280)
    figure = stance_map(points, labels).to_dict()
    outlined = [t["marker"].get("line") for t in figure["data"]]
    assert any(line and "#111" in line["color"] for line in outlined)
    page, metrics = build_report(claims, comments, clusters, labels, Params())
    assert metrics["new_claims"] == 1 and "new since the last run" in page and 'class="new-badge"' in page
    # a table without the column (an older run) reads as nothing new
    page, metrics = build_report(claims, comments, clusters.drop("new"), labels, Params())
    assert metrics["new_claims"] == 0 and 'class="new-badge"' not in page


def test_past_max_points_the_page_carries_a_labelled_sample(tmp_path):
    texts = [f"Claim number {i} says something about distillation and theft." for i in range(40)]
    claims, comments, clusters, labels = tables(tmp_path, texts)
    # key claims sit late in each cluster, so a sample that ignored them would miss them
    late = {c: claims["claim_id"][i] for i, c in ((37, 1), (36, 0))}
    labels = labels.with_columns(pl.Series("key_claims", [[late[0]], [late[1]], []]))
    points = points_of(claims, comments, clusters)
    shown = pagedata.shown_sample(points, labels, 10)
    assert 10 <= shown.height < points.height  # quotas, plus key claims and one per cluster
    assert set(late.values()) <= set(shown["claim_id"].to_list())
    assert shown["index"].to_list() == list(range(shown.height))
    assert shown["claim_id"].to_list() == [c for c in points["claim_id"].to_list() if c in set(shown["claim_id"])]
    assert set(shown["cluster"].to_list()) == set(points["cluster"].to_list())  # every cluster stays visible
    assert pagedata.shown_sample(points, labels, 10).equals(shown)  # the same sample every time
    assert pagedata.shown_sample(points, labels, points.height).equals(points)  # under the limit: all
    panel = {c["cluster"]: c for c in pagedata.cluster_panel(points, labels, shown)}
    assert sum(c["n_claims"] for c in panel.values()) == points.height  # counts are over all claims
    ids = shown["claim_id"].to_list()
    assert [ids[i] for i in panel[0]["key_claims"]] == [late[0]]  # key claims point into the sample
    params = load_params(None, ["report.max_points=10"])
    page, metrics = build_report(claims, comments, clusters, labels, params)
    assert metrics["claims"] == points.height and metrics["shown_claims"] == shown.height
    assert f"a sample of\n    {shown.height} of the {points.height} claims" in page
    data = json.loads(re.search(r'id="stancemap-data">(.*?)</script>', page, re.S).group(1))
    assert data["claims"]["id"] == ids
    page, metrics = build_report(claims, comments, clusters, labels, Params())
    assert metrics["shown_claims"] == metrics["claims"] and "a sample of" not in page
