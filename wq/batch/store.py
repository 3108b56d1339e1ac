"""Forecast store: where scheduled batch forecasts land, exactly once.

One row per forecast value, keyed by ``(pipeline, model_version, as_of, target, step)``:

========== ======= =====================================================================
column     type    meaning
========== ======= =====================================================================
pipeline   TEXT    pipeline name
model_version TEXT artifact version id that made the forecast
as_of      TEXT    forecast origin (ISO 8601, ``YYYY-MM-DDTHH:MM:SS``): the last time whose
                   data the forecast uses
target     TEXT    forecast column
step       INTEGER horizon step h >= 1
time       TEXT    valid time of the forecast (ISO 8601), normally as_of + h * freq
value      REAL    forecast, original units
issued_at  TEXT    when this value was written (ISO 8601, UTC)
========== ======= =====================================================================

Times are tz-naive; tz-aware input is converted to UTC first (as the data layer does), and
times are stored to the second, so lexicographic order of the text is time order.

Exactly-once semantics of :meth:`ForecastStore.write` (also :func:`write_csv`):

- a key not in the store is inserted;
- a key present with the same ``value`` and ``time`` is left as it is, ``issued_at`` included,
  so re-running the same as-of changes nothing;
- a key present with a different value (the same model version re-forecasting the same as-of
  from revised data) is, by default (``on_conflict="update"``), overwritten: value, time and
  issued_at take the new values (the newest data win) and the row is counted as *updated* in
  the :class:`WriteResult`, so the caller can report it. ``on_conflict="error"`` refuses
  instead: :class:`~wq.errors.DataError` naming the first such key, and nothing is written.

Safety: every write is one SQLite transaction taken with ``BEGIN IMMEDIATE`` (the write lock is
held from the first statement, so counts and upserts see a consistent store); any exception
rolls it back and a killed process leaves an uncommitted transaction that SQLite discards, so a
failure at any point writes nothing. The database runs in WAL journal mode with
``synchronous=FULL`` and a busy timeout, so concurrent writers queue instead of failing and
readers never block. WAL needs a local file system (not NFS/SMB).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from wq.batch.artifact import _fsync_dir
from wq.errors import DataError

__all__ = [
    "SCHEMA_VERSION",
    "KEY",
    "COLUMNS",
    "WriteResult",
    "ForecastStore",
    "normalise_rows",
    "write_csv",
    "read_csv",
]

SCHEMA_VERSION = 1
"""Version of the store's table layout, kept in ``meta(key='schema_version')``."""

KEY: tuple[str, ...] = ("pipeline", "model_version", "as_of", "target", "step")
"""Primary key of a forecast row."""

COLUMNS: tuple[str, ...] = (*KEY, "time", "value", "issued_at")
"""Columns of the store, in order."""

_TIME_COLUMNS = ("as_of", "time", "issued_at")
_TEXT_COLUMNS = ("pipeline", "model_version", "target")
_ISO = "%Y-%m-%dT%H:%M:%S"

