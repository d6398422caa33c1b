"""A fuzz of `--set key=value` over every param: each value is either accepted or refused with one
line naming the key, never a traceback; and values at the edges of what is accepted run through
the real stages (exit 0, or one clear line where the corpus cannot take them)."""

from __future__ import annotations

import annotated_types
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from stancemap.config import Params, load_params
from stancemap.errors import ConfigError
from tests.conftest import stancemap


def leaves(model: type[BaseModel], prefix: str = "") -> dict[str, object]:
    """Every param's dotted key -> its pydantic field."""
    out: dict[str, object] = {}
    for name, field in model.model_fields.items():
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            out.update(leaves(kind, f"{prefix}{name}."))
        else:
            out[f"{prefix}{name}"] = field
    return out


KEYS = leaves(Params)
TEXTS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "inf", "-inf", "1e400", "true", "false", "null", "~", "", "[]", "[1, 2]", "{a: 1}"]),
    st.sampled_from(["blank", "torch", "onnx", "auto", "found", "none", "0x10", "1_000", "0.5", "-0.0"]),
    st.text(max_size=30),
)


def test_every_param_is_in_the_fuzz():
    assert len(KEYS) >= 40 and "seed" in KEYS and "ingest.max_comment_chars" in KEYS


@settings(max_examples=600, deadline=None)
@given(key=st.sampled_from(sorted(KEYS)), value=TEXTS)
def test_any_value_is_accepted_or_one_line_naming_the_key(key, value):
    try:
        params = load_params(None, [f"{key}={value}"])
    except ConfigError as exc:
        message = str(exc)
        assert "\n" not in message and key in message, message
        return
    section, _, name = key.rpartition(".")
    got = getattr(getattr(params, section), name) if section else getattr(params, name)
    if isinstance(got, float):
        assert got == got and abs(got) != float("inf"), (key, value)  # finite: the stages need it


def _edges(side: str) -> list[str]:
    """`--set` overrides putting every bounded number at its lowest (or highest) accepted value."""
    out = []
    for key, field in KEYS.items():
        if key.startswith("ingest."):  # a 1-character comment limit refuses every thread: tested apart
            continue
        step = 1e-6 if field.annotation is float else 1  # just inside an open bound
        for rule in field.metadata:
            if side == "low" and isinstance(rule, annotated_types.Ge):
                out.append(f"{key}={rule.ge}")
            if side == "low" and isinstance(rule, annotated_types.Gt):
                out.append(f"{key}={rule.gt + step}")
            if side == "high" and isinstance(rule, annotated_types.Le):
                out.append(f"{key}={rule.le}")
            if side == "high" and isinstance(rule, annotated_types.Lt):
                out.append(f"{key}={rule.lt - step}")
    return out


@pytest.mark.parametrize("side", ["low", "high"])
def test_params_at_their_edges_run_or_fail_in_one_line(tmp_path, small_corpus, side):
    overrides = [part for o in _edges(side) for part in ("--set", o)]
    assert len(overrides) >= (40 if side == "low" else 14)
    load_params(None, overrides[1::2])  # accepted, so the run must cope with them
    result = stancemap("--quiet", "run", str(small_corpus), "--workdir", "w", *overrides, cwd=tmp_path, timeout=300)
    assert "Traceback" not in result.stderr, result.stderr
    if result.returncode != 0:
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    else:
        assert (tmp_path / "w" / "reports" / "stance_map.html").exists()
