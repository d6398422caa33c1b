"""Labelled pairs of your own in the training mix (`stancemap train-stance --extra`)."""

import csv
import random

import pytest

from stancemap.errors import InputError
from stancemap.stance.data import Pair, _repeat, extra_split, read_extra, training_pairs
from tests.conftest import shared_path

ROWS = [
    ("Trams are better than buses", "The tram is never late and it is quiet.", "pro"),
    ("Buses are better than trams", "The tram is never late and it is quiet.", "con"),
    ("Trams are better than buses", "Does the tram run at night?", "neither"),
] + [(f"Topic number {i} is good", f"Text {i} says yes.", "pro") for i in range(40)]


def write(path, rows, header=("proposition", "text", "stance")):
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_read_extra_takes_files_and_folders_and_names_the_bad_line(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    write(folder / "b.csv", ROWS[:2])
    write(folder / "a.csv", ROWS[2:3])
    pairs = read_extra([folder])
    assert [p.text for p in pairs] == [ROWS[2][1], ROWS[0][1], ROWS[1][1]]  # files in name order
    assert {p.source for p in pairs} == {"extra/a", "extra/b"}
    assert [p.label for p in read_extra([folder / "b.csv"])] == [0, 1]
    bad = write(tmp_path / "bad.csv", [ROWS[0], ("Trams are better than buses", "Meh.", "maybe")])
    with pytest.raises(InputError, match=r"bad\.csv.*3.*maybe"):
        read_extra([bad])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no .csv files"):
        read_extra([empty])


def test_extra_split_keeps_a_comparative_and_its_reversal_together(tmp_path):
    pairs = read_extra([write(tmp_path / "x.csv", ROWS)])
    split = extra_split(pairs)
    assert split["tune"] and split["train"]  # 41 propositions: some of each
    assert len(split["tune"]) + len(split["train"]) == len(pairs)
    trams = {name for name, part in split.items() for p in part if "tram" in p.proposition.lower()}
    assert len(trams) == 1  # both orders of the comparative, and its neither, on one side
    assert not {p.proposition for p in split["tune"]} & {p.proposition for p in split["train"]}
    assert extra_split(list(reversed(pairs)))["tune"] == list(reversed(split["tune"]))  # by content, not order


def test_repeat_makes_whole_copies_then_samples():
    items = [Pair("p", str(i), 0, "p", "extra/x") for i in range(5)]
    out = _repeat(items, 12, random.Random(0))
    assert len(out) == 12 and out[:10] == items * 2 and set(out[10:]) <= set(items)
    assert _repeat(items, None, random.Random(0)) == items
    assert _repeat(items, 3, random.Random(0)) != items and len(_repeat(items, 3, random.Random(0))) == 3


def test_training_mix_with_extra_pairs(tmp_path):
    data = shared_path("eval")
    extra = (write(tmp_path / "x.csv", ROWS),)
    plain = training_pairs(data, set(), 3, {"vast": 100, "tweets": 100, "nli": 100, "debate": 100})
    mixed = training_pairs(data, set(), 3, {"vast": 100, "tweets": 100, "nli": 100, "debate": 100}, extra)
    train_split = extra_split(read_extra(extra))["train"]
    assert sum(p.source == "extra/x" for p in mixed) == len(train_split)
    assert {p for p in mixed if p.source != "extra/x"} == set(plain)  # the rest of the mix is unchanged
    more = training_pairs(data, set(), 3, {"vast": 100, "tweets": 0, "nli": 0, "debate": 0, "extra": 100}, extra)
    assert sum(p.source == "extra/x" for p in more) == 100
    none = training_pairs(data, set(), 3, {"vast": 100, "tweets": 0, "nli": 0, "debate": 0, "extra": 0}, extra)
    assert not any(p.source == "extra/x" for p in none)
    tune = {p.proposition for p in extra_split(read_extra(extra))["tune"]}
    assert not tune & {p.proposition for p in mixed}  # tuning propositions never train


def test_tuning_pairs_and_the_card_name_the_extra_pairs(tmp_path):
    import json

    from stancemap.stance.card import write_card
    from stancemap.stance.train import tuning_pairs

    extra = (write(tmp_path / "x.csv", ROWS),)
    sets = tuning_pairs(shared_path("eval"), seed=1, per_set=1000, extra=extra)
    assert sets["extra_tune"] == extra_split(read_extra(extra))["tune"]
    assert "extra_tune" not in tuning_pairs(shared_path("eval"), seed=1, per_set=10)
    model = tmp_path / "model"
    model.mkdir()
    config = {"extra": ["data/train/mine"], "training_sources": {"extra/x": 3, "vast": 5}, "epochs": 1}
    (model / "stance_config.json").write_text(json.dumps(config), encoding="utf-8")
    card = write_card(model).read_text(encoding="utf-8")
    assert "`data/train/mine`" in card and "kept-out fifth of the `extra` propositions" in card
    (model / "stance_config.json").write_text(json.dumps({"training_sources": {"vast": 5}}), encoding="utf-8")
    assert "`extra" not in write_card(model).read_text(encoding="utf-8")
