"""Every model fits and predicts; the dual forecast is A + B; save/load is exact; forecasts are causal."""

import numpy as np
import pandas as pd
import pytest

from wq.errors import ArtifactError, ConfigError
from wq.models import MODEL_NAMES, load_model, make_model, model_from_files
from wq.preprocess import PreprocessParams

TARGETS = ["cod_out_mgl", "nh3n_out_mgl"]
DRIVERS = ["air_temp_c", "rain_mm", "inflow_m3d", "cod_in_mgl", "nh3n_in_mgl"]
FAST = {"hidden": 8, "epochs": 4, "patience": 2, "batch": 64, "lr": 3e-3, "dropout": 0.0,
        "ga_population": 3, "ga_generations": 1, "ga_space": {"epochs": {"low": 2, "high": 6, "type": "int"}}}
PRE = {"outliers": {"k": 3.0, "neighbours": 3}, "moving_average": {"window": 1}, "scale": True,
       "wavelet": {"wavelet": "db2", "level": 2, "window": 32, "mode": "causal"}, "pca": {"variance": 0.9}}


def build(name, **kw):
    args = dict(targets=TARGETS, drivers=DRIVERS, lags=5, horizon=2, preprocess=PRE, model=FAST, seed=1)
    args.update(kw)
    args["preprocess"] = PreprocessParams(**args["preprocess"]).build()
    return make_model(name, **args)


@pytest.fixture(scope="module")
def fitted(wetland):
    train = wetland.iloc[:240]
    return {name: build(name).fit(train, val_fraction=0.2) for name in MODEL_NAMES}


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_fit_predict_shapes_finite(fitted, wetland, name):
    model = fitted[name]
    origins = wetland.index[[239, 260, 300]]
    out = model.predict(wetland, origins)
    assert list(out.columns) == ["origin", "time", "step", "target", "predicted"]
    assert len(out) == 3 * 2 * len(TARGETS)
    assert np.isfinite(out["predicted"]).all()
    first = out[(out.origin == origins[0]) & (out.step == 2)]
    assert (first["time"] == origins[0] + pd.Timedelta(days=2)).all()
    # the last row of the data can be an origin: forecasts beyond the data
    last = model.predict(wetland)
    assert last["time"].max() == wetland.index[-1] + pd.Timedelta(days=2)


@pytest.mark.parametrize("name", ["dwt-pca-lstm", "dwt-pca-svm", "dwt-pca-bp"])
def test_dual_forecast_is_sum_of_parts(fitted, wetland, name):
    model = fitted[name]
    pos = np.array([250, 270])
    parts = model.predict_parts(wetland, pos)
    assert set(parts) == {"denoised", "residual"}
    scaled = parts["denoised"] + parts["residual"]
    pre_parts = model.preprocessor_.transform(wetland)
    expected = model.preprocessor_.inverse_target(scaled, pre_parts, pos)
    np.testing.assert_allclose(model.predict_array(wetland, wetland.index[pos]), expected, rtol=1e-12)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_save_load_reproduces_predictions(fitted, wetland, name, tmp_path):
    model = fitted[name]
    model.save(tmp_path / name)
    loaded = load_model(tmp_path / name)
    assert type(loaded) is type(model) and type(model).load(tmp_path / name).name == name
    a = model.predict(wetland, wetland.index[240:300])
    b = loaded.predict(wetland, wetland.index[240:300])
    pd.testing.assert_frame_equal(a, b)
    assert not any(p.suffix == ".pkl" for p in (tmp_path / name).iterdir())


def test_weights_of_wrong_shape_are_refused(fitted, tmp_path):
    files = fitted["dwt-pca-lstm"].to_files()
    other = build("dwt-pca-lstm", model={**FAST, "hidden": 4}).fit(_frame(), 0.2)
    files["weights.pt"] = other.to_files()["weights.pt"]
    with pytest.raises(ArtifactError):
        model_from_files(files)


