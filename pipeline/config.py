"""Params: one params.yaml, a section per stage, loaded into frozen pydantic models.

Every rule a value must follow sits next to its field (`Literal` choices, `Field` bounds), and the
types are strict: an int param takes no bool or float, a bool param only true/false, a float
param any number but a bool. `load_params(path, overrides)` applies `section.key=value`
overrides (as `dvc exp run -S` does) before validating, so an override is checked exactly like a
value in the file, and every failure is one `ConfigError` line naming the key, the rule and the
value given. Building a section in code (`StanceParams(backend="onnx")`) is checked the same way.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from stancemap.errors import ConfigError


class _Section(BaseModel):
    """What every section shares: overrides typed as the field wants, errors as `ConfigError`."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ConfigError(_describe(exc, _where(type(self)))) from None

    @model_validator(mode="before")
    @classmethod
    def _typed_as_given(cls, data: Any) -> Any:
        if isinstance(data, _Override):  # `--set cluster=3`
            raise PydanticCustomError("section", "is a section")
        if isinstance(data, dict):
            return {key: _resolve(cls.model_fields.get(key), value) for key, value in data.items()}
        return data


class IngestParams(_Section):
    max_input_mb: StrictInt = Field(
        512, ge=1, description="an input file (decompressed) over this many MiB is refused, before it is read whole"
    )
    max_comment_chars: StrictInt = Field(
        2_000_000, ge=1, description="a longer comment is refused (or skipped and logged with --skip-bad)"
    )


class SegmentParams(_Section):
    spacy_model: StrictStr = Field(
        "blank", description='"blank" = spacy.blank("en") + sentencizer; or an installed package'
    )
    min_chars: StrictInt = Field(12, ge=1, description='shorter units argue nothing ("This.", "+1")')
    min_words: StrictInt = Field(3, ge=0)
    split_clauses: StrictBool = Field(
        True, description='"X, but Y" and "X; Y" are two units when both sides stand alone'
    )
    clause_min_words: StrictInt = Field(4, ge=1, description="words each side of a clause break needs to stand alone")
    strip_openers: StrictBool = Field(True, description='"1) So, X" is the claim "X"')
    drop_questions: StrictBool = Field(
        False, description="questions stay, marked kind=question (most are annotated as claims)"
    )
    batch_size: StrictInt = Field(256, ge=1)


class EmbedParams(_Section):
    model: StrictStr = "all-MiniLM-L6-v2"
    batch_size: StrictInt = Field(
        16, ge=1, description="texts per torch forward pass, all of one token length (part of the cache's model id)"
    )
    backend: Literal["torch", "onnx"] = Field(
        "torch", description="torch (sentence-transformers) | onnx (int8, built locally on first use; ~2x faster)"
    )


class StanceParams(_Section):
    propositions: tuple[str, ...] = Field(
        (), description="the debate's propositions; every claim gets pro / con / neither toward each"
    )
    adapter: StrictStr = Field(
        "bundled", description="the model shipped in the package, or a folder `stancemap train-stance` wrote"
    )
    min_confidence: StrictFloat = Field(
        0.78,
        ge=1 / 3,
        le=1,
        description=(
            'the model\'s side counts only when its probability reaches this; below, "neither" (precision first)'
        ),
    )
    neutral_band: StrictFloat = Field(
        0.15, ge=0, lt=0.5, description='reply fallback: |P(with the opening post) - 0.5| below this is "neither"'
    )
    batch_size: StrictInt = Field(64, ge=1)
    backend: Literal["torch", "onnx"] = Field(
        "torch", description="torch | onnx (int8, built locally on first use; pipeline/stance/onnx.py)"
    )
    fallback: Literal["found", "replies", "none"] = Field(
        "replies",
        description=(
            'without propositions: "found" states each topic\'s proposition and reads every claim against it '
            '(pipeline/stance/positions.py); "replies" gives every claim a side toward its thread\'s opening '
            'post from reply structure alone (pipeline/stance/replies.py); "none": no sides'
        ),
    )
    reply_prior: StrictFloat = Field(
        0.5, gt=0, lt=1, description="P(rebut) of a reply with no evidence either way; 0.5 = unknown"
    )

    @field_validator("propositions", mode="before")
    @classmethod
    def _list_of_strings(cls, value: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v.strip() for v in value):
            raise PydanticCustomError("list_of_strings", "expected a list of non-empty strings")
        return tuple(v.strip() for v in value)


