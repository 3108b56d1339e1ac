import json
import math
import random

import numpy as np
import pandas as pd
import pytest

from wq.errors import ConfigError
from wq.tune import GeneticTuner, Param, Space, derive_seed
from wq.tune.analytic import PEAKS_MAX, negative_peaks, peaks

QUIET = {"log": lambda msg: None}
XY = Space((Param("x", "float", -3, 3), Param("y", "float", -3, 3)))
MIXED = Space((Param("x", "float", -3, 3), Param("y", "float", -3, 3), Param("k", "int", 0, 3),
               Param("c", "choice", choices=["a", "b"])))


def mixed_objective(params, seed):
    return negative_peaks(params, seed) + 0.1 * params["k"] + 0.2 * (params["c"] == "b")


def same_run(a, b):
    pd.testing.assert_frame_equal(a.evaluations.drop(columns="seconds"), b.evaluations.drop(columns="seconds"))
    pd.testing.assert_frame_equal(a.logbook.drop(columns="elapsed"), b.logbook.drop(columns="elapsed"))
    assert a.best_params == b.best_params and a.best_fitness == b.best_fitness
    assert a.best_vector == b.best_vector and a.n_evals == b.n_evals


def test_peaks_function_exists_as_documented():
    assert peaks(-0.00932, 1.58137) == pytest.approx(PEAKS_MAX, abs=1e-6)
    assert peaks(0.0, 0.0) == pytest.approx(3 * math.exp(-1) - math.exp(-1) / 3)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ga_maximises_peaks_within_1e_2(seed):
    res = GeneticTuner(XY, negative_peaks, population=30, generations=30, seed=seed, **QUIET).run()
    assert -res.best_fitness == pytest.approx(PEAKS_MAX, abs=1e-2)
    assert res.best_params["x"] == pytest.approx(-0.009, abs=0.05)
    assert res.best_params["y"] == pytest.approx(1.581, abs=0.05)
    assert res.stopped_because == "generations" and res.strategy == "ga"
    assert res.n_evals <= 30 * 31 and len(res.logbook) == 31


def test_roulette_and_sbx_options_also_find_the_peak():
    res = GeneticTuner(XY, negative_peaks, population=30, generations=30, selection="roulette", crossover="sbx",
                       seed=4, **QUIET).run()
    assert -res.best_fitness == pytest.approx(PEAKS_MAX, abs=5e-2)


def test_same_seed_same_run_and_other_seed_differs():
    a = GeneticTuner(MIXED, mixed_objective, population=10, generations=5, seed=7, **QUIET).run()
    b = GeneticTuner(MIXED, mixed_objective, population=10, generations=5, seed=7, **QUIET).run()
    c = GeneticTuner(MIXED, mixed_objective, population=10, generations=5, seed=8, **QUIET).run()
    same_run(a, b)
    assert a.evaluations["x"].tolist() != c.evaluations["x"].tolist()


def test_objective_reseeding_random_changes_nothing_and_global_random_is_restored():
    def reseeding(params, seed):
        random.seed(seed)  # like seed_everything inside a pipeline objective
        random.random()
        return mixed_objective(params, seed)

    a = GeneticTuner(MIXED, reseeding, population=10, generations=4, seed=1, **QUIET).run()
    b = GeneticTuner(MIXED, mixed_objective, population=10, generations=4, seed=1, **QUIET).run()
    same_run(a, b)
    random.seed(5)
    GeneticTuner(MIXED, mixed_objective, population=10, generations=2, seed=1, **QUIET).run()
    assert random.random() == random.Random(5).random()


def test_identical_settings_are_trained_once():
    calls = []

    def counting(params, seed):
        calls.append((params["a"], params["b"], seed))
        return (params["a"] - 2) ** 2 + (params["b"] != "q")

    sp = Space((Param("a", "int", 0, 4), Param("b", "choice", choices=["p", "q"])))  # 10 distinct settings
    res = GeneticTuner(sp, counting, population=12, generations=8, seed=0, **QUIET).run()
    keys = [c[:2] for c in calls]
    assert len(keys) == len(set(keys)) == res.n_evals <= 10
    ev = res.evaluations
    assert (~ev["cached"]).sum() == len(calls) and ev["cached"].sum() > 0
    assert res.logbook["ntrained"].sum() == len(calls) == res.logbook["evals"].iloc[-1]
    assert res.best_params == {"a": 2, "b": "q"} and res.best_fitness == 0
    # the evaluation seed depends only on the run seed and the settings
    assert all(s == derive_seed(0, k) for *k, s in calls)
    assert (ev["seed"] == [derive_seed(0, (a, b)) for a, b in zip(ev["a"], ev["b"])]).all()


