"""The district-meter simulator (wq.data.district): shapes, per-site differences, one seed, daily and weekly
patterns, holidays, weather response, outages at the stated rate, unlabelled faults, the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wq.cli import main as wq_main
from wq.data.district import (
    DISTRICT_COLUMNS,
    MEAN_DOWN_H,
    P_ABSENT,
    _outages,
    district_sites,
    simulate_district,
    write_district_sample,
)
from wq.errors import ConfigError

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(scope="module")
def year() -> pd.DataFrame:
    return simulate_district(sites=12, days=365, seed=3)


@pytest.fixture(scope="module")
def params() -> pd.DataFrame:
    return district_sites(12, seed=3)


def wide(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.pivot(index="time", columns="site", values="demand_m3h")


def test_columns_shape_and_order(year):
    assert tuple(year.columns) == DISTRICT_COLUMNS
    full = pd.date_range("2023-01-01", periods=365 * 24, freq="h")
    assert len(year) <= 12 * len(full) and len(year) > 0.9 * 12 * len(full)
    assert set(year["site"]) == {f"DMA{i:03d}" for i in range(1, 13)}
    assert pd.DatetimeIndex(year["time"]).isin(full).all()
    assert not year.duplicated(["time", "site"]).any()
    order = year.sort_values(["time", "site"], kind="stable").index
    assert (order == year.index).all()
    assert (year["demand_m3h"].dropna() >= 0).all()
    # weather is shared: one value per time
    assert (year.groupby("time")[["temperature_c", "rain_mm"]].nunique() == 1).all().all()
    assert (year["rain_mm"] >= 0).all() and year["temperature_c"].between(-25, 40).all()


def test_sub_hourly_steps():
    f = simulate_district(sites=2, days=3, freq="15min", seed=0, outages=0)
    assert len(f) == 2 * 3 * 96
    assert pd.DatetimeIndex(f["time"].unique()).freq is None or True
    assert (np.diff(pd.DatetimeIndex(f["time"].unique())) == np.timedelta64(15, "m")).all()


def test_seed_reproducibility():
    a = simulate_district(sites=4, days=30, seed=11)
    pd.testing.assert_frame_equal(a, simulate_district(sites=4, days=30, seed=11))
    b = simulate_district(sites=4, days=30, seed=12)
    assert not np.allclose(a["temperature_c"].iloc[:100], b["temperature_c"].iloc[:100])
    # the sites are drawn from the seed alone: the same for any length or step
    pd.testing.assert_frame_equal(district_sites(4, 11), district_sites(4, 11))
    assert not district_sites(4, 11).equals(district_sites(4, 12))


def test_sites_differ(year, params):
    means = wide(year).median()
    assert means.std() / means.mean() > 0.2
    varied = params.drop(columns=["site", "drift_per_year"])  # drift: 0 on the sites without it
    assert varied.nunique().min() == 12 and (params["drift_per_year"] < 0).any()
    # the morning peak hour of each site follows its own parameter
    w = wide(year)
    workday = (w.index.dayofweek < 5)
    peak = w[workday].groupby(w.index[workday].hour).median().iloc[4:12].idxmax()
    order = params.set_index("site")["morning_h"]
    assert np.corrcoef(peak[order.index], order)[0, 1] > 0.5


def test_daily_profile_has_morning_and_evening_peaks(year):
    w = wide(year)
    workday = w.index.dayofweek < 5
    prof = w[workday].groupby(w.index[workday].hour).median()  # medians: robust to spikes
    night = prof.loc[2:4].min()
    morning = prof.loc[6:10].max()
    afternoon = prof.loc[14:16].min()
    evening = prof.loc[18:22].max()
    assert (morning > 1.5 * night).all()
    assert (evening > 1.2 * afternoon).all()
    assert (afternoon < morning).all()
    # weekend mornings start later: the 7 o'clock share of the 11 o'clock level is lower on weekends
    rest = w.index.dayofweek >= 5
    wk = w[rest].groupby(w.index[rest].hour).median()
    assert ((wk.loc[7] / wk.loc[11]) < (prof.loc[7] / prof.loc[11])).mean() > 0.8


def test_holidays_of_the_country():
    """Same seed, other country: only the days that are a holiday in one country and not the other change."""
    nl = simulate_district(sites=3, days=365, seed=5, country="NL", outages=0)
    us = simulate_district(sites=3, days=365, seed=5, country="US", outages=0)
    pd.testing.assert_frame_equal(nl[["time", "site", "temperature_c"]], us[["time", "site", "temperature_c"]])
    changed = pd.DatetimeIndex(nl.loc[nl["demand_m3h"] != us["demand_m3h"], "time"]).normalize().unique()
    import holidays

    days = pd.date_range("2023-01-01", "2023-12-31")
    hol = lambda c: set(pd.DatetimeIndex(list(holidays.country_holidays(c, years=2023))))  # noqa: E731
    differ = {d for d in days if (d in hol("NL")) != (d in hol("US")) and d.dayofweek < 5}
    assert pd.Timestamp("2023-04-27") in differ and pd.Timestamp("2023-07-04") in differ
    # stuck readings may carry a changed value into the next day: allow the day after a changed day
    allowed = differ | {d + pd.Timedelta(days=k) for d in differ for k in (1, 2, 3)}
    assert set(changed) <= allowed and differ <= set(changed)
    with pytest.raises(ConfigError, match="country"):
        simulate_district(sites=1, days=2, country="XX")


def test_weather_response(year, params):
    """Hot days raise demand and rain lowers garden use, in proportion to each site's sensitivity."""
    w = wide(year)
    daily = w.resample("D").mean()
    weather = year.groupby("time")[["temperature_c", "rain_mm"]].first()
    temp = weather["temperature_c"].resample("D").mean()
    rain = weather["rain_mm"].resample("D").sum()
    summer = (daily.index.month >= 6) & (daily.index.month <= 8)
    sens = params.set_index("site")["heat_per_c"]
    high = sens[sens > sens.median()].index
    low = sens[sens <= sens.median()].index
    rel = daily / daily.median()
    warm = summer & (temp > temp[summer].quantile(0.75)) & (rain < 0.5)
    cool = summer & (temp < temp[summer].quantile(0.25))
    gain = rel[warm].mean() - rel[cool].mean()
    assert gain[high].mean() > 0.05 and gain[high].mean() > gain[low].mean()
    wet = summer & (rain > 5)
    assert rel.loc[wet, high].mean().mean() < rel.loc[summer & (rain == 0), high].mean().mean()


