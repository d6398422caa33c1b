"""Positions found without being told: each topic's proposition, and each claim's side toward it.

With no `stance.propositions` in params and `stance.fallback: found`, the product states the
debate's propositions itself. For each topic (a cluster stage topic, before any split by side) its
proposition is the claim nearest the topic's centre among the claims that could state a position:
kind `claim` (not a question or a premise), `min_words` to `max_words` words, and not leaning on
its context ("That's why ..."). Every claim of the topic is then read against that proposition by
the stance model (the same model and `stance.min_confidence` as for propositions given in params),
so a topic of "it is theft" and "it is not theft" claims becomes one proposition with two sides.

Reply structure joins as one more signal: a claim the model leaves at `neither` whose comment
rebuts (or agrees with) a comment holding a sided claim of the same topic takes the opposite (or
the same) side, when the reply detector is confident (`relation` rebut / agree). The model's own
confident side is never overruled.

Two topics take opposite positions when each one's proposition reads as `con` toward the other's
(both directions, at `min_confidence`); only the `neighbours` nearest topics are compared.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from stancemap.schemas import POSITIONS, SIDES
from stancemap.stance.stage import sides as side_rule

# a claim opening with one of these leans on its context ("That's why ...", "I'll vote ...", "It
# isn't ..."), so it cannot state a topic's position on its own
_LEANING = {
    "this", "that", "that's", "these", "those", "it", "it's", "its", "they", "they're", "them", "which",
    "still", "so", "and", "but", "also", "or", "i", "i'm", "i'll", "i'd", "i've", "you", "you've", "you're",
    "we", "we're", "he", "she", "yes", "no", "exactly", "good", "agreed", "right", "here", "there", "there's",
    "why", "then", "now", "well", "sure", "same", "both", "neither", "either", "such",
}


def _words(text: str) -> int:
    return len(text.split())


def stands_alone(text: str) -> bool:
    """True when the claim can state a position without its comment: it does not open with a
    pronoun, a demonstrative or a discourse word."""
    first = text.split(maxsplit=1)[0].lower().strip("\"'“‘(,.:;!?") if text.strip() else ""
    return first not in _LEANING


def choose_propositions(
    claims: pl.DataFrame, topics: np.ndarray, vectors: np.ndarray, min_words: int = 5, max_words: int = 30
) -> dict[int, int]:
    """Row index of each topic's proposition claim (topic -1, unclustered, has none): the most
    central claim that stands alone (see stands_alone) with the wanted kind and length; failing
    that, the most central of the wanted kind and length, then of any claim of the topic."""
    texts = claims["text"].to_list()
    kinds = claims["kind"].to_list() if "kind" in claims.columns else ["claim"] * claims.height
    chosen: dict[int, int] = {}
    for topic in sorted(int(t) for t in np.unique(topics) if t >= 0):
        rows = np.flatnonzero(topics == topic)
        centre = vectors[rows].mean(axis=0)
        centre /= max(float(np.linalg.norm(centre)), 1e-12)
        similarity = vectors[rows] @ centre
        fits = [i for i, r in enumerate(rows) if kinds[r] == "claim" and min_words <= _words(texts[r]) <= max_words]
        alone = [i for i in fits if stands_alone(texts[rows[i]])]
        pool = alone or fits or list(range(len(rows)))
        # most similar first; ties by row so the choice never depends on float noise order
        best = max(pool, key=lambda i: (round(float(similarity[i]), 5), -int(rows[i])))
        chosen[topic] = int(rows[best])
    return chosen


def reply_signal(
    claims: pl.DataFrame, topics: np.ndarray, side: list[str], evidence: list[str], replies: pl.DataFrame | None
) -> None:
    """Fill `neither` claims from confident rebut / agree edges to a sided claim of the same topic
    (in place; one pass, parents before children, so a chain carries)."""
    if replies is None or replies.height == 0:
        return
    flip = {"rebut": True, "agree": False}
    edges = {
        (c, p): flip[r]
        for c, p, r in replies.select("comment_id", "parent_id", "relation").iter_rows()
        if r in flip
    }
    if not edges:
        return
    by_comment: dict[str, dict[int, list[int]]] = {}
    for i, (c, t) in enumerate(zip(claims["comment_id"].to_list(), topics.tolist(), strict=True)):
        if t >= 0:
            by_comment.setdefault(c, {}).setdefault(t, []).append(i)
    parent_of = {c: p for (c, p) in edges}

    def depth(c: str) -> int:
        seen = 0
        while c in parent_of and seen < 10_000:
            c, seen = parent_of[c], seen + 1
        return seen

    for (child, parent), rebut in sorted(edges.items(), key=lambda e: (depth(e[0][0]), e[0])):
        for t, rows in by_comment.get(child, {}).items():
            parent_sides = {side[r] for r in by_comment.get(parent, {}).get(t, []) if side[r] in ("pro", "con")}
            if len(parent_sides) != 1:
                continue  # the parent takes no side here, or both: nothing to infer
            (parent_side,) = parent_sides
            inferred = {"pro": "con", "con": "pro"}[parent_side] if rebut else parent_side
            for r in rows:
                if side[r] == "neither":
                    side[r], evidence[r] = inferred, "replies"


def find_positions(
    claims: pl.DataFrame,
    clusters: pl.DataFrame,
    vectors: np.ndarray,
    model,
    min_confidence: float,
    batch_size: int = 64,
    replies: pl.DataFrame | None = None,
    neighbours: int = 3,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(positions, sides): one row per topic (schema POSITIONS) and one per claim (schema SIDES).
    `claims`, `clusters` and `vectors` are in the same row order (claims order)."""
    topic_of = dict(clusters.select("claim_id", "topic").iter_rows())
    topics = np.array([topic_of.get(c, -1) if topic_of.get(c) is not None else -1
                       for c in claims["claim_id"].to_list()], dtype=np.int64)
    chosen = choose_propositions(claims, topics, vectors)
    texts = claims["text"].to_list()
    rows = [i for i in range(claims.height) if topics[i] >= 0]
    propositions = [texts[chosen[int(topics[i])]] for i in rows]
    probs = np.full((claims.height, 3), np.nan, dtype=np.float32)
    if rows:
        probs[rows] = model.predict(propositions, [texts[i] for i in rows], batch_size)
    side: list[str | None] = [None] * claims.height
    evidence: list[str | None] = [None] * claims.height
    if rows:
        for i, s in zip(rows, side_rule(probs[rows], min_confidence), strict=True):
            side[i], evidence[i] = s, "model" if s != "neither" else None
    for row in chosen.values():  # the proposition states its own position
        side[row], evidence[row] = "pro", "proposition"
    reply_signal(claims, topics, side, evidence, replies)
    sides = pl.DataFrame(
        {
            "claim_id": claims["claim_id"],
            "topic": [int(t) if t >= 0 else None for t in topics.tolist()],
            "p_pro": np.round(probs[:, 0], 6),
            "p_con": np.round(probs[:, 1], 6),
            "side": side,
            "evidence": evidence,
        },
        schema=SIDES,
    )
    return _positions(claims, topics, chosen, side, vectors, model, min_confidence, neighbours), sides


