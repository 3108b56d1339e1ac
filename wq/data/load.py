"""Read a CSV, Parquet or Excel file (and optionally a second file of drivers) into a regular time series.

``load(DataSpec(...))`` returns a :class:`Loaded` whose ``frame`` has float64 columns and a sorted, unique,
tz-naive :class:`~pandas.DatetimeIndex` named ``time`` with ``.freq`` set. Every decision is written to
``Loaded.notes``; every gap to ``Loaded.gaps``. Bad input raises :class:`wq.errors.DataError` (bad options:
:class:`wq.errors.ConfigError`) naming the file, the row (1-based data row, and the physical line of a CSV
or the sheet row of an Excel file) and the column where it can.

Stages, in order (each file separately, then joined):

1. **Read** by extension: ``.parquet``/``.pq`` (pyarrow), ``.xlsx``/``.xlsm``/``.xls`` (sheet ``sheet``,
   default the first), anything else as delimited text. ``sep=None`` sniffs the separator from the first
   lines among ``, ; TAB |`` (``.tsv`` means TAB). ``names`` gives the column names of a header-less file
   (no header row is read then). ``na_values`` are extra missing-value markers (e.g. ``"?"``) on top of
   pandas' defaults (empty cell, ``NA``, ``NaN``, ``null`` ...). Blank lines are skipped.
2. **Time column**: ``time`` names it (``None``: the first column). ``time_format`` is a strptime format
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
   that is not a finite number is an error naming file, row, line and column. Without a selection, columns
   that hold text only (station names, flags) or no value at all are dropped with a note.
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
7. **Drivers file** (``drivers_path``, with its own ``drivers_time``, ``drivers_time_format``,
   ``drivers_tz``, ``drivers_sep``, ``drivers_na_values`` (``None``: same as ``na_values``),
   ``drivers_sheet``, ``drivers_names``): read through stages 1-6 and aligned on the main file's grid
   (its rows outside the main file's span are dropped, noted). A column present in both files is taken
   from the main file.
8. **Gaps** (on the final grid, per column): a run of missing values of at most ``fill_limit`` steps is
   filled by ``fill_method``: ``"ffill"`` (default: repeats the last observation, causal) or ``"linear"``
   (interpolates between the neighbours; it uses the next observation, so a filled value at t depends on
   data up to ``fill_limit`` steps after t: prefer it only for offline use). ``"none"`` fills nothing.
   Longer runs, and runs that the method cannot fill (leading runs; trailing runs for ``linear``), are
   *long gaps*, handled by ``long_gaps``: ``"error"`` (default: the data layer decides loudly, the error
   lists the longest gaps and the options), ``"keep"`` (stay NaN), ``"drop"`` (rows in a long gap are
   removed; the index is then no longer regular and ``frame.index.freq`` is ``None``),
   ``"last-segment"`` / ``"longest-segment"`` (keep the last / the longest run of rows free of long gaps).
9. **Checks**: a target/driver column that is constant or empty over the loaded frame is an error; fewer
   than ``min_rows`` rows is an error.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import warnings
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from wq.errors import ConfigError, DataError

__all__ = ["DataSpec", "Loaded", "LongGapError", "load", "infer_freq", "AGG_RULES", "LONG_GAP_RULES",
           "FILL_METHODS"]

AGG_RULES = ("mean", "sum", "min", "max", "first", "last")
FILL_METHODS = ("ffill", "linear", "none")
LONG_GAP_RULES = ("error", "keep", "drop", "last-segment", "longest-segment")
PARQUET_EXT = (".parquet", ".pq")
EXCEL_EXT = (".xlsx", ".xlsm", ".xls")
_SNIFF_SEPS = (",", ";", "\t", "|")
_SHOW = 5  # how many offending items an error message lists


class LongGapError(DataError):
    """Gaps longer than ``fill_limit`` remain and ``long_gaps="error"``."""


def _as_list(value: Any, key: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        if not all(isinstance(v, str) for v in value):
            raise ConfigError(f"data option {key!r} must be a list of strings, got {value!r}")
        return list(value)
    raise ConfigError(f"data option {key!r} must be a string or a list of strings, got {value!r}")


def _check_freq(value: str | None, key: str) -> None:
    if value is None:
        return
    try:
        to_offset(value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"data option {key!r}: {value!r} is not a pandas frequency (e.g. 'D', 'h', '15min')") from exc


def _check_tz(value: str | None, key: str) -> None:
    if value is None or value.upper() == "UTC":
        return
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"data option {key!r}: unknown time zone {value!r} (e.g. 'Europe/Copenhagen', 'UTC')") from exc


def _check_choice(value: Any, choices: Sequence[str], key: str) -> None:
    if value not in choices:
        raise ConfigError(f"data option {key!r} must be one of {', '.join(map(repr, choices))}; got {value!r}")


@dataclass
class DataSpec:
    """All options for reading one data source; see the module docstring for how each behaves.

    Lists may be given as a single string. ``targets``/``drivers`` select the columns the pipeline uses;
    ``calendar`` and ``holidays`` are stored for the pipeline (known-future features, see
    :func:`wq.data.calendar.calendar_features`) and not used by :func:`load`.
    """

    path: Path
    time: str | None = None
    time_format: str | None = None
    names: list[str] | None = None
    na_values: list[str] | None = None
    sep: str | None = None
    sheet: str | int | None = None
    decimal: str = "."
    tz: str | None = None
    columns: list[str] | None = None
    targets: list[str] = field(default_factory=list)
    drivers: list[str] = field(default_factory=list)
    calendar: list[str] = field(default_factory=list)
    holidays: str | list[str] | None = "US"
    drivers_path: Path | None = None
    drivers_time: str | None = None
    drivers_time_format: str | None = None
    drivers_tz: str | None = None
    drivers_sep: str | None = None
    drivers_na_values: list[str] | None = None
    drivers_sheet: str | int | None = None
    drivers_names: list[str] | None = None
    freq: str | None = None
    resample: str | None = None
    agg: dict[str, str] = field(default_factory=dict)
    min_coverage: float = 0.75
    duplicates: str | None = None
    fill_limit: int = 3
    fill_method: str = "ffill"
    long_gaps: str = "error"
    min_rows: int = 2

    def __post_init__(self) -> None:
        if self.path is None or (isinstance(self.path, str) and not self.path.strip()):
            raise ConfigError("data option 'path' is required")
        if not isinstance(self.path, (str, Path)):
            raise ConfigError(f"data option 'path' must be a file path, got {self.path!r}")
        self.path = Path(self.path)
        if self.drivers_path is not None:
            if not isinstance(self.drivers_path, (str, Path)):
                raise ConfigError(f"data option 'drivers_path' must be a file path, got {self.drivers_path!r}")
            self.drivers_path = Path(self.drivers_path)
        for key in ("names", "na_values", "columns", "drivers_na_values", "drivers_names"):
            setattr(self, key, _as_list(getattr(self, key), key))
        for key in ("targets", "drivers", "calendar"):
            setattr(self, key, _as_list(getattr(self, key), key) or [])
        for key in ("time", "time_format", "sep", "tz", "drivers_time", "drivers_time_format", "drivers_tz",
                    "drivers_sep", "freq", "resample", "duplicates"):
            value = getattr(self, key)
            if value is not None and not isinstance(value, str):
                raise ConfigError(f"data option {key!r} must be a string, got {value!r}")
        for key in ("names", "drivers_names"):
            names = getattr(self, key)
            if names is not None:
                dup = sorted({n for n in names if names.count(n) > 1})
                if dup or not names:
                    raise ConfigError(f"data option {key!r} must be non-empty with unique names; repeated: {dup}")
        both = sorted(set(self.targets) & set(self.drivers))
        if both:
            raise ConfigError(f"columns {both} are listed both as target and as driver")
        _check_freq(self.freq, "freq")
        _check_freq(self.resample, "resample")
        _check_tz(self.tz, "tz")
        _check_tz(self.drivers_tz, "drivers_tz")
        if not isinstance(self.agg, Mapping):
            raise ConfigError(f"data option 'agg' must map column -> rule, got {self.agg!r}")
        self.agg = dict(self.agg)
        for col, rule in self.agg.items():
            _check_choice(rule, AGG_RULES, f"agg[{col!r}]")
        if self.agg and self.resample is None:
            raise ConfigError("data option 'agg' needs 'resample' (the rule per column applies when resampling)")
        if self.duplicates is not None:
            _check_choice(self.duplicates, AGG_RULES, "duplicates")
        _check_choice(self.fill_method, FILL_METHODS, "fill_method")
        _check_choice(self.long_gaps, LONG_GAP_RULES, "long_gaps")
        for key in ("fill_limit", "min_rows"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ConfigError(f"data option {key!r} must be a non-negative integer, got {value!r}")
        if isinstance(self.min_coverage, bool) or not isinstance(self.min_coverage, (int, float)) \
                or not 0.0 < float(self.min_coverage) <= 1.0:
            raise ConfigError(f"data option 'min_coverage' must be in (0, 1], got {self.min_coverage!r}")
        if not isinstance(self.decimal, str) or len(self.decimal) != 1:
            raise ConfigError(f"data option 'decimal' must be one character, got {self.decimal!r}")
        if self.calendar:
            from wq.data.calendar import FEATURES

            unknown = [c for c in self.calendar if c not in FEATURES]
            if unknown:
                raise ConfigError(f"unknown calendar features {unknown}; valid: {', '.join(FEATURES)}")

    @classmethod
    def keys(cls) -> list[str]:
        """Valid keys of a ``[data]`` table (``target`` is accepted as an alias of ``targets``)."""
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_mapping(cls, d: Mapping[str, Any], base_dir: Path | str | None = None) -> "DataSpec":
        """Build a spec from a TOML ``[data]`` table. Unknown keys raise ConfigError listing the valid ones;
        relative ``path``/``drivers_path`` are resolved against ``base_dir`` (e.g. the pipeline file's folder)."""
        if not isinstance(d, Mapping):
            raise ConfigError(f"[data] must be a table, got {type(d).__name__}")
        d = dict(d)
        if "target" in d:
            if "targets" in d:
                raise ConfigError("[data] has both 'target' and 'targets'; use one")
            d["targets"] = d.pop("target")
        valid = cls.keys()
        unknown = sorted(k for k in d if k not in valid)
        if unknown:
            raise ConfigError(f"unknown [data] keys {unknown}; valid keys: {', '.join(valid + ['target'])}")
        if "path" not in d:
            raise ConfigError("[data] needs 'path'")
        if base_dir is not None:
            for key in ("path", "drivers_path"):
                if isinstance(d.get(key), (str, Path)):
                    p = Path(d[key]).expanduser()
                    d[key] = p if p.is_absolute() else Path(os.path.normpath(Path(base_dir) / p))
        return cls(**d)

    def to_mapping(self) -> dict[str, Any]:
        """The spec as a JSON/TOML-ready dict (paths as strings, ``None`` values left out); inverse of
        :meth:`from_mapping`."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            out[f.name] = str(value) if isinstance(value, Path) else value
        return out


@dataclass
class Loaded:
    """Result of :func:`load`.

    ``frame``: float64 columns, sorted unique tz-naive DatetimeIndex ``time`` (``.freq`` set unless
    ``long_gaps="drop"`` removed rows). ``notes``: what was done, in order. ``gaps``: one row per run of
    missing values on the regular grid: column, start, end, length (steps), action (filled | kept | dropped).
    ``raw_missing``: missing values per column on the regular grid before filling (empty cells, NA markers,
    absent timestamps, under-covered resampling bins). ``filled``: boolean frame, True where a value was
    filled (so evaluation can skip it). ``freq``: the grid step; ``freq_inferred``: whether it was inferred.
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


# --------------------------------------------------------------------------------------------- reading
@dataclass
class _Table:
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
               decimal: str) -> _Table:
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
    return _Table(path, frame, lines, "line", notes, decimal)


