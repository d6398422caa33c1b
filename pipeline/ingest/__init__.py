"""Ingest: thread files in any supported format -> one comments table (and a threads table).

Readers live one per module and register in READERS; `--format` forces one, otherwise each
file is matched by its ending and by sniffing its first bytes. After reading, the reply tree is
checked across all files, `>` quotes are linked to the comments they quote, and repeated texts
are marked.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
from pathlib import Path

import polars as pl

from stancemap.config import IngestParams
from stancemap.errors import InputError, StancemapError
from stancemap.ingest.base import (
    Comment,
    Context,
    Reader,
    Thread,
    check_tree,
    clean,
    depths,
    gunzip,
    inner_suffix,
    too_big,
)
from stancemap.ingest.duplicates import find_duplicates
from stancemap.ingest.hn import HackerNewsReader
from stancemap.ingest.jsonl import JsonlReader
from stancemap.ingest.plaintext import PlainTextReader
from stancemap.ingest.quotes import link_quotes, own_text
from stancemap.ingest.reddit import RedditReader
from stancemap.ingest.table import CsvReader, ParquetReader
from stancemap.io import write_table, write_text
from stancemap.schemas import COMMENTS, SOURCES, THREADS

# order matters where endings overlap: specific formats sniff first, generic ones last
READERS: dict[str, Reader] = {
    r.name: r
    for r in (HackerNewsReader(), RedditReader(), JsonlReader(), CsvReader(), ParquetReader(), PlainTextReader())
}
SNIFF_BYTES = 4096
IGNORED_ENDINGS = (".provenance.json",)  # written by `stancemap fetch` beside each thread


def _not_a_thread_file(path: Path) -> str | None:
    """Why `path` cannot be read as a thread file or folder, or None when it can."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link loop (the link points, through others, back to itself)"
        if path.is_symlink():
            return f"a symbolic link to {os.readlink(path)!r}, which does not exist"
        return "no such file or folder" if exc.errno == errno.ENOENT else f"cannot read it: {exc.strerror}"
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    kind = "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
    return f"{kind}, not a regular file; save the threads to a file first"


def expand_inputs(inputs: list[str | Path]) -> list[Path]:
    """Files as given, folders as the sorted files below them that some reader claims."""
    suffixes = {s for r in READERS.values() for s in r.suffixes}
    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        if (problem := _not_a_thread_file(path)) is not None:
            raise StancemapError(f"{path}: {problem}")
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if inner_suffix(p) in suffixes
                and not p.name.startswith(".")
                and not p.name.endswith(IGNORED_ENDINGS)
                and not p.is_dir()
            )
            for p in found:  # a thread file's name on a FIFO or a broken link: say so, never skip it
                if (problem := _not_a_thread_file(p)) is not None:
                    raise StancemapError(f"{p}: {problem}")
            if not found:
                raise StancemapError(f"{path}: no thread files ({', '.join(sorted(suffixes))}) in this folder")
            files.extend(found)
        else:
            files.append(path)
    return files


def detect(path: Path, head: bytes, fmt: str = "auto") -> Reader:
    """The reader for a file: forced by `fmt`, else by ending and content."""
    if fmt != "auto":
        if fmt not in READERS:
            raise StancemapError(f"unknown format {fmt!r}; known: auto, {', '.join(READERS)}")
        return READERS[fmt]
    suffix = inner_suffix(path)
    claimed = [r for r in READERS.values() if suffix in r.suffixes]
    for reader in claimed:
        if reader.sniff(path, head):
            return reader
    if len(claimed) == 1 or (claimed and claimed[-1].name in ("jsonl", "csv", "text")):
        return claimed[-1]  # the ending decides; a broken file then gets that reader's precise error
    if not claimed:
        for reader in READERS.values():
            if reader.sniff(path, head):
                return reader
    kinds = ", ".join(r.name for r in claimed) if claimed else ", ".join(READERS)
    raise InputError(path, f"unknown format (not {kinds}); use --format to choose one")


