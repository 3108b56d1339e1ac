"""Forecast skill metrics: MAPE, pMAPE, EVS, R, RMSE, MAE, NSE, KGE.

Every metric takes the observed values ``y`` and the forecasts ``yhat`` (array-like of the same
length; pandas objects are read by position, 2-D input of the same shape is flattened) in
original units, and returns a float.

Input rules, shared by all metrics:

- ``y`` and ``yhat`` must have the same shape after squeezing (``(n,)`` and ``(n, 1)`` match) and
  at least one value; otherwise :class:`MetricInputError`.
- NaN or inf in either input is an error naming the input, the count and the first position
  (and its index label for pandas input). Missing observations are the data layer's business;
  a NaN forecast is a bug to surface, never a value to drop silently.
- A metric that is undefined for valid input (zero variance of the observations, a constant
  forecast for R, a zero observed mean for KGE, MAPE with every observation zero and skipped)
  returns ``nan`` and emits a :class:`MetricWarning` that says why.

:class:`MetricInputError` derives from both :class:`wq.errors.DataError` and ``ValueError``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from wq.errors import ConfigError, DataError

__all__ = [
    "METRICS",
    "LOWER_IS_BETTER",
    "MetricInputError",
    "MetricWarning",
    "UnknownMetricError",
    "mape",
    "pmape",
    "evs",
    "r",
    "rmse",
    "mae",
    "nse",
    "kge",
    "all_metrics",
    "metric",
    "canonical_name",
    "lead_blocks",
    "block_scores",
]

METRICS: tuple[str, ...] = ("MAPE", "pMAPE", "EVS", "R", "RMSE", "MAE", "NSE", "KGE")
"""Canonical metric names, in report order."""

LOWER_IS_BETTER: dict[str, bool] = {
    "MAPE": True,
    "pMAPE": True,
    "EVS": False,
    "R": False,
    "RMSE": True,
    "MAE": True,
    "NSE": False,
    "KGE": False,
}
"""Direction of each metric: True where a smaller value is a better forecast."""

Zeros = Literal["error", "skip"]


class MetricInputError(DataError, ValueError):
    """Inputs a metric cannot use: NaN/inf, length mismatch, empty, non-numeric, bad option."""


class UnknownMetricError(ConfigError, ValueError):
    """A metric name that :func:`metric` does not know."""


class MetricWarning(UserWarning):
    """A metric is undefined for these inputs (returned as nan) or skipped some observations."""


# --------------------------------------------------------------------------- input checks


def _as_array(values: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MetricInputError(f"{name} is not numeric: {exc}") from None
    return arr


def _label(values: Any, pos: int) -> str:
    """' (index <label>)' for a 1-D pandas object, else ''."""
    index = getattr(values, "index", None)
    if index is None or getattr(values, "ndim", 1) != 1:
        return ""
    try:
        return f" (index {index[pos]})"
    except (IndexError, TypeError):  # pragma: no cover - defensive
        return ""


def _check(y: Any, yhat: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate and flatten a pair of inputs; see the module docstring for the rules."""
    a = _as_array(y, "y")
    b = _as_array(yhat, "yhat")
    sa, sb = np.squeeze(a).shape, np.squeeze(b).shape
    if sa != sb:
        raise MetricInputError(
            f"y and yhat differ in length/shape: y has shape {a.shape}, yhat has shape {b.shape}"
        )
    a, b = a.ravel(), b.ravel()
    if a.size == 0:
        raise MetricInputError("y and yhat are empty: a metric needs at least one value")
    for arr, name, orig in ((a, "y", y), (b, "yhat", yhat)):
        bad = ~np.isfinite(arr)
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            raise MetricInputError(
                f"{name} contains {int(bad.sum())} non-finite value(s) (NaN or inf); "
                f"first at position {pos}{_label(orig, pos)}"
            )
    return a, b


def _undefined(name: str, why: str) -> float:
    warnings.warn(f"{name} is undefined: {why}; returning nan", MetricWarning, stacklevel=3)
    return float("nan")


# --------------------------------------------------------------------------- percentage errors


def _mape_core(
    a: np.ndarray, b: np.ndarray, zeros: str, name: str, offset: np.ndarray | None = None
) -> tuple[float, int]:
    if zeros not in ("error", "skip"):
        raise MetricInputError(f"zeros must be 'error' or 'skip', got {zeros!r}")
    zero = a == 0.0
    n_zero = int(zero.sum())
    if n_zero:
        if zeros == "error":
            first = int(np.flatnonzero(zero)[0])
            if offset is not None:
                first = int(offset[first])
            raise MetricInputError(
                f"{name}: {n_zero} observation(s) equal to zero, first at position {first}; "
                "percentage error is undefined there (use zeros='skip' to leave them out)"
            )
        keep = ~zero
        a, b = a[keep], b[keep]
        if a.size == 0:
            return _undefined(name, "every observation is zero"), n_zero
        warnings.warn(
            f"{name}: skipped {n_zero} observation(s) equal to zero", MetricWarning, stacklevel=3
        )
    return float(100.0 * np.mean(np.abs(a - b) / np.abs(a))), n_zero