def test_derive_seed_is_stable_and_setting_specific():
    import hashlib

    expect = int.from_bytes(hashlib.sha256(b'[3,[5,"q"]]').digest()[:8], "big") % 2**31
    assert derive_seed(3, (5, "q")) == expect
    assert derive_seed(3, (5, "q")) != derive_seed(4, (5, "q")) != derive_seed(3, (6, "q"))


def test_failing_individual_gets_worst_fitness_and_the_run_goes_on():
    messages = []

    def fragile(params, seed):
        if params["x"] > 0:
            raise RuntimeError("diverged")
        if params["y"] > 2.5:
            return float("nan")
        return negative_peaks(params, seed)

    res = GeneticTuner(XY, fragile, population=16, generations=6, seed=2, log=messages.append).run()
    ev = res.evaluations
    failed = ev[ev["error"].notna()]
    assert len(failed) > 0 and np.isinf(failed["fitness"]).all()
    assert failed["error"].str.contains("RuntimeError: diverged|objective returned nan").all()
    assert (ev.loc[ev["x"] > 0, "fitness"] == math.inf).all()
    assert res.best_params["x"] <= 0 and math.isfinite(res.best_fitness)
    assert res.stopped_because == "generations" and len(res.logbook) == 7
    assert any("diverged" in m for m in messages)
    assert res.logbook["nfailed"].sum() == res.n_failed > 0
    assert np.isfinite(res.logbook["mean"]).all()  # stats over finite fitnesses only


def test_logbook_statistics_by_hand_for_generation_zero():
    res = GeneticTuner(XY, negative_peaks, population=8, generations=0, seed=3, **QUIET).run()
    fits = res.evaluations["fitness"].to_numpy()
    row = res.logbook.iloc[0]
    assert len(fits) == 8 and row["nevals"] == 8 and row["ntrained"] == 8
    assert row["min"] == fits.min() and row["max"] == fits.max() and row["best"] == fits.min()
    assert row["mean"] == pytest.approx(fits.mean()) and row["std"] == pytest.approx(fits.std())


def test_elitism_best_so_far_never_worsens_and_initial_settings_enter_generation_zero():
    start = {"x": 0.0, "y": 1.5, "k": 0, "c": "a"}
    res = GeneticTuner(MIXED, mixed_objective, population=10, generations=6, seed=5, initial=[start],
                       **QUIET).run()
    best = res.logbook["best"].to_numpy()
    assert (np.diff(best) <= 0).all()
    first = res.evaluations.iloc[0]
    assert (first["x"], first["y"], first["k"], first["c"]) == (0.0, 1.5, 0, "a")
    assert best[0] <= mixed_objective(start, 0)


def test_max_evals_stops_cleanly_with_the_best_so_far():
    res = GeneticTuner(MIXED, mixed_objective, population=12, generations=20, seed=3, max_evals=20,
                       **QUIET).run()
    assert res.stopped_because == "max_evals" and res.n_evals == 20
    assert (~res.evaluations["cached"]).sum() == 20
    assert res.best_fitness == res.evaluations["fitness"].min()


def test_time_limit_stops_cleanly():
    import time

    def slow(params, seed):
        time.sleep(0.01)
        return mixed_objective(params, seed)

    res = GeneticTuner(MIXED, slow, population=10, generations=50, seed=3, time_limit=0.15, **QUIET).run()
    assert res.stopped_because == "time_limit"
    assert 0 < res.n_evals < 10 * 51 and math.isfinite(res.best_fitness)


@pytest.mark.parametrize("how", ["max_evals", "interrupt"])
def test_resume_equals_uninterrupted_run(tmp_path, how):
    kw = dict(population=12, generations=8, seed=3, **QUIET)
    full = GeneticTuner(MIXED, mixed_objective, **kw).run()
    cp = tmp_path / "ga.json"

    class Interrupt(BaseException):
        pass

    calls = []

    def interrupted(params, seed):
        calls.append(1)
        if len(calls) == 25:
            raise Interrupt
        return mixed_objective(params, seed)

    if how == "max_evals":
        part = GeneticTuner(MIXED, mixed_objective, checkpoint=cp, max_evals=20, **kw).run()
        assert part.stopped_because == "max_evals"
    else:
        with pytest.raises(Interrupt):
            GeneticTuner(MIXED, interrupted, checkpoint=cp, **kw).run()
    state = json.loads(cp.read_text())
    assert 0 <= state["generation"] < 8 and len(state["cache"]) in (20, 24)
    resumed = GeneticTuner(MIXED, mixed_objective, checkpoint=cp, **kw).run(resume=True)
    same_run(full, resumed)
    assert resumed.stopped_because == "generations"
    again = GeneticTuner(MIXED, mixed_objective, checkpoint=cp, **kw).run(resume=True)  # finished run
    same_run(full, again)