def _read_excel(path: Path, sheet: str | int | None, names: list[str] | None,
                na_values: list[str] | None) -> _Table:
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
    return _Table(path, frame, lines, "sheet row", [])


def _read_parquet(path: Path, names: list[str] | None) -> _Table:
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
    return _Table(path, frame, np.arange(len(frame)) + 1, None, [])


def _read(path: Path, *, sep: str | None, names: list[str] | None, na_values: list[str] | None,
          sheet: str | int | None, decimal: str) -> _Table:
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
        for col in table.frame.columns[table.frame.dtypes == object]:
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
def _time_column(table: _Table, time: str | None, key: str) -> str:
    cols = list(table.frame.columns)
    if not cols:
        raise DataError(f"file {table.path} has no columns")
    if time is None:
        return cols[0]
    if time not in cols:
        raise DataError(f"file {table.path} has no time column {time!r} (option {key!r}); columns: {', '.join(cols)}")
    return time


def _parse_time(table: _Table, col: str, fmt: str | None, tz: str | None, notes: list[str]) -> pd.DatetimeIndex:
    """Parse the time column (rows with no timestamp and no value are dropped from ``table`` first), convert
    to naive UTC when ``tz`` is given or the values carry offsets; rows with nonexistent local times are
    dropped from ``table``. Returns the naive DatetimeIndex aligned with ``table.frame``."""
    raw = table.frame[col]
    empty = raw.isna() | (raw.astype(str).str.strip() == "")
    if empty.any():
        others = table.frame.drop(columns=[col]).isna().all(axis=1)
        bad = np.flatnonzero((empty & ~others).to_numpy())
        if bad.size:
            raise DataError(f"{table.where(int(bad[0]), col)}: empty timestamp")
        keep = ~empty.to_numpy()
        table.frame, table.lines = table.frame.loc[keep], table.lines[keep]
        notes.append(f"file {table.path}: dropped {int((~keep).sum())} rows with neither timestamp nor values")
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
        return parsed.tz_convert("UTC").tz_localize(None)
    if tz is None:
        return parsed
    if tz.upper() == "UTC":
        notes.append(f"file {table.path}: timestamps are UTC")
        return parsed
    return _localize(table, parsed, tz, notes)


