"""The batch subcommands of ``wq``: ``train``, ``forecast``, ``score`` and ``forecast-history`` (issue 6).

Exit codes (as for every ``wq`` command): 0 success; 2 bad input (data, artifact, pipeline, option:
one line on stderr, nothing written); 1 an unexpected error. ``wq score --fail-on-drift`` exits
:data:`EXIT_DRIFT` (3) when a series drifts, so a scheduler can alert on it. Log lines with
timestamps go to stderr; results (artifact version, store counts, score tables) to stdout.

This module is imported by every ``wq`` command, so it imports nothing heavy at module level.
"""

from __future__ import annotations

from pathlib import Path

from wq.cli.common import add_pipeline_options, log, pipeline_from_args, positive_int, progress, set_threads

__all__ = ["EXIT_DRIFT", "EXIT_ALARM", "register", "cmd_train", "cmd_forecast", "cmd_score", "cmd_forecast_history"]

EXIT_DRIFT = 3
"""Exit code of ``wq score --fail-on-drift`` when drift (of the error or of the interval coverage) is flagged."""

EXIT_ALARM = 4
"""Exit code of ``wq forecast --fail-on-alarm`` when a forecast's probability of crossing its ``[limits]``
limit reaches the ``alarm`` threshold (the rows are written first)."""


def cmd_train(args) -> int:
    """``wq train PIPELINE --artifact DIR``: see :mod:`wq.batch.train`."""
    from wq.batch.train import train_artifact

    set_threads(args)
    pipe = pipeline_from_args(args)
    if args.model:
        pipe = pipe.with_params(model__name=args.model)
    if pipe.data.value("site") or pipe.data.value("sites"):
        from wq.sites.artifact import train_sites

        res = train_sites(pipe, args.artifact, overwrite=args.overwrite, jobs=args.jobs, progress=progress(args.quiet))
        print(f"wrote artifact {res.path} (pipeline {pipe.name}, {len(res.data.sites)} sites, "
              f"{res.meta['strategy']}/{res.meta['pooling']}, version {res.version_id})")
        return 0
    result = train_artifact(pipe, args.artifact, overwrite=args.overwrite, progress=progress(args.quiet))
    print(f"wrote artifact {result.path} (pipeline {pipe.name}, model {pipe.model_name}, version {result.version_id})")
    return 0


def _check_destination(args) -> None:
    """Before any loading or forecasting: the checks the store and CSV writers make on their destination."""
    from pathlib import Path

    from wq.batch.csv_store import check_csv_folder
    from wq.batch.store import check_new_store

    if args.dry_run:
        return
    if args.store is not None and str(args.store) != ":memory:" and not Path(args.store).exists():
        check_new_store(Path(args.store))
    if args.csv is not None:
        check_csv_folder(Path(args.csv))