OnConflict = Literal["update", "error"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS forecasts (
    pipeline      TEXT    NOT NULL,
    model_version TEXT    NOT NULL,
    as_of         TEXT    NOT NULL,
    target        TEXT    NOT NULL,
    step          INTEGER NOT NULL CHECK (step >= 1),
    time          TEXT    NOT NULL,
    value         REAL    NOT NULL,
    issued_at     TEXT    NOT NULL,
    PRIMARY KEY (pipeline, model_version, as_of, target, step)
);
CREATE INDEX IF NOT EXISTS forecasts_time ON forecasts (pipeline, target, time);
"""


@dataclass(frozen=True)
class WriteResult:
    """Counts of one write: rows new to the store, rows already there with the same value,
    and rows whose value was replaced (``on_conflict="update"``)."""

    inserted: int
    unchanged: int
    updated: int

    @property
    def total(self) -> int:
        """Number of rows passed to the write."""
        return self.inserted + self.unchanged + self.updated

    @property
    def changed(self) -> bool:
        """Whether the write changed the store."""
        return bool(self.inserted or self.updated)


# --------------------------------------------------------------------------- row validation


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


def normalise_rows(
    rows: pd.DataFrame, *, issued_at: pd.Timestamp | None = None, source: str = "forecast rows"
) -> pd.DataFrame:
    """Validate forecast rows and return them in the store's text form, sorted by key.

    Required columns: pipeline, model_version, as_of, target, step, time, value; ``issued_at`` is
    optional (missing values take ``issued_at``, default the current UTC time, to the second).
    Raises :class:`~wq.errors.DataError` naming the column and row (0-based position in ``rows``)
    for: a missing column, an empty key field, a non-integer or < 1 step, a non-finite value, a
    bad time, or a key given twice.
    """
    if not isinstance(rows, pd.DataFrame):
        raise DataError(f"{source}: expected a DataFrame, got {type(rows).__name__}")
    missing = [c for c in COLUMNS if c != "issued_at" and c not in rows.columns]
    if missing:
        raise DataError(f"{source}: missing column(s) {', '.join(map(repr, missing))}")
    frame = rows.reset_index(drop=True)
    out = pd.DataFrame(index=frame.index)
    for col in _TEXT_COLUMNS:
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
    dup = out.duplicated(subset=list(KEY)).to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        key = tuple(out.loc[i, list(KEY)])
        raise DataError(f"{source}: key {key} appears more than once (row {frame.index[i]})")
    return out.loc[:, list(COLUMNS)].sort_values(list(KEY), kind="stable").reset_index(drop=True)


def _to_frame(records: Sequence[tuple] | pd.DataFrame) -> pd.DataFrame:
    """Store text form -> typed frame: times as datetime64, step int64, value float64."""
    frame = records if isinstance(records, pd.DataFrame) else pd.DataFrame(list(records), columns=list(COLUMNS))
    frame = frame.loc[:, list(COLUMNS)].copy()
    for col in _TEXT_COLUMNS:
        frame[col] = frame[col].astype(str)
    for col in _TIME_COLUMNS:
        frame[col] = pd.to_datetime(frame[col], format=_ISO)
    frame["step"] = frame["step"].astype(np.int64)
    frame["value"] = frame["value"].astype(np.float64)
    return frame.reset_index(drop=True)


def _bound(value: object, name: str) -> str:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{name}={value!r} is not a time: {exc}") from None
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.strftime(_ISO)


# --------------------------------------------------------------------------- SQLite store


def _merge(conn: sqlite3.Connection, on_conflict: OnConflict) -> WriteResult:
    """Upsert the staged rows (temp table ``staging``) into ``forecasts``; return the counts.

    Runs inside the caller's transaction; kept separate so tests can inject a failure after it.
    """
    n_staged = conn.execute("SELECT COUNT(*) FROM staging").fetchone()[0]
    join = (
        "FROM staging s JOIN forecasts f ON f.pipeline = s.pipeline AND "
        "f.model_version = s.model_version AND f.as_of = s.as_of AND f.target = s.target "
        "AND f.step = s.step"
    )
    n_existing = conn.execute(f"SELECT COUNT(*) {join}").fetchone()[0]
    changed = f"{join} WHERE f.value IS NOT s.value OR f.time IS NOT s.time"
    n_changed = conn.execute(f"SELECT COUNT(*) {changed}").fetchone()[0]
    if n_changed and on_conflict == "error":
        row = conn.execute(
            f"SELECT s.pipeline, s.model_version, s.as_of, s.target, s.step, f.value, s.value {changed} LIMIT 1"
        ).fetchone()
        raise DataError(
            f"forecast store already holds key {tuple(row[:5])} with value {row[5]!r}; the new value is "
            f"{row[6]!r} ({n_changed} such row(s); on_conflict='error', nothing written)"
        )
    conn.execute(
        "INSERT INTO forecasts (pipeline, model_version, as_of, target, step, time, value, issued_at) "
        "SELECT pipeline, model_version, as_of, target, step, time, value, issued_at FROM staging WHERE true "
        "ON CONFLICT (pipeline, model_version, as_of, target, step) DO UPDATE SET "
        "time = excluded.time, value = excluded.value, issued_at = excluded.issued_at "
        "WHERE forecasts.value IS NOT excluded.value OR forecasts.time IS NOT excluded.time"
    )
    return WriteResult(
        inserted=n_staged - n_existing, unchanged=n_existing - n_changed, updated=n_changed
    )


class ForecastStore:
    """Forecast store on one SQLite file (stdlib :mod:`sqlite3`); see the module docstring.

    ``ForecastStore(path)`` creates the file and its tables when absent and refuses a store
    whose ``schema_version`` is newer than :data:`SCHEMA_VERSION` or that is not a wq store.
    Each method opens its own connection, so one object may be shared by threads and
    processes may each open the same file.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 60.0) -> None:
        if str(path) == ":memory:":
            raise ValueError("ForecastStore needs a file: an in-memory SQLite database is gone after each call")
        self.path = Path(path)
        self.timeout = timeout
        if not self.path.parent.is_dir():
            raise DataError(f"forecast store {self.path}: folder {self.path.parent} does not exist")
        self._init()

    def __repr__(self) -> str:
        return f"ForecastStore({str(self.path)!r})"

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise DataError(f"forecast store {self.path}: cannot open: {exc}") from None
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            conn.execute("PRAGMA synchronous = FULL")
            yield conn
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                raise DataError(
                    f"forecast store {self.path}: still locked by another writer after {self.timeout} s"
                ) from None
            raise DataError(f"forecast store {self.path}: {exc}") from None
        finally:
            conn.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; rollback on any exception."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:  # SQLite may already have rolled back (e.g. disk full)
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _init(self) -> None:
        with self._connect() as conn:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise DataError(
                    f"forecast store {self.path}: SQLite refused WAL journal mode ({mode}); "
                    "use a local file system"
                )
        with self._transaction() as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "forecasts" in tables and "meta" not in tables:
                raise DataError(f"forecast store {self.path}: has a 'forecasts' table but no 'meta' table; not a wq store")
            if "meta" in tables:
                row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                if row is None:
                    raise DataError(f"forecast store {self.path}: no schema_version in table 'meta'; not a wq store")
                try:
                    version = int(row[0])
                except ValueError:
                    raise DataError(f"forecast store {self.path}: schema_version {row[0]!r} is not an integer") from None
                if version > SCHEMA_VERSION:
                    raise DataError(
                        f"forecast store {self.path}: schema version {version} is newer than this wq "
                        f"supports ({SCHEMA_VERSION}); upgrade wq"
                    )
                if version < 1:
                    raise DataError(f"forecast store {self.path}: unknown schema version {version}")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
            columns = [r[1] for r in conn.execute("PRAGMA table_info(forecasts)")]
            if columns != list(COLUMNS):
                raise DataError(
                    f"forecast store {self.path}: table 'forecasts' has columns {columns}, expected {list(COLUMNS)}"
                )

    # ------------------------------------------------------------------ writing

    def write(
        self,
        rows: pd.DataFrame,
        *,
        on_conflict: OnConflict = "update",
        issued_at: pd.Timestamp | None = None,
    ) -> WriteResult:
        """Upsert forecast rows in one transaction; returns the counts (see module docstring).

        Rows are validated first (:func:`normalise_rows`); a bad row, a conflicting value with
        ``on_conflict="error"``, a lock held past the timeout or any other failure raises and
        leaves the store exactly as it was.
        """
        if on_conflict not in ("update", "error"):
            raise ValueError(f"on_conflict must be 'update' or 'error', got {on_conflict!r}")
        norm = normalise_rows(rows, issued_at=issued_at)
        if norm.empty:
            return WriteResult(0, 0, 0)
        records = list(
            zip(
                *(norm[c].tolist() for c in COLUMNS),
                strict=True,
            )
        )
        with self._transaction() as conn:
            conn.execute(
                "CREATE TEMP TABLE IF NOT EXISTS staging (pipeline TEXT, model_version TEXT, as_of TEXT, "
                "target TEXT, step INTEGER, time TEXT, value REAL, issued_at TEXT)"
            )
            conn.execute("DELETE FROM staging")
            conn.executemany("INSERT INTO staging VALUES (?, ?, ?, ?, ?, ?, ?, ?)", records)
            result = _merge(conn, on_conflict)
            conn.execute("DROP TABLE staging")
        return result

    # ------------------------------------------------------------------ reading

    def read(
        self,
        pipeline: str | None = None,
        model_version: str | None = None,
        start: object = None,
        end: object = None,
        *,
        target: str | None = None,
        on: Literal["as_of", "time"] = "as_of",
    ) -> pd.DataFrame:
        """Rows matching every given filter, sorted by key; ``start``/``end`` bound the column
        ``on`` (as_of by default, or the valid time), both inclusive. Times come back as
        datetime64, step as int64, value as float64."""
        if on not in ("as_of", "time"):
            raise ValueError(f"on must be 'as_of' or 'time', got {on!r}")
        where, params = self._filters(pipeline, model_version, target)
        if start is not None:
            where.append(f"{on} >= ?")
            params.append(_bound(start, "start"))
        if end is not None:
            where.append(f"{on} <= ?")
            params.append(_bound(end, "end"))
        sql = f"SELECT {', '.join(COLUMNS)} FROM forecasts"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY {', '.join(KEY)}"
        with self._connect() as conn:
            records = conn.execute(sql, params).fetchall()
        return _to_frame(records)

    def latest(
        self, pipeline: str | None = None, model_version: str | None = None, *, target: str | None = None
    ) -> pd.DataFrame:
        """The newest forecast of each (pipeline, target): the rows whose as_of is the largest
        for that pair among the rows matching the filters (every model version that forecast
        from that as_of, and every step)."""
        inner, params = self._filters(pipeline, model_version, target)
        outer, _ = self._filters(pipeline, model_version, target, alias="f.")
        sql = (
            f"SELECT {', '.join('f.' + c for c in COLUMNS)} FROM forecasts f JOIN ("
            f"SELECT pipeline, target, MAX(as_of) AS as_of FROM forecasts WHERE {' AND '.join(['true', *inner])} "
            "GROUP BY pipeline, target) m ON f.pipeline = m.pipeline AND f.target = m.target "
            f"AND f.as_of = m.as_of WHERE {' AND '.join(['true', *outer])} "
            f"ORDER BY {', '.join('f.' + c for c in KEY)}"
        )
        with self._connect() as conn:
            records = conn.execute(sql, params + params).fetchall()
        return _to_frame(records)

    def as_ofs(self, pipeline: str | None = None, model_version: str | None = None) -> pd.DatetimeIndex:
        """Sorted distinct as-of times in the store (for finding days to backfill)."""
        where, params = self._filters(pipeline, model_version, None)
        sql = "SELECT DISTINCT as_of FROM forecasts"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY as_of"
        with self._connect() as conn:
            values = [r[0] for r in conn.execute(sql, params)]
        return pd.DatetimeIndex(pd.to_datetime(values, format=_ISO), name="as_of")

    def count(self) -> int:
        """Number of rows in the store."""
        with self._connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM forecasts").fetchone()[0])

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check``: ``'ok'`` for a sound file."""
        with self._connect() as conn:
            return "\n".join(r[0] for r in conn.execute("PRAGMA integrity_check"))

    @staticmethod
    def _filters(
        pipeline: str | None, model_version: str | None, target: str | None, alias: str = ""
    ) -> tuple[list[str], list[str]]:
        where: list[str] = []
        params: list[str] = []
        for name, value in (("pipeline", pipeline), ("model_version", model_version), ("target", target)):
            if value is not None:
                where.append(f"{alias}{name} = ?")
                params.append(str(value))
        return where, params


# --------------------------------------------------------------------------- CSV store


def read_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a forecast CSV written by :func:`write_csv`, typed as :meth:`ForecastStore.read`."""
    return _to_frame(_read_csv_text(Path(path)))


