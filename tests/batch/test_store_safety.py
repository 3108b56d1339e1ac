"""The forecast store in an operator's hands: a foreign file is left exactly as it is, a read-only copy can be
read, the CSV store keeps its permissions, a store of schema 1 is migrated (old rows become version 1), and
two processes migrating at once lose nothing."""

from __future__ import annotations

import io
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wq.batch.store import SCHEMA_VERSION, ForecastStore, WriteResult, read_csv, write_csv
from wq.cli import main
from wq.errors import DataError

REPO = Path(__file__).resolve().parents[2]

SCHEMA_1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE forecasts (
    pipeline TEXT NOT NULL, model_version TEXT NOT NULL, as_of TEXT NOT NULL, target TEXT NOT NULL,
    step INTEGER NOT NULL CHECK (step >= 1), time TEXT NOT NULL, value REAL NOT NULL, issued_at TEXT NOT NULL,
    PRIMARY KEY (pipeline, model_version, as_of, target, step));
CREATE INDEX forecasts_time ON forecasts (pipeline, target, time);
INSERT INTO meta VALUES ('schema_version', '1');
"""


def rows(as_of: str, values, pipeline: str = "p", target: str = "y") -> pd.DataFrame:
    origin = pd.Timestamp(as_of)
    steps = np.arange(1, len(values) + 1)
    return pd.DataFrame({"pipeline": pipeline, "model_version": "v1", "as_of": origin, "target": target,
                         "step": steps, "time": origin + pd.to_timedelta(steps, unit="D"),
                         "value": np.asarray(values, dtype=float)})


def schema_1_store(path: Path, days: int = 3) -> None:
    """A store as wq wrote it before versions (schema 1, WAL mode), with 2 steps per day."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode = WAL")
    con.executescript(SCHEMA_1)
    for day in range(days):
        origin = pd.Timestamp("2024-01-01") + pd.Timedelta(days=day)
        for step in (1, 2):
            con.execute("INSERT INTO forecasts VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        ("p", "v1", origin.isoformat(), "y", step, (origin + pd.Timedelta(days=step)).isoformat(),
                         float(day * 10 + step), "2024-01-01T06:00:00"))
    con.commit()
    con.close()


# ---------------------------------------------------------------------------------------------- foreign file


def test_foreign_sqlite_file_is_refused_and_left_exactly_as_it_was(tmp_path) -> None:
    foreign = tmp_path / "app.db"
    con = sqlite3.connect(foreign)  # an ordinary (rollback-journal) database of another program
    con.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    con.execute("INSERT INTO users VALUES (1, 'ann')")
    con.commit()
    con.close()
    before = foreign.read_bytes()
    with pytest.raises(DataError, match=r"app\.db: a SQLite database with table\(s\) users .*not a wq store"):
        ForecastStore(foreign)
    with pytest.raises(DataError, match="not a wq store"):
        ForecastStore(tmp_path / "app.db", create=True).write(rows("2024-01-01", [1.0]))
    assert foreign.read_bytes() == before  # not switched to WAL, no table added
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.db"]  # no -wal, -shm or -journal file
    text = tmp_path / "notes.db"
    text.write_text("not a database at all\n" * 10)
    with pytest.raises(DataError, match=r"notes\.db: is not a SQLite database"):
        ForecastStore(text)
    assert text.read_text() == "not a database at all\n" * 10


# ---------------------------------------------------------------------------------------------- read-only copy


@contextmanager
def read_only(folder: Path):
    """Make ``folder`` and its files read-only (0555 / 0444); as root, where permission bits do not stop
    writes, also immutable (``chattr +i``). Skips when writes cannot be stopped here."""
    files = [p for p in folder.iterdir() if p.is_file()]
    for p in files:
        p.chmod(0o444)
    folder.chmod(0o555)
    immutable = []
    try:
        if os.geteuid() == 0:
            for p in [*files, folder]:
                done = shutil.which("chattr") and subprocess.run(["chattr", "+i", str(p)], capture_output=True)
                if done and done.returncode == 0:
                    immutable.append(p)
        try:
            (folder / "probe").touch()
        except OSError:
            pass
        else:
            (folder / "probe").unlink()
            pytest.skip("cannot make a folder read-only here")
        yield
    finally:
        for p in immutable:
            subprocess.run(["chattr", "-i", str(p)], capture_output=True)
        folder.chmod(0o755)
        for p in files:
            p.chmod(0o644)


