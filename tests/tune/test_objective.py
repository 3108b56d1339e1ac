"""The pipeline objective: search space from the pipeline, settings applied by nested name, the wavelet-level
constraint, fitness = mean fold metric on the training rows, failures, picklability, 1 vs 2 workers."""

import math
import pickle

import numpy as np
import pandas as pd
import pytest
import pywt
import torch

from wq.config import Pipeline
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
SMALL = Space((Param("model__lags", "int", 3, 8), Param("model__hidden", "int", 4, 12),
               Param("preprocess__wavelet__wavelet", "choice", choices=("db2", "haar"))))


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
    return frame.iloc[:split_point(len(frame), pipe.split.test)]


def objective(pipe, train, **kw):
    kw = {"folds": 2, "metric": "MAPE", **kw}
    return PipelineObjective(pipe.to_dict(), pipe.base_dir, train, **kw)


# --- the search space ----------------------------------------------------------------------------------------
def test_every_default_space_name_is_a_real_pipeline_setting(pipe):
    params = pipe.get_params()
    for p in default_space():
        assert p.name in params, p.name
        check_setting(pipe, p.name)  # raises if not tunable


@pytest.mark.parametrize("name, message", [
    ("split__test", "only model"), ("data__path", "only model"), ("model__hiden", "not a setting"),
    ("model__name", "model is fixed"), ("preprocess__wavelet__levels", "not a setting"),
    ("preprocess__wave__level", "not a setting")])
def test_settings_that_cannot_be_tuned_are_refused(pipe, name, message):
    with pytest.raises(ConfigError, match=message):
        check_setting(pipe, name)


def test_a_setting_of_a_disabled_stage_is_refused_when_the_pipeline_loads(data_path):
    with pytest.raises(ConfigError, match="no wavelet stage"):
        make_pipeline(data_path, model={"name": "pca-lstm"}, preprocess={"wavelet": False},
                      tune={"space": {"preprocess.wavelet.level": {"low": 1, "high": 3, "type": "int"}}})
    with pytest.raises(ConfigError, match="splits the target with the wavelet stage"):
        make_pipeline(data_path, preprocess={"wavelet": False})


def test_declared_space_is_used_as_declared(data_path):
    pipe = make_pipeline(data_path, tune={"space": {"model": {"lags": {"low": 3, "high": 9, "type": "int"}},
                                                    "preprocess__wavelet__wavelet": ["db2", "haar"]}})
    space, _ = pipeline_space(pipe)
    assert space.names == ["model__lags", "preprocess__wavelet__wavelet"]
    assert space.params[1].choices == ("db2", "haar")


def names_for(data_path, **sections):
    return set(pipeline_space(make_pipeline(data_path, **sections))[0].names)


def test_default_space_keeps_only_what_reaches_the_model(data_path):
    full = {p.name for p in default_space()}
    assert names_for(data_path) == full  # dwt-pca-lstm with every stage: the whole default space
    wavelet = {n for n in full if n.startswith("preprocess__wavelet__")}
    pca = {"preprocess__pca__variance"}
    assert names_for(data_path, model={"name": "pca-lstm"}) == full - wavelet
    assert names_for(data_path, model={"name": "dwt-lstm"}) == full - pca
    assert names_for(data_path, model={"name": "pca-lstm"}, preprocess={"wavelet": False}) == full - wavelet
    assert names_for(data_path, preprocess={"pca": {"n_components": 2}}) == full - pca
    assert names_for(data_path, model={"name": "dwt-pca-bp"}) == full - {"model__hidden", "model__layers"}
    hgb = names_for(data_path, model={"name": "hgb"})
    assert hgb == {"model__lags", "preprocess__moving_average__window", "model__learning_rate",
                   "model__max_leaf_nodes", "model__l2_regularization", "model__max_iter"}
    with pytest.raises(ConfigError, match="no settings to tune"):
        pipeline_space(make_pipeline(data_path, model={"name": "persistence"}))


