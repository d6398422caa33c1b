"""Params: one params.yaml, a section per stage, loaded into frozen dataclasses.

`load_params(path, overrides)` applies `section.key=value` overrides (as `dvc exp run -S` does)
before any checking, so an override is validated exactly like a value in the file.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from stancemap.errors import ConfigError


@dataclass(frozen=True)
class SegmentParams:
    spacy_model: str = "blank"  # "blank" = spacy.blank("en") + sentencizer; or an installed package
    min_chars: int = 12  # shorter units argue nothing ("This.", "+1")
    min_words: int = 3
    split_clauses: bool = True  # "X, but Y" and "X; Y" are two units when both sides stand alone
    clause_min_words: int = 4  # words each side of a clause break needs to stand alone
    strip_openers: bool = True  # "1) So, X" is the claim "X"
    drop_questions: bool = False  # questions stay, marked kind=question (most are annotated as claims)
    batch_size: int = 256


@dataclass(frozen=True)
class EmbedParams:
    model: str = "all-MiniLM-L6-v2"
    batch_size: int = 64
    backend: str = "torch"  # torch (sentence-transformers) | onnx (int8, built locally on first use; ~2x faster)


@dataclass(frozen=True)
class StanceParams:
    # the debate's propositions; every claim gets pro / con / neither toward each
    propositions: tuple[str, ...] = ()
    adapter: str = "bundled"  # the model shipped in the package, or a folder `stancemap train-stance` wrote
    # the model's side counts only when its probability reaches this; below, "neither" (precision first)
    min_confidence: float = 0.7
    neutral_band: float = 0.15  # reply fallback: |P(with the opening post) - 0.5| below this is "neither"
    batch_size: int = 64
    backend: str = "torch"  # torch | onnx (int8, built locally on first use; pipeline/stance/onnx.py)
    # without propositions: "found" states each topic's proposition and reads every claim against it
    # (pipeline/stance/positions.py); "replies" gives every claim a side toward its thread's opening
    # post from reply structure alone (pipeline/stance/replies.py); "none": no sides
    fallback: str = "replies"
    reply_prior: float = 0.5  # P(rebut) of a reply with no evidence either way; 0.5 = unknown


@dataclass(frozen=True)
class ClusterParams:
    n_neighbors: int = 15
    n_components: int = 5
    min_dist: float = 0.0
    min_cluster_size: int = 12
    min_cluster_share: float = 0.0005  # and at least this share of the claims: ~2,000 topics at most
    min_samples: int = 3
    cluster_selection_method: str = "eom"
    reassign_min_similarity: float = 0.5  # noise joins the nearest topic this similar; 1.0 = never
    fit_sample: int = 25_000  # UMAP learns from at most this many claims and places the rest (memory, speed)
    max_drift: float = 0.2  # refit everything once this share of claims changed since the last full fit


@dataclass(frozen=True)
class LabelParams:
    n_keywords: int = 6
    n_key_claims: int = 3
    key_claim_min_words: int = 8  # fuller claims are preferred as key claims
    label_words: int = 3


@dataclass(frozen=True)
class ReportParams:
    title: str = "Stance map"
    hover_chars: int = 280
    list_chars: int = 300  # claims in lists are cut to this; the source panel shows them whole
    source_chars: int = 20000  # longer comments open as a window around the claim, with "show all"
    authors: str = "show"  # show | pseudonymize (stable "Author N" per run) | hide: for published reports
    max_points: int = 100_000  # beyond this many claims, the map and claim list show a labelled sample


@dataclass(frozen=True)
class Params:
    seed: int = 42
    segment: SegmentParams = field(default_factory=SegmentParams)
    embed: EmbedParams = field(default_factory=EmbedParams)
    stance: StanceParams = field(default_factory=StanceParams)
    cluster: ClusterParams = field(default_factory=ClusterParams)
    label: LabelParams = field(default_factory=LabelParams)
    report: ReportParams = field(default_factory=ReportParams)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class _Override:
    """An override value as typed and as YAML reads it: a str param takes the text as typed."""

    text: str
    value: object


def parse_override(text: str) -> tuple[list[str], _Override]:
    """`cluster.min_cluster_size=20` -> (["cluster", "min_cluster_size"], 20 as typed)."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected section.key=value")
    key, _, raw = text.partition("=")
    parts = [p for p in key.strip().split(".") if p]
    if not parts:
        raise ConfigError(f"--set {text!r}: empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set {text!r}: cannot read the value: {exc}") from None
    return parts, _Override(raw.strip(), value)


def _apply_override(data: dict, parts: list[str], value: object, raw: str) -> None:
    node = data
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"--set {raw!r}: {part!r} is not a section")
        node = child
    node[parts[-1]] = value


