"""wq.data.load: reading options, errors naming file/row/column, order, duplicates, gaps, time zones, resampling."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wq.data import DataError, DataSpec, LongGapError, load
from wq.errors import ConfigError


# ----------------------------------------------------------------------------------------- bad input
def test_missing_file_names_path(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(DataError, match=re.escape(str(path)) + ".*does not exist"):
        load(DataSpec(path))


def test_directory_is_not_a_file(tmp_path):
    with pytest.raises(DataError, match="is not a file"):
        load(DataSpec(tmp_path))


def test_empty_file_and_header_only(write):
    empty = write("empty.csv", "")
    with pytest.raises(DataError, match=re.escape(str(empty)) + " is empty"):
        load(DataSpec(empty))
    header = write("header.csv", "date,flow\n")
    with pytest.raises(DataError, match=re.escape(str(header)) + " has no data rows"):
        load(DataSpec(header))


def test_no_time_column_lists_columns(write):
    path = write("a.csv", "day,flow\n2024-01-01,1\n2024-01-02,2\n")
    with pytest.raises(DataError, match=r"no time column 'date'.*columns: day, flow"):
        load(DataSpec(path, time="date"))


def test_unparseable_timestamp_names_row_line_column(write):
    path = write("a.csv", "date,flow\n2024-01-01,1\n2024-01-02,2\n2024-13-45,3\n")
    with pytest.raises(DataError) as err:
        load(DataSpec(path, time="date"))
    msg = str(err.value)
    assert str(path) in msg and "row 3 (line 4)" in msg and "column 'date'" in msg and "'2024-13-45'" in msg


def test_empty_timestamp_with_values_is_an_error_blank_row_is_skipped(write):
    bad = write("a.csv", "date,flow\n2024-01-01,1\n,5\n2024-01-03,2\n")
    with pytest.raises(DataError, match=r"row 2 \(line 3\), column 'date': empty timestamp"):
        load(DataSpec(bad))
    ok = write("b.csv", "date,flow\n2024-01-01,1\n,\n2024-01-02,2\n\n2024-01-03,4\n")
    loaded = load(DataSpec(ok))
    assert loaded.frame["flow"].tolist() == [1.0, 2.0, 4.0]


def test_non_numeric_cell_names_row_line_column(write):
    path = write("a.csv", "date,flow,rain\n2024-01-01,1,0\n2024-01-02,abc,0\n2024-01-03,3,1\n")
    with pytest.raises(DataError) as err:
        load(DataSpec(path, targets=["flow"]))
    msg = str(err.value)
    assert f"file {path}, row 2 (line 3), column 'flow': 'abc' is not a number" in msg


def test_non_finite_cell_is_an_error(write):
    path = write("a.csv", "date,flow\n2024-01-01,1\n2024-01-02,inf\n2024-01-03,3\n")
    with pytest.raises(DataError, match=r"row 2 \(line 3\), column 'flow'"):
        load(DataSpec(path))


def test_bad_cell_in_unselected_column_is_ignored(write):
    path = write("a.csv", "date,flow,note\n2024-01-01,1,3\n2024-01-02,2,x\n2024-01-03,3,4\n")
    assert list(load(DataSpec(path, targets="flow")).frame.columns) == ["flow"]
    with pytest.raises(DataError, match="column 'note': 'x' is not a number"):
        load(DataSpec(path))


def test_text_column_dropped_with_note_but_text_target_is_an_error(write):
    path = write("a.csv", "date,station,flow\n2024-01-01,A,1\n2024-01-02,A,2\n2024-01-03,A,3\n")
    loaded = load(DataSpec(path))
    assert list(loaded.frame.columns) == ["flow"]
    assert any("dropped columns without numbers: station" in n for n in loaded.notes)
    with pytest.raises(DataError, match=r"row 1 \(line 2\), column 'station': 'A' is not a number"):
        load(DataSpec(path, targets="station"))


@pytest.mark.parametrize("role", ["targets", "drivers"])
def test_missing_target_or_driver_names_column_and_available(write, role):
    path = write("a.csv", "date,flow,rain\n2024-01-01,1,0\n2024-01-02,2,1\n")
    kwargs = {"targets": ["flow"], "drivers": ["rain"]}
    kwargs[role] = ["temp"]
    with pytest.raises(DataError, match=r"'temp' not found in file .*a\.csv; available columns: flow, rain"):
        load(DataSpec(path, **kwargs))


def test_constant_target_is_an_error(write, daily_csv):
    path = write("a.csv", daily_csv([5, 5, 5, 5]))
    with pytest.raises(DataError, match=r"column 'flow': constant \(5\)"):
        load(DataSpec(path, targets="flow"))
    assert len(load(DataSpec(path)).frame) == 4  # constant but not a target: a note only


def test_too_few_rows(write, daily_csv):
    path = write("a.csv", daily_csv([1, 2, 3]))
    with pytest.raises(DataError, match="3 rows after loading, fewer than min_rows=10"):
        load(DataSpec(path, min_rows=10))
    assert len(load(DataSpec(path, min_rows=3)).frame) == 3


def test_ragged_line_is_an_error_naming_file(write):
    path = write("a.csv", "date,flow\n2024-01-01,1\n2024-01-02,2,7\n")
    with pytest.raises(DataError, match=re.escape(str(path)) + ".*line 3"):
        load(DataSpec(path))


def test_names_count_must_match_fields(write):
    path = write("a.data", "D-1/3/90,1,2\nD-2/3/90,3,4\n")
    with pytest.raises(DataError, match="3 fields but 2 names"):
        load(DataSpec(path, names=["DAY", "a"]))


# ----------------------------------------------------------------------------------------- reading options
def test_headerless_file_with_names_markers_and_format(write):
    path = write("plant.data", "D-4/3/90,30,?\nD-1/3/90,10,1\nD-2/3/90,20,2\n\n\n")
    loaded = load(DataSpec(path, names=["DAY", "Q", "Z"], time="DAY", time_format="D-%d/%m/%y",
                           na_values=["?"], fill_method="linear", long_gaps="keep", trim_edges=False))
    f = loaded.frame
    assert list(f.index) == list(pd.date_range("1990-03-01", "1990-03-04", freq="D"))
    assert f.index.freq == "D" and f.index.name == "time"
    assert f["Q"].tolist() == [10.0, 20.0, 25.0, 30.0]  # 3 March absent: linear between 20 and 30
    assert np.isnan(f["Z"].iloc[-1])  # '?' is missing; trailing gap cannot be filled linearly
    assert not loaded.filled["Z"].iloc[-1]
    assert loaded.gaps[loaded.gaps["column"] == "Z"][["length", "action"]].values.tolist() == [[2, "kept"]]
    assert loaded.raw_missing.to_dict() == {"Q": 1, "Z": 2}
    assert any("sorted 3 rows" in n for n in loaded.notes)


def test_semicolon_separator_is_sniffed_and_decimal_comma(write):
    path = write("a.csv", "tid;flow\n2024-01-01;1,5\n2024-01-02;2,5\n2024-01-03;3,0\n")
    loaded = load(DataSpec(path, decimal=","))
    assert loaded.frame["flow"].tolist() == [1.5, 2.5, 3.0]
    assert any("separator ';' detected" in n for n in loaded.notes)


def test_time_none_means_first_column_and_frame_contract(write, daily_csv):
    path = write("a.csv", daily_csv([1, 2, 4]))
    loaded = load(DataSpec(path))
    f = loaded.frame
    assert f.index.name == "time" and f.index.is_monotonic_increasing and f.index.is_unique
    assert f.index.tz is None and f.index.freq == "D" and (f.dtypes == np.float64).all()
    assert loaded.freq == "D" and loaded.freq_inferred
    assert any("'D' inferred from the median step" in n for n in loaded.notes)


def test_given_freq_exposes_missing_steps_and_off_grid_is_an_error(write):
    path = write("a.csv", "date,flow\n2024-01-01 00:00,1\n2024-01-01 02:00,3\n2024-01-01 03:00,4\n")
    f = load(DataSpec(path, freq="h", fill_method="linear")).frame
    assert f["flow"].tolist() == [1.0, 2.0, 3.0, 4.0]
    off = write("b.csv", "date,flow\n2024-01-01 00:00,1\n2024-01-01 01:00,2\n2024-01-01 01:30,3\n"
                         "2024-01-01 02:00,4\n2024-01-01 03:00,5\n")
    with pytest.raises(DataError, match=r"not on the 'h' grid.*2024-01-01 01:30:00 \(row 3\)"):
        load(DataSpec(off, freq="h"))


def test_columns_subset(write):
    path = write("a.csv", "date,a,b,c\n2024-01-01,1,2,3\n2024-01-02,2,3,5\n")
    assert list(load(DataSpec(path, columns=["c", "a"])).frame.columns) == ["c", "a"]


# ----------------------------------------------------------------------------------------- order, duplicates
def test_unsorted_rows_are_sorted_with_a_note(write):
    path = write("a.csv", "date,flow\n2024-01-03,3\n2024-01-01,1\n2024-01-02,2\n")
    loaded = load(DataSpec(path))
    assert loaded.frame["flow"].tolist() == [1.0, 2.0, 3.0]
    assert any("not in time order; sorted 3 rows" in n for n in loaded.notes)
    sorted_ = load(DataSpec(write("b.csv", "date,flow\n2024-01-01,1\n2024-01-02,2\n")))
    assert not any("not in time order" in n for n in sorted_.notes)


def test_duplicates_error_lists_timestamps_and_rows(write):
    path = write("a.csv", "date,flow\n2024-01-01,1\n2024-01-02,2\n2024-01-01,5\n2024-01-03,3\n")
    with pytest.raises(DataError) as err:
        load(DataSpec(path))
    msg = str(err.value)
    assert "1 duplicated timestamps" in msg and "2024-01-01 00:00:00 at rows 1 (line 2), 3 (line 4)" in msg
    assert "duplicates" in msg


@pytest.mark.parametrize("rule,expected", [("mean", 3.0), ("first", 1.0), ("last", 5.0), ("sum", 6.0),
                                           ("max", 5.0)])
def test_duplicates_combined_by_rule(write, rule, expected):
    path = write("a.csv", "date,flow\n2024-01-01,1\n2024-01-02,2\n2024-01-01,5\n2024-01-03,3\n")
    loaded = load(DataSpec(path, duplicates=rule))
    assert loaded.frame["flow"].tolist() == [expected, 2.0, 3.0]
    assert any(f"combined by '{rule}'" in n for n in loaded.notes)


# ----------------------------------------------------------------------------------------- gaps
VALUES = [1, 2, None, None, 5, 6, None, None, None, None, 11, 12]  # gaps of 2 (interior) and 4 (interior)


def test_short_gaps_filled_up_to_limit_linear(write, daily_csv):
    path = write("a.csv", daily_csv(VALUES))
    loaded = load(DataSpec(path, fill_method="linear", fill_limit=4))
    assert loaded.frame["flow"].tolist() == [float(v) for v in range(1, 13)]
    assert loaded.filled["flow"].sum() == 6 and loaded.filled["flow"].iloc[2]
    assert loaded.gaps["action"].tolist() == ["filled", "filled"]
    assert loaded.gaps["length"].tolist() == [2, 4]


def test_ffill_and_limit_boundary(write, daily_csv):
    path = write("a.csv", daily_csv(VALUES))
    loaded = load(DataSpec(path, fill_method="ffill", fill_limit=2, long_gaps="keep"))
    f = loaded.frame["flow"]
    assert f.iloc[2:4].tolist() == [2.0, 2.0]  # gap of 2 = fill_limit: filled by the last observation
    assert f.iloc[6:10].isna().all()  # gap of 4 > fill_limit: kept whole, not partly filled
    assert loaded.gaps[["length", "action"]].values.tolist() == [[2, "filled"], [4, "kept"]]
    assert loaded.raw_missing["flow"] == 6 and int(f.isna().sum()) == 4


def test_absent_rows_count_as_missing(write, daily_csv):
    path = write("a.csv", daily_csv([1, 2, 3, 4, 5], skip={2}))
    loaded = load(DataSpec(path, freq="D", fill_method="linear"))
    assert loaded.frame["flow"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert loaded.raw_missing["flow"] == 1
    assert any("1 of 5 timestamps" in n for n in loaded.notes)


def test_long_gap_error_lists_gap_and_options(write, daily_csv):
    path = write("a.csv", daily_csv(VALUES))
    with pytest.raises(LongGapError) as err:
        load(DataSpec(path, fill_limit=2))
    msg = str(err.value)
    assert "flow 2024-01-07 .. 2024-01-10 (4 steps)" in msg and "long_gaps" in msg and str(path) in msg


def test_long_gaps_drop(write, daily_csv):
    path = write("a.csv", daily_csv(VALUES))
    loaded = load(DataSpec(path, fill_limit=2, long_gaps="drop"))
    f = loaded.frame
    assert len(f) == 8 and not f["flow"].isna().any() and f.index.freq is None
    assert pd.Timestamp("2024-01-07") not in f.index and loaded.freq == "D"


@pytest.mark.parametrize("mode,first,last", [("last-segment", "2024-01-11", "2024-01-12"),
                                             ("longest-segment", "2024-01-01", "2024-01-06")])
def test_long_gaps_segments(write, daily_csv, mode, first, last):
    path = write("a.csv", daily_csv(VALUES))
    f = load(DataSpec(path, fill_limit=2, long_gaps=mode)).frame
    assert f.index[0] == pd.Timestamp(first) and f.index[-1] == pd.Timestamp(last)
    assert f.index.freq == "D" and not f.isna().any().any()


def test_leading_gap_is_long_and_fill_none_fills_nothing(write, daily_csv):
    path = write("a.csv", "date,a,b\n2024-01-01,,1\n2024-01-02,2,\n2024-01-03,3,3\n2024-01-04,4,4\n")
    loaded = load(DataSpec(path, fill_limit=3, long_gaps="last-segment", trim_edges=False))
    assert loaded.frame.index[0] == pd.Timestamp("2024-01-02")  # a's leading gap cannot be filled
    assert loaded.frame.loc["2024-01-02", "b"] == 1.0  # ffill
    none = load(DataSpec(path, fill_method="none", long_gaps="keep", trim_edges=False)).frame
    assert int(none.isna().sum().sum()) == 2


@settings(max_examples=25, deadline=None)
@given(mask=st.lists(st.booleans(), min_size=3, max_size=40), limit=st.integers(0, 4))
def test_property_only_short_interior_gaps_are_filled(mask, limit):
    """After linear filling with long_gaps='keep', a value is missing iff it lies in a run of missing values
    longer than fill_limit or touching an end; filled values of a straight line lie on the line."""
    if all(mask):
        mask[0] = False
    x = np.arange(len(mask), dtype=float) * 2.0 + 1.0
    frame = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=len(mask)), "v": np.where(mask, np.nan, x)})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "v.parquet"
        frame.to_parquet(path)
        loaded = load(DataSpec(path, fill_method="linear", fill_limit=limit, long_gaps="keep", min_rows=0,
                               trim_edges=False))
    out = loaded.frame["v"].to_numpy()
    runs, i = [], 0
    while i < len(mask):
        if mask[i]:
            j = i
            while j < len(mask) and mask[j]:
                j += 1
            runs.append((i, j))
            i = j
        else:
            i += 1
    expect_nan = np.zeros(len(mask), bool)
    for a, b in runs:
        if b - a > limit or a == 0 or b == len(mask):
            expect_nan[a:b] = True
    np.testing.assert_array_equal(np.isnan(out), expect_nan)
    np.testing.assert_allclose(out[~expect_nan], x[~expect_nan])  # a straight line is refilled exactly
    assert loaded.filled["v"].sum() == int(np.sum(mask & ~expect_nan))


# ----------------------------------------------------------------------------------------- time zones
def test_local_time_file_joined_with_utc_file_lines_up(write):
    utc = pd.date_range("2024-01-15 00:00", periods=48, freq="h")
    local = utc.tz_localize("UTC").tz_convert("Europe/Copenhagen").tz_localize(None)
    flow = write("flow.csv", "datetime;flow\n" + "".join(f'"{t}";{u.hour + 100 * u.day}\n'
                                                         for t, u in zip(local, utc)))
    rain = write("rain.csv", "time,rain\n" + "".join(f"{u},{u.hour + 100 * u.day}\n" for u in utc))
    loaded = load(DataSpec(flow, time="datetime", tz="Europe/Copenhagen", drivers_path=rain,
                           drivers_time="time", drivers_tz="UTC", targets="flow", drivers="rain"))
    f = loaded.frame
    assert f.index[0] == utc[0] and len(f) == 48
    np.testing.assert_array_equal(f["flow"].to_numpy(), f["rain"].to_numpy())
    assert any("converted local times (Europe/Copenhagen) to UTC" in n for n in loaded.notes)


def test_dst_transitions_do_not_crash(write):
    spring = pd.date_range("2024-03-31 00:00", "2024-03-31 05:00", freq="h")  # 02:00 does not exist
    fall = ["2024-10-27 00:00", "2024-10-27 01:00", "2024-10-27 02:00", "2024-10-27 02:00", "2024-10-27 03:00"]
    text = "datetime,flow\n" + "".join(f"{t},{i}\n" for i, t in enumerate(spring))
    path = write("spring.csv", text)
    loaded = load(DataSpec(path, tz="Europe/Copenhagen", fill_method="linear"))
    f = loaded.frame
    # local 00:00, 01:00 (CET, UTC+1) -> 23:00, 00:00 UTC; 03:00 .. 05:00 (CEST, UTC+2) -> 01:00 .. 03:00 UTC
    assert f.index[0] == pd.Timestamp("2024-03-30 23:00") and f.index[-1] == pd.Timestamp("2024-03-31 03:00")
    assert f["flow"].tolist() == [0.0, 1.0, 3.0, 4.0, 5.0]  # the nonexistent 02:00 row (value 2) is dropped
    assert any("dropped 1 nonexistent" in n for n in loaded.notes)
    path = write("fall.csv", "datetime,flow\n" + "".join(f"{t},{i}\n" for i, t in enumerate(fall)))
    f = load(DataSpec(path, tz="Europe/Copenhagen")).frame
    # 00:00, 01:00, 02:00 CEST -> 22:00, 23:00, 00:00 UTC; second 02:00 and 03:00 CET -> 01:00, 02:00 UTC
    assert list(f.index) == list(pd.date_range("2024-10-26 22:00", periods=5, freq="h"))
    assert f["flow"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_offsets_in_timestamps_are_converted(write):
    path = write("a.csv", "t,v\n2024-01-01T01:00+01:00,1\n2024-01-01T01:00+00:00,2\n2024-01-01T03:00+01:00,3\n")
    f = load(DataSpec(path)).frame
    assert list(f.index) == list(pd.date_range("2024-01-01 00:00", periods=3, freq="h"))


# ----------------------------------------------------------------------------------------- resampling
def test_resample_hourly_to_daily_sum_mean_and_coverage(write):
    hours = pd.date_range("2024-01-01", periods=72, freq="h")
    flow = np.arange(72, dtype=float)
    rain = np.ones(72)
    keep = np.ones(72, bool)
    keep[24:24 + 10] = False  # day 2: 14 of 24 hours present (< 0.75 * 24 = 18) -> missing
    keep[48:48 + 5] = False  # day 3: 19 hours (>= 18) -> kept
    lines = "".join(f"{t},{a},{b}\n" for t, a, b, k in zip(hours, flow, rain, keep) if k)
    path = write("h.csv", "time,flow,rain\n" + lines)
    loaded = load(DataSpec(path, resample="D", agg={"rain": "sum"}, min_coverage=0.75, long_gaps="keep"))
    f = loaded.frame
    assert list(f.index) == list(pd.date_range("2024-01-01", periods=3, freq="D")) and f.index.freq == "D"
    assert f["flow"].iloc[0] == pytest.approx(np.mean(np.arange(24)))
    assert f["rain"].iloc[0] == 24.0
    assert loaded.raw_missing.to_dict() == {"flow": 1, "rain": 1}
    assert loaded.filled["flow"].iloc[1] and f["flow"].iloc[1] == f["flow"].iloc[0]  # ffill of the bad day
    assert f["flow"].iloc[2] == pytest.approx(np.mean(np.arange(53, 72)))
    assert f["rain"].iloc[2] == 19.0
    assert any("resampled 'h' -> 'D'" in n and "flow 1" in n for n in loaded.notes)


def test_resample_drivers_file_joined(write):
    hours = pd.date_range("2024-01-01", periods=48, freq="h")
    path = write("f.csv", "time,flow\n" + "".join(f"{t},{i}\n" for i, t in enumerate(hours)))
    drv = write("r.csv", "time,rain\n" + "".join(f"{t},{t.day % 2 / 2}\n" for t in
                                                    pd.date_range("2023-12-31", periods=96, freq="h")))
    loaded = load(DataSpec(path, drivers_path=drv, resample="D", agg={"rain": "sum"}, targets="flow",
                           drivers="rain", min_rows=2))
    f = loaded.frame
    assert len(f) == 2 and f["rain"].tolist() == [12.0, 0.0]  # 24 h x 0.5 on 1 Jan, 24 h x 0 on 2 Jan
    assert f["flow"].tolist() == [11.5, 35.5]
    assert any("outside the main file's span" in n for n in loaded.notes)


# ----------------------------------------------------------------------------------------- other formats
def test_parquet_round_trip(tmp_path):
    frame = pd.DataFrame({"flow": [1.0, 2.0, 3.0], "rain": [0, 1, 0]},
                         index=pd.DatetimeIndex(pd.date_range("2024-01-01", periods=3), name="date"))
    path = tmp_path / "a.parquet"
    frame.to_parquet(path)
    f = load(DataSpec(path, time="date")).frame
    np.testing.assert_array_equal(f.to_numpy(), frame.to_numpy(dtype=float))
    assert list(f.index) == list(frame.index)


def test_excel_round_trip_with_sheet_and_bad_cell(tmp_path):
    frame = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=3), "flow": [1.5, 2.5, 3.5]})
    path = tmp_path / "a.xlsx"
    with pd.ExcelWriter(path) as xl:
        pd.DataFrame({"x": [1]}).to_excel(xl, sheet_name="other", index=False)
        frame.to_excel(xl, sheet_name="data", index=False)
    f = load(DataSpec(path, sheet="data")).frame
    assert f["flow"].tolist() == [1.5, 2.5, 3.5] and f.index.freq == "D"
    bad = frame.astype({"flow": object})
    bad.loc[1, "flow"] = "n/a?"
    bad_path = tmp_path / "b.xlsx"
    bad.to_excel(bad_path, index=False)
    with pytest.raises(DataError, match=r"row 2 \(sheet row 3\), column 'flow': 'n/a\?' is not a number"):
        load(DataSpec(bad_path))
    with pytest.raises(DataError, match="nope"):
        load(DataSpec(path, sheet="nope"))


def test_corrupt_parquet_is_a_data_error(write):
    path = write("a.parquet", "this is not parquet")
    with pytest.raises(DataError, match="not a readable Parquet file"):
        load(DataSpec(path))


# ----------------------------------------------------------------------------------------- DataSpec
def test_from_mapping_resolves_paths_and_rejects_unknown_keys(tmp_path):
    spec = DataSpec.from_mapping({"path": "d/x.csv", "target": "flow", "drivers_path": "/abs/w.csv"},
                                 base_dir=tmp_path)
    assert spec.path == tmp_path / "d" / "x.csv" and spec.targets == ["flow"]
    assert spec.drivers_path == Path("/abs/w.csv")
    with pytest.raises(ConfigError, match=r"unknown \[data\] keys \['sepp'\]; valid keys: path, time"):
        DataSpec.from_mapping({"path": "x.csv", "sepp": ";"})
    again = DataSpec.from_mapping(spec.to_mapping())
    assert again == spec


@pytest.mark.parametrize("bad", [{"fill_method": "cubic"}, {"long_gaps": "ignore"}, {"freq": "fortnight"},
                                 {"tz": "Mars/Olympus"}, {"agg": {"a": "median"}, "resample": "D"},
                                 {"agg": {"a": "sum"}}, {"fill_limit": -1}, {"min_coverage": 0},
                                 {"duplicates": "avg"}, {"targets": ["a"], "drivers": ["a"]},
                                 {"calendar": ["weekday"]}])
def test_invalid_options_raise_config_error(bad):
    with pytest.raises(ConfigError):
        DataSpec("x.csv", **bad)


def test_decimal_comma_bad_cell_is_located(write):
    path = write("a.csv", "tid;flow\n2024-01-01;1,5\n2024-01-02;x\n2024-01-03;3,0\n")
    with pytest.raises(DataError, match=r"row 2 \(line 3\), column 'flow': 'x' is not a number \(1 such"):
        load(DataSpec(path, decimal=","))


def test_parquet_nullable_types_and_na_markers(tmp_path):
    frame = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=4).astype(str),
                          "on": pd.array([True, None, False, True], dtype="boolean"),
                          "n": pd.array([1, 2, None, 4], dtype="Int64"),
                          "s": ["1.5", "?", "2.5", "3.5"]})
    path = tmp_path / "a.parquet"
    frame.to_parquet(path)
    loaded = load(DataSpec(path, na_values=["?"], fill_method="linear"))
    assert loaded.frame["on"].tolist() == [1.0, 0.5, 0.0, 1.0]
    assert loaded.frame["n"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert loaded.frame["s"].tolist() == [1.5, 2.0, 2.5, 3.5]
