"""Provenance: author names by mode and the run date."""

import re

import pytest

from stancemap.config import load_params
from stancemap.errors import ConfigError
from stancemap.report.provenance import author_names, run_date
from stancemap.report.render import build_report
from tests.report.helpers import HOSTILE, tables


def test_authors_pseudonymized_are_stable_and_hidden_are_gone(tmp_path):
    claims, comments, clusters, labels = tables(tmp_path, HOSTILE)
    names = author_names(comments["author"], "pseudonymize")
    assert names == author_names(comments["author"], "pseudonymize")
    assert sorted(names.values()) == ["Author 1", "Author 2", "Author 3"]
    for mode in ["pseudonymize", "hide"]:
        page, _ = build_report(
            claims,
            comments,
            clusters,
            labels,
            load_params(None, [f"report.authors={mode}"]),
            run_date="2026-01-01T00:00:00Z",
        )
        assert "user1" not in page
    with pytest.raises(ConfigError, match="report.authors"):
        load_params(None, ["report.authors=maybe"])


def test_run_date_honours_source_date_epoch():
    assert run_date({"SOURCE_DATE_EPOCH": "1700000000"}) == "2023-11-14T22:13:20Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", run_date({}))
    with pytest.raises(ConfigError, match="SOURCE_DATE_EPOCH"):
        run_date({"SOURCE_DATE_EPOCH": "yesterday"})
