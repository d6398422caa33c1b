"""Ingest: thread files in any supported format -> one comments table.

Readers live one per module and register here; `--format` forces one, otherwise each file is
matched by its ending and then by sniffing its first bytes.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.errors import InputError, StancemapError
from pipeline.ingest.base import Comment, Reader, decode, resolve_tree
from pipeline.ingest.jsonl import JsonlReader
from pipeline.ingest.plaintext import PlainTextReader
from pipeline.io import write_table
from pipeline.schemas import COMMENTS

READERS: dict[str, Reader] = {r.name: r for r in (JsonlReader(), PlainTextReader())}
SNIFF_BYTES = 4096


def expand_inputs(inputs: list[str | Path]) -> list[Path]:
    """Files as given, folders as the sorted files below them that some reader claims."""
    suffixes = {s for r in READERS.values() for s in r.suffixes}
    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in suffixes and not p.name.startswith(".")
            )
            if not found:
                raise StancemapError(f"{path}: no thread files ({', '.join(sorted(suffixes))}) in this folder")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise StancemapError(f"{path}: no such file or folder")
    return files


def detect(path: Path, head: str, fmt: str = "auto") -> Reader:
    if fmt != "auto":
        if fmt not in READERS:
            raise StancemapError(f"unknown format {fmt!r}; known: auto, {', '.join(READERS)}")
        return READERS[fmt]
    for reader in READERS.values():
        if path.suffix.lower() in reader.suffixes:
            return reader  # the ending decides; a broken file then gets that reader's precise error
    for reader in READERS.values():
        if reader.sniff(path, head):
            return reader
    raise InputError(path, f"unknown format; use --format with one of: {', '.join(READERS)}")


def read_file(path: Path, fmt: str = "auto") -> list[Comment]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror}") from None
    text = decode(path, data)
    if not text.strip():
        raise InputError(path, "empty file: no comments")
    reader = detect(path, text[:SNIFF_BYTES], fmt)
    comments = reader.read(path, text)
    if not comments:
        raise InputError(path, "no comments found")
    resolve_tree(comments, str(path))
    return comments


def ingest(files: list[Path], fmt: str = "auto") -> pl.DataFrame:
    """Read every file into one comments table (schema `pipeline.schemas.COMMENTS`)."""
    comments: list[Comment] = []
    owner: dict[str, Path] = {}
    for path in files:
        for c in read_file(path, fmt):
            if c.comment_id in owner:
                raise InputError(path, f"comment id {c.comment_id!r} is also in {owner[c.comment_id]}", c.source_line)
            owner[c.comment_id] = path
            comments.append(c)
    depth = resolve_tree(comments, "inputs")
    rows = {name: [] for name in COMMENTS}
    for c in comments:
        rows["comment_id"].append(c.comment_id)
        rows["thread_id"].append(c.thread_id)
        rows["parent_id"].append(c.parent_id)
        rows["depth"].append(depth[c.comment_id])
        rows["author"].append(c.author)
        rows["created_at"].append(c.created_at)
        rows["text"].append(c.text)
        rows["quotes"].append(c.quotes)
        rows["url"].append(c.url)
        rows["source"].append(c.source)
        rows["source_file"].append(c.source_file)
        rows["source_line"].append(c.source_line)
    return pl.DataFrame(rows, schema=COMMENTS)


def run(inputs: list[str | Path], out: str | Path, fmt: str = "auto") -> pl.DataFrame:
    comments = ingest(expand_inputs(inputs), fmt)
    write_table(comments, out, "comments")
    return comments
