import csv
import json
import math
import re

import numpy as np
import pytest

from stancemap.config import ClusterParams, Params
from stancemap.errors import InputError, StancemapError
from stancemap.evaluate.argkp import METRICS, by_argument, evaluate, load_split, mean, run, score_topic, table
from tests.conftest import shared_path

# three key points per topic, each with its own words, so the fake embedder keeps them apart
WORDS = {
    "uniform": {
        "cost": ["uniforms", "save", "parents", "money", "cheaper", "clothes", "budget", "spending"],
        "bully": ["bullying", "teasing", "fashion", "pressure", "poorer", "pupils", "mocked", "brands"],
        "self": ["expression", "identity", "individuality", "creativity", "personal", "style", "freedom", "choose"],
    },
    "austerity": {
        "debt": ["deficit", "debt", "borrowing", "interest", "bonds", "repay", "fiscal", "balance"],
        "poor": ["welfare", "cuts", "vulnerable", "families", "hardship", "benefits", "hurt", "poverty"],
        "growth": ["growth", "recession", "demand", "jobs", "unemployment", "economy", "stimulus", "slump"],
    },
}


def write_split(folder, split="dev", drop_column=None):
    """Two topics of 24 arguments (8 per key point); every fourth argument matches no key point
    and every eighth matches two; the third key point of each topic argues the other side."""
    args, kps, labels = [], [], []
    for t, (topic, points) in enumerate(WORDS.items()):
        names = list(points)
        for k, name in enumerate(names):
            kps.append((f"kp_{t}_{k}", f"key point {name}", topic, -1 if k == 2 else 1))
        for k, words in enumerate(points.values()):
            for i in range(8):
                arg_id = f"arg_{t}_{k * 8 + i}"
                text = " ".join(words[(i + j) % 8] for j in range(5)) + "."
                if i == 0:
                    text += " " + " ".join(words[3:7]) + " indeed."  # two sentences: two claims
                args.append((arg_id, text, topic, -1 if k == 2 else 1))
                for other in range(3):
                    match = other == k and i % 4 != 3 or (i == 5 and other == (k + 1) % 3)
                    labels.append((arg_id, f"kp_{t}_{other}", int(match)))
    for name, header, rows in [
        ("arguments", ["arg_id", "argument", "topic", "stance"], args),
        ("key_points", ["key_point_id", "key_point", "topic", "stance"], kps),
        ("labels", ["arg_id", "key_point_id", "label"], labels),
    ]:
        with open(folder / f"{name}_{split}.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            keep = [i for i, c in enumerate(header) if c != drop_column or name != "arguments"]
            writer.writerow([header[i] for i in keep])
            writer.writerows([[row[i] for i in keep] for row in rows])
    return folder


SMALL = Params(cluster=ClusterParams(min_cluster_size=4, n_neighbors=8))


def test_scores_of_six_arguments_by_hand():
    # gold: a0, a1, a5 -> A; a2, a4 -> B; a3 matches no key point (not gold, but counts for coverage/purity)
    clusters = [0, 0, 1, 1, -1, -1]
    key_points = ["A", "A", "B", None, "B", "A"]
    stances = [1, 1, 1, -1, -1, 1]
    s = score_topic(clusters, key_points, stances, predicted_stances=[1, 1, -1, -1, 1, 1])
    assert (s["n_arguments"], s["n_gold"], s["n_key_points"], s["n_clusters"]) == (6, 5, 2, 2)
    assert s["coverage"] == pytest.approx(4 / 6)
    assert s["stance_purity"] == pytest.approx(3 / 4)  # cluster 0: 2 of 2 pro, cluster 1: 1 of 2
    assert s["stance_accuracy"] == pytest.approx(4 / 6)
    # gold A = {a0, a1, a5}, B = {a2, a4}; predicted 0 = {a0, a1}, 1 = {a2}, noise = {a4, a5}
    pairs = 1  # C(2,2) for A∩0; every other cell holds 1 argument
    rows, cols, total = 3 + 1, 1 + 0 + 1, 10  # C(3,2)+C(2,2); C(2,2)+C(1,2)+C(2,2); C(5,2)
    expected = rows * cols / total
    assert s["ari"] == pytest.approx((pairs - expected) / ((rows + cols) / 2 - expected))  # = 1/11
    entropy = lambda *p: -sum(x * math.log(x) for x in p)  # noqa: E731
    mi = 0.4 * math.log(5 / 3) + 0.2 * math.log(5 / 6) + 0.2 * math.log(5 / 2) + 0.2 * math.log(5 / 4)
    assert s["nmi"] == pytest.approx(mi / ((entropy(0.6, 0.4) + entropy(0.4, 0.4, 0.2)) / 2))


def test_perfect_and_empty_predictions():
    perfect = score_topic([0, 0, 1, 1], ["A", "A", "B", "B"], [1, 1, -1, -1])
    assert perfect["ari"] == perfect["nmi"] == perfect["coverage"] == perfect["stance_purity"] == 1.0
    assert perfect["stance_accuracy"] is None  # no stance prediction yet
    noise = score_topic([-1, -1, -1], ["A", None, "B"], [1, -1, 1])
    assert noise["coverage"] == 0.0 and noise["stance_purity"] is None and noise["n_clusters"] == 0
    assert score_topic([0, 1], [None, None], [1, 1])["ari"] is None  # no gold arguments


def test_claims_vote_for_their_argument():
    ids = ["a", "b", "c", "d"]
    claim_ids = ["a", "a", "a", "b", "b", "c"]
    assert by_argument(ids, claim_ids, [2, 3, 3, -1, 4, -1], none=-1).tolist() == [3, 4, -1, -1]
    assert by_argument(ids, claim_ids, [5, 6, -1, 1, 1, 1], none=-1).tolist() == [5, 1, 1, -1]  # tie: first claim


def test_mean_skips_undefined_scores():
    rows = [dict.fromkeys(METRICS, None) | {"ari": 0.2, "stance_purity": None}, dict.fromkeys(METRICS, None)]
    rows[1].update(ari=0.4, stance_purity=0.8)
    m = mean(rows)
    assert m["ari"] == pytest.approx(0.3) and m["stance_purity"] == 0.8 and m["stance_accuracy"] is None


def test_load_split_topics_and_gold(tmp_path):
    topics = load_split(write_split(tmp_path), "dev")
    assert [t.name for t in topics] == ["uniform", "austerity"]
    first = topics[0]
    assert len(first.arg_ids) == 24
    assert first.key_points[:8] == ["kp_0_0"] * 3 + [None] + ["kp_0_0", None, "kp_0_0", None]  # 0 or 2 matches
    assert first.stances[16:] == [-1] * 8


def test_synthetic_split_with_fake_embedder(tmp_path, fake_embedder):
    data = write_split(tmp_path)
    out = tmp_path / "scores.json"
    result = run(data, "dev", SMALL, out, embedder=fake_embedder, with_stance=False)
    assert len(fake_embedder.calls) == 1  # one embedding call for every topic
    assert [r["topic"] for r in result["topics"]] == ["uniform", "austerity"]
    for r in result["topics"]:
        assert r["n_arguments"] == 24 and r["n_gold"] == 15 and r["n_claims"] == 27
        assert 0 <= r["coverage"] <= 1 and r["stance_accuracy"] is None
    assert result["mean"]["nmi"] > 0.5  # the key points do not share a word
    saved = json.loads(out.read_text())
    assert set(saved["mean"]) == set(METRICS) and len(saved["topics"]) == 2
    last = table(result).splitlines()[-1]
    assert last.startswith("MEAN ARI=") and " NMI=" in last and last.endswith("stance_accuracy=n/a")


def test_stance_hook_fills_stance_accuracy(tmp_path, fake_embedder):
    def predict_stance(claims, vectors, proposition):
        assert len(claims) == len(vectors) and proposition in WORDS
        con = set(list(WORDS[proposition].values())[2])  # the third key point argues against
        return np.array([-1 if set(re.findall(r"\w+", t)) & con else 1 for t in claims["text"]])

    result = evaluate(write_split(tmp_path), "dev", SMALL, fake_embedder, predict_stance=predict_stance)
    assert [r["stance_accuracy"] for r in result["topics"]] == [1.0, 1.0]
    assert result["mean"]["stance_accuracy"] == 1.0
    assert "n/a" not in table(result)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "labels_dev.csv").unlink(), r"labels_dev.csv: missing"),
        (lambda d: write_split(d, drop_column="stance"), r"arguments_dev.csv: no column stance"),
        (
            lambda d: (d / "arguments_dev.csv").write_text("arg_id,argument,topic,stance\na1,x y z,t,pro\n"),
            r"arguments_dev.csv:2: stance must be -1 or 1, got 'pro'",
        ),
        (
            lambda d: (d / "labels_dev.csv").write_text("arg_id,key_point_id,label\nnope,kp_0_0,1\n"),
            r"labels_dev.csv:2: arg_id 'nope' is not in arguments_dev.csv",
        ),
    ],
)
def test_bad_split_names_the_file_and_problem(tmp_path, damage, message):
    write_split(tmp_path)
    damage(tmp_path)
    with pytest.raises(InputError, match=message):
        load_split(tmp_path, "dev")


