"""Hacker News: Algolia `items/ID` trees, Algolia search responses, Firebase items and flat dumps.

Accepted shapes (JSON documents, or JSON Lines with one item per line):
- an Algolia item, `{"id", "type", "author", "created_at_i", "text", "story_id", "children": [...]}`;
- an Algolia search response, `{"hits": [{"objectID", "comment_text", "story_id", "parent_id", ...}]}`;
- Firebase items, `{"id", "by", "time", "text", "parent", "kids", "type", "deleted", "dead"}`;
- flat dumps, a list of `{"id", "author", "text"}` with optional `parent` and `time`.

Decisions:
- HN ids are global, so a comment is `hn:<id>` and a thread is its story id. Without a story id the
  thread is the root-most item reached through parents in the file: its parent's id when that parent
  is absent (the story, for top-level comments), else the file's name.
- A reply keeps its parent only when the parent comment is in the same file; otherwise it is top level.
- The story is a Thread, not a comment. Its own text (Ask HN) becomes one more top-level comment
  `hn:<story id>`, beside the replies rather than above them, so depth 0 still means "replies to the story".
- Poll options (`pollopt`) are choices, not arguments, and are left out.
- Deleted or dead items stay in the tree with text "" and `is_deleted`, so their replies keep a parent.
- Optional metadata of the wrong type (points, title, url) is dropped quietly; a wrong id, time,
  author or text makes the record bad.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

from stancemap.errors import InputError
from stancemap.ingest.base import Comment, Context, Parsed, Thread, decode, deleted, ident, inner_suffix, parse_time

ITEM_URL = "https://news.ycombinator.com/item?id={}"
STORY_TYPES = {"story", "poll", "job"}
ALL_TYPES = STORY_TYPES | {"comment", "pollopt"}
BREAK_TAGS = {"p", "pre", "br", "div", "li", "blockquote"}
KEY = re.compile(r'"([A-Za-z_]+)"\s*:')


class _TextOf(HTMLParser):
    """Collects (text, preformatted) pieces; None marks a paragraph break."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[tuple[str, bool] | None] = []
        self.pre = 0
        self.links: list[bool] = []  # per open <a>: True when its label is replaced by the href

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in BREAK_TAGS:
            self.pieces.append(None)
            self.pre += tag == "pre"
        elif tag == "a":
            href = (dict(attrs).get("href") or "").strip()
            # HN shows the URL itself as the label, often cut short with "...": keep the full href
            if href:
                self.pieces.append((href, False))
            self.links.append(bool(href))

    def handle_endtag(self, tag: str) -> None:
        if tag in BREAK_TAGS:
            self.pieces.append(None)
            if tag == "pre" and self.pre:
                self.pre -= 1
        elif tag == "a" and self.links:
            self.links.pop()

    def handle_data(self, data: str) -> None:
        if not any(self.links):
            self.pieces.append((data, self.pre > 0))


def _pieces(html: str) -> list[tuple[str, bool] | None]:
    parser = _TextOf()
    parser.feed(html)
    parser.close()
    return parser.pieces


def html_to_text(html: str) -> str:
    """HN comment HTML -> plain text: one line per paragraph (`<p>` or a typed line break), links as
    their full URL, `<pre><code>` lines kept with their indentation, entities unescaped, blank lines
    dropped. A quote (`&gt; ...`) therefore starts its own line, where the pipeline looks for it."""
    try:
        pieces = _pieces(html)
    except AssertionError:
        # html.parser gives up on some "<![..." declarations, which HN never sends: read them as text
        pieces = _pieces(html.replace("<!", "&lt;!"))
    lines: list[tuple[str, bool]] = []  # (text, starts inside <pre>)
    line, line_pre = "", False
    for piece in pieces:
        if piece is None:
            lines.append((line, line_pre))
            line, line_pre = "", False
            continue
        data, pre = piece
        if not pre:
            data = re.sub(r"[^\S\n]+", " ", data)
        for i, part in enumerate(data.replace("\r\n", "\n").replace("\r", "\n").split("\n")):
            if i:
                lines.append((line, line_pre))
                line, line_pre = "", False
            if pre and not line.strip():
                line_pre = True
            line += part
    lines.append((line, line_pre))
    out = [(text.rstrip() if pre else text.strip()) for text, pre in lines]
    return "\n".join(text for text in out if text.strip())


@dataclass
class _Item:
    id: str
    kind: str  # "story" or "comment"
    parent: str | None
    story: str | None
    author: str | None
    created_at: datetime | None
    text: str
    is_deleted: bool
    score: int | None
    title: str | None
    url: str | None
    line: int | None
    record: str | None


def _optional_ident(rec: dict, *keys: str) -> str | None:
    for key in keys:
        if rec.get(key) not in (None, ""):
            return ident(rec[key], key)
    return None


