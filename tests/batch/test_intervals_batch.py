"""Issue 13 item 4: `wq forecast` stores intervals and exceedance probabilities (store schema 3, migrated from
schema 2), prints warnings and alarms, exits 4 with --fail-on-alarm; `wq score` reports rolling coverage."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest

from wq.batch.probabilistic import rolling_coverage
from wq.batch.store import SCHEMA_VERSION, ForecastStore
from wq.cli import main
from wq.cli.batch import EXIT_ALARM
from wq.data.simulate import simulate_wetland

TOML = """
name = "prob-batch"
seed = 5
[data]
path = "{path}"
time = "date"
target = ["nh3n_out_mgl", "tp_out_mgl"]
drivers = ["air_temp_c", "inflow_m3d"]
freq = "D"
[split]
validation = 0.3
[model]
name = "mlr"
lags = 3
horizon = 2
[evaluate]
levels = [0.8, 0.95]
intervals = "{method}"
[limits]
nh3n_out_mgl = {{ above = {limit} }}
warn = 0.3
alarm = 0.6
"""

SCHEMA2 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('schema_version', '2');
CREATE TABLE forecasts (
    pipeline TEXT NOT NULL, model_version TEXT NOT NULL, as_of TEXT NOT NULL, target TEXT NOT NULL,
    step INTEGER NOT NULL CHECK (step >= 1), version INTEGER NOT NULL CHECK (version >= 1), time TEXT NOT NULL,
    value REAL NOT NULL, issued_at TEXT NOT NULL, data_sha256 TEXT,
    PRIMARY KEY (pipeline, model_version, as_of, target, step, version));
INSERT INTO forecasts VALUES ('old', 'v0', '2020-01-01T00:00:00', 'y', 1, 1, '2020-01-02T00:00:00', 3.5,
                              '2020-01-01T06:00:00', NULL);
"""


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("probbatch")
    sim = simulate_wetland(days=200, seed=8, missing=False)
    sim.to_csv(d / "w.csv", index=False)
    return d, sim


def test_schema2_store_opens_reads_and_migrates(tmp_path):
    path = tmp_path / "old.sqlite"
    con = sqlite3.connect(path)
    con.executescript(SCHEMA2)
    con.close()
    store = ForecastStore(path)
    assert store.schema_version() == 2 and store.read()["value"].tolist() == [3.5]
    assert store.read_probabilistic().empty  # no table yet: read as empty, nothing changed
    rows = pd.DataFrame({"pipeline": "new", "model_version": "v1", "as_of": ["2020-01-02"], "target": "y",
                         "step": 1, "time": ["2020-01-03"], "value": [4.0], "lower_80": [3.0], "upper_80": [5.0],
                         "p_limit": [0.25]})
    store.write(rows)
    assert store.schema_version() == SCHEMA_VERSION == 3
    assert sorted(store.read()["value"]) == [3.5, 4.0]
    prob = store.read_probabilistic()
    assert prob[["lower_80", "upper_80", "p_limit"]].iloc[0].tolist() == [3.0, 5.0, 0.25]
    assert store.integrity_check() == "ok"


def test_forecast_stores_intervals_prints_alarms_and_fails_on_alarm(data, tmp_path, capsys):
    d, sim = data
    low = float(sim["nh3n_out_mgl"].quantile(0.05))  # a limit the forecast crosses: an alarm for sure
    (d / "p.toml").write_text(TOML.format(path="w.csv", method="split", limit=low))
    art, store = tmp_path / "art", tmp_path / "s.sqlite"
    assert main(["train", str(d / "p.toml"), "--artifact", str(art), "--quiet"]) == 0
    code = main(["forecast", "--artifact", str(art), "--store", str(store), "--quiet", "--now", "2100-01-01",
                 "--max-staleness", "none", "--fail-on-alarm"])
    out = capsys.readouterr().out
    assert code == EXIT_ALARM == 4
    assert "ALARM: prob-batch nh3n_out_mgl step 1" in out and f"P(above {low:g})" in out
    prob = ForecastStore(store).read_probabilistic()
    assert len(prob) == 4  # 2 targets x 2 steps, written before the exit
    assert (prob["lower_95"] <= prob["lower_80"]).all() and (prob["upper_80"] <= prob["upper_95"]).all()
    assert prob.loc[prob["target"] == "nh3n_out_mgl", "p_limit"].ge(0.6).all()
    assert prob.loc[prob["target"] == "tp_out_mgl", "p_limit"].isna().all()
    # without the flag the same alarm is printed and the exit is 0
    assert main(["forecast", "--artifact", str(art), "--store", str(store), "--quiet", "--now", "2100-01-01",
                 "--max-staleness", "none"]) == 0


def _train_and_backfill(data, tmp_path, method, flag, dest):
    """Train the wetland pipeline with ``method`` intervals (limit never reached), backfill days 150-170 into the
    ``flag`` (``--store``/``--csv``) destination ``dest``; the artifact's folder."""
    d, sim = data
    (d / f"{method}.toml").write_text(TOML.format(path="w.csv", method=method, limit=99.0))
    art = tmp_path / "art"
    assert main(["train", str(d / f"{method}.toml"), "--artifact", str(art), "--quiet"]) == 0
    days = pd.to_datetime(sim["date"])
    assert main(["forecast", "--artifact", str(art), flag, str(dest), "--quiet", "--max-staleness", "none",
                 "--backfill", str(days.iloc[150].date()), str(days.iloc[170].date())]) == 0
    return art


