"""wq.augment.pipeline: [augment] -> augmenters for the forecasters, the gate, and that nothing after the fitting
part (validation tail, test period) ever reaches a generator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from wq.augment.pipeline import (
    AugmentSettings,
    WindowAugmenter,
    augmenter_for_pipeline,
    fit_with_gate,
    validation_mape,
)
from wq.config import Pipeline
from wq.data.simulate import simulate_wetland
from wq.errors import ConfigError
from wq.evaluate.backtest import evaluate_split, split_point
from wq.run import load_frame

torch.set_num_threads(1)
DAYS = 200


def tiny_raw(path, **augment) -> dict:
    return {"name": "tiny-aug", "seed": 3,
            "data": {"path": str(path), "time": "date", "target": ["cod_out_mgl"],
                     "drivers": ["air_temp_c", "rain_mm", "inflow_m3d"], "freq": "D"},
            "preprocess": {"wavelet": {"wavelet": "db2", "level": 1, "window": 32, "mode": "causal"}},
            "model": {"epochs": 2, "hidden": 4, "patience": 2, "lags": 4, "lr": 3e-3, "batch": 64},
            "augment": augment}


@pytest.fixture(scope="module")
def data_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("aug_pipeline") / "wetland.csv"
    simulate_wetland(days=DAYS, seed=5, missing=False).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def frame(data_path):
    return load_frame(Pipeline.from_dict(tiny_raw(data_path)))[0]


def pipe(data_path, **augment) -> Pipeline:
    return Pipeline.from_dict(tiny_raw(data_path, **augment))


def real_windows(n=30, L=5, C=3, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.random((n, L, C)) * np.array([1.0, 0.5, 2.0]) - np.array([0.0, 0.2, 1.0])


# -- settings and the augmenter_for contract ------------------------------------------------------------------
def test_augmenter_for_follows_the_augment_table(data_path):
    off = augmenter_for_pipeline(pipe(data_path))
    assert off("dwt-pca-lstm") is None and off("lstm") is None
    assert augmenter_for_pipeline(pipe(data_path, method="jitter", ratio=0.0))("dwt-pca-lstm") is None
    on = augmenter_for_pipeline(pipe(data_path, method="vae", ratio=1.5, epochs=3, seed_offset=10))
    assert on("persistence") is None and on("seasonal-naive") is None  # naive models never get augmented
    aug = on("dwt-pca-lstm")
    assert isinstance(aug, WindowAugmenter)
    assert (aug.method, aug.ratio, aug.seed, aug.epochs, aug.gate) == ("vae", 1.5, 13, 3, False)
    assert on("hgb") is not None and on("hgb").cache is aug.cache  # one generator cache per pipeline


@pytest.mark.parametrize("augment, words", [
    ({"method": "timegan", "ratio": 1.0}, "method"),
    ({"method": "jitter", "ratio": -1.0}, "ratio"),
    ({"method": "jitter", "ratio": "1"}, "ratio"),
    ({"method": "jitter", "ratio": 1.0, "gate": "yes"}, "gate"),
    ({"method": "vae", "ratio": 1.0, "epochs": -2}, "epochs"),
    ({"method": "vae", "ratio": 1.0, "settings": {"vae": {"latnt": 4}}}, "latnt"),
    ({"method": "vae", "ratio": 1.0, "settings": {"vae": {"lr": -1.0}}}, "lr"),
    ({"method": "jitter", "ratio": 1.0, "settings": {"transformer": {}}}, "transformer"),
    ({"method": "resample", "ratio": 1.0, "settings": {"resample": {"sigma": 0.1}}}, "sigma"),
])
def test_bad_augment_settings_raise_config_error_naming_the_key(data_path, augment, words):
    with pytest.raises(ConfigError, match=words):  # checked when the pipeline loads
        pipe(data_path).with_params(**{f"augment__{k}": v for k, v in augment.items()})


def test_settings_from_pipeline_reads_settings_by_method(data_path):
    p = pipe(data_path, method="wgan-gp", ratio=2.0).with_params(
        augment__settings={"wgan-gp": {"lr": 1e-3}, "vae": {"latent": 4}})
    cfg = AugmentSettings.from_pipeline(p)
    assert cfg.enabled and cfg.seed == 3 and cfg.settings["wgan-gp"] == {"lr": 1e-3}
    aug = augmenter_for_pipeline(p)("dwt-pca-lstm")
    assert aug.settings == {"lr": 1e-3}


# -- the augmenter on arrays ----------------------------------------------------------------------------------
@pytest.mark.parametrize("ratio, n, m", [(0.5, 5, 3), (1.0, 30, 30), (2.0, 7, 14), (0.1, 4, 0), (0.125, 4, 1)])
def test_count_is_ratio_times_n_rounded_half_up(ratio, n, m):
    aug = WindowAugmenter("jitter", ratio, seed=1)
    out = aug(real_windows(n))
    assert out.shape == (m, 5, 3) and aug.calls_[-1]["n_synthetic"] == m and aug.calls_[-1]["n_real"] == n


def test_synthetic_windows_stay_in_the_channel_range_and_repeat_for_a_seed():
    S = real_windows()
    a = WindowAugmenter("gan", 1.0, seed=4, epochs=1)(S)
    b = WindowAugmenter("gan", 1.0, seed=4, epochs=1)(S)
    c = WindowAugmenter("gan", 1.0, seed=5, epochs=1)(S)
    assert a.dtype == np.float64 and a.shape == S.shape
    lo, hi = S.min(axis=(0, 1)), S.max(axis=(0, 1))
    assert (a >= lo - 1e-6).all() and (a <= hi + 1e-6).all()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_resample_draws_real_windows_unchanged():
    S = real_windows(12)
    out = WindowAugmenter("resample", 2.0, seed=0)(S)
    # every synthetic window is one of the real ones (float32 round trip of the generator)
    dist = np.abs(out[:, None] - S.astype(np.float32).astype(np.float64)[None]).max(axis=(2, 3))
    assert out.shape == (24, 5, 3) and (dist.min(axis=1) == 0).all()


def test_generators_are_fitted_once_per_sequences(monkeypatch):
    import wq.augment.registry as base

    fitted = []
    real_make = base.make_generator

    def counting(method, **settings):
        gen = real_make(method, **settings)
        fit = gen.fit
        gen.fit = lambda W, seed=0, condition=(): (fitted.append(method), fit(W, seed, condition))[1]
        return gen

    monkeypatch.setattr(base, "make_generator", counting)
    cache: dict = {}
    S, T = real_windows(seed=0), real_windows(seed=1)
    WindowAugmenter("jitter", 1.0, cache=cache)(S)
    second = WindowAugmenter("jitter", 2.0, cache=cache)
    second(S)  # another ratio, same sequences: cached
    assert fitted == ["jitter"] and second.calls_[-1]["cached"] and second.calls_[-1]["generator_seconds"] == 0
    WindowAugmenter("jitter", 1.0, cache=cache)(T)
    WindowAugmenter("scaling", 1.0, cache=cache)(S)
    assert fitted == ["jitter", "jitter", "scaling"]


# -- nothing after the fitting part reaches a generator --------------------------------------------------------
def spy_run(p: Pipeline, frame: pd.DataFrame):
    """evaluate_split with the pipeline's augmenters, recording what every generator received and returned."""
    seen = []
    augmenter_for = augmenter_for_pipeline(p)

    def spy_for(name):
        aug = augmenter_for(name)
        if aug is None:
            return None

        def spy(S, condition=()):
            out = aug(S, condition=condition)
            seen.append((name, np.array(S, copy=True), out.copy()))
            return out

        return spy

    evaluate_split(p, frame, ["dwt-pca-lstm", "persistence", "pca-lstm"], augmenter_for=spy_for)
    return seen