def read_file(
    path: Path, ctx: Context, fmt: str = "auto", sources: list[dict] | None = None, limits: IngestParams | None = None
):
    """Parse one file; when `sources` is given, append the file's provenance to it."""
    limit = (limits or IngestParams()).max_input_mb * 2**20
    try:
        if path.stat().st_size > limit:  # refused before it is read
            raise InputError(path, too_big(path.stat().st_size, limit))
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror}") from None
    data = gunzip(path, raw, limit)
    if not data or data.isspace():  # no copy of a file of blanks
        raise InputError(path, "empty file: no comments")
    reader = detect(path, data[:SNIFF_BYTES], fmt)
    parsed = reader.read(path, data, ctx)
    if not parsed.comments and not ctx.skipped:
        raise InputError(path, "no comments found")
    if sources is not None:
        sources.append(
            {
                "source_file": str(path),
                "reader": reader.name,
                "sha256": hashlib.sha256(raw).hexdigest(),
                "bytes": len(raw),
            }
        )
    return parsed


def _threads(comments: list[Comment], threads: list[Thread]) -> pl.DataFrame:
    info: dict[str, Thread] = {}
    for t in threads:
        if t.thread_id in info:
            info[t.thread_id].held_back += t.held_back
            info[t.thread_id].title = info[t.thread_id].title or t.title
            info[t.thread_id].url = info[t.thread_id].url or t.url
        else:
            info[t.thread_id] = Thread(t.thread_id, t.source, t.title, t.url, t.held_back)
    counts: dict[str, int] = {}
    for c in comments:
        counts[c.thread_id] = counts.get(c.thread_id, 0) + 1
        info.setdefault(c.thread_id, Thread(c.thread_id, c.source))
    rows = [
        {
            "thread_id": t.thread_id,
            "source": t.source,
            "title": t.title,
            "url": t.url,
            "n_comments": counts.get(t.thread_id, 0),
            "held_back": t.held_back,
        }
        for t in info.values()
    ]
    return pl.DataFrame(rows, schema=THREADS) if rows else pl.DataFrame(schema=THREADS)


