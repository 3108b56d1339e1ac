"""Times in the data layer: UTC-naive conversion, local wall times with DST, timestamps in messages.

wq's frames carry tz-naive UTC times. :func:`to_utc_naive` is the one conversion from any zone-aware time to
that form; :func:`localize_wall_times` reads local wall-clock times (a logger's display time) deterministically
across the daylight-saving transitions.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import pandas as pd

__all__ = ["to_utc_naive", "localize_wall_times", "show_time"]

T = TypeVar("T", pd.Timestamp, pd.DatetimeIndex, pd.Series)


def to_utc_naive(t: T) -> T:
    """``t`` converted to UTC and made tz-naive; a tz-naive ``t`` is returned as it is (taken to be UTC).

    Works on a :class:`~pandas.Timestamp`, a :class:`~pandas.DatetimeIndex` or a datetime
    :class:`~pandas.Series` (through ``.dt``)."""
    if isinstance(t, pd.Series):
        return t.dt.tz_convert("UTC").dt.tz_localize(None) if t.dt.tz is not None else t
    return t.tz_convert("UTC").tz_localize(None) if t.tz is not None else t


def localize_wall_times(t: pd.DatetimeIndex, tz: str) -> tuple[pd.DatetimeIndex, np.ndarray, int]:
    """Local wall times ``t`` of zone ``tz`` -> (UTC-naive times, nonexistent mask, number of ambiguous times).

    A wall time that occurs twice in the fall-back hour is read as summer time at its first occurrence and as
    winter time at later ones (a single occurrence: summer time); a wall time that does not exist (the
    spring-forward hour) is NaT in the result and True in the mask, for the caller to drop."""
    n = len(t)
    as_dst = t.tz_localize(tz, ambiguous=np.ones(n, bool), nonexistent="NaT")
    as_std = t.tz_localize(tz, ambiguous=np.zeros(n, bool), nonexistent="NaT")
    nonexistent = np.asarray(as_dst.isna())
    ambiguous = ~nonexistent & np.asarray(as_dst != as_std)
    flags = np.ones(n, bool)
    amb = np.flatnonzero(ambiguous)
    if amb.size:
        occurrence = pd.Series(t[amb]).groupby(t[amb]).cumcount().to_numpy()
        flags[amb] = occurrence == 0
    local = t.tz_localize(tz, ambiguous=flags, nonexistent="NaT")
    return to_utc_naive(local), nonexistent, int(amb.size)


def show_time(t: pd.Timestamp) -> str:
    """A timestamp for messages: the date alone at midnight."""
    return str(t.date()) if t == t.normalize() else str(t)
