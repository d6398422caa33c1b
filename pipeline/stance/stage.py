"""The stance stage: claims -> one row per (claim, proposition) with P(pro) and a side.

Propositions come from `stance.propositions` in params.yaml. A claim is `pro` or `con` when the
model is confident enough (|P(pro) - 0.5| >= neutral_band), otherwise `neither`. Without
propositions and with `stance.fallback: replies` (and the comments table), there is one implicit
proposition, index 0, "the thread's opening post": a claim is `pro` (with it) or `con` (against
it) as reply structure says (pipeline/stance/replies.py). With `fallback: none` the table is empty
and clusters are not split by side.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from pipeline.config import StanceParams
from pipeline.io import read_table, write_table
from pipeline.progress import say
from pipeline.schemas import STANCES

REPO = Path(__file__).resolve().parents[2]


def adapter_path(name: str) -> Path:
    """`stance.adapter` as given when it exists, else relative to the repository (where the
    trained adapter is committed), so `stancemap run --workdir elsewhere` finds it too."""
    path = Path(name)
    return path if path.is_absolute() or path.exists() else REPO / path


def side(p_pro: np.ndarray, neutral_band: float) -> list[str]:
    return ["pro" if p - 0.5 >= neutral_band else "con" if 0.5 - p >= neutral_band else "neither" for p in p_pro]


def stances(claims: pl.DataFrame, propositions: tuple[str, ...], model, params: StanceParams) -> pl.DataFrame:
    """Long table (schema STANCES): every claim against every proposition."""
    rows = {name: [] for name in STANCES}
    texts = claims["text"].to_list()
    for index, proposition in enumerate(propositions):
        p_pro = model.predict([proposition] * len(texts), texts, params.batch_size) if texts else np.zeros(0)
        rows["claim_id"].extend(claims["claim_id"].to_list())
        rows["proposition"].extend([index] * len(texts))
        rows["p_pro"].extend(np.round(p_pro, 6).tolist())
        rows["stance"].extend(side(p_pro, params.neutral_band))
    return pl.DataFrame(rows, schema=STANCES)


def reply_stances(claims: pl.DataFrame, comments: pl.DataFrame, params: StanceParams) -> pl.DataFrame:
    """Without propositions: each claim's side toward its thread's opening post (proposition 0),
    from reply structure; p_pro is P(with the opening post), a claim inherits its comment's. A thread
    where no reply takes a side has no sides at all: its opening post is not "pro" toward itself
    (that would read as a position, and a question takes none)."""
    from pipeline.stance.replies import opening_posts, reply_edges, sides_toward_opening_post

    p_with = sides_toward_opening_post(reply_edges(comments, params.reply_prior))
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


def run(
    params: StanceParams,
    claims_path: str | Path,
    out: str | Path,
    model=None,
    comments_path: str | Path | None = None,
) -> pl.DataFrame:
    claims = read_table(claims_path, "claims")
    if not params.propositions and params.fallback == "replies" and comments_path is not None:
        table = reply_stances(claims, read_table(comments_path, "comments"), params)
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
        why = "stance.fallback is none" if params.fallback == "none" else "no comments table given (--comments)"
        say(f"stance: no propositions in params (stance.propositions) and {why}; sides are not computed")
        return table
    if model is None:
        from pipeline.stance.model import StanceModel

        model = StanceModel(adapter_path(params.adapter))
    table = stances(claims, params.propositions, model, params)
    write_table(table, out, "stances")
    counts = dict(table.group_by("stance").len().iter_rows())
    say(f"stance: {claims.height} claims x {len(params.propositions)} proposition(s): {counts}")
    return table
