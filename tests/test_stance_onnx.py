"""The int8 ONNX stance backend: close to torch, built once per cache folder and atomically, chosen by
`stance.backend`; and stance scoring on Ray, byte for byte the local engine's."""

from __future__ import annotations

import functools
import os
import subprocess
import sys

import numpy as np
import pytest

from stancemap.config import StanceParams, load_params
from stancemap.errors import ConfigError, StancemapError
from stancemap.stance import ray as stance_ray
from stancemap.stance.backends import load_stance_model, pair_order
from tests.conftest import REPO

# Ray Data reads deprecated settings of its own when it copies its context
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")

PROPOSITIONS = ["We should ban the distillation of AI models", "Export controls on chips protect national security"]
CLAIMS = [
    "This is theft.",
    "That's fair use.",
    "No.",
    "Distilling a rival's model through its API is theft.",
    "Training on another lab's chat outputs amounts to stealing their work.",
    "Export controls mostly push rivals to build their own chips sooner.",
    "The terms of service forbid using outputs to train a competing model.",
    "A contract breach is not the same thing as a crime.",
    "If the outputs are not copyrightable, nobody owns them and anyone may train on them.",
    "Is scraping a public website really any different from reading it?",
    "They spent billions on compute; free-riding on that undermines the incentive to invest.",
    "28.8 million exchanges through 25,000 accounts is an industrial operation, not research.",
    "Security researchers need to be able to probe these systems without being sued.",
    "Calling it an 'attack' is a PR framing.",
    "Die Nutzungsbedingungen verbieten das ausdrücklich.",
    "Naïve regulation would entrench incumbents — that's my fear.",
    "Correct, and that's fine?",
    "Smaller labs cannot compete if they are barred from learning from the leaders, and the leaders "
    "themselves learned from everyone's writing without asking, so the rule would only protect incumbents "
    "who already crossed the line they now want to draw behind them.",
    "Watermarking outputs would at least make the copying detectable.",
    "Distillation has been a standard ML technique since 2015; it is not new.",
]
PAIRS = ([p for p in PROPOSITIONS for _ in CLAIMS], CLAIMS * len(PROPOSITIONS))


@pytest.fixture(scope="session")
def stance_folder(tmp_path_factory):
    """An untrained stance model (the bundled MiniLM, a seeded random head), saved as training saves one."""
    from stancemap.stance.model import StanceModel

    folder = tmp_path_factory.mktemp("stance-untrained")
    StanceModel(None).save(folder, {"note": "untrained, for tests"})
    return folder


@pytest.fixture(scope="session")
def onnx_root(tmp_path_factory):
    return tmp_path_factory.mktemp("stance-onnx-cache")


@pytest.fixture(scope="session")
def onnx_model(stance_folder, onnx_root):
    from stancemap.stance.onnx import OnnxStanceModel

    return OnnxStanceModel(stance_folder, root=onnx_root)


@pytest.fixture(scope="session")
def torch_model(stance_folder):
    from stancemap.stance.model import StanceModel

    return StanceModel(stance_folder)


@pytest.mark.slow
def test_the_float_graph_is_the_torch_model(stance_folder, onnx_model, torch_model, tmp_path):
    """Before quantising: token types, masked mean pooling, head and softmax exactly as StanceModel."""
    import onnxruntime as ort

    from stancemap.embed_onnx import session_options
    from stancemap.stance.onnx import export_fp32

    export_fp32(stance_folder, tmp_path / "fp32.onnx")
    session = ort.InferenceSession(str(tmp_path / "fp32.onnx"), session_options(), providers=["CPUExecutionProvider"])
    order = pair_order(*PAIRS)
    ordered = ([PAIRS[0][i] for i in order], [PAIRS[1][i] for i in order])
    exported = session.run(None, onnx_model._feed(*ordered))[0]  # one padded batch, as torch below
    np.testing.assert_allclose(exported, torch_model.predict(*ordered, batch_size=len(order)), atol=1e-5)


