# size: the forecast store's schema, migrations and transactions; the SQL must be read together
"""Forecast store: where scheduled batch forecasts land, exactly once, and where what was issued stays.

One row per forecast value and version, keyed by ``(pipeline, model_version, as_of, target, step, version)``:

============= ======= =====================================================================
column        type    meaning
============= ======= =====================================================================
pipeline      TEXT    pipeline name
model_version TEXT    artifact version id that made the forecast
as_of         TEXT    forecast origin (ISO 8601, ``YYYY-MM-DDTHH:MM:SS``): the last time whose
                      data the forecast uses
target        TEXT    forecast column
step          INTEGER horizon step h >= 1
version       INTEGER 1 for the value first issued; 2, 3, ... for later revisions
time          TEXT    valid time of the forecast (ISO 8601), normally as_of + h * freq
value         REAL    forecast, original units
issued_at     TEXT    when this version was written (ISO 8601, UTC)
data_sha256   TEXT    fingerprint of the data the value was computed from (NULL: not known,
                      e.g. rows migrated from schema 1)
============= ======= =====================================================================

Times are tz-naive; tz-aware input is converted to UTC first (as the data layer does), and
times are stored to the second, so lexicographic order of the text is time order.

Semantics of :meth:`ForecastStore.write` (also :func:`~wq.batch.csv_store.write_csv`), per forecast key
(pipeline, model_version, as_of, target, step), compared with its newest stored version:

- a key not in the store is inserted as version 1;
- a key whose newest version has the same ``value`` and ``time``, or was computed from the same data
  (equal, known ``data_sha256``), is left as it is, ``issued_at`` included: re-running the same
  as-of on the same data changes nothing;
- otherwise (the same model version re-forecasting the same as-of from revised data) the new value is
  **stored beside the issued one** as the next version, with its own issue time and data fingerprint,
  and counted as *revised* (``on_conflict="version"``, the default). Nothing issued is replaced.
  ``on_conflict="error"`` refuses instead: :class:`~wq.errors.DataError` naming the first such key,
  and nothing is written.

Readers choose the version (:meth:`ForecastStore.read` ``versions=``): ``"first"`` (default: what was
issued), ``"latest"`` or ``"all"`` (the history).

Safety: every write is one SQLite transaction taken with ``BEGIN IMMEDIATE`` (the write lock is
held from the first statement, so counts and inserts see a consistent store); any exception
rolls it back and a killed process leaves an uncommitted transaction that SQLite discards, so a
failure at any point writes nothing. The database runs in WAL journal mode with
``synchronous=FULL`` and a busy timeout, so concurrent writers queue instead of failing and
readers never block. WAL needs a local file system (not NFS/SMB). Readers open the file read-only
(a read-only copy of a store can be read and scored). An existing file is looked at read-only first:
a file that is not a wq store is refused before anything in it is changed. A store of schema 1 is read
as it is and migrated to schema 2 (its rows become version 1) by the first write, in one transaction.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pandas as pd

from wq.batch.csv_store import read_csv, write_csv
from wq.batch.rows import (
    COLUMNS,
    KEY,
    PROBABILISTIC,
    OnConflict,
    Versions,
    WriteResult,
    bound,
    check_on_conflict,
    check_versions,
    normalise_rows,
    to_frame,
)
from wq.batch.rows import ROW_COLUMNS as _ROW_COLUMNS
from wq.errors import DataError

__all__ = [
    "SCHEMA_VERSION",
    "KEY",
    "COLUMNS",
    "WriteResult",
    "ForecastStore",
    "check_new_store",
    "normalise_rows",
    "write_csv",
    "read_csv",
]

SCHEMA_VERSION = 3
"""Version of the store's table layout, kept in ``meta(key='schema_version')``. 1: one row per key
(values replaced on revision); 2: versions (what was issued stays); 3: plus the table ``probabilistic``
(interval bounds and limit-exceedance probabilities of each forecast version)."""


_PROB_TABLE = """
CREATE TABLE probabilistic (
    pipeline      TEXT    NOT NULL,
    model_version TEXT    NOT NULL,
    as_of         TEXT    NOT NULL,
    target        TEXT    NOT NULL,
    step          INTEGER NOT NULL,
    version       INTEGER NOT NULL,
    quantity      TEXT    NOT NULL,
    value         REAL    NOT NULL,
    PRIMARY KEY (pipeline, model_version, as_of, target, step, version, quantity)
)"""

_V1_COLUMNS = ["pipeline", "model_version", "as_of", "target", "step", "time", "value", "issued_at"]
_SQLITE_MAGIC = b"SQLite format 3\x00"

_TABLE = """
CREATE TABLE forecasts (
    pipeline      TEXT    NOT NULL,
    model_version TEXT    NOT NULL,
    as_of         TEXT    NOT NULL,
    target        TEXT    NOT NULL,
    step          INTEGER NOT NULL CHECK (step >= 1),
    version       INTEGER NOT NULL CHECK (version >= 1),
    time          TEXT    NOT NULL,
    value         REAL    NOT NULL,
    issued_at     TEXT    NOT NULL,
    data_sha256   TEXT,
    PRIMARY KEY (pipeline, model_version, as_of, target, step, version)
)"""
_INDEX = "CREATE INDEX IF NOT EXISTS forecasts_time ON forecasts (pipeline, target, time)"
_SAME_KEY = " AND ".join(f"{{a}}.{k} = {{b}}.{k}" for k in KEY)
_V1_AS_V2 = (
    "(SELECT pipeline, model_version, as_of, target, step, 1 AS version, time, value, issued_at, "
    "NULL AS data_sha256 FROM forecasts)"
)


def _merge(conn: sqlite3.Connection, on_conflict: OnConflict) -> WriteResult:
    """Add the staged rows (temp table ``staging``) to ``forecasts`` as new keys or new versions; return
    the counts. Runs inside the caller's transaction; kept separate so tests can inject a failure after it."""
    newest = _SAME_KEY.format(a="g", b="s")
    conn.execute(
        "CREATE TEMP TABLE compared AS SELECT s.*, f.version AS cur_version, f.time AS cur_time, "
        "f.value AS cur_value, f.data_sha256 AS cur_sha FROM staging s LEFT JOIN forecasts f ON "
        f"{_SAME_KEY.format(a='f', b='s')} AND f.version = "
        f"(SELECT MAX(g.version) FROM forecasts g WHERE {newest})"
    )
    same = ("(cur_value = value AND cur_time = time) OR "
            "(cur_sha IS NOT NULL AND data_sha256 IS NOT NULL AND cur_sha = data_sha256)")
    n_new, n_same, n_revised = conn.execute(
        f"SELECT COALESCE(SUM(cur_version IS NULL), 0), COALESCE(SUM(cur_version IS NOT NULL AND ({same})), 0), "
        f"COALESCE(SUM(cur_version IS NOT NULL AND NOT ({same})), 0) FROM compared"
    ).fetchone()
    if n_revised and on_conflict == "error":
        row = conn.execute(
            f"SELECT {', '.join(KEY)}, cur_value, value FROM compared "
            f"WHERE cur_version IS NOT NULL AND NOT ({same}) ORDER BY {', '.join(KEY)} LIMIT 1"
        ).fetchone()
        raise DataError(
            f"forecast store already holds key {tuple(row[:5])} with value {row[5]!r}; the new value is "
            f"{row[6]!r} ({n_revised} such row(s); on_conflict='error', nothing written)"
        )
    conn.execute(
        f"INSERT INTO forecasts ({', '.join(COLUMNS)}) SELECT {', '.join(KEY)}, COALESCE(cur_version, 0) + 1, "
        f"time, value, issued_at, data_sha256 FROM compared WHERE cur_version IS NULL OR NOT ({same})"
    )
    conn.execute("DROP TABLE compared")
    return WriteResult(inserted=int(n_new), unchanged=int(n_same), revised=int(n_revised))


