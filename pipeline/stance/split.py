"""Split attention for the stance cross-encoder: the proposition's tokens attend only to each other,
the text's tokens attend to the proposition's and to their own.

A pair is read as "[CLS] proposition [SEP]" (token type 0) followed by "text [SEP]" (token type 1),
with the same tokens, positions and weights as the joint cross-encoder. Only the attention mask
differs: nothing of the proposition depends on the text. So a proposition is run through the six
layers once, alone, and every text read against it reuses its keys and values at each layer, and
the sum of its last hidden states for the mean pooling. In a stage, where one proposition is read
against thousands of claims, a pair costs only its text's tokens.

`forward` is the one code path, for training (a batch of propositions run together) and for
prediction (each distinct proposition run once, alone, so its states depend on it alone and not on
which pairs share its batch).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Prefix:
    """A batch of propositions after the layers: per layer (keys, values) as (batch, heads, tokens,
    head size), the padding mask (batch, tokens), and per row the sum of the last hidden states over
    its tokens and their count."""

    kv: list
    mask: object
    hidden_sum: object
    count: object


def _layers(encoder, hidden, mask, prefix: Prefix | None):
    """The BERT layers over `hidden` (batch, tokens, width); with `prefix`, every token also attends
    to the prefix's tokens. Returns the last hidden states and each layer's own (keys, values)."""
    import torch

    keys_mask = mask if prefix is None else torch.cat([prefix.mask, mask], dim=1)
    additive = (1.0 - keys_mask[:, None, None, :].to(hidden.dtype)) * torch.finfo(hidden.dtype).min
    own = []
    batch, length, _ = hidden.shape
    for i, layer in enumerate(encoder.encoder.layer):
        att = layer.attention.self

        def heads(x, att=att):
            return x.view(batch, length, att.num_attention_heads, att.attention_head_size).transpose(1, 2)

        q, k, v = heads(att.query(hidden)), heads(att.key(hidden)), heads(att.value(hidden))
        own.append((k, v))
        if prefix is not None:
            k = torch.cat([prefix.kv[i][0], k], dim=2)
            v = torch.cat([prefix.kv[i][1], v], dim=2)
        context = torch.nn.functional.scaled_dot_product_attention(
            q, k, v, attn_mask=additive, dropout_p=att.dropout.p if att.training else 0.0, scale=att.scaling
        ).transpose(1, 2).reshape(batch, length, -1)
        attended = layer.attention.output(context, hidden)
        hidden = layer.output(layer.intermediate(attended), attended)
    return hidden, own


def _pad(rows: list[list[int]], value: int = 0):
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), value, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
        mask[i, : len(r)] = 1
    return ids, mask


def run_propositions(encoder, rows: list[list[int]]) -> Prefix:
    """Token ids of propositions ("[CLS] … [SEP]") through the layers, padded into one batch."""
    import torch

    ids, mask = _pad(rows)
    positions = torch.arange(ids.shape[1]).expand_as(ids)
    hidden = encoder.embeddings(input_ids=ids, token_type_ids=torch.zeros_like(ids), position_ids=positions)
    last, kv = _layers(encoder, hidden, mask, None)
    weights = mask.unsqueeze(-1).to(last.dtype)
    return Prefix(kv, mask, (last * weights).sum(1), mask.sum(1))


def stack(prefixes: list[Prefix]) -> Prefix:
    """One batch of single propositions (each run alone), padded to the longest."""
    import torch

    width = max(int(p.mask.shape[1]) for p in prefixes)

    def pad(t, dim):
        extra = width - t.shape[dim]
        if extra == 0:
            return t
        shape = list(t.shape)
        shape[dim] = extra
        return torch.cat([t, t.new_zeros(shape)], dim=dim)

    kv = [
        (torch.cat([pad(p.kv[i][0], 2) for p in prefixes]), torch.cat([pad(p.kv[i][1], 2) for p in prefixes]))
        for i in range(len(prefixes[0].kv))
    ]
    mask = torch.cat([pad(p.mask, 1) for p in prefixes])
    return Prefix(kv, mask, torch.cat([p.hidden_sum for p in prefixes]), torch.cat([p.count for p in prefixes]))


def forward(encoder, prefix: Prefix, rows: list[list[int]]):
    """Mean-pooled states of texts (token ids "… [SEP]", type 1) read against `prefix`, row by row:
    (batch, width), pooled over the proposition's tokens and the text's together."""
    import torch

    ids, mask = _pad(rows)
    positions = prefix.count.unsqueeze(1) + torch.arange(ids.shape[1]).unsqueeze(0)
    positions = positions.clamp(max=encoder.config.max_position_embeddings - 1)
    hidden = encoder.embeddings(input_ids=ids, token_type_ids=torch.ones_like(ids), position_ids=positions)
    last, _ = _layers(encoder, hidden, mask, prefix)
    weights = mask.unsqueeze(-1).to(last.dtype)
    total = prefix.hidden_sum + (last * weights).sum(1)
    return total / (prefix.count + mask.sum(1)).unsqueeze(1).to(last.dtype)


def split_pairs(tokenizer, propositions: list[str], texts: list[str], max_length: int):
    """Each pair tokenised as the joint model reads it, cut at the token type: (proposition ids,
    text ids) per pair."""
    encoded = tokenizer(propositions, texts, truncation="only_second", max_length=max_length)
    out = []
    for ids, types in zip(encoded["input_ids"], encoded["token_type_ids"], strict=True):
        cut = types.index(1) if 1 in types else len(ids)
        out.append((ids[:cut], ids[cut:]))
    return out
