"""Forecast store: exactly-once upserts, atomic failure, crash and concurrency safety."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import wq.batch.store as store_mod
from wq.batch.store import SCHEMA_VERSION, ForecastStore, WriteResult, read_csv, write_csv
from wq.errors import DataError

REPO = Path(__file__).resolve().parents[2]


def rows(as_of: str, values, pipeline: str = "p", version: str = "v1", target: str = "y") -> pd.DataFrame:
    origin = pd.Timestamp(as_of)
    steps = np.arange(1, len(values) + 1)
    return pd.DataFrame(
        {
            "pipeline": pipeline,
            "model_version": version,
            "as_of": origin,
            "target": target,
            "step": steps,
            "time": origin + pd.to_timedelta(steps, unit="D"),
            "value": np.asarray(values, dtype=float),
        }
    )


@pytest.fixture
def store(tmp_path: Path) -> ForecastStore:
    return ForecastStore(tmp_path / "forecasts.db")


def test_new_store_is_wal_with_schema_version(store: ForecastStore) -> None:
    con = sqlite3.connect(store.path)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
    finally:
        con.close()
    assert store.count() == 0


def test_same_rows_twice_change_nothing(store: ForecastStore) -> None:
    first = store.write(rows("2024-03-01", [1.0, 2.0, 3.0]), issued_at=pd.Timestamp("2024-03-01 06:00"))
    before = store.read()
    again = store.write(rows("2024-03-01", [1.0, 2.0, 3.0]), issued_at=pd.Timestamp("2024-03-02 06:00"))
    assert first == WriteResult(inserted=3, unchanged=0, revised=0)
    assert again == WriteResult(inserted=0, unchanged=3, revised=0)
    assert not again.changed
    pd.testing.assert_frame_equal(store.read(), before)  # issued_at kept too
    assert (before["issued_at"] == pd.Timestamp("2024-03-01 06:00")).all()


def test_another_day_appends(store: ForecastStore) -> None:
    store.write(rows("2024-03-01", [1.0, 2.0]))
    result = store.write(rows("2024-03-02", [5.0, 6.0]))
    assert result == WriteResult(2, 0, 0)
    got = store.read()
    assert len(got) == 4
    assert list(got["value"]) == [1.0, 2.0, 5.0, 6.0]
    assert list(got["time"]) == list(pd.to_datetime(["2024-03-02", "2024-03-03", "2024-03-03", "2024-03-04"]))
    assert list(store.as_ofs()) == list(pd.to_datetime(["2024-03-01", "2024-03-02"]))


def test_a_revision_is_stored_beside_what_was_issued(store: ForecastStore) -> None:
    store.write(rows("2024-03-01", [1.0, 2.0, 3.0]), issued_at=pd.Timestamp("2024-03-01"))
    issued = store.read()
    result = store.write(rows("2024-03-01", [1.0, 2.5, 3.0]), issued_at=pd.Timestamp("2024-03-05"))
    assert result == WriteResult(inserted=0, unchanged=2, revised=1)
    pd.testing.assert_frame_equal(store.read(), issued)  # the default read is what was issued first
    latest = store.read(versions="latest")
    assert list(latest["value"]) == [1.0, 2.5, 3.0] and list(latest["version"]) == [1, 2, 1]
    assert list(latest["issued_at"]) == list(pd.to_datetime(["2024-03-01", "2024-03-05", "2024-03-01"]))
    history = store.read(versions="all")
    assert list(zip(history["step"], history["version"], history["value"])) == [
        (1, 1, 1.0), (2, 1, 2.0), (2, 2, 2.5), (3, 1, 3.0)]
    # the same revision again adds nothing; a third value is version 3; the first value again is version 4
    assert store.write(rows("2024-03-01", [1.0, 2.5, 3.0])) == WriteResult(0, 3, 0)
    assert store.write(rows("2024-03-01", [1.0, 2.7, 3.0])) == WriteResult(0, 2, 1)
    assert store.write(rows("2024-03-01", [1.0, 2.0, 3.0])) == WriteResult(0, 2, 1)
    assert list(store.read(versions="all", target="y")["version"]) == [1, 1, 2, 3, 4, 1]
    assert store.count() == 6


def test_same_data_fingerprint_adds_no_version(store: ForecastStore) -> None:
    sha_a, sha_b = "a" * 64, "b" * 64
    assert store.write(rows("2024-03-01", [1.0, 2.0]).assign(data_sha256=sha_a)) == WriteResult(2, 0, 0)
    # same data, a value that differs in the last bits (other threads, other BLAS): still what was issued
    assert store.write(rows("2024-03-01", [1.0, 2.0 + 1e-12]).assign(data_sha256=sha_a)) == WriteResult(0, 2, 0)
    # revised data, the same values: nothing new to say
    assert store.write(rows("2024-03-01", [1.0, 2.0]).assign(data_sha256=sha_b)) == WriteResult(0, 2, 0)
    # revised data, a different value: a new version that records its data
    assert store.write(rows("2024-03-01", [1.0, 3.0]).assign(data_sha256=sha_b)) == WriteResult(0, 1, 1)
    history = store.read(versions="all")
    assert list(history["data_sha256"]) == [sha_a, sha_a, sha_b]
    with pytest.raises(DataError, match="data_sha256"):
        store.write(rows("2024-03-02", [1.0]).assign(data_sha256="not hex"))


def test_on_conflict_error_refuses_and_writes_nothing(store: ForecastStore) -> None:
    store.write(rows("2024-03-01", [1.0, 2.0]))
    before = store.read()
    batch = pd.concat([rows("2024-03-01", [1.0, 9.0]), rows("2024-03-02", [4.0, 4.0])])
    with pytest.raises(DataError, match=r"2024-03-01T00:00:00.*value 2\.0.*9\.0"):
        store.write(batch, on_conflict="error")
    pd.testing.assert_frame_equal(store.read(), before)


@pytest.mark.parametrize(
    ("column", "bad", "match"),
    [
        ("value", np.nan, r"'value'.*row 4"),
        ("value", "abc", r"'value'.*row 4"),
        ("step", 0, r"'step'.*row 4"),
        ("step", 1.5, r"'step'.*row 4"),
        ("time", None, r"'time'.*row 4"),
        ("pipeline", "", r"'pipeline'.*row 4"),
    ],
)
def test_bad_row_named_and_nothing_written(store: ForecastStore, column: str, bad: object, match: str) -> None:
    store.write(rows("2024-03-01", [1.0, 2.0]))
    before = store.read()
    batch = rows("2024-03-02", [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).astype({column: object})
    batch.loc[4, column] = bad
    with pytest.raises(DataError, match=match):
        store.write(batch)
    pd.testing.assert_frame_equal(store.read(), before)


def test_missing_column_and_duplicate_key_refused(store: ForecastStore) -> None:
    with pytest.raises(DataError, match="missing column.*'value'"):
        store.write(rows("2024-03-01", [1.0]).drop(columns="value"))
    with pytest.raises(DataError, match="more than once"):
        store.write(pd.concat([rows("2024-03-01", [1.0]), rows("2024-03-01", [2.0])]))
    assert store.count() == 0


def test_failure_inside_the_transaction_rolls_back(store: ForecastStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.write(rows("2024-03-01", [1.0, 2.0, 3.0]))
    before = store.read()
    real_merge = store_mod._merge
    reached = []

    def merge_then_fail(conn, on_conflict):
        real_merge(conn, on_conflict)  # the upsert has run inside the transaction
        reached.append(conn.execute("SELECT COUNT(*) FROM forecasts").fetchone()[0])
        raise RuntimeError("injected failure after the upsert")

    monkeypatch.setattr(store_mod, "_merge", merge_then_fail)
    with pytest.raises(RuntimeError, match="injected"):
        store.write(pd.concat([rows("2024-03-01", [1.0, 7.0, 3.0]), rows("2024-03-02", [4.0, 5.0, 6.0])]))
    assert reached == [7]  # the failure came after rows (3 new, 1 revision) were written in the transaction
    pd.testing.assert_frame_equal(store.read(), before)
    monkeypatch.setattr(store_mod, "_merge", real_merge)
    assert store.write(rows("2024-03-02", [4.0])) == WriteResult(1, 0, 0)
    assert store.integrity_check() == "ok"


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    ForecastStore(path)
    con = sqlite3.connect(path)
    con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    con.commit()
    con.close()
    with pytest.raises(DataError, match=rf"schema version {SCHEMA_VERSION + 1} is newer.*upgrade wq"):
        ForecastStore(path)


def test_not_a_store_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DataError, match="junk.db"):
        ForecastStore(junk)
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE forecasts (a INTEGER)")
    con.commit()
    con.close()
    with pytest.raises(DataError, match="not a wq store"):
        ForecastStore(other)


def test_read_filters_and_latest(store: ForecastStore) -> None:
    store.write(rows("2024-03-01", [1.0, 2.0]))
    store.write(rows("2024-03-02", [3.0, 4.0]))
    store.write(rows("2024-03-02", [30.0, 40.0], version="v2"))
    store.write(rows("2024-03-03", [5.0, 6.0], target="z"))
    store.write(rows("2024-03-01", [7.0, 8.0], pipeline="q"))
    assert store.count() == 10
    assert list(store.read(pipeline="p", model_version="v1", target="y")["value"]) == [1.0, 2.0, 3.0, 4.0]
    assert list(store.read(pipeline="p", start="2024-03-02", end="2024-03-02")["value"]) == [3.0, 4.0, 30.0, 40.0]
    assert list(store.read(pipeline="p", target="y", start="2024-03-04", on="time")["value"]) == [4.0, 40.0]
    latest = store.latest()
    assert sorted(zip(latest["pipeline"], latest["target"], latest["value"])) == [
        ("p", "y", 3.0), ("p", "y", 4.0), ("p", "y", 30.0), ("p", "y", 40.0),
        ("p", "z", 5.0), ("p", "z", 6.0), ("q", "y", 7.0), ("q", "y", 8.0),
    ]  # fmt: skip
    assert list(store.latest(pipeline="p", model_version="v1", target="y")["value"]) == [3.0, 4.0]
    assert store.read().dtypes["step"] == np.int64


def test_tz_aware_times_are_stored_as_utc(store: ForecastStore) -> None:
    batch = rows("2024-03-01", [1.0])
    batch["as_of"] = pd.Timestamp("2024-03-01 01:00", tz="Europe/Amsterdam")
    batch["time"] = pd.Timestamp("2024-03-02 01:00", tz="Europe/Amsterdam")
    store.write(batch)
    got = store.read()
    assert got["as_of"].iloc[0] == pd.Timestamp("2024-03-01 00:00")
    assert got["time"].iloc[0] == pd.Timestamp("2024-03-02 00:00")


# --------------------------------------------------------------------------- other processes

_CHILD_KILL = r"""
import sys, time
import numpy as np, pandas as pd
import wq.batch.store as st
path, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
real = st._merge
def hold(conn, on_conflict):
    result = real(conn, on_conflict)
    print("merged", flush=True)
    time.sleep(60)
    return result
