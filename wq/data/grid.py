"""Time grids: the step of a series, one file's rows as a sorted unique series, the regular grid, resampling.

:func:`infer_freq` is wq's one way to name the step of a time index (the data layer infers a file's step from
the median step; models ask for the step of a regular index). :func:`to_series` parses one file's time and
numbers, sorts the rows and resolves duplicate timestamps; :func:`regular` puts a series on every step of its
span; :func:`resample` aggregates it to a coarser rule with a coverage rule per bin. See :mod:`wq.data.load`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from wq.data.read import Table, numeric, parse_time
from wq.data.spec import AGG_RULES, SHOW
from wq.data.times import show_time
from wq.errors import ConfigError, DataError

__all__ = ["infer_freq", "regular_grid", "FileSeries", "to_series", "regular", "resample"]


def infer_freq(data: pd.DatetimeIndex | pd.DataFrame | pd.Series, *, regular: bool = True) -> str:
    """The pandas alias of the step of a time index (``data`` itself, or the index of a frame or series).

    The index's own ``freq`` when it has one. Otherwise, with ``regular=True`` (what a model needs), the
    alias :func:`pandas.infer_freq` finds for an evenly spaced index, and a :class:`wq.errors.DataError`
    when the index is not evenly spaced; with ``regular=False`` (reading a file), the median step between
    consecutive timestamps, for an even number of steps the lower middle one, so that the result is a step
    that occurs in the data."""
    index = data if isinstance(data, pd.DatetimeIndex) else data.index
    if not isinstance(index, pd.DatetimeIndex):
        raise DataError(f"a time index is needed to infer a frequency, got {type(index).__name__}")
    if index.freq is not None:
        return index.freqstr
    if len(index) < (3 if regular else 2):
        raise DataError(f"cannot infer a frequency from {len(index)} timestamps; set freq in the data settings")
    if regular:
        freq = pd.infer_freq(index)
        if freq is None:
            steps = np.diff(index.asi8)
            raise DataError(f"the time index {show_time(index[0])} .. {show_time(index[-1])} has no regular "
                            f"frequency (steps from {pd.Timedelta(int(steps.min()))} to "
                            f"{pd.Timedelta(int(steps.max()))}); set `freq` (or resample) in the data settings")
        return freq
    steps = np.diff(index.asi8)
    step = pd.Timedelta(int(np.partition(steps, (len(steps) - 1) // 2)[(len(steps) - 1) // 2]), unit="ns")
    return to_offset(step).freqstr


def regular_grid(start: pd.Timestamp, end: pd.Timestamp, freq: str) -> pd.DatetimeIndex:
    """Every step of ``freq`` from ``start`` to ``end``, named ``time``."""
    return pd.date_range(start, end, freq=freq, name="time")


def _off_grid_error(path: Path, times: pd.DatetimeIndex, rows: np.ndarray | None, off: np.ndarray, freq: str,
                    what: str) -> DataError:
    i = np.flatnonzero(off)
    shown = ", ".join(f"{times[j]}" + (f" (row {int(rows[j])})" if rows is not None else "") for j in i[:SHOW])
    return DataError(f"file {path}: {i.size} timestamps are not on the {freq!r} grid {what}: {shown}; "
                     f"set freq, or resample to a coarser step")


# ------------------------------------------------------------------------------------------ one file
@dataclass
class FileSeries:
    """One file's selected columns as float64 values on its own sorted, unique timestamps."""

    path: Path
    frame: pd.DataFrame  # float64, sorted unique naive DatetimeIndex
    rows: np.ndarray | None  # 1-based data row of each timestamp (first one when combined); None after resampling
    n_rows: int


def to_series(table: Table, time_col: str, fmt: str | None, tz: str | None, columns: list[str],
              required: set[str], duplicates: str | None, notes: list[str]) -> FileSeries:
    """Parse time and numbers of one file, sort it and resolve duplicate timestamps."""
    times = parse_time(table, time_col, fmt, tz, notes)
    data: dict[str, np.ndarray] = {}
    dropped: list[str] = []
    for col in columns:
        values = numeric(table, col, col in required)
        if values is None:
            dropped.append(col)
        else:
            data[col] = values
    if dropped:
        notes.append(f"file {table.path}: dropped columns without numbers: {', '.join(dropped)}")
    rows = table.frame.index.to_numpy() + 1
    frame = pd.DataFrame(data, index=pd.DatetimeIndex(times, name="time"), columns=list(data), dtype=float)
    if not frame.index.is_monotonic_increasing:
        order = np.argsort(frame.index.asi8, kind="stable")
        frame, rows = frame.iloc[order], rows[order]
        notes.append(f"file {table.path}: rows were not in time order; sorted {len(frame)} rows")
    frame, rows = _combine_duplicates(table, frame, rows, duplicates, notes)
    frame.index.name = "time"
    return FileSeries(table.path, frame, rows, len(table.frame))