def ingest(
    files: list[Path],
    fmt: str = "auto",
    ctx: Context | None = None,
    sources: list[dict] | None = None,
    limits: IngestParams | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read every file into (comments table, threads table); schemas COMMENTS and THREADS.
    When `sources` is given, each file read gets a provenance row there (see `sources_table`).
    Control characters are removed from texts, authors and titles; a comment over
    `limits.max_comment_chars` is a bad record."""
    ctx = ctx or Context()
    limits = limits or IngestParams()
    comments: list[Comment] = []
    threads: list[Thread] = []
    for path in files:
        try:
            parsed = read_file(path, ctx, fmt, sources, limits)
        except InputError as exc:
            ctx.report(exc)  # with --skip-bad a file that cannot be read at all is skipped whole
            continue
        comments.extend(_within(parsed.comments, limits.max_comment_chars, ctx))
        for t in parsed.threads:
            t.title = clean(t.title)
        threads.extend(parsed.threads)
    comments = check_tree(comments, ctx)
    if not comments:
        raise StancemapError("no comments to ingest" + (" (every record was skipped)" if ctx.skipped else ""))
    depth = depths(comments)
    quotes = link_quotes(comments)
    duplicate_rows, repeats = find_duplicates([own_text(c.text, q) for c, q in zip(comments, quotes, strict=True)])
    table = pl.DataFrame(
        {
            "comment_id": [c.comment_id for c in comments],
            "thread_id": [c.thread_id for c in comments],
            "parent_id": [c.parent_id for c in comments],
            "depth": [depth[c.comment_id] for c in comments],
            "author": [c.author for c in comments],
            "created_at": [c.created_at for c in comments],
            "text": [c.text for c in comments],
            "quotes": _quotes_column(quotes),
            "url": [c.url for c in comments],
            "score": [c.score for c in comments],
            "is_deleted": [c.is_deleted for c in comments],
            "duplicate_of": [None if r is None else comments[r].comment_id for r in duplicate_rows],
            "repeats": repeats,
            "source": [c.source for c in comments],
            "source_file": [c.source_file for c in comments],
            "source_line": [c.source_line for c in comments],
        },
        schema=COMMENTS,
    )
    return table, _threads(comments, threads)


def _within(comments: list[Comment], limit: int, ctx: Context) -> list[Comment]:
    """Comments no longer than `limit` characters, with control characters removed; a longer one
    is reported (refused, or skipped and logged with --skip-bad), never cut silently."""
    kept = []
    for c in comments:
        if len(c.text) > limit:
            where = c.record or (None if c.source_line else c.comment_id)
            ctx.report(
                InputError(
                    c.source_file,
                    f"comment {c.comment_id!r} is {len(c.text):,} characters, over ingest.max_comment_chars "
                    f"({limit:,}); raise it with --set ingest.max_comment_chars=N, or --skip-bad to leave it out",
                    c.source_line,
                    where,
                )
            )
            continue
        c.text, c.author = clean(c.text), clean(c.author)
        kept.append(c)
    return kept


def _quotes_column(quotes: list[list[dict]]) -> pl.Series:
    """The nested quotes column, built from flat arrays (per-row construction is slow)."""
    import pyarrow as pa

    offsets, starts, ends, targets = [0], [], [], []
    for spans in quotes:
        for q in spans:
            starts.append(q["start"])
            ends.append(q["end"])
            targets.append(q["quoted_id"])
        offsets.append(len(starts))
    struct = pa.StructArray.from_arrays(
        [pa.array(starts, pa.int32()), pa.array(ends, pa.int32()), pa.array(targets, pa.string())],
        names=["start", "end", "quoted_id"],
    )
    return pl.Series("quotes", pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), struct)).cast(COMMENTS["quotes"])


def sources_table(sources: list[dict], comments: pl.DataFrame) -> pl.DataFrame:
    """Provenance of every input file: reader, sha256, size and comments kept from it."""
    counts = dict(comments.group_by("source_file").len().iter_rows())
    rows = [{**s, "n_comments": counts.get(s["source_file"], 0)} for s in sources]
    return pl.DataFrame(rows, schema=SOURCES) if rows else pl.DataFrame(schema=SOURCES)


def run(
    params: IngestParams | None = None,
    *,
    inputs: list[str | Path],
    out: str | Path,
    threads: str | Path | None = None,
    sources: str | Path | None = None,
    fmt: str = "auto",
    skip_bad: bool = False,
    field_map: dict[str, str] | None = None,
) -> pl.DataFrame:
    """Read the thread files or folders `inputs` into the comments table `out`, and the `threads`
    and `sources` tables beside it, within the limits of `params` (the ingest section)."""
    ctx = Context(skip_bad=skip_bad, field_map=field_map)
    provenance: list[dict] = []
    comments, thread_table = ingest(expand_inputs(inputs), fmt, ctx, provenance, params)
    write_table(comments, out, "comments")
    if threads is not None:
        write_table(thread_table, threads, "threads")
    if sources is not None:
        write_table(sources_table(provenance, comments), sources, "sources")
    log = skip_log_path(out)
    if skip_bad:
        write_text("".join(_log_line(e) for e in ctx.skipped), log)
    return comments


def skip_log_path(out: str | Path) -> Path:
    """Where --skip-bad records what it skipped: beside the output, `<name>.skipped.jsonl`."""
    out = Path(out)
    return out.with_name(out.name + ".skipped.jsonl")


def _log_line(error: InputError) -> str:
    entry = {"file": error.path, "line": error.line, "record": error.record, "problem": error.problem}
    return json.dumps(entry, ensure_ascii=False) + "\n"
