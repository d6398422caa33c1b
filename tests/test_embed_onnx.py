"""The int8 ONNX backend: built once per cache folder, close to torch, deterministic, order-free."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

from stancemap.config import EmbedParams
from stancemap.embed import encode_in_batches, make_embedder, model_id_for
from stancemap.errors import StancemapError
from tests.conftest import SHARED

# claims of every shape the pipeline meets: terse, long, hedged, quoted, numeric, non-ASCII, questions
OWN_SENTENCES = [
    "This is theft.",
    "That's fair use.",
    "It can be both.",
    "No new laws are needed for this.",
    "Distilling a rival's model through its API is theft.",
    "Training on another lab's chat outputs amounts to stealing their work.",
    "Export controls on chips protect national security.",
    "Export controls mostly push rivals to build their own chips sooner.",
    "The terms of service forbid using outputs to train a competing model.",
    "A contract breach is not the same thing as a crime.",
    "Copyright does not protect facts, only the expression of them.",
    "If the outputs are not copyrightable, nobody owns them and anyone may train on them.",
    "Thank you for saying this.",
    "Is scraping a public website really any different from reading it?",
    "Why should a company that trained on the whole internet complain about being copied?",
    "They spent billions on compute; free-riding on that undermines the incentive to invest.",
    "28.8 million exchanges through 25,000 accounts is an industrial operation, not research.",
    "Open weights would make the whole argument moot.",
    "Security researchers need to be able to probe these systems without being sued.",
    "The real issue is who gets to set the rules, not whether copying happened.",
    "Rate limits and account bans are the proper remedy here.",
    "Calling it an 'attack' is a PR framing.",
    "Nobody paid me to write this comment.",
    "Courts have repeatedly held that APIs themselves can be copyrighted, at least in the US.",
    "The EU AI Act says nothing specific about distillation.",
    "Model weights are just numbers; treating them as trade secrets is a stretch.",
    "Benchmarks suggest the distilled model is nearly as good at a tenth of the cost.",
    "Smaller labs cannot compete if they are barred from learning from the leaders.",
    "Die Nutzungsbedingungen verbieten das ausdrücklich.",
    "C'est une question de droit des contrats, pas de propriété intellectuelle.",
    "Naïve regulation would entrench incumbents — that's my fear.",
    "Honestly, I don't think anyone here has read the actual filing.",
    "Correct, and that's fine?",
    "Sorry to hear it.",
    "Best comment in the thread.",
    "Anthropic, OpenAI and Google all trained on data they did not license.",
    "The same rule has to apply whether the copier is American or Chinese.",
    "Watermarking outputs would at least make the copying detectable.",
    "A model that only imitates will never surpass the teacher.",
    "Distillation has been a standard ML technique since 2015; it is not new.",
]


def seed_sentences(limit: int = 15) -> list[str]:
    """Whole sentences from ../shared/corpora/seeds (none when ../shared is absent)."""
    folder = SHARED / "corpora" / "seeds"
    found: list[str] = []
    for path in sorted(folder.glob("*.txt")) if folder.is_dir() else []:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith(">"):
                continue
            for sentence in re.split(r"(?<=[.!?])\s+", line.strip()):
                if 4 <= len(sentence.split()) <= 40 and sentence not in found:
                    found.append(sentence)
    step = max(1, len(found) // limit)
    return found[::step][:limit]


SENTENCES = OWN_SENTENCES + seed_sentences()


@pytest.fixture(scope="session")
def onnx_root(tmp_path_factory):
    return tmp_path_factory.mktemp("stancemap-cache")


@pytest.fixture(scope="session")
def onnx_embedder(onnx_root):
    from stancemap.embed_onnx import OnnxEmbedder

    return OnnxEmbedder("all-MiniLM-L6-v2", root=onnx_root)


@pytest.mark.slow
def test_int8_is_close_to_torch_for_every_sentence(onnx_embedder, real_embedder):
    assert len(SENTENCES) >= 40
    int8, reference = onnx_embedder.encode(SENTENCES), real_embedder.encode(SENTENCES)
    assert int8.shape == reference.shape == (len(SENTENCES), 384) and int8.dtype == np.float32
    assert np.allclose(np.linalg.norm(int8, axis=1), 1, atol=1e-5)
    cosine = (int8 * reference).sum(axis=1)
    worst = {SENTENCES[i]: round(float(cosine[i]), 4) for i in np.argsort(cosine)[:3]}
    assert cosine.min() >= 0.97, worst
    assert cosine.mean() >= 0.985, worst


@pytest.mark.slow
def test_the_built_file_is_reused(onnx_embedder, onnx_root, monkeypatch):
    import onnx

    import stancemap.embed_onnx as module

    built = onnx_embedder.path.stat().st_mtime_ns
    assert onnx_embedder.path.is_relative_to(onnx_root) and onnx_embedder.path.name == module.MODEL_FILE
    assert (onnx_embedder.path.parent / "built.json").exists()
    assert not list(onnx_embedder.path.parent.glob(".build-*"))  # the temporary folder is gone
    graph = onnx.load(str(onnx_embedder.path)).graph
    left_in_float = sorted(n.name for n in graph.node if n.op_type == "MatMul" and "intermediate" in n.name)
    assert [name.split("/")[-4] for name in left_in_float] == ["layer.2", "layer.3", "layer.4", "layer.5"]

    def no_build(*args, **kwargs):
        raise AssertionError("the model was exported again")

    monkeypatch.setattr(module, "build_int8", no_build)
    again = module.OnnxEmbedder("all-MiniLM-L6-v2", root=onnx_root)
    assert again.path == onnx_embedder.path and again.path.stat().st_mtime_ns == built
    # the factory finds the same file through STANCEMAP_CACHE_DIR
    monkeypatch.setenv("STANCEMAP_CACHE_DIR", str(onnx_root))
    params = EmbedParams(backend="onnx")
    made = make_embedder(params, threads=1)
    assert (
        made.threads == 1
        and made.path == onnx_embedder.path
        and made.model_id == model_id_for(params) == onnx_embedder.model_id
    )
    assert np.array_equal(made.encode(SENTENCES[:5]), onnx_embedder.encode(SENTENCES[:5]))


@pytest.mark.slow
def test_output_is_deterministic_and_independent_of_input_order(onnx_embedder, real_embedder):
    first, second = onnx_embedder.encode(SENTENCES), onnx_embedder.encode(SENTENCES)
    assert np.array_equal(first, second)
    shuffled = np.random.default_rng(7).permutation(len(SENTENCES))
    for embedder, reference in [(onnx_embedder, first), (real_embedder, real_embedder.encode(SENTENCES))]:
        again = embedder.encode([SENTENCES[i] for i in shuffled])
        assert np.array_equal(again, reference[shuffled])


@pytest.mark.slow
def test_a_vector_depends_on_its_text_alone(onnx_embedder, onnx_root):
    """Not on its batch-mates, the batch size or the number of threads: what a cache needs."""
    from stancemap.embed_onnx import OnnxEmbedder

    together = onnx_embedder.encode(SENTENCES)
    alone = np.concatenate([onnx_embedder.encode([s]) for s in SENTENCES[::7]])
    assert np.array_equal(alone, together[::7])
    one_thread = OnnxEmbedder("all-MiniLM-L6-v2", batch_size=5, threads=1, root=onnx_root)
    assert np.array_equal(one_thread.encode(SENTENCES), together)


@pytest.mark.slow
def test_onnx_backend_runs_the_stage(tmp_path, onnx_root, monkeypatch):
    from stancemap.embed import read_cache
    from stancemap.embed import run as embed_run
    from stancemap.io import write_table
    from tests.conftest import claims_frame

    monkeypatch.setenv("STANCEMAP_CACHE_DIR", str(onnx_root))
    claims, out, cache = tmp_path / "claims.parquet", tmp_path / "emb.parquet", tmp_path / "cache.parquet"
    write_table(claims_frame(*SENTENCES[:4]), claims, "claims")
    int8 = embed_run(EmbedParams(backend="onnx"), claims=claims, out=out, cache=cache)
    torch = embed_run(EmbedParams(backend="torch"), claims=claims, out=out, cache=cache)
    assert len(read_cache(cache)) == 8  # the backends never share a cache entry
    cosine = (int8["vector"].to_numpy() * torch["vector"].to_numpy()).sum(axis=1)
    assert cosine.min() >= 0.97


def test_batches_are_sorted_by_length_and_order_is_restored():
    texts = ["a much longer text", "bb", "a", "mid size", "cc", "zz top tier text!"]
    batches: list[list[str]] = []

    def encode_batch(batch: list[str]) -> np.ndarray:
        batches.append(batch)
        return np.array([[len(t), ord(t[0])] for t in batch], np.float32)

    out = encode_in_batches(texts, 2, encode_batch)
    assert batches == [["a", "bb"], ["cc", "mid size"], ["zz top tier text!", "a much longer text"]]
    assert out.tolist() == [[len(t), ord(t[0])] for t in texts]
    batches.clear()
    encode_in_batches(texts, 4, encode_batch, sort_by_length=False)
    assert batches == [texts[:4], texts[4:]]
    assert encode_in_batches([], 4, encode_batch).shape == (0, 0)


def test_cache_folder_honours_the_environment(tmp_path, monkeypatch):
    from stancemap.embed_onnx import cache_root, model_dir

    monkeypatch.setenv("STANCEMAP_CACHE_DIR", str(tmp_path))
    assert cache_root() == tmp_path
    one, other = (
        model_dir("all-MiniLM-L6-v2@gt-0.1.0+onnx-int8-r1"),
        model_dir("all-MiniLM-L6-v2@gt-0.1.0/onnx-int8-r1"),
    )
    assert one.parent == tmp_path / "onnx" and one.name.startswith("all-MiniLM-L6-v2@gt-0.1.0+onnx-int8-r1-")
    assert one != other  # ids that slug alike still get their own folder
    monkeypatch.delenv("STANCEMAP_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "stancemap"


def test_missing_onnxruntime_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` fail
    with pytest.raises(StancemapError, match="pip install onnx onnxruntime"):
        make_embedder(EmbedParams(backend="onnx"))


def test_onnx_needs_a_local_folder_with_mean_pooling(tmp_path):
    from stancemap.embed_onnx import OnnxEmbedder, sentence_config

    with pytest.raises(StancemapError, match="needs a local model folder"):
        OnnxEmbedder("no-such/model-xyz")
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(
        '{"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false}'
    )
    with pytest.raises(StancemapError, match="mean pooling only"):
        sentence_config(tmp_path)
    (tmp_path / "1_Pooling" / "config.json").write_text('{"pooling_mode_mean_tokens": true}')
    (tmp_path / "sentence_bert_config.json").write_text('{"max_seq_length": 128}')
    assert sentence_config(tmp_path) == (128, False)


def test_importing_the_backend_loads_and_builds_nothing(tmp_path):
    import os
    import subprocess

    from tests.conftest import REPO

    code = "import sys, stancemap.embed, stancemap.embed_onnx; print(sorted({'onnx', 'onnxruntime'} & set(sys.modules)))"  # noqa: E501
    env = {**os.environ, "STANCEMAP_CACHE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]" and not any(tmp_path.iterdir())


def test_workers_starting_together_build_once(tmp_path, monkeypatch):
    import threading
    import time

    import stancemap.embed_onnx as module

    builds: list[Path] = []

    def slow_build(folder, target, reduce_range=False):
        builds.append(target)
        time.sleep(0.2)
        partial = target.with_suffix(".partial")
        partial.write_bytes(b"model")
        partial.replace(target)

    monkeypatch.setattr(module, "build_int8", slow_build)
    found: list[Path] = []
    workers = [
        threading.Thread(target=lambda: found.append(module.ensure_int8_model(tmp_path, "m@1+r", tmp_path)))
        for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(builds) == 1 and len(set(found)) == 1 and found[0].read_bytes() == b"model"
