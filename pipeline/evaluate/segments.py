"""Score segmentation against gold argument spans in the ChangeMyView "modes" format.

A folder holds threads as `<name>.txt` (the thread's text), `<name>.ann` (brat standoff spans:
`T1<TAB>claim 163 360<TAB>text`; kinds `main_claim`, `claim`, `premise`) and `<name>.metadata`
(`Title START END`, `Content COMMENT_ID AUTHOR START END`: where each comment lies in the text).
Offsets in `.ann` and `.metadata` count UTF-8 bytes; they are turned into character offsets.

Every span of those kinds is a gold unit. Predicted units are the claims `segment` finds in each
comment (the title counts as a comment), placed back into thread offsets. A predicted unit
matches a gold unit exactly when both ends agree (after trimming white space), and at 50 %
overlap when their intersection over union of characters is at least 0.5; matching is one to
one, greedy by overlap. Precision, recall and F1 are computed per thread; the summary is their
mean over threads. The baseline is plain sentence splitting: spaCy's sentencizer on each
comment, every sentence a unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from stancemap.config import SegmentParams
from stancemap.errors import InputError, StancemapError
from stancemap.ingest.base import quote_spans
from stancemap.schemas import COMMENTS

GOLD_KINDS = ("main_claim", "claim", "premise")


@dataclass(frozen=True)
class Thread:
    name: str
    text: str
    comments: list[tuple[str, str | None, int, int]]  # (comment id, author, start, end)
    gold: list[tuple[int, int]]  # trimmed gold spans, in thread offsets


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def char_offsets(data: bytes) -> list[int]:
    """Byte offset -> character offset of the UTF-8 text `data` (inside a character: its start)."""
    table = []
    chars = 0
    for byte in data:
        if byte & 0xC0 != 0x80:  # not a continuation byte: a character starts here
            chars += 1
        table.append(chars - 1)
    table.append(chars)
    return table


def load_thread(folder: Path, name: str) -> Thread:
    """One thread of the folder, checked: spans inside the text, comments inside the text."""
    txt, ann, meta = (folder / f"{name}{ext}" for ext in (".txt", ".ann", ".metadata"))
    for path in (txt, ann, meta):
        if not path.exists():
            raise InputError(path, "missing: each thread needs .txt, .ann and .metadata")
    data = txt.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(txt, f"not UTF-8 text (offset {exc.start})") from None
    to_char = char_offsets(data)
    gold = []
    for number, line in enumerate(ann.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.startswith("T"):
            continue
        fields = line.split("\t")
        parts = fields[1].split() if len(fields) > 1 else []
        if len(parts) < 3 or ";" in fields[1]:
            raise InputError(ann, f"expected 'T<n><TAB>KIND START END<TAB>TEXT', got {line[:60]!r}", number)
        kind, start, end = parts[0], parts[1], parts[2]
        if kind not in GOLD_KINDS:
            continue
        try:
            s, e = int(start), int(end)
        except ValueError:
            raise InputError(ann, f"offsets must be whole numbers, got {start!r} {end!r}", number) from None
        if not 0 <= s <= e <= len(data):
            raise InputError(ann, f"span {s}-{e} lies outside the text ({len(data)} bytes)", number)
        s, e = _trim(text, to_char[s], to_char[e])
        if e > s:
            gold.append((s, e))
    comments = []
    for number, line in enumerate(meta.read_text(encoding="utf-8").splitlines(), start=1):
        parts = line.split()
        try:
            if parts[:1] == ["Title"]:
                comments.append(("title", None, int(parts[1]), int(parts[2])))
            elif parts[:1] == ["Content"]:
                comments.append((parts[1], parts[2], int(parts[3]), int(parts[4])))
        except (IndexError, ValueError):
            raise InputError(meta, f"cannot read {line[:60]!r}", number) from None
    for cid, _, s, e in comments:
        if not 0 <= s <= e <= len(data):
            raise InputError(meta, f"comment {cid} at {s}-{e} lies outside the text ({len(data)} bytes)")
    comments = [(cid, author, to_char[s], to_char[e]) for cid, author, s, e in comments]
    return Thread(name, text, comments, sorted(set(gold)))


def load_folder(folder: str | Path) -> list[Thread]:
    folder = Path(folder)
    if not folder.is_dir():
        raise StancemapError(f"{folder}: no such folder")
    names = sorted({p.stem for p in folder.glob("*.ann")}, key=lambda n: (len(n), n))
    if not names:
        raise StancemapError(f"{folder}: no .ann files (expected the ChangeMyView modes format)")
    return [load_thread(folder, n) for n in names]


def comments_table(thread: Thread) -> pl.DataFrame:
    """The thread's comments in the pipeline's comments schema (offsets kept by position)."""
    rows = {name: [] for name in COMMENTS}
    for i, (cid, author, s, e) in enumerate(thread.comments):
        body = thread.text[s:e]
        rows["comment_id"].append(f"cmv:{thread.name}:{i}:{cid}")
        rows["thread_id"].append(thread.name)
        rows["parent_id"].append(None)
        rows["depth"].append(0)
        rows["author"].append(author)
        rows["created_at"].append(None)
        rows["text"].append(body)
        rows["quotes"].append([{**q, "quoted_id": None} for q in quote_spans(body)])
        rows["url"].append(None)
        rows["score"].append(None)
        rows["is_deleted"].append(False)
        rows["duplicate_of"].append(None)
        rows["repeats"].append(1)
        rows["source"].append("cmv")
        rows["source_file"].append(f"{thread.name}.txt")
        rows["source_line"].append(None)
    return pl.DataFrame(rows, schema=COMMENTS)


def predicted_units(thread: Thread, nlp, params: SegmentParams) -> list[tuple[int, int]]:
    from stancemap.segment import segment

    comments = comments_table(thread)
    claims = segment(comments, nlp, params)
    base = {f"cmv:{thread.name}:{i}:{cid}": s for i, (cid, _, s, _) in enumerate(thread.comments)}
    return [(base[c] + s, base[c] + e) for c, s, e in claims.select("comment_id", "start", "end").iter_rows()]


def sentence_units(thread: Thread, sentencizer) -> list[tuple[int, int]]:
    """Baseline: every sentence of every comment is a unit."""
    units = []
    for _, _, s, e in thread.comments:
        for sent in sentencizer(thread.text[s:e]).sents:
            a, b = _trim(thread.text, s + sent.start_char, s + sent.end_char)
            if b > a:
                units.append((a, b))
    return units


def score(pred: list[tuple[int, int]], gold: list[tuple[int, int]]) -> dict[str, float]:
    """P, R, F1 with exact matching and with one-to-one matching at IoU >= 0.5."""
    exact = len(set(pred) & set(gold))
    pairs = []
    for i, (ps, pe) in enumerate(pred):
        for j, (gs, ge) in enumerate(gold):
            inter = min(pe, ge) - max(ps, gs)
            if inter > 0:
                iou = inter / (max(pe, ge) - min(ps, gs))
                if iou >= 0.5:
                    pairs.append((iou, i, j))
    used_p, used_g, matched = set(), set(), 0
    for _, i, j in sorted(pairs, key=lambda t: (-t[0], t[1], t[2])):
        if i not in used_p and j not in used_g:
            used_p.add(i)
            used_g.add(j)
            matched += 1

    def prf(hits: int) -> tuple[float, float, float]:
        p = hits / len(pred) if pred else 0.0
        r = hits / len(gold) if gold else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)

    p50, r50, f50 = prf(matched)
    pe, re_, fe = prf(exact)
    return {
        "P_overlap50": p50,
        "R_overlap50": r50,
        "F1_overlap50": f50,
        "P_exact": pe,
        "R_exact": re_,
        "F1_exact": fe,
        "n_pred": len(pred),
        "n_gold": len(gold),
    }


def evaluate(folder: str | Path, params: SegmentParams) -> dict:
    """Per-thread scores for the product's segmentation and the sentence baseline, and means."""
    from stancemap.segment import load_nlp

    threads = load_folder(folder)
    nlp = load_nlp(params.spacy_model)
    sentencizer = load_nlp("blank")
    rows = []
    for thread in threads:
        ours = score(predicted_units(thread, nlp, params), thread.gold)
        base = score(sentence_units(thread, sentencizer), thread.gold)
        rows.append({"thread": thread.name, **ours, **{f"baseline_{k}": v for k, v in base.items()}})
    keys = [k for k in rows[0] if k != "thread"]
    mean = {k: sum(r[k] for r in rows) / len(rows) for k in keys}
    return {"threads": rows, "mean": mean, "spacy_model": params.spacy_model}


