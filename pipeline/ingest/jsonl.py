"""JSON Lines: one comment per line, `{"id", "parent", "author", "time", "text", "thread"}`.

Only `id` and `text` are required; `time` is ISO 8601 (UTC when no offset is given) or epoch
seconds; a missing thread is the file's name. `--map` renames fields (see records.py).
"""

from __future__ import annotations

import json
from pathlib import Path

from stancemap.errors import InputError
from stancemap.ingest.base import Context, Parsed, decode
from stancemap.ingest.records import comment_from_record


class JsonlReader:
    name = "jsonl"
    suffixes = (".jsonl", ".ndjson")

    def sniff(self, path: Path, head: bytes) -> bool:
        first = next((ln for ln in head.splitlines() if ln.strip()), b"")
        return first.lstrip().startswith(b"{")

    def read(self, path: Path, data: bytes, ctx: Context) -> Parsed:
        parsed = Parsed()
        for number, line in enumerate(decode(path, data).splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                ctx.report(InputError(path, f"not valid JSON: {exc.msg} (column {exc.colno})", number))
                continue
            except RecursionError:
                ctx.report(InputError(path, "JSON nested too deeply", number))
                continue
            if not isinstance(record, dict):
                ctx.report(InputError(path, f"expected a JSON object, got {type(record).__name__}", number))
                continue
            try:
                parsed.comments.append(comment_from_record(record, ctx.field_map, path, self.name, line=number))
            except ValueError as exc:
                ctx.report(InputError(path, str(exc), number))
        return parsed
