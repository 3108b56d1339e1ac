"""Shared evaluation machinery of every tuning strategy: the objective contract, evaluation seeds, the cache
of decoded settings, budgets (evaluations, wall time), failures, per-individual records and the result type.

Objective contract: ``objective(params: dict, seed: int) -> float``, lower is better. It runs in worker
processes or on Dask workers, so it must be picklable (cloudpickle): a top-level function or an instance of a
top-level class is safe. An exception inside the objective, or a non-finite value, gives that individual the
worst fitness (+inf) with the reason recorded; the run goes on. ``BaseException`` (KeyboardInterrupt, ...)
is not caught: it interrupts the run, and the checkpoint keeps what was evaluated.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from wq.errors import ConfigError
from wq.tune.space import Space, Value

Objective = Callable[[dict, int], float]
LogFn = Callable[[str], None]

LOGBOOK_COLUMNS = ["gen", "nevals", "ntrained", "nfailed", "evals", "min", "mean", "max", "std", "best", "elapsed"]
"""Logbook columns: generation; individuals needing a fitness; objective calls made (cache misses); failed
calls; cumulative objective calls; min / mean / max / std of the finite fitnesses of the generation's
population; best fitness so far; seconds since the run started."""

_logger = logging.getLogger("wq.tune")


def resolve_log(log: LogFn | logging.Logger | None) -> LogFn:
    """A ``str -> None`` function from a callable, a :class:`logging.Logger` or None (logger ``wq.tune``)."""
    if log is None:
        return _logger.info
    if isinstance(log, logging.Logger):
        return log.info
    if callable(log):
        return log
    raise ConfigError(f"log must be a callable or a logging.Logger, got {log!r}")


def derive_seed(seed: int, key: Sequence[Value]) -> int:
    """Evaluation seed of one decoded individual: the first 8 bytes of SHA-256 of the JSON of
    ``[seed, key]`` modulo 2**31. It depends only on the run seed and the settings, never on the worker,
    the order of evaluation or Python's salted ``hash``."""
    text = json.dumps([int(seed), list(key)], separators=(",", ":"))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") % (2**31)


def evaluate_one(objective: Objective, params: dict, seed: int) -> tuple[float, float, str | None]:
    """Run the objective once: ``(fitness, seconds, error)``. Exceptions and non-finite values give
    fitness +inf and the reason in ``error``."""
    t0 = time.perf_counter()
    try:
        value = float(objective(dict(params), int(seed)))
        error = None
        if not math.isfinite(value):
            error, value = f"objective returned {value}", math.inf
    except Exception as exc:  # noqa: BLE001 - any failure of one individual is recorded, the run goes on
        value, error = math.inf, f"{type(exc).__name__}: {exc}"
    return value, time.perf_counter() - t0, error


# --- statistics over finite fitnesses ------------------------------------------------------------------------
def _finite(values: Sequence[float]) -> np.ndarray:
    a = np.asarray(values, dtype=float)
    return a[np.isfinite(a)]


def fmin(values: Sequence[float]) -> float:
    a = _finite(values)
    return float(a.min()) if a.size else math.nan


def fmean(values: Sequence[float]) -> float:
    a = _finite(values)
    return float(a.mean()) if a.size else math.nan


def fmax(values: Sequence[float]) -> float:
    a = _finite(values)
    return float(a.max()) if a.size else math.nan


def fstd(values: Sequence[float]) -> float:
    """Population standard deviation (ddof = 0) of the finite values."""
    a = _finite(values)
    return float(a.std()) if a.size else math.nan


def fitness_stats(values: Sequence[float]) -> dict[str, float]:
    """min, mean, max and std of the finite values (failed individuals, +inf, are left out)."""
    return {"min": fmin(values), "mean": fmean(values), "max": fmax(values), "std": fstd(values)}