def mape(
    y: Any, yhat: Any, zeros: Zeros = "error", return_skipped: bool = False
) -> float | tuple[float, int]:
    """Mean absolute percentage error, in percent.

    MAPE = 100/n * sum_t |y_t - yhat_t| / |y_t|.

    Observations equal to zero make the term undefined. ``zeros="error"`` (default) raises
    :class:`MetricInputError` naming their count and the first position; ``zeros="skip"`` leaves
    them out (n counts the remaining ones) and emits a :class:`MetricWarning` with the count.
    With ``return_skipped=True`` the result is ``(value, n_skipped)``.
    """
    a, b = _check(y, yhat)
    value, skipped = _mape_core(a, b, zeros, "MAPE")
    return (value, skipped) if return_skipped else value


def pmape(
    y: Any, yhat: Any, q: float = 0.9, zeros: Zeros = "error", return_skipped: bool = False
) -> float | tuple[float, int]:
    """Peak MAPE: MAPE over the peak points of the evaluated period, in percent.

    Peak points are the observations ``y_t >= Q_q(y)``, where ``Q_q`` is the q-quantile of the
    observed values passed in (numpy's default linear interpolation, Hyndman & Fan type 7);
    q = 0.9 by default, so about the top 10 % of observations. The source study reports pMAPE
    without publishing its rule for choosing peaks; this rule is ours. The maximum is always a
    peak, so the set is never empty. ``zeros`` and ``return_skipped`` act as in :func:`mape`.
    """
    a, b = _check(y, yhat)
    q = float(q)
    if not 0.0 <= q <= 1.0:
        raise MetricInputError(f"pMAPE: q must lie in [0, 1], got {q}")
    threshold = np.quantile(a, q)
    peaks = np.flatnonzero(a >= threshold)
    value, skipped = _mape_core(a[peaks], b[peaks], zeros, "pMAPE", offset=peaks)
    return (value, skipped) if return_skipped else value


# --------------------------------------------------------------------------- error and skill


def rmse(y: Any, yhat: Any) -> float:
    """Root mean squared error: sqrt(1/n * sum_t (y_t - yhat_t)^2), in the units of y."""
    a, b = _check(y, yhat)
    return float(np.sqrt(np.mean((a - b) ** 2)))


def mae(y: Any, yhat: Any) -> float:
    """Mean absolute error: 1/n * sum_t |y_t - yhat_t|, in the units of y."""
    a, b = _check(y, yhat)
    return float(np.mean(np.abs(a - b)))


def evs(y: Any, yhat: Any) -> float:
    """Explained variance score: EVS = 1 - Var(y - yhat) / Var(y) (population variances).

    Unlike NSE it ignores a constant bias. Same as scikit-learn's ``explained_variance_score``;
    nan with a :class:`MetricWarning` when Var(y) = 0.
    """
    a, b = _check(y, yhat)
    var_y = np.var(a)
    if var_y == 0.0:
        return _undefined("EVS", "the observations have zero variance")
    return float(1.0 - np.var(a - b) / var_y)


def _pearson(a: np.ndarray, b: np.ndarray, name: str) -> float:
    da, db = a - a.mean(), b - b.mean()
    ss_a, ss_b = np.dot(da, da), np.dot(db, db)
    if ss_a == 0.0:
        return _undefined(name, "the observations have zero variance")
    if ss_b == 0.0:
        return _undefined(name, "the forecasts are constant")
    return float(np.clip(np.dot(da, db) / np.sqrt(ss_a * ss_b), -1.0, 1.0))


def r(y: Any, yhat: Any) -> float:
    """Pearson correlation of y and yhat.

    R = sum (y - mean y)(yhat - mean yhat) / sqrt(sum (y - mean y)^2 * sum (yhat - mean yhat)^2);
    nan with a :class:`MetricWarning` when either input is constant.
    """
    a, b = _check(y, yhat)
    return _pearson(a, b, "R")


def nse(y: Any, yhat: Any) -> float:
    """Nash-Sutcliffe efficiency: NSE = 1 - sum (y - yhat)^2 / sum (y - mean y)^2.

    Nash & Sutcliffe (1970), J. Hydrol. 10(3):282-290. 1 is a perfect forecast, 0 is no better
    than the observed mean of the period; equal to scikit-learn's ``r2_score``. nan with a
    :class:`MetricWarning` when the observations are constant.
    """
    a, b = _check(y, yhat)
    ss_tot = np.sum((a - a.mean()) ** 2)
    if ss_tot == 0.0:
        return _undefined("NSE", "the observations have zero variance")
    return float(1.0 - np.sum((a - b) ** 2) / ss_tot)


