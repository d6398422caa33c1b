import numpy as np
import polars as pl
import pytest

from stancemap.cluster import reassign_noise, side_keys, split_by_side
from stancemap.config import StanceParams
from stancemap.errors import StancemapError
from stancemap.io import file_mode, read_table, write_table
from stancemap.stance.data import (
    Pair,
    negate,
    negate_claim,
    off_topic,
    parse_mix,
    read_key_points,
    read_stance_csv,
    topics_of,
    training_pairs,
    vast_split,
)
from stancemap.stance.stage import run as stance_run
from stancemap.stance.stage import side, sides, stances
from tests.conftest import claims_frame, shared_path


class FixedModel:
    """P(pro, con, neither) by keyword: 'theft' claims are pro, 'paid' claims con, anything else unsure."""

    def predict(self, propositions, texts, batch_size=64):
        rows = [[0.9, 0.05, 0.05] if "theft" in t else [0.05, 0.9, 0.05] if "paid" in t else [0.4, 0.3, 0.3]
                for t in texts]
        return np.array(rows, np.float32)


def test_negate_a_motion():
    assert negate("We should abandon marriage") == "We should not abandon marriage"
    assert negate("We should not abandon marriage") is None
    assert negate("Marriage is outdated") is None


def test_a_side_needs_min_confidence():
    probs = np.array([[0.7, 0.2, 0.1], [0.5, 0.3, 0.2], [0.1, 0.65, 0.25], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4]])
    assert sides(probs, 0.6) == ["pro", "neither", "con", "neither", "neither"]
    assert sides(probs, 0.34) == ["pro", "pro", "con", "neither", "neither"]
    assert sides(np.zeros((0, 3)), 0.6) == []


def test_side_uses_the_neutral_band():
    assert side(np.array([0.9, 0.6, 0.5, 0.36, 0.1]), 0.15) == ["pro", "neither", "neither", "neither", "con"]


def test_stances_long_table_and_stage(tmp_path):
    claims = claims_frame("Distillation is theft of work.", "They paid for every token.", "Export rules matter.")
    table = stances(claims, ("P one", "P two"), FixedModel(), StanceParams(propositions=("P one", "P two")))
    assert table.height == 6
    assert table.filter(pl.col("proposition") == 0)["stance"].to_list() == ["pro", "con", "neither"]
    claims_path, out = tmp_path / "claims.parquet", tmp_path / "stances.parquet"
    write_table(claims, claims_path, "claims")
    assert stance_run(StanceParams(), claims=claims_path, out=out).height == 0  # no propositions: no stances
    assert read_table(out, "stances").height == 0
    stance_run(StanceParams(propositions=("P",)), claims=claims_path, out=out, model=FixedModel())
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
    assert negated and {p.label for p in pairs} == {0, 1, 2}
    assert {p.source for p in pairs} >= {"vast", "semeval2016", "pstance", "nli/snli", "argq+argkp"}
    assert training_pairs(data, excluded, seed=1)[:50] == pairs[:50]  # reproducible order


def test_negate_a_claim():
    assert negate_claim("Uniforms are expensive") == "Uniforms are not expensive"
    assert negate_claim("People do not have the right to self-harm") == "People do have the right to self-harm"
    assert negate_claim("Homeschools can be personalised") == "Homeschools cannot be personalised"
    assert negate_claim("Assisted suicide reduces suffering") is None
    assert negate_claim("This island is small") == "This island is not small"  # "is", not "This"


def test_key_point_pairs_read_arguments_toward_claims(tmp_path):
    argkp = tmp_path / "argkp"
    argkp.mkdir()
    (argkp / "key_points_train.csv").write_text(
        "key_point_id,key_point,topic,stance\nk0,Uniforms are expensive,We should ban uniforms,1\n"
        "k1,Uniforms reduce bullying,Other motion,1\n", encoding="utf-8")
    (argkp / "arguments_train.csv").write_text(
        "arg_id,argument,topic,stance\na0,They cost families a fortune,We should ban uniforms,1\n"
        "a1,Kids hate them,We should ban uniforms,1\na2,Fewer fights,Other motion,1\n", encoding="utf-8")
    (argkp / "labels_train.csv").write_text(
        "arg_id,key_point_id,label\na0,k0,1\na1,k0,0\na2,k1,1\n", encoding="utf-8")
    rng = __import__("random").Random(0)
    runs = [read_key_points(tmp_path, {"other motion"}, rng) for _ in range(20)]
    assert all(p.topic == "We should ban uniforms" and p.source == "keypoints" for run in runs for p in run)
    labelled = {(p.proposition, p.text, p.label) for run in runs for p in run}
    assert ("Uniforms are expensive", "They cost families a fortune", 0) in labelled  # makes the point: pro
    assert ("Uniforms are not expensive", "They cost families a fortune", 1) in labelled  # its negation: con
    assert ("Uniforms are expensive", "Kids hate them", 2) in labelled  # another point of the side: neither
    assert len(labelled) == 3
    (argkp / "labels_train.csv").write_text("arg_id,key_point_id,label\na0,k9,1\n", encoding="utf-8")
    with pytest.raises(StancemapError, match="labels_train.csv:2"):
        read_key_points(tmp_path, set(), rng)


