"""Reddit: native `/comments/<id>.json` listings and `/api/morechildren` responses.

A listing is `[submission listing, comment listing]` and yields one Thread plus its comments:

- every `t1` becomes a comment `reddit:<id>` (Reddit's base36 ids are unique site-wide);
  a `t1_x` parent becomes `reddit:x`, a `t3_` parent (the post) becomes None: top level;
- the post's selftext, when there is one, is a top-level comment `reddit:t3_<id>` by the poster
  (the title stays on the Thread). Comments on the post stay top level rather than replying
  to it, so a comment's parent never depends on whether the post had text, and a morechildren
  file, which cannot know, gives the same parents as the listing;
- `more` stubs are not comments; the sum of their `count` is the Thread's `held_back`.

A morechildren file is a list of `{"json": {"errors": [], "data": {"things": [...]}}}` (or one
such object). It yields comments only, no Thread: the listing it completes already announced
them, and its own `more` stubs are not counted. Its comments' parents usually sit in the
listing, so none is dropped here for a missing parent: the caller checks parents across files.
The endpoint can repeat a thing; the first copy of an id is kept (in listings too).

A thing of the wrong shape is reported through `ctx.report` and skipped; its replies are still
read, so the caller's tree check names each one it drops. Output is in document order.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

from stancemap.errors import InputError
from stancemap.ingest.base import Comment, Context, Parsed, Thread, decode, epoch

SITE = "https://www.reddit.com"
GONE = {"[deleted]", "[removed]", "[ Removed by Reddit ]"}
# Reddit escapes exactly these three in `body` unless asked for raw_json=1; other entities
# (`&#3232;`) are what the user typed, so html.unescape would change the markdown they wrote.
ESCAPES = {"&amp;": "&", "&lt;": "<", "&gt;": ">"}
ESCAPED = re.compile("&(?:amp|lt|gt);")
SNIFF_BYTES = 512
LISTING_HEAD = re.compile(rb'\s*\[\s*\{\s*"kind"\s*:\s*"Listing"')
MORECHILDREN_HEAD = re.compile(rb'\s*\[?\s*\{\s*"json"\s*:\s*\{\s*"(?:errors|data)"')


class RedditReader:
    name = "reddit"
    suffixes = (".json",)

    def sniff(self, path: Path, head: bytes) -> bool:
        """True when `head` opens a comment listing or a morechildren response."""
        head = head[:SNIFF_BYTES].removeprefix(b"\xef\xbb\xbf")
        return bool(LISTING_HEAD.match(head) or MORECHILDREN_HEAD.match(head))

    def read(self, path: Path, data: bytes, ctx: Context) -> Parsed:
        """The comments (and, for a listing, the Thread) of one Reddit JSON file."""
        doc = _load(path, data)
        first = doc[0] if isinstance(doc, list) and doc else doc
        if isinstance(first, dict) and first.get("kind") == "Listing":
            return _read_listing(path, doc, ctx)
        if isinstance(first, dict) and "json" in first:
            return _read_morechildren(path, doc if isinstance(doc, list) else [doc], ctx)
        raise InputError(path, "neither a Reddit comment listing nor a list of morechildren responses")


def _load(path: Path, data: bytes) -> object:
    try:
        return json.loads(decode(path, data))
    except json.JSONDecodeError as exc:
        problem = f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        raise InputError(path, problem, exc.lineno) from None
    except ValueError as exc:  # e.g. an integer longer than Python will parse
        raise InputError(path, f"not valid JSON: {exc}") from None
    except RecursionError:
        raise InputError(path, "not valid JSON: nested too deeply") from None


def _read_listing(path: Path, doc: object, ctx: Context) -> Parsed:
    if not isinstance(doc, list) or len(doc) != 2:
        raise InputError(path, "expected a list of two Listings: [submission, comments]")
    posts, things = _children(doc[0]), _children(doc[1])
    for where, children in (("[0]", posts), ("[1]", things)):
        if children is None:
            raise InputError(path, "expected a Listing with a `children` list", None, where)
    parsed = Parsed()
    thread = None
    try:
        thread, post = _submission(path, posts[0] if posts else None)
    except ValueError as exc:
        ctx.report(InputError(path, str(exc), None, "[0].children[0]"))
    else:
        parsed.comments.extend([post] if post else [])
    expected = f"t3_{thread.thread_id}" if thread else None
    seen = {c.comment_id for c in parsed.comments}
    held_back = _walk(path, [(t, f"[1].children[{i}]", expected) for i, t in enumerate(things)], parsed, ctx, seen)
    if thread:
        thread.held_back = held_back
        parsed.threads.append(thread)
    return parsed


def _read_morechildren(path: Path, responses: list, ctx: Context) -> Parsed:
    parsed = Parsed()
    seen: set[str] = set()
    for i, response in enumerate(responses):
        body = response.get("json") if isinstance(response, dict) else None
        things = _get(_get(body, "data"), "things")
        if not isinstance(things, list):
            errors = _get(body, "errors")
            problem = 'expected {"json": {"data": {"things": [...]}}}'
            if errors:
                problem = f"Reddit answered with errors: {_brief(errors)}"
            ctx.report(InputError(path, problem, None, f"[{i}]"))
            continue
        # things come flat, each naming its parent, so there is no place in a tree to check
        _walk(path, [(t, f"[{i}].things[{j}]", None) for j, t in enumerate(things)], parsed, ctx, seen)
    return parsed


def _walk(path: Path, todo: list[tuple[object, str, str | None]], parsed: Parsed, ctx: Context, seen: set[str]) -> int:
    """Append the comments of `todo` (thing, locator, parent fullname its place implies) and
    their replies to `parsed`, depth first, skipping ids in `seen` (which it extends); gives
    the sum of the `more` stubs' counts."""
    held_back = 0
    stack = list(reversed(todo))  # a stack, not recursion: replies may nest arbitrarily deep
    while stack:
        thing, where, expected = stack.pop()
        kind, data = _get(thing, "kind"), _get(thing, "data")
        if kind not in ("t1", "more"):
            ctx.report(InputError(path, f"expected a t1 comment or a more stub, got kind {_brief(kind)}", None, where))
            continue
        if not isinstance(data, dict):
            ctx.report(
                InputError(path, f"`data` of a {kind} thing must be an object, got {_json_type(data)}", None, where)
            )
            continue
        if kind == "more":
            count = data.get("count")
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                ctx.report(InputError(path, "`count` of a more stub must be a non-negative integer", None, where))
            else:
                held_back += count
            continue
        try:
            comment = _comment(path, data, where)
            if expected is not None and data["parent_id"] != expected:
                raise ValueError(f"`parent_id` {data['parent_id']!r} disagrees with its place (a reply to {expected})")
        except ValueError as exc:
            ctx.report(InputError(path, str(exc), None, where))
        else:
            if comment.comment_id not in seen:
                seen.add(comment.comment_id)
                parsed.comments.append(comment)
        replies = data.get("replies")
        if replies in ("", None):
            continue
        children = _children(replies)
        if children is None:
            ctx.report(InputError(path, "`replies` must be a Listing or empty", None, f"{where}.replies"))
            continue
        own = data.get("id")
        parent = f"t1_{own}" if isinstance(own, str) and own else None
        stack.extend((t, f"{where}.replies.children[{i}]", parent) for i, t in reversed(list(enumerate(children))))
    return held_back


