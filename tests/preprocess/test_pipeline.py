"""Preprocessor: the composition of the stages, fitted on train, applied unchanged to later data."""

import json
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wq.errors import ConfigError, DataError
from wq.preprocess import (
    DriverPCA,
    MinMaxScaling,
    MovingAverage,
    Parts,
    PreprocessParams,
    Preprocessor,
    SigmaOutlierSmoother,
    WaveletDenoiser,
)

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
TARGETS, DRIVERS = ["do", "nh4"], ["rain", "temp", "flow"]
SETTINGS = dict(
    outliers={"k": 3.0, "neighbours": 3, "window": 30},
    moving_average={"window": 3},
    wavelet={"wavelet": "db4", "level": 2, "window": 32, "mode": "causal"},
    pca={"variance": 0.9},
)


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    T = 300
    t = np.arange(T)
    temp = 15 + 8 * np.sin(2 * np.pi * t / 365) + rng.normal(0, 1, T)
    rain = np.where(rng.random(T) < 0.2, rng.exponential(5, T), 0.0)
    flow = 100 + 3 * np.convolve(rain, np.ones(3), "same") + rng.normal(0, 2, T)
    do = 9 - 0.2 * temp + rng.normal(0, 0.3, T)
    nh4 = 1 + 0.01 * flow + rng.normal(0, 0.1, T)
    do[[40, 41, 230]] += [6, 5, -7]  # sensor spikes, two in a row
    idx = pd.date_range("2020-01-01", periods=T, freq="D", name="time")
    return pd.DataFrame({"do": do, "nh4": nh4, "rain": rain, "temp": temp, "flow": flow}, index=idx)


def as_arrays(parts: Parts) -> np.ndarray:
    return np.concatenate([getattr(parts, f.name).to_numpy() for f in fields(parts)], axis=1)


def test_parts_are_the_stages_in_order(frame):
    train = frame.iloc[:200]
    pre = PreprocessParams(**SETTINGS).build().fit(train, TARGETS, DRIVERS)
    parts = pre.transform(frame)
    for f in fields(parts):
        assert getattr(parts, f.name).index.equals(frame.index), f.name
    sm = SigmaOutlierSmoother(k=3.0, neighbours=3, window=30).fit(train[TARGETS])
    ma = MovingAverage(3).fit(train[TARGETS])
    mm = MinMaxScaling().fit(ma.transform(sm.transform(train[TARGETS])))
    pd.testing.assert_frame_equal(parts.smoothed, sm.transform(frame[TARGETS]))
    pd.testing.assert_frame_equal(parts.scaled, mm.transform(ma.transform(sm.transform(frame[TARGETS]))))
    den = WaveletDenoiser("db4", 2, 32).fit(parts.scaled).transform(parts.scaled)
    pd.testing.assert_frame_equal(parts.denoised, den)
    pd.testing.assert_frame_equal(parts.residual, parts.scaled - parts.denoised)
    dmm = MinMaxScaling().fit(train[DRIVERS])
    pd.testing.assert_frame_equal(parts.drivers, dmm.transform(frame[DRIVERS]))
    pcs = DriverPCA(0.9).fit(dmm.transform(train[DRIVERS])).transform(parts.drivers)
    pd.testing.assert_frame_equal(parts.pcs, pcs)
    assert list(parts.pcs.columns) == [f"pc{i + 1}" for i in range(pcs.shape[1])]
    assert parts.smoothed["do"].iloc[40] < 9  # the spike was smoothed
    assert parts.scaled.iloc[:200].min().min() == 0.0 and parts.scaled.iloc[:200].max().max() == 1.0


