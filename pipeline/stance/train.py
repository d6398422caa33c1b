"""Train the stance model: `stancemap train-stance` (and the DVC stage of the same name).

Reproducible: the data mix and order, the initial head and dropout all follow the seed, on a fixed
number of CPU threads. Topics used by any evaluation are excluded before anything else. Batches
hold pairs of similar length (shuffled within windows), so padding costs little on a CPU. After
each epoch the model is scored on the tuning pairs (VAST tune, the tweet sets' dev splits), never on
a set reported as a test; the best epoch is the one kept.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from stancemap.io import file_mode
from stancemap.progress import say, track
from stancemap.stance.data import (
    MIX,
    VAST,
    Pair,
    extra_split,
    read_extra,
    read_stance_csv,
    training_pairs,
    vast_split,
)
from stancemap.stance.model import StanceModel

TUNE_FILES = (
    Path("stance") / "semeval2016" / "dev.csv",
    Path("stance") / "multitarget2017" / "dev.csv",
    Path("stance") / "pstance" / "val.csv",
)


def macro_f1(gold: np.ndarray, predicted: np.ndarray) -> float:
    """Mean F1 over the classes present in the gold."""
    scores = []
    for c in np.unique(gold):
        tp = float(((predicted == c) & (gold == c)).sum())
        fp = float(((predicted == c) & (gold != c)).sum())
        fn = float(((predicted != c) & (gold == c)).sum())
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores)) if scores else float("nan")


def tuning_pairs(data_dir: Path, seed: int, per_set: int = 600, extra: tuple[Path, ...] = ()) -> dict[str, list[Pair]]:
    rng = random.Random(seed)
    sets = {"vast_tune": vast_split(read_stance_csv(data_dir / VAST, "vast"))["tune"]}
    sets.update({str(path.parent.name): read_stance_csv(data_dir / path) for path in TUNE_FILES})
    if extra:  # the extra pairs' tuning propositions (`extra_split`), never trained on
        sets["extra_tune"] = extra_split(read_extra(extra))["tune"]
    return {name: (rng.sample(p, per_set) if len(p) > per_set else p) for name, p in sets.items()}


def score(model: StanceModel, pairs: list[Pair]) -> dict:
    probs = model.predict([p.proposition for p in pairs], [p.text for p in pairs])
    gold = np.array([p.label for p in pairs])
    predicted = probs.argmax(1)
    return {"n": len(pairs), "accuracy": round(float((predicted == gold).mean()), 4),
            "macro_f1": round(macro_f1(gold, predicted), 4)}


def length_batches(pairs: list[Pair], batch_size: int, rng: random.Random, window: int = 50) -> list[list[Pair]]:
    """Batches of similar length: sort each window of `window` batches by length, then shuffle batches."""
    batches = []
    span = batch_size * window
    for start in range(0, len(pairs), span):
        chunk = sorted(pairs[start : start + span], key=lambda p: len(p.proposition) + len(p.text))
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def train(
    data_dir: str | Path,
    out: str | Path,
    exclude: set[str],
    seed: int = 42,
    epochs: int = 2,
    batch_size: int = 32,
    lr: float = 5e-5,
    max_pairs: int | None = None,
    threads: int = 2,
    log: str | Path | None = None,
    mix: dict | None = None,
    checkpoints: str | Path | None = None,
    stop_after: int | None = None,
    init: str | Path | None = None,
    attention: str | None = None,
    extra: tuple[Path, ...] = (),
) -> dict:
    """Fine-tune and save the model in `out` (replaced atomically); returns the model card facts.
    Progress goes to `log` (one JSON line per report) as well as to stderr. `stop_after` ends
    training after that many passes of a schedule (warm-up and decay) laid out for `epochs`.
    `init` starts from a saved stance model instead of the base encoder and a fresh head; `attention`
    (joint or split, stance/split.py) overrides the one `init` was trained with. `extra` adds labelled
    CSVs of your own (data.read_extra): their train split joins the mix, their tune split the tuning."""
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    data_dir = Path(data_dir)
    rng = random.Random(seed)
    training = training_pairs(data_dir, exclude, seed, mix, extra)
    if max_pairs is not None:
        training = training[:max_pairs]
    tuning = tuning_pairs(data_dir, seed, per_set=60 if max_pairs else 600, extra=extra)
    model = StanceModel(init, seed=seed, attention=attention)
    model.train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    steps = epochs * math.ceil(len(training) / batch_size)
    warmup = max(1, steps // 16)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (steps - s) / max(1, steps - warmup))
    )
    log_fh = open(log, "a", encoding="utf-8") if log else None  # noqa: SIM115 - closed below

    def report(entry: dict) -> None:
        say(f"train-stance: {entry}")
        if log_fh:
            log_fh.write(json.dumps(entry) + "\n")
            log_fh.flush()

    started = time.perf_counter()
    step, history, best, best_state = 0, [], -1.0, None
    running = []
    try:
        for epoch in range(min(epochs, stop_after or epochs)):
            model.train()
            batches = length_batches(training, batch_size, rng)
            for batch in track(batches, len(batches), f"train stance, epoch {epoch + 1}"):
                logits = model.logits([p.proposition for p in batch], [p.text for p in batch])
                loss = torch.nn.functional.cross_entropy(logits, torch.tensor([p.label for p in batch]))
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimiser.step()
                schedule.step()
                optimiser.zero_grad()
                step += 1
                running.append(loss.item())
                if step % 50 == 0:
                    report({"step": step, "steps": steps, "loss": round(float(np.mean(running)), 4),
                            "seconds": round(time.perf_counter() - started)})
                    running = []
            model.eval()
            scores = {name: score(model, pairs) for name, pairs in tuning.items()}
            mean_f1 = float(np.mean([s["macro_f1"] for s in scores.values()]))
            history.append({"epoch": epoch + 1, "tune": scores, "tune_macro_f1": round(mean_f1, 4)})
            report(history[-1])
            if checkpoints:  # every epoch's model, so a long run that is stopped still leaves one
                folder = Path(checkpoints) / f"epoch{epoch + 1}"
                folder.mkdir(parents=True, exist_ok=True)
                model.save(folder, {"epoch": epoch + 1, **history[-1]})
            if mean_f1 > best:
                best = mean_f1
                best_state = {k: v.detach().clone() for k, v in model.encoder.state_dict().items()}, {
                    k: v.detach().clone() for k, v in model.head.state_dict().items()
                }
    finally:
        if log_fh:
            log_fh.close()
    if best_state is not None:
        model.encoder.load_state_dict(best_state[0])
        model.head.load_state_dict(best_state[1])
    sources: dict[str, int] = {}
    for p in training:
        sources[p.source] = sources.get(p.source, 0) + 1
    facts = {
        "seed": seed,
        "epochs": epochs,
        "stopped_after": stop_after,
        "best_epoch": max(history, key=lambda h: h["tune_macro_f1"])["epoch"] if history else None,
        "batch_size": batch_size,
        "lr": lr,
        "steps": steps,
        "threads": threads,
        "training_pairs": len(training),
        "training_sources": dict(sorted(sources.items())),
        "tuning": history,
        "excluded_topics": sorted(exclude),
        "mix": {**MIX, **(mix or {})},
        "extra": [str(path) for path in extra],
        "init": str(init) if init else None,
        "attention": model.attention,
        # the model it started from, with its own history: the card lists every step
        "base": json.loads((Path(init) / "stance_config.json").read_text(encoding="utf-8")) if init else None,
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        os.chmod(tmp, file_mode(directory=True))  # mkdtemp's 0700 would make the model private
        model.save(tmp, facts)
        for path in tmp.iterdir():  # safetensors writes 0600; a model is an ordinary file
            os.chmod(path, file_mode())
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return facts
