"""Tests of the sample-data simulator (wq.data.simulate) and of the committed sample files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wq.data.simulate import (
    CONSTITUENTS,
    DECIMALS,
    DEMAND_COLUMNS,
    SAMPLE_FILES,
    WETLAND_COLUMNS,
    Wetland,
    kcstar,
    linear_recurrence,
    simulate_demand,
    simulate_wetland,
    water_temperature,
    wetland_effluent,
    wetland_hydraulics,
    write_samples,
)
from wq.errors import ConfigError, WqError

DATA = Path(__file__).resolve().parents[2] / "data"
QUALITY = [f"{k}_{s}_mgl" for s in ("in", "out") for k in CONSTITUENTS]


@pytest.fixture(scope="module")
def wetland() -> pd.DataFrame:
    return simulate_wetland()


@pytest.fixture(scope="module")
def clean() -> pd.DataFrame:
    """The same process without measurement noise, spikes or gaps."""
    return simulate_wetland(noise=False, spikes=False, missing=False)


@pytest.fixture(scope="module")
def demand() -> pd.DataFrame:
    return simulate_demand()


# ---------------------------------------------------------------- reproducibility, shape
def test_same_seed_gives_identical_frames() -> None:
    pd.testing.assert_frame_equal(simulate_wetland(days=300, seed=5), simulate_wetland(days=300, seed=5))
    pd.testing.assert_frame_equal(simulate_demand(days=300, seed=5), simulate_demand(days=300, seed=5))


def test_different_seeds_give_different_frames() -> None:
    a, b = simulate_wetland(days=300, seed=1, missing=False), simulate_wetland(days=300, seed=2, missing=False)
    assert not np.allclose(a["cod_out_mgl"], b["cod_out_mgl"])
    assert not np.allclose(simulate_demand(days=300, seed=1)["demand_mld"],
                           simulate_demand(days=300, seed=2)["demand_mld"])


def test_wetland_columns_and_dtypes(wetland: pd.DataFrame) -> None:
    assert tuple(wetland.columns) == WETLAND_COLUMNS
    assert isinstance(wetland.index, pd.RangeIndex)
    assert pd.api.types.is_datetime64_dtype(wetland["date"])
    assert all(wetland[c].dtype == np.float64 for c in WETLAND_COLUMNS[1:])
    assert wetland["date"].is_monotonic_increasing and wetland["date"].is_unique
    assert wetland["date"].iloc[0] == pd.Timestamp("2019-01-01")
    assert wetland["date"].iloc[-1] == pd.Timestamp("2022-12-31")


def test_demand_columns_and_dtypes(demand: pd.DataFrame) -> None:
    assert tuple(demand.columns) == DEMAND_COLUMNS
    assert len(demand) == 1461 and demand["date"].diff().iloc[1:].eq(pd.Timedelta("1D")).all()
    assert all(demand[c].dtype == np.float64 for c in ("demand_mld", "tmax_c", "tmin_c", "rain_mm"))
    assert demand["holiday"].dtype == np.int64 and set(demand["holiday"].unique()) == {0, 1}


def test_bad_arguments_raise_wq_errors() -> None:
    with pytest.raises(ConfigError, match="days"):
        simulate_wetland(days=0)
    with pytest.raises(WqError, match="start"):
        simulate_demand(start="not a date")


# ---------------------------------------------------------------- physics
def test_physical_bounds(wetland: pd.DataFrame) -> None:
    for k in CONSTITUENTS:
        cin, cout = wetland[f"{k}_in_mgl"], wetland[f"{k}_out_mgl"]
        assert cout.mean() < 0.8 * cin.mean(), k
        assert (cin.dropna() > 0).all() and (cout > 0).all(), k
    rain = wetland["rain_mm"]
    assert (rain >= 0).all()
    assert 0.25 < (rain > 0).mean() < 0.5
    wet = (rain > 0).to_numpy()
    assert wet[1:][wet[:-1]].mean() > wet[1:][~wet[:-1]].mean() + 0.2  # wet days cluster (Markov)
    assert wetland["humidity_pct"].between(20, 100).all()
    assert wetland["pressure_hpa"].between(950, 1060).all()
    assert (wetland["inflow_m3d"] > 0).all()
    monthly = wetland.groupby(wetland["date"].dt.month)["air_temp_c"].mean()
    assert monthly[7] - monthly[1] > 15


def test_kcstar_hand_computed() -> None:
    # k20 = 36.5 m/yr = 0.1 m/d, q = 0.05 m/d: C_out = 10 + 90 e^-2
    assert kcstar(100.0, 0.05, 20.0, 36.5, 1.05, 10.0) == pytest.approx(10 + 90 * np.exp(-2.0))
    # at 10 °C k_T = 0.1 * 1.05^-10
    assert kcstar(100.0, 0.05, 10.0, 36.5, 1.05, 10.0) == pytest.approx(10 + 90 * np.exp(-2.0 * 1.05**-10))
    temps = np.array([2.0, 10.0, 20.0, 28.0])
    assert np.all(np.diff(kcstar(100.0, 0.04, temps, 15.0, 1.05, 0.0)) < 0)  # removal rises with T
    q = np.array([0.02, 0.04, 0.08, 0.2])
    assert np.all(np.diff(kcstar(100.0, q, 15.0, 15.0, 1.05, 0.0)) > 0)  # and falls with loading
    with pytest.raises(ValueError):
        kcstar(100.0, 0.0, 15.0, 15.0, 1.05, 0.0)


def test_linear_recurrence_matches_a_loop() -> None:
    rng = np.random.default_rng(0)
    for n in (1, 2, 7, 64, 333):
        a, b = rng.uniform(0, 1, n), rng.normal(size=n)
        x, expected = 1.7, np.empty(n)
        for t in range(n):
            x = a[t] * x + b[t]
            expected[t] = x
        np.testing.assert_allclose(linear_recurrence(a, b, 1.7), expected, rtol=1e-12, atol=1e-12)


def test_water_temperature_lags_air_and_is_floored() -> None:
    air = np.r_[np.full(5, 10.0), np.full(20, -5.0)]
    tw = water_temperature(air, lag_days=3.0, floor_c=1.0)
    assert tw[5] == pytest.approx(10 + (1 - np.exp(-1 / 3)) * (-15))  # one day of lag
    assert tw.min() == 1.0 and np.all(np.diff(tw) <= 1e-12)


def test_noise_free_effluent_follows_the_kcstar_model(clean: pd.DataFrame) -> None:
    w = Wetland()
    tw = water_temperature(clean["air_temp_c"].to_numpy(), w.water_temp_lag_days, w.min_water_temp_c)
    a, hlr, dilution = wetland_hydraulics(clean["inflow_m3d"].to_numpy(), clean["rain_mm"].to_numpy(), w)
    for k, c in CONSTITUENTS.items():
        cin, cout = clean[f"{k}_in_mgl"].to_numpy(), clean[f"{k}_out_mgl"].to_numpy()
        np.testing.assert_allclose(
            wetland_effluent(clean["inflow_m3d"], clean["rain_mm"], cin, tw, c, w), cout, rtol=1e-12)
        inlet = cin * dilution
        mix = linear_recurrence(a, (1 - a) * inlet, inlet[0])
        # ln(-ln((C_out - C*)/(M - C*))) = ln k20 + (T - 20) ln θ - ln q: recover θ and the -1 on q
        y = np.log(-np.log((cout - c.c_star_mgl) / (mix - c.c_star_mgl)))
        X = np.column_stack([np.ones_like(y), tw - 20.0, np.log(hlr)])
        coef = np.linalg.lstsq(X, y, rcond=None)[0]
        np.testing.assert_allclose(coef, [np.log(c.k20_m_per_yr / 365), np.log(c.theta), -1.0], atol=1e-8)


def test_rain_lowers_removal_and_retention(clean: pd.DataFrame) -> None:
    a, hlr, dilution = wetland_hydraulics(clean["inflow_m3d"].to_numpy(), clean["rain_mm"].to_numpy())
    storm = clean["rain_mm"].to_numpy() > 20
    dry = clean["rain_mm"].to_numpy() == 0
    tau = -1 / np.log(a)
    assert np.median(tau[storm]) < 0.7 * np.median(tau[dry])
    assert np.median(hlr[storm]) > np.median(hlr[dry]) and np.all(dilution <= 1)


def test_drivers_beat_persistence_for_next_day_effluent() -> None:
    """Linear one-step forecast with lagged effluent and lagged drivers vs persistence and vs AR only
    (measurement noise on; spikes and gaps are the preprocessing's business, so off here)."""
    f = simulate_wetland(spikes=False, missing=False)
    y = f["nh3n_out_mgl"].to_numpy()
    drivers = f[["inflow_m3d", "rain_mm", "air_temp_c", "nh3n_in_mgl"]].to_numpy()
    target = y[2:]
    ar = [y[1:-1], y[:-2], np.ones(target.size)]
    lagged = [drivers[1:-1], drivers[:-2]]
    train, test = slice(0, target.size * 2 // 3), slice(target.size * 2 // 3, None)

    def rmse(*blocks: np.ndarray) -> float:
        X = np.column_stack(blocks)
        beta = np.linalg.lstsq(X[train], target[train], rcond=None)[0]
        return float(np.sqrt(np.mean((X[test] @ beta - target[test]) ** 2)))

    persistence = float(np.sqrt(np.mean((y[1:-1][test] - target[test]) ** 2)))
    with_drivers = rmse(*ar, *lagged)
    assert with_drivers < 0.92 * persistence
    assert with_drivers < 0.97 * rmse(*ar)


# ---------------------------------------------------------------- quirks
def test_absent_days_and_nan_cells(wetland: pd.DataFrame) -> None:
    steps = wetland["date"].diff().dt.days.iloc[1:].value_counts()
    assert steps.get(2, 0) >= 3  # single absent days
    assert steps.get(6, 0) == 1  # one run of 5 absent days
    assert len(wetland) == 1461 - steps.get(2, 0) - 5
    nan_cols = wetland.columns[wetland.isna().any()].tolist()
    assert nan_cols == ["tp_in_mgl"] and 1 <= wetland["tp_in_mgl"].isna().sum() <= 8
    assert not wetland.drop(columns="date").isna().all(axis=1).any()  # absent rows, never NaN rows
    full = simulate_wetland(missing=False)
    assert len(full) == 1461 and not full.isna().any().any()


def test_spikes_are_few_and_beyond_three_sigma() -> None:
    with_, without = simulate_wetland(seed=3), simulate_wetland(seed=3, spikes=False)
    pd.testing.assert_frame_equal(with_.drop(columns=QUALITY), without.drop(columns=QUALITY))
    diff = (with_[QUALITY] - without[QUALITY]).fillna(0).to_numpy()
    rows, cols = np.nonzero(diff)
    assert 3 <= rows.size <= 12 and np.all(diff[rows, cols] > 0)
    base = without[QUALITY]
    z = (with_[QUALITY].to_numpy()[rows, cols] - base.mean().to_numpy()[cols]) / base.std().to_numpy()[cols]
    assert np.all(z > 3)


def test_noise_is_a_few_percent_and_leaves_the_process(clean: pd.DataFrame) -> None:
    noisy = simulate_wetland(spikes=False, missing=False)
    weather = ["air_temp_c", "rain_mm", "humidity_pct", "pressure_hpa"]
    pd.testing.assert_frame_equal(noisy[weather], clean[weather])
    rel = np.log(noisy[QUALITY] / clean[QUALITY]).std()
    assert rel.between(0.02, 0.07).all()


# ---------------------------------------------------------------- demand
def test_holidays(demand: pd.DataFrame) -> None:
    days = set(demand.loc[demand["holiday"] == 1, "date"].dt.strftime("%Y-%m-%d"))
    for d in ("2019-01-01", "2019-04-19", "2019-04-22", "2019-05-01", "2020-04-10", "2020-04-13",
              "2021-04-02", "2022-04-18", "2022-12-25", "2022-12-26"):
        assert d in days
    assert len(days) == 6 * 4


def test_demand_responses(demand: pd.DataFrame) -> None:
    d = demand.assign(dow=demand["date"].dt.dayofweek, month=demand["date"].dt.month)
    assert (d["tmin_c"] < d["tmax_c"]).all() and (d["rain_mm"] >= 0).all() and (d["demand_mld"] > 0).all()
    workday = (d["dow"] < 5) & (d["holiday"] == 0)
    assert d.loc[d["dow"] >= 5, "demand_mld"].mean() < d.loc[workday, "demand_mld"].mean()
    summer = d[d["month"].isin([6, 7, 8])]
    hot_before = summer["tmax_c"].shift(1).rolling(3).mean() > 28
    mild_before = summer["tmax_c"].shift(1).rolling(3).mean() < 24
    assert summer.loc[hot_before, "demand_mld"].mean() > summer.loc[mild_before, "demand_mld"].mean() + 3
    wet_before = summer["rain_mm"].shift(1).rolling(3).sum() > 15
    dry_before = summer["rain_mm"].shift(1).rolling(3).sum() == 0
    assert summer.loc[wet_before, "demand_mld"].mean() < summer.loc[dry_before, "demand_mld"].mean() - 3
    yearly = d.groupby(d["date"].dt.year)["demand_mld"].mean()
    assert yearly.is_monotonic_increasing or yearly.iloc[-1] > yearly.iloc[0]


# ---------------------------------------------------------------- committed files
@pytest.mark.parametrize("name", sorted(SAMPLE_FILES))
def test_committed_samples_equal_regeneration(name: str, tmp_path: Path) -> None:
    written = write_samples(tmp_path)
    committed = pd.read_csv(DATA / name, parse_dates=["date"])
    fresh = pd.read_csv(written[name], parse_dates=["date"])
    assert list(committed.columns) == list(fresh.columns)
    pd.testing.assert_series_equal(committed["date"], fresh["date"])
    for col in fresh.columns[1:]:
        # one unit of the last kept decimal: tolerates a last-bit rounding flip between platforms
        atol = 10.0 ** -DECIMALS.get(col, 0)
        np.testing.assert_allclose(committed[col], fresh[col], rtol=0, atol=atol, err_msg=col)
        assert committed[col].isna().equals(fresh[col].isna()), col


def test_the_command_writes_both_files(tmp_path: Path) -> None:
    from wq.cli import main

    assert main(["data", "simulate", "--kind", "samples", "--out", str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(SAMPLE_FILES)
    text = (tmp_path / "out" / "wetland_daily.csv").read_text()
    assert text.startswith(",".join(WETLAND_COLUMNS) + "\n2019-01-01,")