@pytest.mark.slow
def test_int8_probabilities_are_close_to_torch(onnx_model, torch_model):
    int8, reference = onnx_model.predict(*PAIRS, batch_size=8), torch_model.predict(*PAIRS, batch_size=8)
    assert int8.shape == reference.shape == (len(CLAIMS) * 2, 3) and int8.dtype == np.float32
    assert np.allclose(int8.sum(axis=1), 1, atol=1e-5)  # the softmax is in the graph
    # The untrained head gives probabilities of 0.26 to 0.42 that differ between pairs by up to 0.13
    # per class (mean pooling over the padding too misses by 0.1). int8 weights and activations move
    # one by 0.011 at most here, 0.0035 on average; on a briefly trained model (1,864 ArgKP dev and
    # 2,042 demo pairs) by 0.02 at most and 0.003 on average. 0.03 and 0.006 bound that with room for
    # other onnxruntime builds and CPUs; that the float graph is exact is checked above.
    error = np.abs(int8 - reference)
    assert error.max() <= 0.03, error.max()
    assert error.mean() <= 0.006, error.mean()
    assert (reference.max(axis=0) - reference.min(axis=0)).max() >= 0.08  # the pairs do differ


@pytest.mark.slow
def test_the_built_file_is_reused_and_named_by_the_model(onnx_model, onnx_root, stance_folder, monkeypatch, tmp_path):
    import shutil

    import stancemap.stance.onnx as module

    built = onnx_model.path.stat().st_mtime_ns
    assert onnx_model.path.is_relative_to(onnx_root / "onnx") and onnx_model.path.name == "model.int8.onnx"
    assert (onnx_model.path.parent / "built.json").exists()
    assert not [p.name for p in onnx_model.path.parent.iterdir() if p.name.startswith((".build-", ".built-"))]

    def no_build(*args, **kwargs):
        raise AssertionError("the model was exported again")

    monkeypatch.setattr(module, "build_int8", no_build)
    again = module.OnnxStanceModel(stance_folder, threads=1, root=onnx_root)
    assert again.path == onnx_model.path and again.path.stat().st_mtime_ns == built
    # a copy of the folder (new mtimes) is the same model; a changed file is another one
    copy = tmp_path / "copy"
    shutil.copytree(stance_folder, copy)
    assert module.model_id(copy).split("@")[1] == onnx_model.model_id.split("@")[1]
    (copy / "stance_config.json").write_text((copy / "stance_config.json").read_text().replace("128", "64"))
    assert module.model_id(copy).split("@")[1] != onnx_model.model_id.split("@")[1]
    with pytest.raises(StancemapError, match="no stance model here"):
        module.OnnxStanceModel(tmp_path / "empty", root=onnx_root)


@pytest.mark.slow
def test_a_failed_build_leaves_no_file(stance_folder, tmp_path, monkeypatch):
    import onnxruntime.quantization

    from stancemap.stance.onnx import OnnxStanceModel

    def half_written(source, target, **kwargs):
        with open(target, "wb") as handle:
            handle.write(b"\x08\x07 half an onnx file")
        raise RuntimeError("disk full")

    monkeypatch.setattr(onnxruntime.quantization, "quantize_dynamic", half_written)
    with pytest.raises(RuntimeError, match="disk full"):
        OnnxStanceModel(stance_folder, root=tmp_path)
    (folder,) = (tmp_path / "onnx").iterdir()
    assert sorted(p.name for p in folder.iterdir()) == [".lock"]  # no model, no built.json, no temp folder


@pytest.mark.slow
def test_batches_follow_pair_order_in_both_backends(onnx_model, torch_model, monkeypatch):
    propositions, texts = PAIRS
    order = pair_order(propositions, texts)
    expected = [[texts[i] for i in order[s : s + 6]] for s in range(0, len(order), 6)]
    seen: dict[str, list[list[str]]] = {"torch": [], "onnx": []}
    logits, feed = torch_model.logits, onnx_model._feed
    monkeypatch.setattr(torch_model, "logits", lambda p, t: seen["torch"].append(list(t)) or logits(p, t))
    monkeypatch.setattr(onnx_model, "_feed", lambda p, t: seen["onnx"].append(list(t)) or feed(p, t))
    torch_model.predict(propositions, texts, 6)
    onnx_model.predict(propositions, texts, 6)
    assert seen["torch"] == seen["onnx"] == expected


