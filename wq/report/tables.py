"""Markdown tables from DataFrames, without the ``tabulate`` dependency.

Numbers are rounded per column to a common number of decimals chosen from the column's largest
magnitude (four significant digits for it), so a column reads evenly; the best value of a column
can be set in bold, judged on the rounded values so that ties that look equal are bold together.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["markdown_table", "column_decimals", "format_cell"]

MISSING = "n/a"


def column_decimals(values: pd.Series, significant: int = 4, max_decimals: int = 6) -> int:
    """Decimals that give the largest finite |value| of the column ``significant`` digits.

    decimals = clip(significant - 1 - floor(log10(max |v|)), 0, max_decimals); integer columns get 0.
    """
    if pd.api.types.is_integer_dtype(values) or pd.api.types.is_bool_dtype(values):
        return 0
    v = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    v = np.abs(v[np.isfinite(v)])
    if v.size == 0 or v.max() == 0.0:
        return min(2, max_decimals)
    digits = significant - 1 - math.floor(math.log10(v.max()))
    return int(min(max(digits, 0), max_decimals))


def format_cell(value: object, decimals: int | None = None) -> str:
    """Text of one cell: numbers with ``decimals`` decimals, NaN/None as 'n/a', '|' escaped."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        d = 2 if decimals is None else decimals
        text = f"{float(value):.{d}f}"
        return "0" + text[2:] if text.startswith("-0") and float(text) == 0.0 else text
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(
    df: pd.DataFrame,
    bold_best: Mapping[str, str] | None = None,
    decimals: Mapping[str, int] | None = None,
    significant: int = 4,
) -> str:
    """GitHub-flavoured Markdown table of ``df`` (index not shown; reset it first if it matters).

    ``bold_best`` maps a column to "min" or "max": the best value(s) of that column, after
    rounding for display, are set in **bold**. ``decimals`` overrides the rounding per column;
    otherwise :func:`column_decimals` with ``significant`` digits. Numeric columns are
    right-aligned. The text ends with a newline and depends only on the frame's content.
    """
    bold_best = dict(bold_best or {})
    decimals = dict(decimals or {})
    for col, rule in bold_best.items():
        if col not in df.columns:
            raise KeyError(f"bold_best names column {col!r}, not in the table: {list(df.columns)}")
        if rule not in ("min", "max"):
            raise ValueError(f"bold_best[{col!r}] must be 'min' or 'max', got {rule!r}")

    header = [format_cell(str(c)) for c in df.columns]
    numeric = [
        pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
        for c in df.columns
    ]
    columns: list[list[str]] = []
    for j, col in enumerate(df.columns):
        series = df.iloc[:, j]
        if not numeric[j]:
            columns.append([format_cell(v) for v in series.tolist()])
            continue
        d = decimals.get(col, column_decimals(series, significant))
        cells = [format_cell(v, d) for v in series.tolist()]
        if col in bold_best:
            rounded = series.astype(float).round(d).to_numpy()
            finite = np.isfinite(rounded)
            if finite.any():
                best = (np.min if bold_best[col] == "min" else np.max)(rounded[finite])
                cells = [
                    f"**{c}**" if ok and v == best else c
                    for c, v, ok in zip(cells, rounded, finite, strict=True)
                ]
        columns.append(cells)

    widths = [
        max([len(header[j]), 3, *(len(c) for c in columns[j])]) for j in range(len(header))
    ]

    def line(cells: list[str]) -> str:
        padded = [
            c.rjust(w) if num else c.ljust(w)
            for c, w, num in zip(cells, widths, numeric, strict=True)
        ]
        return "| " + " | ".join(padded) + " |"

    rule = [("-" * (w - 1) + ":") if num else "-" * w for w, num in zip(widths, numeric, strict=True)]
    rows = [line(header), "| " + " | ".join(rule) + " |"]
    rows += [line([columns[j][i] for j in range(len(header))]) for i in range(len(df))]
    return "\n".join(rows) + "\n"
