"""Edges of a record (trimmed by default) and values no float computation survives (issue 10, items 10 and 12)."""

from __future__ import annotations

import re
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wq.data import DataError, DataSpec, LongGapError, load


# ----------------------------------------------------------------------------------------- edges
def test_missing_first_target_value_is_trimmed_not_refused(write, daily_csv):
    path = write("a.csv", daily_csv([None, 2, 3, 4, 5, 6]))
    loaded = load(DataSpec(path, targets="flow", fill_limit=7))
    assert loaded.frame.index[0] == pd.Timestamp("2024-01-02") and loaded.frame.index.freq == "D"
    assert loaded.frame["flow"].tolist() == [2.0, 3.0, 4.0, 5.0, 6.0]
    assert any("trimmed 1 row at the start" in n and "flow (1 row)" in n for n in loaded.notes)
    assert loaded.gaps[["column", "start", "length", "action"]].values.tolist() == [
        ["flow", pd.Timestamp("2024-01-01"), 1, "trimmed"]]
    with pytest.raises(LongGapError, match=r"or at an edge.*flow 2024-01-01 \.\. 2024-01-01 \(1 steps\)"):
        load(DataSpec(path, targets="flow", fill_limit=7, trim_edges=False))  # the old rule, on request


def test_trailing_missing_values_beyond_the_fill_limit_are_trimmed(write):
    """Values that have not arrived yet end the record unless a causal fill covers them (a short trailing run,
    ffill within fill_limit: the last observation carried forward, marked as filled, never scored)."""
    path = write("a.csv", "date,flow,rain\n2024-01-01,1,0\n2024-01-02,2,1\n2024-01-03,3,\n2024-01-04,,\n"
                          "2024-01-05,,2\n")
    short = load(DataSpec(path, targets="flow", drivers="rain", fill_limit=3))  # runs of 2 <= 3: filled
    assert short.frame.index[-1] == pd.Timestamp("2024-01-05")
    assert short.frame["flow"].tolist()[-2:] == [3.0, 3.0] and short.filled["flow"].tolist()[-2:] == [True, True]
    loaded = load(DataSpec(path, targets="flow", drivers="rain", fill_limit=1))  # flow's run of 2 > 1: trimmed
    assert loaded.frame.index[-1] == pd.Timestamp("2024-01-03") and loaded.filled["rain"].tolist()[-1]
    note = next(n for n in loaded.notes if "at the end" in n)
    assert "trimmed 2 rows" in note and "data end at 2024-01-03" in note and "flow (2 rows)" in note
    trimmed = loaded.gaps[loaded.gaps["action"] == "trimmed"]
    assert trimmed[["column", "start", "end"]].values.tolist() == [
        ["flow", pd.Timestamp("2024-01-04"), pd.Timestamp("2024-01-05")]]
    nofill = load(DataSpec(path, targets="flow", drivers="rain", fill_method="none", long_gaps="keep"))
    assert nofill.frame.index[-1] == pd.Timestamp("2024-01-02")  # no causal fill: the last complete row


def test_edge_trimming_on_a_drivers_file_that_starts_later(write):
    main = write("m.csv", "date,flow\n" + "".join(f"2024-01-{d:02d},{d}\n" for d in range(1, 11)))
    drv = write("d.csv", "date,rain\n" + "".join(f"2024-01-{d:02d},{d % 3}\n" for d in range(4, 12)))
    loaded = load(DataSpec(main, drivers_path=drv, targets="flow", drivers="rain"))
    f = loaded.frame
    assert f.index[0] == pd.Timestamp("2024-01-04") and f.index[-1] == pd.Timestamp("2024-01-10")
    assert not f.isna().any().any() and f.index.freq == "D"


def test_columns_that_never_overlap_and_empty_columns(write):
    path = write("a.csv", "date,a,b\n2024-01-01,1,\n2024-01-02,2,\n2024-01-03,,3\n2024-01-04,,4\n")
    with pytest.raises(DataError, match=r"no row has a value in every column .*a 2024-01-01 \.\. 2024-01-02"):
        load(DataSpec(path))
    drv = write("d.csv", "date,rain,wind\n2023-01-01,1,2\n2023-01-02,2,3\n")
    main = write("m.csv", "date,flow\n2024-01-01,1\n2024-01-02,2\n2024-01-03,3\n")
    with pytest.raises(DataError, match=r"d\.csv, column 'rain': no values"):
        load(DataSpec(main, drivers_path=drv, targets="flow", drivers="rain"))
    loaded = load(DataSpec(main, drivers_path=drv))  # not selected: a value-less column is dropped, noted
    assert list(loaded.frame.columns) == ["flow"] and len(loaded.frame) == 3
    assert any("dropped columns without values on the grid: rain, wind" in n for n in loaded.notes)


