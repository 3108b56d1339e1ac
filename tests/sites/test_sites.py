"""Multi-site week-ahead runs (wq.sites): long and wide files, DST, choices on validation, per-site and block
metrics, no leakage, the same results in one process, on joblib workers and on a Dask LocalCluster."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wq.cli import main as wq_main
from wq.config import Pipeline
from wq.data.district import simulate_district
from wq.data.spec import DataSpec
from wq.sites import model as M
from wq.sites.data import load_sites
from wq.sites.run import fit_candidate, forecast_sites, run_sites, site_arrays

PIPELINE = """
name = "tiny-sites"
seed = 1
[data]
path = "{path}"
time = "time"
site = "site"
target = "demand_m3h"
drivers = ["temperature_c", "rain_mm"]
tz = "Europe/Amsterdam"
calendar = ["hour", "day_of_week", "holiday"]
holidays = ["NL", "2023-02-14"]
[split]
test = 0.25
validation = 0.3
[model]
name = "hgb"
horizon = 48
strategy = "auto"
pooling = "auto"
rows = 600
max_iter = 15
max_leaf_nodes = 7
[compare]
models = ["weekly-naive", "weekly-mean4"]
"""


@pytest.fixture(scope="module")
def long_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sites")
    sim = simulate_district(sites=3, days=49, seed=5, tz="Europe/Amsterdam", start="2023-01-02")
    sim.to_csv(folder / "d.csv", index=False)
    (folder / "p.toml").write_text(PIPELINE.format(path=folder / "d.csv"))
    return folder


@pytest.fixture(scope="module")
def serial(long_file):
    return run_sites(Pipeline.load(long_file / "p.toml"), out_dir=long_file / "serial")


def test_run_writes_per_site_block_metrics_and_choices(serial, long_file):
    m = serial.metrics
    assert set(m["site"]) == {"DMA001", "DMA002", "DMA003", "all sites"}
    assert set(m["block"]) == {"1-24", "25-48"}
    assert set(m["model"]) == {"hgb", "weekly-naive", "weekly-mean4"}
    assert np.isfinite(m["MAE"]).all() and (m["maxAE"] >= m["MAE"]).all()
    summary = m[(m["site"] == "all sites") & (m["model"] == "hgb") & (m["block"] == "1-24")].iloc[0]
    per = m[(m["site"] != "all sites") & (m["model"] == "hgb") & (m["block"] == "1-24")]
    assert summary["MAE"] == pytest.approx(per["MAE"].mean()) and summary["maxAE"] == per["maxAE"].max()
    assert len(serial.choices) == 4 and serial.choices["chosen"].sum() == 1
    assert serial.choices.iloc[0]["validation_MAE_scaled"] == serial.choices["validation_MAE_scaled"].min()
    for name in ("metrics.csv", "steps.csv", "choices.csv", "predictions.csv", "report.md", "lead_time.png"):
        assert (long_file / "serial" / name).exists()
    assert "Summary across sites" in (long_file / "serial" / "report.md").read_text()


def test_same_results_in_process_on_joblib_and_dask(long_file):
    """Per-site fits and forecasts: one process, two joblib workers (threading backend here, to keep the test
    fast; the benchmark uses worker processes) and a Dask LocalCluster give identical forecasts."""
    import joblib

    distributed = pytest.importorskip("dask.distributed")
    data = load_sites(Pipeline.load(long_file / "p.toml").data_spec())
    arrays = site_arrays(data, 700, 48, "NL")
    st = M.HGBSettings(horizon=48, max_iter=10, rows=500, seed=3)
    origins = np.array([800, 824, 848])

    def both(pooling, **kw):
        models = fit_candidate(arrays, 750, "direct", pooling, st, **kw)
        return np.stack(forecast_sites(models, arrays, origins, "direct", pooling, st, **kw))

    serial = {p: both(p) for p in ("local", "global")}
    with joblib.parallel_backend("threading", n_jobs=2):
        threads = {p: both(p, jobs=2) for p in ("local", "global")}
    with distributed.LocalCluster(n_workers=2, processes=False, threads_per_worker=1, dashboard_address=None) as c, \
            distributed.Client(c) as client:
        dask = {p: both(p, scheduler=client) for p in ("local", "global")}
    for p in ("local", "global"):
        assert np.isfinite(serial[p]).all()
        np.testing.assert_array_equal(serial[p], threads[p])
        np.testing.assert_array_equal(serial[p], dask[p])
    assert not np.array_equal(serial["local"], serial["global"])


@pytest.mark.parametrize("strategy", ["direct", "recursive"])
def test_forecast_does_not_read_after_the_origin(long_file, strategy):
    data = load_sites(Pipeline.load(long_file / "p.toml").data_spec())
    st = M.HGBSettings(horizon=48, max_iter=10, rows=500)
    arrays = site_arrays(data, 700, 48, "NL")
    sa = arrays[0]
    X, y = M.training_rows(sa, 700, strategy, st, site=False)
    model = M.fit_regressor(X, y, st)
    origins = np.array([800, 850])
    before = M.forecast(model, sa, origins, strategy, st, site=False)
    sa.y[851:] = 1e6  # everything after the last origin changes
    sa.y[801:820] = -1e6
    after = M.forecast(model, sa, origins[:1], strategy, st, site=False)
    np.testing.assert_array_equal(before[:1], after)


def test_wide_file_with_shared_drivers_and_dst(tmp_path):
    # naive local wall times crossing the fall-back hour (02:00 twice) and the spring-forward hour (missing)
    t = ["2023-03-26 01:00", "2023-03-26 03:00", "2023-10-29 01:00", "2023-10-29 02:00", "2023-10-29 02:00",
         "2023-10-29 03:00"]
    frame = pd.DataFrame({"time": t, "a": [1.0, 2, 3, 4, 5, 6], "b": [10.0, 20, 30, 40, 50, 60],
                          "temp": [0.5] * 6})
    frame.to_csv(tmp_path / "w.csv", index=False)
    spec = DataSpec.from_mapping({"path": tmp_path / "w.csv", "time": "time", "sites": ["a", "b"],
                                  "drivers": ["temp"], "tz": "Europe/Amsterdam", "freq": "h"})
    data = load_sites(spec)
    # 01:00 CET = 00:00 UTC; 03:00 CEST = 01:00 UTC: the spring-forward day has no gap in UTC
    assert data.y.loc["2023-03-26 00:00", "a"] == 1 and data.y.loc["2023-03-26 01:00", "a"] == 2
    # fall back: the first 02:00 is summer time (00:00 UTC), the second winter time (01:00 UTC)
    assert list(data.y.loc["2023-10-28 23:00":"2023-10-29 02:00", "a"]) == [3, 4, 5, 6]
    assert list(data.drivers["temp"].columns) == ["a", "b"] and data.drivers["temp"]["b"].dropna().eq(0.5).all()


def test_cli_runs_sites_and_rejects_unsupported_model(long_file, capsys):
    code = wq_main(["run", str(long_file / "p.toml"), "--out", str(long_file / "cli"), "--models",
                    "weekly-naive,persistence", "--quiet"])
    assert code == 0 and (long_file / "cli" / "metrics.csv").exists()
    code = wq_main(["run", str(long_file / "p.toml"), "--out", str(long_file / "bad"), "--models", "lstm"])
    assert code == 2 and "multi-site run" in capsys.readouterr().err
    assert not (long_file / "bad").exists()


def test_all_sites_written_in_one_store_transaction(tmp_path):
    from wq.batch.store import ForecastStore
    from wq.sites.store import store_rows, write_site_forecasts

    fc = {f"s{i}": np.arange(168, dtype=float) + i for i in range(5)}
    rows = store_rows("districts", "v1", "demand", pd.Timestamp("2024-01-01 23:00"), "h", fc)
    result = write_site_forecasts(tmp_path / "f.sqlite", rows)
    stored = ForecastStore(tmp_path / "f.sqlite").read()
    assert len(stored) == 5 * 168 and stored["target"].nunique() == 5
    assert result is not None
    from wq.errors import DataError

    bad = rows.astype({"value": object})
    bad.loc[len(bad) - 1, "value"] = "x"  # one bad row: nothing of the run is written
    with pytest.raises(DataError):
        write_site_forecasts(tmp_path / "g.sqlite", bad.assign(model_version="v2"))
    assert len(ForecastStore(tmp_path / "g.sqlite").read()) == 0


def test_a_wide_file_without_target_is_told_what_target_means_there(tmp_path, capsys):
    """A wide multi-site pipeline without ``target`` exits 2 and says that target names the quantity."""
    (tmp_path / "p.toml").write_text('[data]\npath = "x.csv"\ntime = "time"\nsites = ["a", "b"]\n')
    assert wq_main(["run", str(tmp_path / "p.toml")]) == 2
    err = capsys.readouterr().err
    assert "target is missing" in err and "<target>@<site>" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("content, message", [
    ("", "is empty"),
    ("time,site,v\n", "fewer than two distinct times"),
    ("time,site,v\n2024-01-01 00:00,a,1\n2024-01-01 01:00,a,2,9\n", "cannot be parsed"),
    ("time,site,v\n2024-01-01 00:00,a,1\n2024-01-01 01:00,a,n/a?\n", "column 'v': 1 non-numeric value(s), "
                                                                      "the first 'n/a?' in data row 2"),
])
def test_unreadable_long_file_is_a_data_error(tmp_path, content, message):
    # an empty file, a ragged line or a non-numeric value: one line naming the file, not an unexpected error
    from wq.errors import DataError

    (tmp_path / "l.csv").write_text(content)
    spec = DataSpec.from_mapping({"path": tmp_path / "l.csv", "time": "time", "site": "site", "target": "v"})
    with pytest.raises(DataError, match="l.csv") as info:
        load_sites(spec)
    assert message in str(info.value)
    spec = DataSpec.from_mapping({"path": tmp_path, "time": "time", "site": "site", "target": "v"})
    with pytest.raises(DataError, match="is a folder"):
        load_sites(spec)


def test_many_site_names_say_how_many_more():
    from wq.sites.forecast import _names

    assert _names(["a", "b"]) == "'a', 'b'"
    assert _names([f"s{i}" for i in range(7)]) == "'s0', 's1', 's2', 's3', 's4' and 2 more"
