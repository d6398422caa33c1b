"""Ingest throughput per reader, against bare parsing of the same bytes.

    python bench/ingest.py [--sizes 1000 100000] [--repeat 3]

Builds inputs from ../shared/fixtures/hn/hn-comments-1000-sample.jsonl: the sample itself (HN
Firebase items) and, for larger sizes, copies of it with ids offset per copy; then writes the
same comments as generic JSONL, CSV, Parquet and a plain-text dump, and times each reader.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from stancemap.ingest import ingest
from stancemap.ingest.base import Context

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO.parent / "shared" / "fixtures" / "hn" / "hn-comments-1000-sample.jsonl"


def build(n: int) -> list[dict]:
    base = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    items = []
    for copy in range((n + len(base) - 1) // len(base)):
        offset = copy * 10**9
        for item in base:
            clone = dict(item)
            clone["id"] = str(int(item["id"]) + offset)
            if item.get("parent"):
                clone["parent"] = str(int(item["parent"]) + offset)
            items.append(clone)
    return items[:n]


def write_inputs(items: list[dict], folder: Path) -> dict[str, Path]:
    hn = folder / "hn.jsonl"
    hn.write_text("".join(json.dumps(i) + "\n" for i in items), encoding="utf-8")
    ids = {i["id"] for i in items}
    rows = [
        {
            "id": i["id"],
            "parent": i.get("parent") if i.get("parent") in ids else None,
            "author": i.get("by"),
            "time": int(i["time"]),
            "text": i.get("text") or "",
        }
        for i in items
    ]
    generic = folder / "generic.jsonl"
    generic.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    frame = pl.DataFrame(
        rows, schema={"id": pl.Utf8, "parent": pl.Utf8, "author": pl.Utf8, "time": pl.Int64, "text": pl.Utf8}
    )
    frame.write_csv(folder / "table.csv")
    frame.write_parquet(folder / "table.parquet")
    (folder / "dump.txt").write_text(
        "".join(r["text"].replace("\n", " ") + "\n" for r in rows if r["text"].strip()), encoding="utf-8"
    )
    return {
        "hn": hn,
        "jsonl": generic,
        "csv": folder / "table.csv",
        "parquet": folder / "table.parquet",
        "text": folder / "dump.txt",
    }


def bare_parse(fmt: str, path: Path) -> int:
    if fmt in ("hn", "jsonl"):
        return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if json.loads(line))
    if fmt == "csv":
        return pl.read_csv(path, infer_schema=False).height
    if fmt == "parquet":
        return pl.read_parquet(path).height
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def best(fn, repeat: int) -> tuple[float, int]:
    times, result = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not SAMPLE.exists():
        sys.exit(f"{SAMPLE} is missing: the benchmark reads ../shared beside the repository")
    print(f"{'size':>7} {'reader':<8} {'comments':>9} {'stancemap c/s':>14} {'bare parse c/s':>15} {'ratio':>6}")
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            inputs = write_inputs(build(n), Path(tmp))
            for fmt, path in inputs.items():
                seconds, count = best(lambda path=path, fmt=fmt: ingest([path], fmt, Context())[0].height, args.repeat)
                bare_seconds, _ = best(lambda path=path, fmt=fmt: bare_parse(fmt, path), args.repeat)
                ours, peer = count / seconds, count / bare_seconds
                print(f"{n:>7} {fmt:<8} {count:>9} {ours:>14,.0f} {peer:>15,.0f} {ours / peer:>6.2f}")


if __name__ == "__main__":
    main()
