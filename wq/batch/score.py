"""Scoring stored forecasts once their observations arrive: the operator's view of whether to retrain.

Forecast rows (as read from :class:`~wq.batch.store.ForecastStore`) are matched to observations
on (valid time, target): a forecast is *scored* when the observation at exactly its valid time
is present, else *pending*. Series are ``(pipeline, model_version, target)``: every table is per
series, so a retrained model starts its own record.

- **by step**: per series and horizon step, n, MAPE, MAE, RMSE (:mod:`wq.evaluate.metrics`) and
  bias = mean(ŷ − y) (positive: over-forecast);
- **by month**: the same per series and calendar month of the valid time (all steps together);
- **drift**: from the step-``drift_step`` (default 1) forecasts, the daily error
  e_d = MAPE of the forecasts valid on calendar day d (= mean of 100·|y − ŷ|/|y|), its trailing
  rolling mean r_d over ``window`` calendar days (days without a scored forecast are left out of
  the mean), and the flag ``drift = True`` when r_d > threshold on every one of the last ``window``
  calendar days up to the series' last scored day: the error *stays* high, not one bad day.
  The threshold is, per target: ``threshold`` if given; else 1.5 × the artifact's validation MAPE
  (``validation_mape``, a number or a mapping target -> number); else :data:`DEFAULT_THRESHOLD`
  (20 %). Our rule, documented here; the design leaves it to us.

Observations equal to zero have no percentage error: with ``zeros="skip"`` (default) they are
left out of MAPE and the drift error and counted in ``zeros_skipped``; ``zeros="error"`` raises.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from wq.errors import DataError
from wq.evaluate.metrics import MetricWarning, mae, mape, rmse

__all__ = ["DEFAULT_THRESHOLD", "VALIDATION_FACTOR", "ScoreResult", "score_forecasts", "format_score"]

DEFAULT_THRESHOLD = 20.0
"""Drift threshold on the rolling daily MAPE (percent) when neither a threshold nor a validation MAPE is given."""

VALIDATION_FACTOR = 1.5
"""Drift threshold = this factor × the artifact's validation MAPE, when that is given."""

SERIES: tuple[str, ...] = ("pipeline", "model_version", "target")
_REQUIRED = (*SERIES, "step", "time", "value")


@dataclass(frozen=True)
class ScoreResult:
    """Tables of :func:`score_forecasts`; see the module docstring for their definitions.

    ``by_step``: series, step, n, MAPE, MAE, RMSE, bias, zeros_skipped.
    ``by_month``: series, month ('YYYY-MM'), n, MAPE, MAE, RMSE, bias, zeros_skipped.
    ``daily``: series, day, n, mape (daily error e_d), rolling (r_d), above (r_d > threshold).
    ``flags``: series, threshold, threshold_from, days (scored days), last_day, rolling, drift.
    """

    by_step: pd.DataFrame
    by_month: pd.DataFrame
    daily: pd.DataFrame
    flags: pd.DataFrame
    n_scored: int
    n_pending: int
    window: int
    drift_step: int

    @property
    def drift(self) -> bool:
        """Whether any series is flagged."""
        return bool(self.flags["drift"].any()) if len(self.flags) else False


def _metrics_table(scored: pd.DataFrame, keys: list[str], zeros: str) -> pd.DataFrame:
    """n, MAPE, MAE, RMSE, bias and skipped zeros per group (groups are few: steps x series)."""
    columns = [*keys, "n", "MAPE", "MAE", "RMSE", "bias", "zeros_skipped"]
    records = []
    for key, group in scored.groupby(keys, sort=True, observed=True):
        y = group["observed"].to_numpy()
        yhat = group["value"].to_numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MetricWarning)
            value, skipped = mape(y, yhat, zeros=zeros, return_skipped=True)
        records.append(
            (*key, len(y), value, mae(y, yhat), rmse(y, yhat), float(np.mean(yhat - y)), skipped)
        )
    return pd.DataFrame.from_records(records, columns=columns)


