"""Spreadsheet-like tables: CSV/TSV and Parquet, one comment per row, columns named by
`--map` (see records.py). Rows are numbered from 1, after the header."""

from __future__ import annotations

import io
import re
from pathlib import Path

import polars as pl

from stancemap.errors import InputError
from stancemap.ingest.base import Context, Parsed, decode
from stancemap.ingest.records import comment_from_record, missing_required

_HEADER_NAME = re.compile(rb'^\s*"?[A-Za-z_][\w .-]{0,63}"?\s*$')
_SYSTEM = (KeyboardInterrupt, SystemExit, GeneratorExit)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


def _rows(reader_name: str, path: Path, columns: list[str], records, ctx: Context) -> Parsed:
    missing = missing_required(set(columns), ctx.field_map)
    if missing:
        raise InputError(
            path,
            f"missing column(s) {', '.join(missing)}; columns are {', '.join(columns)[:200]} (use --map FIELD=COLUMN)",
        )
    parsed = Parsed()
    for number, record in enumerate(records, start=1):
        try:
            parsed.comments.append(
                comment_from_record(record, ctx.field_map, path, reader_name, locator=f"row {number}")
            )
        except ValueError as exc:
            ctx.report(InputError(path, str(exc), record=f"row {number}"))
    return parsed


class CsvReader:
    name = "csv"
    suffixes = (".csv", ".tsv")

    def sniff(self, path: Path, head: bytes) -> bool:
        """A header line of two or more column names."""
        first = head.split(b"\n", 1)[0].strip()
        fields = re.split(rb"[,\t]", first)
        return len(fields) >= 2 and all(_HEADER_NAME.match(f) for f in fields)

    def read(self, path: Path, data: bytes, ctx: Context) -> Parsed:
        text = decode(path, data)
        separator = "\t" if path.name.lower().removesuffix(".gz").endswith(".tsv") else ","
        try:
            frame = pl.read_csv(io.StringIO(text), separator=separator, infer_schema=False, quote_char='"')
        except _SYSTEM:
            raise
        except BaseException as exc:  # ComputeError, NoDataError, ... or a panic from native code
            raise InputError(path, f"not a readable CSV table: {_first_line(exc)}") from None
        return _rows(self.name, path, frame.columns, frame.iter_rows(named=True), ctx)


class ParquetReader:
    name = "parquet"
    suffixes = (".parquet",)

    def sniff(self, path: Path, head: bytes) -> bool:
        return head.startswith(b"PAR1")

    def read(self, path: Path, data: bytes, ctx: Context) -> Parsed:
        import pyarrow.parquet as pq

        # pyarrow, not polars, decodes here, and validates every value (UTF-8 included): a
        # corrupt file is then an error, where polars can panic on the bad bytes
        try:
            table = pq.read_table(io.BytesIO(data))
            table.validate(full=True)
            records = table.to_pylist()
        except _SYSTEM:
            raise
        except BaseException as exc:  # ArrowInvalid, OSError, ... or a panic from native code
            raise InputError(path, f"not a readable Parquet file: {_first_line(exc)}") from None
        return _rows(self.name, path, table.column_names, records, ctx)
