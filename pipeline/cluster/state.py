"""What is kept between runs (`State`, saved next to the clusters), and how a later run recognises
it: claim keys, the fingerprint of params and code, and ids matched to the previous run's."""

from __future__ import annotations

import copyreg
import hashlib
import importlib
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stancemap.cluster.model import Fitted
from stancemap.config import ClusterParams
from stancemap.io import atomic_path
from stancemap.progress import say

STATE_VERSION = 5  # 2: the exact neighbour index replaced pynndescent; 3: a pickle with the same bytes every run;
# 4: a spectral embedding in the place of the clustering UMAP; 5: the map's sample positions in the place of its UMAP


@dataclass
class State:
    """Kept between runs (persisted next to the clusters): the last full fit and what each claim got."""

    version: int
    fingerprint: str  # params + seed of the last full fit; a change means a full refit
    fitted: Fitted
    raw_to_topic: dict[int, int]  # HDBSCAN label of the fit -> topic id
    centres: np.ndarray  # unit centre per topic, for placing new noise
    centre_topics: list[int]
    fit_size: int  # claims at the last full fit
    changed: int  # claims added or removed since then
    claims: dict[str, tuple[int, int, float, float, float]]  # key -> (topic, cluster, probability, x, y)
    next_topic: int  # ids only grow, so a vanished cluster's id is never given to another
    next_cluster: int


def claim_keys(claim_ids: list[str], vectors: np.ndarray) -> list[str]:
    """A claim is "the same" in a later run when its id and its vector (so its text and the embedding
    model) are the same."""
    return [
        f"{cid}\0{hashlib.blake2b(row.tobytes(), digest_size=12).hexdigest()}"
        for cid, row in zip(claim_ids, np.ascontiguousarray(vectors, dtype=np.float32), strict=True)
    ]


def fingerprint(params: ClusterParams, seed: int) -> str:
    """Params (but max_drift), seed and the code of this package: a change means a full refit."""
    settings = {k: v for k, v in params.model_dump().items() if k != "max_drift"}
    code = hashlib.sha256()  # new clustering code: refit
    for module in sorted(Path(__file__).parent.glob("*.py"), key=lambda p: p.name):
        code.update(module.read_bytes())
    listed = " ".join(f"{k}={v}" for k, v in sorted(settings.items()))
    return f"v{STATE_VERSION} code={code.hexdigest()[:16]} seed={seed} {listed}"


def match_ids(labels: np.ndarray, keys: list[str], previous: dict[str, int], next_id: int) -> tuple[np.ndarray, int]:
    """Relabel groups (-1 stays -1) with the id of the previous group they share most claims with,
    greedily, biggest overlap first; groups left over get fresh ids from `next_id`, in label order
    (labels come numbered by size). Returns (ids, the next fresh id)."""
    overlap: dict[tuple[int, int], int] = {}
    for key, label in zip(keys, labels.tolist(), strict=True):
        old = previous.get(key, -1)
        if label >= 0 and old >= 0:
            overlap[(label, old)] = overlap.get((label, old), 0) + 1
    mapping: dict[int, int] = {}
    used: set[int] = set()
    for (label, old), _ in sorted(overlap.items(), key=lambda item: (-item[1], item[0])):
        if label not in mapping and old not in used:
            mapping[label] = old
            used.add(old)
    for label in sorted(set(labels.tolist()) - {-1}):
        if label not in mapping:
            mapping[label] = next_id
            next_id += 1
    return np.array([mapping.get(label, -1) for label in labels.tolist()], dtype=np.int32), next_id


def load_state(path: Path | None) -> State | None:
    """The previous run's state, or None (missing, unreadable or from another version: a full fit)."""
    if path is None or not path.exists():
        return None
    try:
        with open(path, "rb") as f:
            state = pickle.load(f)
    except Exception as exc:  # a damaged file costs a full fit, never the run
        say(f"cluster: ignoring the state in {path} ({type(exc).__name__}); fitting from scratch")
        return None
    return state if isinstance(state, State) and state.version == STATE_VERSION else None


def save_state(state: State, path: Path) -> None:
    """Pickle the state so that the same state gives the same bytes in every process: numba's own
    pickling of a compiled function (UMAP keeps its distance functions) writes a random id, so
    those are written by their import path instead."""
    from numba.core.registry import CPUDispatcher

    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        pickler = _StatePickler(f, protocol=5)
        pickler.dispatch_table = {**copyreg.dispatch_table, CPUDispatcher: _by_name}
        pickler.dump(state)


class _StatePickler(pickle.Pickler):
    """Numeric arrays and numpy scalars written by dtype string, shape and bytes. numpy's own
    pickling writes each one's dtype object, and pickle writes an object seen before as a
    reference to it, so the bytes depended on whether two arrays shared one dtype object: arrays
    that numba code made from its disk cache do not, the same arrays compiled afresh do (same
    values, other bytes). By string, the same state is the same bytes either way."""

    def reducer_override(self, obj):
        if type(obj) is np.ndarray and obj.dtype.kind in "biufc" and obj.dtype.names is None:
            data = np.ascontiguousarray(obj)
            if not data.flags.writeable:  # written as a bytearray always: read-only or not, the same bytes
                data = data.copy()
            # interned: one string object per dtype in every process, so its references repeat alike
            return _array, (sys.intern(data.dtype.str), data.shape, pickle.PickleBuffer(data))
        if isinstance(obj, np.generic) and obj.dtype.kind in "biufc":
            return _scalar, (sys.intern(obj.dtype.str), obj.tobytes())
        return NotImplemented


def _array(dtype: str, shape: tuple, buffer) -> np.ndarray:
    """Unpickling: a numeric array from its dtype string, shape and bytes (writable, as pickled arrays are)."""
    return np.frombuffer(buffer, dtype=dtype).reshape(shape)


def _scalar(dtype: str, raw: bytes):
    return np.frombuffer(raw, dtype=dtype)[0]


def _by_name(function):
    source = function.py_func
    if getattr(importlib.import_module(source.__module__), source.__qualname__, None) is not function:
        return function.__reduce__()  # not importable by its name: numba's own pickling
    return _numba_function, (source.__module__, source.__qualname__)


def _numba_function(module: str, name: str):
    """Unpickling: a numba-compiled function, by its import path."""
    return getattr(importlib.import_module(module), name)
