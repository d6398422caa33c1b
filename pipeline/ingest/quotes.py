"""`>` quotes: find the quoted spans of each comment and, when the quoted comment is in the
thread, link the span to it, so later stages credit the quoted author, never the replier.

The quoted comment is looked for first among the replier's ancestors, then among the earlier
comments of the same thread (plain-text dumps have no reply links): an exact match of the
normalised text first (ancestors and the 500 nearest earlier comments), then a fuzzy one
(rapidfuzz partial ratio; ancestors and the 5 nearest) for quotes that were trimmed or retyped.
"""

from __future__ import annotations

import re

from stancemap.ingest.base import Comment, quote_spans

MIN_QUOTE_CHARS = 12  # shorter quotes ("> yes") match too much to link
FUZZY_CUTOFF = 90.0
MAX_CANDIDATES = 500  # earlier comments searched exactly per quote, nearest first (bounds the cost)
MAX_FUZZY = 5  # of those, the nearest also searched fuzzily (partial ratio costs ~0.3 ms on long texts)
_SPACE = re.compile(r"\s+")
_QUOTE_MARK = re.compile(r"^[ \t]*(?:>|&gt;)[ \t]?", re.MULTILINE)


def normalise(text: str) -> str:
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    return _SPACE.sub(" ", text).strip().lower()


def own_text(text: str, spans: list[dict]) -> str:
    """The comment's text without its quoted spans."""
    parts, pos = [], 0
    for span in spans:
        parts.append(text[pos : span["start"]])
        pos = span["end"]
    parts.append(text[pos:])
    return "\n".join(parts)


def link_quotes(comments: list[Comment]) -> list[list[dict]]:
    """For each comment, its quote spans as {start, end, quoted_id} (quoted_id None when the
    quoted comment is not in the input)."""
    from rapidfuzz import fuzz, process

    spans = [quote_spans(c.text) for c in comments]
    owns: dict[int, str] = {}  # normalised own text, computed only for comments searched

    def own(i: int) -> str:
        if i not in owns:
            owns[i] = normalise(own_text(comments[i].text, spans[i]))
        return owns[i]

    index = {c.comment_id: i for i, c in enumerate(comments)}
    earlier: dict[str, list[int]] = {}  # thread -> rows seen so far
    result: list[list[dict]] = []
    for row, (c, cspans) in enumerate(zip(comments, spans, strict=True)):
        linked = []
        for span in cspans:
            quoted = normalise(_QUOTE_MARK.sub("", c.text[span["start"] : span["end"]]))
            target = None
            if len(quoted) >= MIN_QUOTE_CHARS:
                ancestors = []
                parent = c.parent_id
                while parent is not None and parent in index and len(ancestors) < 50:
                    ancestors.append(index[parent])
                    parent = comments[index[parent]].parent_id
                before = earlier.get(c.thread_id, [])[-MAX_CANDIDATES:][::-1]
                candidates = list(dict.fromkeys(ancestors + before))
                target = next((i for i in candidates if quoted in own(i)), None)
                fuzzy = candidates[: len(ancestors) + MAX_FUZZY]
                if target is None and fuzzy:
                    best = process.extractOne(
                        quoted, [own(i) for i in fuzzy], scorer=fuzz.partial_ratio, score_cutoff=FUZZY_CUTOFF
                    )
                    target = fuzzy[best[2]] if best else None
            linked.append({**span, "quoted_id": None if target is None else comments[target].comment_id})
        result.append(linked)
        earlier.setdefault(c.thread_id, []).append(row)
    return result