@pytest.mark.parametrize("method", ["jitter", "gan"])
def test_rows_after_the_fitting_part_never_reach_a_generator(data_path, frame, method):
    p = pipe(data_path, method=method, ratio=1.0, epochs=1)
    start = split_point(len(frame), 0.4)
    n_fit = start - int(round(start * 0.2))
    seen = spy_run(p, frame)
    assert [name for name, _, _ in seen] == ["dwt-pca-lstm", "pca-lstm"]  # persistence is never augmented
    # the fitting sequences: origins t with t + horizon < n_fit (lags 4 -> t >= 3)
    assert all(len(S) == n_fit - 1 - 3 for _, S, _ in seen)

    changed = frame.copy()
    rng = np.random.default_rng(0)
    changed.iloc[n_fit:] = changed.iloc[n_fit:] * rng.uniform(0.5, 3.0, size=changed.iloc[n_fit:].shape)
    again = spy_run(p, changed)  # validation tail and test period changed
    for (_, S1, out1), (_, S2, out2) in zip(seen, again, strict=True):
        np.testing.assert_array_equal(S1, S2)
        np.testing.assert_array_equal(out1, out2)

    control = frame.copy()
    control.iloc[n_fit - 2, 0] *= 1.5  # the last fitting row: a generator must see this change
    moved = spy_run(p, control)
    assert not np.array_equal(seen[0][1], moved[0][1])


