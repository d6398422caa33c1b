"""Segment: comments -> claims, each with character offsets into its comment.

Quoted (`>`) spans are cut out first: they belong to the quoted author, never the replier.
Repeats of an earlier comment (`duplicate_of`) and deleted comments give no claims: a text
becomes claims once, however often it was posted.
The rest is split into lines (paragraphs), then into sentences by spaCy; units that argue
nothing (UI text such as `1 reply →`, bare links, one-word replies) are dropped.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import polars as pl

from stancemap.config import SegmentParams
from stancemap.errors import StancemapError
from stancemap.io import read_table, write_table
from stancemap.progress import say, track
from stancemap.schemas import CLAIMS, SEGMENT_CACHE

URL = re.compile(r"https?://\S+|www\.\S+")
WORD = re.compile(r"[^\W\d_]{2,}")  # a word of letters, any script
UI_NOISE = re.compile(
    r"^(\d+\s+(repl(y|ies)|comments?|points?)\s*(→|->)?|reply|share|report|save|permalink|"
    r"\[deleted\]|\[removed\]|load more comments.*|show more.*|continue this thread.*)$",
    re.IGNORECASE,
)
MAX_PIECE = 100_000  # spaCy works on pieces of at most this many characters
# "1) ", "2a. ", "* ", "- " at the start of a unit: list markers, not part of the claim
LIST_MARKER = re.compile(r"^(?:\(?\d{1,2}[a-z]?[).:]|[*•\-–])\s+")
# discourse markers that open a unit but belong to no claim: "So, X" argues X
OPENER = re.compile(
    r"^(?:so|and|but|also|moreover|however|therefore|thus|hence|furthermore|additionally|plus|"
    r"first(?:ly)?|second(?:ly)?|third(?:ly)?|finally|lastly|well|ok|okay|anyway|basically|"
    r"in short|in fact|of course|that said|on the other hand|for example|for instance)\b[,:]?\s+",
    re.IGNORECASE,
)
# where one sentence holds two claims: "X, but Y", "X; Y", "X, since Y" (Y then supports X).
# "X because Y" stays one unit: on the ChangeMyView gold it is annotated whole more often than not.
CLAUSE_BREAK = re.compile(
    r"\s*[,;]\s*(?:but|whereas|while|although|though|yet)\s+|\s*;\s*|\s+but\s+|"
    r"(?P<reason>\s*,\s*since\s+)",
    re.IGNORECASE,
)


def load_nlp(name: str):
    """`blank` -> spacy.blank("en") + sentencizer; otherwise an installed spaCy package."""
    import spacy

    if name == "blank":
        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
    else:
        try:
            nlp = spacy.load(name, exclude=["ner", "lemmatizer", "textcat"])
        except OSError:
            raise StancemapError(
                f"segment.spacy_model: spaCy package {name!r} is not installed (use 'blank', "
                "or pip install the package)"
            ) from None
    nlp.max_length = MAX_PIECE + 1
    return nlp


def own_regions(text: str, quotes: list[dict]) -> list[tuple[int, int]]:
    """The parts of `text` outside quoted spans, split at line breaks and capped in length."""
    cuts = sorted((q["start"], q["end"]) for q in quotes or [])
    regions, pos = [], 0
    for start, end in [*cuts, (len(text), len(text))]:
        if start > pos:
            regions.append((pos, start))
        pos = max(pos, end)
    pieces = []
    for start, end in regions:
        for m in re.finditer(r"[^\n]+", text[start:end]):
            s, e = start + m.start(), start + m.end()
            for cut in range(s, e, MAX_PIECE):
                pieces.append((cut, min(cut + MAX_PIECE, e)))
    return pieces


def argues_something(unit: str, params: SegmentParams) -> bool:
    if len(unit) < params.min_chars or UI_NOISE.match(unit.strip()):
        return False
    return len(WORD.findall(URL.sub(" ", unit))) >= params.min_words


def _strip_openers(text: str, start: int, end: int) -> int:
    """New start after list markers and discourse openers ("1) So, X" -> "X")."""
    while True:
        m = LIST_MARKER.match(text, start, end) or OPENER.match(text, start, end)
        if not m or m.end() >= end:
            return start
        start = m.end()


def units_of(text: str, params: SegmentParams) -> list[tuple[int, int, str]]:
    """(start, end, kind) of the units in one sentence: split at clause breaks where both sides
    stand on their own (at least `clause_min_words` words each); kind is question, premise or claim."""
    start, end = 0, len(text.rstrip())
    start = len(text) - len(text.lstrip())
    if params.strip_openers:
        start = _strip_openers(text, start, end)
    bounds = [(start, end, False)]
    if params.split_clauses:
        bounds = []
        pos, reason = start, False
        for m in CLAUSE_BREAK.finditer(text, start, end):
            left, right = text[pos : m.start()], text[m.end() : end]
            if min(len(WORD.findall(left)), len(WORD.findall(right))) >= params.clause_min_words:
                bounds.append((pos, m.start(), reason))
                pos, reason = m.end(), m.group("reason") is not None
        bounds.append((pos, end, reason))
    units = []
    for s, e, is_reason in bounds:
        if params.strip_openers:
            s = _strip_openers(text, s, e)
        while e > s and text[e - 1] in " ,;:":
            e -= 1
        kind = (
            "question"
            if text[s:e].endswith("?") or text[e:end].lstrip().startswith("?")
            else ("premise" if is_reason else "claim")
        )
        units.append((s, e, kind))
    return units


def units_by_row(comments: pl.DataFrame, nlp, params: SegmentParams) -> list[list[tuple[int, int, str]]]:
    """(start, end, kind) of every claim in each comment, offsets into the comment's text."""
    texts = comments["text"].to_list()
    skip = (comments["duplicate_of"].is_not_null() | comments["is_deleted"]).to_list()
    pieces: list[tuple[int, int, int]] = []  # (comment row, start, end)
    for row, (text, quotes) in enumerate(zip(texts, comments["quotes"].to_list(), strict=True)):
        if not skip[row]:
            pieces.extend((row, s, e) for s, e in own_regions(text, quotes))
    piece_texts = (texts[row][s:e] for row, s, e in pieces)
    docs = nlp.pipe(piece_texts, batch_size=params.batch_size)
    units: list[list[tuple[int, int, str]]] = [[] for _ in texts]
    for (row, base, _), doc in track(zip(pieces, docs, strict=True), len(pieces), "segment"):
        for sent in doc.sents:
            for s, e, kind in units_of(sent.text, params):
                unit = sent.text[s:e]
                if not unit or not argues_something(unit, params):
                    continue
                if kind == "question" and params.drop_questions:
                    continue
                start = base + sent.start_char + s
                units[row].append((start, start + len(unit), kind))
    return units


