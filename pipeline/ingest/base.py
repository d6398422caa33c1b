"""What every reader shares: the Reader protocol, the records it produces, decoding, and the
checks on the reply tree that hold whatever the source."""

from __future__ import annotations

import gzip
import io
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from stancemap.errors import InputError

# ">" or its HTML escape, as pasted from pages and some exports
QUOTE_LINE = re.compile(r"^[ \t]*(?:>|&gt;).*$", re.MULTILINE)
DELETED_TEXTS = {"[deleted]", "[removed]", "[dead]", "[flagged]"}


@dataclass
class Comment:
    """One comment as a reader produces it. `parent_id` names another comment's `comment_id`."""

    comment_id: str  # stable and prefixed by source: "hn:123", "reddit:c36ac5z", "jsonl:thread:7"
    thread_id: str
    text: str
    source: str
    source_file: str
    source_line: int | None = None  # 1-based line where the record starts, for line-based formats
    parent_id: str | None = None
    author: str | None = None
    created_at: datetime | None = None
    url: str | None = None
    score: int | None = None
    is_deleted: bool = False
    record: str | None = None  # where the record sits in a document ("children[2]"), for messages


@dataclass
class Thread:
    """What a source says about a thread as a whole."""

    thread_id: str
    source: str
    title: str | None = None
    url: str | None = None
    held_back: int = 0  # comments the source announced but did not include (Reddit "more" stubs)


@dataclass
class Parsed:
    comments: list[Comment] = field(default_factory=list)
    threads: list[Thread] = field(default_factory=list)


class Context:
    """What a reader is told besides the file: how to treat bad records (raise at once, or,
    with --skip-bad, collect them for the skip log) and the user's --map of field names."""

    def __init__(self, skip_bad: bool = False, field_map: dict[str, str] | None = None):
        self.skip_bad = skip_bad
        self.field_map = dict(field_map or {})
        self.skipped: list[InputError] = []

    def report(self, error: InputError) -> None:
        if not self.skip_bad:
            raise error
        self.skipped.append(error)


class Reader(Protocol):
    """A source format. Adding a format is one module with one class of this shape, registered
    in `stancemap.ingest.READERS`."""

    name: str  # short name used by --format and as the comment id prefix
    suffixes: tuple[str, ...]  # file endings (after any .gz) this reader claims when sniff agrees

    def sniff(self, path: Path, head: bytes) -> bool:
        """True when the first bytes of the (decompressed) file look like this format."""
        ...

    def read(self, path: Path, data: bytes, ctx: Context) -> Parsed:
        """Every comment in the file (`data`, decompressed). A bad record goes to
        `ctx.report(InputError(...))` naming its line or record; a file that cannot be read
        at all raises InputError."""
        ...


# C0 and C1 control characters but tab, newline and carriage return: a NUL or an escape sequence
# in a comment is never text a reader meant, and must not reach the page
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean(text: str | None) -> str | None:
    """`text` without control characters (see CONTROL)."""
    return CONTROL.sub("", text) if text else text


def gunzip(path: Path, data: bytes, limit: int = 2**62) -> bytes:
    """`data` decompressed when it is gzip, refused as soon as it passes `limit` bytes (a small
    gzip can hold gigabytes of one byte)."""
    if data[:2] != b"\x1f\x8b":
        if len(data) > limit:
            raise InputError(path, too_big(len(data), limit))
        return data
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            out = stream.read(limit + 1)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InputError(path, f"broken gzip data: {exc}") from None
    if len(out) > limit:
        raise InputError(path, too_big(None, limit))
    return out


def too_big(size: int | None, limit: int) -> str:
    """The message for an input over `limit` bytes: `size` when known, else it grew past it decompressing."""
    mib = limit / 2**20
    what = f"{size / 2**20:,.1f} MiB, over" if size is not None else "decompresses to more than"
    return f"{what} ingest.max_input_mb ({mib:,.0f} MiB); raise it with --set ingest.max_input_mb=N"


