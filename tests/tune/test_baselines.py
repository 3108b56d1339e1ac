import math

import pandas as pd
import pytest

from wq.errors import ConfigError
from wq.tune import GeneticTuner, OptunaSearch, Param, RandomSearch, Space, derive_seed
from wq.tune.analytic import PEAKS_MAX, negative_peaks

QUIET = {"log": lambda msg: None}
SPACE = Space((Param("x", "float", -3, 3), Param("y", "float", -3, 3), Param("k", "int", 0, 3),
               Param("lr", "log-float", 1e-4, 1e-2), Param("c", "choice", choices=["a", "b"])))


def objective(params, seed):
    return negative_peaks(params, seed) + 0.1 * params["k"] + abs(math.log10(params["lr"]) + 3) \
        + 0.2 * (params["c"] == "b")


@pytest.mark.parametrize("cls", [RandomSearch, OptunaSearch])
def test_baseline_spends_exactly_its_budget_and_is_reproducible(cls):
    if cls is OptunaSearch:
        pytest.importorskip("optuna")
    a = cls(SPACE, objective, budget=30, seed=2, batch=10, **QUIET).run()
    b = cls(SPACE, objective, budget=30, seed=2, batch=10, **QUIET).run()
    assert a.n_evals == 30 and (~a.evaluations["cached"]).sum() == 30
    assert a.stopped_because == "budget" and a.strategy == cls.strategy
    assert a.best_fitness == a.evaluations["fitness"].min()
    assert objective(a.best_params, 0) == a.best_fitness
    assert a.logbook["evals"].iloc[-1] == 30 and (a.logbook["nevals"] <= 10).all()
    pd.testing.assert_frame_equal(a.evaluations.drop(columns="seconds"), b.evaluations.drop(columns="seconds"))
    ev = a.evaluations
    for name, p in zip(SPACE.names, SPACE):
        if p.kind != "choice":
            assert ev[name].between(p.low, p.high).all()
    assert set(ev["c"]) <= {"a", "b"}
    assert (ev["seed"] == [derive_seed(2, tuple(r)) for r in ev[SPACE.names].itertuples(index=False)]).all()


def test_random_search_draws_uniform_vectors_decoded_like_the_ga():
    import numpy as np

    res = RandomSearch(SPACE, objective, budget=5, seed=9, batch=5, **QUIET).run()
    expect = [SPACE.decode(v) for v in np.random.default_rng(9).random((5, SPACE.dim))]
    got = res.evaluations[SPACE.names].to_dict("records")
    assert got == expect


def test_ga_and_optuna_reach_the_peak_with_the_same_budget():
    pytest.importorskip("optuna")
    sp = Space((Param("x", "float", -3, 3), Param("y", "float", -3, 3)))
    ga = GeneticTuner(sp, negative_peaks, population=20, generations=15, seed=0, **QUIET).run()
    opt = OptunaSearch(sp, negative_peaks, budget=ga.n_evals, seed=0, batch=20, **QUIET).run()
    rnd = RandomSearch(sp, negative_peaks, budget=ga.n_evals, seed=0, batch=20, **QUIET).run()
    assert opt.n_evals == rnd.n_evals == ga.n_evals
    assert -ga.best_fitness == pytest.approx(PEAKS_MAX, abs=1e-2)
    assert -opt.best_fitness > 7.5 and -rnd.best_fitness > 6.0


def test_small_discrete_space_is_exhausted_not_looped_forever():
    sp = Space((Param("k", "int", 0, 2),))
    res = RandomSearch(sp, lambda p, s: p["k"], budget=10, seed=0, batch=4, **QUIET).run()
    assert res.stopped_because == "exhausted" and res.n_evals == 3 and res.best_params == {"k": 0}


def test_optuna_failed_trials_get_inf_and_run_goes_on():
    pytest.importorskip("optuna")

    def fragile(params, seed):
        if params["k"] >= 2:
            raise RuntimeError("boom")
        return objective(params, seed)

    res = OptunaSearch(SPACE, fragile, budget=20, seed=0, batch=5, **QUIET).run()
    bad = res.evaluations[res.evaluations["k"] >= 2]
    assert len(bad) > 0 and (bad["fitness"] == math.inf).all() and bad["error"].str.contains("boom").all()
    assert res.n_evals == 20 and math.isfinite(res.best_fitness)


@pytest.mark.parametrize("option, value", [("budget", 0), ("batch", 0), ("seed", -1), ("time_limit", -1)])
def test_bad_baseline_options(option, value):
    kw = {"budget": 5, "seed": 0, option: value}
    with pytest.raises(ConfigError, match=option):
        RandomSearch(SPACE, objective, **kw).run()