def _localize(table: _Table, t: pd.DatetimeIndex, tz: str, notes: list[str]) -> pd.DatetimeIndex:
    """Local wall times -> naive UTC. Ambiguous (fall-back) wall times: first occurrence summer time, later
    ones winter time; nonexistent (spring-forward) wall times are dropped from ``table``."""
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
    out = local.tz_convert("UTC").tz_localize(None)
    msg = f"file {table.path}: converted local times ({tz}) to UTC"
    if amb.size:
        msg += (f"; {amb.size} ambiguous DST fall-back times read as summer time at their first occurrence "
                f"and winter time after")
    if nonexistent.any():
        bad = np.flatnonzero(nonexistent)
        shown = ", ".join(f"{t[i]} (row {int(table.frame.index[i]) + 1})" for i in bad[:_SHOW])
        msg += f"; dropped {bad.size} nonexistent DST spring-forward times: {shown}"
        keep = ~nonexistent
        table.frame, table.lines, out = table.frame.loc[keep], table.lines[keep], out[keep]
    notes.append(msg)
    return out


# ------------------------------------------------------------------------------------------ numbers
def _numeric(table: _Table, col: str, required: bool) -> np.ndarray | None:
    """float64 values of ``col``; None for a text-only or value-less column that is not ``required``.
    A non-numeric or non-finite cell raises DataError naming row, line and column."""
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
        raise DataError(f"{table.where(i, col)}: {s.iloc[i]!r} is not a number ({int(bad.sum())} such cells in "
                        f"this column)")
    if not required and np.isnan(values).all():
        return None
    return values


