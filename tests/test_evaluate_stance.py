import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from stancemap.cli import app
from stancemap.config import StanceParams
from stancemap.errors import InputError
from stancemap.evaluate import stance as evaluation
from stancemap.stance.data import read_stance_csv
from tests.conftest import stancemap

REPO = Path(__file__).resolve().parents[1]
KEYS = {"n", "accuracy", "macro_f1", "side_precision", "side_recall"}
MEAN_LINE = re.compile(
    r"MEAN stance: n=\d+ accuracy=(\d\.\d{3}|n/a) macro_F1=(\d\.\d{3}|n/a) "
    r"side_precision=(\d\.\d{3}|n/a) side_recall=(\d\.\d{3}|n/a)"
)

# (proposition, text, gold, P(pro, con, neither)); with min_confidence 0.6 the stage's rule gives
# the side in the comment
FILE_A = [
    ("X", "t1", "pro", (0.9, 0.05, 0.05)),  # pro, right
    ("X", "t2", "pro", (0.55, 0.4, 0.05)),  # pro is likeliest but under 0.6: neither, wrong
    ("X", "t3", "con", (0.1, 0.8, 0.1)),  # con, right
    ("X", "t4", "con", (0.7, 0.2, 0.1)),  # pro, wrong
    ("X", "t5", "neither", (0.1, 0.1, 0.8)),  # neither, right
    ("X", "t6", "neither", (0.3, 0.3, 0.4)),  # neither, right
    ("Y", "t7", "pro", (0.5, 0.1, 0.4)),  # neither, wrong  (Y: no row given a side)
    ("Y", "t8", "neither", (0.2, 0.2, 0.6)),  # neither, right
]
FILE_B = [  # only pro / con gold
    ("Z", "t9", "pro", (0.8, 0.1, 0.1)),  # pro, right
    ("Z", "t10", "con", (0.2, 0.2, 0.6)),  # neither, wrong
    ("Z", "t11", "con", (0.1, 0.85, 0.05)),  # con, right
    ("Z", "t12", "pro", (0.1, 0.7, 0.2)),  # con, wrong
]
PROBS = {text: probs for _, text, _, probs in FILE_A + FILE_B}


class FakeModel:
    """P(pro, con, neither) looked up by text; counts the pairs it is asked about."""

    def __init__(self, folder=None):
        self.folder = folder
        self.seen: list[tuple[str, str]] = []

    def predict(self, propositions, texts, batch_size=64):
        self.seen.extend(zip(propositions, texts, strict=True))
        return np.array([PROBS.get(t, (0.2, 0.2, 0.6)) for t in texts], dtype=np.float32)


def write_csv(path: Path, rows, header=("proposition", "text", "stance")) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(row[:3] for row in rows)
    return path


@pytest.fixture
def two_files(tmp_path):
    return write_csv(tmp_path / "a.csv", FILE_A), write_csv(tmp_path / "b.csv", FILE_B)


def approx(expected: dict) -> dict:
    return {k: (v if v is None or k == "n" else pytest.approx(v, abs=1e-9)) for k, v in expected.items()}