@pytest.mark.slow
def test_onnx_output_is_the_same_with_any_number_of_threads(onnx_model, stance_folder, onnx_root):
    from stancemap.stance.onnx import OnnxStanceModel

    one = OnnxStanceModel(stance_folder, threads=1, root=onnx_root)
    assert one.threads == 1 and onnx_model.threads == max(1, len(os.sched_getaffinity(0)))
    assert one.predict(*PAIRS, 4).tobytes() == onnx_model.predict(*PAIRS, 4).tobytes()
    assert OnnxStanceModel(stance_folder, threads=3, root=onnx_root).predict(*PAIRS, 4).tobytes() == (
        one.predict(*PAIRS, 4).tobytes()
    )
    assert one.predict([], [], 4).shape == (0, 3)


@pytest.mark.slow
def test_the_factory_picks_the_backend(stance_folder, onnx_model, onnx_root):
    import torch

    from stancemap.stance.model import StanceModel
    from stancemap.stance.onnx import OnnxStanceModel

    made = load_stance_model(StanceParams(adapter=str(stance_folder), backend="onnx"), threads=1, root=onnx_root)
    assert isinstance(made, OnnxStanceModel) and made.path == onnx_model.path and made.threads == 1
    threads = torch.get_num_threads()
    try:
        made = load_stance_model(StanceParams(adapter=str(stance_folder)), threads=1)
        assert isinstance(made, StanceModel) and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)
    for backend in ("torch", "onnx"):
        with pytest.raises(StancemapError, match="no stance model here"):
            load_stance_model(StanceParams(adapter=str(stance_folder / "missing"), backend=backend), root=onnx_root)


def test_the_backend_param_is_checked():
    assert load_params(None).stance.backend == "torch"
    assert load_params(None, ["stance.backend=onnx"]).stance.backend == "onnx"
    with pytest.raises(ConfigError, match="stance.backend: must be one of torch, onnx, got 'tf'"):
        load_params(None, ["stance.backend=tf"])
    with pytest.raises(StancemapError, match="stance.backend: must be one of torch, onnx"):
        load_stance_model(StanceParams(backend="tf"))


