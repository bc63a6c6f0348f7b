"""Every table shows one format per column (issue 17 point 7): thousands separators, the same decimals on every
row, dates in the reader's words."""
from __future__ import annotations

from datetime import date

import polars as pl

from ui import tables


def test_a_numeric_column_has_thousands_separators_and_one_number_of_decimals():
    f = tables.number_format
    assert f(pl.Series([1610, 43890, 128173])) == "%,d"
    assert f(pl.Series([7.0, 7.07, None])) == "%,.2f"  # never 7 beside 7.07
    assert f(pl.Series([14.0, 23.3])) == "%,.1f"
    assert f(pl.Series([97.0, 96.0])) == "%,.0f"
    assert f(pl.Series([0.6, 0.61])) == "%,.2f"
    assert f(pl.Series([0.123456, 2.5])) == "%,.2f"  # at most two decimals
    assert f(pl.Series([2025, 2026])) is None  # years read 2026, not 2,026
    assert f(pl.Series(["a", "b"])) is None and f(pl.Series([None, None], dtype=pl.Float64)) is None


def test_dates_are_written_as_the_reader_writes_them():
    frame = pl.DataFrame({"d": [date(2026, 11, 22)], "n": [1200]})
    zh, en = tables._date_columns(frame, "zh"), tables._date_columns(frame, "en")
    assert zh["d"]["type_config"]["format"] == "YYYY年M月D日" and en["d"]["type_config"]["format"] == "D MMM YYYY"
    assert tables._number_columns(frame)["n"]["type_config"]["format"] == "%,d"