def test_checkpoint_is_strict_json_and_resume_checks_settings(tmp_path):
    cp = tmp_path / "ga.json"

    def fails_sometimes(params, seed):
        if params["k"] == 3:
            raise ValueError("no")
        return mixed_objective(params, seed)

    GeneticTuner(MIXED, fails_sometimes, population=8, generations=2, seed=0, checkpoint=cp, **QUIET).run()
    text = cp.read_text()
    assert "Infinity" not in text and "NaN" not in text
    state = json.loads(text)
    assert state["generation"] == 2 and len(state["population"]) == 8 and len(state["logbook"]) == 3
    with pytest.raises(ConfigError, match="population"):
        GeneticTuner(MIXED, fails_sometimes, population=10, generations=2, seed=0, checkpoint=cp,
                     **QUIET).run(resume=True)
    with pytest.raises(ConfigError, match="checkpoint"):
        GeneticTuner(MIXED, fails_sometimes, **QUIET).run(resume=True)
    cp.write_text("{not json")
    with pytest.raises(ConfigError, match="ga.json"):
        GeneticTuner(MIXED, fails_sometimes, population=8, generations=2, seed=0, checkpoint=cp,
                     **QUIET).run(resume=True)


def _corrupt(state, key, value):
    if key == "population[0].vector":
        state["population"][0]["vector"] = value
    elif key == "cache[0]":
        state["cache"][0] = value
    elif value is KeyError:
        del state[key]
    else:
        state[key] = value
    return state


@pytest.mark.parametrize("key, value", [
    ("population", "abc"), ("population", [1, 2]), ("population[0].vector", [0.5]),
    ("population[0].vector", ["a", "b", "c", "d"]), ("hall_of_fame", KeyError), ("logbook", [{"gen": 0}]),
    ("evaluations", [{"key": [1]}]), ("cache", {"a": 1}), ("cache[0]", [1, 2]), ("random_state", [3, [1, 2], None]),
    ("random_state", 5), ("elapsed", "soon"), ("generation", None), ("settings", [1]),
])
def test_checkpoint_of_the_wrong_structure_is_a_config_error_naming_file_and_key(tmp_path, key, value):
    """Valid JSON, right format and settings, wrong structure: ConfigError naming the file and the key (the CLI
    exits 2), never a TypeError / KeyError from deep inside the GA."""
    cp = tmp_path / "ga.json"
    kw = dict(population=6, generations=2, seed=0, checkpoint=cp, **QUIET)
    GeneticTuner(MIXED, mixed_objective, max_evals=7, **kw).run()
    state = json.loads(cp.read_text())
    cp.write_text(json.dumps(_corrupt(state, key, value)))
    shown = key.split("[")[0].split(".")[0]
    with pytest.raises(ConfigError, match=rf"ga\.json.*'{shown}'"):
        GeneticTuner(MIXED, mixed_objective, **kw).run(resume=True)


@pytest.mark.parametrize("option, value", [("population", 1), ("hof_size", 20), ("cxpb", 1.5), ("mutpb", -0.1),
                                           ("selection", "rank"), ("crossover", "uniform"), ("max_evals", 0),
                                           ("time_limit", 0), ("generations", -1), ("tournsize", 0)])
def test_bad_options_raise_config_error(option, value):
    with pytest.raises(ConfigError, match=option):
        GeneticTuner(XY, negative_peaks, **{option: value}, **QUIET).run()


def test_from_mapping_with_command_line_overrides():
    t = GeneticTuner.from_mapping(XY, negative_peaks, {"population": 8, "generations": 3, "space": {}},
                                  generations=5, seed=None)
    assert (t.population, t.generations, t.seed) == (8, 5, 0)
    with pytest.raises(ConfigError, match="popsize"):
        GeneticTuner.from_mapping(XY, negative_peaks, {"popsize": 8})
