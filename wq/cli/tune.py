"""`wq tune PIPELINE.toml`: tune a pipeline's settings on its training part (GA, random search, Optuna), write
best.toml, logbook.csv, evaluations.csv, convergence.png and report.md, and run the best pipeline once on the
test period. The work is :func:`wq.tune.workflow.tune_pipeline`; this module maps flags onto [tune]."""

from __future__ import annotations

import argparse

from wq.cli.common import add_pipeline_options, log, pipeline_from_args, positive_int, progress, set_threads

# flag -> [tune] key; None values (flag not given) keep the pipeline's setting
_TUNE_FLAGS = {"population": "population", "generations": "generations", "workers": "workers",
               "strategy": "strategy", "max_evals": "max_evals", "time_limit": "time_limit", "folds": "folds",
               "metric": "metric", "tune_epochs": "epochs", "encoding": "encoding", "bits": "bits"}


def cmd_tune(args: argparse.Namespace) -> int:
    """Handler of ``wq tune``; returns the exit code."""
    from wq.tune.workflow import tune_pipeline

    set_threads(args)
    tune_epochs, args.epochs = args.epochs, None  # --epochs limits the tuning runs, not best.toml's [model]
    args.tune_epochs = tune_epochs
    pipe = pipeline_from_args(args)
    pipe = pipe.with_params(**{f"tune__{key}": getattr(args, flag) for flag, key in _TUNE_FLAGS.items()
                               if getattr(args, flag) is not None})
    scheduler, local = args.scheduler, None
    if scheduler == "local":  # a local Dask cluster of [tune] workers processes (threads would share torch)
        from wq.tune.parallel import make_map

        local = make_map(pipe.tune.workers, "local", local_processes=True)
        scheduler = local.client
    try:
        outcome = tune_pipeline(pipe, args.out, resume=args.resume, scheduler=scheduler, threads=args.eval_threads,
                                progress=progress(args.quiet))
    finally:
        if local is not None:
            local.close()
    if not args.quiet:
        for name, res in outcome.results.items():
            log(f"{name}: best validation {pipe.tune.metric} {res.best_fitness:.6g} after "
                f"{res.n_evals} evaluations ({res.stopped_because})")
    print(f"wrote {outcome.paths['report']} and {outcome.paths['best']}")
    return 0


def _workers(text: str) -> int:
    value = int(text) if text.lstrip("-").isdigit() else None
    if value is None or (value < 1 and value != -1):
        raise argparse.ArgumentTypeError(f"expected a positive integer or -1 (all cores), got {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def register(sub) -> None:
    p = sub.add_parser(
        "tune", help="tune preprocessing and model settings on the training part (GA, random search, Optuna)",
        description="Search the pipeline's [tune.space] (or the default space of its model) for the settings "
                    "with the lowest mean validation error over rolling-origin folds inside the training part. "
                    "The test rows are cut off before tuning; best.toml is run on them once, afterwards.")
    add_pipeline_options(p)
    p.add_argument("--population", type=positive_int, help="GA population size; also the batch size of the "
                   "baselines ([tune] population)")
    p.add_argument("--generations", type=int, help="GA generations after generation 0 ([tune] generations)")
    p.add_argument("--encoding", choices=["real", "binary"],
                   help="GA chromosomes: real genes, or binary strings with roulette, one-point crossover and "
                        "bit-flip mutation ([tune] encoding)")
    p.add_argument("--bits", type=positive_int, help="bits per setting of a binary chromosome ([tune] bits)")
    p.add_argument("--strategy", choices=["ga", "random", "optuna", "all"],
                   help="search strategy; all = GA, then random search and Optuna with the GA's evaluations")
    p.add_argument("--workers", type=_workers, help="evaluations in parallel: local processes (-1: all cores)")
    p.add_argument("--scheduler", help="Dask scheduler address (tcp://host:8786), or 'local' for a local cluster")
    p.add_argument("--out", help="output folder (default reports/<pipeline name>/tune)")
    p.add_argument("--resume", action="store_true", help="continue the run whose checkpoint is in --out")
    p.add_argument("--max-evals", type=positive_int, help="stop after this many evaluations, keeping the best")
    p.add_argument("--time-limit", type=_seconds, help="stop after this many seconds per strategy, keeping the best")
    p.add_argument("--folds", type=positive_int, help="rolling-origin folds inside the training part")
    p.add_argument("--metric", help="fitness metric (MAPE, pMAPE, RMSE, MAE, NSE, KGE, EVS, R; default MAPE)")
    p.add_argument("--eval-threads", type=positive_int, default=1,
                   help="torch threads inside each evaluation (default 1; fixed so results do not depend on workers)")
    p.set_defaults(func=cmd_tune)
    for action in p._actions:  # the shared --epochs means the tuning runs' epochs here
        if action.dest == "epochs":
            action.help = "maximum epochs of each tuning evaluation ([tune] epochs); best.toml keeps [model] epochs"
