"""``wq run``: fit, forecast the test period, compare models, write a report (:mod:`wq.run`)."""

from __future__ import annotations

from wq.cli.common import add_pipeline_options, csv_list, pipeline_from_args, progress, set_threads
from wq.errors import ConfigError


def cmd_run(args) -> int:
    from wq.run import run_pipeline

    set_threads(args)
    pipe = pipeline_from_args(args)
    if args.wavelet_mode:
        if pipe.preprocess.wavelet is None:
            raise ConfigError("--wavelet-mode: the pipeline has no wavelet stage")
        pipe = pipe.with_params(preprocess__wavelet__mode=args.wavelet_mode)
    if args.wavelet_method:
        wav = pipe.preprocess.wavelet
        if wav is None:
            raise ConfigError("--wavelet-method: the pipeline has no wavelet stage")
        if args.wavelet_method != wav.method:  # the table's wavelet and level with the other method's keys
            table = {"method": args.wavelet_method, "wavelet": wav.wavelet, "level": wav.level,
                     "threshold": wav.threshold}
            if args.wavelet_mode:
                table["mode"] = args.wavelet_mode
            pipe = pipe.with_params(preprocess__wavelet=table)
    models = csv_list(args.models)
    if pipe.data.value("site") or pipe.data.value("sites"):
        return _run_sites(pipe, models, args)
    if models:
        from wq.models.registry import check_name

        for m in models:
            check_name(m)
    augmenter_for = None
    if pipe.augment.method != "none":
        from wq.augment.pipeline import augmenter_for_pipeline

        augmenter_for = augmenter_for_pipeline(pipe, progress=progress(args.quiet))
    result = run_pipeline(pipe, models=models, out_dir=args.out, audit_leak=args.audit_leak,
                          progress=progress(args.quiet), augmenter_for=augmenter_for)
    if not args.quiet:
        step = ["step"] if result.metrics["step"].max() > 1 else []
        show = result.metrics[["model", "target", *step, "MAPE", "pMAPE", "NSE", "KGE", "fit_seconds"]]
        print(show.sort_values([*step, "MAPE"]).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"wrote {result.out_dir}/report.md ({result.seconds:.1f} s)")
    return 0


def _run_sites(pipe, models, args) -> int:
    """A multi-site pipeline ([data] site or sites): :func:`wq.sites.run.run_sites`."""
    from wq.sites.run import run_sites

    result = run_sites(pipe, models=models, out_dir=args.out, jobs=args.jobs, scheduler=args.scheduler,
                       progress=progress(args.quiet))
    if not args.quiet:
        summary = result.metrics[result.metrics["site"] == "all sites"].drop(columns=["site", "first", "last"])
        print(summary.sort_values(["block", "MAE"]).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"wrote {result.out_dir}/report.md ({result.seconds:.1f} s)")
    return 0


def register(sub) -> None:
    run = sub.add_parser("run", help="fit, forecast the test period, compare models, write a report")
    add_pipeline_options(run, pipeline_optional=True)
    run.add_argument("--models", help="models to run, comma-separated (default: [model] name + [compare] models)")
    run.add_argument("--out", help="output folder (default reports/<pipeline name>)")
    run.add_argument("--wavelet-mode", choices=["causal", "offline"], help="causal (default) or offline (leaks the future)")
    run.add_argument("--wavelet-method", choices=["dwt", "atrous"],
                     help="trailing-window DWT (default) or the causal stationary à trous transform")
    run.add_argument("--audit-leak", action="store_true", help="run the wavelet models in both modes, side by side")
    run.add_argument("--jobs", type=int, default=1,
                     help="multi-site runs: per-site work on N joblib worker processes (-1: every core)")
    run.add_argument("--scheduler", help="multi-site runs: a Dask scheduler address (tcp://host:8786) for per-site work")
    run.set_defaults(func=cmd_run)
