"""The hand-labelled forum stance set (data/eval/forum_stance_labels.csv) and the script that
re-creates its text from ../shared (bench/forum_stance.py)."""

from __future__ import annotations

import csv
import importlib.util
import re
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import REPO, shared_path

LABELS = REPO / "data" / "eval" / "forum_stance_labels.csv"
STANCES = {"pro", "con", "neither"}
COPY_RUN = 6  # words: a note this close to the claim text copies it


def _script():
    spec = importlib.util.spec_from_file_location("forum_stance", REPO / "bench" / "forum_stance.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


forum_stance = _script()


def _rows() -> list[dict[str, str]]:
    with LABELS.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _words(text: str) -> list[str]:
    return re.findall(r"[\w']+", text.lower())


def _copied_run(note: str, text: str, n: int = COPY_RUN) -> tuple[str, ...] | None:
    """The first run of `n` words of `text` that `note` repeats, or None."""
    words = _words(text)
    runs = {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}
    nw = _words(note)
    return next((run for i in range(len(nw) - n + 1) if (run := tuple(nw[i : i + n])) in runs), None)


@pytest.fixture(scope="module")
def regenerated() -> list[dict[str, str]]:
    shared = shared_path("fixtures").parent
    return forum_stance.regenerate(shared, LABELS)


def test_labels_file_is_a_valid_gold_set():
    rows = _rows()
    assert tuple(rows[0]) == forum_stance.COLUMNS
    assert len(rows) == 100
    assert len({r["claim_id"] for r in rows}) == 100, "a claim is labelled twice"
    assert {r["stance"] for r in rows} <= STANCES
    assert 2 <= len({r["proposition"] for r in rows}) <= 3
    counts = Counter(r["stance"] for r in rows)
    assert counts["pro"] >= 25 and counts["con"] >= 25, counts
    for r in rows:
        assert re.fullmatch(r"[0-9a-f]{64}", r["text_sha256"]), r["claim_id"]
        assert re.fullmatch(r"fixtures/(hn|reddit)/[^/]+", r["source"]), r["source"]
        assert r["note"].strip(), f"{r['claim_id']}: no note"


def test_copy_check_catches_a_copied_run():
    text = "I have found the new tool consistently better since about the spring"
    assert _copied_run("says: the new tool consistently better since about then", text)
    assert _copied_run("prefers the newer tool since spring", text) is None


def test_script_names_an_absent_shared_folder(tmp_path, capsys):
    assert forum_stance.main([str(tmp_path / "out.csv"), "--shared", str(tmp_path / "nowhere")]) == 1
    assert "fixtures is absent" in capsys.readouterr().err
    assert not (tmp_path / "out.csv").exists()


def test_script_regenerates_every_row(regenerated, tmp_path):
    rows = _rows()
    assert [r["claim_id"] for r in regenerated] == [r["claim_id"] for r in rows]
    for row in regenerated:
        assert forum_stance.sha256(row["text"]) == row["text_sha256"], row["claim_id"]
    out = tmp_path / "forum.csv"
    assert forum_stance.main([str(out), "--shared", str(shared_path("fixtures").parent)]) == 0
    with out.open(encoding="utf-8", newline="") as fh:
        written = list(csv.DictReader(fh))
    assert list(written[0]) == ["proposition", "text", "stance"]
    assert [(w["proposition"], w["text"], w["stance"]) for w in written] == [
        (r["proposition"], r["text"], r["stance"]) for r in regenerated
    ]


def test_no_note_copies_its_claim(regenerated):
    copied = {r["claim_id"]: run for r in regenerated if (run := _copied_run(r["note"], r["text"]))}
    assert not copied, f"notes repeat {COPY_RUN}+ words of their claim: {copied}"


def test_a_changed_hash_or_missing_claim_is_named(tmp_path):
    shared = shared_path("fixtures").parent
    rows = _rows()
    rows[3]["text_sha256"] = "0" * 64
    rows[7]["claim_id"] = "hn:0#0"
    bad = tmp_path / "labels.csv"
    with bad.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=forum_stance.COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(forum_stance.RegenerateError) as err:
        forum_stance.regenerate(shared, bad)
    message = str(err.value)
    assert rows[3]["claim_id"] in message and "hn:0#0" in message
    assert "2 of 100" in message


def test_readme_states_the_counts():
    readme = (REPO / "data" / "eval" / "README.md").read_text(encoding="utf-8")
    rows = _rows()
    for proposition in {r["proposition"] for r in rows}:
        assert proposition in readme
    assert Path(LABELS.name).name in readme
