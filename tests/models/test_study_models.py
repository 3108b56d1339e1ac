"""The constructed-wetland study's models (Yang et al. 2023): MLR is ordinary least squares on the windows, the
BPNN one hidden layer on the cleaned target and raw drivers, the GA-BPNN a BPNN whose settings a GA picks by
validation error only. Fit, predict, causality and save/load of all three are in test_models.py."""

import numpy as np
import pandas as pd
import pytest

from wq.errors import ConfigError
from wq.evaluate.backtest import validation_scores
from wq.models import load_model, make_model
from wq.preprocess import PreprocessParams

FAST = {"hidden": 6, "epochs": 5, "patience": 3, "batch": 64, "lr": 3e-3, "dropout": 0.0}
DRIVERS = ["air_temp_c", "rain_mm", "inflow_m3d"]


def pre(window=1):
    return PreprocessParams(moving_average={"window": window}).build()


def linear_frame(n=200, seed=0):
    """y(t+1) = 0.6 y(t) + 0.3 x(t) + 2 exactly: OLS on one lag of y and x recovers it."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10, n)
    y = np.empty(n)
    y[0] = 10.0
    for t in range(n - 1):
        y[t + 1] = 0.6 * y[t] + 0.3 * x[t] + 2.0
    idx = pd.date_range("2020-01-01", periods=n, freq="D", name="time")
    return pd.DataFrame({"y": y, "x": x}, index=idx)


def test_mlr_recovers_an_exact_linear_law_out_of_sample():
    frame = linear_frame()
    model = make_model("mlr", targets=["y"], drivers=["x"], lags=1, change=False, seed=0,
                       preprocess=PreprocessParams(outliers=False, moving_average=False, wavelet=False,
                                                   pca=False).build())
    model.fit(frame.iloc[:120])
    pred = model.predict_array(frame, frame.index[130:190])[:, 0, 0]
    np.testing.assert_allclose(pred, frame["y"].to_numpy()[131:191], rtol=1e-6)  # windows are float32
    reg = model.components_[0][3].models_[0]
    assert type(reg).__name__ == "LinearRegression"


def test_bpnn_is_one_hidden_layer_on_the_cleaned_target_and_raw_drivers(wetland):
    model = make_model("bpnn", targets=["cod_out_mgl"], drivers=DRIVERS, lags=4, model={**FAST, "hidden": 7},
                       preprocess=pre(), seed=0).fit(wetland.iloc[:200])
    assert model.preprocessor_.wavelet_ is None and model.preprocessor_.pca_ is None
    net = model.components_[0][3].model_.net
    linear = [m for m in net if type(m).__name__ == "Linear"]
    assert len(linear) == 2 and linear[0].out_features == 7
    assert linear[0].in_features == 4 * (1 + len(DRIVERS))  # lags of the target and of every raw driver
    assert model.components_[0][3].cell == "mlp"


@pytest.fixture(scope="module")
def ga(wetland):
    space = {"hidden": {"low": 4, "high": 8, "type": "int"}, "epochs": {"low": 3, "high": 6, "type": "int"},
             "lags": {"low": 3, "high": 6, "type": "int"}, "ma_window": {"low": 1, "high": 3, "type": "int"},
             "lr": {"low": 3e-3, "high": 3e-3, "type": "log-float"}}  # the template's settings lie on the 3-bit grid
    settings = {**FAST, "lr": 3e-3, "ga_population": 4, "ga_generations": 2, "ga_bits": 3, "ga_space": space}
    model = make_model("ga-bpnn", targets=["cod_out_mgl", "tp_out_mgl"], drivers=DRIVERS, lags=4, model=settings,
                       preprocess=pre(), seed=2)
    return model.fit(wetland.iloc[:220]), settings


def test_ga_bpnn_picks_settings_in_its_space_by_validation_error(ga, wetland):
    model, settings = ga
    p = model.best_params_
    assert 4 <= p["hidden"] <= 8 and 3 <= p["epochs"] <= 6 and 3 <= p["lags"] <= 6 and 1 <= p["ma_window"] <= 3
    assert model.best_.lags == p["lags"] and model.best_.component.hidden == p["hidden"]
    # a gene with one value (lr: low = high) is set, not searched
    assert p["lr"] == 3e-3 and model.best_.component.lr == 3e-3 and "lr" not in model.search_space().names
    assert model.best_.preprocess.moving_average.window == p["ma_window"]
    # its fitness is the validation MAPE of the chosen network, on the training frame only
    val = validation_scores(model.best_, wetland.iloc[:220])
    assert model.best_fitness_ == pytest.approx(float(val["MAPE"].mean()), rel=1e-12)
    assert model.ga_["encoding"] == "binary" and model.ga_["evaluations"] >= 4
    # elitism from the plain BPNN: the template (lags 4, hidden 6, epochs 5, no MA) is in generation 0
    plain = make_model("bpnn", targets=["cod_out_mgl", "tp_out_mgl"], drivers=DRIVERS, lags=4, model=settings,
                       preprocess=pre(), seed=2).fit(wetland.iloc[:220])
    assert model.best_fitness_ <= float(validation_scores(plain, wetland.iloc[:220])["MAPE"].mean()) + 1e-12


def test_ga_bpnn_forecasts_are_those_of_its_chosen_network_and_round_trip(ga, wetland, tmp_path):
    model, _ = ga
    origins = wetland.index[225:260]
    pd.testing.assert_frame_equal(model.predict(wetland, origins), model.best_.predict(wetland, origins))
    model.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert type(loaded).__name__ == "GABPForecaster" and loaded.best_params_ == model.best_params_
    pd.testing.assert_frame_equal(loaded.predict(wetland, origins), model.predict(wetland, origins))
    assert loaded.min_history == model.best_.min_history


def test_ga_bpnn_real_encoding_and_bad_settings(wetland):
    model = make_model("ga-bpnn", targets=["cod_out_mgl"], drivers=DRIVERS, lags=3, preprocess=pre(), seed=0,
                       model={**FAST, "ga_population": 3, "ga_generations": 1, "ga_encoding": "real",
                              "ga_space": {"epochs": {"low": 2, "high": 4, "type": "int"}}})
    model.fit(wetland.iloc[:200])
    assert model.ga_["encoding"] == "real" and np.isfinite(model.best_fitness_)
    with pytest.raises(ConfigError, match="validation"):
        make_model("ga-bpnn", targets=["cod_out_mgl"], model={**FAST, "ga_population": 3}).fit(
            wetland.iloc[:200], val_fraction=0.0)
    with pytest.raises(ConfigError, match="dropout_rate"):
        make_model("ga-bpnn", targets=["cod_out_mgl"], model={"ga_space": {"dropout_rate": [0.1, 0.2]}})
    with pytest.raises(ConfigError, match="ga_population"):
        make_model("ga-bpnn", targets=["cod_out_mgl"], model={"ga_population": 1})


def test_bpnn_with_the_trailing_moving_average_is_causal(wetland):
    model = make_model("bpnn", targets=["cod_out_mgl"], drivers=DRIVERS, lags=4, model=FAST, preprocess=pre(3),
                       seed=0).fit(wetland.iloc[:200])
    rng = np.random.default_rng(1)
    for t in (205, 250):
        base = model.predict(wetland, [wetland.index[t]])
        changed = wetland.copy()
        changed.iloc[t + 1:] = changed.iloc[t + 1:].to_numpy() * rng.uniform(0.2, 3.0, size=changed.iloc[t + 1:].shape)
        pd.testing.assert_frame_equal(base, model.predict(changed, [wetland.index[t]]))
        pd.testing.assert_frame_equal(base, model.predict(wetland.iloc[:t + 1], [wetland.index[t]]))


@pytest.mark.parametrize("name", ["wetland_study", "uci_study"])
def test_study_pipelines_load_with_the_study_models_and_the_moving_average_variant(name):
    from pathlib import Path

    from wq.config import Pipeline

    pipe = Pipeline.load(Path(__file__).resolve().parents[2] / "pipelines" / f"{name}.toml")
    assert {"mlr", "bpnn", "ga-bpnn", "lstm", "persistence", "seasonal-naive", "hgb", "dwt-pca-lstm"} <= set(pipe.models)
    assert pipe.preprocess.moving_average is None and pipe.preprocess.outliers is None and pipe.preprocess.scale
    ma = pipe.variant("ma")
    assert ma.preprocess.moving_average.window == 3 and not ma.preprocess.moving_average.centered
    assert set(pipe.compare.variants["ma"].models) == {"mlr", "bpnn", "ga-bpnn", "lstm"}
    assert pipe.model.ga_encoding == "binary"
