"""Multi-fidelity GA (successive halving inside each generation): the best is always a full-training fitness,
never worse than the pipeline's own settings; screening saves full evaluations; a tiny `wq tune` with
``fidelity`` writes screening.csv and ends at or below the own settings on validation."""

import math

import numpy as np
import pandas as pd
import pytest

from wq.config import Pipeline
from wq.errors import ConfigError
from wq.tune import GeneticTuner, Param, Space
from wq.tune.analytic import negative_peaks
from wq.tune.fidelity import screened_fitness
from wq.tune.workflow import tune_pipeline

QUIET = {"log": lambda msg: None}
XY = Space((Param("x", "float", -3, 3), Param("y", "float", -3, 3)))


def screen(params, seed):
    """A cheap, noisy view of negative_peaks (short training): same landscape, shifted and perturbed."""
    return negative_peaks(params, seed) + 0.5 + 0.3 * math.sin(7 * params["x"])


def test_screened_out_individuals_rank_below_every_promoted_one_in_screening_order():
    fits = screened_fitness([0.1, 0.5, 0.3, 0.9, None], [1.0, None, 2.0, None, None], promoted=[0, 2])
    assert fits[0] == 1.0 and fits[2] == 2.0 and fits[4] is None
    assert fits[1] == pytest.approx(2.0 + (0.5 - 0.3)) and fits[3] == pytest.approx(2.0 + (0.9 - 0.3))
    assert min(fits[1], fits[3]) >= max(fits[0], fits[2])
    assert screened_fitness([0.2, 0.4], [math.inf, None], promoted=[0]) == [math.inf, math.inf]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_best_is_a_full_fitness_at_or_below_the_own_settings_with_fewer_full_evaluations(seed):
    own = {"x": 2.5, "y": -2.5}  # a poor starting point: screening may drop it, full training must not
    plain = GeneticTuner(XY, negative_peaks, population=12, generations=4, seed=seed, initial=[own], **QUIET)
    res_plain = plain.run()
    tuner = GeneticTuner(XY, negative_peaks, population=12, generations=4, seed=seed, initial=[own],
                         screen_objective=screen, survivors=0.25, **QUIET)
    res = tuner.run()
    ev = res.evaluations
    assert ev.iloc[0][["x", "y"]].tolist() == [2.5, -2.5]  # the own settings, trained in full in generation 0
    assert res.best_fitness <= negative_peaks(own, 0)
    assert res.best_fitness in set(ev["fitness"])  # the best is a full-training fitness
    assert res.best_fitness == pytest.approx(negative_peaks(res.best_params, 0))
    assert (np.diff(res.logbook["best"].to_numpy()) <= 0).all()
    full = int((~ev["cached"]).sum())
    screened = sum(not r["cached"] for r in tuner.screen_evaluator_.rows)
    assert full < int((~res_plain.evaluations["cached"]).sum()) and screened > full
    with pytest.raises(ConfigError, match="survivors"):
        GeneticTuner(XY, negative_peaks, population=4, generations=1, screen_objective=screen, survivors=0.0,
                     **QUIET).run()


def test_tiny_wq_tune_with_screening_ends_at_or_below_its_own_settings(tmp_path):
    from tests.tune.test_command import DAYS, write_pipeline  # the tiny wetland pipeline of the command tests
    from wq.data.simulate import simulate_wetland

    data = tmp_path / "wetland.csv"
    simulate_wetland(days=DAYS, seed=3, missing=False).to_csv(data, index=False)
    path = write_pipeline(tmp_path, data, fidelity=0.5, survivors=0.5, generations=0)
    out = tmp_path / "out"
    outcome = tune_pipeline(Pipeline.load(path).with_params(model__epochs=1), out, test_runs="none")
    assert outcome.best_fitness <= outcome.initial_fitness
    ev = pd.read_csv(out / "evaluations.csv")
    scr = pd.read_csv(out / "screening.csv")
    assert len(scr) >= len(ev[~ev["cached"]]) and (scr["generation"] == 0).sum() == 4
    own = ev.iloc[0]  # generation 0, individual 0: the pipeline's own settings (lags 5, hidden 6, ...)
    assert own["model__lags"] == 5 and own["model__hidden"] == 6
    assert ev["fitness"].min() <= own["fitness"]
    assert "GA screening at fidelity 0.5" in (out / "report.md").read_text()
