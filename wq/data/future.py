"""Known-future drivers: values of a driver for the target steps t+1 .. t+h that are known at the origin t
(a weather forecast, planned operations), as a forecaster has them (issue 12, item 1).

In the frame each known-future driver d gets one column per step s = 1 .. h, named :func:`future_column`
(``"d@t+s"``), holding **on row t** the value of d at the time of row t+s as known at t. Row t then carries
everything known at origin t, so "only rows <= t" keeps meaning "only what was known at t" and every causal
check of the frame holds for them too. Valid time of step s from row t: the time of row t+s (for the rows past
the end, the last time plus s steps of the frequency; on a regular grid simply t + s steps).

Two sources (``[data] future_drivers_source``):

- ``"file"`` (default when ``future_drivers_file`` is given): issued forecasts, used exactly as issued. The file
  (CSV, Parquet or Excel) is **wide**: one row per (issue time, valid time), the columns
  ``future_drivers_issue_time`` (default ``issue_time``) and ``future_drivers_valid_time`` (default
  ``valid_time``) and one column per driver (an empty cell: that driver was not issued in that row). Times are
  read as the data file's (``future_drivers_time_format``, ``future_drivers_tz``; naive UTC in the frame).
  For origin t and valid time v the value is the one with valid time v and the **latest issue time <= t**
  among the rows that hold a value for the driver; a forecast issued after t is never used. Issue times are
  compared with the origin's timestamp as it is: with daily data labelled by the day's start, a forecast
  issued during day t serves origins from t+1 on (conservative). No such value: NaN, and that origin is
  skipped (backtests count them; ``wq forecast`` exits 2 naming the driver and valid time). Duplicate
  (issue time, valid time) rows are an error.
- ``"observed"``: the observed values of the data file (its column d) as a perfect forecast. This reads the
  future: it is an **offline backtest option, an upper bound of skill**, never a default; reports say so.
  ``wq forecast`` has no observed future and exits 2 (rows beyond the last observation are not read: the
  data layer trims them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from wq.data.grid import infer_freq
from wq.data.read import numeric, parse_time, read_file, time_column
from wq.data.spec import FUTURE_SOURCES
from wq.data.times import show_time
from wq.errors import DataError

__all__ = ["FUTURE_SOURCES", "PERFECT_FORECAST", "future_column", "future_columns", "IssuedForecasts",
           "add_future_drivers", "valid_times", "missing_future"]

PERFECT_FORECAST = "perfect-forecast drivers: an upper bound of skill"
"""The label every output of a run with ``future_drivers_source = "observed"`` carries."""


def future_column(driver: str, step: int) -> str:
    """Name of the column holding, on row t, driver's value at t + ``step`` as known at t."""
    return f"{driver}@t+{int(step)}"


def future_columns(drivers: Sequence[str], horizon: int) -> list[str]:
    """All known-future columns of ``drivers`` for steps 1 .. ``horizon``, step-major (step 1 of every driver,
    then step 2, ...), the order the windowed models read them in."""
    return [future_column(d, s) for s in range(1, int(horizon) + 1) for d in drivers]


def valid_times(index: pd.DatetimeIndex, horizon: int, freq: str | None = None) -> np.ndarray:
    """(T, horizon) datetime64: the time of row t+s, past the end the last time plus steps of ``freq``."""
    n = len(index)
    freq = freq or index.freqstr or infer_freq(index, regular=False)
    offset = pd.tseries.frequencies.to_offset(freq)
    beyond = pd.DatetimeIndex([index[-1] + k * offset for k in range(1, int(horizon) + 1)])
    times = index.append(beyond).to_numpy()
    return times[np.arange(n)[:, None] + np.arange(1, int(horizon) + 1)[None, :]]


