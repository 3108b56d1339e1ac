"""Is the data fresh enough to forecast from? The staleness rules of ``wq forecast``.

The forecast *origin* is the as-of time when one is given (``--as-of``, each day of ``--backfill``);
for a scheduled run (default as-of) it is the newest period of the data's grid that has ended by *now*:
the last grid time t (the grid anchored on the data's times, step = the trained frequency) with
t + step <= now. Daily data stamped at midnight, run at 06:30 on day D: the origin is D-1.

- **Default** (no ``max_staleness`` anywhere): refuse when the last complete, observed row (every target
  and driver present and not filled by the data layer) at or before the origin is **more than one step**
  before it. Daily data run on day D: a complete row for D-1 or D-2 passes; D-3 is stale.
- **A duration** (``max_staleness = "36h"``): the last complete observed row must be at most that old,
  measured from now for the default as-of and from each as-of time otherwise (the rule of wq before the
  default existed).
- ``"none"``: not checked; an explicit choice to forecast from old data (reports, reproductions).

Times in the data are compared with UTC ``now``: local-time data need ``tz`` in ``[data]`` or a
``now`` in their own time.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from wq.errors import ConfigError, DataError

__all__ = ["Staleness", "parse_staleness", "parse_time", "check_staleness", "completed_origin", "check_one_step",
           "check_scheduled"]

Staleness = pd.Timedelta | Literal["default", "none"]


def parse_staleness(value: object) -> Staleness:
    """``None``/``""`` -> ``"default"``; ``"none"`` (any case) -> ``"none"``; else a non-negative
    :class:`pandas.Timedelta` (:class:`~wq.errors.ConfigError` when it is not one)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "default"
    if isinstance(value, str) and value.strip().lower() == "none":
        return "none"
    if isinstance(value, bool):
        raise ConfigError(f"max_staleness {value!r} is not a duration (e.g. '1D', '36h') or 'none'")
    try:
        out = pd.Timedelta(value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"max_staleness {value!r} is not a duration (e.g. '1D', '36h') or 'none': {exc}") from None
    if out is pd.NaT or out < pd.Timedelta(0):
        raise ConfigError(f"max_staleness {value!r} must be a non-negative duration")
    return out


def parse_time(value: object, what: str) -> pd.Timestamp:
    """``value`` as a naive UTC :class:`pandas.Timestamp` (an aware time is converted; a naive one is taken as
    UTC); :class:`~wq.errors.ConfigError` naming ``what`` when it is not a time."""
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{what} {value!r} is not a time: {exc}") from None
    if ts is pd.NaT:
        raise ConfigError(f"{what} {value!r} is not a time")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts


def _last_before(times: pd.DatetimeIndex, refs: pd.DatetimeIndex, label: str, source: str) -> pd.DatetimeIndex:
    pos = times.searchsorted(refs, side="right") - 1  # last observation <= r
    none = pos < 0
    if none.any():
        raise DataError(f"{source}: no complete observation at or before {label} {refs[int(np.flatnonzero(none)[0])]}")
    return times[pos]


def check_staleness(
    observed_complete: pd.DatetimeIndex,
    references: pd.DatetimeIndex,
    max_staleness: pd.Timedelta,
    *,
    label: str = "the as-of time",
    source: str = "fresh data",
) -> None:
    """For every reference time r: the last time in ``observed_complete`` at or before r must be at most
    ``max_staleness`` older than r; else :class:`~wq.errors.DataError` naming the first stale reference,
    the last observation and how many references are stale. Vectorised (``searchsorted``)."""
    refs = pd.DatetimeIndex(references)
    last = _last_before(pd.DatetimeIndex(observed_complete), refs, label, source)
    age = refs - last
    stale = np.asarray(age > max_staleness)
    if stale.any():
        i = int(np.flatnonzero(stale)[0])
        more = f" ({int(stale.sum())} of {len(refs)} as-of times are stale)" if len(refs) > 1 else ""
        raise DataError(
            f"{source}: stale: the last complete observation ({last[i]}) is {age[i]} before {label} ({refs[i]}); "
            f"at most {max_staleness} is allowed{more}"
        )


def completed_origin(now: pd.Timestamp, freq: str, anchor: pd.Timestamp) -> pd.Timestamp:
    """The newest time t of the grid through ``anchor`` with step ``freq`` whose period has ended by
    ``now`` (t + step <= now)."""
    off = pd.tseries.frequencies.to_offset(freq)
    try:
        step = pd.Timedelta(off)
    except (ValueError, TypeError):
        step = None
    if step is not None and step > pd.Timedelta(0):
        return anchor + ((now - anchor) // step - 1) * step
    if anchor + off > now:  # calendar steps (months, weeks): the data reach the newest period
        return anchor - off
    grid = pd.date_range(anchor, now, freq=off)
    return grid[(grid + off) <= now][-1]


def check_one_step(
    observed_complete: pd.DatetimeIndex,
    origins: pd.DatetimeIndex,
    freq: str | None,
    *,
    label: str = "the as-of time",
    source: str = "fresh data",
    hint: str = "",
) -> None:
    """The default rule: for every origin t, the last complete observation at or before t must be at most
    one step of ``freq`` before t; else :class:`~wq.errors.DataError` naming the first stale origin."""
    if not freq:
        raise ConfigError(
            f"{source}: the model has no regular frequency, so the default staleness rule (one step) is "
            "undefined; give --max-staleness DURATION, or --max-staleness none"
        )
    off = pd.tseries.frequencies.to_offset(freq)
    refs = pd.DatetimeIndex(origins)
    last = _last_before(pd.DatetimeIndex(observed_complete), refs, label, source)
    stale = np.asarray(last < refs - off)
    if stale.any():
        i = int(np.flatnonzero(stale)[0])
        more = f" ({int(stale.sum())} of {len(refs)} as-of times are stale)" if len(refs) > 1 else ""
        raise DataError(
            f"{source}: stale: the last complete observation ({last[i]}) is more than one step ({freq}) before "
            f"{label} {refs[i]}{hint}{more}; give --max-staleness DURATION to allow more, or --max-staleness "
            "none to forecast from old data"
        )


def check_scheduled(
    observed_complete: pd.DatetimeIndex,
    freq: str | None,
    anchor: pd.Timestamp,
    rule: Staleness,
    now: pd.Timestamp | None = None,
    *,
    source: str = "fresh data",
) -> None:
    """The staleness rule of a scheduled run (the default as-of), measured from ``now`` (default: the current
    UTC time): ``"none"`` skips it; a duration is the largest age of the last complete observation; the default
    (:func:`check_one_step`) checks it against the newest period of ``freq`` on the grid through ``anchor`` that
    has ended by ``now``."""
    if isinstance(rule, str) and rule == "none":
        return
    ref = now if now is not None else pd.Timestamp.now(tz="UTC").tz_localize(None)
    if isinstance(rule, pd.Timedelta):
        check_staleness(observed_complete, pd.DatetimeIndex([ref]), rule, label="now", source=source)
        return
    origin = completed_origin(ref, freq, anchor) if freq else ref
    check_one_step(observed_complete, pd.DatetimeIndex([origin]), freq, label="the forecast origin", source=source,
                   hint=f" (the newest {freq} period that has ended by now, {ref.floor('s')})")