# -- validation MAPE and the gate ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def train(frame):
    return frame.iloc[:split_point(len(frame), 0.4)]


def test_validation_mape_is_the_mape_of_the_validation_windows(data_path, train):
    model = pipe(data_path).make_model().fit(train, val_fraction=0.2)
    positions = np.arange(model.n_fit_ - 1, len(train) - model.horizon)  # origins n_fit - 1 .. end - h
    pred = model.predict_array(train, train.index[positions])
    y = train[model.targets].to_numpy()[positions[:, None] + np.arange(1, model.horizon + 1)[None, :]]
    hand = 100 * np.mean(np.abs(y - pred) / np.abs(y))
    mape, pmape = validation_mape(model, train)
    assert mape == pytest.approx(hand, rel=1e-12)
    peaks = y.ravel() >= np.quantile(y.ravel(), 0.9)
    assert pmape == pytest.approx(100 * np.mean(np.abs(y - pred).ravel()[peaks] / y.ravel()[peaks]), rel=1e-12)
    assert len(y) == len(train) - model.n_fit_ + 1 - model.horizon  # origins n_fit - 1 .. end - h


class Garbage(WindowAugmenter):
    """Three synthetic windows per real one whose future steps are all 3.0, far above the scaled range: windows
    that teach the forecaster a jump that never happens."""

    def __call__(self, S, condition=()):
        G = np.repeat(np.asarray(S), 3, axis=0)
        G[:, -1, :] = 3.0
        return G


def predictions(model, frame):
    return model.predict_array(frame, frame.index[len(frame) - 30:len(frame) - 1])


def test_gate_drops_synthetic_windows_that_raise_the_validation_error(data_path, frame, train):
    p = pipe(data_path).with_params(model__epochs=6)
    aug = Garbage("jitter", 1.0, seed=0, gate=True)
    model = fit_with_gate(p.make_model(), train, 0.2, aug)
    decision = aug.decisions_[-1]
    assert decision["val_MAPE_with"] > decision["val_MAPE_without"] and not decision["kept"]
    plain = p.make_model().fit(train, val_fraction=0.2)
    assert model.augmented_ == 0
    np.testing.assert_array_equal(predictions(model, frame), predictions(plain, frame))


@pytest.mark.parametrize("with_, without, kept", [(4.0, 5.0, True), (5.0, 5.0, False), (6.0, 5.0, False)])
def test_gate_keeps_synthetic_windows_only_if_validation_mape_is_strictly_lower(
        data_path, frame, train, monkeypatch, with_, without, kept):
    import wq.augment.pipeline as ap

    monkeypatch.setattr(ap, "validation_mape",
                        lambda model, tr, mask=None: ((with_ if model.augmented_ else without), 0.0))
    p = pipe(data_path)
    aug = WindowAugmenter("jitter", 1.0, seed=0, gate=True)
    model = fit_with_gate(p.make_model(), train, 0.2, aug)
    assert aug.decisions_[-1]["kept"] is kept and (model.augmented_ > 0) is kept
    other = p.make_model().fit(train, val_fraction=0.2,
                               augment=WindowAugmenter("jitter", 1.0, seed=0)) if kept else \
        p.make_model().fit(train, val_fraction=0.2)
    np.testing.assert_array_equal(predictions(model, frame), predictions(other, frame))


def test_a_gated_augmenter_refuses_a_caller_that_does_not_gate(data_path, frame, train):
    p = pipe(data_path, method="jitter", ratio=1.0, gate=True)
    with pytest.raises(ConfigError, match="gate"):
        p.make_model().fit(train, val_fraction=0.2, augment=WindowAugmenter("jitter", 1.0, seed=0, gate=True))
    # evaluate_split gates: it decides on the validation tail and records the decision
    aug = augmenter_for_pipeline(p)("dwt-pca-lstm")
    result = evaluate_split(p, frame, ["dwt-pca-lstm"], augmenter_for=lambda name: aug)
    assert np.isfinite(result.metrics["MAPE"]).all() and len(aug.decisions_) == 1


def test_channel_names_match_the_sequences(data_path, train):
    from wq.augment.ablation import channel_names

    model = pipe(data_path).make_model().fit(train, val_fraction=0.2)
    S, _, _ = model.sequences(train)
    names = channel_names(model)
    assert len(names) == S.shape[2]
    assert names[:2] == ["denoised cod_out_mgl", "residual cod_out_mgl"] and names[2] == "PC1"
