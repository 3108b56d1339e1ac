"""The pipeline objective: search space from the pipeline, settings applied by dotted name, the wavelet-level
constraint, fitness = mean fold metric on the training rows, failures, picklability, 1 vs 2 workers."""

import math
import pickle

import numpy as np
import pandas as pd
import pytest
import pywt
import torch

from wq.config import DEFAULTS, Pipeline
from wq.data.simulate import simulate_wetland
from wq.errors import ConfigError
from wq.evaluate.backtest import evaluate_folds, split_point
from wq.run import load_frame
from wq.seed import seed_everything
from wq.tune import GeneticTuner, Param, Space, default_space
from wq.tune.objective import (
    PipelineObjective,
    apply_settings,
    check_setting,
    current_settings,
    fitness_from_folds,
    pipeline_space,
)

torch.set_num_threads(1)
QUIET = {"log": lambda message: None}
SMALL = Space((Param("model.lags", "int", 3, 8), Param("model.hidden", "int", 4, 12),
               Param("preprocess.wavelet.wavelet", "choice", choices=("db2", "haar"))))


@pytest.fixture(scope="module")
def data_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("objective") / "wetland.csv"
    simulate_wetland(days=260, seed=3, missing=False).to_csv(path, index=False)
    return path


def make_pipeline(data_path, **sections) -> Pipeline:
    raw = {"name": "tiny", "seed": 3,
           "data": {"path": str(data_path), "time": "date", "target": ["cod_out_mgl"],
                    "drivers": ["air_temp_c", "rain_mm", "inflow_m3d"], "freq": "D"},
           "preprocess": {"wavelet": {"wavelet": "db2", "level": 1, "window": 32, "mode": "causal"}},
           "model": {"epochs": 2, "hidden": 6, "patience": 2, "lags": 5}}
    for key, table in sections.items():
        raw[key] = {**raw.get(key, {}), **table}
    return Pipeline.from_dict(raw)


@pytest.fixture(scope="module")
def pipe(data_path):
    return make_pipeline(data_path)


@pytest.fixture(scope="module")
def train(pipe):
    frame, _, _ = load_frame(pipe)
    return frame.iloc[:split_point(len(frame), pipe.raw["split"]["test"])]


def objective(pipe, train, **kw):
    kw = {"folds": 2, "metric": "MAPE", **kw}
    return PipelineObjective(pipe.raw, pipe.base_dir, train, **kw)


# --- the search space ----------------------------------------------------------------------------------------
def test_every_default_space_name_is_a_real_pipeline_setting(pipe):
    for p in default_space():
        node = DEFAULTS
        for key in p.name.split("."):
            assert key in node, p.name
            node = node[key]
        check_setting(pipe, p.name)  # raises if not tunable


@pytest.mark.parametrize("name, message", [
    ("split.test", "only model"), ("data.path", "only model"), ("model.hiden", "not a setting"),
    ("model.name", "model is fixed"), ("preprocess.wavelet.levels", "not a preprocessing setting"),
    ("preprocess.wave.level", "not a preprocessing setting")])
def test_settings_that_cannot_be_tuned_are_refused(pipe, name, message):
    with pytest.raises(ConfigError, match=message):
        check_setting(pipe, name)


def test_a_setting_of_a_disabled_stage_is_refused(data_path):
    pipe = make_pipeline(data_path, preprocess={"wavelet": False},
                         tune={"space": {"preprocess.wavelet.level": {"low": 1, "high": 3, "type": "int"}}})
    with pytest.raises(ConfigError, match="no wavelet stage"):
        pipeline_space(pipe)


def test_declared_space_is_used_as_declared(data_path):
    pipe = make_pipeline(data_path, tune={"space": {"model": {"lags": {"low": 3, "high": 9, "type": "int"}},
                                                    "preprocess.wavelet.wavelet": ["db2", "haar"]}})
    space, _ = pipeline_space(pipe)
    assert space.names == ["model.lags", "preprocess.wavelet.wavelet"]
    assert space.params[1].choices == ("db2", "haar")