def test_current_settings_seed_the_search_only_when_inside_the_space(pipe):
    assert current_settings(SMALL, pipe) == {"model__lags": 5, "model__hidden": 6, "preprocess__wavelet__wavelet": "db2"}
    narrow = Space((Param("model__lags", "int", 6, 8),))
    assert current_settings(narrow, pipe) is None


# --- applying settings -------------------------------------------------------------------------------------------
def test_settings_go_to_their_tables_and_the_level_is_clipped_to_dwt_max_level(pipe):
    # coif2 has a filter of 12: pywt.dwt_max_level(32, 12) = floor(log2(32 / 11)) = 1
    assert pywt.dwt_max_level(32, 12) == 1
    p, notes = apply_settings(pipe, {"preprocess__wavelet__wavelet": "coif2", "preprocess__wavelet__level": 3,
                                     "model__batch": np.int64(16), "preprocess.pca.variance": 0.8})
    w = p.preprocess.wavelet
    assert (w.wavelet, w.level, w.window, w.mode) == ("coif2", 1, 32, "causal")
    assert p.model.batch == 16 and type(p.model.batch) is int
    assert p.preprocess.pca.variance == 0.8
    assert notes == ["preprocess__wavelet__level 3 -> 1 (pywt.dwt_max_level(32, 'coif2'))"]
    assert pipe.preprocess.wavelet.wavelet == "db2"  # the pipeline itself is untouched
    # db2 (filter 4): dwt_max_level(32, 4) = floor(log2(32 / 3)) = 3, so level 3 stays
    q, notes = apply_settings(pipe, {"preprocess__wavelet__level": 3})
    assert notes == [] and q.preprocess.wavelet.level == 3
    with pytest.raises(ConfigError, match="too short"):  # floor(log2(16 / 11)) = 0: no level possible
        apply_settings(pipe, {"preprocess__wavelet__wavelet": "coif2", "preprocess__wavelet__window": 16})


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
    params = {"model__lags": 4, "model__hidden": 5, "preprocess__wavelet__wavelet": "haar"}
    value = obj(params, 11)
    manual = pipe.with_params(model__lags=4, model__hidden=5, model__epochs=2,
                              preprocess__wavelet__wavelet="haar", seed=11)
    seed_everything(11)
    folds = evaluate_folds(manual, train, "dwt-pca-lstm", 2)
    assert value == pytest.approx(folds["MAPE"].mean(), rel=1e-12)
    assert obj(params, 11) == value  # reproducible from the seed
    assert obj(params, 12) != value  # and the seed matters
    again = pickle.loads(pickle.dumps(obj))  # picklable for worker processes
    assert again(params, 11) == value
    assert pipe.model.lags == 5 and pipe.seed == 3  # the pipeline itself is untouched


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
    space = Space((Param("preprocess__wavelet__window", "choice", choices=(4, 32)), Param("model__lags", "int", 3, 6)))
    res = GeneticTuner(space, objective(pipe, train), population=4, generations=1, hof_size=1, seed=2,
                       initial=[{"preprocess__wavelet__window": 4, "model__lags": 3},
                                {"preprocess__wavelet__window": 32, "model__lags": 3}], **QUIET).run()
    ev = res.evaluations
    bad = ev[ev["preprocess__wavelet__window"] == 4]
    assert len(bad) and np.isinf(bad["fitness"]).all() and bad["error"].str.contains("too short").all()
    assert res.n_failed >= 1 and math.isfinite(res.best_fitness)
    assert res.best_params["preprocess__wavelet__window"] == 32


def test_one_and_two_workers_give_the_same_run(pipe, train):
    kw = dict(population=4, generations=1, hof_size=1, seed=5, **QUIET)
    one = GeneticTuner(SMALL, objective(pipe, train), workers=1, **kw).run()
    two = GeneticTuner(SMALL, objective(pipe, train), workers=2, **kw).run()
    pd.testing.assert_frame_equal(one.evaluations.drop(columns="seconds"), two.evaluations.drop(columns="seconds"))
    assert one.best_params == two.best_params and one.best_fitness == two.best_fitness
    assert np.isfinite(one.evaluations["fitness"]).all()