def test_whole_preprocessor_is_causal(frame, perturb):
    pre = PreprocessParams(**SETTINGS).build().fit(frame.iloc[:200], TARGETS, DRIVERS)
    assert pre.causal
    base = as_arrays(pre.transform(frame))
    rng = np.random.default_rng(1)
    for t in rng.integers(0, len(frame) - 1, 15):
        changed = pd.DataFrame(perturb(frame.to_numpy(), int(t), rng), index=frame.index, columns=frame.columns)
        out = as_arrays(pre.transform(changed))
        np.testing.assert_array_equal(out[: t + 1], base[: t + 1], err_msg=f"t={t}")
        assert not np.array_equal(out[t + 1 :], base[t + 1 :])


def test_train_prefix_unchanged_by_appending_later_data(frame):
    pre = PreprocessParams(**SETTINGS).build().fit(frame.iloc[:200], TARGETS, DRIVERS)
    short, full = pre.transform(frame.iloc[:200]), pre.transform(frame)
    for f in fields(short):
        pd.testing.assert_frame_equal(getattr(full, f.name).iloc[:200], getattr(short, f.name), check_freq=False)


@pytest.mark.parametrize(
    "settings,part",
    [({"wavelet": {"mode": "offline"}}, "denoised"), ({"moving_average": {"window": 5, "centered": True}}, "scaled")],
)
def test_offline_settings_are_not_causal_and_leak(frame, perturb, settings, part):
    pre = PreprocessParams(**settings).build().fit(frame.iloc[:200], TARGETS, DRIVERS)
    assert not pre.causal
    t = 150
    changed = pd.DataFrame(perturb(frame.to_numpy(), t, np.random.default_rng(0)), index=frame.index, columns=frame.columns)
    head = lambda f: getattr(pre.transform(f), part).iloc[: t + 1].to_numpy()  # noqa: E731
    assert not np.array_equal(head(changed), head(frame))


def test_fitted_on_train_only(frame):
    pre = PreprocessParams(**SETTINGS).build().fit(frame.iloc[:200], TARGETS, DRIVERS)
    state = json.dumps(pre.get_state())
    other = frame.copy()
    other.iloc[200:] = other.iloc[200:] * 3 + 50  # a different test segment
    pre.transform(other)
    pre.transform(frame)
    assert json.dumps(pre.get_state()) == state
    same = PreprocessParams(**SETTINGS).build().fit(other.iloc[:200], TARGETS, DRIVERS)
    assert json.dumps(same.get_state()) == state
    # scaled by the training min/max, not refitted (after the trailing outlier window has caught up)
    assert pre.transform(other).scaled["nh4"].iloc[250:].min() > 1


def test_json_round_trip_identical_parts(frame):
    pre = PreprocessParams(**SETTINGS, driver_outliers=True).build().fit(frame.iloc[:200], TARGETS, DRIVERS)
    again = Preprocessor.from_state(json.loads(json.dumps(pre.get_state())))
    plain = lambda p: {k: v for k, v in p.get_params(deep=True).items() if not hasattr(v, "get_params")}  # noqa: E731
    assert plain(again) == plain(pre) and "wavelet__level" in plain(pre)
    assert again.transform(frame) == pre.transform(frame)


@pytest.mark.parametrize("ma", [None, {"window": 1}, {"window": 4}])
@pytest.mark.parametrize("scale", [True, False])
def test_inverse_target_of_true_values_gives_cleaned_values(frame, ma, scale):
    pre = PreprocessParams(moving_average=ma, scale=scale).build().fit(frame.iloc[:200], TARGETS, DRIVERS)
    parts = pre.transform(frame)
    h = 3
    origins = np.arange(10, len(frame) - h)
    ahead = origins[:, None] + np.arange(1, h + 1)
    pred = parts.scaled.to_numpy()[ahead]  # a perfect forecast of the model's target
    out = pre.inverse_target(pred, parts, origins)
    np.testing.assert_allclose(out, parts.smoothed.to_numpy()[ahead], rtol=1e-9, atol=1e-9)