def names_for(data_path, **sections):
    return set(pipeline_space(make_pipeline(data_path, **sections))[0].names)


def test_default_space_keeps_only_what_reaches_the_model(data_path):
    full = {p.name for p in default_space()}
    assert names_for(data_path) == full  # dwt-pca-lstm with every stage: the whole default space
    wavelet = {n for n in full if n.startswith("preprocess.wavelet.")}
    pca = {"preprocess.pca.variance"}
    assert names_for(data_path, model={"name": "pca-lstm"}) == full - wavelet
    assert names_for(data_path, model={"name": "dwt-lstm"}) == full - pca
    assert names_for(data_path, preprocess={"wavelet": False}) == full - wavelet
    assert names_for(data_path, preprocess={"pca": {"n_components": 2}}) == full - pca
    assert names_for(data_path, model={"name": "dwt-pca-bp"}) == full - {"model.hidden", "model.layers"}
    hgb = names_for(data_path, model={"name": "hgb"})
    assert hgb == {"model.lags", "preprocess.moving_average.window", "model.learning_rate",
                   "model.max_leaf_nodes", "model.l2_regularization", "model.max_iter"}
    with pytest.raises(ConfigError, match="no settings to tune"):
        pipeline_space(make_pipeline(data_path, model={"name": "persistence"}))


def test_current_settings_seed_the_search_only_when_inside_the_space(pipe):
    assert current_settings(SMALL, pipe) == {"model.lags": 5, "model.hidden": 6, "preprocess.wavelet.wavelet": "db2"}
    narrow = Space((Param("model.lags", "int", 6, 8),))
    assert current_settings(narrow, pipe) is None


# --- applying settings -------------------------------------------------------------------------------------------
def test_settings_go_to_their_tables_and_the_level_is_clipped_to_dwt_max_level(pipe):
    p = pipe.copy()
    # coif2 has a filter of 12: pywt.dwt_max_level(32, 12) = floor(log2(32 / 11)) = 1
    assert pywt.dwt_max_level(32, 12) == 1
    notes = apply_settings(p, {"preprocess.wavelet.wavelet": "coif2", "preprocess.wavelet.level": 3,
                               "model.batch": np.int64(16), "preprocess.pca.variance": 0.8})
    assert p.raw["preprocess"]["wavelet"] == {"wavelet": "coif2", "level": 1, "window": 32, "mode": "causal"}
    assert p.raw["model"]["batch"] == 16 and type(p.raw["model"]["batch"]) is int
    assert p.raw["preprocess"]["pca"]["variance"] == 0.8
    assert notes == ["preprocess.wavelet.level 3 -> 1 (pywt.dwt_max_level(32, 'coif2'))"]
    # db2 (filter 4): dwt_max_level(32, 4) = floor(log2(32 / 3)) = 3, so level 3 stays
    q = pipe.copy()
    assert apply_settings(q, {"preprocess.wavelet.level": 3}) == [] and q.raw["preprocess"]["wavelet"]["level"] == 3
    with pytest.raises(ConfigError, match="too short"):  # floor(log2(16 / 11)) = 0: no level possible
        apply_settings(pipe.copy(), {"preprocess.wavelet.wavelet": "coif2", "preprocess.wavelet.window": 16})


# --- fitness -------------------------------------------------------------------------------------------------------
def test_fitness_is_the_mean_over_folds_and_targets_with_skill_scores_as_one_minus():
    folds = pd.DataFrame({"fold": [0, 0, 1, 1], "target": ["a", "b", "a", "b"], "MAPE": [10.0, 20.0, 30.0, 40.0],
                          "NSE": [0.5, 0.7, 0.9, -0.1], "RMSE": [1.0, 2.0, 3.0, np.nan]})
    assert fitness_from_folds(folds, "MAPE") == 25.0
    assert fitness_from_folds(folds, "mape") == 25.0
    assert fitness_from_folds(folds, "NSE") == pytest.approx(1 - 0.5)
    assert fitness_from_folds(folds, "RMSE") == math.inf
    with pytest.raises(ConfigError):
        fitness_from_folds(folds, "accuracy")