@dataclass
class IssuedForecasts:
    """Issued forecasts of some drivers: per row the issue and valid time (int64 ns, naive UTC) and one value per
    driver (NaN: not issued)."""

    path: Path
    drivers: list[str]
    issue: np.ndarray
    valid: np.ndarray
    values: np.ndarray

    @classmethod
    def read(cls, spec) -> "IssuedForecasts":
        """Read ``spec.future_drivers_file`` (see the module docstring); DataError naming file, row and column."""
        path = Path(spec.future_drivers_file)
        notes: list[str] = []
        table = read_file(path, sep=None, names=None, na_values=spec.na_values, sheet=None, decimal=spec.decimal)
        cols = {}
        for key in ("future_drivers_issue_time", "future_drivers_valid_time"):
            cols[key] = time_column(table, getattr(spec, key), key)
        issue = parse_time(table, cols["future_drivers_issue_time"], spec.future_drivers_time_format,
                           spec.future_drivers_tz, notes)
        n_rows = len(table.frame)
        valid = parse_time(table, cols["future_drivers_valid_time"], spec.future_drivers_time_format,
                           spec.future_drivers_tz, notes)
        if len(table.frame) != n_rows:
            raise DataError(f"file {path}: rows dropped while reading the valid times; check the time columns")
        missing = [d for d in spec.future_drivers if d not in table.frame.columns]
        if missing:
            raise DataError(f"file {path}: no column for known-future driver(s) {', '.join(map(repr, missing))}; "
                            f"columns: {', '.join(map(str, table.frame.columns))}")
        values = np.column_stack([numeric(table, d, required=True) for d in spec.future_drivers])
        key = pd.DataFrame({"issue": issue, "valid": valid})
        dup = key.duplicated(keep=False).to_numpy()
        if dup.any():
            i = int(np.flatnonzero(dup)[0])
            raise DataError(f"{table.where(i)}: {int(dup.sum())} rows share an issue time and valid time "
                            f"(first: issued {issue[i]}, valid {valid[i]}); one value per pair")
        return cls(path, list(spec.future_drivers), issue.asi8.copy(), valid.asi8.copy(), values)

    def lookup(self, origins: pd.DatetimeIndex, valid: np.ndarray) -> np.ndarray:
        """(N, h, D) values for origins (N,) and valid times (N, h): per driver, the value issued last at or
        before the origin for that valid time; NaN when none. Vectorised: the rows of a driver sorted by
        (valid time, issue time), one ``searchsorted`` for all queries."""
        t = pd.DatetimeIndex(origins).asi8
        v = pd.DatetimeIndex(np.asarray(valid).reshape(-1)).asi8.reshape(len(t), -1)
        out = np.full((*v.shape, len(self.drivers)), np.nan)
        issues = np.unique(self.issue)
        R = len(issues) + 1
        rank_q = np.searchsorted(issues, t, side="right")  # issue ranks <= origin are 1 .. rank_q (0: none)
        for j in range(len(self.drivers)):  # drivers, not origins
            has = ~np.isnan(self.values[:, j])
            if not has.any():
                continue
            vt, it, val = self.valid[has], self.issue[has], self.values[has, j]
            codes = np.unique(vt)
            key = np.searchsorted(codes, vt) * R + np.searchsorted(issues, it, side="right")
            order = np.argsort(key, kind="stable")
            key, val = key[order], val[order]
            code_q = np.clip(np.searchsorted(codes, v), 0, len(codes) - 1)
            known = codes[code_q] == v
            pos = np.searchsorted(key, code_q * R + rank_q[:, None], side="right") - 1
            ok = known & (pos >= 0) & (rank_q[:, None] > 0)
            ok[ok] &= key[pos[ok]] // R == code_q[ok]
            out[..., j] = np.where(ok, val[np.clip(pos, 0, None)], np.nan)
        return out


def add_future_drivers(frame: pd.DataFrame, spec, horizon: int, notes: list[str] | None = None) -> pd.DataFrame:
    """``frame`` with the known-future columns of ``spec.future_drivers`` for steps 1 .. ``horizon``
    (see the module docstring); the frame itself when there are none. Notes say which source was used."""
    drivers = list(getattr(spec, "future_drivers", []) or [])
    if not drivers:
        return frame
    notes = notes if notes is not None else []
    h = int(horizon)
    n = len(frame)
    if spec.future_source == "observed":
        obs = frame[drivers].to_numpy(dtype=np.float64)
        padded = np.vstack([obs, np.full((h, len(drivers)), np.nan)])
        block = padded[np.arange(n)[:, None] + np.arange(1, h + 1)[None, :]]  # (T, h, D)
        notes.append(f"known-future drivers {', '.join(drivers)}: the observed values of the target steps "
                     f"({PERFECT_FORECAST}; a backtest option, no forecaster has them)")
    else:
        issued = IssuedForecasts.read(spec)
        block = issued.lookup(frame.index, valid_times(frame.index, h))
        have = np.isfinite(block).all(axis=(1, 2))
        first = pd.Timestamp(int(issued.issue.min())) if len(issued.issue) else None
        notes.append(f"known-future drivers {', '.join(drivers)} from issued forecasts {issued.path} "
                     f"({len(issued.issue)} rows, issued from {show_time(first) if first is not None else '-'}): "
                     f"for origin t the latest value issued at or before t; {int((~have).sum())} of {n} rows "
                     f"lack one for some step (those origins are skipped)")
    cols = future_columns(drivers, h)
    values = block.reshape(n, -1)  # step-major, as future_columns
    extra = pd.DataFrame(values, index=frame.index, columns=cols)
    return pd.concat([frame.drop(columns=[c for c in cols if c in frame.columns]), extra], axis=1)


def missing_future(frame: pd.DataFrame, drivers: Sequence[str], horizon: int,
                   positions: np.ndarray) -> tuple[str, pd.Timestamp, pd.Timestamp] | None:
    """The first (driver, origin, valid time) without a known-future value among the origins at ``positions``,
    or None when all are there."""
    if not drivers:
        return None
    h = int(horizon)
    values = frame[future_columns(drivers, h)].to_numpy(dtype=np.float64)[positions].reshape(len(positions), h, -1)
    bad = np.argwhere(np.isnan(values))
    if not bad.size:
        return None
    i, s, j = bad[0]
    valid = valid_times(frame.index, h)[positions[i], s]
    return drivers[j], frame.index[positions[i]], pd.Timestamp(valid)
