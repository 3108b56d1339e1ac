"""Missing values on the regular grid: edge trimming, the gap table, filling short gaps, rules for long ones.

Order (per column, on the final grid): (1) with ``trim_edges`` (default) the rows before the first row where
every column has a value are removed (a sensor or a file had not begun), and at the end the rows after the
last row where every column has a value or a causal fill can give one: a trailing run of at most
``fill_limit`` steps with ``ffill`` is filled like any short gap (yesterday's lab value not in yet, today's
influent and weather are), a longer one is trimmed, so a forecast sees where the data really end.
(2) Each remaining run of missing values of at most ``fill_limit`` steps is filled by ``fill_method``
(``ffill``: the last observation, causal; ``linear``: uses the next observation, offline only; ``none``).
(3) Longer runs, and runs the method cannot fill (edge runs when ``trim_edges`` is off; trailing ones for
``linear``), are *long gaps*, handled by ``long_gaps``: ``error``, ``keep`` (NaN), ``drop`` (rows removed;
the index is no longer regular), ``last-segment`` / ``longest-segment``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from wq.data.spec import LONG_GAP_RULES, SHOW, DataSpec
from wq.data.times import show_time
from wq.errors import DataError

__all__ = ["LongGapError", "GAP_COLUMNS", "trim_edges", "gap_table", "handle_gaps"]

GAP_COLUMNS = ["column", "start", "end", "length", "action"]


class LongGapError(DataError):
    """Gaps longer than ``fill_limit`` remain and ``long_gaps="error"``."""


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start (inclusive) and end (exclusive) positions of the runs of True in ``mask``."""
    d = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def _rows(n: int) -> str:
    return f"{n} row" + ("" if n == 1 else "s")


def _edge_text(frame: pd.DataFrame, lo: int, hi: int, runs_: np.ndarray) -> str:
    cols = ", ".join(f"{c} ({_rows(int(k))})" for c, k in zip(frame.columns, runs_) if k)
    return f"{show_time(frame.index[lo])} .. {show_time(frame.index[hi - 1])}; missing there: {cols}"


def trim_edges(frame: pd.DataFrame, path: Path, notes: list[str], fill_limit: int = 0,
               fill_method: str = "none") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep the rows from the first row where every column has a value to the last row where every column
    has a value or a trailing run the fill rule fills causally (``ffill``, at most ``fill_limit`` steps).

    Returns the trimmed frame and one gap-table row per run of missing values removed with the edges
    (action ``trimmed``). Every column must have at least one value (the caller checks); a DataError when
    no row has a value in every column."""
    missing = frame.isna().to_numpy()
    complete = np.flatnonzero(~missing.any(axis=1))
    n = len(frame)
    if not complete.size:
        present = ~missing
        first, last = present.argmax(axis=0), n - 1 - present[::-1].argmax(axis=0)
        spans = "; ".join(f"{c} {show_time(frame.index[a])} .. {show_time(frame.index[b])}"
                          for c, a, b in zip(frame.columns, first, last))
        raise DataError(f"file {path}: no row has a value in every column (spans with values: {spans})")
    lo, hi = int(complete[0]), int(complete[-1]) + 1  # kept rows: lo .. hi - 1
    if fill_method == "ffill" and fill_limit > 0:  # trailing runs a causal fill covers stay, as inner gaps do
        last = n - 1 - (~missing)[::-1].argmax(axis=0)  # last observed row per column
        fillable = (n - 1 - last) <= fill_limit
        hi = n if fillable.all() else int(last[~fillable].min()) + 1
        hi = max(hi, int(complete[-1]) + 1)
    records = []
    for j, col in enumerate(frame.columns):
        starts, ends = runs(missing[:, j])
        for a, b in zip(starts, ends):
            if b <= lo or a >= hi:  # complete rows lo and hi - 1 bound every run: none is cut
                records.append((col, frame.index[a], frame.index[b - 1], int(b - a), "trimmed"))
    if lo:
        notes.append(f"trimmed {_rows(lo)} at the start, before the first row where every column has a value: "
                     f"{_edge_text(frame, 0, lo, missing[:lo].sum(axis=0))}")
    if hi < n:
        notes.append(f"trimmed {_rows(n - hi)} at the end, after the last row where every column has a value "
                     f"(the data end at {show_time(frame.index[hi - 1])}): "
                     f"{_edge_text(frame, hi, n, missing[hi:].sum(axis=0))}")
    return frame.iloc[lo:hi], pd.DataFrame(records, columns=GAP_COLUMNS)


def gap_table(frame: pd.DataFrame, limit: int, method: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """All runs of missing values; returns (table, fill mask, long-gap mask), both masks of frame's shape."""
    n, k = frame.shape
    isna = frame.isna().to_numpy()
    fill = np.zeros((n, k), bool)
    long_ = np.zeros((n, k), bool)
    records = []
    for j, col in enumerate(frame.columns):
        starts, ends = runs(isna[:, j])
        if not starts.size:
            continue
        lengths = ends - starts
        fillable = (lengths <= limit) & (method != "none") & (starts > 0)
        if method == "linear":
            fillable &= ends < n
        idx = np.repeat(np.arange(starts.size), lengths)
        pos = np.arange(n)[isna[:, j]]
        fill[pos, j] = fillable[idx]
        long_[pos, j] = ~fillable[idx]
        records.append(pd.DataFrame({"column": col, "start": frame.index[starts], "end": frame.index[ends - 1],
                                     "length": lengths, "action": np.where(fillable, "filled", "long")}))
    table = pd.concat(records, ignore_index=True)[GAP_COLUMNS] if records else pd.DataFrame(columns=GAP_COLUMNS)
    return table, fill, long_


