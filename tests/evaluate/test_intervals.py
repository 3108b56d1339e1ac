"""Issue 13: conformal intervals (split and ACI), probabilistic scores against hand-computed values, limits and
their errors, causality of the intervals, and `wq run` writing interval columns, metrics and limits.csv."""

import tomllib

import numpy as np
import pandas as pd
import pytest

from wq.cli import main
from wq.config import DEFAULT_PIPELINE, Pipeline
from wq.data.simulate import simulate_wetland
from wq.errors import ConfigError
from wq.evaluate import probabilistic as pr
from wq.evaluate.calibration import interval_table, limit_table
from wq.evaluate.conformal import (add_intervals, bound_columns, conformal_offsets, exceed_probability, level_key,
                                   residual_pools)


# ----------------------------------------------------------------------------------------- pure scores by hand
def test_scores_against_hand_computed_values():
    y, lo, hi = [1.0, 5.0, 10.0], [0.0, 6.0, 8.0], [2.0, 7.0, 9.0]
    assert pr.coverage(y, lo, hi) == pytest.approx(1 / 3)
    assert pr.mean_width(lo, hi) == pytest.approx(4 / 3)
    # alpha 0.2: widths 2, 1, 1; penalties 0, 2/0.2*1 = 10, 2/0.2*1 = 10 -> (2 + 11 + 11) / 3
    assert pr.interval_score(y, lo, hi, 0.2) == pytest.approx(8.0)
    # tau 0.9 at q = 2: y - q = -1, 3, 8 -> 0.1, 2.7, 7.2
    assert pr.pinball([1.0, 5.0, 10.0], [2.0, 2.0, 2.0], 0.9) == pytest.approx((0.1 + 2.7 + 7.2) / 3)
    # samples {1, 3}, y = 2: E|X - y| = 1, E|X - X'| = 1 -> 1 - 0.5
    assert pr.crps_samples([1.0, 3.0], 2.0) == pytest.approx(0.5)
    # one sample is the absolute error
    assert pr.crps_samples([4.0], 1.5) == pytest.approx(2.5)
    p, o = [0.9, 0.2, 0.6, 0.0], [1, 0, 0, 0]
    assert pr.brier(p, o) == pytest.approx((0.01 + 0.04 + 0.36 + 0) / 4)
    assert pr.brier_skill(p, o, 0.25) == pytest.approx(1 - 0.1025 / 0.1875)
    assert pr.hit_rate(p, o, 0.5) == 1.0
    assert pr.false_alarm_rate(p, o, 0.5) == pytest.approx(1 / 3)
    rel = pr.reliability(p, o, bins=2)
    assert rel["n"].tolist() == [2, 2] and rel["observed"].tolist() == [0.0, 0.5]


def test_crps_pool_matches_the_sample_formula():
    rng = np.random.default_rng(0)
    r = np.sort(rng.normal(size=37))
    e = rng.normal(size=5)
    brute = [np.mean(np.abs(r - x)) - 0.5 * np.mean(np.abs(r[:, None] - r[None, :])) for x in e]
    assert pr.crps_pool_each(r, e) == pytest.approx(brute)


def test_finite_sample_ranks_and_exceedance():
    r = np.arange(1.0, 20.0)  # n = 19: alpha 0.1 -> ranks floor(20 * 0.05) = 1 and ceil(20 * 0.95) = 19
    assert conformal_offsets(r, 0.1) == (1.0, 19.0, False)
    assert conformal_offsets(r, 0.02)[2]  # too few errors for 98 %: clipped and said so
    assert exceed_probability(r, [0.0], ("above", 10.0))[0] == pytest.approx(9 / 19)
    assert exceed_probability(r, [0.0], ("below", 10.0))[0] == pytest.approx(9 / 19)
    assert level_key(0.8) == "80" and level_key(0.975) == "97.5"
    assert bound_columns([0.8, 0.95]) == ["lower_80", "upper_80", "lower_95", "upper_95"]


# ----------------------------------------------------------------------------------------- synthetic coverage
def _frame(noise, step=1, start="2020-01-01"):
    n = len(noise)
    origin = pd.date_range(start, periods=n, freq="D")
    yhat = np.sin(np.arange(n) / 9.0) * 3
    return pd.DataFrame({"origin": origin, "time": origin + pd.Timedelta(days=step), "step": step, "target": "y",
                         "predicted": yhat, "observed": yhat + noise})


