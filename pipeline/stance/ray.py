"""Stance scoring on Ray: the stance stage's pairs scored by Ray Data workers (`--engine ray`), in
the local model's batches, so both engines give the same bytes (session and errors: stancemap.engine)."""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import polars as pl

from stancemap.config import StanceParams
from stancemap.engine import ENGINES, import_ray, mapped, on_cluster, ray_session, worker_errors_as_user_errors
from stancemap.errors import StancemapError

BATCH_ROWS = 1024  # pairs per Ray block, rounded down to a whole number of the model's batches (stance.batch_size)


class StanceWorker:
    """A Ray Data worker: builds its stance model once, then scores blocks of (proposition, text)
    pairs. A block is in `pair_order` and starts at a batch boundary: the model's batches are the local ones."""

    def __init__(self, factory: Callable[[], object], batch_size: int):
        self.batch_size = batch_size
        self.error: StancemapError | None = None  # raised from __call__, where Ray reports it briefly
        try:
            self.model = factory()
        except StancemapError as exc:
            self.error = exc

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self.error is not None:
            raise self.error
        texts = [str(t) for t in batch["text"]]
        probs = self.model.predict([str(p) for p in batch["proposition"]], texts, self.batch_size)
        return {"index": batch["index"], "probs": np.asarray(probs, dtype=np.float32)}


def _stance_dataset(table, factory: Callable[[], object], batch_size: int, batch_rows: int):
    """Run StanceWorker over `table` (index, proposition, text) on Ray; (index, probs) back, in Ray's order."""
    dataset = mapped(import_ray(), table, StanceWorker, (factory, batch_size), "numpy", batch_rows)
    with worker_errors_as_user_errors():
        batches = list(dataset.iter_batches(batch_format="numpy", batch_size=None))
    return np.concatenate([b["index"] for b in batches]), np.concatenate([b["probs"] for b in batches])


def score_stance(
    params: StanceParams,
    propositions: list[str],
    texts: list[str],
    batch_size: int | None = None,
    engine: str = "local",
    address: str | None = None,
    factory: Callable[[], object] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> np.ndarray:
    """P(pro, con, neither) per (proposition, text) pair, (n, 3) float32, from the model
    `stance.backends.load_stance_model(params)` (or `factory()`) in batches of `batch_size` (default
    params.batch_size), here or on Ray workers (which start only when there are pairs): the same bytes.
    On Ray, a block holds about `batch_rows` pairs (a whole number of batches)."""
    from stancemap.stance.backends import load_stance_model, pair_order

    if engine not in ENGINES:
        raise StancemapError(f"--engine: must be one of {', '.join(ENGINES)}, got {engine!r}")
    if len(propositions) != len(texts):
        raise ValueError(f"{len(propositions)} propositions for {len(texts)} texts")
    batch_size = batch_size or params.batch_size
    if engine == "local":
        return (factory or functools.partial(load_stance_model, params))().predict(propositions, texts, batch_size)
    if not texts:
        return np.zeros((0, 3), dtype=np.float32)
    order = pair_order(propositions, texts)  # the local model's order, cut below at its batch boundaries
    pairs = {"index": order, "proposition": [propositions[i] for i in order], "text": [texts[i] for i in order]}
    table = pl.DataFrame(pairs, schema={"index": pl.Int64, "proposition": pl.Utf8, "text": pl.Utf8}).to_arrow()
    # each worker holds one CPU (num_cpus=1), so its model uses one thread
    factory = factory or functools.partial(load_stance_model, params, threads=1)
    with ray_session(address):
        rows = batch_size * max(1, batch_rows // batch_size)
        index, probs = on_cluster(_stance_dataset, table, factory, batch_size, rows)
    if not np.array_equal(np.sort(index), np.arange(len(texts))):
        raise StancemapError("stance: Ray returned probabilities for a different set of pairs than it was sent")
    out = np.empty((len(texts), probs.shape[1]), dtype=np.float32)
    out[index] = probs
    return out
