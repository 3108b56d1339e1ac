"""The forecast store as one CSV file: the same rows, versions and semantics as the SQLite store
(:mod:`wq.batch.store`), for readers that want a plain file.

Columns: :data:`~wq.batch.rows.COLUMNS`, then the forecasts' interval bounds and exceedance probability
(``lower_80, upper_80, ..., p_limit``, :data:`~wq.batch.rows.PROBABILISTIC`; empty where a row has none),
each version keeping the values it was issued with, as the SQLite store's table ``probabilistic`` does. A
file written by an older wq without ``version`` and ``data_sha256`` columns is read as version 1 of each
forecast with an unknown fingerprint, and gets the two columns on its next write; a file without the
probabilistic columns (points only, as wq wrote before) reads as before and gains them on the first write of
rows that have them.
"""

from __future__ import annotations

import contextlib
import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from wq.batch.artifact import _fsync_dir
from wq.batch.rows import (
    COLUMNS,
    KEY,
    ROW_COLUMNS,
    TEXT_COLUMNS,
    TIME_COLUMNS,
    PROBABILISTIC,
    OnConflict,
    Versions,
    WriteResult,
    check_on_conflict,
    normalise_rows,
    select_versions,
    to_frame,
)
from wq.errors import DataError

__all__ = ["read_csv", "write_csv", "check_csv_folder"]


def _prob_columns(columns) -> list[str]:
    """The probabilistic columns among ``columns``, in the order lower/upper by level, then ``p_limit``."""
    found = [str(c) for c in columns if PROBABILISTIC.match(str(c))]
    bounds = sorted((c for c in found if c != "p_limit"), key=lambda c: (float(c.split("_")[1]), c))
    return bounds + (["p_limit"] if "p_limit" in found else [])


def read_csv(path: str | os.PathLike[str], *, versions: Versions = "first") -> pd.DataFrame:
    """The rows of a forecast CSV written by :func:`write_csv`, typed as
    :meth:`~wq.batch.store.ForecastStore.read`, plus its probabilistic columns where the file has them;
    ``versions`` as there (default: what was issued first)."""
    text = _read_csv_text(Path(path))
    frame = to_frame(text)
    for col in _prob_columns(text.columns):
        frame[col] = text[col].to_numpy(dtype=np.float64)
    return select_versions(frame, versions)


