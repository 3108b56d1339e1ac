"""Scoring stored forecasts: hand-computed metrics per step and month, drift flag rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wq.batch.score import DEFAULT_THRESHOLD, format_score, score_forecasts
from wq.errors import DataError


def _fc(origins, steps, values, target="y", version="v1") -> pd.DataFrame:
    origins = pd.to_datetime(origins)
    return pd.DataFrame(
        {
            "pipeline": "p",
            "model_version": version,
            "as_of": origins,
            "target": target,
            "step": steps,
            "time": origins + pd.to_timedelta(np.asarray(steps), unit="D"),
            "value": np.asarray(values, dtype=float),
        }
    )


def test_hand_computed_metrics_per_step_and_month() -> None:
    obs = pd.DataFrame(
        {"y": [10.0, 20.0, 40.0, 50.0]}, index=pd.to_datetime(["2024-01-30", "2024-01-31", "2024-02-01", "2024-02-02"])
    )
    fc = pd.concat(
        [
            # step 1: valid 01-30, 01-31, 02-01 -> errors (yhat - y) = +1, -2, +4
            _fc(["2024-01-29", "2024-01-30", "2024-01-31"], [1, 1, 1], [11.0, 18.0, 44.0]),
            # step 2: valid 01-31, 02-01 -> errors 0, -8; valid 02-03 has no observation yet
            _fc(["2024-01-29", "2024-01-30", "2024-02-01"], [2, 2, 2], [20.0, 32.0, 1.0]),
        ]
    )
    result = score_forecasts(fc, obs, threshold=50.0, window=2)
    assert (result.n_scored, result.n_pending) == (5, 1)
    s1 = result.by_step.set_index("step").loc[1]
    assert s1["n"] == 3
    assert s1["MAPE"] == pytest.approx(100 / 3 * (1 / 10 + 2 / 20 + 4 / 40))
    assert s1["MAE"] == pytest.approx((1 + 2 + 4) / 3)
    assert s1["RMSE"] == pytest.approx(np.sqrt((1 + 4 + 16) / 3))
    assert s1["bias"] == pytest.approx((1 - 2 + 4) / 3)
    s2 = result.by_step.set_index("step").loc[2]
    assert (s2["n"], s2["MAPE"], s2["bias"]) == (2, pytest.approx(100 / 2 * (0 + 8 / 40)), pytest.approx(-4.0))
    month = result.by_month.set_index("month")
    assert list(month.index) == ["2024-01", "2024-02"]
    assert month.loc["2024-01", "n"] == 3  # 01-30 (s1), 01-31 (s1, s2)
    assert month.loc["2024-01", "MAE"] == pytest.approx((1 + 2 + 0) / 3)
    assert month.loc["2024-02", "MAE"] == pytest.approx((4 + 8) / 2)


def _daily_run(errors_pct: list[float], start: str = "2024-03-01") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Step-1 forecasts whose absolute percentage error on day i is errors_pct[i]."""
    n = len(errors_pct)
    days = pd.date_range(start, periods=n, freq="D")
    obs = pd.DataFrame({"y": np.full(n, 100.0)}, index=days)
    fc = _fc(days - pd.Timedelta(days=1), [1] * n, 100.0 + np.asarray(errors_pct))
    return fc, obs


def test_drift_when_rolling_error_stays_above_threshold() -> None:
    fc, obs = _daily_run([5.0] * 10 + [40.0] * 6)
    result = score_forecasts(fc, obs, threshold=20.0, window=3)
    flag = result.flags.iloc[0]
    assert bool(flag["drift"]) and result.drift
    assert flag["threshold"] == 20.0 and flag["days"] == 16
    daily = result.daily.set_index("day")["rolling"]
    assert daily.iloc[10] == pytest.approx((5 + 5 + 40) / 3)
    assert daily.iloc[-1] == pytest.approx(40.0)
    assert list(result.daily["above"]) == [False] * 11 + [True] * 5


