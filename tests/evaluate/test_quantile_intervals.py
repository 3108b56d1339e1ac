"""Quantile gradient boosting intervals (``intervals = "quantile"``) and conformalised quantile regression
(``"cqr"``) through ``wq run``: bounds from hgb's quantile-loss regressors, the CQR correction from the
validation tail only, other models on ACI with a warning, causal."""

import functools
import warnings

import numpy as np
import pandas as pd
import pytest

from wq.config import Pipeline
from wq.data.simulate import simulate_wetland
from wq.evaluate.backtest import evaluate_split
from wq.evaluate.quantile import apply_quantile_bounds, cqr_corrections, taus
from wq.run import load_frame

TOML = """
seed = 3
[data]
path = "{path}"
time = "date"
target = ["nh3n_out_mgl"]
drivers = ["air_temp_c"]
freq = "D"
[split]
test = 0.3
validation = 0.3
[model]
name = "hgb"
lags = 3
horizon = 2
max_iter = 40
[evaluate]
levels = [0.8]
intervals = "{method}"
"""


@pytest.fixture(scope="module")
def wetland(tmp_path_factory):
    d = tmp_path_factory.mktemp("quant")
    sim = simulate_wetland(days=200, seed=5, missing=False)
    sim.to_csv(d / "w.csv", index=False)
    return d, sim


@functools.lru_cache(maxsize=None)
def _split(d, method):
    """evaluate_split of persistence and hgb under ``method`` (cached: the tests share the runs)."""
    (d / f"{method}.toml").write_text(TOML.format(path="w.csv", method=method))
    pipe = Pipeline.load(d / f"{method}.toml")
    frame, mask, _ = load_frame(pipe)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = evaluate_split(pipe, frame, ["persistence", "hgb"], observed_mask=mask)
    return res, [str(w.message) for w in caught]


def test_quantile_and_cqr_bounds(wetland):
    d, _ = wetland
    assert taus([0.8, 0.95]) == [0.025, 0.1, 0.9, 0.975]
    q, said = _split(d, "quantile")
    assert any("persistence has no quantile models" in m for m in said)
    c, _ = _split(d, "cqr")
    a, _ = _split(d, "aci")
    for res in (q, c):
        hgb = res.predictions[res.predictions.model == "hgb"]
        assert hgb["lower_80"].notna().all() and (hgb["lower_80"] <= hgb["upper_80"]).all()
        assert hgb["crps"].notna().any()  # CRPS and p_limit from the split pool
    qh, ch = (r.predictions[r.predictions.model == "hgb"].reset_index(drop=True) for r in (q, c))
    pd.testing.assert_series_equal(qh["predicted"], ch["predicted"])
    # CQR moves both quantile bounds by the same amount per step (the validation correction)
    shift = (qh["lower_80"] - ch["lower_80"]).groupby(qh["step"]).nunique()
    assert (shift == 1).all() and not np.allclose(qh["lower_80"], ch["lower_80"])
    np.testing.assert_allclose(ch["upper_80"] - qh["upper_80"], qh["lower_80"] - ch["lower_80"], atol=1e-9)
    # persistence gets ACI intervals under quantile: identical to the aci run's
    pq, pa = (r.predictions[r.predictions.model == "persistence"].reset_index(drop=True) for r in (q, a))
    pd.testing.assert_series_equal(pq["lower_80"], pa["lower_80"])
    assert {"coverage_80", "interval_score_80"} <= set(c.metrics.columns)


def test_cqr_correction_is_the_finite_sample_rank():
    val = pd.DataFrame({"target": "y", "step": 1, "observed": np.arange(9.0), "time": pd.date_range("2020", periods=9),
                        "origin": pd.date_range("2019-12-31", periods=9)})
    bounds = {"lower_80": np.full(9, 2.0), "upper_80": np.full(9, 5.0)}
    corr = cqr_corrections(val, bounds, [0.8])  # scores max(2 - y, y - 5) = 2 1 0 -1 -1 0 1 2 3; k = ceil(10 * .8)
    assert corr == {("y", 1): {0.8: 2.0}}
    out = apply_quantile_bounds(val.assign(lower_80=0.0, upper_80=0.0), bounds, [0.8], corr)
    assert (out["lower_80"] == 0.0).all() and (out["upper_80"] == 7.0).all()


def test_cqr_intervals_are_causal(wetland):
    d, sim = wetland
    changed = sim.copy()
    t = len(sim) - 25
    cols = [c for c in sim.columns if c != "date"]
    changed.loc[t + 1:, cols] = changed.loc[t + 1:, cols] * 1.3 + 2
    changed.to_csv(d / "c.csv", index=False)
    (d / "b.toml").write_text(TOML.format(path="c.csv", method="cqr"))
    pipe = Pipeline.load(d / "b.toml")
    frame, mask, _ = load_frame(pipe)
    b = evaluate_split(pipe, frame, ["hgb"], observed_mask=mask).predictions
    a, _ = _split(d, "cqr")
    a = a.predictions[a.predictions.model == "hgb"]
    last = pd.Timestamp(sim["date"].iloc[t])
    cut = [x[x.origin <= last].drop(columns=["observed", "crps"]).reset_index(drop=True) for x in (a, b)]
    assert len(cut[0]) > 10 and cut[0]["lower_80"].notna().all()
    pd.testing.assert_frame_equal(*cut)


def test_saved_hgb_keeps_its_quantile_models(wetland, tmp_path):
    from wq.models.registry import load_model

    d, _ = wetland
    pipe = Pipeline.load(d / "cqr.toml")  # written by the first test of this module
    frame, _, _ = load_frame(pipe)
    model = pipe.make_model("hgb")
    assert model.component.quantiles == [0.1, 0.9]  # from [evaluate] levels = [0.8]
    model.fit(frame.iloc[:150], val_fraction=0.3)
    model.save(tmp_path / "m")
    back = load_model(tmp_path / "m")
    origins = frame.index[140:150]
    want = model.predict_quantiles(frame, origins, [0.1, 0.9])
    got = back.predict_quantiles(frame, origins, [0.1, 0.9])
    for tau in (0.1, 0.9):
        np.testing.assert_array_equal(got[tau], want[tau])
    assert (want[0.1] < want[0.9]).mean() > 0.9
