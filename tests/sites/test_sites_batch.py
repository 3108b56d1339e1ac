"""`wq train` / `wq forecast` for multi-site pipelines (wq.sites.artifact, wq.sites.forecast): the artifact's
forecasts equal the in-memory model's, read nothing after the origin, go to the store in one transaction (read
per site by `wq score`), and bad input exits 2 with nothing written."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest

from wq.batch.store import ForecastStore
from wq.cli import main as wq_main
from wq.config import Pipeline
from wq.errors import DataError
from wq.sites.artifact import load_sites_model, train_sites
from wq.sites.forecast import forecast_rows, load_fresh
from wq.sites.run import forecast_sites

PIPELINE = """
name = "mini-districts"
seed = 2
[data]
path = "{path}"
time = "time"
site = "site"
target = "demand_m3h"
drivers = ["temperature_c", "rain_mm"]
tz = "Europe/Amsterdam"
calendar = ["hour", "day_of_week", "holiday"]
holidays = "NL"
[split]
validation = 0.3
[evaluate]
levels = [0.8]
[model]
name = "hgb"
horizon = 48
strategy = "{strategy}"
pooling = "{pooling}"
rows = 500
max_iter = 10
max_leaf_nodes = 7
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("sites-batch")
    data = root / "d.csv"
    assert wq_main(["data", "simulate", "--kind", "district", "--sites", "3", "--days", "42", "--seed", "3",
                    "--tz", "Europe/Amsterdam", "--out", str(data)]) == 0
    out = {"root": root, "data": data}
    for strategy, pooling in (("direct", "global"), ("recursive", "local")):
        toml = root / f"{pooling}.toml"
        toml.write_text(PIPELINE.format(path=data.as_posix(), strategy=strategy, pooling=pooling))
        out[pooling] = train_sites(Pipeline.load(toml), root / pooling)
    return out


def _now(path, after: str = "90min") -> str:
    """A scheduled run's 'now' shortly after the last hour of the file at ``path`` (UTC)."""
    last = pd.to_datetime(pd.read_csv(path)["time"], utc=True).max()
    return str((last + pd.Timedelta(after)).tz_localize(None))


@pytest.mark.parametrize("pooling", ["global", "local"])
def test_round_trip_equals_the_in_memory_model(trained, pooling, capsys):
    res = trained[pooling]
    db = trained["root"] / f"{pooling}.sqlite"
    assert wq_main(["forecast", "--artifact", str(res.path), "--data", str(trained["data"]), "--store", str(db),
                    "--now", _now(trained["data"]), "--quiet"]) == 0
    line = capsys.readouterr().out.strip()
    assert "3 sites" in line and "144 rows" in line and "144 inserted" in line and "\n" not in line
    rows = ForecastStore(db).read()
    assert len(rows) == 3 * 48 and rows["as_of"].nunique() == 1
    T = len(res.data.y)
    want = forecast_sites(res.models, res.arrays, np.array([T - 1]), res.meta["strategy"], res.meta["pooling"],
                          load_sites_model(res.path).settings)
    for sa, p in zip(res.arrays, want):
        got = rows[rows["target"] == f"demand_m3h@{sa.name}"].sort_values("step")["value"].to_numpy()
        np.testing.assert_allclose(got, p[0], rtol=1e-12, atol=1e-9)
    prob = ForecastStore(db).read_probabilistic()
    assert len(prob) == 3 * 48 and (prob["lower_80"] < prob["upper_80"]).all()
    # a second run on the same data leaves the store as it is
    assert wq_main(["forecast", "--artifact", str(res.path), "--data", str(trained["data"]), "--store", str(db),
                    "--now", _now(trained["data"]), "--quiet"]) == 0
    assert "144 unchanged" in capsys.readouterr().out


@pytest.mark.parametrize("pooling", ["global", "local"])
def test_forecast_does_not_read_after_the_origin(trained, pooling, tmp_path):
    sm = load_sites_model(trained[pooling].path)
    raw = pd.read_csv(trained["data"])
    times = sorted(raw["time"].unique())
    as_of = times[-100]
    changed = raw.copy()
    after = changed["time"] > as_of
    changed.loc[after, "demand_m3h"] *= 3.0
    changed.loc[after, "temperature_c"] += 10.0
    path = tmp_path / "changed.csv"
    changed.to_csv(path, index=False)
    origin = pd.Timestamp(as_of).tz_convert("UTC").tz_localize(None)
    a = forecast_rows(sm, load_fresh(sm, trained["data"]), origin)
    b = forecast_rows(sm, load_fresh(sm, path), origin)
    assert (a["as_of"] == origin).all()
    pd.testing.assert_frame_equal(a, b)
    c = forecast_rows(sm, load_fresh(sm, path))  # from the last time: the changed data are read
    assert not np.allclose(c["value"].to_numpy(), a["value"].to_numpy())


def test_all_sites_in_one_transaction(trained, tmp_path):
    sm = load_sites_model(trained["global"].path)
    rows = forecast_rows(sm, load_fresh(sm, trained["data"]))
    db = tmp_path / "f.sqlite"
    store = ForecastStore(db)
    assert store.write(rows.iloc[:10]).inserted == 10
    bad = rows.copy()
    bad.loc[bad.index[-1], "value"] = np.inf  # one bad row of the last site
    with pytest.raises(DataError):
        store.write(bad)
    assert store.count() == 10
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM probabilistic").fetchone()[0] == 20  # lower_80 and upper_80


