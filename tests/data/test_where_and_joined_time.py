"""``where`` (rows of one station in a long-format file), ``time`` joined from several columns, and rows
that carry a label but neither timestamp nor number."""

from __future__ import annotations

import pytest

from wq.data import DataSpec, load
from wq.errors import ConfigError, DataError

LONG = """site,when,temp,turb
A,2024-06-01 00:00,10.0,1
B,2024-06-01 00:00,20.0,2
A,2024-06-01 01:00,11.0,1
B,2024-06-01 01:00,21.0,2
A,,,
A,2024-06-01 02:00,12.0,1
B,2024-06-01 02:00,22.0,2
"""


def test_where_keeps_one_site_and_drops_a_label_only_row(write):
    loaded = load(DataSpec(write("long.csv", LONG), time="when", where={"site": "B"}, targets="temp"))
    assert loaded.frame["temp"].tolist() == [20.0, 21.0, 22.0]
    assert any("kept 3 of 7 rows" in n for n in loaded.notes)
    loaded = load(DataSpec(write("long.csv", LONG), time="when", where={"site": "A"}, targets="temp"))
    assert loaded.frame["temp"].tolist() == [10.0, 11.0, 12.0]  # the A row without timestamp is dropped
    assert any("neither timestamp nor numeric values" in n for n in loaded.notes)


def test_where_accepts_several_values_and_numbers(write):
    text = "st,when,v\n1,2024-01-01,1\n2,2024-01-01,5\n1,2024-01-02,2\n3,2024-01-02,9\n"
    loaded = load(DataSpec(write("n.csv", text), time="when", where={"st": 1}, targets="v"))
    assert loaded.frame["v"].tolist() == [1.0, 2.0]
    with pytest.raises(DataError, match="duplicate"):  # two stations on one day are duplicates
        load(DataSpec(write("n.csv", text), time="when", where={"st": [1, 2]}, targets="v"))


def test_where_errors_name_the_column_or_the_value(write):
    path = write("long.csv", LONG)
    with pytest.raises(DataError, match="no column 'station'.*option 'where'"):
        load(DataSpec(path, time="when", where={"station": "A"}, targets="temp"))
    with pytest.raises(DataError, match="no row matches"):
        load(DataSpec(path, time="when", where={"site": "C"}, targets="temp"))
    with pytest.raises(ConfigError, match="where"):
        DataSpec(path, where={"site": {"x": 1}})


def test_a_label_row_with_a_number_but_no_timestamp_is_still_an_error(write):
    path = write("bad.csv", LONG.replace("A,,,", "A,,13.0,"))
    with pytest.raises(DataError, match="row 5.*empty timestamp"):
        load(DataSpec(path, time="when", where={"site": "A"}, targets="temp"))


def test_time_joined_from_year_month_day_columns(write):
    text = "v,year,month,day\n1,2014,1,1\n2,2014,1,2\n4,2014,1,4\n"
    loaded = load(DataSpec(write("ymd.csv", text), time=["year", "month", "day"], targets="v", freq="D",
                           fill_limit=0, long_gaps="keep"))
    f = loaded.frame
    assert [str(t.date()) for t in f.index] == ["2014-01-01", "2014-01-02", "2014-01-03", "2014-01-04"]
    assert list(f.columns) == ["v"] and f["v"].isna().tolist() == [False, False, True, False]
    with pytest.raises(DataError, match=r"row 2.*'2014-13-2' is not a valid timestamp"):
        load(DataSpec(write("ymd.csv", text.replace("2014,1,2", "2014,13,2")), time=["year", "month", "day"],
                      targets="v", freq="D"))
    with pytest.raises(DataError, match="no time column"):
        load(DataSpec(write("ymd.csv", text), time=["year", "mon", "day"], targets="v"))
    with pytest.raises(ConfigError, match="distinct"):
        DataSpec(write("ymd.csv", text), time=["year", "year"])
