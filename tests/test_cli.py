from pathlib import Path

import pytest
from typer.testing import CliRunner

from stancemap.cli import app
from tests.conftest import stancemap

REPO = Path(__file__).resolve().parents[1]
COMMANDS = sorted(
    [c.name or c.callback.__name__ for c in app.registered_commands]
    + [
        f"{group.name} {c.name or c.callback.__name__}"
        for group in app.registered_groups
        for c in group.typer_instance.registered_commands
    ]
)
runner = CliRunner()


def test_all_stage_commands_exist():
    assert {"ingest", "segment", "embed", "cluster", "label", "report", "run"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command):
    result = runner.invoke(app, [*command.split(), "--help"])
    assert result.exit_code == 0, result.output
    assert "Example: stancemap " + command in " ".join(result.output.split())


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_in_the_readme(command):
    assert f"stancemap {command}" in (REPO / "README.md").read_text(encoding="utf-8")


def test_bad_input_exits_2_with_one_clear_line_and_no_output(tmp_path):
    bad = tmp_path / "thread.jsonl"
    bad.write_text('{"id": 1, "author": "a", "time": 0, "text": "ok"}\n{"id": 2, "text": \n', encoding="utf-8")
    out = tmp_path / "comments.parquet"
    result = stancemap("ingest", str(bad), "--out", str(out), cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: {bad}:2: not valid JSON")
    assert not out.exists()


def test_bad_override_exits_2(tmp_path, small_corpus):
    result = stancemap("run", str(small_corpus), "--set", "cluster.min_cluster_size=zero", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "cluster.min_cluster_size: expected a whole number" in result.stderr


def test_stage_commands_chain_with_quiet_output(tmp_path, small_corpus):
    comments, claims = tmp_path / "comments.parquet", tmp_path / "claims.parquet"
    first = stancemap("--quiet", "ingest", str(small_corpus), "--out", str(comments), cwd=tmp_path)
    assert first.returncode == 0 and first.stderr == "" and comments.exists()
    second = stancemap("segment", str(comments), "--out", str(claims), "--set", "segment.min_words=2", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "segment:" in second.stderr and claims.exists()
