"""`wq tune` as a library call: tune a pipeline's settings on its training part, write the outputs, then run
the best pipeline once on the test period.

Flow of :func:`tune_pipeline`:

1. load the data (:func:`wq.run.load_frame`) and cut the test rows off (:func:`wq.evaluate.backtest.split_point`
   with [split] test): the objective (:class:`~wq.tune.objective.PipelineObjective`) gets the training rows
   only, so nothing the tuner does depends on the test rows;
2. search the space (:func:`~wq.tune.objective.pipeline_space`) with the GA, random search and/or Optuna
   ([tune] strategy; ``all`` = the GA, then random search and Optuna with the number of evaluations the GA
   spent), every strategy starting from the pipeline's own settings when they lie in the space;
3. write ``logbook.csv``, ``evaluations.csv``, ``convergence.png``, ``best.toml`` (the complete pipeline with
   the best settings, runnable with ``wq run``) and ``report.md``;
4. run ``best.toml`` once on the test period (:func:`wq.run.run_pipeline`, the tuned model and persistence)
   into ``best_run/``: the only time the test rows are used, after every choice is made.

Steps 3 and 4 write into a hidden folder beside the output folder, swapped in when they are done
(:func:`wq.io.replace_dir`, with the resume state copied over): an interrupted or failed run leaves the
previous outputs as they were.

Resumable: the GA checkpoints to ``checkpoint.json`` after every generation; a finished baseline keeps its
result in ``result_<strategy>.json``. Both live in the output folder while the search runs (written
atomically), record a fingerprint of the pipeline and training rows, and a resume with another fingerprint or
other search settings is refused.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from wq.config import Pipeline
from wq.errors import ConfigError, DataError
from wq.io import atomic_write_text, check_output_dir, replace_dir
from wq.tune.baselines import OptunaSearch, RandomSearch
from wq.tune.evaluation import TuneResult, evaluations_frame
from wq.tune.genetic import GeneticTuner
from wq.tune.objective import (
    PipelineObjective,
    apply_settings,
    current_settings,
    effective_settings,
    loss_of,
    pipeline_space,
)
from wq.tune.report import tune_summary_markdown, write_tune_outputs
from wq.tune.space import Space

STRATEGIES, RESULT_FORMAT = ("ga", "random", "optuna", "all"), "wq-tune-result"


@dataclass
class TuneOutcome:
    """What :func:`tune_pipeline` did.

    ``results``: {strategy: TuneResult}; ``best_strategy`` / ``best_params`` (effective settings, after
    adjustments) / ``best_fitness``: the lowest validation fitness over the strategies; ``initial_params`` /
    ``initial_fitness``: the pipeline's own settings and their fitness (None when outside the space);
    ``best_pipeline``: the tuned pipeline (as in best.toml); ``test``: test-period metrics of the runs made
    after tuning (columns strategy, model, target, metrics); ``paths``: files written.
    """

    out_dir: Path
    results: dict[str, TuneResult]
    space: Space
    best_strategy: str
    best_params: dict[str, Any]
    best_fitness: float
    best_pipeline: Pipeline
    initial_params: dict[str, Any] | None
    initial_fitness: float | None
    test: pd.DataFrame
    paths: dict[str, Path]
    notes: list[str] = field(default_factory=list)
    train_rows: int = 0
    test_rows: int = 0


def tune_settings(pipeline: Pipeline) -> dict[str, Any]:
    """The [tune] table (validated when the pipeline loaded: :class:`wq.config.TuneParams`), the metric by its
    canonical name."""
    t = pipeline.tune.model_dump()
    t["metric"] = loss_of(str(t["metric"]))[0]
    return t


def elites(population: int) -> int:
    """Hall-of-Fame size (elites carried into every generation): population // 4, between 1 and 3, so
    that a small population still breeds most of its members."""
    return max(1, min(3, population // 4))


def _absolute_paths(pipeline: Pipeline, data_path: str | Path | None = None) -> Pipeline:
    """The pipeline with absolute data paths (``data_path`` replaces [data] path), so it runs from anywhere."""
    data = pipeline.data.mapping()
    if data_path is not None:
        data["path"] = str(Path(data_path).resolve())
    for key in ("path", "drivers_path"):
        if data.get(key):
            p = Path(data[key])
            data[key] = str(p if p.is_absolute() else Path(os.path.normpath(pipeline.base_dir / p)))
    return pipeline.with_params(data=data)


def _write_json(path: Path, state: dict) -> None:
    atomic_write_text(path, json.dumps(state, allow_nan=False))


RESUME_FILES = ("checkpoint.json", "result_*.json")
"""The resume state in a tuning folder: carried into each new version of the folder."""


def _carry_resume_state(old: Path, new: Path) -> None:
    for pattern in RESUME_FILES:
        for path in sorted(old.glob(pattern)):
            shutil.copy2(path, new / path.name)


def _baseline(cls: type, name: str, out: Path, space: Space, objective: PipelineObjective, *, budget: int,
              batch: int, seed: int, workers: int, scheduler: Any, time_limit: float | None,
              initial: list[dict] | None, context: dict, resume: bool, log: Callable[[str], None]) -> TuneResult:
    """Run one baseline, or load its finished result when resuming with the same settings."""
    path = out / f"result_{name}.json"
    settings = json.loads(json.dumps({"context": context, "space": space.get_state(), "budget": int(budget),
                                      "batch": int(batch), "seed": int(seed), "initial": initial or []},
                                     default=str))
    if resume and path.exists():
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from None
        if not isinstance(state, dict):
            raise ConfigError(f"{path} is not a wq tuning result (a JSON table with key 'format' = "
                              f"{RESULT_FORMAT!r}); delete it or start without --resume")
        if state.get("format") == RESULT_FORMAT and state.get("settings") == settings:
            log(f"{name}: finished result found in {path}; not run again")
            try:
                return TuneResult.from_state(state["result"])
            except (ConfigError, KeyError) as exc:
                raise ConfigError(f"{path}: key 'result' is malformed ({exc}); delete it or start without "
                                  f"--resume") from None
        log(f"{name}: {path} was made with other settings; running {name} again")
    res = cls(space, objective, budget, seed, batch=batch, workers=workers, scheduler=scheduler,
              time_limit=time_limit, initial=initial, log=log).run()
    if res.stopped_because in ("budget", "exhausted"):
        _write_json(path, {"format": RESULT_FORMAT, "settings": settings, "result": res.get_state()})
    return res


def _initial_fitness(results: dict[str, TuneResult], space: Space, initial: dict | None) -> float | None:
    if initial is None:
        return None
    for res in results.values():
        ev = res.evaluations
        if ev.empty:
            continue
        hit = pd.Series(True, index=ev.index)
        for n in space.names:
            hit &= ev[n].astype(object).map(lambda v, want=initial[n]: v == want)
        if hit.any():
            return float(ev.loc[hit, "fitness"].iloc[0])
    return None


def _notes_column(res: TuneResult, space: Space, pipeline: Pipeline) -> TuneResult:
    """A copy of the result whose evaluations carry ``adjusted``: the constraint adjustments applied."""
    ev = res.evaluations.copy()
    if not ev.empty:
        cache: dict[tuple, str] = {}
        notes = []
        for row in ev[space.names].itertuples(index=False):
            key = tuple(row)
            if key not in cache:
                try:
                    cache[key] = "; ".join(effective_settings(space, pipeline, space.params_of(key))[1])
                except ConfigError as exc:
                    cache[key] = str(exc)
            notes.append(cache[key])
        ev["adjusted"] = notes
    return TuneResult(**{**res.__dict__, "evaluations": ev})


# size: the tuning workflow in order: space, checkpoint, search, refit, report
def tune_pipeline(pipeline: Pipeline, out_dir: str | os.PathLike | None = None, *, resume: bool = False,
                  scheduler: Any = None, threads: int = 1, progress: Callable[[str], None] | None = None,
                  test_runs: str = "best", data_path: str | os.PathLike | None = None) -> TuneOutcome:
    """Tune ``pipeline`` by its [tune] table and write the outputs to ``out_dir`` (default
    ``reports/<name>/tune``).

    ``resume``: continue from the checkpoint in ``out_dir``; ``scheduler``: Dask scheduler address,
    ``"local"`` or a Client (None: [tune] workers local processes); ``threads``: torch threads per
    evaluation; ``test_runs``: ``"best"`` (run the overall best once on the test period), ``"each"`` (also
    each strategy's best, into ``test_runs/<strategy>/``: for benchmarks) or ``"none"``.
    """
    from wq.evaluate.backtest import split_point
    from wq.run import load_frame

    if test_runs not in ("best", "each", "none"):
        raise ConfigError(f"test_runs must be 'best', 'each' or 'none', got {test_runs!r}")
    log = progress or (lambda message: None)
    t = tune_settings(pipeline)
    out = check_output_dir(Path(out_dir) if out_dir else Path("reports") / pipeline.name / "tune")
    out.mkdir(parents=True, exist_ok=True)  # the resume state lives here while the search runs
    space, notes = pipeline_space(pipeline)

    frame, mask, data_notes = load_frame(pipeline, data_path)
    start = split_point(len(frame), pipeline.split.test)
    train = frame.iloc[:start]
    train_mask = None if mask is None else mask.iloc[:start]
    base = _absolute_paths(pipeline, data_path)
    objective = PipelineObjective(base.to_dict(), base.base_dir, train, base.model_name,
                                  folds=t["folds"], metric=t["metric"], epochs=t["epochs"] or None,
                                  threads=threads, observed_mask=train_mask)
    screen = objective.screening(float(t["fidelity"])) if t["fidelity"] < 1.0 else None
    context = objective.fingerprint() if screen is None else {**objective.fingerprint(), "screen": screen.fingerprint()}
    initial = current_settings(space, base)
    if initial is None:
        notes.append("the pipeline's own settings lie outside the search space: not seeded into the search")
    seeds = [initial] if initial is not None else None
    log(f"tune {pipeline.name}: {space.dim} settings, strategy {t['strategy']}, training rows "
        f"{len(train)} (test rows {len(frame) - start} cut off before tuning)")

    names = ["ga", "random", "optuna"] if t["strategy"] == "all" else [t["strategy"]]
    max_evals = t["max_evals"] or None
    time_limit = float(t["time_limit"]) or None
    results: dict[str, TuneResult] = {}
    budget = max_evals or t["population"] * (t["generations"] + 1)
    for name in names:
        if name == "ga":
            ga = GeneticTuner(space, objective, population=t["population"], generations=t["generations"],
                              cxpb=float(t["cxpb"]), mutpb=float(t["mutpb"]), selection=t["selection"],
                              crossover=t["crossover"], encoding=t["encoding"], bits=t["bits"],
                              hof_size=elites(t["population"]),
                              seed=pipeline.seed, workers=t["workers"],
                              scheduler=scheduler, checkpoint=out / "checkpoint.json", max_evals=max_evals,
                              time_limit=time_limit, initial=seeds, context=context, log=log,
                              screen_objective=screen, survivors=float(t["survivors"]))
            results["ga"] = ga.run(resume=resume)
            screened = ga.screen_evaluator_.rows if ga.screen_evaluator_ else []
            if screened:
                n_full = int((~results["ga"].evaluations["cached"]).sum())
                notes.append(f"GA screening at fidelity {t['fidelity']:g} (epochs and first-fold training rows): "
                             f"{sum(not r['cached'] for r in screened)} settings screened, {n_full} trained in "
                             f"full (survivors {t['survivors']:g}, and the own settings); see screening.csv")
            budget = max(1, results["ga"].n_evals)
        else:
            cls = RandomSearch if name == "random" else OptunaSearch
            results[name] = _baseline(cls, name, out, space, objective, budget=budget, batch=t["population"],
                                      seed=pipeline.seed, workers=t["workers"], scheduler=scheduler,
                                      time_limit=time_limit, initial=seeds, context=context, resume=resume,
                                      log=log)

    shown = {k: _notes_column(r, space, base) for k, r in results.items()}
    finite = {k: r for k, r in results.items() if r.best_params is not None and math.isfinite(r.best_fitness)}
    if not finite:
        with replace_dir(out) as tmp:
            write_tune_outputs(tmp, shown, space, report=None)
            _carry_resume_state(out, tmp)
        errors = [e for r in results.values() for e in r.evaluations.get("error", pd.Series(dtype=object)).dropna()]
        first = errors[0] if errors else "nothing was evaluated (budget or time limit too small?)"
        raise DataError(f"tuning {pipeline.name}: no evaluation succeeded; first error: {first} "
                        f"(every evaluation is in {out / 'evaluations.csv'})")
    best_strategy = min(finite, key=lambda k: (finite[k].best_fitness, names.index(k)))
    with replace_dir(out) as tmp:
        outcome = _write_outcome(tmp, out, pipeline, base, t, space, shown, finite, best_strategy, results, initial,
                                 notes + [f"data layer: {n}" for n in data_notes], test_runs, progress, log,
                                 train.index, frame.index[start:])
        _carry_resume_state(out, tmp)
        if "ga" in results and screened:
            evaluations_frame(screened, space).to_csv(tmp / "screening.csv", index=False)
    outcome.best_pipeline = Pipeline.load(outcome.paths["best"])  # what `wq run best.toml` will read
    return outcome


def _write_outcome(tmp: Path, out: Path, pipeline: Pipeline, base: Pipeline, t: dict, space: Space,
                   shown: dict[str, TuneResult], finite: dict[str, TuneResult], best_strategy: str,
                   results: dict[str, TuneResult], initial: dict | None, notes: list[str], test_runs: str,
                   progress: Callable[[str], None] | None, log: Callable[[str], None],
                   train_index: pd.DatetimeIndex, test_index: pd.DatetimeIndex) -> TuneOutcome:
    """Write every output of a finished search into ``tmp`` (to become ``out``); paths in the outcome and the
    report name ``out``."""
    paths = write_tune_outputs(tmp, shown, space, report=None)

    def tuned(params: dict[str, Any]) -> tuple[Pipeline, dict[str, Any], list[str]]:
        pipe, adjust = apply_settings(base, params)
        applied = pipe.get_params()
        return pipe, {n: applied[n] for n in space.names}, adjust

    best_pipe, best_params, adjust = tuned(finite[best_strategy].best_params)
    best_fit = finite[best_strategy].best_fitness
    header = [f"# Tuned by `wq tune` ({best_strategy}): mean validation {t['metric']} over {t['folds']} "
              f"rolling-origin folds inside the training part = {best_fit:.6g}.",
              f"# Settings tuned: {', '.join(space.names)}."]
    header += [f"# Adjusted: {a}" for a in adjust]
    paths["best"] = tmp / "best.toml"
    paths["best"].write_text("\n".join(header) + "\n\n" + best_pipe.to_toml(), encoding="utf-8")
    best_pipe = Pipeline.load(paths["best"])  # what `wq run best.toml` will read

    test_frames = []
    if test_runs != "none":
        runs = [(best_strategy, best_pipe, "best_run")]
        if test_runs == "each":
            runs += [(k, tuned(r.best_params)[0], f"test_runs/{k}") for k, r in finite.items()
                     if k != best_strategy]
        for strategy, pipe, run_dir in runs:
            log(f"tune {pipeline.name}: running the {strategy} best once on the test period -> {out / run_dir}")
            test_frames.append(_test_run(pipe, tmp / run_dir, progress).assign(strategy=strategy))
    test = pd.concat(test_frames, ignore_index=True) if test_frames else pd.DataFrame()
    if not test.empty:
        test = test[["strategy", *[c for c in test.columns if c != "strategy"]]]
    paths = {k: out / p.relative_to(tmp) for k, p in paths.items()}
    paths["report"] = out / "report.md"
    outcome = TuneOutcome(out, results, space, best_strategy, best_params, best_fit, best_pipe, initial,
                          _initial_fitness(results, space, initial), test, paths, notes,
                          train_rows=len(train_index), test_rows=len(test_index))
    (tmp / "report.md").write_text(tune_report_markdown(outcome, pipeline, train_index, test_index),
                                   encoding="utf-8")
    return outcome


def _test_run(pipe: Pipeline, run_dir: Path, progress: Callable[[str], None] | None) -> pd.DataFrame:
    from wq.run import run_pipeline

    models = list(dict.fromkeys([pipe.model_name, "persistence"]))
    augmenter_for = None
    if pipe.augment.method != "none":
        from wq.augment.pipeline import augmenter_for_pipeline

        augmenter_for = augmenter_for_pipeline(pipe, progress=progress)
    result = run_pipeline(pipe, models=models, out_dir=run_dir, progress=progress, augmenter_for=augmenter_for,
                          notes_extra=["Pipeline tuned by `wq tune` on the training part only; this is its single "
                                       "run on the test period."])
    return result.metrics.drop(columns=["n"], errors="ignore")


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "inf" if v == math.inf else f"{v:.6g}"
    return str(v)


def tune_report_markdown(o: TuneOutcome, pipeline: Pipeline, train_index: pd.DatetimeIndex,
                         test_index: pd.DatetimeIndex) -> str:
    """report.md of a tuning run: setup, the tuning summary, best settings, and the single test-period run."""
    t = pipeline.tune.model_dump()
    metric, lower = loss_of(str(t["metric"]))
    loss = metric if lower else f"1 − {metric}"
    lines = [f"# wq tune: {pipeline.name}", "",
             f"- Model tuned: `{pipeline.model_name}`; targets {', '.join(pipeline.targets)}.",
             f"- Fitness: mean validation {loss} over {t['folds']} rolling-origin folds inside the training part "
             f"(each fold refits preprocessing and model on its own window); lower is better."
             + (f" Tuning epochs: {t['epochs']} (the final run uses [model] epochs = "
                f"{pipeline.model.epochs})." if t["epochs"] else ""),
             f"- Training part seen by the tuner: {train_index[0].date()} .. {train_index[-1].date()} "
             f"({o.train_rows} rows). Test part {test_index[0].date()} .. {test_index[-1].date()} "
             f"({o.test_rows} rows): cut off before the objective was built; never seen while tuning.",
             f"- Strategy: {t['strategy']}; population {t['population']}, generations {t['generations']}, "
             f"seed {pipeline.seed}, workers {t['workers']}.",
             *(f"- {n}" for n in o.notes), "", tune_summary_markdown(o.results, o.space).rstrip(), ""]
    if o.initial_fitness is not None:
        gain = (o.initial_fitness - o.best_fitness) / abs(o.initial_fitness) * 100 \
            if o.initial_fitness not in (0.0, math.inf) else math.nan
        lines += [f"The pipeline's own settings score {_fmt(o.initial_fitness)}; the best found "
                  f"({o.best_strategy}) scores {_fmt(o.best_fitness)} ({gain:.1f} % lower).", ""]
    lines += ["## Best settings", "", f"From {o.best_strategy}, written to `best.toml` (run it with "
              f"`wq run {o.paths['best']}`).", "", "| setting | pipeline | tuned |", "|---|---|---|"]
    own = pipeline.get_params()
    for n in o.space.names:
        lines.append(f"| `{n}` | {_fmt(own.get(n, ''))} | {_fmt(o.best_params[n])} |")
    lines += [""]
    if not o.test.empty:
        step = ("step",) if "step" in o.test and o.test["step"].max() > 1 else ()
        cols = [c for c in ("strategy", "model", "target", *step, "MAPE", "pMAPE", "RMSE", "NSE", "KGE")
                if c in o.test]
        lines += ["## Test period (used once, after tuning, for reporting only)", "",
                  "The tuned pipeline was run once on the test period, after every choice was made; persistence "
                  "is shown for reference. Nothing here fed back into the tuning. Full run: `best_run/report.md`.",
                  "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for row in o.test[cols].itertuples(index=False):
            lines.append("| " + " | ".join(_fmt(v) for v in row) + " |")
        lines += [""]
    lines += ["## Files", "",
              "- `best.toml`: the complete pipeline with the best settings (absolute data path).",
              "- `logbook.csv`: one row per generation (per batch for random / optuna): evaluations, best, "
              "min / mean / max / std fitness, seconds.",
              "- `evaluations.csv`: every individual: settings, fitness, seconds, cached (answered without "
              "training), error, seed, adjusted (constraint clipping applied).",
              "- `convergence.png`: best-so-far and generation mean against evaluations spent.",
              "- `checkpoint.json` (GA) and `result_<strategy>.json` (baselines): for `--resume`.",
              "- `best_run/`: the single test-period run of `best.toml`.", "",
              "![convergence](convergence.png)", ""]
    return "\n".join(lines)