def claims_table(comments: pl.DataFrame, units: list[list[tuple[int, int, str]]]) -> pl.DataFrame:
    """Claims (schema CLAIMS) from each comment's units, in comment order, then text order."""
    out: dict[str, list] = {name: [] for name in CLAIMS}
    for cid, text, found in zip(comments["comment_id"].to_list(), comments["text"].to_list(), units, strict=True):
        for n, (start, end, kind) in enumerate(found):
            out["claim_id"].append(f"{cid}#{n}")
            out["comment_id"].append(cid)
            out["position"].append(n)
            out["start"].append(start)
            out["end"].append(end)
            out["text"].append(text[start:end])
            out["kind"].append(kind)
    return pl.DataFrame(out, schema=CLAIMS)


def segment(comments: pl.DataFrame, nlp, params: SegmentParams) -> pl.DataFrame:
    """Claims (schema CLAIMS) of every comment, in comment order, then text order."""
    return claims_table(comments, units_by_row(comments, nlp, params))


# --- the cache: a comment's claims depend only on its text, its quotes, whether it is skipped,
# the params, spaCy and this module's code, so a rerun segments only comments it has not seen.


def fingerprint(params: SegmentParams) -> str:
    """Everything besides the comment that decides its claims; any change misses the whole cache."""
    from importlib.metadata import PackageNotFoundError, version

    # the installed package's version, as spacy.util.get_package_version gives it, without
    # importing spaCy (seconds) when every comment comes from the cache
    model: str | None = "blank"
    if params.spacy_model != "blank":
        try:
            model = version(params.spacy_model)
        except PackageNotFoundError:
            model = None
    parts = [hashlib.sha256(Path(__file__).read_bytes()).hexdigest(), version("spacy"), params.spacy_model, str(model)]
    parts += [f"{k}={v}" for k, v in sorted(params.model_dump().items()) if k != "batch_size"]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def comment_keys(comments: pl.DataFrame, params: SegmentParams) -> list[str]:
    base = fingerprint(params)
    skip = (comments["duplicate_of"].is_not_null() | comments["is_deleted"]).to_list()
    keys = []
    for text, quotes, skipped in zip(comments["text"].to_list(), comments["quotes"].to_list(), skip, strict=True):
        spans = ",".join(f"{q['start']}:{q['end']}" for q in sorted(quotes or [], key=lambda q: (q["start"], q["end"])))
        keys.append(hashlib.sha256(f"{base}\0{int(skipped)}\0{spans}\0{text}".encode()).hexdigest())
    return keys


