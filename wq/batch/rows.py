"""Forecast rows in the store's text form: validation, typing and the counts of a write.

Shared by the SQLite store (:mod:`wq.batch.store`) and the CSV store (:mod:`wq.batch.csv_store`).

A forecast is identified by :data:`KEY` = (pipeline, model_version, as_of, target, step). The store keeps
every *version* of a forecast: version 1 is the value first issued; a later run that computes a
different value from different data (revised observations) adds version 2, 3, ... beside it, each with
its issue time and the fingerprint (``data_sha256``) of the data it was computed from. Nothing issued
is ever replaced.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from wq.errors import DataError

PROBABILISTIC = re.compile(r"^(lower|upper)_[0-9]+(\.[0-9]+)?$|^p_limit$")
"""Columns of forecast rows stored beside the values (SQLite table ``probabilistic``, the CSV store's extra
columns): ``lower_80``, ``upper_95`` ..., ``p_limit``."""

__all__ = [
    "KEY",
    "COLUMNS",
    "ROW_COLUMNS",
    "OnConflict",
    "Versions",
    "WriteResult",
    "normalise_rows",
    "to_frame",
    "bound",
    "select_versions",
]

KEY: tuple[str, ...] = ("pipeline", "model_version", "as_of", "target", "step")
"""Identity of a forecast (every version of it shares the key)."""

ROW_COLUMNS: tuple[str, ...] = (*KEY, "time", "value", "issued_at", "data_sha256")
"""Columns of rows given to a write (``issued_at`` and ``data_sha256`` optional), in the store's order."""

COLUMNS: tuple[str, ...] = (*KEY, "version", "time", "value", "issued_at", "data_sha256")
"""Columns of the store, in order: ``version`` 1 is the value first issued, 2.. its revisions."""

TIME_COLUMNS = ("as_of", "time", "issued_at")
TEXT_COLUMNS = ("pipeline", "model_version", "target")
ISO = "%Y-%m-%dT%H:%M:%S"

OnConflict = Literal["version", "error"]
"""What a write does with a forecast already issued whose new value differs: store it as a new version
(default) or refuse the whole write."""

Versions = Literal["first", "latest", "all"]
"""Which versions a read returns: the value first issued (default), the newest revision, or all."""


@dataclass(frozen=True)
class WriteResult:
    """Counts of one write: forecasts new to the store, forecasts already there with the same value (or
    computed from the same data), and forecasts revised (a new version stored beside the issued one)."""

    inserted: int
    unchanged: int
    revised: int

    @property
    def total(self) -> int:
        """Number of rows passed to the write."""
        return self.inserted + self.unchanged + self.revised

    @property
    def changed(self) -> bool:
        """Whether the write added anything to the store."""
        return bool(self.inserted or self.revised)


def check_on_conflict(on_conflict: str) -> None:
    if on_conflict not in ("version", "error"):
        raise ValueError(f"on_conflict must be 'version' or 'error', got {on_conflict!r}")


def check_versions(versions: str) -> None:
    if versions not in ("first", "latest", "all"):
        raise ValueError(f"versions must be 'first', 'latest' or 'all', got {versions!r}")


def _iso(values: pd.Series, column: str, source: str) -> pd.Series:
    """Datetime-like column -> ISO text to the second (tz-aware converted to UTC, then naive)."""
    try:
        ts = pd.to_datetime(values, utc=False)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{source}: column {column!r} holds values that are not times: {exc}") from None
    if isinstance(ts.dtype, pd.DatetimeTZDtype):
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    elif not pd.api.types.is_datetime64_dtype(ts.dtype):
        # mixed offsets give object dtype: normalise through UTC
        try:
            ts = pd.to_datetime(values, utc=True).dt.tz_localize(None)
        except (ValueError, TypeError) as exc:
            raise DataError(f"{source}: column {column!r} holds values that are not times: {exc}") from None
    bad = ts.isna().to_numpy()
    if bad.any():
        raise DataError(f"{source}: column {column!r} is missing a time in row {_first(values, bad)}")
    sub = (ts.dt.microsecond.to_numpy() != 0) | (ts.dt.nanosecond.to_numpy() != 0)
    if sub.any():
        raise DataError(
            f"{source}: column {column!r} has a time with fractions of a second in row "
            f"{_first(values, sub)}; the store keeps times to the second"
        )
    return pd.Series(np.datetime_as_string(ts.to_numpy(dtype="datetime64[s]"), unit="s"), index=values.index)


def _first(values: pd.Series, mask: np.ndarray) -> object:
    return values.index[int(np.flatnonzero(mask)[0])]


def _fingerprints(frame: pd.DataFrame, source: str) -> pd.Series:
    """``data_sha256`` as text or None (absent column, NaN or '' mean: not known)."""
    if "data_sha256" not in frame.columns:
        return pd.Series([None] * len(frame), index=frame.index, dtype=object)
    given = frame["data_sha256"]
    known = given.notna().to_numpy() & (given.astype(str).str.len() > 0).to_numpy()
    text = given.astype(str)
    bad = known & ~text.str.fullmatch(r"[0-9a-f]{64}").to_numpy()
    if bad.any():
        raise DataError(f"{source}: column 'data_sha256' must hold 64 hex digits; row {_first(given, bad)} does not")
    return pd.Series(np.where(known, text.to_numpy(dtype=object), None), index=frame.index, dtype=object)