@pytest.mark.parametrize("method", ["split", "aci"])
def test_coverage_on_iid_noise_is_nominal(method):
    rng = np.random.default_rng(1)
    cal = _frame(rng.standard_t(5, size=600))
    test = _frame(rng.standard_t(5, size=4000), start="2022-01-01")
    pools = residual_pools(cal)
    out = add_intervals(test, pools, [0.8, 0.95], method, gamma=0.005).assign(model="m")
    table = interval_table(out, [0.8, 0.95])
    assert table["coverage_80"].iloc[0] == pytest.approx(0.8, abs=0.03)
    assert table["coverage_95"].iloc[0] == pytest.approx(0.95, abs=0.03)
    assert table["CRPS"].iloc[0] > 0


def test_aci_adapts_after_a_shift_where_split_does_not():
    rng = np.random.default_rng(2)
    pools = residual_pools(_frame(rng.normal(size=400)))
    test = _frame(np.concatenate([rng.normal(size=300), 3 * rng.normal(size=1200)]), start="2022-01-01")
    late = slice(600, None)  # well after the shift
    cov = {}
    for method in ("split", "aci"):
        out = add_intervals(test, pools, [0.8], method, gamma=0.02)
        y, lo, hi = out["observed"], out["lower_80"], out["upper_80"]
        cov[method] = pr.coverage(y[late], lo[late], hi[late])
    assert cov["split"] < 0.45  # the validation errors are three times too small now
    assert cov["aci"] == pytest.approx(0.8, abs=0.05)


def test_aci_interval_at_t_ignores_later_observations():
    rng = np.random.default_rng(3)
    pools = residual_pools(_frame(rng.normal(size=200), step=3))
    test = _frame(rng.normal(size=300), step=3, start="2022-01-01")
    a = add_intervals(test, pools, [0.8, 0.95], "aci", gamma=0.05, limits={"y": ("above", 2.0)})
    t = test["origin"].iloc[150]
    changed = test.copy()
    later = changed["time"] > t
    changed.loc[later, "observed"] = changed.loc[later, "observed"] * 5 + 7
    b = add_intervals(changed, pools, [0.8, 0.95], "aci", gamma=0.05, limits={"y": ("above", 2.0)})
    cols = [*bound_columns([0.8, 0.95]), "p_limit"]
    upto = test["origin"] <= t
    pd.testing.assert_frame_equal(a.loc[upto, cols], b.loc[upto, cols])
    assert not a.loc[~upto, cols].equals(b.loc[~upto, cols])  # and later ones do move


def test_limit_table_brier_against_climatology():
    pred = pd.DataFrame({"model": "m", "target": "y", "step": 1, "observed": [1.0, 6.0, 2.0, 7.0],
                         "p_limit": [0.1, 0.8, 0.3, 0.6]})
    t = limit_table(pred, {"y": ("above", 5.0)}, {"y": 0.25}, warn=0.3, alarm=0.6).iloc[0]
    assert t["events"] == 2 and t["Brier"] == pytest.approx((0.01 + 0.04 + 0.09 + 0.16) / 4)
    assert t["Brier_climatology"] == pytest.approx((0.0625 * 2 + 0.5625 * 2) / 4)
    assert t["hit_rate_alarm"] == 1.0 and t["false_alarm_rate_warn"] == 0.5


# ----------------------------------------------------------------------------------------- settings and errors
def _base():
    return tomllib.loads(DEFAULT_PIPELINE.read_text())


@pytest.mark.parametrize("table, message", [
    ({"evaluate": {"levels": [0.8, 1.0]}}, "[evaluate] levels: levels must lie strictly between 0 and 1"),
    ({"evaluate": {"levels": [0.0]}}, "strictly between 0 and 1"),
    ({"limits": {"nh3n_out": {"above": 5.0}}}, "[limits] nh3n_out: not a target of the pipeline (did you mean"),
    ({"limits": {"nh3n_out_mgl": {"above": 5.0, "below": 1.0}}}, "give exactly one of above"),
    ({"limits": {"nh3n_out_mgl": 5.0}}, "a limit is a table"),
    ({"limits": {"warn": 0.8, "alarm": 0.5}}, "warn (0.8) must not exceed alarm (0.5)"),
])
def test_bad_levels_and_limits_are_one_line_errors(table, message):
    with pytest.raises(ConfigError) as err:
        Pipeline.from_dict({**_base(), **table})
    assert message in str(err.value) and "\n" not in str(err.value)