# finds the claim spans of some comments, keyed by their cache keys (the Ray engine passes its own)
UnitFinder = Callable[[pl.DataFrame, list[str]], dict[str, list]]


def segment_cached(
    comments: pl.DataFrame,
    params: SegmentParams,
    cache: dict[str, list],
    nlp=None,
    find_units: UnitFinder | None = None,
) -> tuple[pl.DataFrame, int]:
    """Claims of `comments`, segmenting only comments whose key is not in `cache` (which gains
    them), each distinct key once. Returns (claims, number of comments segmented); spaCy loads, or
    `find_units` is called, only when one is needed."""
    keys = comment_keys(comments, params)
    todo: dict[str, int] = {}  # key -> first row holding it
    for row, key in enumerate(keys):
        if key not in cache:
            todo.setdefault(key, row)
    if todo:
        say(f"segment: {len(todo)} new comment(s), {len(set(keys)) - len(todo)} from the cache")
        fresh, new_keys = comments[list(todo.values())], list(todo)
        if find_units is None:
            found = units_by_row(fresh, nlp if nlp is not None else load_nlp(params.spacy_model), params)
            cache.update(zip(new_keys, found, strict=True))
        else:
            cache.update(find_units(fresh, new_keys))
    return claims_table(comments, [cache[k] for k in keys]), len(todo)


def read_cache(path: Path | None) -> dict[str, list]:
    if path is None or not path.exists():
        return {}
    table = read_table(path, "segment_cache")
    return {
        key: [(u["start"], u["end"], u["kind"]) for u in units]
        for key, units in zip(table["key"].to_list(), table["units"].to_list(), strict=True)
    }


def write_cache(cache: dict[str, list], path: Path) -> None:
    keys = sorted(cache)
    units = [[{"start": s, "end": e, "kind": k} for s, e, k in cache[key]] for key in keys]
    write_table(pl.DataFrame({"key": keys, "units": units}, schema=SEGMENT_CACHE), path, "segment_cache")


def run(
    params: SegmentParams,
    *,
    comments: str | Path,
    out: str | Path,
    cache: str | Path | None = None,
    find_units: UnitFinder | None = None,
) -> pl.DataFrame:
    """Segment the `comments` table into the claims table `out`, reusing and filling `cache`."""
    cache_file = Path(cache) if cache else None
    table = read_table(comments, "comments")
    known = read_cache(cache_file)
    claims, segmented = segment_cached(table, params, known, find_units=find_units)
    write_table(claims, out, "claims")
    if cache_file is not None and segmented:
        write_cache(known, cache_file)
    return claims