def _positions(claims, topics, chosen, side, vectors, model, min_confidence, neighbours) -> pl.DataFrame:
    ids, texts = claims["claim_id"].to_list(), claims["text"].to_list()
    order = sorted(chosen)
    centres = []
    for t in order:
        c = vectors[topics == t].mean(axis=0)
        centres.append(c / max(float(np.linalg.norm(c)), 1e-12))
    opposes: dict[int, tuple[int, float]] = {}
    if len(order) > 1:
        sim = np.stack(centres) @ np.stack(centres).T
        np.fill_diagonal(sim, -np.inf)
        pairs = sorted({tuple(sorted((a, int(b)))) for a in range(len(order))
                        for b in np.argsort(-sim[a], kind="stable")[:neighbours]})
        if pairs:
            left = [texts[chosen[order[a]]] for a, b in pairs] + [texts[chosen[order[b]]] for a, b in pairs]
            right = [texts[chosen[order[b]]] for a, b in pairs] + [texts[chosen[order[a]]] for a, b in pairs]
            p = model.predict(left, right)
            n = len(pairs)
            for k, (a, b) in enumerate(pairs):
                both = min(float(p[k, 1]), float(p[n + k, 1]))  # con in both directions
                if both >= min_confidence:
                    for x, y in ((a, b), (b, a)):
                        if order[x] not in opposes or opposes[order[x]][1] < both:
                            opposes[order[x]] = (order[y], both)
    rows = {name: [] for name in POSITIONS}
    for t in order:
        members = [i for i in np.flatnonzero(topics == t)]
        count = {s: sum(1 for i in members if side[i] == s) for s in ("pro", "con", "neither")}
        rows["topic"].append(t)
        rows["proposition"].append(texts[chosen[t]])
        rows["claim_id"].append(ids[chosen[t]])
        rows["n_claims"].append(len(members))
        rows["n_pro"].append(count["pro"])
        rows["n_con"].append(count["con"])
        rows["n_neither"].append(count["neither"])
        rows["opposes"].append(opposes[t][0] if t in opposes else None)
        rows["opposition"].append(round(opposes[t][1], 6) if t in opposes else None)
    return pl.DataFrame(rows, schema=POSITIONS)


def run(params, *, claims, embeddings, clusters, out, sides, replies=None, model=None, engine="local",
        address=None) -> pl.DataFrame:
    """The positions stage: with no `stance.propositions` and `stance.fallback: found`, find each
    topic's proposition and every claim's side toward it; otherwise write both tables empty (sides
    then come from the stance stage). `params` is the stance section."""
    from stancemap.io import read_table, write_table
    from stancemap.progress import say

    sides_path = sides
    if params.propositions or params.fallback != "found":
        why = "stance.propositions is set" if params.propositions else f"stance.fallback is {params.fallback}"
        write_table(pl.DataFrame(schema=POSITIONS), out, "positions")
        write_table(pl.DataFrame(schema=SIDES), sides_path, "sides")
        say(f"positions: not searched ({why})")
        return pl.DataFrame(schema=POSITIONS)
    claim_table = read_table(claims, "claims")
    cluster_table = read_table(clusters, "clusters")
    vectors_table = read_table(embeddings, "embeddings")
    order = {c: i for i, c in enumerate(vectors_table["claim_id"].to_list())}
    rows = [order[c] for c in claim_table["claim_id"].to_list()]
    vectors = vectors_table["vector"].to_numpy()[rows]
    reply_table = read_table(replies, "replies") if replies is not None else None
    if model is None:
        from stancemap.stance.stage import load_model

        model = load_model(params, engine, address)
    positions, sides = find_positions(
        claim_table, cluster_table, vectors, model, params.min_confidence, params.batch_size, reply_table
    )
    write_table(positions, out, "positions")
    write_table(sides, sides_path, "sides")
    counts = dict(sides.drop_nulls("side").group_by("side").len().sort("side").iter_rows())
    opposed = positions["opposes"].drop_nulls().len()
    say(f"positions: {positions.height} topic proposition(s) found; sides {counts}; {opposed} topic(s) opposed")
    return positions
