"""`wq train` / `wq forecast` with known-future drivers (issue 12, item 1): the issued forecasts are read for the
steps ahead exactly as issued (never one issued after the as-of time), the artifact round-trips, and a missing
issued value (or the backtest-only observed source) exits 2 naming the driver and valid time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from wq.batch.forecast import batch_forecast, load_batch_model, read_fresh_data
from wq.cli import main
from wq.data.future import future_column
from wq.data.simulate import simulate_wetland

torch.set_num_threads(1)

TOML = """
name = "fd"
seed = 3
[data]
path = "{data}"
time = "date"
target = ["cod_out_mgl"]
drivers = ["air_temp_c", "rain_mm"]
calendar = ["day_of_week"]
freq = "D"
fill_limit = 7
future_drivers = ["air_temp_c"]
{source}
[preprocess]
wavelet = {{ wavelet = "db2", level = 1, window = 16 }}
[model]
name = "{model}"
lags = 5
horizon = 2
hidden = 4
epochs = 2
max_iter = 20
"""
LAST = pd.Timestamp("2019-06-30")


def issued(sim: pd.DataFrame) -> pd.DataFrame:
    """Air temperature forecasts issued every midnight for the next 3 days (truth + error)."""
    rng = np.random.default_rng(0)
    temp = sim.set_index(pd.to_datetime(sim["date"]))["air_temp_c"]
    days = pd.date_range(temp.index[0], LAST + pd.Timedelta(days=2))
    rows = [(d, d + pd.Timedelta(days=s), temp.get(d + pd.Timedelta(days=s), 15.0) + rng.normal(0, s))
            for d in days for s in (1, 2, 3)]
    return pd.DataFrame(rows, columns=["issue_time", "valid_time", "air_temp_c"])


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("future")
    sim = simulate_wetland(days=181, seed=4, missing=False)  # 2019-01-01 .. 2019-06-30
    sim.to_csv(root / "data.csv", index=False)
    table = issued(sim)
    table.to_csv(root / "issued.csv", index=False)
    source = f'future_drivers_file = "{(root / "issued.csv").as_posix()}"'
    arts = {}
    for model in ("hgb", "pca-lstm"):
        toml = root / f"{model}.toml"
        toml.write_text(TOML.format(data=(root / "data.csv").as_posix(), source=source, model=model))
        assert main(["train", str(toml), "--artifact", str(root / model), "--quiet"]) == 0
        arts[model] = root / model
    return {"root": root, "sim": sim, "issued": table, "arts": arts}


def forecast(art, data, as_of=None):
    return batch_forecast([art], data=data, as_of=as_of, max_staleness="none").rows


@pytest.mark.parametrize("model", ["hgb", "pca-lstm"])
def test_forecast_reads_the_issued_values_for_the_steps_ahead(env, model):
    bm = load_batch_model(env["arts"][model])
    assert bm.model.future_drivers == ["air_temp_c"]
    frame = read_fresh_data(bm).frame
    table = env["issued"]
    for step in (1, 2):
        want = table[(table.issue_time == LAST) & (table.valid_time == LAST + pd.Timedelta(days=step))]
        assert frame[future_column("air_temp_c", step)].iloc[-1] == pytest.approx(want["air_temp_c"].iloc[0])
    rows = forecast(env["arts"][model], env["root"] / "data.csv")
    assert list(rows["time"]) == list(pd.date_range(LAST + pd.Timedelta(days=1), periods=2))
    assert np.isfinite(rows["value"]).all()
    # the value changes with the issued forecast of the steps ahead: it is read
    changed = env["issued"].copy()
    changed.loc[changed.issue_time == LAST, "air_temp_c"] += 10.0
    changed.to_csv(env["root"] / "issued.csv", index=False)
    try:
        again = forecast(env["arts"][model], env["root"] / "data.csv")
    finally:
        env["issued"].to_csv(env["root"] / "issued.csv", index=False)
    if model == "pca-lstm":  # a network answers to every input; a few small trees may not split on it
        assert not np.allclose(rows["value"], again["value"])


def test_a_forecast_issued_after_the_as_of_time_is_never_used(env):
    art = env["arts"]["hgb"]
    as_of = "2019-06-20"
    before = forecast(art, env["root"] / "data.csv", as_of)
    late = env["issued"].copy()
    after = late.issue_time > pd.Timestamp(as_of)
    late.loc[after, "air_temp_c"] += 25.0
    extra = pd.DataFrame({"issue_time": [pd.Timestamp(as_of) + pd.Timedelta(hours=2)],
                          "valid_time": [pd.Timestamp(as_of) + pd.Timedelta(days=1)], "air_temp_c": [60.0]})
    pd.concat([late, extra]).to_csv(env["root"] / "issued.csv", index=False)
    try:
        again = forecast(art, env["root"] / "data.csv", as_of)
    finally:
        env["issued"].to_csv(env["root"] / "issued.csv", index=False)
    pd.testing.assert_frame_equal(before.drop(columns="data_sha256"), again.drop(columns="data_sha256"))


def test_missing_issued_value_exits_2_naming_driver_and_valid_time(env, tmp_path, capsys):
    table = env["issued"]
    gone = table[~((table.valid_time == LAST + pd.Timedelta(days=2)) & (table.issue_time <= LAST))]
    gone.to_csv(env["root"] / "issued.csv", index=False)
    db = tmp_path / "store.sqlite"
    try:
        code = main(["forecast", "--artifact", str(env["arts"]["hgb"]), "--data", str(env["root"] / "data.csv"),
                     "--store", str(db), "--max-staleness", "none", "--quiet"])
    finally:
        env["issued"].to_csv(env["root"] / "issued.csv", index=False)
    err = capsys.readouterr().err
    assert code == 2 and not db.exists()
    assert "'air_temp_c'" in err and "2019-07-02" in err and "issued at or before" in err and err.count("\n") == 1


def test_observed_source_is_a_backtest_option_wq_forecast_exits_2(env, tmp_path, capsys):
    toml = tmp_path / "obs.toml"
    toml.write_text(TOML.format(data=(env["root"] / "data.csv").as_posix(),
                                source='future_drivers_source = "observed"', model="hgb"))
    assert main(["train", str(toml), "--artifact", str(tmp_path / "a"), "--quiet"]) == 0
    assert main(["forecast", "--artifact", str(tmp_path / "a"), "--max-staleness", "none", "--dry-run", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "backtest option" in err and "'air_temp_c'" in err
