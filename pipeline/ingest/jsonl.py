"""JSON Lines: one comment per line with `id`, `parent`, `author`, `time`, `text`, `thread`.

`parent` and `thread` are optional (a missing thread is the file's name); `author` and `time`
may be null; `time` is ISO 8601 (UTC when no offset is given) or epoch seconds.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from pipeline.errors import InputError
from pipeline.ingest.base import Comment, quote_spans

REQUIRED = ("id", "author", "time", "text")


def parse_time(value: object) -> datetime | None:
    """ISO 8601 string or epoch seconds (number or numeric string) -> aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("expected ISO 8601 or epoch seconds, got a boolean")
    if isinstance(value, str):
        s = value.strip()
        try:
            return datetime.fromtimestamp(float(s), tz=UTC)
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(s)
        except ValueError:
            raise ValueError(f"{value!r} is neither ISO 8601 nor epoch seconds") from None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"epoch seconds {value!r} out of range") from None
    raise ValueError(f"expected ISO 8601 or epoch seconds, got {type(value).__name__}")


def _ident(value: object, key: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"`{key}` must be a string or an integer, got {json.dumps(value)[:40]}")
    text = str(value).strip()
    if not text:
        raise ValueError(f"`{key}` is empty")
    return text


class JsonlReader:
    name = "jsonl"
    suffixes = (".jsonl", ".ndjson")

    def sniff(self, path: Path, head: str) -> bool:
        first = next((ln for ln in head.splitlines() if ln.strip()), "")
        return first.lstrip().startswith("{")

    def read(self, path: Path, text: str) -> list[Comment]:
        comments: list[Comment] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(path, f"not valid JSON: {exc.msg} (column {exc.colno})", number) from None
            if not isinstance(record, dict):
                raise InputError(path, f"expected a JSON object, got {type(record).__name__}", number)
            try:
                comments.append(self._comment(record, path, number))
            except ValueError as exc:
                raise InputError(path, str(exc), number) from None
        return comments

    def _comment(self, record: dict, path: Path, number: int) -> Comment:
        missing = [k for k in REQUIRED if k not in record]
        if missing:
            raise ValueError(f"missing field(s) {', '.join(missing)}")
        text = record["text"]
        if text is None:
            text = ""
        if not isinstance(text, str):
            raise ValueError(f"`text` must be a string, got {type(text).__name__}")
        author = record["author"]
        if author is not None and not isinstance(author, str):
            raise ValueError(f"`author` must be a string or null, got {type(author).__name__}")
        thread = _ident(record["thread"], "thread") if record.get("thread") is not None else path.stem
        parent = record.get("parent")
        url = record.get("url")
        if url is not None and not isinstance(url, str):
            raise ValueError("`url` must be a string or null")
        prefix = f"{self.name}:{thread}:"
        return Comment(
            comment_id=prefix + _ident(record["id"], "id"),
            thread_id=thread,
            parent_id=None if parent in (None, "") else prefix + _ident(parent, "parent"),
            author=author,
            created_at=parse_time(record["time"]),
            text=text,
            url=url,
            source=self.name,
            source_file=str(path),
            source_line=number,
            quotes=quote_spans(text),
        )
