"""Helpers of every reader: quote spans and time parsing (pipeline/ingest/base.py)."""

from datetime import UTC, datetime

import pytest

from stancemap.ingest.base import parse_time, quote_spans


def test_quote_spans_merge_adjacent_lines_only():
    text = "> a\n> b\nreply\n  > c\nmore"
    spans = quote_spans(text)
    assert [text[s["start"] : s["end"]] for s in spans] == ["> a\n> b", "  > c"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-02-24T14:03:11Z", datetime(2026, 2, 24, 14, 3, 11, tzinfo=UTC)),
        ("2026-02-24T16:03:11+02:00", datetime(2026, 2, 24, 14, 3, 11, tzinfo=UTC)),
        ("2026-02-24 14:03:11", datetime(2026, 2, 24, 14, 3, 11, tzinfo=UTC)),
        (1771941791, datetime.fromtimestamp(1771941791, tz=UTC)),
        ("1771941791", datetime.fromtimestamp(1771941791, tz=UTC)),
        (None, None),
    ],
)
def test_parse_time(value, expected):
    assert parse_time(value) == expected
