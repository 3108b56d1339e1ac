# size: the GA loop, its DEAP operators and its checkpoint format, which must change together
"""Genetic algorithm (DEAP) over a :class:`~wq.tune.space.Space`, minimising an objective.

Following the design's GA section: real-coded individuals u in [0, 1]^d decoded into the space (or, with
``encoding="binary"``, the classic bit strings of :mod:`wq.tune.encoding`: roulette, one-point crossover,
bit-flip mutation); tournament selection (roulette as an option); blend (BLX-alpha, Eshelman & Schaffer
1993) or simulated-binary crossover (Deb & Agrawal 1995), children clipped to [0, 1]; Michalewicz's non-uniform mutation (Michalewicz 1996,
"Genetic Algorithms + Data Structures = Evolution Programs", 3rd ed., sec. 6.1), written here as
:func:`mut_nonuniform` and registered in the toolbox; elitism through a Hall of Fame whose members re-enter
every next population; a logbook with min, mean, max and std per generation.

One generation g >= 1: ``elites = hof[:hof_size]``; ``offspring = select(population, N - len(elites))``;
neighbouring pairs cross with probability ``cxpb``; each child mutates with probability ``mutpb`` (each gene
with probability ``indpb``, default 1/d); children whose genes changed are evaluated; the new population
is ``elites + offspring``. Generation 0 is ``initial`` settings plus uniform random vectors.

Reproducibility: DEAP's operators draw from Python's global ``random``. The tuner keeps its own
``random.Random(seed)`` and swaps its state into ``random`` only while operators run, restoring the caller's
state afterwards; the objective (which may reseed ``random``) never touches the GA's stream. Evaluation seeds
come from the settings (:func:`~wq.tune.evaluation.derive_seed`), so 1 worker, N workers or a Dask cluster
give the same run. The checkpoint (JSON, written atomically after every generation) holds the population,
the Hall of Fame, the logbook, the evaluation cache and records, and the random state: a resumed run ends
exactly where an uninterrupted one ends.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
import random
import time
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from deap import base, tools

from wq.errors import ConfigError
from wq.io import atomic_write_text
from wq.tune.encoding import CROSSOVERS, SELECTIONS, Coding, check_encoding, mut_flip_bit
from wq.tune.evaluation import (
    Evaluator,
    LogFn,
    Objective,
    TuneResult,
    evaluations_frame,
    f2j,
    fmax,
    fmean,
    fmin,
    fstd,
    j2f,
    logbook_frame,
    resolve_log,
)
from wq.tune.fidelity import successive_halving
from wq.tune.parallel import make_map
from wq.tune.space import Space

CHECKPOINT_FORMAT = "wq-tune-ga-checkpoint"
CHECKPOINT_VERSION = 1
LOGBOOK_HEADER = ("gen", "nevals", "ntrained", "nfailed", "evals", "min", "mean", "max", "std", "best")


class FitnessMin(base.Fitness):
    """Single-objective DEAP fitness, minimised (weights = (-1,)); no global ``creator`` class needed."""

    weights = (-1.0,)


class Individual(list):
    """A gene vector in [0, 1]^d with a :class:`FitnessMin` ``fitness``, usable by ``deap.tools``."""

    def __init__(self, genes: Sequence[float] = ()) -> None:
        super().__init__(float(g) for g in genes)
        self.fitness = FitnessMin()


# --- operators ---------------------------------------------------------------------------------------------
def mut_nonuniform(individual: list, gen: int, ngen: int, b: float = 3.0, low: float | Sequence[float] = 0.0,
                   high: float | Sequence[float] = 1.0, indpb: float = 1.0) -> tuple[list]:
    """Michalewicz's non-uniform mutation, in place (Michalewicz 1996, sec. 6.1).

    Each gene x_k mutates with probability ``indpb``: a fair coin picks the direction and
    y = x + (ub − x)(1 − r^{(1 − t/T)^b}) or y = x − (x − lb)(1 − r^{(1 − t/T)^b}),
    r ~ U[0, 1), t = ``gen``, T = ``ngen``; the result is clipped to [lb, ub]. The expected step shrinks
    to 0 as t → T (uniform search early, fine tuning late); ``b`` sets how fast. Draws 3 numbers per gene
    from Python's ``random`` (like DEAP's operators), whatever the outcome. Returns ``(individual,)``.
    """
    if ngen <= 0 or not (0 <= gen <= ngen):
        raise ValueError(f"mut_nonuniform needs 0 <= gen <= ngen and ngen > 0, got gen={gen}, ngen={ngen}")
    n = len(individual)
    lo = np.broadcast_to(np.asarray(low, dtype=float), (n,))
    hi = np.broadcast_to(np.asarray(high, dtype=float), (n,))
    mask = np.array([random.random() < indpb for _ in range(n)], dtype=bool)
    upward = np.array([random.random() < 0.5 for _ in range(n)], dtype=bool)
    r = np.array([random.random() for _ in range(n)], dtype=float)
    x = np.asarray(individual, dtype=float)
    shrink = 1.0 - r ** ((1.0 - gen / ngen) ** b)
    y = np.where(upward, x + (hi - x) * shrink, x - (x - lo) * shrink)
    individual[:] = np.clip(np.where(mask, y, x), lo, hi).tolist()
    return (individual,)


def sel_roulette_min(individuals: Sequence[Any], k: int, fit_attr: str = "fitness") -> list:
    """Fitness-proportional (roulette) selection for a minimised fitness f.

    DEAP's ``selRoulette`` needs positive fitnesses to maximise, so the wheel uses the transformed weight
    w_i = f_max − f_i + ε with f_max, f_min over the finite fitnesses and ε = 10⁻³ (f_max − f_min)
    (1 when all are equal), so the worst still has a small chance; failed individuals (f = +inf) get w = 0
    (all equal weights if every one failed). ``k`` spins with Python's ``random``; returns references.
    """
    f = np.array([getattr(ind, fit_attr).values[0] for ind in individuals], dtype=float)
    finite = np.isfinite(f)
    if finite.any():
        hi, lo = f[finite].max(), f[finite].min()
        eps = 1e-3 * (hi - lo) if hi > lo else 1.0
        w = np.where(finite, hi - np.where(finite, f, hi) + eps, 0.0)
    else:
        w = np.ones(len(f))
    cum = np.cumsum(w)
    spins = np.array([random.random() for _ in range(k)], dtype=float) * cum[-1]
    idx = np.minimum(np.searchsorted(cum, spins, side="right"), len(f) - 1)
    return [individuals[i] for i in idx]


@contextmanager
def _using(rng: random.Random) -> Iterator[None]:
    """Run DEAP operators on ``rng``'s stream through the global ``random``, then restore the caller's."""
    saved = random.getstate()
    random.setstate(rng.getstate())
    try:
        yield
    finally:
        rng.setstate(random.getstate())
        random.setstate(saved)


def _ind_state(ind: Individual) -> dict[str, Any]:
    return {"vector": list(ind), "fitness": f2j(ind.fitness.values[0]) if ind.fitness.valid else None}


def _ind_from_state(state: Mapping[str, Any]) -> Individual:
    ind = Individual(state["vector"])
    if state["fitness"] is not None:
        ind.fitness.values = (j2f(state["fitness"]),)
    return ind


def _record_state(rec: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (f2j(v) if isinstance(v, float) else v) for k, v in rec.items()}


def _record_from_state(rec: Mapping[str, Any]) -> dict[str, Any]:
    floats = {"min", "mean", "max", "std", "best", "elapsed"}
    return {k: (j2f(v) if k in floats else v) for k, v in rec.items()}


_ROW_KEYS = ("generation", "individual", "key", "fitness", "seconds", "cached", "error", "seed")


def _items(state: Mapping[str, Any], key: str) -> list:
    value = state[key]
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    return value


def _vector(v: Any, dim: int) -> list[float]:
    if not isinstance(v, list) or len(v) != dim or not all(isinstance(u, (int, float)) and 0.0 <= u <= 1.0
                                                           for u in v):
        raise ValueError(f"expected a list of {dim} numbers in [0, 1], got {v!r:.80}")
    return v


def restore_checkpoint(state: Mapping[str, Any], path: Path, dim: int, length: int | None = None) -> dict[str, Any]:
    """The GA's objects from a checkpoint's JSON ``state`` whose format, version and settings were checked:
    generation, population, hall_of_fame, logbook, rows, cache, random_state, elapsed. Every key is checked
    for the structure the GA needs (``length`` genes or bits per chromosome, default ``dim``; ``dim`` decoded
    values per evaluation key); ConfigError naming the file and the key."""
    length = dim if length is None else length
    key = "generation"
    try:
        out: dict[str, Any] = {"generation": int(state["generation"])}
        for key in ("population", "hall_of_fame"):
            out[key] = [_ind_from_state({"vector": _vector(s["vector"], length), "fitness": s["fitness"]})
                        for s in _items(state, key)]
        key = "logbook"
        records = _items(state, key)
        for rec in records:
            missing = [c for c in LOGBOOK_HEADER if c not in rec]
            if missing:
                raise KeyError(missing[0])
        out["logbook"] = [_record_from_state(rec) for rec in records]
        key = "evaluations"
        rows = _items(state, key)
        for row in rows:
            missing = [c for c in _ROW_KEYS if c not in row]
            if missing:
                raise KeyError(missing[0])
            if not isinstance(row["key"], list) or len(row["key"]) != dim:
                raise ValueError(f"'key' must list {dim} values")
        out["rows"] = Evaluator.rows_from_state(rows)
        key = "cache"
        cache = _items(state, key)
        if any(not isinstance(c, list) or len(c) != 5 or not isinstance(c[0], list) or len(c[0]) != dim
               for c in cache):
            raise ValueError(f"entries must be [key of {dim} values, fitness, seconds, error, generation]")
        out["cache"] = Evaluator.cache_from_state(cache)
        key = "screen_cache"
        out["screen_cache"] = Evaluator.cache_from_state(state.get(key, []))
        key = "screen_evaluations"
        out["screen_rows"] = Evaluator.rows_from_state(state.get(key, []))
        key = "random_state"
        v, internal, gauss = state[key]
        out["random_state"] = (v, tuple(internal), gauss)
        random.Random().setstate(out["random_state"])
        key = "elapsed"
        out["elapsed"] = float(state[key])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"GA checkpoint {path}: key {key!r} is missing or malformed ({type(exc).__name__}: "
                          f"{exc}); resume from an intact checkpoint or start a new run without --resume") from None
    return out


_OPTION_NAMES = ("population", "generations", "cxpb", "mutpb", "indpb", "selection", "tournsize", "crossover",
                 "alpha", "eta", "mutation_b", "hof_size", "seed", "workers", "scheduler", "checkpoint",
                 "max_evals", "time_limit", "initial", "context", "encoding", "bits", "screen_objective",
                 "survivors")


class GeneticTuner:
    """DEAP genetic algorithm minimising ``objective(params, seed) -> float`` over ``space``.

    Options: ``encoding`` ("real", or "binary" with ``bits`` bits per setting: :mod:`wq.tune.encoding`),
    ``population`` N, ``generations`` G (after generation 0), ``cxpb``, ``mutpb``, ``indpb`` (None: 1/d
    genes, or 1/(d bits) bits), ``selection`` ("tournament" with ``tournsize``, or "roulette":
    :func:`sel_roulette_min`; None: tournament for real, roulette for binary), ``crossover`` (real: "blend"
    with ``alpha`` or "sbx" with ``eta``; binary: "one-point"; None: the first), ``mutation_b`` (Michalewicz's
    b; binary chromosomes mutate by bit flips),
    ``hof_size`` (Hall of Fame size = elites per generation), ``seed``; ``workers`` / ``scheduler`` (see
    :func:`~wq.tune.parallel.make_map`); ``checkpoint`` (JSON path, rewritten after every generation);
    ``max_evals`` (objective calls over the whole run, resumed parts included) and ``time_limit`` (seconds
    of this :meth:`run` call) stop cleanly, keeping the best so far; ``initial``: settings dicts placed in
    generation 0 (e.g. the pipeline's own); ``context``: a JSON dict describing what the objective measures
    (e.g. a fingerprint of the pipeline and its training data), stored in the checkpoint: resuming with a
    different context is refused, so a cached fitness never answers for another objective; ``log``:
    callable, Logger or None (logger ``wq.tune``). ``screen_objective`` (optional): the same objective with short
    training; with it each generation is evaluated by :func:`wq.tune.fidelity.successive_halving`, full training
    only for the best ``survivors`` fraction by the screening score and for the ``initial`` settings.

    After :meth:`run`: ``result_`` (:class:`~wq.tune.evaluation.TuneResult`), ``hall_of_fame_``
    (``deap.tools.HallOfFame``), ``logbook_`` (``deap.tools.Logbook``), ``population_``.
    """

    def __init__(self, space: Space, objective: Objective, *, population: int = 20, generations: int = 10,
                 cxpb: float = 0.7, mutpb: float = 0.3, indpb: float | None = None, selection: str | None = None,
                 tournsize: int = 3, crossover: str | None = None, alpha: float = 0.3, eta: float = 15.0,
                 mutation_b: float = 3.0, hof_size: int = 3, seed: int = 0, workers: int = 1,
                 scheduler: Any = None, checkpoint: str | os.PathLike | None = None, max_evals: int | None = None,
                 time_limit: float | None = None, initial: Sequence[Mapping[str, Any]] | None = None,
                 context: Mapping[str, Any] | None = None, log: LogFn | logging.Logger | None = None,
                 encoding: str = "real", bits: int = 10, screen_objective: Objective | None = None,
                 survivors: float = 0.5) -> None:
        self.space = space
        self.screen_objective = screen_objective
        self.survivors = survivors
        self.objective = objective
        self.population = population
        self.generations = generations
        self.cxpb = cxpb
        self.mutpb = mutpb
        self.indpb = indpb
        self.selection = selection
        self.tournsize = tournsize
        self.crossover = crossover
        self.alpha = alpha
        self.eta = eta
        self.mutation_b = mutation_b
        self.hof_size = hof_size
        self.seed = seed
        self.workers = workers
        self.scheduler = scheduler
        self.checkpoint = checkpoint
        self.max_evals = max_evals
        self.time_limit = time_limit
        self.initial = initial
        self.context = context
        self.log = log
        self.encoding = encoding
        self.bits = bits

    def _operators(self) -> tuple[str, str]:
        """The selection and crossover in use (None: the encoding's classic ones)."""
        enc = self.encoding if self.encoding in CROSSOVERS else "real"
        return self.selection or SELECTIONS[enc], self.crossover or CROSSOVERS[enc][0]

    @classmethod
    def from_mapping(cls, space: Space, objective: Objective, mapping: Mapping[str, Any],
                     **overrides: Any) -> "GeneticTuner":
        """Build from a ``[tune]`` table (keys = constructor options; a ``space`` key is ignored) with
        command-line ``overrides`` on top (None values in overrides are ignored)."""
        options = {k: v for k, v in dict(mapping).items() if k != "space"}
        unknown = sorted(set(options) - set(_OPTION_NAMES) - {"log"})
        if unknown:
            raise ConfigError(f"[tune]: unknown option(s) {', '.join(unknown)}; known: {', '.join(_OPTION_NAMES)}")
        options.update({k: v for k, v in overrides.items() if v is not None})
        return cls(space, objective, **options)

    # --- validation ------------------------------------------------------------------------------------
    def _check_params(self) -> None:
        def integer(name: str, low: int) -> None:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
                raise ConfigError(f"GA option {name} must be an integer >= {low}, got {v!r}")

        def prob(name: str) -> None:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
                raise ConfigError(f"GA option {name} must be a probability in [0, 1], got {v!r}")

        def positive(name: str) -> None:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v > 0):
                raise ConfigError(f"GA option {name} must be a positive number, got {v!r}")

        if not isinstance(self.space, Space):
            raise ConfigError(f"GA needs a wq.tune.Space, got {type(self.space).__name__}")
        if not callable(self.objective):
            raise ConfigError("GA objective must be callable as objective(params, seed) -> float")
        integer("population", 2)
        integer("generations", 0)
        integer("tournsize", 1)
        integer("hof_size", 1)
        integer("seed", 0)
        if self.hof_size >= self.population:
            raise ConfigError(f"GA option hof_size ({self.hof_size}) must be smaller than population "
                              f"({self.population}): the Hall of Fame re-enters every population")
        prob("cxpb")
        prob("mutpb")
        if self.indpb is not None:
            prob("indpb")
        if self.alpha is None or isinstance(self.alpha, bool) or not isinstance(self.alpha, (int, float)) \
                or self.alpha < 0:
            raise ConfigError(f"GA option alpha must be a number >= 0, got {self.alpha!r}")
        positive("eta")
        positive("mutation_b")
        check_encoding(self.encoding, self.bits)
        selection, crossover = self._operators()
        if selection not in ("tournament", "roulette"):
            raise ConfigError(f"GA option selection must be 'tournament' or 'roulette', got {self.selection!r}")
        if crossover not in CROSSOVERS[self.encoding]:
            raise ConfigError(f"GA option crossover of the {self.encoding} encoding must be "
                              f"{' or '.join(map(repr, CROSSOVERS[self.encoding]))}, got {self.crossover!r}")
        if self.max_evals is not None:
            integer("max_evals", 1)
        if self.time_limit is not None:
            positive("time_limit")
        if self.screen_objective is not None:
            if not callable(self.screen_objective):
                raise ConfigError("GA screen_objective must be callable as objective(params, seed) -> float")
            if isinstance(self.survivors, bool) or not isinstance(self.survivors, (int, float)) \
                    or not 0.0 < self.survivors <= 1.0:
                raise ConfigError(f"GA option survivors must be in (0, 1], got {self.survivors!r}")
        if self.initial is not None and len(self.initial) > self.population:
            raise ConfigError(f"GA option initial holds {len(self.initial)} settings for a population of "
                              f"{self.population}")

    def _settings(self) -> dict[str, Any]:
        """Everything that determines the run's result: a checkpoint resumes only with equal settings."""
        coding = self.coding()
        extra = {} if self.context is None else {"context": json.loads(json.dumps(dict(self.context)))}
        if coding.binary:  # real-coded checkpoints keep their old settings, so they still resume
            extra.update(encoding="binary", bits=int(self.bits))
        if self.screen_objective is not None:  # likewise: only runs with screening record it
            extra.update(survivors=float(self.survivors))
        selection, crossover = self._operators()
        return {**extra, "space": self.space.get_state(), "population": int(self.population),
                "generations": int(self.generations), "cxpb": float(self.cxpb), "mutpb": float(self.mutpb),
                "indpb": float(1.0 / coding.length if self.indpb is None else self.indpb), "selection": selection,
                "tournsize": int(self.tournsize), "crossover": crossover, "alpha": float(self.alpha),
                "eta": float(self.eta), "mutation_b": float(self.mutation_b), "hof_size": int(self.hof_size),
                "seed": int(self.seed),
                "initial": [coding.encode(p) for p in (self.initial or [])]}

    def coding(self) -> Coding:
        """The chromosome coding of this run (:class:`wq.tune.encoding.Coding`)."""
        return Coding(self.space, self.encoding, self.bits)

    def make_toolbox(self) -> base.Toolbox:
        """The run's DEAP toolbox: ``select``, ``mate``, ``mutate(ind, gen)``, ``clone``."""
        tb = base.Toolbox()
        tb.register("clone", copy.deepcopy)
        selection, crossover = self._operators()
        if selection == "tournament":
            tb.register("select", tools.selTournament, tournsize=int(self.tournsize))
        else:
            tb.register("select", sel_roulette_min)
        if crossover == "blend":
            tb.register("mate", tools.cxBlend, alpha=float(self.alpha))
        elif crossover == "sbx":
            tb.register("mate", tools.cxSimulatedBinaryBounded, eta=float(self.eta), low=0.0, up=1.0)
        else:
            tb.register("mate", tools.cxOnePoint)
        length = self.coding().length
        indpb = 1.0 / length if self.indpb is None else float(self.indpb)
        if self.encoding == "binary":
            tb.register("mutate", mut_flip_bit, indpb=indpb)
        else:
            tb.register("mutate", mut_nonuniform, ngen=max(int(self.generations), 1), b=float(self.mutation_b),
                        low=0.0, high=1.0, indpb=indpb)
        return tb

    # --- checkpoint ------------------------------------------------------------------------------------
    def _write_checkpoint(self, snapshot: dict[str, Any], evaluator: Evaluator) -> None:
        if self.checkpoint is None:
            return
        state = {**snapshot, "cache": evaluator.cache_state()}
        if self.screen_evaluator_ is not None:
            state["screen_cache"] = self.screen_evaluator_.cache_state()
            state["screen_evaluations"] = Evaluator.rows_state(self.screen_evaluator_.rows)
        atomic_write_text(self.checkpoint, json.dumps(state, allow_nan=False))

    def _read_checkpoint(self, settings: dict[str, Any]) -> dict[str, Any]:
        path = Path(self.checkpoint)
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read GA checkpoint {path}: {exc}") from None
        if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT \
                or state.get("version") != CHECKPOINT_VERSION:
            raise ConfigError(f"{path} is not a wq GA checkpoint (format {CHECKPOINT_FORMAT} v{CHECKPOINT_VERSION})")
        old = state.get("settings", {})
        if not isinstance(old, dict):
            raise ConfigError(f"GA checkpoint {path}: key 'settings' must be a table, got {type(old).__name__}")
        differ = sorted(k for k in set(old) | set(settings) if old.get(k) != settings.get(k))
        if differ:
            raise ConfigError(f"GA checkpoint {path} was made with other settings ({', '.join(differ)}); "
                              f"resume with the same settings or start a new run")
        return restore_checkpoint(state, path, self.space.dim, self.coding().length)

    # --- run -------------------------------------------------------------------------------------------
    # size: the generational loop with resume, checkpoints and stop rules; its state is shared by all steps
    def run(self, resume: bool = False) -> TuneResult:
        """Run the GA (or continue it from ``checkpoint`` when ``resume``; a missing checkpoint file starts
        a new run) and return the :class:`~wq.tune.evaluation.TuneResult`."""
        self._check_params()
        if resume and self.checkpoint is None:
            raise ConfigError("resume needs a checkpoint path")
        log = resolve_log(self.log)
        t_start = time.perf_counter()
        settings = self._settings()
        space, n_pop, ngen = self.space, int(self.population), int(self.generations)
        coding = self.coding()
        tb = self.make_toolbox()
        hof = tools.HallOfFame(int(self.hof_size), similar=lambda a, b: coding.key(a) == coding.key(b))
        stats = tools.Statistics(key=lambda ind: ind.fitness.values[0])
        for name, fn in (("min", fmin), ("mean", fmean), ("max", fmax), ("std", fstd)):
            stats.register(name, fn)
        logbook = tools.Logbook()
        logbook.header = list(LOGBOOK_HEADER)
        rng = random.Random(int(self.seed))
        pop: list[Individual] = []
        gen_done, elapsed_before = -1, 0.0
        cache, rows = {}, []
        screen_cache, screen_rows = {}, []
        self.screen_evaluator_ = None
        if resume and Path(self.checkpoint).exists():
            state = self._read_checkpoint(settings)
            gen_done, pop, items = state["generation"], state["population"], state["hall_of_fame"]
            hof.items, hof.keys = items, [ind.fitness for ind in reversed(items)]
            for rec in state["logbook"]:
                logbook.record(**rec)
            rows, cache = state["rows"], state["cache"]
            screen_cache, screen_rows = state["screen_cache"], state["screen_rows"]
            rng.setstate(state["random_state"])
            elapsed_before = state["elapsed"]
            log(f"ga: resuming {self.checkpoint} after generation {gen_done} ({len(cache)} evaluations)")
        elif resume:
            log(f"ga: no checkpoint at {self.checkpoint}; starting a new run")

        def elapsed() -> float:
            return elapsed_before + time.perf_counter() - t_start

        def snapshot() -> dict[str, Any]:
            v, internal, gauss = rng.getstate()
            return {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "settings": settings,
                    "generation": gen_done, "population": [_ind_state(i) for i in pop],
                    "hall_of_fame": [_ind_state(i) for i in hof], "logbook": [_record_state(r) for r in logbook],
                    "evaluations": Evaluator.rows_state(evaluator.rows), "random_state": [v, list(internal), gauss],
                    "elapsed": elapsed()}

        pmap = make_map(self.workers, self.scheduler)
        deadline = None if self.time_limit is None else t_start + float(self.time_limit)
        chunk = 1 if pmap.kind == "serial" else (pmap.slots if deadline is not None else None)
        evaluator = Evaluator(space, self.objective, int(self.seed), pmap, strategy="ga", max_evals=self.max_evals,
                              deadline=deadline, log=log, cache=cache, chunk=chunk)
        evaluator.rows = rows
        if self.screen_objective is not None:
            self.screen_evaluator_ = Evaluator(space, self.screen_objective, int(self.seed), pmap, strategy="ga screen",
                                               deadline=deadline, log=log, cache=screen_cache, chunk=chunk)
            self.screen_evaluator_.rows = screen_rows
        complete = snapshot()
        stop: str | None = None
        try:
            for g in range(gen_done + 1, ngen + 1):
                if evaluator.out_of_time():
                    stop = "time_limit"
                    break
                if self.max_evals is not None and evaluator.n_calls >= self.max_evals:
                    stop = "max_evals"
                    break
                with _using(rng):
                    if g == 0:
                        elites: list[Individual] = []
                        vectors = [list(v) for v in settings["initial"]]
                        vectors += [coding.random() for _ in range(n_pop - len(vectors))]
                        offspring = [Individual(v) for v in vectors]
                    else:
                        elites = [tb.clone(h) for h in hof[: int(self.hof_size)]]
                        offspring = [tb.clone(ind) for ind in tb.select(pop, n_pop - len(elites))]
                        for i in range(1, len(offspring), 2):
                            if random.random() < self.cxpb:
                                tb.mate(offspring[i - 1], offspring[i])
                                for child in (offspring[i - 1], offspring[i]):
                                    child[:] = np.clip(child, 0.0, 1.0).tolist()
                                    del child.fitness.values
                        for ind in offspring:
                            if random.random() < self.mutpb:
                                tb.mutate(ind, gen=g - 1)
                                del ind.fitness.values
                invalid = [ind for ind in offspring if not ind.fitness.valid]
                n_rows = len(evaluator.rows)
                keep = range(len(settings["initial"])) if g == 0 else ()  # the pipeline's own: always in full
                fits, stop, _ = successive_halving([coding.unit(ind) for ind in invalid], evaluator,
                                                   self.screen_evaluator_, g, float(self.survivors), keep)
                for ind, fit in zip(invalid, fits):
                    if fit is not None:
                        ind.fitness.values = (fit,)
                new_rows = evaluator.rows[n_rows:]
                evaluated = [ind for ind in offspring if ind.fitness.valid]
                if stop is not None and not new_rows:
                    break
                hof.update(evaluated)
                new_pop = elites + evaluated
                logbook.record(gen=g, nevals=len(invalid), ntrained=sum(not r["cached"] for r in new_rows),
                               nfailed=sum(not r["cached"] and r["error"] is not None for r in new_rows),
                               evals=evaluator.n_calls, **stats.compile(new_pop),
                               best=hof[0].fitness.values[0] if len(hof) else math.inf, elapsed=elapsed())
                rec = logbook[-1]
                log(f"ga gen {g}: best {rec['best']:.6g}, min {rec['min']:.6g}, mean {rec['mean']:.6g}, "
                    f"{rec['ntrained']} trained, {rec['evals']} evaluations")
                if stop is not None:  # partial generation: in the result, not in the checkpoint
                    pop = new_pop
                    break
                pop, gen_done = new_pop, g
                complete = snapshot()
                self._write_checkpoint(complete, evaluator)
        except BaseException:
            # keep what was evaluated: a resumed run re-creates this generation and finds it in the cache
            self._write_checkpoint(complete, evaluator)
            raise
        finally:
            pmap.close()
        if stop is not None:
            self._write_checkpoint(complete, evaluator)
            log(f"ga: stopped by {stop} after {evaluator.n_calls} evaluations")
        self.hall_of_fame_, self.logbook_, self.population_ = hof, logbook, pop
        best = hof[0] if len(hof) else None
        self.result_ = TuneResult(
            best_params=coding.decode(best) if best is not None else None,
            best_fitness=best.fitness.values[0] if best is not None else math.inf,
            best_vector=coding.unit(best) if best is not None else None,
            logbook=logbook_frame(list(logbook)),
            evaluations=evaluations_frame(evaluator.rows, space),
            stopped_because=stop or "generations", strategy="ga",
            hall_of_fame=[(coding.decode(h), h.fitness.values[0]) for h in hof],
            n_evals=evaluator.n_calls, seconds=elapsed())
        return self.result_