def gap_list(gaps: pd.DataFrame) -> str:
    """The longest few gaps of a gap table, for messages."""
    top = gaps.sort_values(["length", "start"], ascending=[False, True]).head(SHOW)
    return "; ".join(f"{r.column} {show_time(r.start)} .. {show_time(r.end)} ({r.length} steps)"
                     for r in top.itertuples())


def _fill(frame: pd.DataFrame, fill: np.ndarray, spec: DataSpec, notes: list[str]) -> pd.DataFrame:
    if not fill.any():
        return frame
    if spec.fill_method == "linear":
        source = frame.interpolate(method="linear", limit_area="inside")
    else:
        source = frame.ffill()
    per_col = ", ".join(f"{c} {int(v)}" for c, v in zip(frame.columns, fill.sum(axis=0)) if v)
    notes.append(f"filled {int(fill.sum())} missing values ({spec.fill_method}, gaps of at most "
                 f"{spec.fill_limit} steps): {per_col}")
    return frame.mask(fill, source)


def handle_gaps(frame: pd.DataFrame, spec: DataSpec, path: Path, notes: list[str]
                ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Fill short gaps and apply the long-gap rule; returns (frame, gap table, filled mask)."""
    table, fill, long_ = gap_table(frame, spec.fill_limit, spec.fill_method)
    filled = pd.DataFrame(fill, index=frame.index, columns=frame.columns)
    frame = _fill(frame, fill, spec, notes)
    is_long = table["action"] == "long"
    if not is_long.any():
        return frame, table, filled
    longs = table[is_long]
    edge = "" if spec.trim_edges else " or at an edge"
    desc = (f"{len(longs)} gaps longer than fill_limit={spec.fill_limit} steps{edge} "
            f"({spec.fill_method} cannot fill them); longest: {gap_list(longs)}")
    if spec.long_gaps == "error":
        raise LongGapError(f"file {path}: {desc}; set long_gaps to one of {', '.join(LONG_GAP_RULES[1:])}, "
                           f"or raise fill_limit")
    if spec.long_gaps == "keep":
        table.loc[is_long, "action"] = "kept"
        notes.append(f"kept as missing values (each one a row of the gap table): {desc}")
        return frame, table, filled
    keep = _rows_to_keep(frame, table, long_.any(axis=1), spec.long_gaps, path, desc, notes)
    return frame.loc[keep], table, filled.loc[keep]


def _rows_to_keep(frame: pd.DataFrame, table: pd.DataFrame, bad_rows: np.ndarray, rule: str, path: Path,
                  desc: str, notes: list[str]) -> np.ndarray:
    """Rows kept by the rules ``drop``, ``last-segment`` and ``longest-segment``; marks dropped gaps in ``table``."""
    is_long = table["action"] == "long"
    if rule == "drop":
        table.loc[is_long, "action"] = "dropped"
        notes.append(f"dropped {int(bad_rows.sum())} rows in {desc}; the index is no longer regular")
        return ~bad_rows
    starts, ends = runs(~bad_rows)
    if not starts.size:
        raise DataError(f"file {path}: no rows are free of long gaps ({desc})")
    pick = len(starts) - 1 if rule == "last-segment" else len(starts) - 1 - int(np.argmax((ends - starts)[::-1]))
    keep = np.zeros(len(frame), bool)
    keep[starts[pick]:ends[pick]] = True
    lo, hi = frame.index[starts[pick]], frame.index[ends[pick] - 1]
    outside = (table["end"] < lo) | (table["start"] > hi)
    table.loc[outside | is_long, "action"] = "dropped"
    notes.append(f"kept the {rule.split('-')[0]} segment free of long gaps, {show_time(lo)} .. {show_time(hi)} "
                 f"({ends[pick] - starts[pick]} of {len(frame)} rows); {desc}")
    return keep
