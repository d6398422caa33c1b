import numpy as np
import polars as pl
import pytest

from pipeline.cluster import reassign_noise, side_keys, split_by_side
from pipeline.config import StanceParams
from pipeline.io import read_table, write_table
from pipeline.stance.data import negate, topics_of, training_pairs
from pipeline.stance.stage import run as stance_run
from pipeline.stance.stage import side, stances
from tests.conftest import claims_frame, shared_path


class FixedModel:
    """P(pro) by keyword: 'theft' claims are pro, 'paid' claims con, anything else unsure."""

    def predict(self, propositions, texts, batch_size=64):
        return np.array([0.9 if "theft" in t else 0.1 if "paid" in t else 0.5 for t in texts], np.float32)


def test_negate_a_motion():
    assert negate("We should abandon marriage") == "We should not abandon marriage"
    assert negate("We should not abandon marriage") is None
    assert negate("Marriage is outdated") is None


def test_side_uses_the_neutral_band():
    assert side(np.array([0.9, 0.6, 0.5, 0.36, 0.1]), 0.15) == ["pro", "neither", "neither", "neither", "con"]


def test_stances_long_table_and_stage(tmp_path):
    claims = claims_frame("Distillation is theft of work.", "They paid for every token.", "Export rules matter.")
    table = stances(claims, ("P one", "P two"), FixedModel(), StanceParams(propositions=("P one", "P two")))
    assert table.height == 6
    assert table.filter(pl.col("proposition") == 0)["stance"].to_list() == ["pro", "con", "neither"]
    claims_path, out = tmp_path / "claims.parquet", tmp_path / "stances.parquet"
    write_table(claims, claims_path, "claims")
    assert stance_run(StanceParams(), claims_path, out).height == 0  # no propositions: no stances
    assert read_table(out, "stances").height == 0
    stance_run(StanceParams(propositions=("P",)), claims_path, out, model=FixedModel())
    assert read_table(out, "stances")["stance"].to_list() == ["pro", "con", "neither"]


def test_clusters_never_mix_sides():
    topics = np.array([0, 0, 0, 1, 1, -1])
    stance_rows = pl.DataFrame(
        {
            "claim_id": list("abcdef"),
            "proposition": [0] * 6,
            "p_pro": [0.9, 0.1, 0.9, 0.1, 0.1, 0.9],
            "stance": ["pro", "con", "pro", "con", "con", "pro"],
        },
        schema={"claim_id": pl.Utf8, "proposition": pl.Int32, "p_pro": pl.Float32, "stance": pl.Utf8},
    )
    sides = side_keys(list("abcdef"), stance_rows)
    assert sides == ["pro", "con", "pro", "con", "con", "pro"]
    clusters = split_by_side(topics, sides)
    assert clusters.tolist()[-1] == -1
    for c in set(clusters.tolist()) - {-1}:
        members = [s for s, k in zip(sides, clusters.tolist(), strict=True) if k == c]
        assert len(set(members)) == 1
    assert clusters[0] == clusters[2] != clusters[1]
    assert side_keys(["a"], None) == [None]


def test_several_propositions_give_a_joint_side():
    stance_rows = pl.DataFrame(
        {"claim_id": ["a", "a"], "proposition": [0, 1], "p_pro": [0.9, 0.1], "stance": ["pro", "con"]},
        schema={"claim_id": pl.Utf8, "proposition": pl.Int32, "p_pro": pl.Float32, "stance": pl.Utf8},
    )
    assert side_keys(["a", "b"], stance_rows) == ["1:pro 2:con", "1:neither 2:neither"]


def test_noise_joins_a_close_topic_only():
    vectors = np.array([[1, 0], [0.98, 0.2], [0, 1], [0.95, 0.31], [-1, 0]], np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = np.array([0, 0, 1, -1, -1])
    assert reassign_noise(labels, vectors, 0.5).tolist() == [0, 0, 1, 0, -1]
    assert reassign_noise(labels, vectors, 1.0).tolist() == labels.tolist()


def test_training_pairs_exclude_evaluated_topics():
    data = shared_path("eval")
    excluded = topics_of(data / "argkp" / "arguments_dev.csv")
    assert len(excluded) == 4
    pairs = training_pairs(data, excluded, seed=1)
    assert not {p.topic for p in pairs} & excluded
    negated = [p for p in pairs if " should not " in p.proposition and " should not " not in p.topic]
    assert negated and all(p.label in (0, 1) for p in pairs)
    assert training_pairs(data, excluded, seed=1)[:50] == pairs[:50]  # reproducible order


@pytest.mark.slow
def test_training_runs_saves_and_reloads(tmp_path, monkeypatch):
    from pipeline.stance.card import write_card
    from pipeline.stance.model import StanceModel
    from pipeline.stance.train import train

    data = shared_path("eval")
    facts = train(data, tmp_path / "adapter", topics_of(data / "argkp" / "arguments_dev.csv"), max_pairs=64)
    assert facts["training_pairs"] == 64 and 0.0 <= facts["validation_accuracy"] <= 1.0
    card = write_card(tmp_path / "adapter", facts).read_text(encoding="utf-8")
    assert "We should end affirmative action" in card  # excluded topics are named
    model = StanceModel(tmp_path / "adapter")
    p = model.predict(["We should ban smoking"] * 2, ["Smoking kills.", "Adults may choose."])
    assert p.shape == (2,) and ((p >= 0) & (p <= 1)).all()
    assert np.array_equal(
        p,
        StanceModel(tmp_path / "adapter").predict(
            ["We should ban smoking"] * 2, ["Smoking kills.", "Adults may choose."]
        ),
    )


@pytest.mark.slow
def test_committed_adapter_finds_sides_on_an_unseen_argkp_topic():
    """The real adapter on an ArgKP dev topic it never saw (the product's own stages end to end).
    Run alone the topic embeds in other batches than in the full evaluation, so the clusters move
    a little: measured alone, purity 0.80; in the full run 0.878, stance accuracy 0.714."""
    from pipeline.config import load_params
    from pipeline.evaluate.argkp import evaluate, product_stance
    from tests.conftest import REPO

    params = load_params(REPO / "params.yaml")
    topic = "We should abandon the use of school uniform"
    result = evaluate(
        shared_path("eval", "argkp"), "dev", params, predict_stance=product_stance(params), topics=[topic]
    )
    (row,) = result["topics"]
    assert row["stance_accuracy"] >= 0.65  # "neither" counts as wrong; chance is below 0.5
    assert row["stance_purity"] >= 0.75 and row["coverage"] >= 0.9