def test_missing_onnxruntime_is_a_clear_error(monkeypatch, tmp_path):
    from stancemap.stance.onnx import OnnxStanceModel

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` fail
    with pytest.raises(StancemapError, match=r"stance.backend=onnx needs the onnxruntime package: pip install onnx"):
        OnnxStanceModel(tmp_path)


def test_importing_the_backends_loads_and_builds_nothing(tmp_path):
    code = (
        "import sys, stancemap.stance.backends, stancemap.stance.onnx; "
        "print(sorted({'onnx', 'onnxruntime', 'torch', 'transformers'} & set(sys.modules)))"
    )
    env = {**os.environ, "STANCEMAP_CACHE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]" and not any(tmp_path.iterdir())


# -- the Ray engine -----------------------------------------------------------------------------


class BatchSensitiveModel:
    """A stand-in whose output, like int8's, depends on a pair's batch-mates: equal bytes mean equal batches."""

    def predict(self, propositions, texts, batch_size=64):
        order = pair_order(propositions, texts)
        out = np.zeros((len(texts), 3), np.float32)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            mates = sum(len(texts[i]) for i in rows)
            for i in rows:
                raw = np.array([len(texts[i]), len(propositions[i]) + 1, mates % 97 + 1], np.float32)
                out[i] = raw / raw.sum()
        return out


@pytest.fixture(scope="module")
def ray_local():
    """A local Ray (2 CPUs) for this module, or the one another module already started."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        reason = "Ray is not installed (pip install 'stancemap[ray]'; make test installs it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    if ray.is_initialized():
        yield ray
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, address="local")
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_ray_stance_gives_the_local_bytes_across_many_blocks(ray_local, monkeypatch):
    # 40 pairs in batches of 3, Ray blocks of 6: seven blocks over two workers, finishing in any order
    params = StanceParams(batch_size=3)
    local = stance_ray.score_stance(params, *PAIRS, factory=BatchSensitiveModel)
    on_ray = stance_ray.score_stance(params, *PAIRS, engine="ray", factory=BatchSensitiveModel, batch_rows=7)
    assert on_ray.dtype == np.float32 and on_ray.shape == (40, 3)
    assert on_ray.tobytes() == local.tobytes()
    # a batch cut elsewhere gives other bytes: the comparison above can tell
    other = stance_ray.score_stance(params, *PAIRS, batch_size=4, factory=BatchSensitiveModel)
    assert other.tobytes() != local.tobytes()


@pytest.mark.slow
def test_ray_stance_with_the_onnx_model_matches_local_byte_for_byte(ray_local, stance_folder, onnx_root, monkeypatch):
    from stancemap.stance.onnx import OnnxStanceModel

    params = StanceParams(adapter=str(stance_folder), backend="onnx", batch_size=8)
    local = stance_ray.score_stance(params, *PAIRS, factory=lambda: OnnxStanceModel(stance_folder, root=onnx_root))
    # each worker builds the model as the engine's default factory does (one thread), from the same cache
    factory = functools.partial(load_stance_model, params, threads=1, root=onnx_root)
    on_ray = stance_ray.score_stance(params, *PAIRS, engine="ray", factory=factory, batch_rows=16)
    assert on_ray.tobytes() == local.tobytes()


@pytest.mark.slow
def test_ray_stance_with_a_split_attention_model_matches_local_byte_for_byte(ray_local, tmp_path):
    import torch

    from stancemap.stance.model import StanceModel

    folder = tmp_path / "split"
    folder.mkdir()
    StanceModel(seed=5, attention="split").save(folder, {"note": "untrained, split attention"})
    params = StanceParams(adapter=str(folder), batch_size=8)
    # workers get the driver's thread count, as RayScorer gives them
    factory = functools.partial(load_stance_model, params, threads=torch.get_num_threads())
    local = stance_ray.score_stance(params, *PAIRS, factory=factory)
    on_ray = stance_ray.score_stance(params, *PAIRS, engine="ray", factory=factory, batch_rows=16)
    assert on_ray.tobytes() == local.tobytes()


@pytest.mark.slow
def test_ray_stance_errors_and_empty_input(ray_local, tmp_path):
    params = StanceParams(adapter=str(tmp_path / "no-model"))
    with pytest.raises(StancemapError) as caught:
        stance_ray.score_stance(params, *PAIRS, engine="ray")
    assert "no stance model here" in str(caught.value) and "\n" not in str(caught.value)
    # nothing to score: Ray is never contacted
    empty = stance_ray.score_stance(params, [], [], engine="ray", address="ray://nowhere.invalid:1")
    assert empty.shape == (0, 3) and empty.dtype == np.float32
    with pytest.raises(StancemapError, match="--engine: must be one of local, ray"):
        stance_ray.score_stance(params, [], [], engine="spark")


@pytest.mark.slow
def test_the_stance_stage_under_ray_writes_the_local_table(ray_local, tmp_path):
    """`stancemap stance --engine ray` with the committed model: the same stances file, byte for byte."""
    from stancemap.io import write_table
    from stancemap.stance.stage import run as stance_run
    from tests.conftest import claims_frame

    claims = claims_frame(*CLAIMS)
    claims_path = tmp_path / "claims.parquet"
    write_table(claims, claims_path, "claims")
    params = StanceParams(propositions=("Distillation is theft", "We should ban smoking"), batch_size=4)
    stance_run(params, claims=claims_path, out=tmp_path / "local.parquet")
    stance_run(params, claims=claims_path, out=tmp_path / "ray.parquet", engine="ray")
    assert (tmp_path / "ray.parquet").read_bytes() == (tmp_path / "local.parquet").read_bytes()
