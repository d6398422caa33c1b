"""Train the stance adapter: `stancemap train-stance` (and the DVC stage of the same name).

Reproducible: the data order, the negated copies, the initial weights and dropout all follow
the seed, on one CPU thread. Topics used by any evaluation are excluded before anything else.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from pathlib import Path

from pipeline.progress import say, track
from pipeline.stance.data import Pair, training_pairs
from pipeline.stance.model import StanceModel


def accuracy(model: StanceModel, pairs: list[Pair]) -> float:
    if not pairs:
        return float("nan")
    probs = model.predict([p.proposition for p in pairs], [p.argument for p in pairs])
    return float(((probs >= 0.5).astype(int) == [p.label for p in pairs]).mean())


def train(
    data_dir: str | Path,
    out: str | Path,
    exclude: set[str],
    seed: int = 42,
    epochs: int = 1,
    batch_size: int = 32,
    lr: float = 1e-3,
    max_pairs: int | None = None,
    held_out_topics: int = 3,
) -> dict:
    """Fine-tune and save the adapter in `out` (replaced atomically); returns the model card facts."""
    import torch

    torch.set_num_threads(1)  # deterministic kernels, and no fight with other work on 2 cores
    torch.manual_seed(seed)
    pairs = training_pairs(data_dir, exclude, seed)
    topics = sorted({p.topic for p in pairs})
    held_out = set(topics[:: max(1, len(topics) // held_out_topics)][:held_out_topics])
    validation = [p for p in pairs if p.topic in held_out]
    training = [p for p in pairs if p.topic not in held_out]
    if max_pairs is not None:
        training, validation = training[:max_pairs], validation[: max(8, max_pairs // 4)]
    model = StanceModel(seed=seed)
    params = [p for p in model.encoder.parameters() if p.requires_grad] + list(model.head.parameters())
    optimiser = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    steps = epochs * math.ceil(len(training) / batch_size)
    warmup = max(1, steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (steps - s) / max(1, steps - warmup))
    )
    model.encoder.train()
    started = time.perf_counter()
    step = 0
    for epoch in range(epochs):
        batches = range(0, len(training), batch_size)
        for start in track(batches, len(batches), f"train stance, epoch {epoch + 1}"):
            batch = training[start : start + batch_size]
            logits = model.logits([p.proposition for p in batch], [p.argument for p in batch])
            loss = torch.nn.functional.cross_entropy(logits, torch.tensor([p.label for p in batch]))
            loss.backward()
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            step += 1
            if step % 100 == 0:
                say(f"train-stance: step {step}/{steps}, loss {loss.item():.3f}")
    model.encoder.eval()
    facts = {
        "seed": seed,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "steps": steps,
        "training_pairs": len(training),
        "training_topics": len(topics) - len(held_out),
        "validation_topics": sorted(held_out),
        "validation_pairs": len(validation),
        "validation_accuracy": round(accuracy(model, validation), 4),
        "excluded_topics": sorted(exclude),
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        model.save(tmp, facts)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return facts