def _comment(path: Path, data: dict, where: str) -> Comment:
    """A `t1` thing's data -> Comment; ValueError naming the field when it has the wrong shape."""
    cid = _ident(data, "id")
    body = data.get("body")
    if not isinstance(body, str):
        raise ValueError(f"`body` must be a string, got {_json_type(body)}")
    link = _fullname(data, "link_id", ("t3_",))
    parent = _fullname(data, "parent_id", ("t1_", "t3_"))
    gone = body.strip() in GONE
    return Comment(
        comment_id=f"reddit:{cid}",
        thread_id=link[3:],
        parent_id=f"reddit:{parent[3:]}" if parent.startswith("t1_") else None,
        text="" if gone else ESCAPED.sub(lambda m: ESCAPES[m.group()], body),
        author=_author(data),
        created_at=_time(data),
        url=_url(data, f"/comments/{link[3:]}/_/{cid}/"),
        score=_score(data),
        is_deleted=gone,
        source="reddit",
        source_file=str(path),
        record=where,
    )


def _submission(path: Path, thing: object) -> tuple[Thread, Comment | None]:
    """The `t3` thing -> its Thread, and its selftext as a top-level comment (None when empty)."""
    data = _get(thing, "data")
    if _get(thing, "kind") != "t3" or not isinstance(data, dict):
        raise ValueError("expected the submission (a t3 thing with `data`)")
    sid = _ident(data, "id")
    title, selftext = data.get("title"), data.get("selftext")
    if selftext is not None and not isinstance(selftext, str):
        raise ValueError(f"`selftext` must be a string, got {_json_type(selftext)}")
    url = _url(data, f"/comments/{sid}/")
    thread = Thread(sid, "reddit", title if isinstance(title, str) else None, url)
    if not selftext or not selftext.strip():
        return thread, None
    gone = selftext.strip() in GONE
    post = Comment(
        comment_id=f"reddit:t3_{sid}",
        thread_id=sid,
        text="" if gone else ESCAPED.sub(lambda m: ESCAPES[m.group()], selftext),
        author=_author(data),
        created_at=_time(data),
        url=url,
        score=_score(data),
        is_deleted=gone,
        source="reddit",
        source_file=str(path),
        record="[0].children[0]",
    )
    return thread, post