@settings(max_examples=30, deadline=None)
@given(masks=st.lists(st.lists(st.booleans(), min_size=12, max_size=12), min_size=1, max_size=3),
       limit=st.integers(0, 3))
def test_property_trimmed_record_starts_and_ends_with_every_value(masks, limit):
    """The loaded record runs from the first row where every column has a value to the last such row, or
    further where every column's trailing run is short enough for the causal fill (ffill within the limit):
    then to the end, else to the first column's last value that no fill reaches; inside it missing values
    follow the gap rules exactly as without trimming."""
    mask = np.array(masks).T  # (12, k): True = missing
    mask[5] = False  # at least one complete row
    x = np.arange(12, dtype=float)[:, None] + np.arange(mask.shape[1])[None, :] * 100
    frame = pd.DataFrame(np.where(mask, np.nan, x), columns=[f"c{j}" for j in range(mask.shape[1])])
    frame.insert(0, "date", pd.date_range("2024-01-01", periods=12))
    complete = np.flatnonzero(~mask.any(axis=1))
    last = 11 - (~mask)[::-1].argmax(axis=0)  # each column's last value
    short = (11 - last) <= limit
    if not limit:  # nothing is filled: the last complete row
        end = int(complete[-1])
    else:
        end = 11 if short.all() else max(int(last[~short].min()), int(complete[-1]))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "v.parquet"
        frame.to_parquet(path)
        loaded = load(DataSpec(path, freq="D", fill_limit=limit, long_gaps="keep", min_rows=0))
        inner = frame.iloc[complete[0]:end + 1].reset_index(drop=True)
        inner.to_parquet(path)
        untrimmed = load(DataSpec(path, freq="D", fill_limit=limit, long_gaps="keep", min_rows=0,
                                   trim_edges=False))
    f = loaded.frame
    assert f.index[0] == pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(complete[0]))
    assert f.index[-1] == pd.Timestamp("2024-01-01") + pd.Timedelta(days=end)
    assert f.iloc[0].notna().all()  # the first row complete; inside, gaps follow the rules as untrimmed:
    pd.testing.assert_frame_equal(f, untrimmed.frame)


# ----------------------------------------------------------------------------------------- magnitudes
@pytest.mark.parametrize("value", ["1e308", "-1e308", "1.7976931348623157e308", "2e150"])
def test_value_no_float_computation_survives_is_an_error(write, value):
    path = write("a.csv", "date,flow\n2024-01-01,1\n2024-01-02,2\n2024-01-03," + value + "\n2024-01-04,4\n")
    with pytest.raises(DataError) as err:
        load(DataSpec(path, targets="flow"))
    msg = str(err.value)
    assert f"file {path}, row 3 (line 4), column 'flow'" in msg and "too large" in msg and "1e+150" in msg


def test_large_but_safe_values_load_and_parquet_is_checked_too(tmp_path):
    frame = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=4), "flow": [1e149, -1e149, 3.0, 4.0]})
    path = tmp_path / "ok.parquet"
    frame.to_parquet(path)
    f = load(DataSpec(path)).frame
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isfinite(f["flow"].std())  # squares of 1e149 fit in float64
    frame.loc[2, "flow"] = -1e308
    frame.to_parquet(path)
    with pytest.raises(DataError, match=re.escape(f"file {path}, row 3, column 'flow'")):
        load(DataSpec(path))


def test_resampled_sum_beyond_the_limit_is_an_error(write):
    hours = pd.date_range("2024-01-01", periods=48, freq="h")
    path = write("h.csv", "time,rain\n" + "".join(f"{t},9e149\n" for t in hours))
    with pytest.raises(DataError, match=r"column 'rain', time 2024-01-01 00:00:00: 2.16e\+151 after resampling "
                                        r"by 'sum' is too large"):
        load(DataSpec(path, resample="D", agg={"rain": "sum"}))
    assert load(DataSpec(path, resample="D")).frame["rain"].tolist() == [9e149, 9e149]
