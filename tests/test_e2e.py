"""The whole pipeline with its real parts: spaCy, all-MiniLM-L6-v2, UMAP and HDBSCAN."""

import json
import shutil

import polars as pl
import pytest

from stancemap.io import read_table
from stancemap.stages import Layout
from tests.conftest import REPO, run_pipeline

pytestmark = pytest.mark.slow


def check_artifacts(workdir):
    at = Layout(workdir)
    comments = read_table(at.comments, "comments")
    claims = read_table(at.claims, "claims")
    embeddings = read_table(at.embeddings, "embeddings")
    clusters = read_table(at.clusters, "clusters")
    labels = read_table(at.labels, "labels")
    texts = dict(zip(comments["comment_id"], comments["text"], strict=True))
    assert all(texts[c][s:e] == t for c, s, e, t in claims.select("comment_id", "start", "end", "text").iter_rows())
    assert embeddings["claim_id"].to_list() == claims["claim_id"].to_list()
    assert clusters["claim_id"].to_list() == claims["claim_id"].to_list()  # nothing dropped
    assert set(labels["cluster"]) == set(clusters["cluster"])
    assert labels["n_claims"].sum() == claims.height
    metrics = json.loads(at.metrics.read_text(encoding="utf-8"))
    assert metrics["claims"] == claims.height and metrics["comments"] == comments.height
    page = at.report.read_text(encoding="utf-8")
    assert "Plotly.newPlot" in page and 'src="http' not in page
    return comments, claims, clusters, labels


def test_demo_corpus_end_to_end(demo_run):
    comments, claims, clusters, labels = check_artifacts(demo_run)
    assert comments.height >= 300 and comments["thread_id"].n_unique() >= 3
    assert set(comments["source"]) == {"jsonl", "text"}
    assert (labels["cluster"] >= 0).sum() >= 6, "the demo debate should show several clusters"
    assert (clusters["cluster"] == -1).mean() < 0.3
    # the six positions of the demo debate surface in the cluster keywords
    words = " ".join(" ".join(k) for k in labels["keywords"].to_list())
    for position in ["theft", "security", "scraped", "contract", "logits", "fair use"]:
        assert position in words, f"no cluster about {position!r}: {labels['label'].to_list()}"


def test_seed_dumps_end_to_end(tmp_path, seeds_dir):
    shutil.copytree(seeds_dir, tmp_path / "seeds")
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    printed = run_pipeline(tmp_path, "seeds")
    assert printed.strip().splitlines()[-1] == "reports/stance_map.html"
    comments, claims, clusters, labels = check_artifacts(tmp_path)
    assert comments["thread_id"].n_unique() == 4
    assert (labels["cluster"] >= 0).sum() >= 2


def test_rerun_is_byte_identical_and_uses_the_cache(demo_run, tmp_path):
    shutil.copytree(demo_run / "data" / "raw", tmp_path / "data" / "raw")
    shutil.copy(demo_run / "params.yaml", tmp_path / "params.yaml")
    run_pipeline(tmp_path)
    at, ref = Layout(tmp_path), Layout(demo_run)
    for name in ["comments", "claims", "embeddings", "stances", "clusters", "labels", "report", "metrics"]:
        assert getattr(at, name).read_bytes() == getattr(ref, name).read_bytes(), name
    # a rerun in place takes every vector from the cache, and changes nothing
    cache_before = at.embed_cache.read_bytes()
    run_pipeline(tmp_path)
    assert at.embed_cache.read_bytes() == cache_before
    assert at.clusters.read_bytes() == ref.clusters.read_bytes()


def test_override_changes_the_clustering(demo_run, tmp_path):
    shutil.copytree(demo_run / "data" / "raw", tmp_path / "data" / "raw")
    shutil.copy(demo_run / "params.yaml", tmp_path / "params.yaml")
    shutil.copytree(demo_run / "data" / "interim", tmp_path / "data" / "interim")  # reuse the cache
    run_pipeline(tmp_path, "--set", "cluster.min_cluster_size=40")
    fewer = read_table(Layout(tmp_path).labels, "labels")
    base = read_table(Layout(demo_run).labels, "labels")
    assert (fewer["cluster"] >= 0).sum() < (base["cluster"] >= 0).sum()
    assert pl.Series(fewer["n_claims"]).sum() == pl.Series(base["n_claims"]).sum()