def test_score_reads_the_rows_per_site(trained, tmp_path, capsys):
    res = trained["global"]
    db = tmp_path / "f.sqlite"
    times = sorted(pd.read_csv(trained["data"])["time"].unique())
    origin = str(pd.Timestamp(times[-60]).tz_convert("UTC").tz_localize(None))
    assert wq_main(["forecast", "--artifact", str(res.path), "--data", str(trained["data"]), "--store", str(db),
                    "--as-of", origin, "--quiet"]) == 0
    capsys.readouterr()
    assert wq_main(["score", "--store", str(db), "--artifact", str(res.path), "--data", str(trained["data"]),
                    "--out", str(tmp_path / "score")]) == 0
    by_step = pd.read_csv(tmp_path / "score" / "by_step.csv")
    assert set(by_step["target"]) == {f"demand_m3h@{s}" for s in res.data.sites}
    assert (by_step["n"] == 1).all() and len(by_step) == 3 * 48  # the 48 steps fit inside the 59 observed hours


def _edit(trained, tmp_path, how):
    raw = pd.read_csv(trained["data"])
    path = tmp_path / "fresh.csv"
    how(raw).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("case, expected", [
    ("missing_site", "no data for site(s) 'DMA002'"),
    ("unknown_site", "site(s) 'DMA999' unknown to artifact"),
    ("missing_column", "missing column(s) ['rain_mm']"),
    ("short_history", "site 'DMA003' has"),
])
def test_bad_fresh_data_exit_2_and_write_nothing(trained, tmp_path, capsys, case, expected):
    def edit(raw):
        if case == "missing_site":
            return raw[raw["site"] != "DMA002"]
        if case == "unknown_site":
            extra = raw[raw["site"] == "DMA001"].assign(site="DMA999")
            return pd.concat([raw, extra])
        if case == "missing_column":
            return raw.drop(columns="rain_mm")
        times = sorted(raw["time"].unique())
        return raw[(raw["site"] != "DMA003") | (raw["time"] >= times[-100])]

    path = _edit(trained, tmp_path, edit)
    db = tmp_path / "f.sqlite"
    code = wq_main(["forecast", "--artifact", str(trained["local"].path), "--data", str(path), "--store", str(db)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and expected in err and "\n" not in err, err
    assert str(path) in err or case == "missing_site" and "fresh.csv" in err
    assert not db.exists()


def test_a_site_in_an_outage_at_the_origin_is_skipped_with_a_warning(trained, tmp_path, capsys):
    def edit(raw):
        times = sorted(raw["time"].unique())
        return raw[(raw["site"] != "DMA002") | (raw["time"] < times[-30])]  # DMA002 silent for 30 hours

    path = _edit(trained, tmp_path, edit)
    db = tmp_path / "f.sqlite"
    assert wq_main(["forecast", "--artifact", str(trained["global"].path), "--data", str(path), "--store", str(db),
                    "--now", _now(path), "--quiet"]) == 0
    cap = capsys.readouterr()
    assert "site 'DMA002': no observation in the 24 hours before the origin" in cap.err and "skipped" in cap.err
    assert "2 sites" in cap.out and "1 skipped (outage)" in cap.out
    assert set(ForecastStore(db).read()["target"]) == {"demand_m3h@DMA001", "demand_m3h@DMA003"}
    # the others' forecasts are those of a run with every site
    sm = load_sites_model(trained["global"].path)
    full = forecast_rows(sm, load_fresh(sm, trained["data"]), ForecastStore(db).read()["as_of"].iloc[0])
    got = ForecastStore(db).read().sort_values(["target", "step"])["value"].to_numpy()
    want = full[full["target"] != "demand_m3h@DMA002"].sort_values(["target", "step"])["value"].to_numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_interval_half_widths_are_split_conformal_quantiles_over_neighbouring_leads():
    from wq.sites.artifact import conformal_quantiles

    errors = np.tile(np.arange(1.0, 11.0)[:, None], (1, 20))  # 10 origins, 20 lead times, |error| 1..10
    errors[:, 0] = np.nan  # lead 1 unobserved
    errors[0, 10] = -50.0
    out = conformal_quantiles(errors, [0.8], window=1)
    q = out["q"]["80"]
    assert out["n"][0] == 10 and out["n"][5] == 30 and out["n"][19] == 20
    assert q[5] == 9.0  # ceil(31 * 0.8) = 25th of 30 sorted values (three of each of 1..10)
    assert q[10] == 9.0 and q[0] == 9.0  # the -50 (|50|) is the largest of its pool: above the 25th
    assert out["exact"]


def test_a_stopped_meter_export_is_refused_not_forecast_again(trained, tmp_path, capsys):
    """A scheduled run (no --as-of) checks the newest observation of any site against now: one step old passes,
    older is one line, exit 2, nothing written; a duration or 'none' allows more, as for one series."""
    res, data = trained["global"], trained["data"]
    db = tmp_path / "f.sqlite"
    late = _now(data, "5h")
    assert wq_main(["forecast", "--artifact", str(res.path), "--data", str(data), "--store", str(db),
                    "--now", late]) == 2
    err = capsys.readouterr().err.strip()
    assert "stale" in err and str(data) in err and "\n" not in err and not db.exists()
    assert wq_main(["forecast", "--artifact", str(res.path), "--data", str(data), "--store", str(db),
                    "--now", late, "--max-staleness", "6h", "--quiet"]) == 0
    assert wq_main(["forecast", "--artifact", str(res.path), "--data", str(data), "--store", str(db),
                    "--now", _now(data, "30D"), "--max-staleness", "none", "--quiet"]) == 0
    capsys.readouterr()
    assert wq_main(["forecast", "--artifact", str(res.path), "--data", str(data), "--store", str(db),
                    "--now", _now(data, "30D"), "--max-staleness", "6h"]) == 2
    assert "at most 0 days 06:00:00 is allowed" in capsys.readouterr().err
