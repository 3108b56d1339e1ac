"""Known-future drivers (issue 12, item 1), data side: issued forecasts are used exactly as issued (for origin t
the latest value issued at or before t, never one issued after t), observed values only when asked for."""

import numpy as np
import pandas as pd
import pytest

from wq.data import DataSpec
from wq.data.future import IssuedForecasts, add_future_drivers, future_column, missing_future, valid_times
from wq.errors import ConfigError, DataError

IDX = pd.date_range("2024-01-01", periods=10, freq="D", name="time")


def issued_csv(path, rows):
    pd.DataFrame(rows, columns=["issue_time", "valid_time", "rain"]).to_csv(path, index=False)
    return path


def spec(path, **kw):
    return DataSpec("data.csv", targets=["y"], drivers=["rain"], future_drivers=["rain"], future_drivers_file=path,
                    **kw)


def frame():
    return pd.DataFrame({"y": np.arange(10.0), "rain": np.arange(10.0) * 10}, index=IDX)


def test_latest_issue_at_or_before_the_origin_is_used_never_a_later_one(tmp_path):
    rows = [
        ("2024-01-01", "2024-01-03", 1.0),  # the oldest forecast of Jan 3
        ("2024-01-02", "2024-01-03", 2.0),  # newer: used from origin Jan 2 on
        ("2024-01-03 06:00", "2024-01-04", 9.0),  # issued after origin Jan 3 (00:00): not for origin Jan 3
        ("2024-01-02", "2024-01-04", 3.0),
        ("2024-01-03", "2024-01-05", np.nan),  # not issued for this driver
        ("2024-01-02", "2024-01-05", 4.0),
    ]
    f = add_future_drivers(frame(), spec(issued_csv(tmp_path / "f.csv", rows), future_drivers_time_format="ISO8601"),
                           horizon=2)
    s1, s2 = f[future_column("rain", 1)], f[future_column("rain", 2)]
    day = pd.Timestamp
    assert s2[day("2024-01-01")] == 1.0  # Jan 3 as known on Jan 1
    assert s1[day("2024-01-02")] == 2.0 and s2[day("2024-01-02")] == 3.0
    assert s1[day("2024-01-03")] == 3.0  # the 06:00 issue comes after the origin
    assert s2[day("2024-01-03")] == 4.0  # the Jan 3 row has no value: the Jan 2 issue stands
    assert s1[day("2024-01-04")] == 4.0
    assert np.isnan(s1[day("2024-01-01")]) and np.isnan(s2[day("2024-01-05")])


def test_lookup_matches_a_plain_loop(tmp_path):
    rng = np.random.default_rng(0)
    n = 400
    issue = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 10 * 24, n), unit="h")
    valid = issue.normalize() + pd.to_timedelta(rng.integers(0, 5, n), unit="D")
    table = pd.DataFrame({"issue_time": issue, "valid_time": valid, "rain": rng.normal(size=n).round(3)})
    table = table.drop_duplicates(["issue_time", "valid_time"])
    path = tmp_path / "f.csv"
    table.to_csv(path, index=False)
    issued = IssuedForecasts.read(spec(path))
    got = issued.lookup(IDX, valid_times(IDX, 3))[..., 0]
    for i, t in enumerate(IDX):
        for s in range(3):
            v = t + pd.Timedelta(days=s + 1)
            ok = table[(table.valid_time == v) & (table.issue_time <= t)]
            want = ok.sort_values("issue_time")["rain"].iloc[-1] if len(ok) else np.nan
            np.testing.assert_equal(got[i, s], want)


def test_observed_source_shifts_the_observations_and_says_so():
    notes = []
    sp = DataSpec("data.csv", targets=["y"], future_drivers=["rain"], future_drivers_source="observed")
    f = add_future_drivers(frame(), sp, horizon=2, notes=notes)
    np.testing.assert_array_equal(f[future_column("rain", 2)].to_numpy()[:8], frame()["rain"].to_numpy()[2:])
    assert np.isnan(f[future_column("rain", 1)].iloc[-1])
    assert "upper bound of skill" in notes[0]
    assert sp.loaded_columns == ["y", "rain"]


def test_settings_and_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="future_drivers_file"):
        DataSpec("d.csv", targets=["y"], future_drivers=["rain"])
    with pytest.raises(ConfigError, match="future_drivers_source"):
        DataSpec("d.csv", targets=["y"], future_drivers=["rain"], future_drivers_source="perfect")
    with pytest.raises(ConfigError, match="targets"):
        DataSpec("d.csv", targets=["y"], future_drivers=["y"], future_drivers_source="observed")
    dup = issued_csv(tmp_path / "dup.csv", [("2024-01-01", "2024-01-02", 1.0), ("2024-01-01", "2024-01-02", 2.0)])
    with pytest.raises(DataError, match="share an issue time and valid time"):
        IssuedForecasts.read(spec(dup))
    pd.DataFrame({"issue_time": ["2024-01-01"], "valid_time": ["2024-01-02"], "wind": [1.0]}).to_csv(
        tmp_path / "w.csv", index=False)
    with pytest.raises(DataError, match="no column for known-future driver"):
        IssuedForecasts.read(spec(tmp_path / "w.csv"))


def test_missing_future_names_driver_and_valid_time(tmp_path):
    f = add_future_drivers(frame(), spec(issued_csv(tmp_path / "f.csv", [("2024-01-09", "2024-01-10", 1.0)])), 2)
    assert missing_future(f, ["rain"], 1, np.array([8])) is None
    driver, origin, valid = missing_future(f, ["rain"], 2, np.array([8]))
    assert (driver, origin, valid) == ("rain", pd.Timestamp("2024-01-09"), pd.Timestamp("2024-01-11"))