def test_no_drift_on_a_short_excursion() -> None:
    # rolling means (window 3) of the last days: (5+5+40)/3, (5+40+40)/3, 40 -> above 20 on two days only
    fc, obs = _daily_run([5.0] * 11 + [40.0, 40.0, 40.0])
    result = score_forecasts(fc, obs, threshold=20.0, window=3)
    assert list(result.daily["above"].iloc[-3:]) == [False, True, True]
    assert not result.drift
    # one more day of the same error: above on each of the last three days
    fc, obs = _daily_run([5.0] * 11 + [40.0] * 4)
    assert score_forecasts(fc, obs, threshold=20.0, window=3).drift


def test_drift_needs_window_days_of_history() -> None:
    fc, obs = _daily_run([90.0, 90.0])
    assert not score_forecasts(fc, obs, threshold=20.0, window=3).drift


def test_threshold_from_validation_mape_or_default() -> None:
    fc, obs = _daily_run([16.0] * 5)
    by_val = score_forecasts(fc, obs, window=3, validation_mape=10.0)
    assert by_val.flags["threshold"].iloc[0] == pytest.approx(15.0)
    assert by_val.drift  # 16 > 1.5 x 10
    assert not score_forecasts(fc, obs, window=3, validation_mape={"y": 11.0}).drift  # 16 < 16.5
    default = score_forecasts(fc, obs, window=3)
    assert default.flags["threshold"].iloc[0] == DEFAULT_THRESHOLD
    assert default.flags["threshold_from"].iloc[0] == "default"
    assert not default.drift


def test_versions_and_targets_are_separate_series() -> None:
    fc1, obs = _daily_run([40.0] * 4)
    fc2 = fc1.assign(model_version="v2", value=100.0 + 1.0)
    result = score_forecasts(pd.concat([fc1, fc2]), obs, threshold=20.0, window=2)
    flags = result.flags.set_index("model_version")["drift"]
    assert bool(flags["v1"]) and not bool(flags["v2"])
    assert list(result.by_step["model_version"]) == ["v1", "v2"]


def test_zero_observations_skipped_and_counted_or_refused() -> None:
    obs = pd.DataFrame({"y": [0.0, 10.0]}, index=pd.to_datetime(["2024-01-02", "2024-01-03"]))
    fc = _fc(["2024-01-01", "2024-01-02"], [1, 1], [1.0, 12.0])
    result = score_forecasts(fc, obs, threshold=10.0, window=1)
    row = result.by_step.iloc[0]
    assert (row["n"], row["zeros_skipped"]) == (2, 1)
    assert row["MAPE"] == pytest.approx(20.0)
    assert row["MAE"] == pytest.approx(1.5)  # MAE still uses both
    assert list(result.daily["mape"]) == [20.0]
    with pytest.raises(DataError, match="equal to zero"):
        score_forecasts(fc, obs, zeros="error")


def test_bad_inputs() -> None:
    obs = pd.DataFrame({"y": [1.0]}, index=pd.to_datetime(["2024-01-02"]))
    fc = _fc(["2024-01-01"], [1], [1.0])
    with pytest.raises(DataError, match="no column for forecast target.*'z'"):
        score_forecasts(fc.assign(target="z"), obs)
    with pytest.raises(DataError, match="missing column.*'value'"):
        score_forecasts(fc.drop(columns="value"), obs)
    with pytest.raises(DataError, match="DatetimeIndex"):
        score_forecasts(fc, obs.reset_index())
    with pytest.raises(ValueError, match="window"):
        score_forecasts(fc, obs, window=0)


def test_nothing_observed_yet_and_format() -> None:
    obs = pd.DataFrame({"y": [np.nan]}, index=pd.to_datetime(["2024-01-02"]))
    fc = _fc(["2024-01-01", "2024-01-02"], [1, 1], [1.0, 2.0])
    empty = score_forecasts(fc, obs)
    assert (empty.n_scored, empty.n_pending, empty.drift) == (0, 2, False)
    assert empty.by_step.empty and empty.flags.empty
    assert "waiting for observations: 2" in format_score(empty)

    fc, obs = _daily_run([40.0] * 4)
    text = format_score(score_forecasts(fc, obs, threshold=20.0, window=2))
    assert "Per horizon step" in text and "Per month" in text and "2024-03" in text
    assert "DRIFT" in text