def test_a_read_only_copy_of_a_store_can_be_scored(tmp_path, capsys) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    db = ro / "f.sqlite"
    store = ForecastStore(db)
    store.write(pd.concat([rows(f"2024-01-{d:02d}", [10.0 + d, 11.0 + d]) for d in range(1, 8)]))
    store.write(rows("2024-01-03", [99.0, 99.0]))  # a revision, so that --version latest differs
    obs = tmp_path / "obs.csv"
    pd.DataFrame({"date": pd.date_range("2024-01-01", periods=10), "y": np.arange(10, 20.0)}).to_csv(obs, index=False)
    assert sorted(p.name for p in ro.iterdir()) == ["f.sqlite"]  # closed cleanly: no -wal/-shm beside it
    before = db.read_bytes()
    with read_only(ro):
        capsys.readouterr()
        assert main(["score", "--store", str(db), "--data", str(obs), "--time", "date"]) == 0
        first = capsys.readouterr().out
        assert main(["score", "--store", str(db), "--data", str(obs), "--time", "date", "--version", "latest"]) == 0
        latest = capsys.readouterr().out
        assert "scored forecasts: 14" in first and first != latest
        assert main(["forecast-history", "--store", str(db), "--revised"]) == 0
        history = pd.read_csv(io.StringIO(capsys.readouterr().out))
        assert list(history["version"]) == [1, 2, 1, 2]
        assert len(ForecastStore(db, create=False).read()) == 14
    assert db.read_bytes() == before


# ---------------------------------------------------------------------------------------------- CSV mode


def test_csv_store_keeps_its_mode_and_a_new_file_follows_the_umask(tmp_path) -> None:
    shared = tmp_path / "shared.csv"
    write_csv(rows("2024-01-01", [1.0]), shared)
    shared.chmod(0o664)  # readable by the team
    write_csv(rows("2024-01-02", [2.0]), shared)
    write_csv(rows("2024-01-02", [3.0]), shared)  # a revision: the file is rewritten again
    assert stat.S_IMODE(shared.stat().st_mode) == 0o664
    old = os.umask(0o027)
    try:
        fresh = tmp_path / "fresh.csv"
        write_csv(rows("2024-01-01", [1.0]), fresh)
    finally:
        os.umask(old)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o640  # 0666 less the umask, as a plain open gives