# --- JSON helpers: strict JSON, non-finite floats as strings ----------------------------------------------
def f2j(x: float | None) -> float | str | None:
    """Float to strict JSON: non-finite values become "inf", "-inf" or "nan"."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else repr(x)


def j2f(x: Any) -> float:
    """Inverse of :func:`f2j` (None reads as nan)."""
    return math.nan if x is None else float(x)


# --- cache and evaluator ---------------------------------------------------------------------------------
@dataclass
class CacheEntry:
    """One objective call: its result and the generation in which it was made."""

    fitness: float
    seconds: float
    error: str | None
    generation: int


class Evaluator:
    """Evaluates gene vectors through a map, once per decoded key, within the evaluation and time budgets.

    Records one row per vector asked for (``cached`` = its key was evaluated before, in an earlier
    generation or earlier in this one). Whether a row counts as trained depends only on the cache entry's
    generation, so a run resumed from a checkpoint records exactly what an uninterrupted run records.
    """

    def __init__(self, space: Space, objective: Objective, seed: int, pmap: Any, *, strategy: str,
                 max_evals: int | None = None, deadline: float | None = None, log: LogFn = _logger.info,
                 cache: dict[tuple, CacheEntry] | None = None, chunk: int | None = None) -> None:
        self.space = space
        self.objective = objective
        self.seed = int(seed)
        self.pmap = pmap
        self.strategy = strategy
        self.max_evals = max_evals
        self.deadline = deadline
        self.log = log
        self.cache: dict[tuple, CacheEntry] = {} if cache is None else cache
        self.chunk = chunk  # objective calls per map call; None: all pending calls of a generation at once
        self.rows: list[dict[str, Any]] = []

    @property
    def n_calls(self) -> int:
        """Objective calls made so far (one per distinct key)."""
        return len(self.cache)

    def out_of_time(self) -> bool:
        return self.deadline is not None and time.perf_counter() >= self.deadline

    def evaluate(self, vectors: Sequence[Sequence[float]], gen: int) -> tuple[list[float | None], str | None]:
        """Fitness of each vector (None where a budget stopped evaluation first) and the stop reason
        (``"max_evals"``, ``"time_limit"`` or None)."""
        keys = [self.space.key(v) for v in vectors]
        pending: list[tuple] = []
        seen: set[tuple] = set()
        for k in keys:
            if k not in self.cache and k not in seen:
                seen.add(k)
                pending.append(k)
        stop = None
        if self.max_evals is not None and len(pending) > self.max_evals - self.n_calls:
            pending = pending[: max(0, self.max_evals - self.n_calls)]
            stop = "max_evals"
        size = max(1, len(pending) if self.chunk is None else self.chunk)
        for start in range(0, len(pending), size):
            if self.out_of_time():
                stop = "time_limit"
                break
            batch = pending[start:start + size]
            args = [(self.objective, self.space.params_of(k), derive_seed(self.seed, k)) for k in batch]
            for k, (fit, sec, err) in zip(batch, self.pmap(evaluate_one, args)):
                self.cache[k] = CacheEntry(float(fit), float(sec), err, gen)
                if err is not None:
                    self.log(f"{self.strategy} gen {gen}: evaluation failed ({err}) for {self.space.params_of(k)}")
        fits: list[float | None] = []
        counted: set[tuple] = set()
        for i, k in enumerate(keys):
            entry = self.cache.get(k)
            if entry is None:
                fits.append(None)
                continue
            trained = entry.generation == gen and k not in counted
            counted.add(k)
            self.rows.append({"generation": gen, "individual": i, "key": list(k), "fitness": entry.fitness,
                              "seconds": entry.seconds if trained else 0.0, "cached": not trained,
                              "error": entry.error, "seed": derive_seed(self.seed, k)})
            fits.append(entry.fitness)
        return fits, stop

    # --- JSON state --------------------------------------------------------------------------------------
    def cache_state(self) -> list[list[Any]]:
        return [[list(k), f2j(e.fitness), e.seconds, e.error, e.generation] for k, e in self.cache.items()]

    @staticmethod
    def cache_from_state(state: Sequence[Sequence[Any]]) -> dict[tuple, CacheEntry]:
        return {tuple(k): CacheEntry(j2f(f), float(s), err, int(g)) for k, f, s, err, g in state}

    @staticmethod
    def rows_state(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**r, "fitness": f2j(r["fitness"])} for r in rows]

    @staticmethod
    def rows_from_state(state: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**r, "fitness": j2f(r["fitness"])} for r in state]


def evaluations_frame(rows: Sequence[dict[str, Any]], space: Space) -> pd.DataFrame:
    """Rows as a DataFrame: generation, individual, one column per setting, fitness, seconds, cached,
    error, seed."""
    names = space.names
    cols = ["generation", "individual", *names, "fitness", "seconds", "cached", "error", "seed"]
    if not rows:
        return pd.DataFrame(columns=cols)
    data = {"generation": [r["generation"] for r in rows], "individual": [r["individual"] for r in rows]}
    keys = [r["key"] for r in rows]
    for j, n in enumerate(names):
        data[n] = [k[j] for k in keys]
    for c in ("fitness", "seconds", "cached", "error", "seed"):
        data[c] = [r[c] for r in rows]
    frame = pd.DataFrame(data, columns=cols)
    frame["fitness"] = frame["fitness"].astype(float)
    frame["cached"] = frame["cached"].astype(bool)
    return frame


def logbook_frame(records: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Logbook records (one per generation) as a DataFrame with :data:`LOGBOOK_COLUMNS`."""
    frame = pd.DataFrame(list(records), columns=LOGBOOK_COLUMNS)
    for c in ("gen", "nevals", "ntrained", "nfailed", "evals"):
        frame[c] = frame[c].astype(int)
    for c in ("min", "mean", "max", "std", "best", "elapsed"):
        frame[c] = frame[c].astype(float)
    return frame