def test_unknown_split_or_topic(tmp_path, fake_embedder):
    write_split(tmp_path)
    with pytest.raises(InputError, match="arguments_test.csv: missing"):
        load_split(tmp_path, "test")
    with pytest.raises(StancemapError, match="no topic 'marriage'"):
        evaluate(tmp_path, "dev", SMALL, fake_embedder, topics=["marriage"])


@pytest.mark.slow
def test_real_dev_split_two_topics(real_embedder):
    from stancemap.config import load_params
    from tests.conftest import REPO

    data = shared_path("eval", "argkp")
    names = [t.name for t in load_split(data, "dev")[:2]]
    result = evaluate(data, "dev", load_params(REPO / "params.yaml"), real_embedder, topics=names)
    assert [r["topic"] for r in result["topics"]] == names
    for r in result["topics"]:
        assert r["n_arguments"] > 200 and 0 < r["n_gold"] <= r["n_arguments"] <= r["n_claims"]
        assert r["n_clusters"] >= 2
        assert 0 <= r["coverage"] <= 1 and 0.5 <= r["stance_purity"] <= 1 and 0 < r["nmi"] <= 1
        assert -1 <= r["ari"] <= 1 and r["stance_accuracy"] is None
    assert result["mean"]["nmi"] > 0.15  # BERTopic's defaults reach 0.175 on the whole split
