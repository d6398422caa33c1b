import polars as pl
import pytest

from stancemap.errors import StancemapError
from stancemap.io import atomic_path, read_table, write_table
from stancemap.schemas import SchemaError
from tests.conftest import claims_frame


def claims(n: int = 2) -> pl.DataFrame:
    return claims_frame(*(["x"] * n))


def test_round_trip_and_byte_identical_rewrites(tmp_path):
    out = tmp_path / "claims.parquet"
    write_table(claims(), out, "claims")
    first = out.read_bytes()
    assert read_table(out, "claims").equals(claims())
    write_table(claims(), out, "claims")
    assert out.read_bytes() == first


def test_schema_checked_on_write_and_read(tmp_path):
    out = tmp_path / "claims.parquet"
    with pytest.raises(SchemaError, match="missing column\\(s\\) text"):
        write_table(claims().drop("text"), out, "claims")
    assert not out.exists()
    claims().with_columns(pl.col("start").cast(pl.Int64)).write_parquet(out)
    with pytest.raises(SchemaError, match="start is Int64, expected Int32"):
        read_table(out, "claims")


def test_crash_mid_write_keeps_previous_output(tmp_path):
    out = tmp_path / "report.html"
    out.write_text("previous", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_path(out) as tmp:
        tmp.write_text("half", encoding="utf-8")
        raise RuntimeError("crash")
    assert out.read_text(encoding="utf-8") == "previous"
    assert list(tmp_path.iterdir()) == [out]


def test_unreadable_artifact_is_a_clear_error(tmp_path):
    bad = tmp_path / "claims.parquet"
    bad.write_bytes(b"not parquet")
    with pytest.raises(StancemapError, match="cannot read it as Parquet"):
        read_table(bad, "claims")
    with pytest.raises(StancemapError, match="not found"):
        read_table(tmp_path / "none.parquet", "claims")


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_written_files_get_the_mode_the_umask_gives(tmp_path, umask, mode):
    import os
    import stat

    from stancemap.io import write_json, write_text

    before = os.umask(umask)
    try:
        write_table(claims(), tmp_path / "claims.parquet", "claims")
        write_text("<html></html>", tmp_path / "report.html")
        write_json({"a": 1}, tmp_path / "metrics.json")
    finally:
        os.umask(before)
    for name in ("claims.parquet", "report.html", "metrics.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name
