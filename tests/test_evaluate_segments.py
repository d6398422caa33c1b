import json

import pytest

from stancemap.config import SegmentParams
from stancemap.errors import InputError
from stancemap.evaluate.segments import char_offsets, evaluate, load_thread, score, table


def write_thread(folder, name="7", text=None, ann=None, meta=None):
    text = text or (
        "CMV: caf\u00e9s are fine.\n\nSo, distillation is plainly theft, but they paid for every token. Thanks all!\n"
    )
    data = text.encode()
    b = lambda s: len(s.encode())  # noqa: E731 - byte offsets, as the corpus counts them
    body = text.index("So,")
    claim = text.index("distillation")
    paid = text.index("they paid")
    (folder / f"{name}.txt").write_bytes(data)
    (folder / f"{name}.ann").write_text(
        ann
        or (
            f"T1\tmain_claim 0 {b(text[: text.index(chr(10))])}\tCMV: caf\u00e9s are fine.\n"
            f"A1\tType1 T1 interpretation\n"
            f"T2\tclaim {b(text[:claim])} {b(text[: text.index(', but')])}\tdistillation is plainly theft\n"
            f"T3\tpremise {b(text[:paid])} {b(text[: text.index('token.') + 6])}\tthey paid for every token.\n"
            f"R1\tsupport Arg1:T3 Arg2:T2\n"
        ),
        encoding="utf-8",
    )
    (folder / f"{name}.metadata").write_text(
        meta or f"Title 0 {b(text[: text.index(chr(10))])}\nContent t1 op {b(text[:body])} {len(data)}\nDelta Yes\n",
        encoding="utf-8",
    )


def test_byte_offsets_become_character_offsets():
    assert char_offsets("a\u00e9b".encode()) == [0, 1, 1, 2, 3]


def test_load_thread_trims_and_converts(tmp_path):
    write_thread(tmp_path)
    thread = load_thread(tmp_path, "7")
    assert [thread.text[s:e] for s, e in thread.gold] == [
        "CMV: caf\u00e9s are fine.",
        "distillation is plainly theft",
        "they paid for every token.",
    ]
    assert [c[0] for c in thread.comments] == ["title", "t1"]


def test_score_exact_and_overlap():
    gold = [(0, 10), (20, 30), (40, 50)]
    pred = [(0, 10), (21, 30), (60, 70), (41, 44)]
    s = score(pred, gold)
    assert s["P_exact"] == 0.25 and s["R_exact"] == pytest.approx(1 / 3)
    assert s["P_overlap50"] == 0.5 and s["R_overlap50"] == pytest.approx(2 / 3)
    assert score([], gold)["F1_overlap50"] == 0.0


def test_evaluate_a_folder_splits_clauses_and_beats_sentences(tmp_path):
    write_thread(tmp_path)
    result = evaluate(tmp_path, SegmentParams())
    row = result["threads"][0]
    assert row["n_gold"] == 3
    # "So," is dropped, "X, but Y" is split, "Thanks all!" argues nothing
    assert row["F1_exact"] == 1.0
    assert row["baseline_F1_exact"] < 1.0
    assert table(result).splitlines()[-1].startswith("MEAN segments: P_overlap50=1.000")


@pytest.mark.parametrize(
    ("ann", "message"),
    [("T1\tclaim 0 9999\tx\n", "lies outside the text"), ("T1\tclaim zero 4\tx\n", "whole numbers")],
)
def test_bad_annotation_is_located(tmp_path, ann, message):
    write_thread(tmp_path, ann=ann)
    with pytest.raises(InputError, match=f"7.ann:1: .*{message}"):
        load_thread(tmp_path, "7")


def test_cli_writes_json_and_ends_with_the_mean_line(tmp_path):
    from typer.testing import CliRunner

    from stancemap.cli import app

    write_thread(tmp_path)
    out = tmp_path / "scores.json"
    result = CliRunner().invoke(app, ["evaluate", "segments", str(tmp_path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].startswith("MEAN segments: P_overlap50=")
    assert set(json.loads(out.read_text())["mean"]) >= {"F1_overlap50", "F1_exact", "baseline_F1_overlap50"}


def test_beats_sentence_splitting_on_the_shared_threads():
    from tests.conftest import shared_path

    result = evaluate(shared_path("eval", "cmv_modes", "threads"), SegmentParams())
    mean = result["mean"]
    assert len(result["threads"]) == 64
    # measured: 0.765 against 0.668 (docs/segment.md); a regression below +0.05 fails
    assert mean["F1_overlap50"] >= mean["baseline_F1_overlap50"] + 0.05
    assert mean["F1_exact"] > mean["baseline_F1_exact"]
