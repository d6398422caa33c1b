"""The stage table (stancemap.stages) against dvc.yaml, the stages' own signatures, and the data flow."""

import importlib.util
import inspect
import re
from pathlib import Path

import pytest
import yaml

from stancemap.config import Params
from stancemap.stages import ALL, ARTIFACTS, RUN_STAGES, STAGES, Layout, stage
from tests.conftest import REPO

DVC = yaml.safe_load((REPO / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


def every_key(names) -> set[str]:
    """Dotted param keys, with a whole section ("cluster") spelled out key by key."""
    defaults = Params().to_dict()
    keys = set()
    for name in names:
        section, _, key = name.partition(".")
        if not key and isinstance(defaults[section], dict):
            keys |= {f"{section}.{k}" for k in defaults[section]}
        else:
            keys.add(name)
    return keys


def outs_of(block: dict) -> dict[str, dict]:
    entries = {}
    for out in block.get("outs", []) + block.get("metrics", []):
        path, options = (next(iter(out.items())) if isinstance(out, dict) else (out, {}))
        entries[path] = options or {}
    return entries


def test_the_table_and_dvc_yaml_name_the_same_stages_in_the_same_order():
    assert [s.name for s in STAGES] == list(DVC)


@pytest.mark.parametrize("name", list(DVC))
def test_each_stage_has_the_same_deps_outs_and_params_in_both(name):
    spec, block = stage(name), DVC[name]
    reads = {ARTIFACTS[a] for a in spec.reads.values()}
    writes = {ARTIFACTS[a] for a in spec.writes.values()}
    assert set(map(str, block.get("deps", []))) == set(spec.code) | reads
    outs = outs_of(block)
    assert set(outs) == writes
    assert {p for p, o in outs.items() if o.get("persist")} == {ARTIFACTS[a] for a in spec.persist}
    assert {next(iter(m)) if isinstance(m, dict) else m for m in block.get("metrics", [])} == {
        ARTIFACTS[a] for a in spec.metrics
    }
    assert every_key(block.get("params", [])) == every_key(spec.params)
    named = set(block["cmd"].split())
    assert (reads | writes) <= named, "the command names every artifact it reads and writes"


@pytest.mark.parametrize("name", [s.name for s in STAGES])
def test_each_stage_s_own_code_is_among_its_deps(name):
    spec = stage(name)
    source = Path(importlib.util.find_spec(spec.module).origin).resolve()
    if source.name == "__init__.py":
        source = source.parent
    relative = source.relative_to(REPO).as_posix()
    assert any(relative == dep or relative.startswith(dep + "/") for dep in spec.code), (relative, spec.code)
    for dep in spec.code:
        assert (REPO / dep).exists(), dep


@pytest.mark.parametrize("name", [s.name for s in RUN_STAGES])
def test_every_run_takes_its_params_section_and_keyword_only_paths(name):
    spec = stage(name)
    parameters = inspect.signature(spec.function()).parameters
    first = next(iter(parameters.values()))
    assert first.name == "params" and first.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    for keyword in [*spec.reads, *spec.writes]:
        assert parameters[keyword].kind is inspect.Parameter.KEYWORD_ONLY, keyword
    assert "out" in spec.writes
    if spec.section not in (None, ALL):
        assert spec.section in Params().to_dict()
        assert any(key == spec.section or key.startswith(spec.section + ".") for key in spec.params)


def test_data_flows_one_way():
    """Each stage `stancemap run` runs reads only the input threads or what an earlier stage wrote,
    and no artifact has two writers."""
    written = {"raw"}
    for spec in RUN_STAGES:
        assert set(spec.reads.values()) <= written, spec.name
        assert not set(spec.writes.values()) & written, spec.name
        written |= set(spec.writes.values())
    assert written == set(ARTIFACTS) - {"stance_model", "forum_pairs"}  # the repository's own, for train_stance


def test_layout_puts_every_artifact_under_the_working_folder(tmp_path):
    at = Layout(tmp_path)
    for name, path in ARTIFACTS.items():
        assert getattr(at, name) == tmp_path / path
    with pytest.raises(AttributeError):
        _ = at.no_such_artifact
    paths = stage("segment").paths(at)
    assert paths == {"comments": at.comments, "out": at.claims, "cache": at.segment_cache}


def test_the_readme_stage_table_lists_what_each_stage_writes():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    rows = {}
    for line in text[text.index("## The stages") : text.index("## The report")].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[1].startswith("`stancemap "):
            rows[cells[0]] = set(re.findall(r"`([\w/.]+\.\w+)`", cells[3]))
    assert list(rows) == [s.name for s in RUN_STAGES]
    for spec in RUN_STAGES:
        assert rows[spec.name] == {ARTIFACTS[a] for a in spec.writes.values()}, spec.name
