"""``wq data check``: load a data source with :func:`wq.data.load.load` and summarize it.

The summary lists rows, span, frequency (given or inferred), missing values per column before and after
gap filling, gaps (count, longest, the longest few), 3-sigma outlier counts per column and the loader's
notes. Outliers here are a *data summary over the whole file* (|x - mean| > k * std, mean and sample std
over the loaded frame), not the training-only smoother of :mod:`wq.preprocess`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from wq.data.load import DataSpec, Loaded, LongGapError, _ts, load
from wq.errors import WqError

__all__ = ["CheckReport", "check", "outlier_counts", "summarize"]


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
    mean = np.nanmean(x, axis=0) if len(x) else np.full(x.shape[1], np.nan)
    std = np.nanstd(x, axis=0, ddof=1) if len(x) > 1 else np.full(x.shape[1], np.nan)
    with np.errstate(invalid="ignore"):
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
        lines.append(f"span: {_ts(frame.index[0])} .. {_ts(frame.index[-1])} ({span})")
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
    table = pd.DataFrame({
        "missing": loaded.raw_missing.reindex(frame.columns).fillna(0).astype(int),
        "after_fill": frame.isna().sum().astype(int),
        f"outliers>{k:g}sd": outlier_counts(frame, k),
        "mean": frame.mean(), "std": frame.std(), "min": frame.min(), "max": frame.max(),
    })
    lines.append("columns:")
    lines.append(table.to_string(float_format=_fmt))
    gaps = loaded.gaps
    if len(gaps):
        longest = gaps.sort_values(["length", "start"], ascending=[False, True])
        counts = gaps["action"].value_counts()
        lines.append(f"gaps: {len(gaps)} (" + ", ".join(f"{n} {a}" for a, n in counts.items())
                     + f"); longest {int(longest['length'].iloc[0])} steps")
        for r in longest.head(5).itertuples():
            lines.append(f"  {r.column}: {_ts(r.start)} .. {_ts(r.end)}, {r.length} steps, {r.action}")
    else:
        lines.append("gaps: none")
    if loaded.notes:
        lines.append("notes:")
        lines += [f"  - {n}" for n in loaded.notes]
    return "\n".join(lines)


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