def test_objective_is_the_mean_fold_metric_on_the_training_rows(pipe, train):
    obj = objective(pipe, train, epochs=2)
    params = {"model.lags": 4, "model.hidden": 5, "preprocess.wavelet.wavelet": "haar"}
    value = obj(params, 11)
    manual = pipe.copy()
    manual.raw["model"].update(lags=4, hidden=5, epochs=2)
    manual.raw["preprocess"]["wavelet"]["wavelet"] = "haar"
    manual.raw["seed"] = 11
    seed_everything(11)
    folds = evaluate_folds(manual, train, "dwt-pca-lstm", 2)
    assert value == pytest.approx(folds["MAPE"].mean(), rel=1e-12)
    assert obj(params, 11) == value  # reproducible from the seed
    assert obj(params, 12) != value  # and the seed matters
    again = pickle.loads(pickle.dumps(obj))  # picklable for worker processes
    assert again(params, 11) == value
    assert pipe.raw["model"]["lags"] == 5 and pipe.raw["seed"] == 3  # the pipeline itself is untouched


def test_objective_fingerprint_follows_the_training_rows(pipe, train):
    a = objective(pipe, train).fingerprint()
    assert a == objective(pipe, train.copy()).fingerprint()
    changed = train.copy()
    changed.iloc[-1, 0] += 1.0
    assert objective(pipe, changed).fingerprint()["training_rows_sha256"] != a["training_rows_sha256"]
    assert objective(pipe, train, metric="nse").fingerprint()["metric"] == "NSE"


def test_objective_rejects_a_bad_setup(pipe, train):
    with pytest.raises(ConfigError, match="too few"):
        objective(pipe, train, folds=40)
    with pytest.raises(ConfigError):
        objective(pipe, train, metric="accuracy")
    with pytest.raises(ConfigError, match="folds"):
        objective(pipe, train, folds=0)
    with pytest.raises(ConfigError, match="DatetimeIndex"):
        objective(pipe, train.reset_index())


def test_an_individual_that_fails_gets_the_worst_fitness_and_the_run_goes_on(pipe, train):
    # window 4 is too short for db2 (dwt_max_level(4, 4) = 0): a ConfigError inside the objective
    space = Space((Param("preprocess.wavelet.window", "choice", choices=(4, 32)), Param("model.lags", "int", 3, 6)))
    res = GeneticTuner(space, objective(pipe, train), population=4, generations=1, hof_size=1, seed=2,
                       initial=[{"preprocess.wavelet.window": 4, "model.lags": 3},
                                {"preprocess.wavelet.window": 32, "model.lags": 3}], **QUIET).run()
    ev = res.evaluations
    bad = ev[ev["preprocess.wavelet.window"] == 4]
    assert len(bad) and np.isinf(bad["fitness"]).all() and bad["error"].str.contains("too short").all()
    assert res.n_failed >= 1 and math.isfinite(res.best_fitness)
    assert res.best_params["preprocess.wavelet.window"] == 32


def test_one_and_two_workers_give_the_same_run(pipe, train):
    kw = dict(population=4, generations=1, hof_size=1, seed=5, **QUIET)
    one = GeneticTuner(SMALL, objective(pipe, train), workers=1, **kw).run()
    two = GeneticTuner(SMALL, objective(pipe, train), workers=2, **kw).run()
    pd.testing.assert_frame_equal(one.evaluations.drop(columns="seconds"), two.evaluations.drop(columns="seconds"))
    assert one.best_params == two.best_params and one.best_fitness == two.best_fitness
    assert np.isfinite(one.evaluations["fitness"]).all()