# ------------------------------------------------------------------------------------------ frequency
def infer_freq(index: pd.DatetimeIndex) -> str:
    """The pandas alias of the median step between consecutive timestamps (e.g. 'D', 'h', '15min'); for an
    even number of steps the lower middle one, so the result is a step that occurs in the data."""
    if len(index) < 2:
        raise DataError("cannot infer a frequency from fewer than 2 timestamps; set freq")
    steps = np.diff(index.asi8)
    step = pd.Timedelta(int(np.partition(steps, (len(steps) - 1) // 2)[(len(steps) - 1) // 2]), unit="ns")
    return to_offset(step).freqstr


def _grid(start: pd.Timestamp, end: pd.Timestamp, freq: str) -> pd.DatetimeIndex:
    return pd.date_range(start, end, freq=freq, name="time")


def _off_grid_error(path: Path, times: pd.DatetimeIndex, rows: np.ndarray | None, off: np.ndarray, freq: str,
                    what: str) -> DataError:
    i = np.flatnonzero(off)
    shown = ", ".join(f"{times[j]}" + (f" (row {int(rows[j])})" if rows is not None else "") for j in i[:_SHOW])
    return DataError(f"file {path}: {i.size} timestamps are not on the {freq!r} grid {what}: {shown}; "
                     f"set freq, or resample to a coarser step")


# ------------------------------------------------------------------------------------------ one file
@dataclass
class _Series:
    path: Path
    frame: pd.DataFrame  # float64, sorted unique naive DatetimeIndex
    rows: np.ndarray | None  # 1-based data row of each timestamp (first one when combined); None after resampling
    n_rows: int


def _prepare(table: _Table, time_col: str, fmt: str | None, tz: str | None, columns: list[str],
             required: set[str], duplicates: str | None, notes: list[str]) -> _Series:
    """Parse time and numbers of one file, sort it and resolve duplicate timestamps."""
    times = _parse_time(table, time_col, fmt, tz, notes)
    data: dict[str, np.ndarray] = {}
    dropped: list[str] = []
    for col in columns:
        values = _numeric(table, col, col in required)
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
    dup = frame.index.duplicated(keep=False)
    if dup.any():
        n_times = int(frame.index[dup].nunique())
        if duplicates is None:
            lines = dict(zip(table.frame.index.to_numpy() + 1, table.lines))
            firsts = frame.index[dup].unique()[:_SHOW]
            parts = []
            for ts in firsts:
                rr = rows[frame.index == ts]
                where = ", ".join(f"{r}" + (f" ({table.line_word} {lines[r]})" if table.line_word else "")
                                  for r in rr)
                parts.append(f"{ts} at rows {where}")
            raise DataError(f"file {table.path}: {n_times} duplicated timestamps: {'; '.join(parts)}; "
                            f"set duplicates to one of {', '.join(AGG_RULES)} to combine them")
        rows = rows[~frame.index.duplicated(keep="first")]  # frame is sorted: groups come in this order
        frame = getattr(frame.groupby(level=0, sort=True), duplicates)()
        notes.append(f"file {table.path}: {n_times} duplicated timestamps ({int(dup.sum())} rows) combined by "
                     f"{duplicates!r}")
    frame.index.name = "time"
    return _Series(table.path, frame, rows, len(table.frame))


def _regular(series: _Series, freq: str, grid: pd.DatetimeIndex | None, notes: list[str],
             role: str) -> pd.DataFrame:
    """Reindex on the regular grid (the file's own span when ``grid`` is None); off-grid timestamps raise."""
    frame = series.frame
    if grid is None:
        grid = _grid(frame.index[0], frame.index[-1], freq)
        what = f"starting at {frame.index[0]}"
    else:
        outside = (frame.index < grid[0]) | (frame.index > grid[-1])
        if outside.any():
            notes.append(f"file {series.path}: {int(outside.sum())} {role} rows outside the main file's span "
                         f"{_ts(grid[0])} .. {_ts(grid[-1])} dropped")
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


def _resample(series: _Series, rule: str, agg: Mapping[str, str], min_coverage: float, source_freq: str | None,
              notes: list[str]) -> pd.DataFrame:
    """Aggregate to ``rule`` per column; a bin with fewer than ``min_coverage`` x (source steps in the bin)
    non-missing values becomes NaN."""
    frame = series.frame
    if source_freq is None:
        source_freq = infer_freq(frame.index)
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


# ------------------------------------------------------------------------------------------ gaps
def _ts(t: pd.Timestamp) -> str:
    """A timestamp for messages: the date alone at midnight."""
    return str(t.date()) if t == t.normalize() else str(t)


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start (inclusive) and end (exclusive) positions of the runs of True in ``mask``."""
    d = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def _gap_table(frame: pd.DataFrame, limit: int, method: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """All runs of missing values; returns (table, fill mask, long-gap mask), both masks of frame's shape."""
    n, k = frame.shape
    isna = frame.isna().to_numpy()
    fill = np.zeros((n, k), bool)
    long_ = np.zeros((n, k), bool)
    records = []
    for j, col in enumerate(frame.columns):
        starts, ends = _runs(isna[:, j])
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
    cols = ["column", "start", "end", "length", "action"]
    table = pd.concat(records, ignore_index=True)[cols] if records else pd.DataFrame(columns=cols)
    return table, fill, long_


def _gap_list(gaps: pd.DataFrame) -> str:
    top = gaps.sort_values(["length", "start"], ascending=[False, True]).head(_SHOW)
    return "; ".join(f"{r.column} {_ts(r.start)} .. {_ts(r.end)} ({r.length} steps)" for r in top.itertuples())


def _handle_gaps(frame: pd.DataFrame, spec: DataSpec, path: Path, notes: list[str]
                 ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    table, fill, long_ = _gap_table(frame, spec.fill_limit, spec.fill_method)
    filled = pd.DataFrame(fill, index=frame.index, columns=frame.columns)
    if fill.any():
        if spec.fill_method == "linear":
            source = frame.interpolate(method="linear", limit_area="inside")
        else:
            source = frame.ffill()
        frame = frame.mask(fill, source)
        per_col = ", ".join(f"{c} {int(v)}" for c, v in zip(frame.columns, fill.sum(axis=0)) if v)
        notes.append(f"filled {int(fill.sum())} missing values ({spec.fill_method}, gaps of at most "
                     f"{spec.fill_limit} steps): {per_col}")
    is_long = table["action"] == "long"
    if not is_long.any():
        return frame, table, filled
    longs = table[is_long]
    desc = (f"{len(longs)} gaps longer than fill_limit={spec.fill_limit} steps or at an edge "
            f"({spec.fill_method} cannot fill them); longest: {_gap_list(longs)}")
    if spec.long_gaps == "error":
        raise LongGapError(f"file {path}: {desc}; set long_gaps to one of {', '.join(LONG_GAP_RULES[1:])}, "
                           f"or raise fill_limit")
    bad_rows = long_.any(axis=1)
    if spec.long_gaps == "keep":
        table.loc[is_long, "action"] = "kept"
        notes.append(f"kept {desc} as missing values")
        return frame, table, filled
    if spec.long_gaps == "drop":
        keep = ~bad_rows
        table.loc[is_long, "action"] = "dropped"
        notes.append(f"dropped {int(bad_rows.sum())} rows in {desc}; the index is no longer regular")
    else:
        starts, ends = _runs(~bad_rows)
        if not starts.size:
            raise DataError(f"file {path}: no rows are free of long gaps ({desc})")
        pick = len(starts) - 1 if spec.long_gaps == "last-segment" else \
            len(starts) - 1 - int(np.argmax((ends - starts)[::-1]))
        keep = np.zeros(len(frame), bool)
        keep[starts[pick]:ends[pick]] = True
        lo, hi = frame.index[starts[pick]], frame.index[ends[pick] - 1]
        outside = (table["end"] < lo) | (table["start"] > hi)
        table.loc[outside | is_long, "action"] = "dropped"
        notes.append(f"kept the {spec.long_gaps.split('-')[0]} segment free of long gaps, {_ts(lo)} .. {_ts(hi)} "
                     f"({ends[pick] - starts[pick]} of {len(frame)} rows); {desc}")
    return frame.loc[keep], table, filled.loc[keep]


# ------------------------------------------------------------------------------------------ load
def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


def load(spec: DataSpec) -> Loaded:
    """Read, validate and regularize the data described by ``spec`` (see the module docstring)."""
    if not isinstance(spec, DataSpec):
        raise ConfigError(f"load() needs a DataSpec, got {type(spec).__name__}")
    notes: list[str] = []
    main = _read(spec.path, sep=spec.sep, names=spec.names, na_values=spec.na_values, sheet=spec.sheet,
                 decimal=spec.decimal)
    notes += main.notes
    drv = None
    if spec.drivers_path is not None:
        drv = _read(spec.drivers_path, sep=spec.drivers_sep, names=spec.drivers_names,
                    na_values=spec.na_values if spec.drivers_na_values is None else spec.drivers_na_values,
                    sheet=spec.drivers_sheet, decimal=spec.decimal)
        notes += drv.notes
    main_time = _time_column(main, spec.time, "time")
    drv_time = _time_column(drv, spec.drivers_time, "drivers_time") if drv is not None else None
    main_avail = [c for c in main.frame.columns if c != main_time]
    drv_avail = [c for c in drv.frame.columns if c != drv_time] if drv is not None else []

    selected = _unique((spec.columns or []) + spec.targets + spec.drivers)
    files = f"file {spec.path}" + (f" or drivers file {spec.drivers_path}" if drv is not None else "")
    available = _unique(main_avail + drv_avail)
    for role, names in (("target", spec.targets), ("driver", spec.drivers), ("column", spec.columns or [])):
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
    required = set(selected)

    m = _prepare(main, main_time, spec.time_format, spec.tz, main_cols, required, spec.duplicates, notes)
    freq_inferred = False
    if spec.resample is not None:
        frame = _resample(m, spec.resample, spec.agg, spec.min_coverage, spec.freq, notes)
        freq = to_offset(spec.resample).freqstr
        grid = _grid(frame.index[0], frame.index[-1], freq)
        frame = frame.reindex(grid)
    else:
        freq = spec.freq
        if freq is None:
            if len(m.frame) < 2:
                raise DataError(f"file {spec.path} has {len(m.frame)} distinct timestamp(s); cannot infer the "
                                f"frequency (set freq)")
            freq = infer_freq(m.frame.index)
            freq_inferred = True
            notes.append(f"file {spec.path}: frequency {freq!r} inferred from the median step")
        freq = to_offset(freq).freqstr
        frame = _regular(m, freq, None, notes, "main")
    if drv is not None and drv_cols:
        d = _prepare(drv, drv_time, spec.drivers_time_format, spec.drivers_tz, drv_cols, required,
                     spec.duplicates, notes)
        if spec.resample is not None:
            resampled = _resample(d, spec.resample, spec.agg, spec.min_coverage, None, notes)
            d = dataclasses.replace(d, frame=resampled, rows=None)
        dframe = _regular(d, freq, frame.index, notes, "drivers")
        frame = frame.join(dframe, how="left")
        notes.append(f"joined {len(drv_cols)} columns of drivers file {spec.drivers_path} on time "
                     f"({int(dframe.notna().any(axis=1).sum())} of {len(frame)} rows have driver values)")
    elif drv is not None:
        notes.append(f"no columns used from drivers file {spec.drivers_path}")
    order = [c for c in (selected or list(frame.columns)) if c in frame.columns]
    frame = frame[order].astype(np.float64)
    frame.index = pd.DatetimeIndex(frame.index, name="time", freq=freq)
    raw_missing = frame.isna().sum().astype(int)
    raw_missing.name = "missing"

    frame, gaps, filled = _handle_gaps(frame, spec, spec.path, notes)
    if spec.long_gaps != "drop":
        frame.index = pd.DatetimeIndex(frame.index, name="time", freq=freq)

    for col in spec.targets + spec.drivers:
        values = frame[col].to_numpy()
        ok = values[~np.isnan(values)]
        src = spec.path if col in main_cols else spec.drivers_path
        if ok.size == 0:
            raise DataError(f"file {src}, column {col!r}: no values in the loaded frame")
        if ok.size == 1 or np.all(ok == ok[0]):
            raise DataError(f"file {src}, column {col!r}: constant ({ok[0]:g}) over the {len(frame)} loaded rows; "
                            f"a constant target or driver carries no information")
    const = [c for c in frame.columns if c not in required and frame[c].nunique(dropna=True) <= 1]
    if const:
        notes.append(f"columns constant over the loaded rows: {', '.join(const)}")
    if len(frame) < spec.min_rows:
        raise DataError(f"file {spec.path}: {len(frame)} rows after loading, fewer than min_rows={spec.min_rows}")
    return Loaded(frame=frame, notes=notes, gaps=gaps, raw_missing=raw_missing, filled=filled, freq=freq,
                  freq_inferred=freq_inferred, spec=spec, source_rows=m.n_rows)
