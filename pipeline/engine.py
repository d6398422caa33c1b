"""Engines: where segment, embed and stance do their work, in this process (`local`) or on Ray (`ray`).

The Ray engine runs the local engine's own code inside Ray Data `map_batches` workers, each of which
loads its spaCy pipeline or model once: `segment.units_by_row` (the core of `segment.segment`), the
embedder `embed.make_embedder` builds, and the stance model `stance.backends.load_stance_model`
builds (`stance.ray.score_stance` hands the stance stage its probabilities). The driver (the process running
`stancemap`) reads and checks the input, looks up both caches, sends only what they lack, puts the
answers back in the local engine's order and writes every file itself, atomically; so both engines
write the same files. Ray is an optional dependency, imported only here and only when asked for.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import polars as pl

from stancemap.config import EmbedParams, SegmentParams
from stancemap.errors import StancemapError
from stancemap.progress import enabled as progress_enabled
from stancemap.schemas import COMMENTS, SEGMENT_CACHE
from stancemap.segment import UnitFinder

INSTALL_HINT = "pip install 'stancemap[ray]'"
# rows per Ray batch: big enough to outweigh a batch's scheduling cost, small enough that a few
# thousand comments still spread over every worker
SEGMENT_BATCH_ROWS = 500
EMBED_BATCH_ROWS = 1024  # rounded down to a whole number of the model's batches (embed.batch_size)
ENGINES = ("local", "ray")
_KEY = "_key"  # a comment's segment cache key, carried through Ray with it


def import_ray():
    """The `ray` module with Ray Data, or a StancemapError saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401  (Ray Data comes with the `data` extra of ray: check it too)
    except ImportError:
        raise StancemapError(f"--engine ray needs Ray Data, which is not installed: {INSTALL_HINT}") from None
    return ray


