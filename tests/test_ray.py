"""The Ray engine (`--engine ray`) against the local one: same cores, same files, on a local Ray."""

from __future__ import annotations

import builtins
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from stancemap import embed as embed_stage
from stancemap import engine
from stancemap import ingest as ingest_stage
from stancemap import segment as segment_stage
from stancemap.cli import app
from stancemap.config import EmbedParams, SegmentParams
from stancemap.errors import StancemapError
from tests.conftest import REPO, FakeEmbedder

runner = CliRunner()
# Ray Data reads deprecated settings of its own when it copies its context
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")


def test_a_missing_ray_says_how_to_install_it(monkeypatch):
    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(StancemapError, match=r"pip install 'stancemap\[ray\]'"):
        engine.import_ray()


def test_an_unknown_engine_is_refused(tmp_path):
    result = runner.invoke(app, ["segment", str(tmp_path / "c.parquet"), "--out", "x", "--engine", "spark"])
    assert result.exit_code == 2
    assert "local" in result.output and "ray" in result.output


class FakeRay:
    """Records how the engine starts Ray, without starting it."""

    def __init__(self, fail: bool = False):
        self.calls: list[dict] = []
        self.running = False
        self.fail = fail
        self.data = SimpleNamespace(DataContext=SimpleNamespace(get_current=lambda: SimpleNamespace()))

    def is_initialized(self) -> bool:
        return self.running

    def init(self, **options) -> None:
        if self.fail:
            raise ConnectionError("Could not find any running Ray instance")
        self.calls.append(options)
        self.running = True

    def shutdown(self) -> None:
        self.running = False


@pytest.mark.parametrize(
    ("address", "env", "expected"),
    [(None, None, "local"), (None, "auto", "auto"), ("ray://head:10001", "auto", "ray://head:10001")],
)
def test_ray_session_starts_a_new_local_ray_unless_told_where_to_go(monkeypatch, address, env, expected):
    fake = FakeRay()
    monkeypatch.setattr(engine, "import_ray", lambda: fake)
    if env is None:
        monkeypatch.delenv("RAY_ADDRESS", raising=False)
    else:
        monkeypatch.setenv("RAY_ADDRESS", env)
    with engine.ray_session(address) as ray:
        assert ray is fake and fake.running
    assert not fake.running  # started here, so stopped here
    (options,) = fake.calls
    assert options["address"] == expected
    if expected == "local":
        assert options["include_dashboard"] is False and "runtime_env" not in options
    else:  # a cluster gets this package's code, under its import name, so its workers run the driver's version
        (shipped,) = options["runtime_env"]["py_modules"]
        shipped = Path(shipped)
        assert shipped.name == "stancemap"
        source = Path(engine.__file__).resolve().parent
        assert (shipped / "cli.py").read_bytes() == (source / "cli.py").read_bytes()
        assert (shipped / "models" / "stance-minilm" / "stance.safetensors").exists()  # the stance workers load it
        assert not list(shipped.rglob("__pycache__"))


def test_a_ray_that_cannot_be_reached_is_one_clear_error(monkeypatch):
    monkeypatch.setattr(engine, "import_ray", lambda: FakeRay(fail=True))
    with pytest.raises(StancemapError, match=r"^--ray-address auto: cannot connect to Ray \(Could not find"):
        with engine.ray_session("auto"):
            pass


@pytest.fixture(scope="session")
def ray_local():
    """One local Ray for the session: 2 CPUs, no dashboard, no usage reports."""
    if not _has_ray():
        reason = "Ray is not installed (pip install 'stancemap[ray]'; make test installs it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    import ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, address="local")
    yield ray
    ray.shutdown()


def _has_ray() -> bool:
    try:
        import ray.data  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def demo_comments(tmp_path_factory) -> Path:
    """The demo corpus (data/raw), ingested."""
    out = tmp_path_factory.mktemp("ray_demo") / "comments.parquet"
    ingest_stage.run(inputs=[REPO / "data" / "raw"], out=out)
    return out


@pytest.mark.slow
def test_ray_segment_writes_the_local_files(ray_local, demo_comments, tmp_path):
    params = SegmentParams()
    local = segment_stage.segment(pl.read_parquet(demo_comments), segment_stage.load_nlp("blank"), params)
    claims = engine.run_segment(
        params, comments=demo_comments, out=tmp_path / "ray.parquet", cache=tmp_path / "ray_cache.parquet"
    )
    assert claims.height > 500
    assert_frame_equal(claims, local)
    segment_stage.run(
        params, comments=demo_comments, out=tmp_path / "local.parquet", cache=tmp_path / "local_cache.parquet"
    )
    for name in ("", "_cache"):
        assert (tmp_path / f"ray{name}.parquet").read_bytes() == (tmp_path / f"local{name}.parquet").read_bytes()


