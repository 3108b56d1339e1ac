"""Features of (origin, lead time, site) for week-ahead forecasts, vectorised over origins.

Every feature of a forecast from origin t for t + s reads the series at t or before, and the calendar of the
target hour t + s (known in advance). On a window ``W`` (N, L + H) of one site's scaled series whose column
``L - 1`` is the origin:

- ``recent``: y(t - k) for k in :data:`RECENT`; ``mean24``: the mean of the last 24 observed hours;
- ``day``: y(t + s - 24 ceil(s / 24)), the same hour of the last observed day;
- ``week0..3``: y(t + s - 168 (ceil(s / 168) + j)), the same hour of the last four observed weeks, and
  ``week_mean`` their mean (the weekly baselines as inputs: the model learns corrections to them);
- ``lead`` (s), and of the target hour in local time: ``hour``, ``dow`` (0 Monday), ``holiday``;
- drivers at the origin and their mean of the last 24 hours; ``site`` (an integer code, global models).

Models learn the correction y(t + s) - :func:`anchor` (the four-week mean of the target hour where there is
one): trees then need not rebuild the weekly profile from the level. The recursive strategy uses the same features with s = 1 on a window whose future columns it fills with its
own forecasts, step by step. Missing values stay NaN (gradient boosting routes them).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

RECENT = (0, 1, 2, 3, 6, 12, 23)
WEEK = 168
DAY = 24
HISTORY = 4 * WEEK + DAY  # steps of history a window holds


def calendar_table(index: pd.DatetimeIndex, tz: str | None, holidays) -> np.ndarray:
    """(T, 3) local hour, day of week and holiday flag of each UTC-naive time (see :mod:`wq.data.calendar`)."""
    from wq.data.calendar import calendar_features

    local = index.tz_localize("UTC").tz_convert(tz).tz_localize(None) if tz else index
    hol = calendar_features(index, ["holiday"], holidays=holidays, tz=tz)["holiday"].to_numpy() \
        if holidays else np.zeros(len(index))
    return np.column_stack([local.hour, local.dayofweek, hol]).astype(np.float64)


def windows(y: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """(N, HISTORY + horizon) windows of ``y`` around each origin (NaN outside the series)."""
    pad = np.concatenate([np.full(HISTORY, np.nan), y, np.full(horizon, np.nan)])
    cols = np.arange(HISTORY + horizon)
    return pad[(origins + 1)[:, None] + cols[None, :]]


def feature_names(n_drivers: int, site: bool) -> list[str]:
    names = [f"lag{k}" for k in RECENT] + ["mean24", "day", "week0", "week1", "week2", "week3", "week_mean",
                                            "lead", "hour", "dow", "holiday"]
    names += [f"driver{j}" for j in range(n_drivers)] + [f"driver{j}_mean24" for j in range(n_drivers)]
    return names + (["site"] if site else [])


def features(W: np.ndarray, r: np.ndarray, pos: np.ndarray, lead: np.ndarray, cal: np.ndarray, drv: np.ndarray,
             site: int | np.ndarray | None = None) -> np.ndarray:
    """Feature rows (n, F): row ``r`` (n,) of ``W`` with its origin in column ``pos`` (n,), lead ``lead`` (n,).

    ``cal`` (n, 3): the calendar of each target hour; ``drv`` (n, 2 P): drivers at the origin and their
    24-hour means; ``site``: the site's code (or one per row) for a global model (None: a local model, no site
    column)."""
    n = len(r)
    lead = np.asarray(lead)
    cols = [W[r, pos - k] for k in RECENT]
    with np.errstate(all="ignore"):
        last = W[r[:, None], pos[:, None] - np.arange(DAY)[None, :]]
        ok = np.isfinite(last)
        cols.append(np.where(ok.any(1), np.where(ok, last, 0).sum(1) / np.maximum(ok.sum(1), 1), np.nan))
        cols.append(W[r, pos + lead - DAY * np.ceil(lead / DAY).astype(int)])
        weeks = np.column_stack([W[r, pos + lead - WEEK * (np.ceil(lead / WEEK).astype(int) + j)] for j in range(4)])
        okw = np.isfinite(weeks)
        wmean = np.where(okw.any(1), np.where(okw, weeks, 0).sum(1) / np.maximum(okw.sum(1), 1), np.nan)
    out = np.column_stack([*cols, weeks, wmean, lead.astype(np.float64), cal, drv])
    if site is not None:
        out = np.column_stack([out, np.broadcast_to(np.asarray(site, dtype=np.float64), (n,))])
    return out


def anchor(X: np.ndarray) -> np.ndarray:
    """The baseline a model corrects, per feature row: the mean of the last four weeks' same hour, else the
    same hour of the last day, else the last value, else 0 (scaled units: the site's mean)."""
    n = len(RECENT)
    out = X[:, n + 6].copy()  # week_mean
    for col in (n + 1, 0):  # day, lag0
        miss = ~np.isfinite(out)
        out[miss] = X[miss, col]
    out[~np.isfinite(out)] = 0.0
    return out


def driver_table(drivers: list[np.ndarray], T: int) -> np.ndarray:
    """(T, 2 P): each driver and its trailing 24-step mean (NaN-aware), for one site."""
    if not drivers:
        return np.zeros((T, 0))
    raw = np.column_stack(drivers)
    mean = pd.DataFrame(raw).rolling(DAY, min_periods=1).mean().to_numpy()
    return np.column_stack([raw, mean])