def _package_copy() -> Path:
    """This package's code in a temporary folder named `stancemap`: Ray ships a folder under its
    own name, and the source folder is called `pipeline/`. The bundled stance model goes too: the
    stance workers load it from the package."""
    import atexit
    import shutil
    import tempfile

    parent = Path(tempfile.mkdtemp(prefix="stancemap-ray-"))
    atexit.register(shutil.rmtree, parent, ignore_errors=True)
    target = parent / "stancemap"
    shutil.copytree(Path(__file__).resolve().parent, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


@contextlib.contextmanager
def ray_session(address: str | None = None) -> Iterator[object]:
    """Yield `ray`, connected to `address`: `auto`, `HOST:6379`, `ray://HOST:10001` or `local` (a new
    Ray on this machine); None means the RAY_ADDRESS variable, else `local`. A Ray this process
    already runs (a notebook, a test) is used as is and left running; one started or joined here is
    shut down on the way out."""
    ray = import_ray()
    started = False
    if not ray.is_initialized():
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage reports leave the machine
        # "local" starts a new Ray even where one was started before: Ray's own default would try to
        # join the last cluster started on this machine, and wait long for one that has since stopped
        target = address or os.environ.get("RAY_ADDRESS") or "local"
        options: dict = {"logging_level": logging.WARNING, "log_to_driver": progress_enabled()}
        if target == "local":
            options["include_dashboard"] = False
        else:
            # ship this package's code so the workers run the driver's version of the stages
            options["runtime_env"] = {"py_modules": [str(_package_copy())]}
        try:
            ray.init(address=target, **options)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise StancemapError(f"--ray-address {target}: cannot connect to Ray ({exc})") from None
        started = True
    if not progress_enabled():  # --quiet or no terminal: no Ray Data progress or status lines either
        logging.getLogger("ray.data").setLevel(logging.ERROR)
        ray.data.DataContext.get_current().enable_progress_bars = False
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


def _through_ray_client() -> bool:
    try:
        from ray.util.client import ray as client
    except ImportError:
        return False
    return client.is_connected()


def on_cluster(fn: Callable, *args):
    """fn(*args) in this process, or, over Ray Client (ray://), in a task on the cluster: Ray Data
    cannot run a dataset from a Ray Client driver. The task only coordinates, so it takes no CPU."""
    ray = import_ray()
    _free_failed_workers()
    with worker_errors_as_user_errors():
        if _through_ray_client():
            return ray.get(ray.remote(num_cpus=0)(fn).remote(*args))
        return fn(*args)


def _actor_pool(ray):
    """At most one worker per CPU of the cluster; the pool grows from one as batches queue up."""
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    return ray.data.ActorPoolStrategy(min_size=1, max_size=cpus)


def _free_failed_workers() -> None:
    """Let go of the workers of an earlier run that failed in this process (a notebook, the tests):
    Ray Data holds them in reference cycles, and until those are collected their CPUs stay taken."""
    gc.collect()


def _user_error(exc: BaseException) -> StancemapError | None:
    """The StancemapError a worker raised, found inside the exception Ray raised on the driver."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        cause = getattr(item, "cause", None)  # Ray's task errors carry the worker's exception here
        if isinstance(item, StancemapError) and not isinstance(cause, BaseException):
            return _error_from_text(str(item)) or StancemapError(str(item))
        todo.extend([cause, item.__cause__, item.__context__])
    # an error in a worker's __init__ reaches the driver as text only (ActorDiedError)
    return _error_from_text(str(exc))


def _error_from_text(text: str) -> StancemapError | None:
    """The last `stancemap.errors.XError: message` line of a worker's traceback, as an error."""
    for line in reversed(text.splitlines()):
        if line.startswith("stancemap.errors.") and ": " in line:
            return StancemapError(line.split(": ", 1)[1])
    return None


@contextlib.contextmanager
def worker_errors_as_user_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        from ray.exceptions import RayError

        if isinstance(exc, StancemapError) and not isinstance(exc, RayError):
            raise  # the driver's own, already one line
        error = _user_error(exc)
        if error is None:
            raise
        raise error from None


# -- segment ------------------------------------------------------------------------------------


class SegmentWorker:
    """A Ray Data worker: loads the spaCy pipeline once, then finds the claims of batches of comments."""

    def __init__(self, params: SegmentParams, fingerprint: str):
        from stancemap import segment as stage

        self.params = params
        self.error: StancemapError | None = None  # raised from __call__, where Ray reports it briefly
        try:
            self.nlp = stage.load_nlp(params.spacy_model)
        except StancemapError as exc:
            self.error = exc
            return
        # the driver keyed the cache by its own spaCy, model and segment code: the worker must match
        if stage.fingerprint(params) != fingerprint:
            self.error = StancemapError(
                "segment: a Ray worker has another version of spaCy, of the spaCy package or of stancemap "
                "than the driver (install the same versions on the workers)"
            )

    def __call__(self, batch):
        """pyarrow comments (COMMENTS + _key) -> pyarrow (key, units): each comment's claim spans, as
        `segment.units_by_row` finds them, in the segment cache's schema."""
        from stancemap.segment import units_by_row

        if self.error is not None:
            raise self.error
        comments = pl.from_arrow(batch)
        keys = comments[_KEY]
        comments = comments.drop(_KEY).cast(COMMENTS).select(list(COMMENTS))
        units = [
            [{"start": s, "end": e, "kind": k} for s, e, k in found]
            for found in units_by_row(comments, self.nlp, self.params)
        ]
        return pl.DataFrame({"key": keys, "units": units}, schema=SEGMENT_CACHE).to_arrow()


def _segment_dataset(table, params: SegmentParams, fingerprint: str, batch_rows: int):
    """Run SegmentWorker over `table` (pyarrow comments + _key) on Ray; one pyarrow table back."""
    import pyarrow as pa

    ray = import_ray()
    dataset = mapped(ray, table, SegmentWorker, (params, fingerprint), "pyarrow", batch_rows)
    with worker_errors_as_user_errors():
        return pa.concat_tables(ray.get(dataset.to_arrow_refs()))


def mapped(ray, table, worker: type, args: tuple, batch_format: str, batch_rows: int):
    """`table` (pyarrow) as a Ray dataset of `batch_rows`-row blocks, mapped through a pool of
    `worker` actors (one CPU each) built with `args`."""
    blocks = [table.slice(i, batch_rows) for i in range(0, table.num_rows, batch_rows)]
    return ray.data.from_arrow(blocks).map_batches(
        worker,
        fn_constructor_args=args,
        batch_format=batch_format,
        batch_size=batch_rows,
        compute=_actor_pool(ray),
        num_cpus=1,
    )


def units_on_ray(comments: pl.DataFrame, keys: list[str], params: SegmentParams) -> dict[str, list]:
    """Claim spans (start, end, kind) of each of `comments` (one per key), worked out on Ray workers."""
    from stancemap.segment import fingerprint

    table = comments.with_columns(pl.Series(_KEY, keys, pl.Utf8)).to_arrow()
    part = pl.from_arrow(on_cluster(_segment_dataset, table, params, fingerprint(params), SEGMENT_BATCH_ROWS))
    found = {
        key: [(u["start"], u["end"], u["kind"]) for u in units]
        for key, units in zip(part["key"].to_list(), part["units"].to_list(), strict=True)
    }
    if set(found) != set(keys):
        raise StancemapError("segment: Ray returned claims for a different set of comments than it was sent")
    return found


def segment_with_ray(
    comments: pl.DataFrame, params: SegmentParams, cache: dict[str, list] | None = None, address: str | None = None
) -> tuple[pl.DataFrame, int]:
    """`segment.segment_cached` with the comments the cache lacks segmented on Ray (which starts only
    if one is missing): the same claims, row for row, and how many comments were segmented."""
    from stancemap import segment as stage

    cache = {} if cache is None else cache
    return stage.segment_cached(comments, params, cache, find_units=_on_ray(params, address))


def _on_ray(params: SegmentParams, address: str | None) -> UnitFinder:
    def find_units(comments: pl.DataFrame, keys: list[str]) -> dict[str, list]:
        with ray_session(address):
            return units_on_ray(comments, keys, params)

    return find_units


def run_segment(
    params: SegmentParams,
    *,
    comments: str | Path,
    out: str | Path,
    cache: str | Path | None = None,
    address: str | None = None,
) -> pl.DataFrame:
    """`segment.run` with the work done on Ray: the driver reads the comments and the cache, Ray
    segments the comments the cache lacks, the driver writes the claims and the cache."""
    from stancemap import segment as stage

    return stage.run(params, comments=comments, out=out, cache=cache, find_units=_on_ray(params, address))


# -- embed --------------------------------------------------------------------------------------


class EmbedWorker:
    """A Ray Data worker: builds its embedder once, then encodes batches of texts."""

    def __init__(self, factory: Callable[[], object], model_id: str):
        self.error: StancemapError | None = None  # raised from __call__, where Ray reports it briefly
        try:
            self.embedder = factory()
        except StancemapError as exc:
            self.error = exc
            return
        if self.embedder.model_id != model_id:  # the worker has another model than the driver keyed
            self.error = StancemapError(
                f"embed: a Ray worker loaded model {self.embedder.model_id!r}, the driver expected {model_id!r} "
                "(install the same packages on the workers as on the driver)"
            )

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self.error is not None:
            raise self.error
        vectors = self.embedder.encode([str(text) for text in batch["text"]])
        return {"index": batch["index"], "vector": np.asarray(vectors, dtype=np.float32)}


def _embed_dataset(table, factory: Callable[[], object], model_id: str, batch_rows: int):
    """Run EmbedWorker over `table` (index, text) on Ray; (index, vectors) back, in Ray's order."""
    ray = import_ray()
    dataset = mapped(ray, table, EmbedWorker, (factory, model_id), "numpy", batch_rows)
    index_parts, vector_parts = [], []
    with worker_errors_as_user_errors():
        for batch in dataset.iter_batches(batch_format="numpy", batch_size=None):
            index_parts.append(np.asarray(batch["index"]))
            vector_parts.append(np.asarray(batch["vector"], dtype=np.float32))
    return np.concatenate(index_parts), np.concatenate(vector_parts)


class RayEmbedder:
    """An Embedder (model_id, encode) whose encode runs on Ray workers, in batches.

    Nothing is loaded on the driver: the model id comes from the params. Ray starts (or is joined)
    and the workers build the model only when `encode` is called, which `embed.embed` does only for
    texts missing from the cache."""

    def __init__(self, model_id: str, factory: Callable[[], object], batch_size: int, address: str | None = None):
        self.model_id = model_id
        self.factory = factory
        # a whole number of the model's batches per Ray batch, so the model sees the batches it sees locally
        self.rows = batch_size * max(1, EMBED_BATCH_ROWS // batch_size)
        self.address = address

    def encode(self, texts: list[str]) -> np.ndarray:
        import pyarrow as pa

        from stancemap.embed import length_order

        # in the local embedder's length order, cut at its batch boundaries: same batches, same vectors
        order = length_order(texts)
        table = pa.table(
            {"index": pa.array(order, pa.int64()), "text": pa.array([texts[i] for i in order], pa.large_string())}
        )
        with ray_session(self.address):
            index, vectors = on_cluster(_embed_dataset, table, self.factory, self.model_id, self.rows)
        if not np.array_equal(np.sort(index), np.arange(len(texts))):
            raise StancemapError("embed: Ray returned vectors for a different set of texts than it was sent")
        out = np.empty_like(vectors)
        out[index] = vectors
        return out


def run_embed(
    params: EmbedParams,
    *,
    claims: str | Path,
    out: str | Path,
    cache: str | Path | None = None,
    address: str | None = None,
    factory: Callable[[], object] | None = None,
    model_id: str | None = None,
) -> pl.DataFrame:
    """`embed.run` with the model on Ray: the driver reads the claims and the cache, the workers
    embed only the texts the cache lacks, the driver fills the cache and writes both files.
    `factory` and `model_id` stand in for the configured model (tests pass a fake)."""
    from stancemap import embed as stage

    model_id = model_id or stage.model_id_for(params)
    # each worker holds one CPU (num_cpus=1), so its model uses one thread
    factory = factory or functools.partial(stage.make_embedder, params, threads=1)
    embedder = RayEmbedder(model_id, factory, params.batch_size, address)
    return stage.run(params, claims=claims, out=out, cache=cache, embedder=embedder)
