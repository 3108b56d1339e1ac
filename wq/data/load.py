"""Read a CSV, Parquet or Excel file (and optionally a second file of drivers) into a regular time series.

``load(DataSpec(...))`` returns a :class:`Loaded` whose ``frame`` has float64 columns and a sorted, unique,
tz-naive :class:`~pandas.DatetimeIndex` named ``time`` with ``.freq`` set. Every decision is written to
``Loaded.notes``; every gap to ``Loaded.gaps``. Bad input raises :class:`wq.errors.DataError` (bad options:
:class:`wq.errors.ConfigError`) naming the file, the row (1-based data row, and the physical line of a CSV
or the sheet row of an Excel file) and the column where it can.

This module orchestrates; the parts live in :mod:`wq.data.spec` (options), :mod:`wq.data.read` (files,
time column, numbers), :mod:`wq.data.times` (UTC and DST), :mod:`wq.data.grid` (step, order, duplicates,
regular grid, resampling) and :mod:`wq.data.gaps` (edges, filling, long gaps).

Stages, in order (each file separately, then joined):

1. **Read** by extension: ``.parquet``/``.pq`` (pyarrow), ``.xlsx``/``.xlsm``/``.xls`` (sheet ``sheet``,
   default the first), anything else as delimited text. ``sep=None`` sniffs the separator from the first
   lines among ``, ; TAB |`` (``.tsv`` means TAB). ``names`` gives the column names of a header-less file
   (no header row is read then). ``na_values`` are extra missing-value markers (e.g. ``"?"``) on top of
   pandas' defaults (empty cell, ``NA``, ``NaN``, ``null`` ...). Blank lines are skipped. ``where``
   (column -> value or list of values, compared as text) keeps only the matching rows of the main file:
   one beach, station or sensor of a long-format file with several (e.g. ``{"Beach Name" = "Ohio Street
   Beach"}``).
2. **Time column**: ``time`` names it (``None``: the first column); a list of columns (e.g.
   ``["year", "month", "day"]``) is joined with ``-`` and parsed as one (``time_format`` applies to the
   joined text). ``time_format`` is a strptime format
   (e.g. ``"D-%d/%m/%y"``) or pandas' ``"ISO8601"``/``"mixed"``; ``None`` infers the format from the first
   value. A cell that does not parse is an error naming row, line and column.
3. **Time zone**: ``tz`` is the zone of the file's wall-clock times (e.g. ``"Europe/Copenhagen"``); they
   are converted to UTC and made naive. DST is handled deterministically: a wall time that occurs twice in
   the fall-back hour is read as summer time at its first occurrence and as winter time at its second (a
   single occurrence is read as summer time); a wall time that does not exist (spring-forward hour) is
   dropped. Both are counted in the notes. Timestamps that carry a UTC offset are converted to UTC whatever
   ``tz`` says. ``tz=None``: timestamps are used as they are (taken to be UTC when the other file has a zone).
4. **Columns**: kept are ``columns`` + ``targets`` + ``drivers`` when any is given, otherwise every column.
   A missing target/driver is an error naming the available columns. Kept columns must be numeric; a cell
   that is not a finite number, or whose magnitude exceeds ``1e150`` (:data:`wq.data.read.MAX_ABS`: its
   square overflows float64, so no statistic of the column survives), is an error naming file, row, line and
   column. Without a selection, columns that hold text only (station names, flags) or no value at all are
   dropped with a note.
5. **Order and duplicates**: unsorted rows are sorted (noted). Duplicate timestamps are an error listing
   the first ones with their rows, unless ``duplicates`` names a rule (``mean``, ``sum``, ``min``, ``max``,
   ``first``, ``last``; first/last take the first/last non-missing value) that combines them.
6. **Regular index**: without ``resample`` the step is ``freq`` or, if ``None``, the median step between
   timestamps (noted); the index becomes every step from the first to the last timestamp, so absent records
   (e.g. weekends of a working-day file) become missing values. A timestamp off that grid is an error.
   With ``resample`` (e.g. ``"D"``) each file is aggregated to that rule per column with ``agg``
   (column -> mean|sum|min|max|first|last, default mean; pandas bins: left-closed and left-labelled for
   ``D``/``h``). A bin whose non-missing values are fewer than ``min_coverage`` times the number of source
   steps the bin spans becomes missing, so a day with 10 of 24 hours is not a biased mean or a short sum.
   An aggregate beyond ``1e150`` in magnitude is an error too.
7. **Drivers file** (``drivers_path``, with its own ``drivers_time``, ``drivers_time_format``,
   ``drivers_tz``, ``drivers_sep``, ``drivers_na_values`` (``None``: same as ``na_values``),
   ``drivers_sheet``, ``drivers_names``): read through stages 1-6 and aligned on the main file's grid
   (its rows outside the main file's span are dropped, noted). A column present in both files is taken
   from the main file.
8. **Edges** (``trim_edges``, default true): the rows before the first row where every kept column has a
   value, and after the last such row, are removed with a note (and ``trimmed`` rows in ``Loaded.gaps``).
   A target missing on its first day means the record starts a day later; targets or drivers missing on
   the last days mean those values have not arrived yet, and the record ends where they stop (so a batch
   forecast's staleness check sees the real end). A kept column with no value at all is an error when it
   is a target or driver and dropped with a note otherwise. ``trim_edges=false``: edge runs are gaps like
   any other (a leading run cannot be filled and counts as a long gap).
9. **Gaps** (on the final grid, per column): a run of missing values of at most ``fill_limit`` steps is
   filled by ``fill_method``: ``"ffill"`` (default: repeats the last observation, causal) or ``"linear"``
   (interpolates between the neighbours; it uses the next observation, so a filled value at t depends on
   data up to ``fill_limit`` steps after t: prefer it only for offline use). ``"none"`` fills nothing.
   Longer runs (and, without trimming, runs that the method cannot fill: leading runs; trailing runs for
   ``linear``) are *long gaps*, handled by ``long_gaps``: ``"error"`` (default: the data layer decides
   loudly, the error lists the longest gaps and the options), ``"keep"`` (stay NaN; every one is a row of
   ``Loaded.gaps``), ``"drop"`` (rows in a long gap are removed; the index is then no longer regular and
   ``frame.index.freq`` is ``None``), ``"last-segment"`` / ``"longest-segment"`` (keep the last / the
   longest run of rows free of long gaps).
10. **Checks**: a target/driver column that is constant or empty over the loaded frame is an error; fewer
    than ``min_rows`` rows is an error.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from wq.data.gaps import GAP_COLUMNS, LongGapError, handle_gaps, trim_edges
from wq.data.grid import FileSeries, infer_freq, regular, regular_grid, resample, to_series
from wq.data.read import MAX_ABS, Table, read_file, select_rows, time_column
from wq.data.spec import AGG_RULES, FILL_METHODS, LONG_GAP_RULES, DataSpec
from wq.errors import ConfigError, DataError

__all__ = ["DataSpec", "Loaded", "LongGapError", "load", "infer_freq", "AGG_RULES", "LONG_GAP_RULES",
           "FILL_METHODS"]


@dataclass
class Loaded:
    """Result of :func:`load`.

    ``frame``: float64 columns, sorted unique tz-naive DatetimeIndex ``time`` (``.freq`` set unless
    ``long_gaps="drop"`` removed rows). ``notes``: what was done, in order. ``gaps``: one row per run of
    missing values on the regular grid: column, start, end, length (steps), action (trimmed | filled | kept |
    dropped); ``trimmed`` runs lie outside ``frame``. ``raw_missing``: missing values per column on the rows
    of the regular grid kept after edge trimming, before filling (empty cells, NA markers, absent timestamps,
    under-covered resampling bins). ``filled``: boolean frame, True where a value was filled (so evaluation
    can skip it). ``freq``: the grid step; ``freq_inferred``: whether it was inferred.
    """

    frame: pd.DataFrame
    notes: list[str]
    gaps: pd.DataFrame
    raw_missing: pd.Series
    filled: pd.DataFrame
    freq: str
    freq_inferred: bool
    spec: DataSpec
    source_rows: int = 0

    @property
    def targets(self) -> list[str]:
        return list(self.spec.targets)

    @property
    def drivers(self) -> list[str]:
        return list(self.spec.drivers)


@dataclass
class _Sources:
    """The files as read and the columns taken from each."""

    main: Table
    drivers: Table | None
    main_time: str
    drivers_time: str | None
    main_cols: list[str]
    drivers_cols: list[str]
    selected: list[str]  # columns named by the spec (columns + targets + drivers), in order; empty: all

    def source(self, spec: DataSpec, col: str):
        return spec.path if col in self.main_cols else spec.drivers_path


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _read_sources(spec: DataSpec, notes: list[str]) -> _Sources:
    """Read both files and decide which columns come from which file; unknown columns raise DataError."""
    main = read_file(spec.path, sep=spec.sep, names=spec.names, na_values=spec.na_values, sheet=spec.sheet,
                     decimal=spec.decimal)
    notes += main.notes
    select_rows(main, spec.where, notes)
    drv = None
    if spec.drivers_path is not None:
        drv = read_file(spec.drivers_path, sep=spec.drivers_sep, names=spec.drivers_names,
                        na_values=spec.na_values if spec.drivers_na_values is None else spec.drivers_na_values,
                        sheet=spec.drivers_sheet, decimal=spec.decimal)
        notes += drv.notes
    main_time = time_column(main, spec.time, "time")
    drv_time = time_column(drv, spec.drivers_time, "drivers_time") if drv is not None else None
    main_avail = [c for c in main.frame.columns if c != main_time]
    drv_avail = [c for c in drv.frame.columns if c != drv_time] if drv is not None else []
    selected = spec.loaded_columns
    files = f"file {spec.path}" + (f" or drivers file {spec.drivers_path}" if drv is not None else "")
    available = _unique(main_avail + drv_avail)
    observed_future = spec.future_drivers if spec.future_source == "observed" else []
    for role, names in (("target", spec.targets), ("driver", spec.drivers), ("column", spec.columns or []),
                        ("known-future driver (observed source)", observed_future)):
        missing = [c for c in names if c not in available]
        if missing:
            raise DataError(f"{role} column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))} not "
                            f"found in {files}; available columns: {', '.join(available)}")
    if selected:
        main_cols = [c for c in selected if c in main_avail]
        drv_cols = [c for c in selected if c not in main_avail and c in drv_avail]
    else:
        main_cols = main_avail
        drv_cols = [c for c in drv_avail if c not in main_avail]
    shadowed = [c for c in drv_avail if c in main_avail and (not selected or c in selected)]
    if shadowed:
        notes.append(f"columns {', '.join(shadowed)} are in both files; taken from {spec.path}")
    unknown_agg = [c for c in spec.agg if c not in available]
    if unknown_agg:
        raise DataError(f"agg names columns {unknown_agg} not found in {files}; available: {', '.join(available)}")
    return _Sources(main, drv, main_time, drv_time, main_cols, drv_cols, selected)


def _main_frame(spec: DataSpec, src: _Sources, notes: list[str]) -> tuple[FileSeries, pd.DataFrame, str, bool]:
    """The main file on its regular grid: (series as read, frame on the grid, freq, whether it was inferred)."""
    required = set(src.selected)
    m = to_series(src.main, src.main_time, spec.time_format, spec.tz, src.main_cols, required, spec.duplicates,
                  notes)
    if spec.resample is not None:
        frame = resample(m, spec.resample, spec.agg, spec.min_coverage, spec.freq, notes)
        freq = to_offset(spec.resample).freqstr
        return m, frame.reindex(regular_grid(frame.index[0], frame.index[-1], freq)), freq, False
    freq, inferred = spec.freq, False
    if freq is None:
        if len(m.frame) < 2:
            raise DataError(f"file {spec.path} has {len(m.frame)} distinct timestamp(s); cannot infer the "
                            f"frequency (set freq)")
        freq, inferred = infer_freq(m.frame.index, regular=False), True
        notes.append(f"file {spec.path}: frequency {freq!r} inferred from the median step")
    freq = to_offset(freq).freqstr
    return m, regular(m, freq, None, notes, "main"), freq, inferred


def _join_drivers(spec: DataSpec, src: _Sources, frame: pd.DataFrame, freq: str, notes: list[str]) -> pd.DataFrame:
    """Left-join the drivers file's columns on the main grid."""
    if src.drivers is None:
        return frame
    if not src.drivers_cols:
        notes.append(f"no columns used from drivers file {spec.drivers_path}")
        return frame
    d = to_series(src.drivers, src.drivers_time, spec.drivers_time_format, spec.drivers_tz, src.drivers_cols,
                  set(src.selected), spec.duplicates, notes)
    if spec.resample is not None:
        resampled = resample(d, spec.resample, spec.agg, spec.min_coverage, None, notes)
        d = dataclasses.replace(d, frame=resampled, rows=None)
    dframe = regular(d, freq, frame.index, notes, "drivers")
    frame = frame.join(dframe, how="left")
    notes.append(f"joined {len(src.drivers_cols)} columns of drivers file {spec.drivers_path} on time "
                 f"({int(dframe.notna().any(axis=1).sum())} of {len(frame)} rows have driver values)")
    return frame


