"""Calendar features of a timestamp, known in advance (design: "calendar features of the target day are known
in advance"), so the forecaster may use them for t+1 .. t+h.

Encodings (all values in [-1, 1] or [0, 1], float64, vectorized):

- ``day_of_week``: two columns ``day_of_week_sin``/``day_of_week_cos`` = sin/cos(2 pi d / 7), d = 0 (Monday)
  .. 6; cyclic, so Sunday sits next to Monday.
- ``weekend``: 1.0 on Saturday and Sunday, else 0.0.
- ``holiday``: 1.0 on a holiday, else 0.0. ``holidays="US"``: pandas ``USFederalHolidayCalendar`` (observed
  dates); or a list of dates (anything ``pd.to_datetime`` reads); the day of the timestamp counts.
- ``day_of_year``: ``day_of_year_sin``/``day_of_year_cos`` = sin/cos(2 pi (j - 1) / n), j = 1 .. n the day
  of the year and n = 365 or 366 the length of that year.
- ``month``: (m - 1) / 11, m = 1 .. 12, so January 0 and December 1.
- ``hour``: ``hour_sin``/``hour_cos`` = sin/cos(2 pi h / 24) (for sub-daily data).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from pandas.tseries.holiday import USFederalHolidayCalendar

from wq.errors import ConfigError

__all__ = ["FEATURES", "calendar_features", "feature_columns"]

FEATURES = ("day_of_week", "weekend", "holiday", "day_of_year", "month", "hour")
_COLUMNS = {
    "day_of_week": ["day_of_week_sin", "day_of_week_cos"],
    "weekend": ["weekend"],
    "holiday": ["holiday"],
    "day_of_year": ["day_of_year_sin", "day_of_year_cos"],
    "month": ["month"],
    "hour": ["hour_sin", "hour_cos"],
}


def feature_columns(names: Sequence[str]) -> list[str]:
    """The output column names of :func:`calendar_features` for ``names``."""
    _validate(names)
    return [c for n in names for c in _COLUMNS[n]]


def _validate(names: Sequence[str]) -> None:
    if isinstance(names, str):
        raise ConfigError(f"calendar features must be a list of names, got the string {names!r}")
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise ConfigError(f"unknown calendar features {unknown}; valid: {', '.join(FEATURES)}")


def _holiday_days(days: pd.DatetimeIndex, holidays: str | Sequence | None) -> np.ndarray:
    if holidays is None:
        raise ConfigError("calendar feature 'holiday' needs holidays ('US' or a list of dates)")
    if isinstance(holidays, str):
        if holidays.upper() != "US":
            raise ConfigError(f"unknown holiday calendar {holidays!r}; use 'US' or a list of dates")
        if len(days) == 0:
            return np.zeros(0, bool)
        hol = USFederalHolidayCalendar().holidays(start=days.min(), end=days.max())
    else:
        try:
            hol = pd.DatetimeIndex(pd.to_datetime(list(holidays))).normalize()
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"holidays must be 'US' or a list of dates: {exc}") from exc
    return np.asarray(days.isin(hol))


def calendar_features(index: pd.DatetimeIndex, names: Sequence[str],
                      holidays: str | Sequence | None = "US") -> pd.DataFrame:
    """Calendar features of each timestamp in ``index`` (see the module docstring for the encodings).

    Returns a float64 DataFrame on ``index`` with the columns of :func:`feature_columns` in the order of
    ``names``. Unknown names raise :class:`wq.errors.ConfigError`. Time-zone-aware indexes are used in their
    own zone's wall time."""
    _validate(names)
    if not isinstance(index, pd.DatetimeIndex):
        raise ConfigError(f"calendar_features needs a DatetimeIndex, got {type(index).__name__}")
    idx = index.tz_localize(None) if index.tz is not None else index
    days = idx.normalize()
    out: dict[str, np.ndarray] = {}
    dow = np.asarray(idx.dayofweek, dtype=float)
    for name in names:
        if name == "day_of_week":
            out["day_of_week_sin"] = np.sin(2 * np.pi * dow / 7)
            out["day_of_week_cos"] = np.cos(2 * np.pi * dow / 7)
        elif name == "weekend":
            out["weekend"] = (dow >= 5).astype(float)
        elif name == "holiday":
            out["holiday"] = _holiday_days(days, holidays).astype(float)
        elif name == "day_of_year":
            n = np.where(np.asarray(idx.is_leap_year), 366.0, 365.0)
            angle = 2 * np.pi * (np.asarray(idx.dayofyear, dtype=float) - 1) / n
            out["day_of_year_sin"] = np.sin(angle)
            out["day_of_year_cos"] = np.cos(angle)
        elif name == "month":
            out["month"] = (np.asarray(idx.month, dtype=float) - 1) / 11
        elif name == "hour":
            h = np.asarray(idx.hour, dtype=float)
            out["hour_sin"] = np.sin(2 * np.pi * h / 24)
            out["hour_cos"] = np.cos(2 * np.pi * h / 24)
    return pd.DataFrame(out, index=index, columns=feature_columns(names), dtype=np.float64)