def check_new_store(path: Path) -> None:
    """A store about to be created at ``path``: its folder must exist and its name must not be a CSV's
    (:class:`~wq.errors.DataError` otherwise). Called before anything is computed, and again on creation."""
    if not path.parent.is_dir():
        raise DataError(f"forecast store {path}: folder {path.parent} does not exist")
    if path.suffix.lower() == ".csv":
        raise DataError(f"forecast store {path}: --store writes a SQLite file, not a CSV; give --csv {path} for the "
                        "CSV store")


class ForecastStore:
    """Forecast store on one SQLite file (stdlib :mod:`sqlite3`); see the module docstring.

    ``ForecastStore(path)`` creates the file and its tables when absent (``create=False``: a missing
    file is a :class:`~wq.errors.DataError`). An existing file is inspected read-only: one that is not a
    wq store, or whose ``schema_version`` is newer than :data:`SCHEMA_VERSION`, is refused and left
    exactly as it was. Each method opens its own connection (readers read-only), so one object may be
    shared by threads and processes may each open the same file.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 60.0, create: bool = True) -> None:
        if str(path) == ":memory:":
            raise ValueError("ForecastStore needs a file: an in-memory SQLite database is gone after each call")
        self.path = Path(path)
        self.timeout = timeout
        if self.path.exists():
            self._inspect()
        elif not create:
            raise DataError(f"forecast store {self.path}: does not exist")
        else:
            check_new_store(self.path)
            with self._transaction():
                pass  # creates the file, its tables and WAL mode

    def __repr__(self) -> str:
        return f"ForecastStore({str(self.path)!r})"

    # ------------------------------------------------------------------ connections

    def _fail(self, exc: sqlite3.Error) -> DataError:
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            return DataError(f"forecast store {self.path}: still locked by another writer after {self.timeout} s")
        return DataError(f"forecast store {self.path}: {exc}")

    def _open_readonly(self) -> sqlite3.Connection:
        """A read-only connection (``mode=ro``). A WAL store in a folder this process cannot write (a
        read-only copy) has no ``-shm`` file and cannot get one: then, if no ``-wal`` file holds
        uncommitted-to-the-main-file pages, it is opened as ``immutable``."""
        uri = self.path.resolve().as_uri()
        try:
            conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=self.timeout, isolation_level=None)
            conn.execute("PRAGMA schema_version").fetchone()
            return conn
        except sqlite3.OperationalError as exc:
            wal = self.path.with_name(self.path.name + "-wal")
            if "unable to open" not in str(exc) or (wal.exists() and wal.stat().st_size > 0):
                raise self._fail(exc) from None
        try:
            return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, timeout=self.timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise self._fail(exc) from None

    @contextlib.contextmanager
    def _connect(self, readonly: bool = True) -> Iterator[sqlite3.Connection]:
        if readonly:
            conn = self._open_readonly()
        else:
            try:
                conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
            except sqlite3.Error as exc:
                raise DataError(f"forecast store {self.path}: cannot open: {exc}") from None
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            if not readonly:
                conn.execute("PRAGMA synchronous = FULL")
            yield conn
        except sqlite3.DatabaseError as exc:
            raise self._fail(exc) from None
        finally:
            conn.close()

    def _inspect(self) -> int:
        """Schema version of the existing file, looked at read-only (0: an empty database, ours to set up).
        Raises :class:`~wq.errors.DataError` for anything that is not a wq store; changes nothing."""
        try:
            with open(self.path, "rb") as handle:
                header = handle.read(len(_SQLITE_MAGIC))
        except OSError as exc:
            raise DataError(f"forecast store {self.path}: cannot be read: {exc}") from None
        if not header:
            return 0
        if header != _SQLITE_MAGIC:
            raise DataError(f"forecast store {self.path}: is not a SQLite database (not a wq store); left as it is")
        with self._connect(readonly=True) as conn:
            return _schema_version(conn, self.path)

    def _when_free(self, conn: sqlite3.Connection, sql: str) -> sqlite3.Cursor:
        """``conn.execute(sql)``, retried while another connection holds the lock, for up to ``timeout`` s.

        SQLite does not call its busy handler where waiting could deadlock (two first writers of a new file
        switching it to WAL mode at once, a writer meeting another one's WAL recovery): it answers "database is
        locked" at once. Neither statement retried here has changed anything when it fails, so trying again is
        safe; the other writer finishes and the lock frees."""
        deadline, delay = time.monotonic() + self.timeout, 0.005
        while True:
            try:
                return conn.execute(sql)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(delay)
            delay = min(2 * delay, 0.2)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """Inspect the file read-only, then ``BEGIN IMMEDIATE`` ... ``COMMIT`` on a store of the current
        schema (created or migrated inside the transaction); rollback on any exception."""
        if self.path.exists():
            self._inspect()  # a foreign file is refused here, before WAL mode could touch it
        with self._connect(readonly=False) as conn:
            mode = self._when_free(conn, "PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise DataError(
                    f"forecast store {self.path}: SQLite refused WAL journal mode ({mode}); use a local file system"
                )
            self._when_free(conn, "BEGIN IMMEDIATE")
            try:
                _ensure_schema(conn, self.path)
                yield conn
            except BaseException:
                if conn.in_transaction:  # SQLite may already have rolled back (e.g. disk full)
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def read_probabilistic(self, pipeline: str | None = None, model_version: str | None = None) -> pd.DataFrame:
        """The stored bounds and exceedance probabilities, one row per forecast key and version, one column
        per quantity (``lower_80``, ``upper_80``, ..., ``p_limit``); empty for a store of schema < 3."""
        where, params = self._filters(pipeline, model_version, None)
        with self._connect() as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "probabilistic" not in tables:
                return pd.DataFrame(columns=[*KEY, "version"])
            sql = "SELECT pipeline, model_version, as_of, target, step, version, quantity, value FROM probabilistic"
            if where:
                sql += " WHERE " + " AND ".join(where)
            records = conn.execute(sql, params).fetchall()
        long = pd.DataFrame(records, columns=[*KEY, "version", "quantity", "value"])
        if long.empty:
            return pd.DataFrame(columns=[*KEY, "version"])
        wide = long.pivot_table(index=[*KEY, "version"], columns="quantity", values="value", aggfunc="first")
        wide = wide.reset_index()
        wide.columns.name = None
        wide["as_of"] = pd.to_datetime(wide["as_of"], format="%Y-%m-%dT%H:%M:%S")
        return wide

    def _source(self, conn: sqlite3.Connection) -> str:
        """The forecasts as a schema-2 table: the table itself, or a schema-1 store read as version 1."""
        return "forecasts" if _schema_version(conn, self.path) >= 2 else _V1_AS_V2

    # ------------------------------------------------------------------ writing

    def write(
        self,
        rows: pd.DataFrame,
        *,
        on_conflict: OnConflict = "version",
        issued_at: pd.Timestamp | None = None,
    ) -> WriteResult:
        """Add forecast rows in one transaction; returns the counts (see the module docstring).

        Rows are validated first (:func:`~wq.batch.rows.normalise_rows`); a bad row, a revised value with
        ``on_conflict="error"``, a lock held past the timeout or any other failure raises and leaves the
        store exactly as it was.
        """
        check_on_conflict(on_conflict)
        norm = normalise_rows(rows, issued_at=issued_at)
        prob = _probabilistic_records(rows)
        if norm.empty:
            return WriteResult(0, 0, 0)
        records = list(zip(*(norm[c].tolist() for c in _ROW_COLUMNS), strict=True))
        with self._transaction() as conn:
            conn.execute(
                "CREATE TEMP TABLE IF NOT EXISTS staging (pipeline TEXT, model_version TEXT, as_of TEXT, "
                "target TEXT, step INTEGER, time TEXT, value REAL, issued_at TEXT, data_sha256 TEXT)"
            )
            conn.execute("DELETE FROM staging")
            conn.executemany("INSERT INTO staging VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", records)
            result = _merge(conn, on_conflict)
            conn.execute("DROP TABLE staging")
            if len(prob):
                _merge_probabilistic(conn, prob)
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
        versions: Versions = "first",
    ) -> pd.DataFrame:
        """Rows matching every given filter, sorted by key and version; ``start``/``end`` bound the column
        ``on`` (as_of by default, or the valid time), both inclusive. ``versions``: ``"first"`` (the value
        first issued of each forecast, default), ``"latest"`` (its newest revision) or ``"all"``. Times come
        back as datetime64, step and version as int64, value as float64."""
        if on not in ("as_of", "time"):
            raise ValueError(f"on must be 'as_of' or 'time', got {on!r}")
        check_versions(versions)
        where, params = self._filters(pipeline, model_version, target, alias="f.")
        for value, op, name in ((start, ">=", "start"), (end, "<=", "end")):
            if value is not None:
                where.append(f"f.{on} {op} ?")
                params.append(bound(value, name))
        with self._connect() as conn:
            source = self._source(conn)
            where += self._version_filter(versions, source)
            sql = f"SELECT {', '.join('f.' + c for c in COLUMNS)} FROM {source} f"
            if where:
                sql += " WHERE " + " AND ".join(where)
            sql += f" ORDER BY {', '.join('f.' + c for c in (*KEY, 'version'))}"
            records = conn.execute(sql, params).fetchall()
        return to_frame(records)

    @staticmethod
    def _version_filter(versions: str, source: str) -> list[str]:
        if versions == "first":
            return ["f.version = 1"]
        if versions == "latest":
            return [f"f.version = (SELECT MAX(g.version) FROM {source} g WHERE {_SAME_KEY.format(a='g', b='f')})"]
        return []

    def latest(
        self,
        pipeline: str | None = None,
        model_version: str | None = None,
        *,
        target: str | None = None,
        versions: Versions = "first",
    ) -> pd.DataFrame:
        """The newest forecast of each (pipeline, target): the rows whose as_of is the largest
        for that pair among the rows matching the filters (every model version that forecast
        from that as_of, and every step), in the chosen ``versions`` (see :meth:`read`)."""
        rows = self.read(pipeline, model_version, target=target, versions=versions)
        if rows.empty:
            return rows
        newest = rows.groupby(["pipeline", "target"])["as_of"].transform("max")
        return rows.loc[rows["as_of"] == newest].reset_index(drop=True)

    def as_ofs(self, pipeline: str | None = None, model_version: str | None = None) -> pd.DatetimeIndex:
        """Sorted distinct as-of times in the store (for finding days to backfill)."""
        where, params = self._filters(pipeline, model_version, None)
        with self._connect() as conn:
            sql = f"SELECT DISTINCT as_of FROM {self._source(conn)}"
            if where:
                sql += " WHERE " + " AND ".join(where)
            values = [r[0] for r in conn.execute(sql + " ORDER BY as_of", params)]
        return pd.DatetimeIndex(pd.to_datetime(values, format="%Y-%m-%dT%H:%M:%S"), name="as_of")

    def count(self) -> int:
        """Number of rows in the store (every version counts)."""
        with self._connect() as conn:
            return int(conn.execute(f"SELECT COUNT(*) FROM {self._source(conn)}").fetchone()[0])

    def schema_version(self) -> int:
        """The file's schema version (1 until the first write migrates it)."""
        with self._connect() as conn:
            return _schema_version(conn, self.path)

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


# --------------------------------------------------------------------------- schema


def _schema_version(conn: sqlite3.Connection, path: Path) -> int:
    """Schema version of a wq store (0 for a database without any table); DataError for anything else."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables:
        return 0
    if "meta" not in tables or "forecasts" not in tables:
        raise DataError(
            f"forecast store {path}: a SQLite database with table(s) {', '.join(sorted(tables))} but no wq "
            "'meta' and 'forecasts' tables; not a wq store, left as it is"
        )
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None:
        raise DataError(f"forecast store {path}: no schema_version in table 'meta'; not a wq store")
    try:
        version = int(row[0])
    except ValueError:
        raise DataError(f"forecast store {path}: schema_version {row[0]!r} is not an integer") from None
    if version > SCHEMA_VERSION:
        raise DataError(
            f"forecast store {path}: schema version {version} is newer than this wq supports ({SCHEMA_VERSION}); "
            "upgrade wq"
        )
    if version < 1:
        raise DataError(f"forecast store {path}: unknown schema version {version}")
    columns = [r[1] for r in conn.execute("PRAGMA table_info(forecasts)")]
    expected = _V1_COLUMNS if version == 1 else list(COLUMNS)
    if columns != expected:
        raise DataError(f"forecast store {path}: table 'forecasts' has columns {columns}, expected {expected}")
    return version


def _probabilistic_records(rows: pd.DataFrame) -> list[tuple]:
    """(key text..., quantity, value) of the finite probabilistic columns of forecast rows."""
    from wq.batch.rows import _iso

    cols = [c for c in rows.columns if PROBABILISTIC.match(str(c))]
    if not cols or rows.empty:
        return []
    frame = rows.reset_index(drop=True)
    as_of = _iso(frame["as_of"], "as_of", "forecast rows").tolist()
    keys = list(zip(frame["pipeline"].astype(str), frame["model_version"].astype(str), as_of,
                    frame["target"].astype(str), frame["step"].astype(int)))
    out = []
    for col in cols:
        values = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
        out += [(*k, col, float(v)) for k, v in zip(keys, values) if v == v and abs(v) != float("inf")]
    return out


def _merge_probabilistic(conn: sqlite3.Connection, records: list[tuple]) -> None:
    """Attach the probabilistic values to the newest version of each forecast key (a version written
    before keeps the values it was issued with)."""
    conn.execute("CREATE TEMP TABLE pstage (pipeline TEXT, model_version TEXT, as_of TEXT, target TEXT, step INTEGER, "
                 "quantity TEXT, value REAL)")
    conn.executemany("INSERT INTO pstage VALUES (?, ?, ?, ?, ?, ?, ?)", records)
    conn.execute(
        "INSERT OR IGNORE INTO probabilistic SELECT p.pipeline, p.model_version, p.as_of, p.target, p.step, "
        f"(SELECT MAX(g.version) FROM forecasts g WHERE {_SAME_KEY.format(a='g', b='p')}), p.quantity, p.value "
        "FROM pstage p"
    )
    conn.execute("DROP TABLE pstage")


def _ensure_schema(conn: sqlite3.Connection, path: Path) -> None:
    """Inside a write transaction: create the tables of an empty database, or migrate schema 1 to 2 to 3
    (schema 3 adds the table ``probabilistic``; the forecasts stay as they are)."""
    version = _schema_version(conn, path)
    if version == 0:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute(_TABLE)
        conn.execute(_INDEX)
        conn.execute(_PROB_TABLE)
        conn.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        return
    if version == 1:
        # What was stored under schema 1 is the only value known for its key: it becomes version 1.
        conn.execute("DROP INDEX IF EXISTS forecasts_time")
        conn.execute("ALTER TABLE forecasts RENAME TO forecasts_schema1")
        conn.execute(_TABLE)
        conn.execute(
            f"INSERT INTO forecasts ({', '.join(COLUMNS)}) SELECT {', '.join(KEY)}, 1, time, value, issued_at, NULL "
            "FROM forecasts_schema1"
        )
        conn.execute("DROP TABLE forecasts_schema1")
        conn.execute(_INDEX)
        version = 2
    if version == 2:
        conn.execute(_PROB_TABLE)
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))
