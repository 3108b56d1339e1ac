"""Read one data file into cells with their physical locations, parse its time column and its numbers.

:func:`read_file` reads by extension: ``.parquet``/``.pq`` (pyarrow), ``.xlsx``/``.xlsm``/``.xls`` (Excel),
anything else as delimited text (separator sniffed among ``, ; TAB |`` when not given). :func:`parse_time`
turns the time column into UTC-naive times; :func:`numeric` turns a column into float64 values. Each bad cell
is a :class:`wq.errors.DataError` naming file, row (1-based data row), line (CSV) or sheet row (Excel), and
column. See :mod:`wq.data.load` for the options.
"""

from __future__ import annotations

import csv
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from wq.data.spec import SHOW
from wq.data.times import localize_wall_times, to_utc_naive
from wq.errors import ConfigError, DataError

__all__ = ["Table", "read_file", "time_column", "parse_time", "numeric", "select_rows", "MAX_ABS", "JOINED_TIME"]

PARQUET_EXT = (".parquet", ".pq")
EXCEL_EXT = (".xlsx", ".xlsm", ".xls")
_SNIFF_SEPS = (",", ";", "\t", "|")
# Largest magnitude accepted in a data cell. Beyond it float64 statistics break: x * x overflows from about
# 1.3e154, so a standard deviation, a variance-based outlier rule or a squared error would be inf/nan.
MAX_ABS = 1e150
JOINED_TIME = "time"  # name of the time column joined from several columns (``time = ["year", "month", "day"]``)


@dataclass
class Table:
    """Cells of one file as read, with the physical location of every row for messages."""

    path: Path
    frame: pd.DataFrame
    lines: np.ndarray  # physical line (CSV) / sheet row (Excel) / row (Parquet) of each row
    line_word: str | None  # "line", "sheet row" or None
    notes: list[str]
    decimal: str = "."

    def where(self, pos: int, column: str | None = None) -> str:
        """``file X, row R (line L), column C`` for the row at position ``pos`` of ``frame``."""
        row = int(self.frame.index[pos]) + 1
        text = f"file {self.path}, row {row}"
        if self.line_word:
            text += f" ({self.line_word} {int(self.lines[pos])})"
        if column is not None:
            text += f", column {column!r}"
        return text


def _sniff_sep(path: Path, encoding: str) -> str:
    """Pick the separator among , ; TAB | that splits the first lines into the same number (>1) of fields."""
    if path.suffix.lower() in (".tsv", ".tab"):
        return "\t"
    with open(path, encoding=encoding, errors="replace", newline="") as fh:
        head = fh.read(65536)
    lines = [ln for ln in head.splitlines() if ln.strip()][:20]
    if len(lines) > 1 and len(head) == 65536:
        lines = lines[:-1]  # the last line may be cut
    best, best_score = ",", (0, 0)
    for sep in _SNIFF_SEPS:
        counts = [len(r) for r in csv.reader(lines, delimiter=sep)]
        if not counts:
            continue
        consistent = int(min(counts) == max(counts))
        score = (consistent, counts[0]) if counts[0] > 1 else (0, 0)
        if score > best_score:
            best, best_score = sep, score
    return best


def _read_text(path: Path, sep: str | None, names: list[str] | None, na_values: list[str] | None,
               decimal: str) -> Table:
    notes: list[str] = []
    encoding = "utf-8-sig"
    try:
        with open(path, "rb") as fh:
            fh.read(65536).decode("utf-8")
    except UnicodeDecodeError:
        encoding = "latin-1"
        notes.append(f"file {path}: not UTF-8, read as Latin-1")
    if sep is None:
        sep = _sniff_sep(path, encoding)
        notes.append(f"file {path}: separator {sep!r} detected")
    if names is not None:
        with open(path, encoding=encoding, errors="replace", newline="") as fh:
            first = next((ln for ln in fh if ln.strip()), "")
        n_fields = len(next(csv.reader([first], delimiter=sep))) if len(sep) == 1 else len(first.split(sep))
        if n_fields != len(names):
            raise DataError(f"file {path}: the first line has {n_fields} fields but {len(names)} names were given "
                            f"(names: {', '.join(names)})")
    header = None if names is not None else 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = pd.read_csv(path, sep=sep, header=header, names=names, index_col=False,
                                na_values=na_values, keep_default_na=True, skip_blank_lines=False,
                                skipinitialspace=True, decimal=decimal, encoding=encoding, low_memory=False,
                                engine="c" if len(sep) == 1 else "python")
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"file {path} is empty") from exc
    except (pd.errors.ParserError, ValueError, csv.Error) as exc:
        raise DataError(f"file {path}: cannot be parsed with separator {sep!r}: {exc}".strip()) from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    lines = np.arange(len(frame)) + (1 if header is None else 2)
    return Table(path, frame, lines, "line", notes, decimal)