def _frame():
    from wq.data.simulate import simulate_wetland

    f = simulate_wetland(days=200, seed=5, missing=False).set_index("date")
    f.index = pd.DatetimeIndex(f.index, name="time", freq="D")
    return f


@pytest.mark.parametrize("name", ["dwt-pca-lstm", "hgb", "seasonal-naive", "dwt-pca-svm", "mlr", "bpnn", "ga-bpnn"])
def test_forecast_at_t_ignores_data_after_t(fitted, wetland, name):
    model = fitted[name]
    rng = np.random.default_rng(0)
    for t in (245, 270, 299):
        base = model.predict(wetland, [wetland.index[t]])
        changed = wetland.copy()
        tail = changed.iloc[t + 1:]
        changed.iloc[t + 1:] = tail.to_numpy() * rng.uniform(0.2, 3.0, size=tail.shape)
        again = model.predict(changed, [wetland.index[t]])
        pd.testing.assert_frame_equal(base, again)
        # and equals the forecast made from data cut at t
        cut = model.predict(wetland.iloc[:t + 1], [wetland.index[t]])
        pd.testing.assert_frame_equal(base, cut)


def test_same_seed_same_forecast(wetland):
    a = build("dwt-pca-lstm").fit(wetland.iloc[:240]).predict(wetland, wetland.index[240:250])
    b = build("dwt-pca-lstm").fit(wetland.iloc[:240]).predict(wetland, wetland.index[240:250])
    pd.testing.assert_frame_equal(a, b)


def test_bad_settings_are_config_errors(wetland):
    with pytest.raises(ConfigError):
        make_model("no-such-model", targets=TARGETS)
    with pytest.raises(ConfigError):
        build("dwt-pca-lstm", preprocess={**PRE, "wavelet": None})
    with pytest.raises(Exception) as info:
        build("lstm", lags=400).fit(wetland.iloc[:240])
    assert "lags" in str(info.value)


@pytest.mark.parametrize("name", ["dwt-pca-lstm", "hgb"])
def test_change_mode_is_causal_and_round_trips(wetland, name, tmp_path):
    model = build(name, change=True).fit(wetland.iloc[:240])
    base = model.predict(wetland, wetland.index[[250, 280]])
    assert np.isfinite(base["predicted"]).all()
    changed = wetland.copy()
    changed.iloc[251:] *= 1.7
    pd.testing.assert_frame_equal(base.iloc[:2 * len(TARGETS)], model.predict(changed, wetland.index[[250]]))
    loaded = model_from_files(model.to_files())
    pd.testing.assert_frame_equal(base, loaded.predict(wetland, wetland.index[[250, 280]]))
    level = build(name, change=False).fit(wetland.iloc[:240]).predict(wetland, wetland.index[[250, 280]])
    assert not np.allclose(level["predicted"], base["predicted"])


def test_atrous_dual_model_skips_boundary_windows_and_is_causal(wetland, tmp_path):
    """With the à trous stage, windows whose inputs touch its first L_J rows are not fitted on; forecasts
    stay causal and round-trip through the artifact files."""
    atrous = {**PRE, "wavelet": {"method": "atrous", "wavelet": "db2", "level": 2}}
    dwt = build("dwt-pca-svm").fit(wetland.iloc[:240])
    model = build("dwt-pca-svm", preprocess=atrous).fit(wetland.iloc[:240])
    assert model.warmup_ == model.preprocessor_.warmup_ == (2**2 - 1) * (4 - 1) + 1
    assert dwt.warmup_ == 0
    assert model.n_windows_ == dwt.n_windows_ - model.warmup_
    base = model.predict(wetland, wetland.index[[250, 280]])
    changed = wetland.copy()
    changed.iloc[251:] *= 1.7
    pd.testing.assert_frame_equal(base.iloc[:2 * len(TARGETS)], model.predict(changed, wetland.index[[250]]))
    loaded = model_from_files(model.to_files())
    pd.testing.assert_frame_equal(base, loaded.predict(wetland, wetland.index[[250, 280]]))
