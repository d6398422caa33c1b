"""The stance stage: claims -> one row per (claim, proposition) with P(pro) and a side.

Propositions come from `stance.propositions` in params.yaml. The three-way model gives P(pro),
P(con), P(neither); a claim is `pro` or `con` when that side's probability reaches
`stance.min_confidence`, otherwise `neither` (`sides`). Without propositions and with
`stance.fallback: replies` (and the comments table), there is one implicit proposition, index 0,
"the thread's opening post": a claim is `pro` (with it) or `con` (against it) as reply structure
says (pipeline/stance/replies.py, sides at `neutral_band`). With `fallback: found` the table is
empty and the positions stage gives sides after clustering; with `none` there are no sides.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from stancemap.config import StanceParams
from stancemap.io import read_table, write_table
from stancemap.progress import say
from stancemap.schemas import STANCES


def sides(probs: np.ndarray, min_confidence: float) -> list[str]:
    """The model's side per row of P(pro, con, neither): its most probable class, but "neither"
    unless a side's probability reaches `min_confidence` (a wrong side is worse than none)."""
    best = probs.argmax(axis=1) if len(probs) else np.zeros(0, dtype=int)
    names = ("pro", "con", "neither")
    return [names[b] if b == 2 or probs[i, b] >= min_confidence else "neither" for i, b in enumerate(best)]


def side(p_pro: np.ndarray, neutral_band: float) -> list[str]:
    return ["pro" if p - 0.5 >= neutral_band else "con" if 0.5 - p >= neutral_band else "neither" for p in p_pro]


def stances(claims: pl.DataFrame, propositions: tuple[str, ...], model, params: StanceParams) -> pl.DataFrame:
    """Long table (schema STANCES): every claim against every proposition."""
    rows = {name: [] for name in STANCES}
    texts = claims["text"].to_list()
    for index, proposition in enumerate(propositions):
        probs = model.predict([proposition] * len(texts), texts, params.batch_size) if texts else np.zeros((0, 3))
        rows["claim_id"].extend(claims["claim_id"].to_list())
        rows["proposition"].extend([index] * len(texts))
        rows["p_pro"].extend(np.round(probs[:, 0], 6).tolist())
        rows["stance"].extend(sides(probs, params.min_confidence))
    return pl.DataFrame(rows, schema=STANCES)


def load_model(params: StanceParams, engine: str = "local", address: str | None = None):
    """The stance model `stance.adapter` names (see backends.adapter_path), on `stance.backend`; with
    engine "ray", an object with the same `predict` that scores the pairs on Ray workers
    (pipeline/stance/ray.py:score_stance, the same bytes as here)."""
    if engine == "ray":
        return RayScorer(params, address)
    from stancemap.stance.backends import load_stance_model

    return load_stance_model(params)


class RayScorer:
    def __init__(self, params: StanceParams, address: str | None = None):
        self.params, self.address = params, address

    def predict(self, propositions: list[str], texts: list[str], batch_size: int = 64) -> np.ndarray:
        import functools

        import torch

        from stancemap.stance.backends import load_stance_model
        from stancemap.stance.ray import score_stance

        # torch's sums depend on its thread count: workers use this process's, so the bytes match a
        # local run on this machine (the int8 ONNX model is the same on any thread count)
        threads = torch.get_num_threads() if self.params.backend == "torch" else 1
        factory = functools.partial(load_stance_model, self.params, threads=threads)
        return score_stance(self.params, propositions, texts, batch_size, engine="ray", address=self.address,
                            factory=factory)


