"""Re-create the text of the hand-labelled forum stance set from ../shared.

`data/eval/forum_stance_labels.csv` holds 100 claims of real Hacker News and Reddit threads as
references only (claim id, sha256 of the claim text, fixture file, proposition, stance, note): the
fixtures' text is not copied into the repository. This script runs the product's own ingest and
segment (default params, as `stancemap ingest` + `stancemap segment` with no params.yaml) on the
fixture files the labels name, looks up each claim id, checks the sha256 of its text, and writes
`proposition,text,stance` rows, ready for `stancemap evaluate stance OUT.csv`.

    python bench/forum_stance.py OUT.csv [--shared ../shared] [--labels data/eval/forum_stance_labels.csv]

It stops with a message naming every claim id that is missing or whose text no longer hashes the
same (a change in the readers or the segmenter moves claims), and exits when ../shared is absent.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

LABELS = REPO / "data" / "eval" / "forum_stance_labels.csv"
SHARED = REPO.parent / "shared"
COLUMNS = ("claim_id", "text_sha256", "source", "proposition", "stance", "note")


class RegenerateError(Exception):
    """The set cannot be re-created as labelled (absent inputs, missing claims, changed text)."""


def read_labels(path: Path = LABELS) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise RegenerateError(f"{path}: expected columns {','.join(COLUMNS)}, got {reader.fieldnames}")
        return list(reader)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def claim_texts(files: list[Path]) -> dict[str, str]:
    """claim_id -> text, from the product's ingest and segment (default params) over `files`,
    read together in the given order as one `stancemap ingest` call would."""
    from stancemap.config import SegmentParams
    from stancemap.ingest import ingest
    from stancemap.segment import load_nlp, segment

    comments, _threads = ingest(files)
    params = SegmentParams()
    claims = segment(comments, load_nlp(params.spacy_model), params)
    return dict(zip(claims["claim_id"].to_list(), claims["text"].to_list(), strict=True))


def regenerate(shared: Path = SHARED, labels: Path = LABELS) -> list[dict[str, str]]:
    """The labelled rows with their claim text (`text` added), each hash checked."""
    if not (shared / "fixtures").is_dir():
        raise RegenerateError(
            f"{shared}/fixtures is absent: the forum set is re-created from ../shared (real fixtures), "
            "which sits beside the repo in CI only; pass --shared PATH if it is elsewhere"
        )
    rows = read_labels(labels)
    sources = sorted({row["source"] for row in rows})
    files = [shared / source for source in sources]
    absent = [str(f) for f in files if not f.is_file()]
    if absent:
        raise RegenerateError(f"fixture file(s) named in {labels.name} are absent: {', '.join(absent)}")
    texts = claim_texts(files)
    problems, out = [], []
    for row in rows:
        cid = row["claim_id"]
        text = texts.get(cid)
        if text is None:
            problems.append(f"{cid}: no such claim in {row['source']} after ingest + segment")
        elif sha256(text) != row["text_sha256"]:
            problems.append(f"{cid}: its text no longer matches text_sha256 (got {sha256(text)[:12]}...)")
        else:
            out.append({**row, "text": text})
    if problems:
        raise RegenerateError(
            f"{len(problems)} of {len(rows)} labelled claim(s) do not resolve:\n  " + "\n  ".join(problems)
        )
    return out


def to_csv(rows: list[dict[str, str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(("proposition", "text", "stance"))
    writer.writerows((row["proposition"], row["text"], row["stance"]) for row in rows)
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="CSV to write (proposition,text,stance)")
    parser.add_argument("--shared", type=Path, default=SHARED, help=f"the shared folder (default {SHARED})")
    parser.add_argument("--labels", type=Path, default=LABELS, help="the labels file")
    args = parser.parse_args(argv)
    try:
        rows = regenerate(args.shared, args.labels)
    except RegenerateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    from stancemap.io import write_text

    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_text(to_csv(rows), args.out)
    print(f"forum_stance: {len(rows)} rows -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