def test_inverse_target_checks_origins(frame):
    pre = PreprocessParams(moving_average={"window": 4}).build().fit(frame.iloc[:200], TARGETS, DRIVERS)
    parts = pre.transform(frame)
    with pytest.raises(ValueError, match="origin 1"):
        pre.inverse_target(np.zeros((2, 1, 2)), parts, np.array([5, 1]))
    with pytest.raises(ValueError, match="pred"):
        pre.inverse_target(np.zeros((2, 1, 3)), parts, np.array([5, 6]))


def test_optional_stages(frame):
    pre = PreprocessParams(wavelet=None, pca=None).build().fit(frame.iloc[:200], TARGETS, DRIVERS)
    parts = pre.transform(frame)
    pd.testing.assert_frame_equal(parts.denoised, parts.scaled)
    assert (parts.residual.to_numpy() == 0).all() and list(parts.residual.columns) == TARGETS
    pd.testing.assert_frame_equal(parts.pcs, parts.drivers)
    bare = Preprocessor(scale=False)
    parts = bare.fit(frame.iloc[:200], TARGETS, []).transform(frame)
    pd.testing.assert_frame_equal(parts.scaled, frame[TARGETS])
    assert parts.pcs.shape == (len(frame), 0) and parts.drivers.index.equals(frame.index)


def test_drivers_not_outlier_smoothed_by_default(frame):
    storm = frame.copy()
    storm.iloc[250, storm.columns.get_loc("rain")] = 200.0  # a real storm
    default = PreprocessParams().build().fit(frame.iloc[:200], TARGETS, DRIVERS).transform(storm)
    assert default.drivers["rain"].iloc[250] > 1
    cleaned = PreprocessParams(driver_outliers=True).build().fit(frame.iloc[:200], TARGETS, DRIVERS).transform(storm)
    assert cleaned.drivers["rain"].iloc[250] < 1


def test_bad_input(frame):
    with pytest.raises(DataError, match="'oxygen'"):
        PreprocessParams().build().fit(frame, ["oxygen"], DRIVERS)
    with pytest.raises(ValueError, match="wavlet"):
        PreprocessParams(wavelet={"wavlet": "db4"})
    with pytest.raises(ConfigError, match="level 9"):
        Preprocessor(wavelet=WaveletDenoiser(level=9)).fit(frame, TARGETS, DRIVERS)
    with pytest.raises(ConfigError, match="wavelet must be a WaveletDenoiser"):
        Preprocessor(wavelet={"level": 2}).fit(frame, TARGETS, DRIVERS)
    bad = frame.copy()
    bad.iloc[7, 3] = np.inf
    pre = PreprocessParams().build().fit(frame.iloc[:200], TARGETS, DRIVERS)
    with pytest.raises(ValueError, match="'temp' has an infinite value at row 7"):
        pre.transform(bad)


@pytest.mark.skipif(not (DATA / "fort_collins_water_demand").is_dir(), reason="shared real data not present")
def test_real_demand_series_causal_and_invertible(perturb):
    path = DATA / "fort_collins_water_demand" / "fort_collins_daily_water_weather.csv"
    df = pd.read_csv(path, parse_dates=["date"], index_col="date")
    cols = ["water_demand_mgd", "tmax_f", "tmin_f", "precipitation_in", "snow_depth_in"]
    df = df[cols].astype(float)
    cut = int(0.6 * len(df))
    pre = PreprocessParams(moving_average={"window": 3}).build().fit(df.iloc[:cut], cols[:1], cols[1:])
    parts = pre.transform(df)
    t = cut + 20
    changed = pd.DataFrame(perturb(df.to_numpy(), t, np.random.default_rng(0)), index=df.index, columns=df.columns)
    np.testing.assert_array_equal(as_arrays(pre.transform(changed))[: t + 1], as_arrays(parts)[: t + 1])
    origins = np.arange(cut, len(df) - 1)
    out = pre.inverse_target(parts.scaled.to_numpy()[origins + 1][:, None], parts, origins)
    np.testing.assert_allclose(out[:, 0, 0], parts.smoothed.iloc[origins + 1, 0], rtol=1e-9)
