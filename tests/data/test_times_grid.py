"""wq.data.times (UTC-naive times) and wq.data.grid.infer_freq (the one way to name a step)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wq.data.grid import infer_freq
from wq.data.times import localize_wall_times, to_utc_naive
from wq.errors import DataError


def test_to_utc_naive_on_timestamp_index_and_series():
    ts = pd.Timestamp("2024-07-01 02:00", tz="Europe/Copenhagen")
    assert to_utc_naive(ts) == pd.Timestamp("2024-07-01 00:00") and to_utc_naive(ts).tz is None
    naive = pd.Timestamp("2024-07-01 02:00")
    assert to_utc_naive(naive) is naive  # naive times are taken to be UTC already
    idx = pd.date_range("2024-01-01", periods=3, freq="h", tz="America/Denver")
    out = to_utc_naive(idx)
    assert out.tz is None and list(out) == list(pd.date_range("2024-01-01 07:00", periods=3, freq="h"))
    s = pd.Series(idx)
    assert to_utc_naive(s).tolist() == list(out)
    assert to_utc_naive(pd.Series(out)).equals(pd.Series(out))


def test_localize_wall_times_flags_nonexistent_and_counts_ambiguous():
    t = pd.DatetimeIndex(["2024-03-31 01:00", "2024-03-31 02:30", "2024-10-27 02:30", "2024-10-27 02:30"])
    out, nonexistent, ambiguous = localize_wall_times(t, "Europe/Copenhagen")
    assert nonexistent.tolist() == [False, True, False, False] and ambiguous == 2
    assert out[0] == pd.Timestamp("2024-03-31 00:00") and pd.isna(out[1])
    assert list(out[2:]) == [pd.Timestamp("2024-10-27 00:30"), pd.Timestamp("2024-10-27 01:30")]


def test_infer_freq_regular_for_models_median_for_files():
    daily = pd.date_range("2024-01-01", periods=10, freq="D")
    assert infer_freq(daily) == "D"
    assert infer_freq(pd.DataFrame(index=daily)) == "D"  # a frame: its index
    no_freq = pd.DatetimeIndex(list(daily))
    assert no_freq.freq is None and infer_freq(no_freq) == "D"
    weekly = pd.DatetimeIndex(list(pd.date_range("2024-01-07", periods=6, freq="W")))
    assert infer_freq(weekly) == "W-SUN"  # pandas' alias, which the seasonal naive's table knows
    gappy = no_freq.delete([3, 4])
    with pytest.raises(DataError, match=r"no regular frequency \(steps from 1 days 00:00:00 to 3 days"):
        infer_freq(gappy)
    assert infer_freq(gappy, regular=False) == "D"  # median step: what a file with gaps is read at
    odd = pd.DatetimeIndex(["2024-01-01", "2024-01-02", "2024-01-04", "2024-01-06"])
    assert infer_freq(odd, regular=False) == "2D"  # steps (1, 2, 2): the median
    even = odd.insert(2, pd.Timestamp("2024-01-03"))
    assert infer_freq(even, regular=False) == "D"  # steps (1, 1, 1, 2): the lower middle, a step that occurs
    with pytest.raises(DataError, match="from 1 timestamps"):
        infer_freq(pd.DatetimeIndex(["2024-01-01"]), regular=False)
    with pytest.raises(DataError, match="time index"):
        infer_freq(pd.DataFrame({"a": np.arange(3)}))


def test_models_use_the_data_layer_infer_freq():
    import wq.models.naive as naive
    import wq.models.windowed as windowed

    assert naive.infer_freq is infer_freq and windowed.infer_freq is infer_freq