def reply_stances(
    claims: pl.DataFrame, comments: pl.DataFrame, params: StanceParams, edges: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Without propositions: each claim's side toward its thread's opening post (proposition 0),
    from reply structure; p_pro is P(with the opening post), a claim inherits its comment's. A thread
    where no reply takes a side has no sides at all: its opening post is not "pro" toward itself
    (that would read as a position, and a question takes none). `edges`: `reply_edges(comments,
    params.reply_prior)` when the caller has them already (run() computes them once)."""
    from stancemap.stance.replies import opening_posts, reply_edges, sides_toward_opening_post

    if edges is None:
        edges = reply_edges(comments, params.reply_prior)
    p_with = sides_toward_opening_post(edges)
    p_pro = np.array([p_with.get(c, 0.5) for c in claims["comment_id"].to_list()], dtype=np.float64)
    stance = pl.Series(side(p_pro, params.neutral_band), dtype=pl.Utf8)
    thread_of = dict(comments.select("comment_id", "thread_id").iter_rows())
    threads = pl.Series([thread_of.get(c) for c in claims["comment_id"].to_list()], dtype=pl.Utf8)
    replies = ~claims["comment_id"].is_in(list(opening_posts(comments).values()))
    sided = threads.filter(replies & (stance != "neither")).unique().to_list()
    quiet = ~threads.is_in(sided)
    return pl.DataFrame(
        {
            "claim_id": claims["claim_id"],
            "proposition": [0] * claims.height,
            "p_pro": np.where(quiet.to_numpy(), 0.5, np.round(p_pro, 6)),
            "stance": pl.select(pl.when(quiet).then(pl.lit("neither")).otherwise(stance)).to_series(),
        },
        schema=STANCES,
    )


def replies_table(comments: pl.DataFrame, edges: pl.DataFrame) -> pl.DataFrame:
    """The REPLIES table (pipeline/schemas.py) from `reply_edges` output: one row per reply the
    detector scored (rebut, agree or unknown), in comments-table order. Opening posts, replies to
    nothing known, and deleted or empty comments are not scored, so they have no row."""
    from stancemap.schemas import REPLIES

    own_parent = dict(comments.select("comment_id", "parent_id").iter_rows())
    scored = edges.filter(pl.col("relation").is_in(["rebut", "agree", "unknown"]))
    direct = [own_parent.get(c) == p for c, p in scored.select("comment_id", "parent").iter_rows()]
    table = scored.select(
        "comment_id",
        pl.col("parent").alias("parent_id"),
        pl.Series("direct", direct, dtype=pl.Boolean),
        "relation",
        pl.col("p_rebut").cast(pl.Float32),
        pl.col("evidence").cast(pl.List(pl.Utf8)),
    )
    return table.cast(REPLIES)  # type the empty table too


def _reply_edges(
    params: StanceParams, comments_path: str | Path | None, replies_out: str | Path | None
) -> tuple[pl.DataFrame | None, pl.DataFrame | None]:
    """(comments, reply edges at params.reply_prior), each None when this run needs neither: the
    edges are computed once, for the sides and for the replies table."""
    from stancemap.errors import StancemapError
    from stancemap.stance.replies import reply_edges

    if replies_out is not None and comments_path is None:
        raise StancemapError(f"{replies_out}: the replies table needs the comments table (--comments)")
    fallback = not params.propositions and params.fallback == "replies"
    if comments_path is None or not (fallback or replies_out is not None):
        return None, None
    comments = read_table(comments_path, "comments")
    return comments, reply_edges(comments, params.reply_prior)


def run(
    params: StanceParams,
    *,
    claims: str | Path,
    out: str | Path,
    comments: str | Path | None = None,
    replies: str | Path | None = None,
    model=None,
    engine: str = "local",
    address: str | None = None,
) -> pl.DataFrame:
    """Write the stances table to `out` and return it. With `replies` (which needs `comments`),
    also write the replies table there, always: with or without propositions, whatever the
    fallback, empty (with its schema) when no reply was scored. Its edges are the very ones the
    reply fallback takes sides from, at the same `params.reply_prior`."""
    replies_out = replies
    claims = read_table(claims, "claims")
    comments, edges = _reply_edges(params, comments, replies_out)
    if replies_out is not None:
        replies = replies_table(comments, edges)
        write_table(replies, replies_out, "replies")
        counts = dict(replies.group_by("relation").len().sort("relation").iter_rows())
        say(f"stance: {replies.height} replies scored at reply_prior {params.reply_prior}: {counts} -> {replies_out}")
    if not params.propositions and params.fallback == "replies" and comments is not None:
        table = reply_stances(claims, comments, params, edges)
        if not (table["stance"] != "neither").any():  # no thread where a reply took a side
            table = pl.DataFrame(schema=STANCES)
            say("stance: no propositions, and reply structure gave no reply a side; sides are not computed")
        else:
            counts = dict(table.group_by("stance").len().iter_rows())
            say(f"stance: no propositions; {claims.height} claims toward their thread's opening post: {counts}")
        write_table(table, out, "stances")
        return table
    if not params.propositions:
        table = pl.DataFrame(schema=STANCES)  # the model is not even loaded
        write_table(table, out, "stances")
        if params.fallback == "found":
            say("stance: no propositions in params; the positions stage finds them per topic after clustering")
            return table
        why = "stance.fallback is none" if params.fallback == "none" else "no comments table given (--comments)"
        say(f"stance: no propositions in params (stance.propositions) and {why}; sides are not computed")
        return table
    if model is None:
        model = load_model(params, engine, address)
    table = stances(claims, params.propositions, model, params)
    write_table(table, out, "stances")
    counts = dict(table.group_by("stance").len().iter_rows())
    say(f"stance: {claims.height} claims x {len(params.propositions)} proposition(s): {counts}")
    return table
