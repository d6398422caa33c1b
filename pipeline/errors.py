"""The one error type users see: it names the file, the record and the problem."""

from __future__ import annotations

from pathlib import Path


class StancemapError(Exception):
    """A problem the user can fix (bad input, bad params, missing file). The CLI prints it
    without a traceback and exits with status 2."""


class InputError(StancemapError):
    """Bad input data, located by file and line (text formats) or record (JSON documents,
    tables): `data/raw/t.jsonl:41: problem`, `data/raw/t.json [children[2]]: problem`."""

    def __init__(self, path: str | Path, problem: str, line: int | None = None, record: str | None = None):
        self.path = str(path)
        self.line = line
        self.record = record
        self.problem = problem
        where = self.path
        if line is not None:
            where += f":{line}"
        if record is not None:
            # a locator that starts with an index already reads as one: "[1].children[0]"
            where += f" {record}" if record.startswith("[") else f" [{record}]"
        super().__init__(f"{where}: {problem}")


class ConfigError(StancemapError):
    """Bad params.yaml content or a bad --set override."""