def _combine_duplicates(table: Table, frame: pd.DataFrame, rows: np.ndarray, duplicates: str | None,
                        notes: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """Duplicate timestamps of a sorted frame: an error listing the first ones with their rows, or combined by
    the rule ``duplicates``."""
    dup = frame.index.duplicated(keep=False)
    if not dup.any():
        return frame, rows
    n_times = int(frame.index[dup].nunique())
    if duplicates is None:
        lines = dict(zip(table.frame.index.to_numpy() + 1, table.lines))
        parts = []
        for ts in frame.index[dup].unique()[:SHOW]:
            rr = rows[frame.index == ts]
            where = ", ".join(f"{r}" + (f" ({table.line_word} {lines[r]})" if table.line_word else "") for r in rr)
            parts.append(f"{ts} at rows {where}")
        raise DataError(f"file {table.path}: {n_times} duplicated timestamps: {'; '.join(parts)}; "
                        f"set duplicates to one of {', '.join(AGG_RULES)} to combine them")
    rows = rows[~frame.index.duplicated(keep="first")]  # frame is sorted: groups come in this order
    frame = getattr(frame.groupby(level=0, sort=True), duplicates)()
    notes.append(f"file {table.path}: {n_times} duplicated timestamps ({int(dup.sum())} rows) combined by "
                 f"{duplicates!r}")
    return frame, rows


def regular(series: FileSeries, freq: str, grid: pd.DatetimeIndex | None, notes: list[str],
            role: str) -> pd.DataFrame:
    """Reindex on the regular grid (the file's own span when ``grid`` is None); off-grid timestamps raise."""
    frame = series.frame
    if grid is None:
        grid = regular_grid(frame.index[0], frame.index[-1], freq)
        what = f"starting at {frame.index[0]}"
    else:
        outside = (frame.index < grid[0]) | (frame.index > grid[-1])
        if outside.any():
            notes.append(f"file {series.path}: {int(outside.sum())} {role} rows outside the main file's span "
                         f"{show_time(grid[0])} .. {show_time(grid[-1])} dropped")
            frame = frame.loc[~outside]
            if series.rows is not None:
                series.rows = series.rows[~outside]
        what = f"of the main file (starting at {grid[0]})"
    off = ~frame.index.isin(grid)
    if off.any():
        raise _off_grid_error(series.path, frame.index, series.rows, off, freq, what)
    absent = len(grid) - len(frame)
    if absent and role == "main":
        notes.append(f"file {series.path}: {absent} of {len(grid)} timestamps of the {freq!r} grid are absent "
                     f"(treated as missing values)")
    return frame.reindex(grid)


_END_RULES = {"ME", "YE", "QE", "BME", "BYE", "BQE", "W", "M", "A", "Q", "BM", "BA", "BQ", "Y", "BY"}


def resample(series: FileSeries, rule: str, agg: Mapping[str, str], min_coverage: float, source_freq: str | None,
             notes: list[str]) -> pd.DataFrame:
    """Aggregate to ``rule`` per column; a bin with fewer than ``min_coverage`` x (source steps in the bin)
    non-missing values becomes NaN."""
    frame = series.frame
    if source_freq is None:
        source_freq = infer_freq(frame.index, regular=False)
    src = to_offset(source_freq)
    if not isinstance(src, pd.offsets.Tick):
        raise ConfigError(f"file {series.path}: resampling needs a fixed source step, got freq={source_freq!r}")
    step = pd.Timedelta(src)
    out_off = to_offset(rule)
    res = frame.resample(rule)
    counts = res.count()
    parts = {}
    by_rule: dict[str, list[str]] = {}
    for col in frame.columns:
        by_rule.setdefault(agg.get(col, "mean"), []).append(col)
    for how, cols in by_rule.items():
        parts.update(getattr(res[cols], how)().to_dict("series"))
    out = pd.DataFrame(parts, index=counts.index)[list(frame.columns)]
    labels = out.index
    code = out_off.rule_code.split("-")[0]
    if isinstance(out_off, pd.offsets.Tick):
        span = pd.Series(pd.Timedelta(out_off), index=labels)
    elif code in _END_RULES:
        span = pd.Series(labels - (labels - out_off), index=labels)
    else:
        span = pd.Series((labels + out_off) - labels, index=labels)
    expected = (span / step).to_numpy()
    if (expected < 1).any():
        raise ConfigError(f"file {series.path}: resample={rule!r} is finer than the file's step {source_freq!r}")
    low = counts.to_numpy() < np.ceil(min_coverage * expected - 1e-9)[:, None]
    out = out.mask(low)
    out.index = pd.DatetimeIndex(out.index, name="time", freq=rule)
    rules = ", ".join(f"{how}: {', '.join(cols)}" for how, cols in by_rule.items())
    lows = low.sum(axis=0)
    low_txt = ", ".join(f"{c} {int(k)}" for c, k in zip(frame.columns, lows) if k)
    notes.append(f"file {series.path}: resampled {source_freq!r} -> {rule!r} ({rules}); bins with fewer than "
                 f"{min_coverage:g} of their expected values set missing" + (f": {low_txt}" if low_txt else ": none"))
    return out

