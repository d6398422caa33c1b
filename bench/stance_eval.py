"""Score the stance model on every stance set it was not trained on, and pick `min_confidence`.

    python bench/stance_eval.py [--model pipeline/models/stance-minilm] [--shared ../shared] [--min-confidence X]
                                [--out bench/results/stance_eval.json]

1. Tuning (the only sets anything is chosen on): VAST tune, SemEval-2016 dev, multi-target dev and
   P-Stance val, and the tuning split of any labelled pairs of your own the model was trained with
   (`train-stance --extra`, `stance.data.extra_split`). The probabilities are computed once and
   `min_confidence` is swept; the chosen value is the lowest whose pooled side precision on the
   tuning pairs reaches TARGET_PRECISION (a wrong side is worse than none), unless --min-confidence
   is given.
2. Reporting, at that value, on sets never trained or tuned on: VAST dev (topic- and text-disjoint),
   the tweet sets' test splits, MultiNLI dev_mismatched (a sample) and the hand-labelled forum claims
   (bench/forum_stance.py). Scores use `stancemap.evaluate.stance`, the code behind
   `stancemap evaluate stance`.

Writes `scores.json` into the model folder (the model card's Scores section reads it), refreshes the
card, and writes bench/results/stance_eval.json (or --out).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from stancemap.evaluate.stance import scores
from stancemap.stance.data import LABEL_INDEX, VAST, extra_split, read_extra, read_nli_csv, read_stance_csv, vast_split
from stancemap.stance.stage import sides

ROOT = Path(__file__).resolve().parents[1]


TARGET_PRECISION = 0.80
TUNE = {
    "semeval2016 dev": "stance/semeval2016/dev.csv",
    "multitarget2017 dev": "stance/multitarget2017/dev.csv",
    "pstance val": "stance/pstance/val.csv",
}
REPORT = {
    "semeval2016 test": "stance/semeval2016/test.csv",
    "semeval2016 taskB trump": "stance/semeval2016/test_taskB_trump.csv",
    "multitarget2017 test": "stance/multitarget2017/test.csv",
    "pstance test": "stance/pstance/test.csv",
    "covid19 test": "stance/covid19/test.csv",
}


def labels(probs: np.ndarray, min_confidence: float) -> np.ndarray:
    return np.array([LABEL_INDEX[s] for s in sides(probs, min_confidence)], dtype=int)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(ROOT / "pipeline" / "models" / "stance-minilm"))
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"))
    parser.add_argument("--min-confidence", type=float, default=None)
    parser.add_argument("--nli-sample", type=int, default=2000)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "stance_eval.json"),
                        help="where the full result goes (a candidate model: somewhere else than the default)")
    args = parser.parse_args()
    eval_dir = Path(args.shared) / "eval"
    if not eval_dir.is_dir():
        sys.exit(f"error: {eval_dir} not found (the evaluation data beside the repository)")
    from stancemap.stance.model import StanceModel

    model = StanceModel(args.model)
    started = time.perf_counter()

    def probs_of(pairs):
        return model.predict([p.proposition for p in pairs], [p.text for p in pairs])

    vast = vast_split(read_stance_csv(eval_dir / VAST, "vast"))
    tune_sets = {"vast tune": vast["tune"], **{k: read_stance_csv(eval_dir / v) for k, v in TUNE.items()}}
    trained_extra = json.loads((Path(args.model) / "stance_config.json").read_text(encoding="utf-8")).get("extra")
    if trained_extra:  # the paths as train-stance was given them, from the repository root
        tune_sets["extra tune"] = extra_split(read_extra([ROOT / p for p in trained_extra]))["tune"]
    tune_probs = {k: probs_of(v) for k, v in tune_sets.items()}
    gold_tune = np.concatenate([[p.label for p in v] for v in tune_sets.values()])
    all_tune = np.concatenate(list(tune_probs.values()))
    sweep = []
    for m in np.round(np.arange(0.34, 0.96, 0.02), 2):
        s = scores(gold_tune, labels(all_tune, float(m)))
        sweep.append({"min_confidence": float(m), **s})
    chosen = args.min_confidence
    if chosen is None:
        ok = [r for r in sweep if r["side_precision"] is not None and r["side_precision"] >= TARGET_PRECISION]
        chosen = ok[0]["min_confidence"] if ok else sweep[-1]["min_confidence"]
    print(f"tuning pairs: {len(gold_tune)}; chosen min_confidence {chosen}")
    for r in sweep[::3]:
        print(f"  {r['min_confidence']:.2f}  macro_F1={r['macro_f1']:.3f}  P={r['side_precision'] or 0:.3f}  "
              f"R={r['side_recall'] or 0:.3f}")

    report_sets = {"vast dev": vast["dev"], **{k: read_stance_csv(eval_dir / v) for k, v in REPORT.items()}}
    nli = read_nli_csv(eval_dir / "nli" / "mnli" / "dev_mismatched.csv")
    report_sets["mnli dev_mismatched"] = random.Random(0).sample(nli, min(args.nli_sample, len(nli)))
    with tempfile.TemporaryDirectory() as tmp:
        forum_csv = Path(tmp) / "forum.csv"
        made = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "forum_stance.py"), str(forum_csv), "--shared", args.shared],
            capture_output=True, text=True,
        )
        if made.returncode == 0:
            report_sets["forum (hand-labelled)"] = read_stance_csv(forum_csv, "forum")
        else:
            print(f"forum set not built: {made.stderr.strip()}")
    result = {"min_confidence": chosen, "target_precision_on_tuning": TARGET_PRECISION, "sets": {},
              "argmax_macro_f1": {}, "tuning_sweep": sweep}
    for name, pairs in report_sets.items():
        probs = probs_of(pairs)
        gold = np.array([p.label for p in pairs])
        result["sets"][name] = scores(gold, labels(probs, chosen))
        result["argmax_macro_f1"][name] = scores(gold, probs.argmax(1))["macro_f1"]
        s = result["sets"][name]
        print(f"{name:<26} n={s['n']:>5} acc={s['accuracy']:.3f} macro_F1={s['macro_f1']:.3f} "
              f"P={s['side_precision'] or 0:.3f} R={s['side_recall'] or 0:.3f} "
              f"(argmax macro_F1 {result['argmax_macro_f1'][name]:.3f})")
    result["seconds"] = round(time.perf_counter() - started, 1)
    model_dir = Path(args.model)
    (model_dir / "scores.json").write_text(
        json.dumps({k: result[k] for k in ("min_confidence", "target_precision_on_tuning", "sets")}, indent=2)
        + "\n", encoding="utf-8")
    from stancemap.stance.card import write_card

    write_card(model_dir)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out} and {model_dir / 'scores.json'}")


if __name__ == "__main__":
    main()
