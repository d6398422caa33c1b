"""Flat records (a JSONL object, a CSV or Parquet row) -> Comment, through a field mapping.

The fields are `id` and `text` (required), and `parent`, `author`, `time`, `thread`, `url`,
`score` (optional). `--map text=body,author=user` says which column holds which field.
"""

from __future__ import annotations

from pathlib import Path

from stancemap.errors import StancemapError
from stancemap.ingest.base import Comment, deleted, ident, parse_time, thread_name

FIELDS = ("id", "text", "parent", "author", "time", "thread", "url", "score")
REQUIRED = ("id", "text")


def parse_map(spec: str | None) -> dict[str, str]:
    """`text=body,author=user` -> {"text": "body", "author": "user"}; unknown fields are an error."""
    mapping: dict[str, str] = {}
    for part in (spec or "").split(","):
        if not part.strip():
            continue
        field, sep, column = part.partition("=")
        field, column = field.strip(), column.strip()
        if not sep or not field or not column:
            raise StancemapError(f"--map {part.strip()!r}: expected FIELD=COLUMN, e.g. text=body")
        if field not in FIELDS:
            raise StancemapError(f"--map {field!r}: not a field; the fields are {', '.join(FIELDS)}")
        mapping[field] = column
    return mapping


def columns_for(field_map: dict[str, str]) -> dict[str, str]:
    """Field -> the column (or JSON key) that holds it."""
    return {f: field_map.get(f, f) for f in FIELDS}


def missing_required(available: set[str], field_map: dict[str, str]) -> list[str]:
    cols = columns_for(field_map)
    return [
        f"{cols[f]!r}" + (f" (mapped to {f})" if cols[f] != f else "") for f in REQUIRED if cols[f] not in available
    ]


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _score(value: object) -> int | None:
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError("`score` must be a whole number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"`score` must be a whole number, got {str(value)[:20]!r}") from None
    if not number.is_integer() or abs(number) > 2**62:
        raise ValueError(f"`score` must be a whole number, got {str(value)[:20]!r}")
    return int(number)


def comment_from_record(
    record: dict,
    field_map: dict[str, str],
    path: Path,
    source: str,
    line: int | None = None,
    locator: str | None = None,
) -> Comment:
    """One record -> Comment; raises ValueError naming the problem (the caller adds where)."""
    cols = columns_for(field_map)
    missing = [cols[f] for f in REQUIRED if cols[f] not in record]
    if missing:
        raise ValueError(f"missing field(s) {', '.join(missing)}")
    get = {f: record.get(cols[f]) for f in FIELDS}
    text = get["text"]
    if text is not None and not isinstance(text, str):
        raise ValueError(f"`{cols['text']}` must be a string, got {type(text).__name__}")
    author = get["author"]
    if author is not None and not isinstance(author, str):
        raise ValueError(f"`{cols['author']}` must be a string or null, got {type(author).__name__}")
    url = get["url"]
    if url is not None and not isinstance(url, str):
        raise ValueError(f"`{cols['url']}` must be a string or null")
    thread = ident(get["thread"], cols["thread"]) if not _blank(get["thread"]) else thread_name(path)
    prefix = f"{source}:{thread}:"
    gone = deleted(text)
    return Comment(
        comment_id=prefix + ident(get["id"], cols["id"]),
        thread_id=thread,
        parent_id=None if _blank(get["parent"]) else prefix + ident(get["parent"], cols["parent"]),
        author=None if _blank(author) else author,
        created_at=parse_time(None if _blank(get["time"]) else get["time"]),
        text="" if gone else text,
        is_deleted=gone,
        url=url or None,
        score=_score(get["score"]),
        source=source,
        source_file=str(path),
        source_line=line,
        record=locator,
    )
