"""Stance backends: the torch cross-encoder (`StanceModel`) or its int8 ONNX copy (`OnnxStanceModel`),
chosen by `stance.backend`. Both give P(pro), P(con), P(neither) per (proposition, text) pair from
`.predict(propositions, texts, batch_size)`, batched in the same order (`pair_order`)."""

from __future__ import annotations

from pathlib import Path

from stancemap.config import StanceParams
from stancemap.errors import StancemapError

BACKENDS = ("torch", "onnx")


def pair_order(propositions: list[str], texts: list[str]) -> list[int]:
    """The order `StanceModel.predict` batches pairs in: by characters of proposition + text, ties by
    position. Cutting this order every `batch_size` pairs gives every backend and engine the same batches."""
    return sorted(range(len(texts)), key=lambda i: (len(texts[i]) + len(propositions[i]), i))


def load_stance_model(params: StanceParams, threads: int | None = None, root: Path | None = None):
    """The stance model `params` asks for, from `stance.adapter` (resolved like the stage does).
    `threads` caps the CPU threads it uses (default: every core; a Ray worker given one CPU passes 1);
    `root` is the ONNX cache folder (default `embed_onnx.cache_root()`). Safe in a worker process:
    the ONNX file is built once per machine."""
    if params.backend not in BACKENDS:
        raise StancemapError(f"stance.backend: must be one of {', '.join(BACKENDS)}, got {params.backend!r}")
    from stancemap.stance.stage import adapter_path

    folder = adapter_path(params.adapter)
    if params.backend == "onnx":
        from stancemap.stance.onnx import OnnxStanceModel

        return OnnxStanceModel(folder, threads=threads, root=root)
    if threads:
        import torch

        torch.set_num_threads(threads)
    from stancemap.stance.model import StanceModel

    return StanceModel(folder)