if mode == "hold":
    st._merge = hold
origin = pd.Timestamp("2024-06-01")
steps = np.arange(1, n + 1)
frame = pd.DataFrame({"pipeline": "big", "model_version": "v1", "as_of": origin, "target": "y",
                      "step": steps, "time": origin + pd.to_timedelta(steps, unit="h"),
                      "value": np.sqrt(steps.astype(float))})
s = st.ForecastStore(path)
print("writing", flush=True)
s.write(frame)
print("done", flush=True)
"""


def _child(args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def test_killed_writer_leaves_store_as_before(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    store = ForecastStore(path)
    store.write(rows("2024-03-01", [1.0, 2.0, 3.0]))
    before = store.read()
    child = _child([_CHILD_KILL, str(path), "30000", "hold"])
    try:
        assert child.stdout.readline().strip() == "writing", child.stderr.read()
        assert child.stdout.readline().strip() == "merged", child.stderr.read()
        # the upsert ran; uncommitted pages have spilled into the WAL file
        assert (tmp_path / "f.db-wal").stat().st_size > 500_000
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(10)
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    after = ForecastStore(path)
    pd.testing.assert_frame_equal(after.read(), before)
    assert after.integrity_check() == "ok"
    assert after.write(rows("2024-03-02", [1.0])) == WriteResult(1, 0, 0)


def test_writer_killed_at_an_arbitrary_moment_is_all_or_nothing(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    ForecastStore(path).write(rows("2024-03-01", [1.0, 2.0, 3.0]))
    n = 40000
    child = _child([_CHILD_KILL, str(path), str(n), "plain"])
    try:
        assert child.stdout.readline().strip() == "writing", child.stderr.read()
        time.sleep(0.15)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(10)
        child.stdout.close()
        child.stderr.close()
    store = ForecastStore(path)
    assert store.count() in (3, 3 + n)
    assert store.integrity_check() == "ok"


_CHILD_CONCURRENT = r"""
import json, os, sys, time
import numpy as np, pandas as pd
from wq.batch.store import ForecastStore
path, name, go, days = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.002)
store = ForecastStore(path)
totals = {"inserted": 0, "unchanged": 0, "revised": 0}
for day in range(days):
    origin = pd.Timestamp("2024-01-01") + pd.Timedelta(days=day)
    parts = []
    for pipeline in ("shared", name):
        for target in ("a", "b"):
            steps = np.arange(1, 4)
            parts.append(pd.DataFrame({"pipeline": pipeline, "model_version": "v1", "as_of": origin,
                "target": target, "step": steps, "time": origin + pd.to_timedelta(steps, unit="D"),
                "value": day + steps / 10.0 + (target == "b")}))
    result = store.write(pd.concat(parts, ignore_index=True))
    for key in totals:
        totals[key] += getattr(result, key)
