"""Calendar features of a timestamp, known in advance (design: "calendar features of the target day are known
in advance"), so the forecaster may use them for t+1 .. t+h.

Encodings (all values in [-1, 1] or [0, 1], float64, vectorized):

- ``day_of_week``: two columns ``day_of_week_sin``/``day_of_week_cos`` = sin/cos(2 pi d / 7), d = 0 (Monday)
  .. 6; cyclic, so Sunday sits next to Monday.
- ``weekend``: 1.0 on Saturday and Sunday, else 0.0.
- ``holiday``: 1.0 on a holiday, else 0.0. ``holidays="US"``: pandas ``USFederalHolidayCalendar`` (observed
  dates); another country code (``"DK"``, ``"GB"``, ``"DE-BY"`` with a subdivision): the public holidays of
  the package ``holidays``; or a list of dates (anything ``pd.to_datetime`` reads) and country codes, e.g.
  ``["DK", "2024-06-05"]`` (Denmark's public holidays plus a local day); the day of the timestamp counts.
- ``day_of_year``: ``day_of_year_sin``/``day_of_year_cos`` = sin/cos(2 pi (j - 1) / n), j = 1 .. n the day
  of the year and n = 365 or 366 the length of that year.
- ``month``: (m - 1) / 11, m = 1 .. 12, so January 0 and December 1.
- ``hour``: ``hour_sin``/``hour_cos`` = sin/cos(2 pi h / 24) (for sub-daily data).

Local time (``tz``, the ``[data] tz`` of the pipeline): wq's frames hold UTC instants; with ``tz`` every feature
is computed on the local wall time of the instant (the hour a consumer lives by, so the morning peak stays at
"hour 7" across the DST changes). The spring-forward hour does not exist locally, so no instant maps to it;
the two instants of the repeated fall-back hour both get that wall hour (their UTC times differ, so rows stay
unique). Reading local wall times from a file is :func:`wq.data.times.localize_wall_times`.
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


def _is_country(item) -> bool:
    """A country code ("DK") or a country and subdivision ("DE-BY"), as the ``holidays`` package names them."""
    head = str(item).split("-")[0]
    return isinstance(item, str) and head.isalpha() and head.isupper() and 2 <= len(head) <= 3


def _country_days(code: str, days: pd.DatetimeIndex) -> pd.DatetimeIndex:
    if code.upper() == "US":
        return USFederalHolidayCalendar().holidays(start=days.min(), end=days.max())
    import holidays as hol_pkg

    country, _, subdiv = code.partition("-")
    years = range(int(days.min().year), int(days.max().year) + 1)
    try:
        table = hol_pkg.country_holidays(country, subdiv=subdiv or None, years=years)
    except NotImplementedError:
        raise ConfigError(f"unknown holiday country {code!r} (a code of the 'holidays' package, e.g. 'DK', "
                          f"'GB', 'DE-BY')") from None
    return pd.DatetimeIndex(pd.to_datetime(sorted(table))).normalize()


def _holiday_days(days: pd.DatetimeIndex, holidays: str | Sequence | None) -> np.ndarray:
    if holidays is None:
        raise ConfigError("calendar feature 'holiday' needs holidays (a country code such as 'US' or 'DK', or a "
                          "list of country codes and dates)")
    items = [holidays] if isinstance(holidays, str) else list(holidays)
    if len(days) == 0:
        return np.zeros(0, bool)
    found = [_country_days(i, days) for i in items if _is_country(i)]
    dates = [i for i in items if not _is_country(i)]
    if dates:
        try:
            found.append(pd.DatetimeIndex(pd.to_datetime(dates)).normalize())
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"holidays must be country codes ('US', 'DK') or dates: {exc}") from exc
    hol = found[0].append(found[1:]) if found else pd.DatetimeIndex([])
    return np.asarray(days.isin(hol))


def calendar_features(index: pd.DatetimeIndex, names: Sequence[str],
                      holidays: str | Sequence | None = "US", tz: str | None = None) -> pd.DataFrame:
    """Calendar features of each timestamp in ``index`` (see the module docstring for the encodings).

    Returns a float64 DataFrame on ``index`` with the columns of :func:`feature_columns` in the order of
    ``names``. Unknown names raise :class:`wq.errors.ConfigError`. Time-zone-aware indexes are used in their
    own zone's wall time; a naive index is UTC and, with ``tz``, is converted to that zone's wall time first
    (see "Local time" in the module docstring)."""
    _validate(names)
    if not isinstance(index, pd.DatetimeIndex):
        raise ConfigError(f"calendar_features needs a DatetimeIndex, got {type(index).__name__}")
    if index.tz is None and tz is not None:
        idx = index.tz_localize("UTC").tz_convert(tz).tz_localize(None)
    else:
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
