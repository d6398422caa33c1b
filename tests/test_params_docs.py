"""The README's params table and params.yaml agree with the params models: every key, every default."""

import re

import yaml

from stancemap.config import Params, load_params
from tests.conftest import REPO


def defaults() -> dict[str, object]:
    """Every dotted key of Params with its default."""
    flat = {}
    for name, value in Params().to_dict().items():
        if isinstance(value, dict):
            flat |= {f"{name}.{key}": v for key, v in value.items()}
        else:
            flat[name] = value
    return flat


def shown(value: object) -> str:
    """A default as the README's table writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return "[]" if not value else str(list(value))
    return str(value)


def readme_rows() -> list[tuple[list[str], list[str]]]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    table = text[text.index("## Params") :]
    table = table[: table.index("\n## ", 1)]
    rows = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        keys = re.findall(r"`([a-z_.]+)`", cells[0])
        values = [v.strip().strip("`") for v in cells[1].split(", ")] if len(keys) > 1 else [cells[1].strip("`")]
        rows.append((keys, values))
    return rows


def test_every_param_has_one_readme_row_with_its_default():
    known = defaults()
    seen: dict[str, str] = {}
    for keys, values in readme_rows():
        assert len(keys) == len(values), (keys, values)
        for key, value in zip(keys, values, strict=True):
            assert key in known, f"README names {key}, which is not a param"
            assert key not in seen, f"{key} has two rows"
            seen[key] = value
    assert set(seen) == set(known), f"no README row: {sorted(set(known) - set(seen))}"
    for key, value in seen.items():
        assert value == shown(known[key]), (key, value, known[key])


def test_params_yaml_holds_every_key_at_its_default():
    data = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
    flat = {}
    for name, value in data.items():
        flat |= {f"{name}.{k}": v for k, v in value.items()} if isinstance(value, dict) else {name: value}
    assert set(flat) == set(defaults())
    assert load_params(REPO / "params.yaml").to_dict() == Params().to_dict()
