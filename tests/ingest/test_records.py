"""Column maps (`--map FIELD=COLUMN`) for record readers."""

import pytest

from stancemap.errors import StancemapError
from stancemap.ingest.records import parse_map


@pytest.mark.parametrize(("spec", "message"), [("txt=body", "not a field"), ("text", "expected FIELD=COLUMN")])
def test_bad_map(spec, message):
    with pytest.raises(StancemapError, match=message):
        parse_map(spec)