def cmd_forecast(args) -> int:
    """``wq forecast --artifact DIR [--data PATH] [--as-of T | --backfill FROM TO] --store PATH | --csv OUT``."""
    from wq.batch.forecast import batch_forecast
    from wq.errors import ConfigError

    if args.store is None and args.csv is None and not args.dry_run:
        raise ConfigError("wq forecast: give --store PATH (SQLite) or --csv PATH, or --dry-run to write nothing")
    _check_destination(args)
    if _sites_artifacts(args.artifact):
        return _forecast_sites(args)
    run = batch_forecast(
        args.artifact,
        data=args.data,
        as_of=args.as_of,
        backfill=tuple(args.backfill) if args.backfill else None,
        store=None if args.dry_run else args.store,
        csv=None if args.dry_run else args.csv,
        now=args.now,
        max_staleness=args.max_staleness,
        on_conflict=args.on_conflict,
        threads=args.threads or 1,  # small networks run fastest on one thread; torch is imported only if needed
        progress=progress(args.quiet),
    )
    for s in run.summaries:
        span = str(s["as_of_last"]) if s["as_ofs"] == 1 else f"{s['as_of_first']} .. {s['as_of_last']} ({s['as_ofs']} as-of times)"
        print(f"{s['pipeline']} {s['model_version']}: as-of {span}, {s['rows']} rows")
    if run.result is not None:
        r = run.result
        print(f"{run.destination}: {r.inserted} inserted, {r.unchanged} unchanged, {r.revised} revised")
    if args.dry_run or args.print:
        print(run.rows.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%S"), end="")
    alarms = run.alarms if run.alarms is not None else []
    for a in (alarms.itertuples() if len(alarms) else ()):
        print(f"{a.level.upper()}: {a.pipeline} {a.target} step {a.step} valid {a.time}: P({a.limit}) = {a.p_limit:.3f}")
    if len(alarms) and (alarms["level"] == "alarm").any() and args.fail_on_alarm:
        log(f"forecast: alarm (exit {EXIT_ALARM})")
        return EXIT_ALARM
    return 0


def _sites_artifacts(paths) -> bool:
    """True when the artifacts are multi-site ones (all of them; a mix is refused)."""
    from wq.batch.forecast import find_artifacts
    from wq.errors import ConfigError
    from wq.sites.artifact import is_sites_artifact

    kinds = {is_sites_artifact(p) for p in find_artifacts(paths)}
    if len(kinds) > 1:
        raise ConfigError("wq forecast: give multi-site artifacts and single-series artifacts in separate calls")
    return kinds == {True}


def _forecast_sites(args) -> int:
    """``wq forecast`` with multi-site artifacts (:mod:`wq.sites.forecast`): every site, one transaction."""
    from wq.batch.forecast import find_artifacts
    from wq.errors import ConfigError
    from wq.sites.forecast import forecast_sites_batch

    if args.backfill:
        raise ConfigError("wq forecast --backfill: not available for multi-site artifacts (give --as-of per origin)")
    if args.as_of and (args.max_staleness or args.now):
        raise ConfigError("wq forecast --max-staleness/--now: with --as-of a multi-site forecast is not checked for "
                          "staleness (a site without an observation in the 24 hours before the origin is skipped)")
    run = forecast_sites_batch(find_artifacts(args.artifact), data=args.data, as_of=args.as_of,
                               now=args.now, max_staleness=args.max_staleness,
                               store=None if args.dry_run else args.store, csv=None if args.dry_run else args.csv,
                               on_conflict=args.on_conflict, progress=progress(args.quiet), warn=log)
    for s in run.summaries:
        written = ""
        if run.result is not None:
            r = run.result
            written = f" -> {run.destination}: {r.inserted} inserted, {r.unchanged} unchanged, {r.revised} revised"
        shown = f", intervals {'/'.join(s['intervals'])} %" if s["intervals"] else ""
        shown += f", {s['skipped']} skipped (outage)" if s["skipped"] else ""
        print(f"{s['pipeline']} {s['model_version']}: {s['sites']} sites, as-of {s['as_of']}, {s['horizon']} steps "
              f"ahead, {s['rows']} rows{shown}{written}")
    if args.dry_run or args.print:
        print(run.rows.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%S"), end="")
    return 0


def cmd_score(args) -> int:
    """``wq score --store PATH [--data PATH] [--artifact DIR]``: see :mod:`wq.batch.monitor`."""
    import pandas as pd

    from wq.batch.monitor import score_store
    from wq.batch.score import format_score

    reports = score_store(store=args.store, csv=args.csv, data=args.data, artifacts=args.artifact or (),
                          time=args.time, pipeline=args.pipeline, threshold=args.threshold,
                          window=args.window, drift_step=args.step, versions=args.version)
    for i, rep in enumerate(reports):
        if i:
            print()
        print(f"== {rep.label}")
        print(format_score(rep.result), end="")
        if rep.coverage is not None and len(rep.coverage):
            print(f"\nInterval coverage over the last {rep.result.window} days (drift: below nominal by more than "
                  f"two standard errors):")
            print(rep.coverage.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
            if rep.coverage["drift"].any():
                print("CALIBRATION DRIFT: the intervals cover less than they should; consider retraining.")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for table in ("by_step", "by_month", "daily", "flags"):
            frames = [getattr(r.result, table) for r in reports if len(getattr(r.result, table))]
            frame = pd.concat(frames, ignore_index=True) if frames else getattr(reports[0].result, table)
            frame.to_csv(out / f"{table}.csv", index=False, float_format="%.6g")
        log(f"score: wrote by_step.csv, by_month.csv, daily.csv, flags.csv to {out}")
    drift = any(r.result.drift or (r.coverage is not None and len(r.coverage) and r.coverage["drift"].any())
                for r in reports)
    if drift and args.fail_on_drift:
        log("score: drift flagged (exit 3)")
        return EXIT_DRIFT
    return 0


def cmd_forecast_history(args) -> int:
    """``wq forecast-history (--store PATH | --csv PATH) [--as-of T] [--target T] [--revised]``: every stored
    version of the chosen forecasts as CSV on stdout (version 1 is what was issued)."""
    import pandas as pd

    from wq.batch.monitor import read_forecasts
    from wq.batch.rows import KEY, bound

    rows = read_forecasts(args.store, args.csv, pipeline=args.pipeline, model_version=args.model_version,
                          versions="all")
    if args.as_of is not None:
        rows = rows.loc[rows["as_of"] == pd.Timestamp(bound(args.as_of, "--as-of"))]
    if args.target is not None:
        rows = rows.loc[rows["target"] == args.target]
    if args.revised:
        rows = rows.loc[rows.groupby(list(KEY))["version"].transform("max") > 1]
    print(rows.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%S"), end="")
    return 0


# size: argparse declarations of the batch commands' options
def register(sub) -> None:
    """Add ``train``, ``forecast`` and ``score`` to the ``wq`` command."""
    p = sub.add_parser("train", help="fit the pipeline's model on all history and write a model artifact")
    add_pipeline_options(p)
    p.add_argument("--artifact", "--out", dest="artifact", required=True,
                   help="artifact directory to write (atomically)")
    p.add_argument("--jobs", type=int, default=1,
                   help="multi-site pipelines: per-site work on N joblib worker processes (-1: every core)")
    p.add_argument("--model", help="model to train (default: [model] name)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing artifact directory")
    p.set_defaults(func=cmd_train)

    f = sub.add_parser("forecast", help="forecast the next horizon from artifact(s) and fresh data into a store")
    f.add_argument("--artifact", action="append", required=True, metavar="DIR",
                   help="artifact directory, or a folder of artifacts; repeat for several (one transaction)")
    f.add_argument("--data", help="fresh data file for every artifact (default: each artifact's training file)")
    when = f.add_mutually_exclusive_group()
    when.add_argument("--as-of", dest="as_of", metavar="TIME",
                      help="forecast origin; only data up to it are used (default: the last time in the data)")
    when.add_argument("--backfill", nargs=2, metavar=("FROM", "TO"),
                      help="one forecast per time of the data in [FROM, TO], each with only the data up to it")
    dest = f.add_mutually_exclusive_group()
    dest.add_argument("--store", metavar="PATH", help="SQLite forecast store (created if absent)")
    dest.add_argument("--csv", metavar="PATH", help="forecast CSV file instead of a SQLite store")
    f.add_argument("--max-staleness", metavar="DURATION",
                   help="allowed age of the last complete observation, e.g. 36h, or 'none' to forecast from old "
                        "data (default: [batch] max_staleness, else at most one step before the forecast origin)")
    f.add_argument("--now", metavar="TIME", help="reference time of the staleness check (default: the current UTC time)")
    f.add_argument("--on-conflict", choices=["version", "error"], default="version",
                   help="a forecast already issued gets a different value (revised data): store it as a new "
                        "version beside the issued one (default; nothing issued is replaced) or fail")
    f.add_argument("--dry-run", action="store_true", help="forecast and print the rows, write nothing")
    f.add_argument("--print", action="store_true", help="also print the rows as CSV")
    f.add_argument("--fail-on-alarm", action="store_true",
                   help=f"exit {EXIT_ALARM} when a forecast's probability of crossing its [limits] limit reaches the "
                        "alarm threshold (rows are written first; warnings and alarms are always printed)")
    f.add_argument("--threads", type=positive_int, help="torch CPU threads (default 1)")
    f.add_argument("--quiet", action="store_true", help="no log lines")
    f.set_defaults(func=cmd_forecast)

    s = sub.add_parser("score", help="metrics of stored forecasts per step and month, and a drift flag")
    src = s.add_mutually_exclusive_group(required=True)
    src.add_argument("--store", metavar="PATH", help="SQLite forecast store")
    src.add_argument("--csv", metavar="PATH", help="forecast CSV file")
    s.add_argument("--data", help="observations (default with --artifact: the artifact's training file)")
    s.add_argument("--artifact", action="append", metavar="DIR",
                   help="score this artifact's forecasts with its data settings and validation MAPE (repeatable)")
    s.add_argument("--time", help="time column of --data without --artifact (default: the first column)")
    s.add_argument("--pipeline", help="only this pipeline's forecasts (without --artifact)")
    s.add_argument("--threshold", type=float, help="drift threshold on the rolling daily MAPE, percent")
    s.add_argument("--window", type=positive_int, help="drift window in days (default: [batch] drift_window or 7)")
    s.add_argument("--step", type=positive_int, default=1, help="horizon step whose errors drive the drift flag (default 1)")
    s.add_argument("--out", help="folder for by_step.csv, by_month.csv, daily.csv, flags.csv")
    s.add_argument("--fail-on-drift", action="store_true", help=f"exit {EXIT_DRIFT} when drift is flagged")
    s.add_argument("--version", choices=["first", "latest"], default="first",
                   help="which version of a revised forecast to score: the one issued first (default) or the latest")
    s.set_defaults(func=cmd_score)

    h = sub.add_parser("forecast-history", help="every stored version of forecasts (issued value and revisions) as CSV")
    src = h.add_mutually_exclusive_group(required=True)
    src.add_argument("--store", metavar="PATH", help="SQLite forecast store")
    src.add_argument("--csv", metavar="PATH", help="forecast CSV file")
    h.add_argument("--pipeline", help="only this pipeline")
    h.add_argument("--model-version", dest="model_version", help="only this artifact version")
    h.add_argument("--as-of", dest="as_of", metavar="TIME", help="only forecasts from this as-of time")
    h.add_argument("--target", help="only this target")
    h.add_argument("--revised", action="store_true", help="only forecasts that have more than one version")
    h.set_defaults(func=cmd_forecast_history)