@pytest.mark.slow
def test_ray_segment_sends_only_comments_the_cache_lacks(ray_local, demo_comments, tmp_path, monkeypatch):
    comments = pl.read_parquet(demo_comments)
    params = SegmentParams()
    cache = segment_stage.read_cache(None)
    segment_stage.segment_cached(comments.head(100), params, cache)

    sent: list[int] = []
    on_ray = engine.units_on_ray
    monkeypatch.setattr(engine, "units_on_ray", lambda c, keys, *a: sent.append(len(keys)) or on_ray(c, keys, *a))
    claims, segmented = engine.segment_with_ray(comments, params, cache)
    keys = segment_stage.comment_keys(comments, params)
    expected = set(keys) - set(keys[:100])
    assert sent == [len(expected)] and segmented == len(expected)
    assert_frame_equal(claims, segment_stage.segment(comments, segment_stage.load_nlp("blank"), params))

    sent.clear()
    assert engine.segment_with_ray(comments, params, cache)[1] == 0
    assert sent == []  # everything cached: no Ray work at all


@pytest.mark.slow
def test_ray_segment_keeps_order_across_many_small_batches(ray_local, demo_comments, monkeypatch):
    # 332 comments in batches of 7: dozens of blocks over two workers, finishing in any order
    monkeypatch.setattr(engine, "SEGMENT_BATCH_ROWS", 7)
    comments = pl.read_parquet(demo_comments)
    params = SegmentParams(split_clauses=False)
    local = segment_stage.segment(comments, segment_stage.load_nlp("blank"), params)
    assert_frame_equal(engine.segment_with_ray(comments, params)[0], local)


@pytest.mark.slow
def test_ray_segment_of_nothing_is_an_empty_claims_table(demo_comments):
    comments = pl.read_parquet(demo_comments).head(0)
    claims, segmented = engine.segment_with_ray(comments, SegmentParams(), address="ray://nowhere.invalid:1")
    assert segmented == 0  # nothing to do: Ray is never contacted
    assert_frame_equal(claims, segment_stage.segment(comments, segment_stage.load_nlp("blank"), SegmentParams()))


@pytest.mark.slow
def test_a_worker_error_reaches_the_user_as_one_line(ray_local, demo_comments, tmp_path):
    with pytest.raises(StancemapError) as caught:
        engine.run_segment(
            SegmentParams(spacy_model="xx_no_such_pipeline"), comments=demo_comments, out=tmp_path / "c.parquet"
        )
    assert str(caught.value).startswith("segment.spacy_model: spaCy package 'xx_no_such_pipeline' is not installed")
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "c.parquet").exists()


@pytest.mark.slow
def test_a_worker_with_other_versions_than_the_driver_is_refused(ray_local, demo_comments, monkeypatch):
    # the workers compute the real fingerprint; the driver's cache keys would name another setup
    monkeypatch.setattr(segment_stage, "fingerprint", lambda params: "another spaCy")
    with pytest.raises(StancemapError, match="a Ray worker has another version of spaCy"):
        engine.segment_with_ray(pl.read_parquet(demo_comments), SegmentParams())


@pytest.mark.slow
def test_over_ray_client_the_dataset_is_driven_from_a_task_on_the_cluster(ray_local, demo_comments, monkeypatch):
    # Ray Data cannot run from a Ray Client (ray://) driver, so there the engine runs it inside a task
    monkeypatch.setattr(engine, "_through_ray_client", lambda: True)
    comments = pl.read_parquet(demo_comments)
    claims, _ = engine.segment_with_ray(comments, SegmentParams())
    assert_frame_equal(claims, segment_stage.segment(comments, segment_stage.load_nlp("blank"), SegmentParams()))
    with pytest.raises(StancemapError, match=r"^segment.spacy_model: spaCy package 'xx_nope' is not installed"):
        engine.segment_with_ray(comments, SegmentParams(spacy_model="xx_nope"))


@pytest.fixture(scope="module")
def demo_claims(demo_comments) -> Path:
    out = demo_comments.parent / "claims.parquet"
    segment_stage.run(SegmentParams(), comments=demo_comments, out=out)
    return out