def test_scores_by_hand(two_files):
    a, b = two_files
    model = FakeModel()
    files = {str(a): read_stance_csv(a), str(b): read_stance_csv(b)}
    result = evaluation.evaluate(files, model, min_confidence=0.6)
    assert len(model.seen) == 12
    per_file = {f["file"]: f for f in result["files"]}
    # pro F1 1/(1+.5(1+2)) = .4, con 2/3, neither 6/8
    assert per_file[str(a)] == approx(
        {
            "file": str(a),
            "n": 8,
            "accuracy": 5 / 8,
            "macro_f1": (0.4 + 2 / 3 + 0.75) / 3,
            "side_precision": 2 / 3,
            "side_recall": 2 / 5,
        }
    )
    # only pro / con gold: macro-F1 over those two (a "neither" class would add an F1 of 0)
    assert per_file[str(b)] == approx(
        {
            "file": str(b),
            "n": 4,
            "accuracy": 0.5,
            "macro_f1": (2 / 3 + 0.5) / 2,
            "side_precision": 2 / 3,
            "side_recall": 0.5,
        }
    )
    props = {(p["file"], p["proposition"]): p for p in result["propositions"]}
    assert list(props) == [(str(a), "X"), (str(a), "Y"), (str(b), "Z")]
    assert props[(str(a), "X")] == approx(
        {
            "file": str(a),
            "proposition": "X",
            "n": 6,
            "accuracy": 4 / 6,
            "macro_f1": (0.5 + 2 / 3 + 0.8) / 3,
            "side_precision": 2 / 3,
            "side_recall": 0.5,
        }
    )
    # no row of Y is given a side: no side precision, and the missed pro row gives recall 0
    assert props[(str(a), "Y")] == approx(
        {
            "file": str(a),
            "proposition": "Y",
            "n": 2,
            "accuracy": 0.5,
            "macro_f1": (0 + 2 / 3) / 2,
            "side_precision": None,
            "side_recall": 0.0,
        }
    )
    # pooled over all 12 rows: pro F1 4/8, con 4/7, neither 6/9 (not the mean of the two files)
    assert result["mean"] == approx(
        {
            "n": 12,
            "accuracy": 7 / 12,
            "macro_f1": (0.5 + 4 / 7 + 2 / 3) / 3,
            "side_precision": 4 / 6,
            "side_recall": 4 / 9,
        }
    )
    assert result["mean"]["accuracy"] != pytest.approx((5 / 8 + 0.5) / 2)


def test_scores_of_nothing_and_of_no_gold_sides():
    assert evaluation.scores([], []) == {
        "n": 0,
        "accuracy": None,
        "macro_f1": None,
        "side_precision": None,
        "side_recall": None,
    }
    s = evaluation.scores([2, 2], [2, 0])
    assert s == approx({"n": 2, "accuracy": 0.5, "macro_f1": 2 / 3, "side_precision": 0.0, "side_recall": None})


def test_chunks_keep_row_order(two_files, monkeypatch):
    a, _ = two_files
    pairs = read_stance_csv(a)
    whole = evaluation.predict_labels(pairs, FakeModel(), 0.6)
    monkeypatch.setattr(evaluation, "CHUNK", 3)
    model = FakeModel()
    assert (
        evaluation.predict_labels(pairs, model, 0.6, batch_size=2).tolist()
        == whole.tolist()
        == [0, 2, 1, 0, 2, 2, 2, 2]
    )
    assert [t for _, t in model.seen] == [t for _, t, _, _ in FILE_A]


def test_table_ends_with_the_pooled_mean_and_says_na(two_files):
    a, _ = two_files
    result = evaluation.evaluate({str(a): read_stance_csv(a)}, FakeModel(), 0.6)
    lines = evaluation.table(result).splitlines()
    assert lines[-1] == "MEAN stance: n=8 accuracy=0.625 macro_F1=0.606 side_precision=0.667 side_recall=0.400"
    assert [line.split()[0] for line in lines[1:-1]] == [str(a), "X", "Y"]
    assert lines[3].split()[-2:] == ["n/a", "0.000"]  # Y: no side given


