"""bench/scale.py's worker runs the product's own stages: a smoke test on a tiny corpus, so a change
to a stage's signature cannot leave the benchmark broken until its next (long) run."""

from __future__ import annotations

import importlib.util
import sys

import polars as pl

from tests.conftest import REPO


def _script():
    spec = importlib.util.spec_from_file_location("bench_scale", REPO / "bench" / "scale.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_worker_runs_ingest_and_segment_as_stancemap_run_does(tmp_path, monkeypatch):
    from stancemap import embed

    # the worker hooks a timer into embed.make_embedder (a benchmark process is used once);
    # monkeypatch puts the original back for the tests that come after
    monkeypatch.setattr(embed, "make_embedder", embed.make_embedder)
    scale = _script()
    arguments = [
        scale.Argument(i, topic, text, (i, i))
        for i, (topic, text) in enumerate(
            [
                ("Ban whaling", "Whaling should be banned because whales are intelligent animals."),
                ("Ban whaling", "Some communities depend on whaling for food and their culture."),
                ("Adopt atheism", "Religion gives many people a sense of community and purpose."),
            ]
        )
    ]
    scale.write_threads(arguments, tmp_path / "data" / "raw")
    spec = {"params": str(REPO / "params.yaml"), "overrides": [], "workdir": str(tmp_path)}
    spec["stages"] = ["ingest", "segment"]
    result = scale.stancemap_worker(spec)
    assert [s["stage"] for s in result["stages"]] == ["ingest", "segment"]
    assert result["comments"] == 3 and result["claims"] >= 3
    comments = pl.read_parquet(tmp_path / "data" / "interim" / "comments.parquet")
    assert sorted(comments["thread_id"].unique().to_list()) == ["adopt-atheism", "ban-whaling"]
