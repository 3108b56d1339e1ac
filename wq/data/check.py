"""``wq data check``: load a data source with :func:`wq.data.load.load` and summarize it.

The summary lists rows, span, frequency (given or inferred), missing values per column before and after
gap filling, gaps (count, longest, the longest few), 3-sigma outlier counts per column and the loader's
notes. Outliers here are a *data summary over the whole file* (|x - mean| > k * std, mean and sample std
over the loaded frame), not the training-only smoother of :mod:`wq.preprocess`.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from wq.data.load import DataSpec, Loaded, LongGapError, load
from wq.data.times import show_time
from wq.errors import WqError

__all__ = ["CheckReport", "check", "outlier_counts", "summarize", "gap_summary", "gap_table_by_column"]


@dataclass
class CheckReport:
    """``ok``: loading succeeded; ``problems``: error messages (one per line); ``text``: the summary
    (also given for a long-gap error, from a lenient reload with ``long_gaps="keep"``)."""

    ok: bool
    problems: list[str] = field(default_factory=list)
    text: str = ""
    loaded: Loaded | None = None


def outlier_counts(frame: pd.DataFrame, k: float = 3.0) -> pd.Series:
    """Per column, the number of values with |x - mean| > k * std (mean and sample std over the column,
    missing values ignored)."""
    x = frame.to_numpy(dtype=float)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing column: nan mean, no outliers
        mean = np.nanmean(x, axis=0) if len(x) else np.full(x.shape[1], np.nan)
        std = np.nanstd(x, axis=0, ddof=1) if len(x) > 1 else np.full(x.shape[1], np.nan)
        out = np.abs(x - mean) > k * std
    return pd.Series(out.sum(axis=0).astype(int), index=frame.columns, name="outliers")


def _fmt(v: float) -> str:
    return "nan" if not np.isfinite(v) else f"{v:.6g}"


def summarize(loaded: Loaded, k: float = 3.0) -> str:
    """Plain-text summary of a :class:`Loaded`."""
    spec, frame = loaded.spec, loaded.frame
    lines = [f"file: {spec.path}"]
    if spec.drivers_path is not None:
        lines.append(f"drivers file: {spec.drivers_path}")
    if len(frame):
        span = frame.index[-1] - frame.index[0]
        lines.append(f"rows: {len(frame)} (read {loaded.source_rows} data rows)")
        lines.append(f"span: {show_time(frame.index[0])} .. {show_time(frame.index[-1])} ({span})")
    else:
        lines.append("rows: 0")
    how = "inferred from the median step" if loaded.freq_inferred else (
        "resampled" if spec.resample else "given")
    lines.append(f"frequency: {loaded.freq} ({how})" + ("" if frame.index.freq is not None else
                                                       "; index not regular after dropping gaps"))
    if spec.targets:
        lines.append(f"targets: {', '.join(spec.targets)}")
    if spec.drivers:
        lines.append(f"drivers: {', '.join(spec.drivers)}")
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # statistics of an empty column: nan, shown as such
        table = pd.DataFrame({
            "missing": loaded.raw_missing.reindex(frame.columns).fillna(0).astype(int),
            "after_fill": frame.isna().sum().astype(int),
            f"outliers>{k:g}sd": outlier_counts(frame, k),
            "mean": frame.mean(), "std": frame.std(), "min": frame.min(), "max": frame.max(),
        })
    lines.append("columns:")
    lines.append(table.to_string(float_format=_fmt))
    lines += gap_summary(loaded)
    if loaded.notes:
        lines.append("notes:")
        lines += [f"  - {n}" for n in loaded.notes]
    return "\n".join(lines)


_LONG_ACTIONS = ("long", "kept", "dropped")


def gap_table_by_column(gaps: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Per column: gaps filled, long gaps (longer than ``fill_limit``: kept, dropped or refused), the longest
    long gap and the steps missing in long gaps (steps), and rows trimmed at the edges."""
    g = gaps.assign(long=gaps["action"].isin(_LONG_ACTIONS))
    long_ = g[g["long"]].groupby("column")["length"]
    out = pd.DataFrame({
        "filled": g[g["action"] == "filled"].groupby("column").size(),
        "long": long_.size(),
        "longest": long_.max(),
        "missing_in_long": long_.sum(),
        "trimmed": g[g["action"] == "trimmed"].groupby("column")["length"].sum(),
    }, columns=["filled", "long", "longest", "missing_in_long", "trimmed"])
    order = [c for c in columns if c in out.index] + [c for c in out.index if c not in columns]
    out = out.reindex(order).fillna(0).astype(int)
    out.index.name = None
    return out


def gap_summary(loaded: Loaded, show: int = 5) -> list[str]:
    """Lines on the gaps of ``loaded``: counts by action, a table per column, the longest few."""
    gaps = loaded.gaps
    if not len(gaps):
        return ["gaps: none"]
    spec = loaded.spec
    longest = gaps.sort_values(["length", "start"], ascending=[False, True])
    counts = gaps["action"].value_counts()
    lines = [f"gaps: {len(gaps)} (" + ", ".join(f"{n} {a}" for a, n in counts.items())
             + f"); longest {int(longest['length'].iloc[0])} steps"]
    lines.append(f"gaps per column (filled: at most fill_limit={spec.fill_limit} steps, {spec.fill_method}; "
                 f"long: longer, long_gaps={spec.long_gaps!r}; lengths in steps of {loaded.freq}):")
    lines += ["  " + ln for ln in gap_table_by_column(gaps, list(loaded.frame.columns)).to_string().splitlines()]
    lines.append("longest gaps:")
    for r in longest.head(show).itertuples():
        lines.append(f"  {r.column}: {show_time(r.start)} .. {show_time(r.end)}, {r.length} steps, {r.action}")
    return lines


def check(spec: DataSpec, k: float = 3.0) -> CheckReport:
    """Load ``spec`` and summarize it; a :class:`wq.errors.WqError` becomes a problem (``ok=False``).
    When the only problem is a long gap, the summary of a reload with ``long_gaps="keep"`` is attached."""
    try:
        loaded = load(spec)
    except LongGapError as exc:
        text = ""
        try:
            lenient = load(dataclasses.replace(spec, long_gaps="keep", min_rows=0))
            text = summarize(lenient, k)
        except WqError:
            pass
        return CheckReport(False, [str(exc)], text)
    except WqError as exc:
        return CheckReport(False, [str(exc)], "")
    return CheckReport(True, [], summarize(loaded, k), loaded)
