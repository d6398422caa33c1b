"""What every reader shares: the Reader protocol, decoding, quote spans and the reply tree."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from pipeline.errors import InputError

QUOTE_LINE = re.compile(r"^[ \t]*>.*$", re.MULTILINE)


@dataclass
class Comment:
    """One comment as a reader produces it, before the tree is resolved."""

    comment_id: str
    thread_id: str
    text: str
    source: str
    source_file: str
    source_line: int
    parent_id: str | None = None
    author: str | None = None
    created_at: datetime | None = None
    url: str | None = None
    quotes: list[dict] = field(default_factory=list)


class Reader(Protocol):
    """A source format. Adding a format is one module with one class of this shape."""

    name: str  # short name used by --format and in comment ids
    suffixes: tuple[str, ...]  # file endings claimed when a folder is scanned

    def sniff(self, path: Path, head: str) -> bool:
        """True when the start of the file (`head`, decoded) looks like this format."""
        ...

    def read(self, path: Path, text: str) -> list[Comment]:
        """All comments of the file; raise InputError naming the line for bad records."""
        ...


def decode(path: Path, data: bytes) -> str:
    """UTF-8 (with or without BOM) or a clear error naming the line of the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(path, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})", line) from None


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


def resolve_tree(comments: list[Comment], path: str) -> dict[str, int]:
    """Check every parent exists and the reply links have no cycle; return each comment's depth."""
    by_id: dict[str, Comment] = {}
    for c in comments:
        if c.comment_id in by_id:
            first = by_id[c.comment_id].source_line
            raise InputError(path, f"comment id {c.comment_id!r} repeats the one on line {first}", c.source_line)
        by_id[c.comment_id] = c
    depth: dict[str, int] = {}
    for c in comments:
        chain: list[str] = []
        seen: set[str] = set()
        node: Comment | None = c
        while node is not None and node.comment_id not in depth:
            if node.comment_id in seen:
                raise InputError(
                    path, f"reply links form a cycle through comment {node.comment_id!r}", node.source_line
                )
            seen.add(node.comment_id)
            chain.append(node.comment_id)
            if node.parent_id is None:
                node = None
                break
            parent = by_id.get(node.parent_id)
            if parent is None:
                raise InputError(
                    path,
                    f"parent {node.parent_id!r} of comment {node.comment_id!r} is not in the file",
                    node.source_line,
                )
            node = parent
        base = -1 if node is None else depth[node.comment_id]
        for offset, cid in enumerate(reversed(chain), start=1):
            depth[cid] = base + offset
    return depth
