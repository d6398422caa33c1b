"""Positions found without being told (pipeline/stance/positions.py), with a fake stance model."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from stancemap.schemas import conform
from stancemap.stance.positions import choose_propositions, find_positions


class NotModel:
    """Reads "not" as disagreement: a text and a proposition differ in side when exactly one says
    "not"; "maybe" makes it unsure (neither)."""

    def __init__(self):
        self.calls = []

    def predict(self, propositions, texts, batch_size=64):
        self.calls.append(len(texts))
        out = []
        for p, t in zip(propositions, texts, strict=True):
            if "maybe" in t:
                out.append([0.3, 0.3, 0.4])
            elif ("not" in p.split()) == ("not" in t.split()):
                out.append([0.9, 0.05, 0.05])
            else:
                out.append([0.05, 0.9, 0.05])
        return np.array(out, dtype=np.float32)


def _claims(texts, comments=None, kinds=None):
    n = len(texts)
    return pl.DataFrame(
        {
            "claim_id": [f"c{i}#0" for i in range(n)],
            "comment_id": comments or [f"c{i}" for i in range(n)],
            "text": texts,
            "kind": kinds or ["claim"] * n,
        }
    )


def _vectors(n, topics):
    rng = np.random.default_rng(0)
    v = rng.normal(size=(n, 8)).astype(np.float32) * 0.1
    for i, t in enumerate(topics):
        v[i, max(t, 0)] += 1.0
    return v / np.linalg.norm(v, axis=1, keepdims=True)


TEXTS = [
    "distillation of a model is theft of work",  # topic 0
    "distillation is not theft of anything at all",
    "it is theft when they copy the outputs",
    "maybe it depends",
    "open weights are good for everyone here",  # topic 1
    "open weights are not good for safety reasons",
    "unclustered text about something else entirely",
]
TOPICS = [0, 0, 0, 0, 1, 1, -1]


def test_each_topic_gets_its_central_eligible_claim_as_proposition():
    claims = _claims(TEXTS, kinds=["question"] + ["claim"] * 6)
    chosen = choose_propositions(claims, np.array(TOPICS), _vectors(7, TOPICS))
    assert set(chosen) == {0, 1}  # unclustered claims get no proposition
    assert chosen[0] != 0  # a question never states the position
    assert TOPICS[chosen[0]] == 0 and TOPICS[chosen[1]] == 1


def test_claims_take_sides_toward_their_topic_and_unsure_ones_stay_neither():
    claims = _claims(TEXTS)
    clusters = pl.DataFrame({"claim_id": claims["claim_id"], "topic": TOPICS})
    positions, sides = find_positions(claims, clusters, _vectors(7, TOPICS), NotModel(), 0.6)
    conform(positions, "positions", "test")
    conform(sides, "sides", "test")
    side = dict(zip(sides["claim_id"], sides["side"], strict=True))
    prop = dict(zip(positions["topic"], positions["claim_id"], strict=True))
    assert side[prop[0]] == "pro"
    assert side["c3#0"] == "neither"  # "maybe": below min_confidence
    assert side["c6#0"] is None  # unclustered
    with_not = {c: ("not" in t.split()) for c, t in zip(claims["claim_id"], TEXTS, strict=True)}
    for cid in ("c0#0", "c1#0", "c2#0"):
        expected = "pro" if with_not[cid] == with_not[prop[0]] else "con"
        assert side[cid] == expected
    row = positions.filter(pl.col("topic") == 0).row(0, named=True)
    assert row["n_pro"] + row["n_con"] + row["n_neither"] == row["n_claims"] == 4


def test_opposite_topics_are_linked_both_ways():
    texts = ["distillation is theft of their work", "copying outputs is theft too",
             "distillation is not theft of their work", "copying outputs is not theft either"]
    topics = [0, 0, 1, 1]
    claims = _claims(texts)
    clusters = pl.DataFrame({"claim_id": claims["claim_id"], "topic": topics})
    positions, _ = find_positions(claims, clusters, _vectors(4, topics), NotModel(), 0.6)
    assert positions["opposes"].to_list() == [1, 0]
    assert all(p >= 0.6 for p in positions["opposition"].to_list())


def test_a_confident_rebuttal_gives_an_unsure_reply_the_opposite_side():
    texts = ["distillation is theft of work", "distillation is theft of all", "maybe you are wrong"]
    topics = [0, 0, 0]
    claims = _claims(texts, comments=["a", "b", "c"])
    clusters = pl.DataFrame({"claim_id": claims["claim_id"], "topic": topics})
    replies = pl.DataFrame({"comment_id": ["c"], "parent_id": ["a"], "relation": ["rebut"]})
    _, sides = find_positions(claims, clusters, _vectors(3, topics), NotModel(), 0.6, replies=replies)
    row = sides.filter(pl.col("claim_id") == "c2#0").row(0, named=True)
    assert (row["side"], row["evidence"]) == ("con", "replies")
    _, plain = find_positions(claims, clusters, _vectors(3, topics), NotModel(), 0.6)
    assert plain.filter(pl.col("claim_id") == "c2#0")["side"].item() == "neither"


def test_a_proposition_must_stand_without_its_comment():
    from stancemap.stance.positions import stands_alone

    assert stands_alone("Distillation is theft of their work.")
    assert not stands_alone("That's why these models fail off-distribution.")
    assert not stands_alone("I'll be voting against the motion.")
    assert not stands_alone('"It is theft," they said.')
    texts = ["That is the whole case for calling it theft", "Distillation is the whole case for theft here"]
    claims = _claims(texts)
    vectors = np.array([[1.0, 0.0], [0.8, 0.6]], np.float32)  # the leaning claim is more central
    assert choose_propositions(claims, np.array([0, 0]), vectors) == {0: 1}


@pytest.mark.slow
def test_the_committed_model_finds_positions_and_reads_clear_pairs():
    """The real stance model (the bundled stance-minilm) through find_positions, and on pairs whose
    side is not in doubt (each checked by hand: docs/stance.md has its measured limits)."""
    from stancemap.config import StanceParams
    from stancemap.stance.stage import load_model

    model = load_model(StanceParams())
    probs = model.predict(
        ["We should ban smoking in public places"] * 2 + ["A man is playing a guitar on stage."],
        ["Smoking in public harms everyone around the smoker.", "Adults should be free to smoke wherever they like.",
         "A musician performs with his guitar in front of a crowd."],
    )
    assert probs.shape == (3, 3) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    # the third: a crowd does not make a stage, so neither (NLI's neutral) is the right answer
    assert probs.argmax(axis=1).tolist() == [0, 1, 2]
    texts = ["Distillation through the API is theft of their work", "Distillation is not theft at all",
             "Copying outputs at scale is stealing the product", "Open weights help researchers everywhere",
             "Open weights let anyone study the model", "Releasing weights is good for science"]
    topics = [0, 0, 0, 1, 1, 1]
    claims = _claims(texts)
    clusters = pl.DataFrame({"claim_id": claims["claim_id"], "topic": topics})
    positions, sides = find_positions(claims, clusters, _vectors(6, topics), model, 0.7)
    conform(positions, "positions", "test")
    conform(sides, "sides", "test")
    assert positions["topic"].to_list() == [0, 1]
    for row in positions.iter_rows(named=True):
        assert row["proposition"] in texts and row["n_pro"] >= 1  # the proposition states its own side
    assert set(sides["side"].to_list()) <= {"pro", "con", "neither"}
    assert np.isfinite(sides["p_pro"].to_numpy()).all()