def table(result: dict) -> str:
    lines = [
        f"{'thread':>8} {'gold':>5} {'pred':>5} {'P50':>6} {'R50':>6} {'F1_50':>6} {'F1_ex':>6} {'base_F1_50':>10}"
    ]
    for r in result["threads"]:
        lines.append(
            f"{r['thread']:>8} {r['n_gold']:>5} {r['n_pred']:>5} {r['P_overlap50']:>6.3f} {r['R_overlap50']:>6.3f} "
            f"{r['F1_overlap50']:>6.3f} {r['F1_exact']:>6.3f} {r['baseline_F1_overlap50']:>10.3f}"
        )
    m = result["mean"]
    lines.append(
        f"MEAN segments: P_overlap50={m['P_overlap50']:.3f} R_overlap50={m['R_overlap50']:.3f} "
        f"F1_overlap50={m['F1_overlap50']:.3f} F1_exact={m['F1_exact']:.3f} "
        f"baseline_F1_overlap50={m['baseline_F1_overlap50']:.3f}"
    )
    return "\n".join(lines)


def run(folder: str | Path, params: SegmentParams, out: str | Path | None = None) -> dict:
    result = evaluate(folder, params)
    if out is not None:
        from stancemap.io import write_json

        write_json(result, out)
    return result