def test_read_files_errors(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        evaluation.read_files([tmp_path / "absent.csv"])
    with pytest.raises(InputError, match="is a folder"):
        evaluation.read_files([tmp_path])
    latin = tmp_path / "latin.csv"
    latin.write_bytes("proposition,text,stance\nX,caf\xe9,pro\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        evaluation.read_files([latin])
    empty = write_csv(tmp_path / "empty.csv", [])
    with pytest.raises(InputError, match="no rows"):
        evaluation.read_files([empty])
    with pytest.raises(InputError, match="missing column"):
        evaluation.read_files([write_csv(tmp_path / "cols.csv", [("X", "t", "pro")], ("topic", "text", "stance"))])


def test_cli_prints_mean_last_and_writes_json(two_files, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no params.yaml here: the defaults apply
    monkeypatch.setattr("stancemap.stance.model.StanceModel", FakeModel)
    a, b = two_files
    out = tmp_path / "scores.json"
    result = CliRunner().invoke(
        app, ["evaluate", "stance", str(a), str(b), "--out", str(out), "--set", "stance.min_confidence=0.6"]
    )
    assert result.exit_code == 0, result.output
    last = result.stdout.strip().splitlines()[-1]
    assert MEAN_LINE.fullmatch(last), last
    assert last == "MEAN stance: n=12 accuracy=0.583 macro_F1=0.579 side_precision=0.667 side_recall=0.444"
    scores = json.loads(out.read_text(encoding="utf-8"))
    assert set(scores["mean"]) == KEYS
    assert [set(f) for f in scores["files"]] == [KEYS | {"file"}] * 2
    assert [set(p) for p in scores["propositions"]] == [KEYS | {"file", "proposition"}] * 3
    assert scores["propositions"][1]["side_precision"] is None  # null, not NaN
    params = scores["params"]
    assert params["min_confidence"] == 0.6 and params["adapter"] == StanceParams().adapter
    assert params["adapter_path"].endswith("models/stance-minilm")  # "bundled": the package's own model


def test_evaluate_stance_help_has_its_example():
    result = CliRunner().invoke(app, ["evaluate", "stance", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "Example: stancemap evaluate stance" in text and "pooled" in text


def test_cli_bad_stance_is_one_line_with_file_and_line(tmp_path):
    bad = write_csv(tmp_path / "bad.csv", [("X", "fine", "pro"), ("X", "odd", "maybe")])
    result = stancemap("evaluate", "stance", str(bad), "--out", str(tmp_path / "s.json"), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: {bad}:3: stance 'maybe' is not pro, con or neither"]
    assert result.stdout == "" and not (tmp_path / "s.json").exists()


def test_cli_missing_file_is_one_line(tmp_path, two_files):
    a, _ = two_files
    missing = tmp_path / "nope.csv"
    result = stancemap("evaluate", "stance", str(a), str(missing), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: {missing}: no such file"]


def test_cli_with_the_real_model_code_path(tmp_path, monkeypatch):
    from stancemap.stance.model import StanceModel

    adapter = tmp_path / "adapter"
    adapter.mkdir()
    StanceModel(None).save(adapter, {})  # untrained: the bundled base model and a seeded head
    rows = [
        ("We should ban cars", "Cars pollute the air we breathe.", "pro"),
        ("We should ban cars", "People need cars to get to work.", "con"),
        ("We should ban cars", "I had pasta for lunch.", "neither"),
        ("School uniforms are good", "Uniforms stop teasing about clothes.", "pro"),
        ("School uniforms are good", "Uniforms kill self-expression.", "con"),
        ("School uniforms are good", "The weather is nice today.", "neither"),
    ]
    data = write_csv(tmp_path / "tiny.csv", rows)
    out = tmp_path / "scores.json"
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        app, ["evaluate", "stance", str(data), "--out", str(out), "--set", f"stance.adapter={adapter}"]
    )
    assert result.exit_code == 0, result.output
    assert MEAN_LINE.fullmatch(result.stdout.strip().splitlines()[-1])
    scores = json.loads(out.read_text(encoding="utf-8"))
    assert scores["mean"]["n"] == 6 and set(scores["mean"]) == KEYS
    assert [f["n"] for f in scores["files"]] == [6]
    assert [(p["proposition"], p["n"]) for p in scores["propositions"]] == [
        ("We should ban cars", 3),
        ("School uniforms are good", 3),
    ]
    assert 0.0 <= scores["mean"]["accuracy"] <= 1.0
    assert scores["params"]["adapter_path"] == str(adapter)
    assert scores["params"]["min_confidence"] == StanceParams().min_confidence
