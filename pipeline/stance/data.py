"""Training pairs (proposition, argument, label) from the IBM Debater data in ../shared/eval.

ArgQ-30k gives 30k arguments on 71 topics with a stance; ArgKP train adds 24 topics' arguments.
Topics named in `exclude` (every topic any evaluation uses) never reach training. Half of the
pairs of each topic also appear with the proposition negated ("We should X" -> "We should not X")
and the label flipped, so the model must read the proposition, not only the argument.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import InputError

ARGQ = Path("argq30k") / "arg_quality_rank_30k.csv"
ARGKP_TRAIN = Path("argkp") / "arguments_train.csv"


@dataclass(frozen=True)
class Pair:
    proposition: str
    argument: str
    label: int  # 1 = argues for the proposition, 0 = against
    topic: str  # the original topic, for splitting by topic


def negate(proposition: str) -> str | None:
    """'We should abandon X' -> 'We should not abandon X'; None when the form is unknown."""
    for modal in ("should", "must", "ought to"):
        marker = f" {modal} "
        if marker in proposition and f"{marker}not " not in proposition:
            return proposition.replace(marker, f"{marker}not ", 1)
    return None


def _read(path: Path, text_col: str, stance_col: str) -> list[tuple[str, str, int]]:
    if not path.exists():
        raise InputError(path, "missing (the IBM Debater data under ../shared/eval)")
    rows = []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {text_col, "topic", stance_col} - set(reader.fieldnames or [])
        if missing:
            raise InputError(path, f"missing column(s) {', '.join(sorted(missing))}")
        for number, row in enumerate(reader, start=2):
            try:
                stance = int(float(row[stance_col]))
            except ValueError:
                raise InputError(path, f"stance {row[stance_col]!r} is not -1 or 1", number) from None
            if stance in (-1, 1) and row[text_col].strip():
                rows.append((row["topic"].strip(), row[text_col].strip(), stance))
    return rows


def training_pairs(data_dir: str | Path, exclude: set[str], seed: int = 42) -> list[Pair]:
    """Every (topic, argument, stance) of ArgQ-30k and ArgKP train whose topic is not excluded,
    plus negated-proposition copies of half of them, shuffled with `seed`."""
    data_dir = Path(data_dir)
    rows = _read(data_dir / ARGQ, "argument", "stance_WA") + _read(data_dir / ARGKP_TRAIN, "argument", "stance")
    rng = random.Random(seed)
    pairs, seen = [], set()
    for topic, argument, stance in rows:
        if topic in exclude or (topic, argument) in seen:
            continue
        seen.add((topic, argument))
        label = 1 if stance == 1 else 0
        pairs.append(Pair(topic, argument, label, topic))
        negated = negate(topic)
        if negated and rng.random() < 0.5:
            pairs.append(Pair(negated, argument, 1 - label, topic))
    rng.shuffle(pairs)
    return pairs


def topics_of(csv_path: str | Path) -> set[str]:
    """The `topic` column's values: what an evaluation split covers, to exclude from training."""
    return {t for t, _, _ in _read(Path(csv_path), "argument", "stance")}