def _read_csv_text(path: Path) -> pd.DataFrame:
    """A forecast CSV, validated, in the store's text form (:data:`~wq.batch.rows.COLUMNS`)."""
    try:
        raw = pd.read_csv(
            path,
            dtype={c: str for c in (*TEXT_COLUMNS, *TIME_COLUMNS, "data_sha256")},
            keep_default_na=False,
            float_precision="round_trip",
        )
    except FileNotFoundError:
        raise DataError(f"forecast CSV {path}: does not exist") from None
    except PermissionError as exc:
        raise DataError(f"forecast CSV {path}: cannot be read: {exc}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"forecast CSV {path}: cannot be read: {exc}") from None
    missing = [c for c in ROW_COLUMNS if c != "data_sha256" and c not in raw.columns]
    if missing:
        raise DataError(f"forecast CSV {path}: missing column(s) {', '.join(map(repr, missing))}")
    source = f"forecast CSV {path}"
    if "version" in raw.columns:
        version = pd.to_numeric(raw["version"], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(version) | (version != np.round(version)) | (version < 1)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(f"{source}: column 'version' must hold integers >= 1; row {row} does not")
    else:
        version = np.ones(len(raw))
    raw = raw.assign(_row=np.arange(len(raw)), version=version.astype(np.int64))
    prob = _prob_columns(raw.columns)
    # each version is validated as a batch of its own (a key appears once per version)
    parts = [normalise_rows(group.drop(columns="version"), source=source, keep=prob).assign(version=int(v))
             for v, group in raw.groupby("version", sort=True)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in [*COLUMNS, *prob]})
    return pd.concat(parts, ignore_index=True).loc[:, [*COLUMNS, *prob]].sort_values(
        [*KEY, "version"], kind="stable").reset_index(drop=True)


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


def _compare(new: pd.DataFrame, old: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per new row: (newest stored version or 0, unchanged?, revised?) against the newest stored version."""
    keys = list(KEY)
    newest = old.sort_values([*keys, "version"], kind="stable").drop_duplicates(keys, keep="last")
    merged = new.merge(newest, on=keys, how="left", suffixes=("", "_old"), indicator=True)
    exists = (merged["_merge"] == "both").to_numpy()
    same_value = (merged["value"].to_numpy() == merged["value_old"].to_numpy()) & (
        merged["time"].to_numpy() == merged["time_old"].to_numpy())
    sha = merged["data_sha256"].fillna("").astype(str).to_numpy()
    sha_old = merged["data_sha256_old"].fillna("").astype(str).to_numpy()
    same_data = (sha != "") & (sha == sha_old)
    unchanged = exists & (same_value | same_data)
    current = np.where(exists, merged["version"].fillna(0).to_numpy(), 0).astype(np.int64)
    return current, unchanged, exists & ~unchanged


def _open_like(path: Path, tmp: Path) -> int:
    """Create ``tmp`` for writing: with the mode of the existing ``path``, else as a normal ``open`` would
    (0666 less the umask)."""
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with contextlib.suppress(FileNotFoundError):
            os.fchmod(fd, stat.S_IMODE(os.stat(path).st_mode))
    except BaseException:
        os.close(fd)
        raise
    return fd


def check_csv_folder(path: Path) -> None:
    """The CSV store's folder must exist (:class:`~wq.errors.DataError` otherwise)."""
    if not path.parent.is_dir():
        raise DataError(f"forecast CSV {path}: folder {path.parent} does not exist")


def write_csv(
    rows: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    on_conflict: OnConflict = "version",
    issued_at: pd.Timestamp | None = None,
) -> WriteResult:
    """Merge forecast rows into a CSV file with the same semantics as
    :meth:`~wq.batch.store.ForecastStore.write` (new keys inserted, revisions stored as new versions).

    The existing file (if any) is read, merged, sorted, written to a temporary file in the same folder
    (with the old file's permissions; a new file gets the umask's, as a normal open would), flushed and
    fsynced, then moved over the old file with :func:`os.replace`: readers see the old or the new file,
    never a half one, and a failure leaves the old file. Writers on one machine are serialised by an
    advisory lock on ``<path>.lock``. Values are written with Python's shortest round-trip float repr,
    so re-reading compares exactly.
    """
    check_on_conflict(on_conflict)
    path = Path(path)
    check_csv_folder(path)
    new = normalise_rows(rows, issued_at=issued_at, keep=_prob_columns(rows.columns))
    with _file_lock(path):
        if path.exists():
            old = _read_csv_text(path)
        else:
            old = pd.DataFrame({c: pd.Series(dtype=object if c != "version" else np.int64) for c in COLUMNS})
        prob = _prob_columns([*old.columns, *new.columns])
        current, unchanged, revised = _compare(new, old)
        if revised.any() and on_conflict == "error":
            i = int(np.flatnonzero(revised)[0])
            key = tuple(new.loc[i, list(KEY)])
            was = old.loc[(old[list(KEY)] == pd.Series(key, index=list(KEY))).all(axis=1), "value"].iloc[-1]
            raise DataError(
                f"forecast CSV {path} already holds key {key} with value {was!r}; the new value is "
                f"{new.loc[i, 'value']!r} ({int(revised.sum())} such row(s); on_conflict='error', nothing written)"
            )
        result = WriteResult(inserted=int((current == 0).sum()), unchanged=int(unchanged.sum()),
                             revised=int(revised.sum()))
        if not result.changed and path.exists():
            return result
        added = new.loc[~unchanged].assign(version=current[~unchanged] + 1)
        out = pd.concat([old, added], ignore_index=True) if len(old) else added
        out = out.reindex(columns=[*COLUMNS, *prob])
        out = out.sort_values([*KEY, "version"], kind="stable")
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
        fd = _open_like(path, tmp)
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
