"""Baselines for the GA with the same space, objective, evaluation seeds, cache and budget accounting.

* :class:`RandomSearch`: vectors drawn uniformly from [0, 1]^d (``numpy.random.default_rng(seed)``), decoded
  exactly as the GA decodes its individuals (Bergstra & Bengio 2012, JMLR 13:281, as the reference baseline).
* :class:`OptunaSearch`: Optuna's TPE sampler (``TPESampler(seed=seed)``; Bergstra et al. 2011) through
  ``suggest_int`` / ``suggest_float(log=...)`` / ``suggest_categorical``; suggested settings are passed
  through the space's encoding and decoding (floats rounded to the space's digits) before evaluation, so all
  strategies evaluate settings of the same form.

``budget`` = objective calls (distinct settings), like the GA's ``max_evals``: settings seen before are
answered from the cache and cost nothing. Candidates are drawn and evaluated in batches of ``batch``
(give the GA's population size), and each batch is one "generation" of the logbook, so convergence plots
compare like with like against evaluations spent. A search that keeps drawing only known settings (a small
discrete space) stops after ``50 * budget`` draws with ``stopped_because = "exhausted"``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from wq.errors import ConfigError
from wq.tune.evaluation import (
    Evaluator,
    LogFn,
    Objective,
    TuneResult,
    evaluations_frame,
    fitness_stats,
    logbook_frame,
    resolve_log,
)
from wq.tune.parallel import make_map
from wq.tune.space import Space

_MAX_DRAWS_PER_EVAL = 50


class _BatchedSearch:
    """Shared loop: propose a batch of vectors, evaluate through the cache, tell, log a generation."""

    strategy = "?"

    def __init__(self, space: Space, objective: Objective, budget: int, seed: int = 0, *, batch: int = 20,
                 workers: int = 1, scheduler: Any = None, time_limit: float | None = None,
                 initial: Sequence[dict[str, Any]] | None = None,
                 log: LogFn | logging.Logger | None = None) -> None:
        self.space = space
        self.objective = objective
        self.budget = budget
        self.seed = seed
        self.batch = batch
        self.workers = workers
        self.scheduler = scheduler
        self.time_limit = time_limit
        self.initial = initial
        self.log = log

    def _check_params(self) -> None:
        if not isinstance(self.space, Space):
            raise ConfigError(f"{self.strategy} search needs a wq.tune.Space, got {type(self.space).__name__}")
        if not callable(self.objective):
            raise ConfigError(f"{self.strategy} objective must be callable as objective(params, seed) -> float")
        for name in ("budget", "batch"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ConfigError(f"{self.strategy} search option {name} must be a positive integer, got {v!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ConfigError(f"{self.strategy} search seed must be an integer >= 0, got {self.seed!r}")
        if self.time_limit is not None and not (isinstance(self.time_limit, (int, float))
                                                and math.isfinite(self.time_limit) and self.time_limit > 0):
            raise ConfigError(f"{self.strategy} search time_limit must be a positive number, got {self.time_limit!r}")
        if self.initial is not None and len(self.initial) > self.budget:
            raise ConfigError(f"{self.strategy} search option initial holds {len(self.initial)} settings for a "
                              f"budget of {self.budget}")

    def _initial_vectors(self) -> list[list[float]]:
        """Gene vectors of the ``initial`` settings (ConfigError if one is outside the space)."""
        return [self.space.encode(p) for p in (self.initial or [])]

    def _search(self, propose: Callable[[int], list[list[float]]],
                tell: Callable[[list[float | None]], None]) -> TuneResult:
        log = resolve_log(self.log)
        t0 = time.perf_counter()
        deadline = None if self.time_limit is None else t0 + float(self.time_limit)
        pmap = make_map(self.workers, self.scheduler)
        chunk = 1 if pmap.kind == "serial" else (pmap.slots if deadline is not None else None)
        ev = Evaluator(self.space, self.objective, int(self.seed), pmap, strategy=self.strategy,
                       max_evals=int(self.budget), deadline=deadline, log=log, chunk=chunk)
        records: list[dict[str, Any]] = []
        best_key, best_fit = None, math.inf
        draws, gen, stop = 0, 0, None
        try:
            while True:
                if ev.n_calls >= self.budget:
                    stop = "budget"
                    break
                if draws >= _MAX_DRAWS_PER_EVAL * self.budget:
                    stop = "exhausted"
                    break
                if ev.out_of_time():
                    stop = "time_limit"
                    break
                n = min(int(self.batch), int(self.budget) - ev.n_calls)
                vectors = propose(n)
                draws += n
                n_rows = len(ev.rows)
                fits, why = ev.evaluate(vectors, gen=gen)
                tell(fits)
                new_rows = ev.rows[n_rows:]
                for r in new_rows:
                    if r["fitness"] < best_fit or best_key is None:
                        best_key, best_fit = tuple(r["key"]), r["fitness"]
                if new_rows:
                    vals = [r["fitness"] for r in new_rows]
                    records.append({"gen": gen, "nevals": len(vectors),
                                    "ntrained": sum(not r["cached"] for r in new_rows),
                                    "nfailed": sum(not r["cached"] and r["error"] is not None for r in new_rows),
                                    "evals": ev.n_calls, **fitness_stats(vals), "best": best_fit,
                                    "elapsed": time.perf_counter() - t0})
                    log(f"{self.strategy} batch {gen}: best {best_fit:.6g}, {ev.n_calls} evaluations")
                gen += 1
                if why == "time_limit":
                    stop = why
                    break
        finally:
            pmap.close()
        ranked = sorted({tuple(r["key"]): r["fitness"] for r in ev.rows}.items(), key=lambda kv: kv[1])
        return TuneResult(
            best_params=self.space.params_of(best_key) if best_key is not None else None,
            best_fitness=best_fit,
            best_vector=self.space.encode(self.space.params_of(best_key)) if best_key is not None else None,
            logbook=logbook_frame(records), evaluations=evaluations_frame(ev.rows, self.space),
            stopped_because=stop or "budget", strategy=self.strategy,
            hall_of_fame=[(self.space.params_of(k), f) for k, f in ranked[:3]],
            n_evals=ev.n_calls, seconds=time.perf_counter() - t0)


class RandomSearch(_BatchedSearch):
    """Uniform random search: ``budget`` objective calls on vectors u ~ U[0, 1]^d (numpy Generator seeded
    with ``seed``), decoded like the GA's individuals; ``initial`` settings (e.g. the pipeline's own, as
    the GA gets them) lead the first batch. ``run() -> TuneResult``."""

    strategy = "random"

    def run(self) -> TuneResult:
        self._check_params()
        rng = np.random.default_rng(int(self.seed))
        d = self.space.dim
        head = self._initial_vectors()

        def propose(n: int) -> list[list[float]]:
            first = head[:n]
            del head[:n]
            return first + rng.random((n - len(first), d)).tolist()

        self.result_ = self._search(propose, lambda fits: None)
        return self.result_


class OptunaSearch(_BatchedSearch):
    """Optuna TPE baseline: ``budget`` objective calls, ``TPESampler(seed=seed)``, trials asked ``batch`` at a
    time (evaluated in parallel like the GA's generations) and told their fitness; failed evaluations are
    told as failed trials; ``initial`` settings are enqueued (``study.enqueue_trial``) before the first ask.
    Optuna's own logging is silenced during the run. ``run() -> TuneResult``."""

    strategy = "optuna"

    def run(self) -> TuneResult:
        self._check_params()
        try:
            import optuna
        except ImportError as exc:  # pragma: no cover - optuna is in the 'tune' extra
            raise ConfigError("the optuna baseline needs optuna (pip install 'wq[tune]')") from exc
        verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        try:
            study = optuna.create_study(direction="minimize",
                                        sampler=optuna.samplers.TPESampler(seed=int(self.seed)))
            for vector in self._initial_vectors():
                study.enqueue_trial(self.space.decode(vector))
            asked: list[Any] = []

            def propose(n: int) -> list[list[float]]:
                asked.clear()
                vectors = []
                for _ in range(n):
                    trial = study.ask()
                    asked.append(trial)
                    vectors.append(self.space.encode(_suggest(trial, self.space)))
                return vectors

            def tell(fits: Sequence[float | None]) -> None:
                for trial, fit in zip(asked, fits):
                    if fit is None:
                        study.tell(trial, state=optuna.trial.TrialState.FAIL)
                    elif math.isfinite(fit):
                        study.tell(trial, fit)
                    else:
                        study.tell(trial, state=optuna.trial.TrialState.FAIL)

            self.result_ = self._search(propose, tell)
        finally:
            optuna.logging.set_verbosity(verbosity)
        return self.result_


def _suggest(trial: Any, space: Space) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in space:
        if p.kind == "int":
            out[p.name] = trial.suggest_int(p.name, p.low, p.high)
        elif p.kind == "float":
            out[p.name] = trial.suggest_float(p.name, p.low, p.high)
        elif p.kind == "log-float":
            out[p.name] = trial.suggest_float(p.name, p.low, p.high, log=True)
        else:
            out[p.name] = trial.suggest_categorical(p.name, list(p.choices))
    return out