@dataclass
class TuneResult:
    """Outcome of one tuning run.

    ``best_params`` / ``best_fitness`` / ``best_vector``: the best individual found (None, +inf, None when
    nothing was evaluated); ``logbook``: one row per generation (:data:`LOGBOOK_COLUMNS`); ``evaluations``:
    one row per individual asked for; ``stopped_because``: ``"generations"`` (GA ran all generations),
    ``"budget"`` (baselines used their budget), ``"max_evals"``, ``"time_limit"`` or ``"exhausted"`` (no new
    settings found); ``hall_of_fame``: best distinct settings, best first, as (params, fitness).
    """

    best_params: dict[str, Value] | None
    best_fitness: float
    best_vector: list[float] | None
    logbook: pd.DataFrame
    evaluations: pd.DataFrame
    stopped_because: str
    strategy: str
    hall_of_fame: list[tuple[dict[str, Value], float]] = field(default_factory=list)
    n_evals: int = 0
    seconds: float = 0.0

    def get_state(self) -> dict[str, Any]:
        """Strict-JSON state (non-finite floats as strings, see :func:`f2j`); :meth:`from_state` inverts it.
        Used to keep a finished strategy's result so that a resumed comparison does not run it again."""
        def frame_state(frame: pd.DataFrame) -> dict[str, Any]:
            cols = list(frame.columns)
            rows = [[f2j(v) if isinstance(v, float) else (v.item() if isinstance(v, np.generic) else v)
                     for v in row] for row in frame.astype(object).where(frame.notna(), None).itertuples(index=False)]
            return {"columns": cols, "rows": rows}

        return {"best_params": self.best_params, "best_fitness": f2j(self.best_fitness),
                "best_vector": self.best_vector, "logbook": frame_state(self.logbook),
                "evaluations": frame_state(self.evaluations), "stopped_because": self.stopped_because,
                "strategy": self.strategy,
                "hall_of_fame": [[p, f2j(f)] for p, f in self.hall_of_fame],
                "n_evals": int(self.n_evals), "seconds": float(self.seconds)}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "TuneResult":
        """Inverse of :meth:`get_state`."""
        try:
            def frame_of(d: dict[str, Any], floats: Sequence[str]) -> pd.DataFrame:
                frame = pd.DataFrame(d["rows"], columns=d["columns"])
                for c in floats:
                    if c in frame:
                        frame[c] = frame[c].map(j2f).astype(float)
                return frame

            logbook = logbook_frame(frame_of(state["logbook"], ("min", "mean", "max", "std", "best",
                                                               "elapsed")).to_dict("records"))
            ev = frame_of(state["evaluations"], ("fitness", "seconds"))
            if not ev.empty:
                ev["cached"] = ev["cached"].astype(bool)
            return cls(best_params=state["best_params"], best_fitness=j2f(state["best_fitness"]),
                       best_vector=state["best_vector"], logbook=logbook, evaluations=ev,
                       stopped_because=state["stopped_because"], strategy=state["strategy"],
                       hall_of_fame=[(p, j2f(f)) for p, f in state["hall_of_fame"]],
                       n_evals=int(state["n_evals"]), seconds=float(state["seconds"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"tuning result state is malformed: {exc}") from None

    @property
    def n_failed(self) -> int:
        """Objective calls that failed (fitness +inf with an error)."""
        ev = self.evaluations
        if ev.empty:
            return 0
        return int((~ev["cached"] & ev["error"].notna()).sum())

    @property
    def n_cached(self) -> int:
        """Individuals answered from the cache instead of a new objective call."""
        return int(self.evaluations["cached"].sum()) if not self.evaluations.empty else 0