# size: one pass of checks over forecast rows, column by column
def normalise_rows(
    rows: pd.DataFrame, *, issued_at: pd.Timestamp | None = None, source: str = "forecast rows",
    keep: Sequence[str] = (),
) -> pd.DataFrame:
    """Validate forecast rows and return them in the store's text form (:data:`ROW_COLUMNS`), sorted by key.

    Required columns: pipeline, model_version, as_of, target, step, time, value; ``issued_at`` is
    optional (missing values take ``issued_at``, default the current UTC time, to the second);
    ``data_sha256`` (the fingerprint of the data the value was computed from) is optional. A ``version``
    column is ignored: the store numbers versions itself. ``keep``: further numeric columns carried along
    (the CSV store's bounds and exceedance probabilities; non-numbers become NaN).
    Raises :class:`~wq.errors.DataError` naming the column and row (0-based position in ``rows``)
    for: a missing column, an empty key field, a non-integer or < 1 step, a non-finite value, a
    bad time, or a key given twice.
    """
    if not isinstance(rows, pd.DataFrame):
        raise DataError(f"{source}: expected a DataFrame, got {type(rows).__name__}")
    missing = [c for c in ROW_COLUMNS if c not in ("issued_at", "data_sha256") and c not in rows.columns]
    if missing:
        raise DataError(f"{source}: missing column(s) {', '.join(map(repr, missing))}")
    frame = rows.reset_index(drop=True)
    out = pd.DataFrame(index=frame.index)
    for col in TEXT_COLUMNS:
        col_values = frame[col]
        bad = col_values.isna().to_numpy() | (col_values.astype(str).str.len() == 0).to_numpy()
        if bad.any():
            raise DataError(f"{source}: column {col!r} is empty in row {_first(col_values, bad)}")
        out[col] = col_values.astype(str)
    out["as_of"] = _iso(frame["as_of"], "as_of", source)
    step = pd.to_numeric(frame["step"], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(step) | (step != np.round(step)) | (step < 1)
    if bad.any():
        raise DataError(
            f"{source}: column 'step' must hold integers >= 1; row {_first(frame['step'], bad)} "
            f"has {frame['step'].iloc[int(np.flatnonzero(bad)[0])]!r}"
        )
    out["step"] = step.astype(np.int64)
    out["time"] = _iso(frame["time"], "time", source)
    value = pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(value)
    if bad.any():
        raise DataError(
            f"{source}: column 'value' must hold finite numbers; row {_first(frame['value'], bad)} "
            f"has {frame['value'].iloc[int(np.flatnonzero(bad)[0])]!r}"
        )
    out["value"] = value
    now = pd.Timestamp(issued_at if issued_at is not None else pd.Timestamp.now(tz="UTC")).floor("s")
    now_text = _iso(pd.Series([now]), "issued_at", source).iloc[0]
    if "issued_at" in frame.columns:
        given = frame["issued_at"]
        present = given.notna().to_numpy()
        text = pd.Series(now_text, index=frame.index, dtype=object)
        if present.any():
            text[present] = _iso(given[present], "issued_at", source)
        out["issued_at"] = text.astype(str)
    else:
        out["issued_at"] = now_text
    out["data_sha256"] = _fingerprints(frame, source)
    dup = out.duplicated(subset=list(KEY)).to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        key = tuple(out.loc[i, list(KEY)])
        raise DataError(f"{source}: key {key} appears more than once (row {frame.index[i]})")
    for col in keep:
        out[col] = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float64)
    return out.loc[:, [*ROW_COLUMNS, *keep]].sort_values(list(KEY), kind="stable").reset_index(drop=True)


def to_frame(records: Sequence[tuple] | pd.DataFrame) -> pd.DataFrame:
    """Store text form (:data:`COLUMNS`) -> typed frame: times as datetime64, step and version int64,
    value float64, data_sha256 text or None."""
    frame = records if isinstance(records, pd.DataFrame) else pd.DataFrame(list(records), columns=list(COLUMNS))
    frame = frame.loc[:, list(COLUMNS)].copy()
    for col in TEXT_COLUMNS:
        frame[col] = frame[col].astype(str)
    for col in TIME_COLUMNS:
        frame[col] = pd.to_datetime(frame[col], format=ISO)
    frame["step"] = frame["step"].astype(np.int64)
    frame["version"] = frame["version"].astype(np.int64)
    frame["value"] = frame["value"].astype(np.float64)
    sha = frame["data_sha256"].astype(object)
    frame["data_sha256"] = sha.where(sha.notna() & (sha.astype(str) != ""), None)
    return frame.reset_index(drop=True)


def bound(value: object, name: str) -> str:
    """A time bound of a read, as stored text (tz-aware converted to UTC)."""
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{name}={value!r} is not a time: {exc}") from None
    if ts is pd.NaT:
        raise DataError(f"{name}={value!r} is not a time")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.strftime(ISO)


def select_versions(frame: pd.DataFrame, versions: Versions) -> pd.DataFrame:
    """The rows of the chosen versions (see :data:`Versions`) of a frame holding :data:`COLUMNS`."""
    check_versions(versions)
    if versions == "all" or frame.empty:
        return frame.reset_index(drop=True)
    if versions == "first":
        return frame.loc[frame["version"] == 1].reset_index(drop=True)
    newest = frame.groupby(list(KEY), sort=False)["version"].transform("max")
    return frame.loc[frame["version"] == newest].reset_index(drop=True)