def _thresholds(targets: pd.Series, threshold: float | None, validation_mape: float | Mapping[str, float] | None):
    if threshold is not None:
        return pd.Series(float(threshold), index=targets.index), "given"
    if validation_mape is None:
        return pd.Series(DEFAULT_THRESHOLD, index=targets.index), "default"
    if isinstance(validation_mape, Mapping):
        missing = sorted(set(targets) - set(validation_mape))
        if missing:
            raise DataError(f"validation MAPE missing for target(s) {', '.join(map(repr, missing))}")
        values = targets.map(lambda t: float(validation_mape[t]))
    else:
        values = pd.Series(float(validation_mape), index=targets.index)
    return VALIDATION_FACTOR * values, f"{VALIDATION_FACTOR:g} x validation MAPE"


def _drift(
    scored: pd.DataFrame,
    window: int,
    drift_step: int,
    threshold: float | None,
    validation_mape: float | Mapping[str, float] | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    keys = list(SERIES)
    one = scored.loc[(scored["step"] == drift_step) & (scored["observed"] != 0.0)]
    daily_cols = [*keys, "day", "n", "mape", "rolling", "above"]
    flag_cols = [*keys, "threshold", "threshold_from", "days", "last_day", "rolling", "drift"]
    if one.empty:
        return pd.DataFrame(columns=daily_cols), pd.DataFrame(columns=flag_cols)
    ape = 100.0 * np.abs(one["observed"].to_numpy() - one["value"].to_numpy()) / np.abs(one["observed"].to_numpy())
    frame = pd.DataFrame({**{k: one[k].to_numpy() for k in keys}, "day": one["time"].dt.floor("D").to_numpy(), "ape": ape})
    daily = frame.groupby([*keys, "day"], sort=True).agg(n=("ape", "size"), mape=("ape", "mean")).reset_index()

    pieces, flags = [], []
    for key, group in daily.groupby(keys, sort=True):
        days = pd.date_range(group["day"].iloc[0], group["day"].iloc[-1], freq="D", name="day")
        full = group.set_index("day").reindex(days)
        rolling = full["mape"].rolling(window, min_periods=1).mean()
        group = group.assign(rolling=rolling.reindex(group["day"]).to_numpy())
        pieces.append(group)
        flags.append((*key, len(group), group["day"].iloc[-1], float(rolling.iloc[-1]), rolling.iloc[-window:].to_numpy()))
    daily = pd.concat(pieces, ignore_index=True)
    flag = pd.DataFrame.from_records([f[:-1] for f in flags], columns=[*keys, "days", "last_day", "rolling"])
    thr, source = _thresholds(flag["target"], threshold, validation_mape)
    flag["threshold"] = thr.to_numpy()
    flag["threshold_from"] = source
    # drift: the rolling error above the threshold on each of the last `window` calendar days
    flag["drift"] = [
        bool(len(last) == window and np.all(np.nan_to_num(last, nan=-np.inf) > t))
        for (*_, last), t in zip(flags, flag["threshold"], strict=True)
    ]
    thr_by_series = flag.set_index(keys)["threshold"]
    daily["above"] = daily["rolling"].to_numpy() > thr_by_series.reindex(pd.MultiIndex.from_frame(daily[keys])).to_numpy()
    return daily.loc[:, daily_cols], flag.loc[:, flag_cols]


# size: joins issued forecasts to observations and scores them in one vectorised pass
def score_forecasts(
    forecasts: pd.DataFrame,
    observations: pd.DataFrame,
    threshold: float | None = None,
    window: int = 7,
    *,
    validation_mape: float | Mapping[str, float] | None = None,
    drift_step: int = 1,
    zeros: str = "skip",
) -> ScoreResult:
    """Score stored forecasts against observations; see the module docstring for every definition.

    ``forecasts``: store rows (columns pipeline, model_version, target, step, time, value;
    others ignored). ``observations``: DatetimeIndex of valid times, one column per target; NaN
    means not observed. A forecast target missing from the observations' columns is a
    :class:`~wq.errors.DataError`.
    """
    if not isinstance(forecasts, pd.DataFrame):
        raise DataError(f"forecasts: expected a DataFrame, got {type(forecasts).__name__}")
    missing = [c for c in _REQUIRED if c not in forecasts.columns]
    if missing:
        raise DataError(f"forecasts: missing column(s) {', '.join(map(repr, missing))}")
    if not isinstance(observations, pd.DataFrame) or not isinstance(observations.index, pd.DatetimeIndex):
        raise DataError("observations: expected a DataFrame with a DatetimeIndex")
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise ValueError(f"window must be an integer >= 1, got {window!r}")
    if zeros not in ("skip", "error"):
        raise ValueError(f"zeros must be 'skip' or 'error', got {zeros!r}")
    if threshold is not None and not np.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number, got {threshold!r}")
    window = int(window)

    fc = forecasts.loc[:, list(_REQUIRED)].copy()
    for col in SERIES:
        fc[col] = fc[col].astype(str)
    fc["time"] = pd.to_datetime(fc["time"])
    if isinstance(fc["time"].dtype, pd.DatetimeTZDtype):
        fc["time"] = fc["time"].dt.tz_convert("UTC").dt.tz_localize(None)
    fc["step"] = fc["step"].astype(np.int64)
    fc["value"] = fc["value"].astype(np.float64)
    absent = sorted(set(fc["target"]) - {str(c) for c in observations.columns})
    if absent:
        raise DataError(f"observations: no column for forecast target(s) {', '.join(map(repr, absent))}")

    obs = observations.copy()
    obs.columns = [str(c) for c in obs.columns]
    obs.index = pd.DatetimeIndex(obs.index, name="time")
    if obs.index.tz is not None:  # the store keeps UTC, tz-naive
        obs.index = obs.index.tz_convert("UTC").tz_localize(None)
    if not obs.index.is_unique:
        dup = obs.index[obs.index.duplicated()][0]
        raise DataError(f"observations: time {dup} appears more than once")
    long = obs.loc[:, sorted(set(fc["target"]))].stack(future_stack=True).rename("observed")
    long.index = long.index.set_names(["time", "target"])
    merged = fc.merge(long.reset_index(), on=["time", "target"], how="left")
    observed = np.isfinite(merged["observed"].to_numpy(dtype=np.float64))
    scored = merged.loc[observed].reset_index(drop=True)

    by_step = _metrics_table(scored, [*SERIES, "step"], zeros)
    scored["month"] = scored["time"].dt.strftime("%Y-%m")
    by_month = _metrics_table(scored, [*SERIES, "month"], zeros)
    daily, flags = _drift(scored, window, int(drift_step), threshold, validation_mape)
    return ScoreResult(
        by_step=by_step,
        by_month=by_month,
        daily=daily,
        flags=flags,
        n_scored=int(observed.sum()),
        n_pending=int((~observed).sum()),
        window=window,
        drift_step=int(drift_step),
    )


def _table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "  (none)"
    shown = frame.copy()
    for col in shown.columns:
        if pd.api.types.is_datetime64_any_dtype(shown[col]):
            shown[col] = shown[col].dt.strftime("%Y-%m-%d")
    return shown.to_string(index=False, float_format=lambda v: f"{v:.4g}")


def format_score(result: ScoreResult) -> str:
    """Plain-text report of a :class:`ScoreResult` for the command line."""
    lines = [
        f"scored forecasts: {result.n_scored}; waiting for observations: {result.n_pending}",
        "",
        "Per horizon step (MAPE in %, bias = mean(forecast - observed)):",
        _table(result.by_step),
        "",
        "Per month of the valid time:",
        _table(result.by_month),
        "",
        f"Drift (step-{result.drift_step} daily MAPE, rolling mean over {result.window} days; "
        f"drift when above the threshold on each of the last {result.window} days):",
        _table(result.flags),
    ]
    if len(result.flags):
        lines += ["", "DRIFT: consider retraining." if result.drift else "No drift."]
    return "\n".join(lines) + "\n"