def _string(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _kind(rec: dict) -> str:
    kind = rec.get("type")
    if not isinstance(kind, str) or kind not in ALL_TYPES:
        tags = rec.get("_tags") if isinstance(rec.get("_tags"), list) else []
        kind = next((t for t in tags if isinstance(t, str) and t in ALL_TYPES), None)
    if kind is None:
        has_parent = rec.get("parent_id", rec.get("parent")) not in (None, "")
        kind = "story" if _string(rec.get("title")) and not has_parent else "comment"
    return "story" if kind in STORY_TYPES else kind


def _item(rec: dict, nest_parent: str | None, line: int | None, record: str | None) -> _Item | None:
    """One record -> an _Item (None for a poll option); ValueError names what is wrong."""
    kind = _kind(rec)
    if kind == "pollopt":
        return None
    if "id" not in rec and "objectID" not in rec:
        raise ValueError("missing `id`")
    item_id = ident(rec["id"], "id") if "id" in rec else ident(rec["objectID"], "objectID")
    author = rec.get("by", rec.get("author"))
    if author is not None and not isinstance(author, str):
        raise ValueError(f"`author` must be a string or null, got {type(author).__name__}")
    stamp = next((k for k in ("created_at_i", "time", "created_at") if rec.get(k) is not None), None)
    try:
        created_at = parse_time(rec[stamp]) if stamp else None
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValueError(f"bad `{stamp}`: {exc}") from None
    if "text" in rec:
        raw = rec["text"]
    else:
        raw = rec.get("comment_text") if kind == "comment" else rec.get("story_text")
    if raw is not None and not isinstance(raw, str):
        raise ValueError(f"`text` must be a string or null, got {type(raw).__name__}")
    gone = rec.get("deleted") is True or rec.get("dead") is True or (kind == "comment" and deleted(raw))
    score = next((rec[k] for k in ("points", "score") if isinstance(rec.get(k), int)), None)
    return _Item(
        id=item_id,
        kind=kind,
        parent=nest_parent or _optional_ident(rec, "parent_id", "parent"),
        story=item_id if kind == "story" else _optional_ident(rec, "story_id"),
        author=author,
        created_at=created_at,
        text="" if gone or raw is None else html_to_text(raw),
        is_deleted=gone,
        score=None if isinstance(score, bool) else score,
        title=_string(rec.get("title")) or _string(rec.get("story_title")),
        url=_string(rec.get("url")) or _string(rec.get("story_url")),
        line=line,
        record=record,
    )


def _where(at: str | None, step: str) -> str:
    """The locator of `step` inside the record at `at` ("[3]" + "children[0]" -> "[3].children[0]")."""
    return step if at in (None, "root") else f"{at}.{step}"


class HackerNewsReader:
    name = "hn"
    suffixes = (".json", ".jsonl")

    def sniff(self, path: Path, head: bytes) -> bool:
        """True when the first bytes hold keys only HN items use (Reddit's `kind` rules it out)."""
        text = head.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
        if not text.startswith(("{", "[")):
            return False
        keys = set(KEY.findall(text))
        if "kind" in keys:
            return False
        if {"children", "created_at_i"} <= keys or ("objectID" in keys and keys & {"comment_text", "story_id"}):
            return True
        if "by" in keys and keys & {"kids", "parent", "type", "descendants", "score"}:
            return True
        # flat dumps: a list of {"id": <number>, "author", "text"}; string ids are the generic format
        flat = re.match(r'\[\s*\{\s*"id"\s*:\s*\d+\s*,', text)
        return bool(flat) and {"author", "text"} <= keys and "thread" not in keys

    def read(self, path: Path, data: bytes, ctx: Context) -> Parsed:
        """Every HN comment in `data` (decompressed JSON or JSON Lines), in document order."""
        text = decode(path, data)
        roots: list[tuple[object, int | None, str | None]] = []  # (value, line, locator)
        if inner_suffix(path) == ".jsonl" or self._is_lines(text):
            # split on "\n" only: JSON strings may hold raw U+2028, which splitlines() would break on
            for number, line in enumerate(text.split("\n"), start=1):
                if line.strip():
                    try:
                        roots.append((self._load(path, line, number), number, None))
                    except InputError as exc:
                        ctx.report(exc)
        elif text.strip():
            value = self._load(path, text, None)
            if isinstance(value, list):
                roots.extend((v, None, f"[{i}]") for i, v in enumerate(value))
            elif isinstance(value, dict) and isinstance(value.get("hits"), list):
                roots.extend((v, None, f"hits[{i}]") for i, v in enumerate(value["hits"]))
            elif isinstance(value, dict):
                roots.append((value, None, "root"))
            else:
                raise InputError(path, f"expected an HN item, a list of items or search hits, got {_type(value)}")
        return self._resolve(path, self._items(path, roots, ctx), ctx)

    @staticmethod
    def _is_lines(text: str) -> bool:
        """A .json file that holds JSON Lines: several lines, the first a whole object by itself."""
        first, _, rest = text.strip().partition("\n")
        if not rest.strip() or not first.strip().startswith("{"):
            return False
        try:
            return isinstance(json.loads(first), dict)
        except (ValueError, RecursionError):
            return False

    @staticmethod
    def _load(path: Path, text: str, line: int | None) -> object:
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            at = line if line is not None else exc.lineno
            raise InputError(path, f"not valid JSON: {exc.msg} (column {exc.colno})", at) from None
        except (ValueError, RecursionError) as exc:  # digit limits, nesting deeper than Python allows
            raise InputError(path, f"not valid JSON: {str(exc)[:80] or type(exc).__name__}", line) from None

    def _items(self, path: Path, roots: list, ctx: Context) -> tuple[dict[str, _Item], set[str]]:
        """Walk every record depth-first in document order -> (items by id, ids of bad records)."""
        items: dict[str, _Item] = {}
        bad: set[str] = set()
        stack = [(value, line, at, None) for value, line, at in reversed(roots)]
        while stack:
            value, line, at, parent = stack.pop()
            if isinstance(value, dict) and isinstance(value.get("hits"), list) and "id" not in value:
                stack.extend(
                    (v, line, _where(at, f"hits[{i}]"), None) for i, v in reversed(list(enumerate(value["hits"])))
                )
                continue
            try:
                if not isinstance(value, dict):
                    raise ValueError(f"expected an HN item (a JSON object), got {_type(value)}")
                item = _item(value, parent, line, at)
                children = value.get("children", [])
                if not isinstance(children, list):
                    raise ValueError(f"`children` must be a list, got {_type(children)}")
            except ValueError as exc:
                raw_id = value.get("id", value.get("objectID")) if isinstance(value, dict) else None
                plain = isinstance(raw_id, int | str) and not isinstance(raw_id, bool)
                key = str(raw_id) if plain else f"\0{id(value)}"
                bad.add(key)
                ctx.report(InputError(path, str(exc), line, at))
                # replies under a bad record still come out, pointing at it, so they are dropped with it
                children = value.get("children") if isinstance(value, dict) else None
                if isinstance(children, list):
                    stack.extend(
                        (c, line, _where(at, f"children[{i}]"), key) for i, c in reversed(list(enumerate(children)))
                    )
                continue
            if item is None:
                continue
            if item.id in items:
                first = items[item.id]
                where = f"line {first.line}" if first.line else first.record
                ctx.report(InputError(path, f"item {item.id} repeats the one at {where}", line, at))
            else:
                items[item.id] = item
            stack.extend(
                (c, line, _where(at, f"children[{i}]"), item.id) for i, c in reversed(list(enumerate(children)))
            )
        return items, bad

    def _resolve(self, path: Path, found: tuple[dict[str, _Item], set[str]], ctx: Context) -> Parsed:
        """Items -> comments with thread ids and in-file parents, plus one Thread per thread."""
        items, bad = found
        stem = path.name[:-3] if path.name.lower().endswith(".gz") else path.name
        stem = stem[: -len(inner_suffix(path))] if inner_suffix(path) else stem
        parsed = Parsed()
        threads: dict[str, Thread] = {}
        for item in items.values():
            if self._dropped(item, items, bad):
                bad.add(item.id)
                ctx.report(
                    InputError(path, f"dropped with the item it replies to ({item.parent})", item.line, item.record)
                )
                continue
            thread_id = self._thread(item, items, stem)
            thread = threads.setdefault(thread_id, Thread(thread_id=thread_id, source=self.name))
            if item.kind == "story":
                thread.title = item.title or thread.title
                thread.url = item.url or ITEM_URL.format(item.id)
                if not item.text:
                    continue
            elif item.story == thread_id:
                thread.title = thread.title or item.title
                thread.url = thread.url or item.url or ITEM_URL.format(thread_id)
            parent = items.get(item.parent) if item.parent and item.kind == "comment" else None
            parsed.comments.append(
                Comment(
                    comment_id=f"hn:{item.id}",
                    thread_id=thread_id,
                    text=item.text,
                    source=self.name,
                    source_file=str(path),
                    source_line=item.line,
                    parent_id=f"hn:{parent.id}" if parent is not None and parent.kind == "comment" else None,
                    author=item.author,
                    created_at=item.created_at,
                    url=ITEM_URL.format(item.id),
                    score=item.score,
                    is_deleted=item.is_deleted,
                    record=item.record,
                )
            )
        parsed.threads = list(threads.values())
        return parsed

    @staticmethod
    def _dropped(item: _Item, items: dict[str, _Item], bad: set[str]) -> bool:
        """True when a parent link in the file leads to a bad record."""
        seen = {item.id}
        node = item
        while node.parent is not None and node.parent not in seen:
            if node.parent in bad:
                return True
            if node.parent not in items:
                return False
            seen.add(node.parent)
            node = items[node.parent]
        return False

    @staticmethod
    def _thread(item: _Item, items: dict[str, _Item], stem: str) -> str:
        """The story id, or the root-most item reached through parents in the file (see module doc)."""
        seen = {item.id}
        node = item
        while node.story is None:
            if node.parent is None:
                return stem
            if node.parent not in items or node.parent in seen:
                return node.parent
            seen.add(node.parent)
            node = items[node.parent]
        return node.story


def _type(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), type(value).__name__
    )
