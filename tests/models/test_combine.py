"""Issue 12 items 3, 4, 6: the statistical models (auto-ets, auto-arima, mstl), the ensemble and auto.

Small synthetic daily series; the statistical models are fitted once and filtered causally (a forecast from an
origin does not change when data after it change), the ensemble's weights and auto's pick see the training
part only (changing the test rows changes neither), everything saves as JSON and loads back the same."""

import json

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("statsforecast")

from wq.config import Pipeline  # noqa: E402
from wq.errors import ConfigError, DataError  # noqa: E402
from wq.evaluate.backtest import evaluate_split, split_point  # noqa: E402
from wq.models.ensemble import combination_weights  # noqa: E402
from wq.models.registry import load_model, make_model  # noqa: E402
from wq.run import choice_notes  # noqa: E402

FAST = ["persistence", "seasonal-naive", "auto-ets"]


def series(n=180, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = 20 + 3 * np.sin(2 * np.pi * t / 7) + np.cumsum(rng.normal(0, 0.3, n))
    idx = pd.date_range("2022-01-01", periods=n, freq="D", name="time")
    return pd.DataFrame({"y": y, "x": rng.normal(size=n)}, index=idx)


def pipeline(**model) -> Pipeline:
    return Pipeline.from_dict({"name": "combine", "seed": 3, "data": {"target": "y", "drivers": ["x"]},
                               "split": {"test": 0.3, "validation": 0.25}, "preprocess": {"wavelet": False},
                               "model": {"lags": 5, "max_iter": 20, **model}})


def later_changed(f: pd.DataFrame, cut: int) -> pd.DataFrame:
    g = f.copy()
    g.iloc[cut:, 0] = g.iloc[cut:, 0] * 1.5 + 7
    return g


def check_causal(model, f, pos):
    """Forecasts (N, h, 1) from ``pos``, finite; unchanged from the origins before a cut when data after it change."""
    out = model.predict_array(f, f.index[pos])
    assert out.shape == (len(pos), model.horizon, 1) and np.isfinite(out).all()
    cut = int(pos[len(pos) // 2])
    changed = model.predict_array(later_changed(f, cut + 1), f.index[pos])
    np.testing.assert_allclose(changed[pos <= cut], out[pos <= cut], rtol=0, atol=1e-9)
    assert not np.allclose(changed[pos > cut + 1], out[pos > cut + 1])  # the data after the cut are read


@pytest.mark.parametrize("name,horizon", [("auto-ets", 3), ("mstl", 2)])
def test_statistical_model_shapes_and_causality(name, horizon):
    f = series()
    model = make_model(name, targets=["y"], horizon=horizon).fit(f.iloc[:126], val_fraction=0.2)
    assert model.n_fit_ == 126 - 25  # fitted on the fitting rows only
    check_causal(model, f, np.arange(125, len(f) - horizon))


def test_auto_arima_causal_at_horizons_one_and_two():
    f = series(110)
    model = make_model("auto-arima", targets=["y"], horizon=2).fit(f.iloc[:80])
    check_causal(model, f, np.arange(79, 108))  # horizon 2: projected from the filtered states
    model.horizon = 1
    check_causal(model, f, np.arange(79, 109))  # horizon 1


def test_statistical_model_save_load_is_json_only(tmp_path):
    f = series()
    for name in ("auto-ets", "mstl"):
        model = make_model(name, targets=["y"], horizon=2).fit(f.iloc[:120])
        files = model.to_files()
        assert set(files) == {"model.json"}
        json.loads(files["model.json"])
        back = load_model(model.save(tmp_path / name))
        np.testing.assert_array_equal(back.predict_array(f, f.index[119:170]), model.predict_array(f, f.index[119:170]))


def test_statistical_model_gaps():
    f = series()
    with pytest.raises(DataError, match="unbroken record"):
        make_model("auto-ets", targets=["y"]).fit(f.iloc[:120].assign(y=lambda d: d["y"].where(d.index != d.index[50])))
    model = make_model("auto-ets", targets=["y"]).fit(f.iloc[:120])
    gappy = f.copy()
    gappy.iloc[140, 0] = np.nan
    out = model.predict_array(gappy, gappy.index[130:170])[:, 0, 0]
    assert np.isfinite(out[:10]).all() and np.isnan(out[10:]).all()  # skipped from the gap on, never filled


def test_missing_statsforecast_is_one_line_naming_the_extra(monkeypatch):
    import wq.models.statistical as st

    monkeypatch.setattr(st.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ConfigError, match=r"pip install 'wq\[stats\]'") as exc:
        make_model("mstl", targets=["y"])
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("method", ["equal", "inverse-mse", "stacked"])
def test_combination_weights_nonnegative_and_sum_to_one(method):
    rng = np.random.default_rng(1)
    obs = rng.normal(size=200)
    pred = np.column_stack([obs + rng.normal(0, s, 200) for s in (0.1, 0.5, 2.0)])
    pred[3, 1] = np.nan  # rows with a missing forecast are left out
    w = combination_weights(pred, obs, method)
    assert w.shape == (3,) and (w >= 0).all() and w.sum() == pytest.approx(1.0)
    if method != "equal":
        assert w[0] > w[1] > w[2]


def test_stacked_weights_recover_a_convex_combination():
    rng = np.random.default_rng(2)
    a, b, c = rng.normal(size=(3, 300))
    w = combination_weights(np.column_stack([a, b, c]), 0.7 * a + 0.3 * b, "stacked")
    np.testing.assert_allclose(w, [0.7, 0.3, 0.0], atol=1e-3)


def test_ensemble_weights_and_members_come_from_the_training_part_only():
    f = series()
    pipe = pipeline(name="ensemble", members=FAST, weights="stacked")
    start = split_point(len(f), pipe.split.test)
    one = evaluate_split(pipe, f, ["ensemble"])
    two = evaluate_split(pipe, later_changed(f, start), ["ensemble"])
    w1, w2 = one.models["ensemble"].weights_, two.models["ensemble"].weights_
    np.testing.assert_array_equal(w1, w2)
    assert (w1 >= 0).all() and w1.sum() == pytest.approx(1.0)
    models = set(one.predictions["model"])
    assert models == {"ensemble", *(f"ensemble/{m}" for m in FAST)}  # members' forecasts kept
    p = one.predictions
    combined = sum(w * p[p["model"] == f"ensemble/{m}"]["predicted"].to_numpy() for w, m in zip(w1[0], FAST))
    np.testing.assert_allclose(p[p["model"] == "ensemble"]["predicted"].to_numpy(), combined)


def test_auto_never_uses_the_test_period_and_saves_its_choice(tmp_path):
    f = series()
    pipe = pipeline(name="auto", candidates=[*FAST, "ensemble"], members=FAST)
    start = split_point(len(f), pipe.split.test)
    one = evaluate_split(pipe, f, ["auto"]).models["auto"]
    two = evaluate_split(pipe, later_changed(f, start), ["auto"]).models["auto"]
    assert one.choice_ == two.choice_
    assert pd.Timestamp(one.choice_["folds"][-1][1]) < f.index[start]  # every fold block inside the training part
    assert one.choice_["picked"] in one.choice_["mean"]
    assert min(one.choice_["mean"].values()) == one.choice_["mean"][one.choice_["picked"]]
    assert "picked" in choice_notes({"auto": one})[0]
    back = load_model(one.save(tmp_path / "auto"))
    assert back.choice_ == json.loads(json.dumps(one.choice_))
    np.testing.assert_array_equal(back.predict_array(f, f.index[start:170]), one.predict_array(f, f.index[start:170]))


def test_ensemble_save_load_round_trip(tmp_path):
    f = series()
    ens = pipeline(name="ensemble", members=FAST).make_model().fit(f.iloc[:130], val_fraction=0.25)
    back = load_model(ens.save(tmp_path / "ens"))
    assert back.member_names == FAST
    np.testing.assert_array_equal(back.weights_, ens.weights_)
    np.testing.assert_array_equal(back.predict_array(f, f.index[129:175]), ens.predict_array(f, f.index[129:175]))


@pytest.mark.parametrize("model,message", [
    ({"name": "ensemble", "members": ["hgb", "arima"]}, "unknown model 'arima'"),
    ({"name": "ensemble", "members": ["hgb", "ensemble"]}, "cannot hold itself"),
    ({"name": "ensemble", "members": ["hgb", "auto"]}, "cannot hold an auto model"),
    ({"name": "auto", "candidates": ["hgb", "auto"]}, "cannot hold itself"),
    ({"name": "ensemble", "members": ["hgb", "hgb"]}, "repeats a model"),
    ({"name": "ensemble", "weights": "best"}, "weights"),
    ({"name": "ensemble", "members": ["hgb", "dwt-pca-lstm"]}, "wavelet"),
])
def test_combination_config_errors_are_one_line_at_load(model, message):
    with pytest.raises(ConfigError, match=message) as exc:
        pipeline(**model)
    assert "\n" not in str(exc.value) and "[model]" in str(exc.value) or "wavelet" in str(exc.value)


def test_auto_span_lengthens_the_folds_inside_the_training_part():
    short = pipeline(name="auto", candidates=FAST, auto_folds=2).make_model()
    long = pipeline(name="auto", candidates=FAST, auto_folds=2, auto_span=0.4).make_model()
    assert short.fold_bounds(200, 0.2) == [(160, 180), (180, 200)]
    assert long.fold_bounds(200, 0.2) == [(120, 160), (160, 200)]
    with pytest.raises(ConfigError):
        pipeline(name="auto", auto_span=1.5)


def test_statistical_models_carry_through_gaps_causally_when_asked():
    f = series()
    f.iloc[40:52, 0] = np.nan  # a 12-day outage inside the fitting rows
    with pytest.raises(DataError, match="unbroken"):
        make_model("auto-ets", targets=["y"]).fit(f.iloc[:120])
    model = make_model("auto-ets", targets=["y"], model={"stat_gaps": "carry"}).fit(f.iloc[:120])
    out = model.predict_array(f, f.index[[45, 60, 130]])
    assert np.isnan(out[0]).all() and np.isfinite(out[1:]).all()  # no forecast from an origin inside the gap
    g = later_changed(f, 131)
    np.testing.assert_array_equal(model.predict_array(g, f.index[[60, 130]]), out[1:])