def decode(path: Path, data: bytes) -> str:
    """UTF-8 (with or without BOM), or a clear error naming the line of the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(path, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})", line) from None


def inner_suffix(path: Path) -> str:
    """`thread.json.gz` -> `.json`; `thread.jsonl` -> `.jsonl`."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def ident(value: object, name: str) -> str:
    """An id field as text: a string, an integer, or a whole float (CSV and Parquet numbers)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"`{name}` must be an integer or a string, got {json.dumps(value, default=str)[:40]}")
    text = str(value).strip()
    if not text:
        raise ValueError(f"`{name}` is empty")
    return text


def thread_name(path: Path) -> str:
    """The default thread name of a file: its name without endings (`t.jsonl.gz` -> `t`)."""
    name = path.name[:-3] if path.name.lower().endswith(".gz") else path.name
    return Path(name).stem or name


def quote_spans(text: str) -> list[dict]:
    """Spans of `>` quote lines in `text`; adjacent quote lines merge into one span."""
    spans: list[dict] = []
    for m in QUOTE_LINE.finditer(text):
        start, end = m.start(), m.end()
        if spans and text[spans[-1]["end"] : start] == "\n":
            spans[-1]["end"] = end
        else:
            spans.append({"start": start, "end": end})
    return spans


def deleted(text: str | None) -> bool:
    return text is None or text.strip() in DELETED_TEXTS


def epoch(value: float | int) -> datetime:
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"epoch seconds {value!r} out of range") from None


def parse_time(value: object) -> datetime | None:
    """ISO 8601 string or epoch seconds (number or numeric string) -> aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("expected ISO 8601 or epoch seconds, got a boolean")
    if isinstance(value, int | float):
        return epoch(value)
    if isinstance(value, str):
        s = value.strip()
        try:
            return epoch(float(s))
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(s)
        except ValueError:
            raise ValueError(f"{value!r} is neither ISO 8601 nor epoch seconds") from None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    raise ValueError(f"expected ISO 8601 or epoch seconds, got {type(value).__name__}")


def _error(c: Comment, problem: str) -> InputError:
    """An error about comment `c`, located by its file and line, or by its record (or id)."""
    record = c.record or (None if c.source_line else c.comment_id)
    return InputError(c.source_file, problem, c.source_line, record)


def check_tree(comments: list[Comment], ctx: Context) -> list[Comment]:
    """Repeated ids, parents that are not in the table, and reply cycles are bad records.
    With --skip-bad they are dropped, and so are their replies (which could no longer reach
    their thread's root); the comments that remain form whole trees."""
    by_id: dict[str, Comment] = {}
    for c in comments:
        if c.comment_id in by_id:
            first = by_id[c.comment_id]
            if first.source_file != c.source_file:  # both places, file and line or record
                where = str(_error(first, "")).removesuffix(": ")
            else:
                where = f"line {first.source_line}" if first.source_line else f"record {first.record or '?'}"
            ctx.report(_error(c, f"comment id {c.comment_id!r} repeats the one at {where}"))
            continue
        by_id[c.comment_id] = c
    state: dict[str, bool] = {}  # comment id -> reaches a root through comments that are kept
    for c in by_id.values():
        chain: list[Comment] = []
        on_chain: set[str] = set()
        node: Comment | None = c
        ok = True
        while node is not None and node.comment_id not in state:
            if node.comment_id in on_chain:
                ctx.report(_error(node, f"reply links form a cycle through comment {node.comment_id!r}"))
                ok = False
                break
            on_chain.add(node.comment_id)
            chain.append(node)
            if node.parent_id is None:
                node = None
                break
            parent = by_id.get(node.parent_id)
            if parent is None:
                ctx.report(
                    _error(node, f"parent {node.parent_id!r} of comment {node.comment_id!r} is not in the input")
                )
                ok = False
                break
            node = parent
        if ok and node is not None:
            ok = state[node.comment_id]
        for member in chain:
            if member.comment_id not in state:
                if not ok and member is not chain[-1]:
                    ctx.report(_error(member, f"dropped with the comment it replies to ({member.parent_id!r})"))
                state[member.comment_id] = ok
    return [c for c in by_id.values() if state[c.comment_id]]


def depths(comments: list[Comment]) -> dict[str, int]:
    """Depth of every comment of a checked tree (0 at top level)."""
    parent = {c.comment_id: c.parent_id for c in comments}
    depth: dict[str, int] = {}
    for cid in parent:
        chain = []
        node = cid
        while node is not None and node not in depth:
            chain.append(node)
            node = parent[node]
        base = -1 if node is None else depth[node]
        for offset, member in enumerate(reversed(chain), start=1):
            depth[member] = base + offset
    return depth