def _read_excel(path: Path, sheet: str | int | None, names: list[str] | None,
                na_values: list[str] | None) -> Table:
    header = None if names is not None else 0
    try:
        frame = pd.read_excel(path, sheet_name=0 if sheet is None else sheet, header=header, names=names,
                              na_values=na_values)
    except ImportError as exc:
        raise DataError(f"file {path}: cannot read this Excel format ({exc})") from exc
    except ValueError as exc:
        raise DataError(f"file {path}: {exc}") from exc
    except Exception as exc:  # zipfile/openpyxl errors on a corrupt workbook
        raise DataError(f"file {path} is not a readable Excel workbook: {exc}") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    lines = np.arange(len(frame)) + (1 if header is None else 2)
    return Table(path, frame, lines, "sheet row", [])


def _read_parquet(path: Path, names: list[str] | None) -> Table:
    if names is not None:
        raise ConfigError(f"file {path}: 'names' is for header-less text or Excel files, not Parquet")
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a broken file
        raise DataError(f"file {path} is not a readable Parquet file: {exc}") from exc
    if not isinstance(frame.index, pd.RangeIndex):
        frame = frame.reset_index()
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    return Table(path, frame, np.arange(len(frame)) + 1, None, [])


def read_file(path: Path, *, sep: str | None, names: list[str] | None, na_values: list[str] | None,
          sheet: str | int | None, decimal: str) -> Table:
    """Read one file by extension; missing/unreadable/empty files raise DataError naming the path."""
    if not path.exists():
        raise DataError(f"file {path} does not exist")
    if not path.is_file():
        raise DataError(f"{path} is not a file")
    try:
        size = path.stat().st_size
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise DataError(f"file {path} cannot be read: {exc.strerror or exc}") from exc
    if size == 0:
        raise DataError(f"file {path} is empty")
    ext = path.suffix.lower()
    if ext in PARQUET_EXT:
        table = _read_parquet(path, names)
    elif ext in EXCEL_EXT:
        table = _read_excel(path, sheet, names, na_values)
    else:
        table = _read_text(path, sep, names, na_values, decimal)
    # NA markers for typed formats (pandas applies them while reading text files)
    if na_values and ext in PARQUET_EXT:
        markers = set(na_values)
        for col in table.frame.columns[table.frame.dtypes.eq(object)]:
            s = table.frame[col]
            table.frame[col] = s.mask(s.astype(str).str.strip().isin(markers))
    # blank lines / empty rows carry nothing
    blank = table.frame.isna().all(axis=1).to_numpy()
    if blank.any():
        table.frame = table.frame.loc[~blank]
        table.lines = table.lines[~blank]
    if len(table.frame) == 0:
        raise DataError(f"file {path} has no data rows")
    return table