def test_outage_process_loses_the_stated_share():
    rng = np.random.default_rng(0)
    share = rng.uniform(0.005, 0.04, 1000)
    lost, absent = _outages(rng, share, 8760, 1.0)
    assert lost.mean() / share.mean() == pytest.approx(1.0, abs=0.1)
    assert absent.sum() / lost.sum() == pytest.approx(P_ABSENT, abs=0.05)
    assert not (absent & ~lost).any()
    # long spells exist (up to 12 days) and the mean spell matches MEAN_DOWN_H
    starts = lost[1:] & ~lost[:-1]
    assert lost.sum() / starts.sum() == pytest.approx(MEAN_DOWN_H, rel=0.15)


def test_outages_in_the_frame_at_the_stated_rate():
    f = simulate_district(sites=60, days=730, seed=2)
    p = district_sites(60, seed=2).set_index("site")
    steps = 730 * 24
    per = f.groupby("site", observed=True)["demand_m3h"].agg(["count", "size"])
    lost = 1 - per["count"] / steps  # absent rows and empty values
    assert lost.mean() / p["outage_share"].mean() == pytest.approx(1.0, abs=0.25)
    assert (1 - per["size"] / steps).sum() / lost.sum() == pytest.approx(P_ABSENT, abs=0.12)
    assert f["demand_m3h"].isna().any()
    none = simulate_district(sites=5, days=60, seed=2, outages=0)
    assert len(none) == 5 * 60 * 24 and none["demand_m3h"].notna().all()


def test_meter_faults_are_present_but_not_labelled(year, params):
    w = wide(year)
    # stuck readings: runs of >= 6 identical values (a real meter's noise never repeats to 0.01 m3/h that long)
    same = (w.diff() == 0).rolling(5).sum() == 5
    assert same.any().sum() >= 3
    # spikes: readings far above the same hour of the days around, about as often as the stated probability
    same_hour = pd.concat([w.shift(k) for k in (-72, -48, -24, 24, 48, 72)], keys=range(6))
    ratio = w / same_hour.groupby(level=1).median()  # against the same hour on the days around
    held = (w == w.shift(1)) | (w == w.shift(-1))  # a stuck peak reading is high at night too: not a spike
    spikes = ((ratio > 2.5) & ~held).sum()
    expected = params.set_index("site")["spike_prob"] * w.notna().sum()
    assert spikes.sum() == pytest.approx(expected.sum(), rel=0.35)
    assert set(year.columns) == set(DISTRICT_COLUMNS)  # no flag column


def test_time_zone_and_dst():
    f = simulate_district(sites=2, days=10, seed=1, start="2023-03-22", tz="Europe/Amsterdam", outages=0)
    t = pd.DatetimeIndex(f["time"].unique())
    assert str(t.tz) == "Europe/Amsterdam" and t.is_monotonic_increasing and t.is_unique
    assert (np.diff(t.tz_convert("UTC").asi8) == 3600 * 10**9).all()  # regular in UTC across the DST change
    assert ((t.tz_localize(None).normalize() == pd.Timestamp("2023-03-26")).sum()) == 23


def test_bad_settings():
    for kwargs in ({"sites": 0}, {"days": 0}, {"freq": "2h"}, {"freq": "nonsense"}, {"tz": "Mars/Base"},
                   {"outages": -1}, {"start": "not a date"}):
        with pytest.raises(ConfigError):
            simulate_district(**{"sites": 2, "days": 2, **kwargs})


def test_cli_writes_the_long_file(tmp_path, capsys):
    out = tmp_path / "d.csv"
    code = wq_main(["data", "simulate", "--kind", "district", "--sites", "3", "--freq", "h", "--days", "7",
                    "--seed", "4", "--out", str(out)])
    assert code == 0
    back = pd.read_csv(out, parse_dates=["time"])
    assert tuple(back.columns) == DISTRICT_COLUMNS and back["site"].nunique() == 3
    pd.testing.assert_series_equal(back["demand_m3h"], simulate_district(sites=3, days=7, seed=4, start="2019-01-01")
                                   ["demand_m3h"], check_exact=False, atol=1e-9)
    assert wq_main(["data", "simulate", "--kind", "district", "--sites", "0", "--out", str(tmp_path / "x.csv")]) == 2
    assert not (tmp_path / "x.csv").exists()


def test_committed_sample_is_the_simulator_output(tmp_path):
    path = DATA / "district_hourly.csv"
    if not path.exists():
        pytest.skip("no committed district sample")
    write_district_sample(tmp_path / "d.csv")
    assert (tmp_path / "d.csv").read_text() == path.read_text()
