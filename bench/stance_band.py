"""Choose `stance.neutral_band` on topics the stance adapter never trained on and ArgKP dev never uses.

The adapter's training held out three ArgQ-30k topics for validation (named in
models/stance-minilm-lora/stance_config.json). This runs the product's own evaluation (segment,
embed, stance with the topic as the proposition, cluster split by side) on those topics at several
bands and reports stance purity and stance accuracy. There are no key points for ArgQ, so ARI and
NMI are not computed. The rule is fixed before looking: take the band with the highest stance
accuracy among those that keep stance purity at or above 0.85 (the issue's target).

    python bench/stance_band.py [--bands 0,0.05,0.1,0.15,0.2] [--out bench/results/stance_band.json]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "eval"
sys.path.insert(0, str(REPO))

PURITY_TARGET = 0.85


def write_split(folder: Path, topics: list[str]) -> int:
    """The validation topics' ArgQ arguments as an ArgKP-format split "val" (one placeholder key
    point per topic that no argument matches, so only stance metrics are defined)."""
    rows = []
    with (SHARED / "argq30k" / "arg_quality_rank_30k.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            stance = int(float(row["stance_WA"]))
            if row["topic"].strip() in topics and stance in (-1, 1) and row["argument"].strip():
                rows.append((row["argument"].strip(), row["topic"].strip(), stance))
    seen, args = set(), []
    for argument, topic, stance in rows:
        if (topic, argument) not in seen:
            seen.add((topic, argument))
            args.append((f"arg_{len(args)}", argument, topic, stance))
    with (folder / "arguments_val.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["arg_id", "argument", "topic", "stance"])
        w.writerows(args)
    with (folder / "key_points_val.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["key_point_id", "key_point", "topic", "stance"])
        w.writerows([(f"kp_{i}", "placeholder", t, 1) for i, t in enumerate(topics)])
    topic_kp = {t: f"kp_{i}" for i, t in enumerate(topics)}
    with (folder / "labels_val.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["arg_id", "key_point_id", "label"])
        w.writerows([(a, topic_kp[t], 0) for a, _, t, _ in args])
    return len(args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bands", default="0,0.05,0.1,0.15,0.2")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"needs the IBM Debater data in {SHARED} (../shared beside the repository)")

    from pipeline.config import load_params
    from pipeline.embed import SentenceTransformerEmbedder
    from pipeline.evaluate.argkp import evaluate, product_stance

    config = json.loads((REPO / "models" / "stance-minilm-lora" / "stance_config.json").read_text())
    topics = config["validation_topics"]
    params = load_params(REPO / "params.yaml")
    embedder = SentenceTransformerEmbedder(params.embed.model, params.embed.batch_size)
    cache: dict = {}
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        n = write_split(Path(tmp), topics)
        print(f"{n} arguments on {len(topics)} held-out topics: {'; '.join(topics)}")
        print(f"{'band':>5} {'purity':>7} {'accuracy':>8} {'coverage':>8}")
        for band in [float(b) for b in args.bands.split(",")]:
            banded = replace(params, stance=replace(params.stance, neutral_band=band))
            result = evaluate(tmp, "val", banded, embedder, product_stance(banded), cache=cache)
            m = result["mean"]
            results.append({"band": band, **{k: m[k] for k in ("stance_purity", "stance_accuracy", "coverage")}})
            print(f"{band:>5.2f} {m['stance_purity']:>7.3f} {m['stance_accuracy']:>8.3f} {m['coverage']:>8.3f}")
    eligible = [r for r in results if r["stance_purity"] >= PURITY_TARGET]
    chosen = max(eligible, key=lambda r: (r["stance_accuracy"], r["band"])) if eligible else None
    print(
        f"chosen band: {chosen['band']:.2f} (highest accuracy with purity >= {PURITY_TARGET})"
        if chosen
        else f"no band keeps purity >= {PURITY_TARGET}"
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"topics": topics, "bands": results, "chosen": chosen}, indent=2) + "\n")


if __name__ == "__main__":
    main()