def test_limits_round_trip_through_the_saved_pipeline():
    p = Pipeline.from_dict({**_base(), "limits": {"alarm": 0.7, "nh3n_out_mgl": {"above": 5.0}}})
    q = Pipeline.from_dict(tomllib.loads(p.to_toml()))
    assert q.limits.limits() == {"nh3n_out_mgl": ("above", 5.0)} and q.limits.alarm == 0.7
    assert q.limits.level(0.65) == "warn" and q.limits.level(0.7) == "alarm" and q.limits.level(0.1) == ""


# ----------------------------------------------------------------------------------------- wq run end to end
TOML = """
name = "prob"
seed = 3
[data]
path = "{path}"
time = "date"
target = ["nh3n_out_mgl", "tp_out_mgl"]
drivers = ["air_temp_c", "inflow_m3d"]
freq = "D"
[split]
test = 0.4
validation = 0.25
[model]
name = "mlr"
lags = 3
[evaluate]
levels = [0.8, 0.95]
intervals = "{method}"
[limits]
nh3n_out_mgl = {{ above = 17.0 }}
tp_out_mgl = {{ above = 99.0 }}
"""


@pytest.fixture(scope="module")
def wetland(tmp_path_factory):
    d = tmp_path_factory.mktemp("prob")
    sim = simulate_wetland(days=240, seed=4, missing=False)
    sim.to_csv(d / "w.csv", index=False)
    return d, sim


def test_run_writes_intervals_scores_limits_causally_and_warns_of_an_unreached_limit(wetland, tmp_path, capsys):
    d, _ = wetland
    (d / "p.toml").write_text(TOML.format(path="w.csv", method="aci"))
    assert main(["run", str(d / "p.toml"), "--out", str(tmp_path / "o"), "--quiet", "--models", "persistence,mlr"]) == 0
    assert "[limits] tp_out_mgl: never above 99 in the training period" in capsys.readouterr().err
    pred = pd.read_csv(tmp_path / "o" / "predictions.csv")
    assert {"lower_80", "upper_80", "lower_95", "upper_95", "p_limit"} <= set(pred.columns)
    assert (pred["lower_95"] <= pred["lower_80"]).all() and (pred["upper_80"] <= pred["upper_95"]).all()
    metrics = pd.read_csv(tmp_path / "o" / "metrics.csv")
    assert {"coverage_80", "width_95", "interval_score_80", "pinball", "CRPS"} <= set(metrics.columns)
    limits = pd.read_csv(tmp_path / "o" / "limits.csv")
    assert set(limits["target"]) == {"nh3n_out_mgl", "tp_out_mgl"} and limits["Brier"].notna().all()
    report = (tmp_path / "o" / "report.md").read_text()
    assert "## Intervals" in report and "## Limits and alarms" in report and "never above 99" in report
    assert (tmp_path / "o" / "figures" / "fan_nh3n_out_mgl.png").is_file()
    assert (tmp_path / "o" / "figures" / "reliability_nh3n_out_mgl.png").is_file()
    # causality: the same run on data changed after t gives the same forecasts, intervals and probabilities up to t
    d, sim = wetland
    changed = sim.copy()
    t = len(sim) - 40
    cols = [c for c in sim.columns if c != "date"]
    changed.loc[t + 1:, cols] = changed.loc[t + 1:, cols] * 1.2 + 1
    changed.to_csv(d / "c.csv", index=False)
    (d / "b.toml").write_text(TOML.format(path="c.csv", method="aci"))
    assert main(["run", str(d / "b.toml"), "--out", str(tmp_path / "b"), "--quiet", "--models", "persistence,mlr"]) == 0
    a, b = (pd.read_csv(tmp_path / n / "predictions.csv", parse_dates=["origin"]) for n in "ob")
    last = pd.Timestamp(sim["date"].iloc[t])
    pd.testing.assert_frame_equal(a[a.origin <= last].drop(columns="observed").reset_index(drop=True),
                                  b[b.origin <= last].drop(columns="observed").reset_index(drop=True))