def _children(listing: object) -> list | None:
    """The `children` of a Listing, or None when `listing` is not one."""
    children = _get(_get(listing, "data"), "children")
    return children if _get(listing, "kind") == "Listing" and isinstance(children, list) else None


def _get(obj: object, key: str) -> object:
    return obj.get(key) if isinstance(obj, dict) else None


def _ident(data: dict, key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"`{key}` must be a non-empty string, got {_json_type(value)}")
    return value


def _fullname(data: dict, key: str, prefixes: tuple[str, ...]) -> str:
    value = _ident(data, key)
    if not value.startswith(prefixes) or len(value) == 3:
        raise ValueError(f"`{key}` must look like {' or '.join(p + 'id' for p in prefixes)}, got {value[:40]!r}")
    return value


def _time(data: dict) -> datetime:
    value = data.get("created_utc")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"`created_utc` must be epoch seconds, got {_json_type(value)}")
    return epoch(value)


def _author(data: dict) -> str | None:
    author = data.get("author")
    return author if isinstance(author, str) and author and author not in GONE else None


def _score(data: dict) -> int | None:
    score = data.get("score")
    return score if isinstance(score, int) and not isinstance(score, bool) else None


def _url(data: dict, fallback: str) -> str:
    """The permalink on reddit.com; older responses have none, so it is built from the ids."""
    permalink = data.get("permalink")
    if isinstance(permalink, str) and permalink.startswith("/"):
        return SITE + permalink
    subreddit = data.get("subreddit")
    prefix = f"/r/{subreddit}" if isinstance(subreddit, str) and subreddit else ""
    return SITE + prefix + fallback


def _brief(value: object) -> str:
    """`value` as short JSON for a message (its type when it cannot be written back)."""
    try:
        text = json.dumps(value)
    except (ValueError, RecursionError):
        return _json_type(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _json_type(value: object) -> str:
    names = {type(None): "null", bool: "a boolean", int: "a number", float: "a number", str: "a string"}
    return names.get(type(value), "a list" if isinstance(value, list) else "an object")
