"""Stance backends: the torch cross-encoder (`StanceModel`) or its int8 ONNX copy (`OnnxStanceModel`),
chosen by `stance.backend`. Both give P(pro), P(con), P(neither) per (proposition, text) pair from
`.predict(propositions, texts, batch_size)`, batched in the same order (`pair_order`)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from stancemap.config import StanceParams
from stancemap.errors import StancemapError
from stancemap.stance.model import pair_order  # noqa: F401  (where every backend's batches come from)

BACKENDS = ("torch", "onnx")
BUNDLED = "bundled"  # stance.adapter naming the model that ships inside the package
BUNDLED_NAME = "stance-minilm"


def bundled_adapter() -> Path:
    """The folder of the stance model shipped as package data (`stancemap/models/stance-minilm`)."""
    return Path(str(resources.files("stancemap").joinpath("models", BUNDLED_NAME)))


def adapter_path(name: str) -> Path:
    """`stance.adapter` as a folder: `bundled` is the model inside the installed package (found the
    same way from a wheel or a source checkout); anything else is a folder path, e.g. one written by
    `stancemap train-stance`."""
    return bundled_adapter() if name == BUNDLED else Path(name)


def load_stance_model(params: StanceParams, threads: int | None = None, root: Path | None = None):
    """The stance model `params` asks for, from `stance.adapter` (see adapter_path).
    `threads` caps the CPU threads it uses (default: every core; a Ray worker given one CPU passes 1);
    `root` is the ONNX cache folder (default `embed_onnx.cache_root()`). Safe in a worker process:
    the ONNX file is built once per machine."""
    if params.backend not in BACKENDS:
        raise StancemapError(f"stance.backend: must be one of {', '.join(BACKENDS)}, got {params.backend!r}")
    folder = adapter_path(params.adapter)
    if params.backend == "onnx":
        from stancemap.stance.onnx import OnnxStanceModel

        return OnnxStanceModel(folder, threads=threads, root=root)
    if threads:
        import torch

        torch.set_num_threads(threads)
    from stancemap.stance.model import StanceModel

    return StanceModel(folder)