def _check_magnitude(frame: pd.DataFrame, spec: DataSpec, src: _Sources) -> None:
    """Aggregates (resampling sums) beyond MAX_ABS; single cells were checked when read."""
    values = frame.to_numpy()
    with np.errstate(invalid="ignore"):
        huge = np.abs(values) > MAX_ABS
    if huge.any():
        i, j = np.argwhere(huge)[0]
        col = frame.columns[j]
        raise DataError(f"file {src.source(spec, col)}, column {col!r}, time {frame.index[i]}: {values[i, j]:g} "
                        f"after resampling by {spec.agg.get(col, 'mean')!r} is too large for float computations "
                        f"(|x| > {MAX_ABS:g})")


def _edges(frame: pd.DataFrame, spec: DataSpec, src: _Sources, notes: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Drop value-less columns that are not targets or drivers, then trim the edges (``trim_edges``)."""
    if not spec.trim_edges or frame.empty:
        return frame, pd.DataFrame(columns=GAP_COLUMNS)
    empty = [c for c in frame.columns if not frame[c].notna().any()]
    for col in empty:
        if col in spec.targets or col in spec.drivers or col in (spec.columns or []):
            raise DataError(f"file {src.source(spec, col)}, column {col!r}: no values in the loaded frame")
    if empty:
        notes.append(f"dropped columns without values on the grid: {', '.join(empty)}")
        frame = frame.drop(columns=empty)
    return trim_edges(frame, spec.path, notes, spec.fill_limit, spec.fill_method)


def _check_loaded(frame: pd.DataFrame, spec: DataSpec, src: _Sources, notes: list[str]) -> None:
    """Targets and drivers must vary; enough rows must remain."""
    for col in spec.targets + spec.drivers:
        values = frame[col].to_numpy()
        ok = values[~np.isnan(values)]
        if ok.size == 0:
            raise DataError(f"file {src.source(spec, col)}, column {col!r}: no values in the loaded frame")
        if ok.size == 1 or np.all(ok == ok[0]):
            raise DataError(f"file {src.source(spec, col)}, column {col!r}: constant ({ok[0]:g}) over the "
                            f"{len(frame)} loaded rows; a constant target or driver carries no information")
    const = [c for c in frame.columns if c not in set(src.selected) and frame[c].nunique(dropna=True) <= 1]
    if const:
        notes.append(f"columns constant over the loaded rows: {', '.join(const)}")
    if len(frame) < spec.min_rows:
        raise DataError(f"file {spec.path}: {len(frame)} rows after loading, fewer than min_rows={spec.min_rows}")


def load(spec: DataSpec) -> Loaded:
    """Read, validate and regularize the data described by ``spec`` (see the module docstring)."""
    if not isinstance(spec, DataSpec):
        raise ConfigError(f"load() needs a DataSpec, got {type(spec).__name__}")
    notes: list[str] = []
    src = _read_sources(spec, notes)
    m, frame, freq, freq_inferred = _main_frame(spec, src, notes)
    frame = _join_drivers(spec, src, frame, freq, notes)
    order = [c for c in (src.selected or list(frame.columns)) if c in frame.columns]
    frame = frame[order].astype(np.float64)
    _check_magnitude(frame, spec, src)
    frame, trimmed = _edges(frame, spec, src, notes)
    frame.index = pd.DatetimeIndex(frame.index, name="time", freq=freq)
    raw_missing = frame.isna().sum().astype(int)
    raw_missing.name = "missing"
    frame, gaps, filled = handle_gaps(frame, spec, spec.path, notes)
    if len(trimmed):
        gaps = pd.concat([trimmed, gaps], ignore_index=True) if len(gaps) else trimmed
        rank = gaps["column"].map({c: i for i, c in enumerate(order)})
        gaps = gaps.iloc[np.lexsort((gaps["start"].to_numpy(), rank.to_numpy()))].reset_index(drop=True)
    if spec.long_gaps != "drop":
        frame.index = pd.DatetimeIndex(frame.index, name="time", freq=freq)
    _check_loaded(frame, spec, src, notes)
    return Loaded(frame=frame, notes=notes, gaps=gaps, raw_missing=raw_missing, filled=filled, freq=freq,
                  freq_inferred=freq_inferred, spec=spec, source_rows=m.n_rows)
