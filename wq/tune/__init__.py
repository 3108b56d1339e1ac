"""Tuning engine: search space, DEAP genetic algorithm, random-search and Optuna baselines, parallel map,
outputs. The objective is a plain callable ``objective(params: dict, seed: int) -> float`` (lower is
better), so the engine is testable on analytic functions; the pipeline plugs in its validation error
(:class:`~wq.tune.objective.PipelineObjective`), and :func:`~wq.tune.workflow.tune_pipeline` is `wq tune`."""

from wq.tune.baselines import OptunaSearch, RandomSearch
from wq.tune.evaluation import LOGBOOK_COLUMNS, TuneResult, derive_seed, evaluate_one
from wq.tune.genetic import GeneticTuner, Individual, mut_nonuniform, sel_roulette_min
from wq.tune.parallel import ParallelMap, make_map
from wq.tune.report import plot_convergence, tune_summary_markdown, write_tune_outputs
from wq.tune.objective import PipelineObjective, pipeline_space
from wq.tune.space import Param, Space, default_space
from wq.tune.workflow import TuneOutcome, tune_pipeline

__all__ = [
    "Param", "Space", "default_space",
    "GeneticTuner", "Individual", "mut_nonuniform", "sel_roulette_min",
    "RandomSearch", "OptunaSearch",
    "ParallelMap", "make_map",
    "TuneResult", "LOGBOOK_COLUMNS", "derive_seed", "evaluate_one",
    "write_tune_outputs", "plot_convergence", "tune_summary_markdown",
    "PipelineObjective", "pipeline_space", "tune_pipeline", "TuneOutcome",
]