def kge(y: Any, yhat: Any) -> float:
    """Kling-Gupta efficiency (2009): KGE = 1 - sqrt((r - 1)^2 + (alpha - 1)^2 + (beta - 1)^2).

    r is the Pearson correlation, alpha = sd(yhat) / sd(y), beta = mean(yhat) / mean(y).
    Gupta, Kling, Yilmaz & Martinez (2009), J. Hydrol. 377(1-2):80-91. 1 is a perfect forecast.
    nan with a :class:`MetricWarning` when either input is constant or mean(y) = 0.
    """
    a, b = _check(y, yhat)
    mean_y = a.mean()
    if mean_y == 0.0:
        return _undefined("KGE", "the observed mean is zero")
    corr = _pearson(a, b, "KGE")
    if np.isnan(corr):
        return corr
    alpha = np.std(b) / np.std(a)
    beta = b.mean() / mean_y
    return float(1.0 - np.sqrt((corr - 1.0) ** 2 + (alpha - 1.0) ** 2 + (beta - 1.0) ** 2))


# --------------------------------------------------------------------------- collections


def all_metrics(y: Any, yhat: Any, q: float = 0.9, zeros: Zeros = "skip") -> dict[str, float]:
    """Every metric of :data:`METRICS`, keyed by its canonical name, in that order.

    ``q`` is the pMAPE peak quantile; ``zeros`` applies to MAPE and pMAPE (default "skip",
    which warns with the count of skipped zeros).
    """
    a, b = _check(y, yhat)
    return {
        "MAPE": mape(a, b, zeros=zeros),
        "pMAPE": pmape(a, b, q=q, zeros=zeros),
        "EVS": evs(a, b),
        "R": r(a, b),
        "RMSE": rmse(a, b),
        "MAE": mae(a, b),
        "NSE": nse(a, b),
        "KGE": kge(a, b),
    }


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "MAPE": mape,
    "pMAPE": pmape,
    "EVS": evs,
    "R": r,
    "RMSE": rmse,
    "MAE": mae,
    "NSE": nse,
    "KGE": kge,
}
_BY_LOWER = {name.lower(): name for name in METRICS}


def canonical_name(name: str) -> str:
    """The canonical spelling of a metric name, case-insensitive: 'pmape' -> 'pMAPE'."""
    key = str(name).strip().lower()
    if key not in _BY_LOWER:
        raise UnknownMetricError(f"unknown metric {name!r}; known: {', '.join(METRICS)}")
    return _BY_LOWER[key]


def metric(name: str) -> Callable[..., Any]:
    """The metric function for a name, case-insensitive ("mape", "RMSE", "kge", ...).

    Each returned function is called as ``f(y, yhat)``; whether lower is better is
    ``LOWER_IS_BETTER[canonical_name(name)]``.
    """
    return _FUNCTIONS[canonical_name(name)]


# --------------------------------------------------------------------------- lead-time blocks
def lead_blocks(horizon: int, blocks: list[list[int]] | None = None, day: int = 24) -> list[tuple[int, int]]:
    """The lead-time blocks ``(first, last)`` step, inclusive, that a run scores as a whole.

    ``blocks`` given: those (each clipped to ``horizon``, empty ones dropped). Otherwise, with ``horizon >= 2 *
    day``: the first day and the rest, ``[(1, day), (day + 1, horizon)]`` (hourly data: hours 1-24 and 25-168,
    how operators of district meters judge a week-ahead forecast); shorter horizons: none."""
    if blocks:
        out = [(int(a), min(int(b), horizon)) for a, b in blocks if int(a) <= min(int(b), horizon)]
        return out
    return [(1, day), (day + 1, horizon)] if horizon >= 2 * day else []


def block_scores(pred, blocks: list[tuple[int, int]], by: tuple[str, ...] = ("model", "target")):
    """MAE and maximum absolute error of each lead-time block.

    ``pred``: a long frame with ``step``, ``observed``, ``predicted`` and the ``by`` columns (rows whose
    observed or predicted value is missing are not scored). Returns one row per ``by`` group and block:
    ``by..., block ("1-24"), first, last, n, MAE, maxAE``; vectorised (one groupby per block)."""
    import pandas as pd

    rows = []
    ok = pred.dropna(subset=["observed", "predicted"])
    err = (ok["predicted"] - ok["observed"]).abs()
    for first, last in blocks:
        inside = ok["step"].between(first, last)
        g = err[inside].groupby([ok.loc[inside, c] for c in by], sort=False)
        part = pd.DataFrame({"n": g.size(), "MAE": g.mean(), "maxAE": g.max()}).reset_index()
        part.insert(len(by), "block", f"{first}-{last}")
        part.insert(len(by) + 1, "first", first)
        part.insert(len(by) + 2, "last", last)
        rows.append(part)
    if not rows:
        return pd.DataFrame(columns=[*by, "block", "first", "last", "n", "MAE", "maxAE"])
    return pd.concat(rows, ignore_index=True)