class ClusterParams(_Section):
    n_neighbors: StrictInt = Field(15, ge=2, le=200)
    n_components: StrictInt = Field(10, ge=1, le=100, description="spectral dimensions for HDBSCAN; below the claims")
    min_cluster_size: StrictInt = Field(12, ge=2)
    min_cluster_share: StrictFloat = Field(
        0.0005, ge=0, lt=0.5, description="and at least this share of the claims: ~2,000 topics at most"
    )
    min_samples: StrictInt = Field(3, ge=1)
    small_topic_share: StrictFloat = Field(
        0.1, gt=0, le=1, description="in a small thread, topics of this share of the claims (down to min_samples + 1)"
    )
    cluster_selection_method: Literal["eom", "leaf"] = "eom"
    reassign_min_similarity: StrictFloat = Field(
        0.4, ge=0, le=1, description="noise joins the nearest topic this similar; 1.0 = never"
    )
    fit_sample: StrictInt = Field(
        25_000, ge=20, description="the embedding and the map learn from at most this many claims and place the rest"
    )
    max_drift: StrictFloat = Field(
        0.2, ge=0, le=1, description="refit everything once this share of claims changed since the last full fit"
    )


class LabelParams(_Section):
    n_keywords: StrictInt = Field(6, ge=1)
    n_key_claims: StrictInt = Field(3, ge=1)
    key_claim_min_words: StrictInt = Field(8, ge=0, description="fuller claims are preferred as key claims")
    label_words: StrictInt = Field(3, ge=1)
    max_themes: StrictInt = Field(
        12, ge=1, le=1000, description="topics are grouped into at most this many themes (fewer topics: one each)"
    )


class ReportParams(_Section):
    title: StrictStr = "Stance map"
    hover_chars: StrictInt = Field(280, ge=1)
    list_chars: StrictInt = Field(
        300, ge=1, description="claims in lists are cut to this; the source panel shows them whole"
    )
    source_chars: StrictInt = Field(
        20000, ge=1, description='longer comments open as a window around the claim, with "show all"'
    )
    authors: Literal["show", "pseudonymize", "hide"] = Field(
        "show", description='show | pseudonymize (stable "Author N" per run) | hide: for published reports'
    )
    max_points: StrictInt = Field(
        100_000, ge=1, description="beyond this many claims, the map and claim list show a labelled sample"
    )
    consensus_min_authors: StrictInt = Field(
        3, ge=1, description="a topic is called contested or one-sided only with this many authors on a side"
    )
    contested_share: StrictFloat = Field(
        0.25, ge=0.0, le=0.5,
        description="contested when the smaller side holds at least this share of those authors ((a+1)/(n+2))",
    )


class Params(_Section):
    seed: StrictInt = Field(42, ge=0, le=2**32 - 1, description="one seed for every random step (UMAP, sampling)")
    ingest: IngestParams = Field(default_factory=IngestParams)
    segment: SegmentParams = Field(default_factory=SegmentParams)
    embed: EmbedParams = Field(default_factory=EmbedParams)
    stance: StanceParams = Field(default_factory=StanceParams)
    cluster: ClusterParams = Field(default_factory=ClusterParams)
    label: LabelParams = Field(default_factory=LabelParams)
    report: ReportParams = Field(default_factory=ReportParams)

    def to_dict(self) -> dict:
        return self.model_dump()


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
    except yaml.YAMLError:  # not YAML (`&x`, a lone quote): the text itself, which the field's type then judges
        value = raw.strip()
    return parts, _Override(raw.strip(), value)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """A YAML error in one line: where, and what."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return where + " ".join(str(getattr(exc, "problem", None) or exc).split())


def _apply_override(data: dict, parts: list[str], value: object, raw: str) -> None:
    node = data
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"--set {raw!r}: {part!r} is not a section")
        node = child
    node[parts[-1]] = value


def load_params(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> Params:
    """Read params.yaml (defaults when `path` is None or absent) and apply overrides."""
    data: dict = {}
    if path is not None and Path(path).exists():
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {_yaml_problem(exc)}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping of sections at the top level")
        data = loaded or {}
    elif path is not None:
        raise ConfigError(f"{path}: params file not found")
    for raw in overrides:
        parts, value = parse_override(raw)
        _apply_override(data, parts, value, raw)
    try:
        return Params.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, ())) from None


# --- overrides and error messages -----------------------------------------------------------


def _resolve(field: Any, value: Any) -> Any:
    """An override becomes the text as typed for a text param, YAML's reading of it otherwise;
    one that names a whole section stays an override, for that section to refuse."""
    if not isinstance(value, _Override):
        return value
    kind = getattr(field, "annotation", None)
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return value
    if kind is str or (typing.get_origin(kind) is Literal and all(isinstance(a, str) for a in typing.get_args(kind))):
        return value.text
    if kind is float and isinstance(value.value, str):  # YAML 1.1 reads `1e-6` (no dot) as text
        try:
            return float(value.text)
        except ValueError:
            pass
    return value.value


def _where(cls: type) -> tuple[str, ...]:
    """The dotted position of a section class in `Params`: () for Params itself."""
    for name, field in Params.model_fields.items():
        if field.annotation is cls:
            return (name,)
    return ()


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The section (or `Params`) at `loc`; None where `loc` names no section."""
    model: Any = Params
    for part in loc:
        field = model.model_fields.get(part)
        model = field.annotation if field is not None else None
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
    return model


