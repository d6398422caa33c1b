"""The int8 ONNX embedding backend, built on this machine from the local model folder.

On first use the transformer is exported with `torch.onnx.export` (mean pooling and L2
normalisation inside the graph, so the graph returns unit vectors), its weights quantised to int8
with onnxruntime's `quantize_dynamic`, and the result kept in a cache folder:
`$STANCEMAP_CACHE_DIR/onnx/<model id>/model.int8.onnx` (default `~/.cache/stancemap`). Nothing is
downloaded and nothing happens at import time; onnx and onnxruntime are imported when needed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import tempfile
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from stancemap.encoder import backend_model_id, encode_in_batches, needs_reduce_range, recipe, resolve_model
from stancemap.errors import StancemapError
from stancemap.progress import say

MODEL_FILE = "model.int8.onnx"
OPSET = 17


def cache_root() -> Path:
    """$STANCEMAP_CACHE_DIR, else $XDG_CACHE_HOME/stancemap, else ~/.cache/stancemap."""
    if os.environ.get("STANCEMAP_CACHE_DIR"):
        return Path(os.environ["STANCEMAP_CACHE_DIR"]).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "stancemap"


def model_dir(model_id: str, root: Path | None = None) -> Path:
    """Folder for one model id: readable, and unique even when two ids slug alike."""
    slug = re.sub(r"[^A-Za-z0-9._+@-]+", "_", model_id).strip("_")[-80:]
    return (root or cache_root()) / "onnx" / f"{slug}-{hashlib.sha256(model_id.encode()).hexdigest()[:10]}"


def _require(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise StancemapError(
            f"embed.backend=onnx needs the {module.split('.')[0]} package: pip install onnx onnxruntime "
            "(or use embed.backend=torch)"
        ) from None


def sentence_config(folder: Path) -> tuple[int, bool]:
    """(max_seq_length, do_lower_case) as sentence-transformers reads them; refuses pooling the graph does not do."""
    pooling = folder / "1_Pooling" / "config.json"
    if pooling.exists():
        config = json.loads(pooling.read_text(encoding="utf-8"))
        others = [
            k for k, v in config.items() if k.startswith("pooling_mode_") and v and k != "pooling_mode_mean_tokens"
        ]
        if others or not config.get("pooling_mode_mean_tokens", True):
            raise StancemapError(f"embed.backend=onnx does mean pooling only; {folder} uses {', '.join(others)}")
    bert = folder / "sentence_bert_config.json"
    config = json.loads(bert.read_text(encoding="utf-8")) if bert.exists() else {}
    return int(config.get("max_seq_length") or 256), bool(config.get("do_lower_case", False))


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """One builder at a time across processes (workers starting together build once)."""
    with open(lock_path, "a+") as handle:
        try:
            import fcntl
        except ImportError:  # not POSIX: the atomic rename still keeps the file whole
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def float_nodes(path: Path, layers: int) -> list[str]:
    """The feed-forward up-projections of the upper two thirds of the layers, left in float.

    Their input (a LayerNorm output) carries a few outlier channels, which one int8 scale per tensor
    resolves poorly; on MiniLM-L6 keeping these 4 of 36 matrices in float lifts the worst cosine to
    torch from 0.968 to 0.979 for about a quarter of the speed (docs/embed.md)."""
    import onnx

    pattern = re.compile(r"layer\.(\d+)/intermediate/dense/MatMul$")
    names = []
    for node in onnx.load(str(path), load_external_data=False).graph.node:
        found = pattern.search(node.name) if node.op_type == "MatMul" else None
        if found and int(found.group(1)) >= layers // 3:
            names.append(node.name)
    return names


def build_int8(folder: Path, target: Path, reduce_range: bool = False) -> None:
    """Export the model in `folder` to ONNX, quantise its weights to int8, write `target` atomically."""
    _require("onnx")
    _require("onnxruntime")
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    # eager attention traces to plain MatMul/Softmax, which onnxruntime fuses and quantises well
    model = AutoModel.from_pretrained(folder, attn_implementation="eager").eval()
    sample = tokenizer(
        ["A short claim.", "A longer claim, so that the batch has padding in it."], padding=True, return_tensors="pt"
    )
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

    class Pooled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, *inputs):
            feed = dict(zip(names, inputs, strict=True))
            hidden = self.model(**feed).last_hidden_state
            mask = feed["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2, dim=1)

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-") as tmp:
        fp32, int8 = Path(tmp) / "model.fp32.onnx", Path(tmp) / MODEL_FILE
        axes = {n: {0: "batch", 1: "tokens"} for n in names} | {"sentence_embedding": {0: "batch"}}
        try:
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")  # tracer notes on shape checks that do not change the graph
                # dynamo=False: the TorchScript exporter needs no onnxscript and traces this model exactly
                torch.onnx.export(
                    Pooled(),
                    tuple(sample[n] for n in names),
                    str(fp32),
                    input_names=names,
                    output_names=["sentence_embedding"],
                    dynamic_axes=axes,
                    opset_version=OPSET,
                    dynamo=False,
                )
        except Exception as exc:
            raise StancemapError(f"embed.backend=onnx: cannot export {folder} ({type(exc).__name__}: {exc})") from None
        quiet = logging.getLogger().level
        logging.getLogger().setLevel(logging.ERROR)  # the quantiser advises pre-processing on the root logger
        try:
            # per-channel weight scales, and the most error-prone layers in float: see docs/embed.md
            quantize_dynamic(
                fp32,
                int8,
                weight_type=QuantType.QInt8,
                per_channel=True,
                reduce_range=reduce_range,
                nodes_to_exclude=float_nodes(fp32, model.config.num_hidden_layers),
            )
        finally:
            logging.getLogger().setLevel(quiet)
        os.replace(int8, target)


def build_once(directory: Path, build, about: dict, what: str) -> Path:
    """`directory/MODEL_FILE`, made by `build(target)` the first time only, one builder at a time
    (a file lock), with `about` written beside it as built.json; `what` names it in the message."""
    target = directory / MODEL_FILE
    if target.exists():
        return target
    directory.mkdir(parents=True, exist_ok=True)
    with _exclusive(directory / ".lock"):
        if not target.exists():  # another process may have built it while this one waited
            say(f"{what}: building the int8 ONNX model once -> {target}")
            build(target)
            with tempfile.NamedTemporaryFile("w", dir=directory, prefix=".built-", delete=False) as handle:
                handle.write(json.dumps(about, indent=2) + "\n")
            os.replace(handle.name, directory / "built.json")
    return target


def ensure_int8_model(folder: Path, model_id: str, root: Path | None = None) -> Path:
    """The int8 file for `model_id`, built from `folder` the first time only."""
    from importlib.metadata import version

    about = {
        "model_id": model_id,
        "source": str(folder),
        "recipe": recipe(),
        "reduce_range": needs_reduce_range(),
        "opset": OPSET,
        **{package: version(package) for package in ("torch", "transformers", "onnx", "onnxruntime")},
    }
    return build_once(
        model_dir(model_id, root), lambda target: build_int8(folder, target, needs_reduce_range()), about, "embed"
    )


def cores() -> int:
    """CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def session_options():
    """One thread per run, sequential execution and an explicit optimisation level: same input, same output."""
    ort = _require("onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # the cores go to texts run side by side (OnnxEmbedder)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return options


class OnnxEmbedder:
    """all-MiniLM-L6-v2 (or another local mean-pooling model) as int8 ONNX on onnxruntime, CPU.

    Each text is a run of its own: int8 activation scales are taken over a run's whole input, so
    in a shared batch a text's vector would depend on its batch-mates (cosine down to 0.97 between
    two batchings). Alone, a vector depends on the text only, nothing is padded, and `threads`
    runs (default: every core) go side by side, one thread each."""

    def __init__(
        self,
        name: str,
        batch_size: int = 64,
        sort_by_length: bool = True,
        threads: int | None = None,
        root: Path | None = None,
    ):
        ort = _require("onnxruntime")
        location, base_id = resolve_model(name)
        folder = Path(location)
        if not folder.is_dir():
            raise StancemapError(
                f"embed.backend=onnx needs a local model folder; {name!r} is not one "
                "(use all-MiniLM-L6-v2, a sentence-transformers folder, or embed.backend=torch)"
            )
        self.model_id = backend_model_id(base_id, "onnx")
        self.max_length, self.lower_case = sentence_config(folder)
        self.batch_size = batch_size
        self.sort_by_length = sort_by_length
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.path = ensure_int8_model(folder, self.model_id, root)
        try:
            self.session = ort.InferenceSession(str(self.path), session_options(), providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise StancemapError(
                f"embed: cannot load {self.path} ({type(exc).__name__}: {exc}); delete it to rebuild"
            ) from None
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.threads = threads or cores()
        self._pool = ThreadPoolExecutor(self.threads, "stancemap-onnx") if self.threads > 1 else None

    def encode(self, texts: list[str]) -> np.ndarray:
        return encode_in_batches(texts, self.batch_size, self._encode_batch, self.sort_by_length)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        # tokenised here, in one thread: a fast tokenizer is not safe to share between threads
        if self.lower_case:
            texts = [t.lower() for t in texts]
        tokens = self.tokenizer(texts, truncation=True, max_length=self.max_length)
        feeds = [{n: np.asarray([tokens[n][i]], dtype=np.int64) for n in self.inputs} for i in range(len(texts))]
        runs = self._pool.map(self._run, feeds) if self._pool else map(self._run, feeds)
        return np.concatenate(list(runs))

    def _run(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        return self.session.run(None, feed)[0]