def _coerce(value: object, kind: type, where: str) -> object:
    if typing.get_origin(kind) is tuple:  # tuple[str, ...]: a YAML list of strings
        if isinstance(value, _Override):
            value = value.value
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ConfigError(f"{where}: expected a list of non-empty strings, got {value!r}")
        return tuple(v.strip() for v in value)
    if isinstance(value, _Override):
        value = value.text if kind is str else value.value
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is bool and not isinstance(value, bool):
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{where}: expected a whole number, got {value!r}")
    if not isinstance(value, kind):
        raise ConfigError(f"{where}: expected {kind.__name__}, got {value!r}")
    return value


def _build(cls: type, data: object, where: str):
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}")
    kwargs = {}
    for name, value in data.items():
        kind = hints[name]
        key = f"{where}.{name}" if where != "params" else name
        if dataclasses.is_dataclass(kind):
            if isinstance(value, _Override):
                raise ConfigError(f"{key}: is a section; set one of its keys, e.g. {key}.<key>=...")
            kwargs[name] = _build(kind, value, key)
        else:
            kwargs[name] = _coerce(value, kind, key)
    return cls(**kwargs)


def load_params(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> Params:
    """Read params.yaml (defaults when `path` is None or absent) and apply overrides."""
    data: dict = {}
    if path is not None and Path(path).exists():
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping of sections at the top level")
        data = loaded or {}
    elif path is not None:
        raise ConfigError(f"{path}: params file not found")
    for raw in overrides:
        parts, value = parse_override(raw)
        _apply_override(data, parts, value, raw)
    params = _build(Params, data, "params")
    _check(params)
    return params


def _check(p: Params) -> None:
    positive = {
        "segment.min_chars": p.segment.min_chars,
        "segment.batch_size": p.segment.batch_size,
        "embed.batch_size": p.embed.batch_size,
        "cluster.n_neighbors": p.cluster.n_neighbors,
        "cluster.n_components": p.cluster.n_components,
        "cluster.min_samples": p.cluster.min_samples,
        "label.n_keywords": p.label.n_keywords,
        "label.n_key_claims": p.label.n_key_claims,
        "label.label_words": p.label.label_words,
        "report.hover_chars": p.report.hover_chars,
        "report.list_chars": p.report.list_chars,
        "report.source_chars": p.report.source_chars,
        "report.max_points": p.report.max_points,
    }
    for key, value in positive.items():
        if value < 1:
            raise ConfigError(f"{key}: must be at least 1, got {value}")
    if not 0.0 <= p.cluster.min_cluster_share < 0.5:
        raise ConfigError(f"cluster.min_cluster_share: must be in [0, 0.5), got {p.cluster.min_cluster_share}")
    if p.cluster.min_cluster_size < 2:
        raise ConfigError(f"cluster.min_cluster_size: must be at least 2, got {p.cluster.min_cluster_size}")
    if p.cluster.fit_sample < 20:
        raise ConfigError(f"cluster.fit_sample: must be at least 20, got {p.cluster.fit_sample}")
    if p.cluster.max_drift < 0:
        raise ConfigError(f"cluster.max_drift: must be at least 0, got {p.cluster.max_drift}")
    if p.cluster.cluster_selection_method not in ("eom", "leaf"):
        raise ConfigError("cluster.cluster_selection_method: must be 'eom' or 'leaf'")
    if not 0.0 <= p.stance.neutral_band < 0.5:
        raise ConfigError(f"stance.neutral_band: must be in [0, 0.5), got {p.stance.neutral_band}")
    if not 1 / 3 <= p.stance.min_confidence <= 1.0:
        raise ConfigError(f"stance.min_confidence: must be in [1/3, 1], got {p.stance.min_confidence}")
    if p.stance.fallback not in ("found", "replies", "none"):
        raise ConfigError(f"stance.fallback: must be 'found', 'replies' or 'none', got {p.stance.fallback!r}")
    if not 0.0 < p.stance.reply_prior < 1.0:
        raise ConfigError(f"stance.reply_prior: must be between 0 and 1 (exclusive), got {p.stance.reply_prior}")
    if not 0.0 <= p.cluster.min_dist <= 1.0:
        raise ConfigError(f"cluster.min_dist: must be between 0 and 1, got {p.cluster.min_dist}")
    if p.report.authors not in ("show", "pseudonymize", "hide"):
        raise ConfigError(f"report.authors: must be show, pseudonymize or hide, got {p.report.authors!r}")
    if p.embed.backend not in ("torch", "onnx"):
        raise ConfigError(f"embed.backend: must be torch or onnx, got {p.embed.backend!r}")
    if p.stance.backend not in ("torch", "onnx"):
        raise ConfigError(f"stance.backend: must be torch or onnx, got {p.stance.backend!r}")