def _field_at(loc: tuple) -> Any:
    model = _model_at(loc[:-1]) if loc else None
    return model.model_fields.get(loc[-1]) if model is not None else None


def _number(x: float) -> str:
    if float(x).is_integer():
        return str(int(x))
    fraction = Fraction(x).limit_denominator(100)
    return f"{fraction.numerator}/{fraction.denominator}" if len(repr(x)) > 8 and float(fraction) == x else repr(x)


def _bounds(field: Any) -> str:
    """A field's bounds as one rule: "must be at least 2", "must be in [0, 0.5)"."""
    bound = {
        k: getattr(m, k) for m in getattr(field, "metadata", ()) for k in ("ge", "gt", "le", "lt") if hasattr(m, k)
    }
    low = ("[", bound["ge"]) if "ge" in bound else ("(", bound["gt"]) if "gt" in bound else None
    high = ("]", bound["le"]) if "le" in bound else (")", bound["lt"]) if "lt" in bound else None
    if low and high:
        return f"must be in {low[0]}{_number(low[1])}, {_number(high[1])}{high[0]}"
    if low:
        return f"must be {'at least' if low[0] == '[' else 'more than'} {_number(low[1])}"
    if high:
        return f"must be {'at most' if high[0] == ']' else 'less than'} {_number(high[1])}"
    return "is out of range"


_TYPES = {
    "int_type": "expected a whole number",
    "bool_type": "expected true or false",
    "float_type": "expected a number",
    "finite_number": "expected a finite number",
    "string_type": "expected a string",
    "model_type": "expected a mapping",
}
_BOUNDS = ("greater_than", "greater_than_equal", "less_than", "less_than_equal")


def _key(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "params"


def _problem(error: Any, loc: tuple) -> str:
    key, kind, given = _key(loc), error["type"], error.get("input")
    field = _field_at(loc)
    if kind == "section":
        return f"{key}: is a section; set one of its keys, e.g. {key}.<key>=..."
    if kind in _BOUNDS:
        rule = _bounds(field)
    elif kind == "literal_error":
        choices = typing.get_args(getattr(field, "annotation", None))
        rule = f"must be one of {', '.join(map(str, choices))}" if choices else error["msg"]
    else:
        rule = _TYPES.get(kind, error["msg"])
    return f"{key}: {rule}, got {given!r}"


REMOVED = {"cluster.min_dist": "removed in 0.1.0: topics come from a spectral embedding now (docs/cluster.md)"}


def _describe(exc: ValidationError, where: tuple) -> str:
    """A ValidationError as one line: its first problem, then the keys of any others."""
    problems: list[tuple[str, str | tuple]] = []  # (key, line), or (key, parent loc) for unknown keys
    unknown: dict[tuple, list[str]] = {}
    for error in exc.errors(include_url=False):
        loc = where + tuple(error["loc"])
        if error["type"] == "extra_forbidden":
            parent = loc[:-1]
            if parent not in unknown:
                unknown[parent] = []
                problems.append((_key(parent), parent))
            unknown[parent].append(str(loc[-1]))
        else:
            problems.append((_key(loc), _problem(error, loc)))
    lines = []
    for key, problem in problems:
        if isinstance(problem, str):
            lines.append(problem)
            continue
        model = _model_at(problem)
        known = sorted(model.model_fields) if model is not None else []
        names = sorted(unknown[problem])  # and what became of a key an older params.yaml may hold (REMOVED)
        gone = "".join(f"; {key}.{n} was {REMOVED[f'{key}.{n}']}" for n in names if f"{key}.{n}" in REMOVED)
        lines.append(f"{key}: unknown key(s) {', '.join(names)}; known: {', '.join(known)}{gone}")
    first = lines[0] if lines else str(exc)
    if len(problems) > 1:
        first += f" (and {len(problems) - 1} more: {', '.join(key for key, _ in problems[1:])})"
    return first