print(json.dumps(totals), flush=True)
"""


def test_two_writers_at_once_no_duplicates_no_lost_rows(tmp_path: Path) -> None:
    path, go, days = tmp_path / "f.db", tmp_path / "go", 10
    children = [_child([_CHILD_CONCURRENT, str(path), name, str(go), str(days)]) for name in ("A", "B")]
    for child in children:  # each says "ready" once it has imported wq; a child that died says nothing
        assert child.stdout.readline().strip() == "ready", child.communicate()[1]
    go.touch()  # both open the (not yet existing) store and write at the same moment
    totals = []
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        totals.append(json.loads(out))
    per_pipeline_day = 2 * 3  # targets x steps
    store = ForecastStore(path)
    got = store.read()
    assert len(got) == 3 * days * per_pipeline_day  # shared + A + B
    assert not got.duplicated(subset=["pipeline", "model_version", "as_of", "target", "step"]).any()
    assert sorted(got["pipeline"].unique()) == ["A", "B", "shared"]
    assert got.groupby("pipeline").size().to_dict() == {p: days * per_pipeline_day for p in ("A", "B", "shared")}
    # every shared row was inserted by exactly one process and found unchanged by the other
    assert sum(t["inserted"] for t in totals) == len(got)
    assert sum(t["unchanged"] for t in totals) == days * per_pipeline_day
    assert sum(t["revised"] for t in totals) == 0
    assert store.integrity_check() == "ok"


# --------------------------------------------------------------------------- CSV


def test_csv_same_rows_twice_and_new_day(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    values = [0.1 + 0.2, 1 / 3, 2.0]  # need an exact float round trip
    assert write_csv(rows("2024-03-01", values), path) == WriteResult(3, 0, 0)
    content = path.read_bytes()
    assert write_csv(rows("2024-03-01", values), path) == WriteResult(0, 3, 0)
    assert path.read_bytes() == content
    assert write_csv(rows("2024-03-02", [5.0]), path) == WriteResult(1, 0, 0)
    assert write_csv(rows("2024-03-01", [0.1 + 0.2, 9.0]), path) == WriteResult(0, 1, 1)
    got = read_csv(path)
    assert list(got["value"]) == [0.1 + 0.2, 1 / 3, 2.0, 5.0]  # what was issued first
    assert list(read_csv(path, versions="latest")["value"]) == [0.1 + 0.2, 9.0, 2.0, 5.0]
    assert list(read_csv(path, versions="all")["version"]) == [1, 1, 2, 1, 1]
    assert list(got["as_of"]) == list(pd.to_datetime(["2024-03-01"] * 3 + ["2024-03-02"]))


def test_csv_failure_leaves_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "f.csv"
    write_csv(rows("2024-03-01", [1.0, 2.0]), path)
    content = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full (injected)")

    monkeypatch.setattr(store_mod.os, "replace", broken_replace)
    with pytest.raises(OSError, match="injected"):
        write_csv(rows("2024-03-02", [3.0]), path)
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.csv", "f.csv.lock"]  # no temp file left


def test_csv_with_foreign_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match=r"f\.csv.*missing column"):
        write_csv(rows("2024-03-01", [1.0]), path)
    assert path.read_text() == "a,b\n1,2\n"


def test_new_store_named_csv_is_refused(tmp_path: Path) -> None:
    # `--store x.csv` would silently write a SQLite file with a .csv name; the CSV store is --csv
    with pytest.raises(DataError, match="give --csv"):
        ForecastStore(tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()
