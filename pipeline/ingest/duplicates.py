"""Repeated comments: the same text posted (or copied into a dump) more than once.

Every comment stays in the table so the reply tree stays whole; a repeat points at the first
occurrence through `duplicate_of`, so its text becomes claims once, and `repeats` says how many
times the text appears. Texts count as the same when they match after case, punctuation and
spacing are set aside; short texts ("+1", "This.") are never called duplicates, since many
people say them independently.
"""

from __future__ import annotations

import re

MIN_KEY_CHARS = 30
_NON_WORD = re.compile(r"[\W_]+")


def key(text: str) -> str:
    return _NON_WORD.sub(" ", text.lower()).strip()


def find_duplicates(texts: list[str]) -> tuple[list[int | None], list[int]]:
    """(row of the first occurrence for each repeat, else None; occurrences of each row's text)."""
    first: dict[str, int] = {}
    # a text shorter than the threshold cannot have a long enough key: skip the regex for it
    keys = [key(t) if len(t) >= MIN_KEY_CHARS else "" for t in texts]
    duplicate_of: list[int | None] = []
    for row, k in enumerate(keys):
        if len(k) < MIN_KEY_CHARS:
            duplicate_of.append(None)
            continue
        duplicate_of.append(first.get(k))
        first.setdefault(k, row)
    counts: dict[str, int] = {}
    for k in keys:
        counts[k] = counts.get(k, 0) + 1
    repeats = [counts[k] if len(k) >= MIN_KEY_CHARS else 1 for k in keys]
    return duplicate_of, repeats