def _read_csv_text(path: Path) -> pd.DataFrame:
    """A forecast CSV, validated, in the store's text form."""
    try:
        raw = pd.read_csv(
            path,
            dtype={c: str for c in (*_TEXT_COLUMNS, *_TIME_COLUMNS)},
            keep_default_na=False,
            float_precision="round_trip",
        )
    except FileNotFoundError:
        raise DataError(f"forecast CSV {path}: does not exist") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"forecast CSV {path}: cannot be read: {exc}") from None
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise DataError(f"forecast CSV {path}: missing column(s) {', '.join(map(repr, missing))}")
    return normalise_rows(raw, source=f"forecast CSV {path}")


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Exclusive advisory lock on ``<path>.lock`` (POSIX ``flock``; a no-op where unavailable)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path.with_name(path.name + ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_csv(
    rows: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    on_conflict: OnConflict = "update",
    issued_at: pd.Timestamp | None = None,
) -> WriteResult:
    """Merge forecast rows into a CSV file with the same semantics as :meth:`ForecastStore.write`.

    The existing file (if any) is read, merged by key, sorted, written to a temporary file in
    the same folder, flushed and fsynced, then moved over the old file with :func:`os.replace`:
    readers see the old or the new file, never a half one, and a failure leaves the old file.
    Writers on one machine are serialised by an advisory lock on ``<path>.lock``. Values are
    written with Python's shortest round-trip float repr, so re-reading compares exactly.
    """
    if on_conflict not in ("update", "error"):
        raise ValueError(f"on_conflict must be 'update' or 'error', got {on_conflict!r}")
    path = Path(path)
    if not path.parent.is_dir():
        raise DataError(f"forecast CSV {path}: folder {path.parent} does not exist")
    new = normalise_rows(rows, issued_at=issued_at)
    with _file_lock(path):
        if path.exists():
            old = _read_csv_text(path)
        else:
            old = pd.DataFrame({c: pd.Series(dtype=new[c].dtype) for c in COLUMNS})
        keys = list(KEY)
        merged = new.merge(old, on=keys, how="left", suffixes=("", "_old"), indicator=True)
        exists = (merged["_merge"] == "both").to_numpy()
        same = exists & (merged["value"].to_numpy() == merged["value_old"].to_numpy()) & (
            merged["time"].to_numpy() == merged["time_old"].to_numpy()
        )
        changed = exists & ~same
        if changed.any() and on_conflict == "error":
            i = int(np.flatnonzero(changed)[0])
            raise DataError(
                f"forecast CSV {path} already holds key {tuple(merged.loc[i, keys])} with value "
                f"{merged.loc[i, 'value_old']!r}; the new value is {merged.loc[i, 'value']!r} "
                f"({int(changed.sum())} such row(s); on_conflict='error', nothing written)"
            )
        result = WriteResult(
            inserted=int((~exists).sum()), unchanged=int(same.sum()), updated=int(changed.sum())
        )
        if not result.changed and path.exists():
            return result
        # rows to take from `new`: inserted and changed ones; everything else stays as in `old`
        take = new.loc[~same].set_index(keys)
        kept = old.set_index(keys)
        kept = kept.loc[~kept.index.isin(take.index)]
        out = pd.concat([kept, take]).reset_index().loc[:, list(COLUMNS)].sort_values(keys, kind="stable")
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", newline="") as handle:
                out.to_csv(handle, index=False, float_format=None)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_dir(path.parent)
    return result