def fake_run(claims: Path, out: Path, cache: Path | None, *, ray: bool) -> pl.DataFrame:
    """Embed with the fake embedder, locally or on Ray (each worker builds its own fake)."""
    params = EmbedParams()
    if ray:
        return engine.run_embed(
            params, claims=claims, out=out, cache=cache, factory=FakeEmbedder, model_id=FakeEmbedder.model_id
        )
    return embed_stage.run(params, claims=claims, out=out, cache=cache, embedder=FakeEmbedder())


@pytest.mark.slow
def test_ray_embed_writes_the_local_files(ray_local, demo_claims, tmp_path):
    local = fake_run(demo_claims, tmp_path / "local.parquet", tmp_path / "local_cache.parquet", ray=False)
    on_ray = fake_run(demo_claims, tmp_path / "ray.parquet", tmp_path / "ray_cache.parquet", ray=True)
    assert_frame_equal(on_ray, local)
    for name in ("", "_cache"):
        assert (tmp_path / f"ray{name}.parquet").read_bytes() == (tmp_path / f"local{name}.parquet").read_bytes()


@pytest.mark.slow
def test_ray_embed_sends_only_texts_the_cache_lacks(ray_local, demo_claims, tmp_path, monkeypatch):
    claims = pl.read_parquet(demo_claims)
    half = tmp_path / "half.parquet"
    claims.head(claims.height // 2).write_parquet(half)
    cache = tmp_path / "cache.parquet"
    fake_run(half, tmp_path / "first.parquet", cache, ray=False)
    known = len(embed_stage.read_cache(cache))

    sent: list[int] = []
    encode = engine.RayEmbedder.encode
    monkeypatch.setattr(engine.RayEmbedder, "encode", lambda self, t: sent.append(len(t)) or encode(self, t))
    whole = fake_run(demo_claims, tmp_path / "ray.parquet", cache, ray=True)
    new_texts = set(claims["text"]) - set(claims.head(claims.height // 2)["text"])
    assert sent == [len(new_texts)]
    assert len(embed_stage.read_cache(cache)) == known + len(new_texts)
    assert_frame_equal(whole, fake_run(demo_claims, tmp_path / "local.parquet", None, ray=False))

    # everything cached now: no Ray work at all
    sent.clear()
    fake_run(demo_claims, tmp_path / "again.parquet", cache, ray=True)
    assert sent == []


@pytest.mark.slow
def test_ray_embed_refuses_a_worker_with_another_model(ray_local, demo_claims, tmp_path):
    with pytest.raises(StancemapError, match="a Ray worker loaded model 'fake-bow-64'"):
        engine.run_embed(
            EmbedParams(), claims=demo_claims, out=tmp_path / "e.parquet", factory=FakeEmbedder, model_id="other"
        )
    assert not (tmp_path / "e.parquet").exists()


@pytest.mark.slow
def test_cli_segment_engine_ray(ray_local, demo_comments, tmp_path):
    claims, cache = tmp_path / "claims.parquet", tmp_path / "segment_cache.parquet"
    args = ["--quiet", "segment", str(demo_comments), "--out", str(claims), "--cache", str(cache), "--engine", "ray"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    local = segment_stage.run(SegmentParams(), comments=demo_comments, out=tmp_path / "l")
    assert_frame_equal(pl.read_parquet(claims), local)
    assert cache.exists()
    assert ray_local.is_initialized()  # a Ray the caller started is left running


@pytest.mark.slow
def test_cli_embed_engine_ray_with_the_real_model_matches_local(ray_local, demo_claims, real_embedder, tmp_path):
    claims = pl.read_parquet(demo_claims).head(50)
    subset, out, cache = tmp_path / "claims.parquet", tmp_path / "embeddings.parquet", tmp_path / "cache.parquet"
    claims.write_parquet(subset)
    args = ["--quiet", "embed", str(subset), "--out", str(out), "--cache", str(cache), "--engine", "ray"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    local = embed_stage.embed(claims, real_embedder, {})
    on_ray = pl.read_parquet(out)
    assert on_ray["claim_id"].to_list() == local["claim_id"].to_list()
    np.testing.assert_allclose(on_ray["vector"].to_numpy(), local["vector"].to_numpy(), atol=1e-5)
    assert len(embed_stage.read_cache(cache)) == claims["text"].n_unique()