def test_aci_backfill_then_score_reports_rolling_coverage(data, tmp_path, capsys):
    store = tmp_path / "s.sqlite"
    art = _train_and_backfill(data, tmp_path, "aci", "--store", store)
    capsys.readouterr()
    assert main(["score", "--store", str(store), "--artifact", str(art)]) == 0
    out = capsys.readouterr().out
    assert "Interval coverage over the last" in out


def test_rolling_coverage_flags_intervals_that_cover_too_little():
    times = pd.date_range("2021-01-01", periods=30, freq="D")
    rows = pd.DataFrame({"pipeline": "p", "model_version": "v", "target": "y", "step": 1, "time": times,
                         "value": 0.0, "lower_80": -1.0, "upper_80": 1.0})
    obs = pd.DataFrame({"y": np.r_[np.zeros(20), np.full(10, 5.0)]}, index=times)
    cov = rolling_coverage(rows, obs, window=10)
    assert cov["coverage"].iloc[0] == 0.0 and bool(cov["drift"].iloc[0])
    ok = rolling_coverage(rows, obs.iloc[:20].reindex(times).fillna(0.0), window=10)
    assert ok["coverage"].iloc[0] == 1.0 and not ok["drift"].iloc[0]


def test_csv_store_keeps_intervals_and_reads_an_old_points_only_file(data, tmp_path, capsys):
    from wq.batch.store import read_csv, write_csv

    csv = tmp_path / "f.csv"
    art = _train_and_backfill(data, tmp_path, "split", "--csv", csv)
    rows = read_csv(csv)
    assert {"lower_80", "upper_80", "lower_95", "upper_95", "p_limit"} <= set(rows.columns)
    assert rows["lower_80"].notna().all() and (rows["lower_95"] <= rows["value"]).all()
    assert rows.loc[rows["target"] == "tp_out_mgl", "p_limit"].isna().all()
    capsys.readouterr()
    assert main(["score", "--csv", str(csv), "--artifact", str(art)]) == 0
    assert "Interval coverage over the last" in capsys.readouterr().out
    # a points-only file (as wq wrote before) reads as before, then gains the columns; its rows keep none
    old = tmp_path / "old.csv"
    points = rows.drop(columns=[c for c in rows.columns if c.startswith(("lower_", "upper_", "p_"))])
    points.iloc[:4].to_csv(old, index=False, date_format="%Y-%m-%dT%H:%M:%S")
    assert "lower_80" not in read_csv(old).columns and len(read_csv(old)) == 4
    write_csv(rows.iloc[4:8].drop(columns="version"), old)
    both = read_csv(old)
    assert len(both) == 8 and both["lower_80"].isna().sum() == 4
    pd.testing.assert_series_equal(both["lower_80"].iloc[4:].reset_index(drop=True),
                                   rows["lower_80"].iloc[4:8].reset_index(drop=True))


def test_forecast_gives_cqr_intervals_of_an_hgb_artifact(data, tmp_path, capsys):
    from wq.batch.forecast import load_batch_model
    from wq.batch.store import read_csv
    from wq.evaluate.quantile import quantile_bounds

    d, sim = data
    toml = TOML.format(path="w.csv", method="cqr", limit=99.0).replace('name = "mlr"', 'name = "hgb"\nmax_iter = 30')
    (d / "q.toml").write_text(toml)
    art, csv = tmp_path / "art", tmp_path / "f.csv"
    assert main(["train", str(d / "q.toml"), "--artifact", str(art), "--quiet"]) == 0
    days = pd.to_datetime(sim["date"])
    assert main(["forecast", "--artifact", str(art), "--csv", str(csv), "--quiet", "--max-staleness", "none",
                 "--backfill", str(days.iloc[160].date()), str(days.iloc[163].date())]) == 0
    rows = read_csv(csv).sort_values(["as_of", "target", "step"]).reset_index(drop=True)
    bm = load_batch_model(art)
    cqr = bm.meta["conformal"]["cqr"]
    frame = sim.set_index(pd.to_datetime(sim["date"])).drop(columns="date").asfreq("D")
    positions = frame.index.get_indexer(pd.DatetimeIndex(rows["as_of"].unique()))
    want = quantile_bounds(bm.model, frame.iloc[:positions.max() + 1], positions, [0.8, 0.95])
    long = bm.model.to_long(frame, positions, np.zeros((len(positions), 2, 2)))
    for i, r in long.iterrows():
        got = rows[(rows["as_of"] == r["origin"]) & (rows["target"] == r["target"]) & (rows["step"] == r["step"])]
        shift = cqr[r["target"]][str(r["step"])]["0.8"]
        assert got["lower_80"].iloc[0] == pytest.approx(want["lower_80"][i] - shift)
        assert got["upper_80"].iloc[0] == pytest.approx(want["upper_80"][i] + shift)
    assert (rows["lower_80"] < rows["upper_80"]).all()
