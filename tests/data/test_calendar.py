"""wq.data.calendar: hand-checked values of each feature."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wq.data.calendar import FEATURES, calendar_features, feature_columns
from wq.errors import ConfigError


def test_day_of_week_weekend_month_values():
    idx = pd.DatetimeIndex(["2024-07-01", "2024-07-06", "2024-07-07", "2024-12-31"])  # Mon, Sat, Sun, Tue
    f = calendar_features(idx, ["day_of_week", "weekend", "month"])
    assert list(f.columns) == ["day_of_week_sin", "day_of_week_cos", "weekend", "month"]
    np.testing.assert_allclose(f["day_of_week_sin"], np.sin(2 * np.pi * np.array([0, 5, 6, 1]) / 7))
    assert f.loc["2024-07-01", "day_of_week_cos"] == pytest.approx(1.0)
    assert f["weekend"].tolist() == [0.0, 1.0, 1.0, 0.0]
    assert f["month"].tolist() == [6 / 11, 6 / 11, 6 / 11, 1.0]
    assert (f.dtypes == np.float64).all() and f.index.equals(idx)


def test_us_federal_holidays_and_custom_list():
    idx = pd.date_range("2024-07-03 00:00", "2024-07-05 12:00", freq="12h")
    f = calendar_features(idx, ["holiday"])
    assert f["holiday"].tolist() == [0, 0, 1, 1, 0, 0]  # 4 July, both hours
    nov = pd.date_range("2023-11-22", periods=3, freq="D")
    assert calendar_features(nov, ["holiday"])["holiday"].tolist() == [0, 1, 0]  # Thanksgiving 23 Nov 2023
    custom = calendar_features(nov, ["holiday"], holidays=["2023-11-24"])
    assert custom["holiday"].tolist() == [0, 0, 1]


def test_day_of_year_and_hour_are_cyclic():
    idx = pd.DatetimeIndex(["2023-01-01", "2023-07-02 12:00", "2024-12-31 06:00"])
    f = calendar_features(idx, ["day_of_year", "hour"])
    assert f.loc[idx[0], "day_of_year_sin"] == pytest.approx(0.0)
    assert f.loc[idx[0], "day_of_year_cos"] == pytest.approx(1.0)
    # 2 July 2023 is day 183 of 365: angle 2 pi * 182 / 365
    assert f.loc[idx[1], "day_of_year_cos"] == pytest.approx(np.cos(2 * np.pi * 182 / 365))
    # 31 Dec 2024 is day 366 of a leap year: one step before 1 Jan
    assert f.loc[idx[2], "day_of_year_sin"] == pytest.approx(np.sin(2 * np.pi * 365 / 366))
    assert f["hour_cos"].tolist() == pytest.approx([1.0, -1.0, 0.0], abs=1e-12)


def test_unknown_name_and_bad_input_raise_config_error():
    idx = pd.date_range("2024-01-01", periods=3)
    with pytest.raises(ConfigError, match="unknown calendar features \\['weekday'\\]"):
        calendar_features(idx, ["weekday"])
    with pytest.raises(ConfigError):
        calendar_features(idx, ["holiday"], holidays=None)
    with pytest.raises(ConfigError, match="unknown holiday country"):
        calendar_features(idx, ["holiday"], holidays="XX")  # any country of the holidays package is known
    with pytest.raises(ConfigError):
        calendar_features(idx, ["holiday"], holidays=["2024-13-45"])
    with pytest.raises(ConfigError):
        calendar_features(pd.Index([1, 2]), ["month"])


def test_feature_columns_cover_all_features():
    cols = feature_columns(list(FEATURES))
    frame = calendar_features(pd.date_range("2024-01-01", periods=10, freq="D"), list(FEATURES))
    assert list(frame.columns) == cols and len(cols) == 9
    assert frame.abs().max().max() <= 1.0