# ------------------------------------------------------------------------------------------ time column
def select_rows(table: Table, where: dict, notes: list[str]) -> None:
    """Keep only the rows of ``table`` whose cell in each ``where`` column equals the value (or one of the
    values) given: one station, beach or sensor of a long-format file. Compared as text, so ``2`` matches a
    cell ``2`` and ``"Ohio Street Beach"`` a cell with surrounding spaces."""
    if not where:
        return
    keep = np.ones(len(table.frame), dtype=bool)
    for col, value in where.items():
        if col not in table.frame.columns:
            raise DataError(f"file {table.path} has no column {col!r} (option 'where'); columns: "
                            f"{', '.join(map(str, table.frame.columns))}")
        wanted = {_as_text(v) for v in (value if isinstance(value, (list, tuple)) else [value])}
        cells = table.frame[col].map(_as_text)
        keep &= cells.isin(wanted).to_numpy()
    if not keep.any():
        raise DataError(f"file {table.path}: no row matches where = {where!r}")
    notes.append(f"file {table.path}: kept {int(keep.sum())} of {len(keep)} rows where {where!r}")
    table.frame, table.lines = table.frame.loc[keep], table.lines[keep]


def _as_text(value) -> str:
    """A cell or an option value as comparable text: numbers without a trailing ``.0``, strings stripped."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def time_column(table: Table, time: str | list[str] | None, key: str) -> str:
    """The name of the time column; a list of columns (e.g. year, month, day) is joined with ``-`` into a new
    column :data:`JOINED_TIME` (parsed like one column; ``time_format`` applies to the joined text)."""
    cols = list(table.frame.columns)
    if not cols:
        raise DataError(f"file {table.path} has no columns")
    if time is None:
        return cols[0]
    if isinstance(time, list):
        missing = [c for c in time if c not in cols]
        if missing:
            raise DataError(f"file {table.path} has no time column(s) {missing} (option {key!r}); columns: "
                            f"{', '.join(cols)}")
        if JOINED_TIME in cols:
            raise DataError(f"file {table.path} already has a column {JOINED_TIME!r}; it cannot join {time} into it")
        parts = [table.frame[c].map(lambda v: "" if pd.isna(v) else _as_text(v)) for c in time]
        joined = parts[0].str.cat(parts[1:], sep="-")
        table.frame = table.frame.assign(**{JOINED_TIME: joined.where(joined.str.strip("-") != "", None)})
        table.frame = table.frame.drop(columns=time)
        return JOINED_TIME
    if time not in cols:
        raise DataError(f"file {table.path} has no time column {time!r} (option {key!r}); columns: {', '.join(cols)}")
    return time


def parse_time(table: Table, col: str, fmt: str | None, tz: str | None, notes: list[str]) -> pd.DatetimeIndex:
    """Parse the time column (rows with no timestamp and no value are dropped from ``table`` first), convert
    to naive UTC when ``tz`` is given or the values carry offsets; rows with nonexistent local times are
    dropped from ``table``. Returns the naive DatetimeIndex aligned with ``table.frame``."""
    raw = table.frame[col]
    empty = raw.isna() | (raw.astype(str).str.strip() == "")
    if empty.any():
        # a row without timestamp is dropped when it carries no number (labels alone, e.g. a station name)
        rest = table.frame.loc[empty.to_numpy()].drop(columns=[col])
        numbers = rest.apply(lambda s: pd.to_numeric(s, errors="coerce")).notna().any(axis=1)
        bad = np.flatnonzero(empty.to_numpy())[numbers.to_numpy()]
        if bad.size:
            raise DataError(f"{table.where(int(bad[0]), col)}: empty timestamp")
        keep = ~empty.to_numpy()
        table.frame, table.lines = table.frame.loc[keep], table.lines[keep]
        notes.append(f"file {table.path}: dropped {int((~keep).sum())} rows with neither timestamp nor numeric values")
        raw = table.frame[col]
        if len(raw) == 0:
            raise DataError(f"file {table.path} has no data rows")
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = pd.DatetimeIndex(raw)
        text = raw.astype(str)
    else:
        text = raw.astype(str).str.strip()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                parsed = pd.to_datetime(text, format=fmt, errors="coerce")
                if parsed.dtype == object:  # mixed UTC offsets
                    parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc=True)
            except (ValueError, TypeError) as exc:
                raise ConfigError(f"file {table.path}: invalid time format {fmt!r}: {exc}") from exc
        parsed = pd.DatetimeIndex(parsed)
    bad = np.flatnonzero(parsed.isna())
    if bad.size:
        hint = f"expected format {fmt!r}" if fmt else "format inferred from the first value; set time_format"
        raise DataError(f"{table.where(int(bad[0]), col)}: {text.iloc[int(bad[0])]!r} is not a valid timestamp "
                        f"({hint}; {bad.size} such rows)")
    if parsed.tz is not None:
        notes.append(f"file {table.path}: timestamps carry UTC offsets; converted to UTC"
                     + (f" (option tz={tz!r} not needed)" if tz else ""))
        return to_utc_naive(parsed)
    if tz is None:
        return parsed
    if tz.upper() == "UTC":
        notes.append(f"file {table.path}: timestamps are UTC")
        return parsed
    return _localize(table, parsed, tz, notes)


def _localize(table: Table, t: pd.DatetimeIndex, tz: str, notes: list[str]) -> pd.DatetimeIndex:
    """Local wall times -> naive UTC (:func:`wq.data.times.localize_wall_times`); rows with nonexistent
    (spring-forward) wall times are dropped from ``table``."""
    out, nonexistent, n_ambiguous = localize_wall_times(t, tz)
    msg = f"file {table.path}: converted local times ({tz}) to UTC"
    if n_ambiguous:
        msg += (f"; {n_ambiguous} ambiguous DST fall-back times read as summer time at their first occurrence "
                f"and winter time after")
    if nonexistent.any():
        bad = np.flatnonzero(nonexistent)
        shown = ", ".join(f"{t[i]} (row {int(table.frame.index[i]) + 1})" for i in bad[:SHOW])
        msg += f"; dropped {bad.size} nonexistent DST spring-forward times: {shown}"
        keep = ~nonexistent
        table.frame, table.lines, out = table.frame.loc[keep], table.lines[keep], out[keep]
    notes.append(msg)
    return out


# ------------------------------------------------------------------------------------------ numbers
def _cell(s: pd.Series, i: int) -> str:
    """The cell at position ``i`` as written: text quoted, numbers plain (``inf``, ``1e+308``)."""
    v = s.iloc[i]
    if isinstance(v, str):
        return repr(v)
    return f"{float(v):g}" if isinstance(v, (int, float, np.number)) else repr(str(v))


def numeric(table: Table, col: str, required: bool) -> np.ndarray | None:
    """float64 values of ``col``; None for a text-only or value-less column that is not ``required``.
    A non-numeric or non-finite cell, or one beyond ``MAX_ABS`` in magnitude, raises DataError naming row,
    line and column."""
    s = table.frame[col]
    if pd.api.types.is_bool_dtype(s):
        values = s.to_numpy(dtype=float, na_value=np.nan)
        bad = np.zeros(len(s), bool)
    elif pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_complex_dtype(s):
        values = s.to_numpy(dtype=float, na_value=np.nan)
        bad = np.isinf(values)
    else:
        text = s.astype(str).str.strip()
        present = s.notna().to_numpy() & (text != "").to_numpy()
        if table.decimal != ".":
            text = text.str.replace(table.decimal, ".", regex=False)
        if pd.api.types.is_datetime64_any_dtype(s):
            values = np.full(len(s), np.nan)
        else:
            values = pd.to_numeric(text.where(present), errors="coerce").to_numpy(dtype=float)
        bad = present & ~np.isfinite(values)
        values = np.where(present, values, np.nan)
    if bad.any():
        if not required and not np.isfinite(values).any():
            return None  # text only (e.g. a station name or a flag column): dropped by the caller
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"{table.where(i, col)}: {_cell(s, i)} is not a number ({int(bad.sum())} such cells in "
                        f"this column)")
    with np.errstate(invalid="ignore"):
        huge = np.abs(values) > MAX_ABS
    if huge.any():
        i = int(np.flatnonzero(huge)[0])
        raise DataError(f"{table.where(i, col)}: {_cell(s, i)} is too large for float computations (|x| > "
                        f"{MAX_ABS:g}: its square overflows; {int(huge.sum())} such cells in this column)")
    if not required and np.isnan(values).all():
        return None
    return values