def test_off_topic_pairs_are_neither_and_share_no_word():
    families = {
        "a": [Pair("School uniforms", "Uniforms make school cheaper for families.", 0, "School uniforms", "a"),
              Pair("Whaling", "Whales are hunted far too often.", 1, "Whaling", "a")],
        "b": [Pair("Two dogs run.", "Two dogs are running on grass.", 0, "Two dogs run.", "b")],
    }
    pairs = off_topic(families, 20, __import__("random").Random(0))
    assert len(pairs) == 20 and {p.label for p in pairs} == {2} and {p.source for p in pairs} == {"offtopic"}
    texts = {name: {p.text for p in family} for name, family in families.items()}
    for p in pairs:  # a text is never read against a proposition of its own family
        own = next(name for name, t in texts.items() if p.text in t)
        assert p.proposition not in {q.proposition for q in families[own]}
        assert "school" not in p.text.lower() or "school" not in p.proposition.lower()
    assert off_topic({"a": families["a"]}, 5, __import__("random").Random(0)) == []  # one family: none


def test_mix_without_off_topic_pairs_is_unchanged_and_parse_mix_checks():
    data = shared_path("eval")
    assert training_pairs(data, set(), seed=3)[:200] == training_pairs(data, set(), 3, {"offtopic": 0})[:200]
    mixed = training_pairs(data, set(), 3, {"offtopic": 500, "nli": 100})
    assert sum(p.source == "offtopic" for p in mixed) == 500 and sum(p.source.startswith("nli") for p in mixed) == 100
    with_points = training_pairs(data, set(), 3, {"keypoints": 300})
    assert sum(p.source == "keypoints" for p in with_points) == 300
    assert parse_mix(["offtopic=10", "vast=all"]) == {"offtopic": 10, "vast": None}
    for bad in ("offtopic", "nope=3", "vast=-1"):
        with pytest.raises(StancemapError, match="--mix"):
            parse_mix([bad])


def test_vast_dev_and_tune_are_disjoint_from_training_by_topic_and_text():
    data = shared_path("eval")
    split = vast_split(read_stance_csv(data / "stance" / "vast" / "train.csv", "vast"))
    train = split["train"]
    train_topics, train_texts = {p.topic.lower() for p in train}, {p.text for p in train}
    for held in ("tune", "dev"):
        assert split[held]
        assert not {p.topic.lower() for p in split[held]} & train_topics
        assert not {p.text for p in split[held]} & train_texts
    assert not {p.topic.lower() for p in split["tune"]} & {p.topic.lower() for p in split["dev"]}
    pairs = training_pairs(data, set(), seed=1)
    assert not {p.text for p in pairs if p.source == "vast"} & {p.text for p in split["dev"]}


@pytest.mark.slow
def test_training_runs_saves_and_reloads(tmp_path):
    from stancemap.stance.card import write_card
    from stancemap.stance.model import StanceModel
    from stancemap.stance.train import train

    data = shared_path("eval")
    facts = train(data, tmp_path / "model", topics_of(data / "argkp" / "arguments_dev.csv"), epochs=1,
                  max_pairs=64, threads=1)
    assert facts["training_pairs"] == 64 and facts["best_epoch"] == 1
    assert all(f.stat().st_mode & 0o777 == file_mode() for f in (tmp_path / "model").iterdir())  # not 0600
    assert 0.0 <= facts["tuning"][0]["tune_macro_f1"] <= 1.0
    card = write_card(tmp_path / "model", facts).read_text(encoding="utf-8")
    assert "We should end affirmative action" in card  # excluded topics are named
    assert "CDLA-Sharing-1.0" in card and "VAST" in card  # every dataset with its terms
    model = StanceModel(tmp_path / "model")
    p = model.predict(["We should ban smoking"] * 2, ["Smoking kills.", "Adults may choose."])
    assert p.shape == (2, 3) and np.allclose(p.sum(axis=1), 1.0, atol=1e-5)
    again = StanceModel(tmp_path / "model").predict(
        ["We should ban smoking"] * 2, ["Smoking kills.", "Adults may choose."])
    assert np.array_equal(p, again)


@pytest.mark.slow
def test_committed_adapter_finds_sides_on_an_unseen_argkp_topic():
    """The real adapter on an ArgKP dev topic it never saw (the product's own stages end to end).
    Run alone the topic embeds in other batches than in the full evaluation, so the clusters move
    a little: measured alone, purity 0.80; in the full run 0.878, stance accuracy 0.714."""
    from stancemap.config import load_params
    from stancemap.evaluate.argkp import evaluate, product_stance
    from tests.conftest import REPO

    params = load_params(REPO / "params.yaml")
    topic = "We should abandon the use of school uniform"
    result = evaluate(
        shared_path("eval", "argkp"), "dev", params, predict_stance=product_stance(params), topics=[topic]
    )
    (row,) = result["topics"]
    assert row["stance_accuracy"] >= 0.65  # "neither" counts as wrong; chance is below 0.5
    assert row["stance_purity"] >= 0.75 and row["coverage"] >= 0.9