def test_csv_of_an_older_wq_is_read_as_version_1(tmp_path) -> None:
    path = tmp_path / "old.csv"
    frame = rows("2024-01-01", [1.0, 2.0]).assign(issued_at="2024-01-01T06:00:00")
    frame["as_of"] = frame["as_of"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    frame["time"] = frame["time"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    frame.to_csv(path, index=False)  # the columns of schema 1: no version, no data_sha256
    got = read_csv(path)
    assert list(got["version"]) == [1, 1] and got["data_sha256"].isna().all()
    assert write_csv(rows("2024-01-01", [1.0, 5.0]), path) == WriteResult(0, 1, 1)
    assert list(read_csv(path, versions="all")["version"]) == [1, 1, 2]
    assert list(read_csv(path)["value"]) == [1.0, 2.0]


# ---------------------------------------------------------------------------------------------- migration


def test_schema_1_store_is_read_as_it_is_and_migrated_by_the_first_write(tmp_path) -> None:
    db = tmp_path / "old.sqlite"
    schema_1_store(db)
    store = ForecastStore(db)
    assert store.schema_version() == 1  # opening and reading change nothing
    old = store.read()
    assert len(old) == 6 and (old["version"] == 1).all() and old["data_sha256"].isna().all()
    assert store.count() == 6 and len(store.as_ofs()) == 3
    result = store.write(pd.concat([rows("2024-01-01", [1.0, 2.0]), rows("2024-01-02", [11.0, 99.0]),
                                    rows("2024-01-04", [31.0, 32.0])]))
    assert result == WriteResult(inserted=2, unchanged=3, revised=1)
    assert store.schema_version() == SCHEMA_VERSION
    con = sqlite3.connect(db)
    try:
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
        assert [r[1] for r in con.execute("PRAGMA index_list(forecasts)") if r[1] == "forecasts_time"]
    finally:
        con.close()
    pd.testing.assert_frame_equal(store.read(end="2024-01-03"), old)  # what was issued stays, as version 1
    assert list(store.read(versions="all", start="2024-01-02", end="2024-01-02")["value"]) == [11.0, 12.0, 99.0]
    assert store.integrity_check() == "ok"


_MIGRATE_CHILD = r"""
import os, sys, time
import numpy as np, pandas as pd
from wq.batch.store import ForecastStore
path, name, go = sys.argv[1], sys.argv[2], sys.argv[3]
open(go + "-ready-" + name, "w").close()
while not os.path.exists(go):
    time.sleep(0.002)
origin = pd.Timestamp("2024-01-05")
steps = np.arange(1, 3)
frame = pd.DataFrame({"pipeline": name, "model_version": "v1", "as_of": origin, "target": "y", "step": steps,
                      "time": origin + pd.to_timedelta(steps, unit="D"), "value": steps * 1.0})
print(ForecastStore(path).write(frame).inserted, flush=True)
"""


def test_two_processes_migrating_at_once_lose_nothing(tmp_path) -> None:
    db, go = tmp_path / "old.sqlite", tmp_path / "go"
    schema_1_store(db)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    children = [subprocess.Popen([sys.executable, "-c", _MIGRATE_CHILD, str(db), name, str(go)], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name in ("A", "B")]
    deadline = time.monotonic() + 600  # a guard against a hang, not a speed check: children import torch
    while not all(Path(f"{go}-ready-{n}").exists() for n in ("A", "B")):
        if time.monotonic() > deadline or any(c.poll() is not None for c in children):
            pytest.fail("a child process died or never got ready: " + " | ".join(c.stderr.read() for c in children
                                                                                 if c.poll() is not None))
        time.sleep(0.01)
    go.touch()
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0 and out.strip() == "2", err
    store = ForecastStore(db)
    got = store.read(versions="all")
    assert store.schema_version() == SCHEMA_VERSION and len(got) == 6 + 4
    assert sorted(got["pipeline"].unique()) == ["A", "B", "p"] and (got["version"] == 1).all()
    assert store.integrity_check() == "ok"


def test_a_writer_told_locked_at_once_waits_for_the_lock_instead_of_failing(tmp_path, monkeypatch) -> None:
    """SQLite answers "database is locked" without calling its busy handler where waiting could deadlock (two
    first writers switching a new file to WAL at once): the store retries until its timeout, then fails."""
    import wq.batch.store as store_mod

    real_connect = store_mod.sqlite3.connect
    refusals = {"n": 2}

    class Flaky:
        def __init__(self, conn):
            self._conn = conn

        def execute(self, sql, *args):
            if sql in ("BEGIN IMMEDIATE", "PRAGMA journal_mode = WAL") and refusals["n"] > 0:
                refusals["n"] -= 1
                raise sqlite3.OperationalError("database is locked")
            return self._conn.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(self._conn, name)

    monkeypatch.setattr(store_mod.sqlite3, "connect", lambda *a, **k: Flaky(real_connect(*a, **k)))
    store = ForecastStore(tmp_path / "f.db")
    assert store.write(rows("2024-03-01", [1.0, 2.0, 3.0])).inserted == 3 and refusals["n"] == 0
    refusals["n"] = 10**6  # never free: the store gives up after its timeout with the one-line message
    short = ForecastStore(tmp_path / "f.db", timeout=0.3)
    with pytest.raises(DataError, match="still locked by another writer"):
        short.write(rows("2024-03-02", [1.0, 2.0, 3.0]))
