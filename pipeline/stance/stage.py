"""The stance stage: claims -> one row per (claim, proposition) with P(pro) and a side.

Propositions come from `stance.propositions` in params.yaml. A claim is `pro` or `con` when the
model is confident enough (|P(pro) - 0.5| >= neutral_band), otherwise `neither`. Without
propositions the table is empty and clusters are not split by side.
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


def run(params: StanceParams, claims_path: str | Path, out: str | Path, model=None) -> pl.DataFrame:
    claims = read_table(claims_path, "claims")
    if not params.propositions:
        table = pl.DataFrame(schema=STANCES)  # the model is not even loaded
        write_table(table, out, "stances")
        say("stance: no propositions in params (stance.propositions); sides are not computed")
        return table
    if model is None:
        from pipeline.stance.model import StanceModel

        model = StanceModel(adapter_path(params.adapter))
    table = stances(claims, params.propositions, model, params)
    write_table(table, out, "stances")
    counts = dict(table.group_by("stance").len().iter_rows())
    say(f"stance: {claims.height} claims x {len(params.propositions)} proposition(s): {counts}")
    return table
