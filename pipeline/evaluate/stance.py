"""Score the stance model on any CSV of `proposition,text,stance` rows (stance: pro, con, neither).

Every row is read by the product's own stance model with its own params (`stance.adapter`,
`stance.min_confidence`, `stance.batch_size`), and the model's side comes from the stance stage's
own rule (`stancemap.stance.stage.sides`): there is no special path for benchmark files. Scores,
per file and per (file, proposition):

- n: rows scored;
- accuracy: share of rows whose predicted pro / con / neither is the gold one;
- macro_f1: mean F1 over the classes present in that set's gold (a file with only pro / con gold
  is scored over pro and con; "neither" predictions there still count as misses);
- side_precision: of the rows the model gives a side (pro or con), the share whose gold is that
  side; null when the model gives no row a side;
- side_recall: of the gold pro / con rows, the share the model gives the right side; null when
  the gold has no pro / con row.

The mean (`MEAN stance: ...`, JSON `"mean"`) pools all rows of all files and scores them as one
set, so a file weighs by its rows; it is not an average of the per-file scores.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from stancemap.errors import InputError
from stancemap.stance.data import LABEL_INDEX, Pair, read_stance_csv
from stancemap.stance.train import macro_f1

METRICS = ("n", "accuracy", "macro_f1", "side_precision", "side_recall")
SIDES = (LABEL_INDEX["pro"], LABEL_INDEX["con"])
CHUNK = 1024  # pairs per progress step (the model batches and length-sorts within a chunk)


class Predictor(Protocol):
    def predict(self, propositions: list[str], texts: list[str], batch_size: int = 64) -> np.ndarray: ...


def scores(gold: Sequence[int] | np.ndarray, predicted: Sequence[int] | np.ndarray) -> dict:
    """The five scores of one set of rows (labels as in LABELS: 0 pro, 1 con, 2 neither)."""
    gold, predicted = np.asarray(gold, dtype=int), np.asarray(predicted, dtype=int)
    n = len(gold)
    if n == 0:
        return {"n": 0, "accuracy": None, "macro_f1": None, "side_precision": None, "side_recall": None}
    given = np.isin(predicted, SIDES)
    gold_sided = np.isin(gold, SIDES)
    right = predicted == gold
    return {
        "n": n,
        "accuracy": float(right.mean()),
        "macro_f1": macro_f1(gold, predicted),
        "side_precision": float(right[given].mean()) if given.any() else None,
        "side_recall": float(right[gold_sided].mean()) if gold_sided.any() else None,
    }


def predict_labels(
    pairs: Sequence[Pair], model: Predictor, min_confidence: float, batch_size: int = 64, description: str = ""
) -> np.ndarray:
    """The model's label (0 pro, 1 con, 2 neither) per pair, by the stance stage's own rule."""
    from stancemap.progress import track
    from stancemap.stance.stage import sides

    labels = np.zeros(len(pairs), dtype=int)
    step = max(CHUNK, batch_size)
    starts = range(0, len(pairs), step)
    for start in track(starts, total=len(starts), description=description or "stance"):
        chunk = pairs[start : start + step]
        probs = model.predict([p.proposition for p in chunk], [p.text for p in chunk], batch_size)
        labels[start : start + len(chunk)] = [LABEL_INDEX[s] for s in sides(np.asarray(probs), min_confidence)]
    return labels


def evaluate(
    files: Mapping[str, Sequence[Pair]], model: Predictor, min_confidence: float, batch_size: int = 64
) -> dict:
    """Scores per file, per (file, proposition) and pooled over all rows (`mean`), for pairs
    grouped by file name. Pure apart from calling `model.predict`."""
    result: dict = {"mean": {}, "files": [], "propositions": []}
    all_gold, all_predicted = [], []
    for name, pairs in files.items():
        gold = np.array([p.label for p in pairs], dtype=int)
        predicted = predict_labels(pairs, model, min_confidence, batch_size, f"stance: {Path(name).name}")
        all_gold.append(gold)
        all_predicted.append(predicted)
        result["files"].append({"file": name, **scores(gold, predicted)})
        rows_of: dict[str, list[int]] = {}
        for i, pair in enumerate(pairs):
            rows_of.setdefault(pair.proposition, []).append(i)
        for proposition, rows in rows_of.items():
            result["propositions"].append(
                {"file": name, "proposition": proposition, **scores(gold[rows], predicted[rows])}
            )
    pooled = (np.concatenate(all_gold), np.concatenate(all_predicted)) if all_gold else ([], [])
    result["mean"] = scores(*pooled)
    return result


def read_files(paths: Sequence[str | Path]) -> dict[str, list[Pair]]:
    """Each CSV's pairs by its path as given; a missing, unreadable or empty file is an InputError."""
    files: dict[str, list[Pair]] = {}
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise InputError(path, "is a folder, not a CSV file" if path.is_dir() else "no such file")
        try:
            pairs = read_stance_csv(path)
        except UnicodeDecodeError as exc:
            raise InputError(path, f"not UTF-8 text (byte {exc.start}); expected a UTF-8 CSV") from None
        except csv.Error as exc:
            raise InputError(path, f"not a readable CSV: {exc}") from None
        if not pairs:
            raise InputError(path, "no rows to score (expected columns proposition,text,stance)")
        files.setdefault(str(path), pairs)
    return files


def _f(value: float | int | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _row(name: str, s: dict) -> str:
    return (
        f"{name:<48} {s['n']:>6} {_f(s['accuracy']):>8} {_f(s['macro_f1']):>8} "
        f"{_f(s['side_precision']):>7} {_f(s['side_recall']):>7}"
    )


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def table(result: dict) -> str:
    """Per file, then its propositions (indented); the last line is `MEAN stance: ...` (pooled rows)."""
    lines = [f"{'file / proposition':<48} {'n':>6} {'accuracy':>8} {'macro_F1':>8} {'side_P':>7} {'side_R':>7}"]
    for file in result["files"]:
        lines.append(_row(file["file"], file))
        for prop in result["propositions"]:
            if prop["file"] == file["file"]:
                lines.append(_row("  " + _short(prop["proposition"], 46), prop))
    m = result["mean"]
    lines.append(
        f"MEAN stance: n={m['n']} accuracy={_f(m['accuracy'])} macro_F1={_f(m['macro_f1'])} "
        f"side_precision={_f(m['side_precision'])} side_recall={_f(m['side_recall'])}"
    )
    return "\n".join(lines)


def run(paths: Sequence[str | Path], params, out: str | Path | None = None, model: Predictor | None = None) -> dict:
    """Read every file first (a bad one fails before the model loads), score them with the model of
    `params.adapter` (StanceParams), and write the scores and the params used to `out` as JSON."""
    from stancemap.progress import say
    from stancemap.stance.backends import adapter_path

    files = read_files(paths)
    folder = adapter_path(params.adapter)
    if model is None:
        from stancemap.stance.model import StanceModel

        model = StanceModel(folder)
    rows = sum(len(pairs) for pairs in files.values())
    say(f"evaluate stance: {rows} rows in {len(files)} file(s), model {folder}, min_confidence {params.min_confidence}")
    result = evaluate(files, model, params.min_confidence, params.batch_size)
    result["params"] = {
        "adapter": params.adapter,
        "adapter_path": str(folder),
        "min_confidence": params.min_confidence,
        "batch_size": params.batch_size,
    }
    result["mean_over"] = "all rows of all files, pooled"
    if out is not None:
        from stancemap.io import write_json

        write_json(result, out)
    return result
