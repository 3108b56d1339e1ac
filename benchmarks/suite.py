"""The benchmark command: ``python benchmarks/run.py [--quick] [--only accuracy,speed,growth] [--out DIR]``.

Each section writes its CSVs and ``machine_<section>.json`` to the output folder; the report (``README.md``
and the figures) is then rebuilt from every section's files found there, so a section can be re-run alone.
Quick mode (a few minutes on an idle 2-core machine) runs fewer models, epochs, folds and sizes; the settings of
each mode are in :data:`MODES` and are printed in the report.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from wq.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
SECTIONS = ("accuracy", "speed", "growth")
DATASETS = {"sample": "sample.toml", "fort_collins": "fort_collins.toml", "uci_plant": "uci_plant.toml",
            "dhi_inflow": "dhi_inflow.toml"}

MODES: dict[str, dict[str, Any]] = {
    "quick": {
        "models": ["dwt-pca-lstm", "hgb", "persistence", "seasonal-naive"], "epochs": 30, "folds": 3,
        "peers": ["sf-autoets", "sf-autoarima", "sf-seasonal-naive", "sk-hgb"], "peer_refit": "once",
        "approximation": True,
        "repeats": 3, "timing_epochs": 2, "matmul_sizes": [256, 512, 1024], "batches": [32, 64, 256, 1024],
        "thread_counts": [1, 2], "wavelet_points": 100_000,
        "sizes": [1_000, 10_000, 100_000], "limit_s": 60.0, "driver_counts": [2, 8, 32], "driver_points": 10_000,
        "commands": ["wq run", "wq forecast"], "driver_commands": [], "all_batches_all_threads": False,
        "growth_repeats": 3,
        "tune": {"population": 4, "generations": 1, "folds": 2, "epochs": 10},
    },
    "full": {
        "models": None, "epochs": None, "folds": 4,
        "peers": ["sf-autoets", "sf-autoarima", "sf-mstl", "sf-seasonal-naive", "sk-hgb"], "peer_refit": "fold",
        "approximation": False,
        "repeats": 5, "timing_epochs": 4, "matmul_sizes": [256, 512, 1024, 2048], "batches": [32, 64, 256, 1024],
        "thread_counts": [1, 2], "wavelet_points": 100_000,
        "sizes": [1_000, 10_000, 100_000, 1_000_000], "limit_s": 300.0, "driver_counts": [2, 8, 32],
        "driver_points": 100_000, "commands": ["wq run", "wq train", "wq forecast"], "driver_commands": ["wq run"],
        "all_batches_all_threads": True, "growth_repeats": 3,
        "tune": {"population": 8, "generations": 3, "folds": 2, "epochs": 30},
    },
}


@dataclass
class Settings:
    """Parsed command line: the mode's settings plus the user's choices."""

    mode: str
    sections: list[str]
    out: Path
    datasets: dict[str, Path]
    threads: int = 1
    repeats: int = 3
    repeats_given: bool = False
    tune: bool = False
    tuned: dict[str, Path] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    argv: list[str] = field(default_factory=list)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python benchmarks/run.py",
                                description="wq benchmark suite: accuracy against peers, speed against the "
                                            "machine's limit, growth with data (issue 7).")
    p.add_argument("--quick", action="store_true", help="fewer models, epochs, folds and sizes: a few minutes")
    p.add_argument("--only", help=f"comma-separated sections to run (default all): {', '.join(SECTIONS)}")
    p.add_argument("--out", help="output folder (default reports/benchmarks, or reports/benchmarks/quick with "
                                 "--quick)")
    p.add_argument("--datasets", help=f"comma-separated datasets for the accuracy section (default all): "
                                      f"{', '.join(DATASETS)}")
    p.add_argument("--repeats", type=int, help="timing repeats (median reported; default 3, and 5 for the speed "
                                               "section of the full mode)")
    p.add_argument("--threads", type=int, default=1, help="torch threads for training and timing (default 1, "
                                                          "as the wq command)")
    p.add_argument("--tune", action="store_true",
                   help="tune the dual LSTM of each dataset with a small GA on its training rows first, and "
                        "benchmark the tuned pipeline too")
    p.add_argument("--tuned", action="append", default=[], metavar="DATASET=TOML",
                   help="benchmark this tuned pipeline (e.g. a best.toml of wq tune) for DATASET; repeatable")
    return p


def _csv(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [t.strip() for t in text.split(",") if t.strip()]


def settings_from_args(argv: Sequence[str] | None = None) -> Settings:
    """Parse the command line (:class:`~wq.errors.ConfigError` on a bad value, naming it)."""
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    mode = "quick" if args.quick else "full"
    sections = _csv(args.only) or list(SECTIONS)
    bad = [s for s in sections if s not in SECTIONS]
    if bad:
        raise ConfigError(f"--only: unknown section(s) {bad}; choose from {', '.join(SECTIONS)}")
    names = _csv(args.datasets) or list(DATASETS)
    bad = [d for d in names if d not in DATASETS]
    if bad:
        raise ConfigError(f"--datasets: unknown dataset(s) {bad}; choose from {', '.join(DATASETS)}")
    if args.repeats is not None and args.repeats < 1:
        raise ConfigError(f"--repeats must be >= 1, got {args.repeats}")
    if args.threads < 1:
        raise ConfigError(f"--threads must be >= 1, got {args.threads}")
    tuned = {}
    for item in args.tuned:
        name, sep, path = item.partition("=")
        if not sep or name not in DATASETS:
            raise ConfigError(f"--tuned {item!r}: expected DATASET=TOML with DATASET one of {', '.join(DATASETS)}")
        if not Path(path).is_file():
            raise ConfigError(f"--tuned {item!r}: {path} does not exist")
        tuned[name] = Path(path).resolve()
    params = dict(MODES[mode])
    out = Path(args.out) if args.out else REPO / "reports" / "benchmarks" / ("quick" if args.quick else "")
    return Settings(mode=mode, sections=sections, out=out,
                    datasets={d: REPO / "pipelines" / DATASETS[d] for d in names}, threads=args.threads,
                    repeats=args.repeats or params["repeats"], repeats_given=args.repeats is not None, tune=args.tune, tuned=tuned, params=params,
                    argv=list(argv) if argv is not None else sys.argv[1:])


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def _write_machine(s: Settings, section: str, extra: dict | None = None, started: float | None = None) -> None:
    from benchmarks.machine import load_average, machine_info

    info = machine_info()
    info["load_average_at_start"] = info.pop("load_average_1_5_15")
    if started is not None:
        info["load_average_at_start"] = _LOAD_AT_START.get(section, info["load_average_at_start"])
    info["mode"] = s.mode
    info["command"] = "python benchmarks/run.py " + " ".join(s.argv)
    if started is not None:
        info["section_seconds"] = round(time.time() - started, 1)
    info["load_average_at_end"] = " ".join(f"{v:.2f}" for v in (load_average() or ()))
    info.update(extra or {})
    (s.out / f"machine_{section}.json").write_text(json.dumps(info, indent=1, sort_keys=True, default=str))


_LOAD_AT_START: dict[str, str] = {}


# -- sections -----------------------------------------------------------------------------------------------
def tune_datasets(s: Settings) -> dict[str, Path]:
    """Small GA (the mode's ``tune`` budget) on each dataset's training rows; best.toml into ``out/tuned``."""
    import tempfile

    from wq.config import Pipeline
    from wq.tune.workflow import tune_pipeline

    found = {}
    budget = s.params["tune"]
    for name, path in s.datasets.items():
        if name in s.tuned:
            continue
        pipe = Pipeline.load(path)
        spec = pipe.data_spec()
        if not Path(spec.path).exists():
            continue
        pipe = pipe.with_params(tune__strategy="ga", tune__workers=1,
                                **{f"tune__{key}": budget[key] for key in ("population", "generations", "folds", "epochs")})
        with tempfile.TemporaryDirectory() as tmp:
            log(f"tuning {name}: GA population {budget['population']}, {budget['generations']} generation(s)")
            outcome = tune_pipeline(pipe, tmp, threads=s.threads, progress=None, test_runs="none")
            dest = s.out / "tuned" / f"{name}.toml"
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(Path(outcome.paths["best"]).read_text())
        found[name] = dest
    return found


def run_accuracy_section(s: Settings) -> None:
    from benchmarks.accuracy import AccuracySettings, rolling_summary, run_accuracy

    t0 = time.time()
    p = s.params
    tuned = dict(s.tuned)
    if s.tune:
        tuned.update(tune_datasets(s))
    acc = AccuracySettings(models=p["models"], epochs=p["epochs"], folds=p["folds"], peers=p["peers"],
                           peer_refit=p["peer_refit"], approximation=p["approximation"], tuned=tuned)
    single, folds, notes = run_accuracy(s.datasets, acc, log)
    if single.empty:
        log("accuracy: no dataset available")
        return
    summary = rolling_summary(folds)
    fmt = "%.6g"
    single.to_csv(s.out / "accuracy_single.csv", index=False, float_format=fmt)
    folds.to_csv(s.out / "accuracy_rolling_folds.csv", index=False, float_format=fmt)
    summary.to_csv(s.out / "accuracy_rolling.csv", index=False, float_format=fmt)
    extra = {"accuracy_settings": {"models": acc.models or "pipeline model + comparison models",
                                   "epochs": acc.epochs or "pipeline", "folds": acc.folds, "peers": list(acc.peers),
                                   "peer_refit": acc.peer_refit, "autoarima_approximation": acc.approximation,
                                   "season": acc.season, "tuned": {k: str(v) for k, v in tuned.items()}},
             "notes": notes}
    _write_machine(s, "accuracy", extra, t0)


def run_speed_section(s: Settings) -> None:
    import pandas as pd
    import torch

    from benchmarks import speed
    from wq.config import Pipeline
    from wq.run import load_frame

    t0 = time.time()
    p = s.params
    torch.set_num_threads(s.threads)
    log("speed: matrix-multiply rate")
    mm = speed.matmul_rate(p["matmul_sizes"], repeats=s.repeats, threads=p["thread_counts"])
    peak = float(mm["gflops"].max())
    mm.to_csv(s.out / "speed_matmul.csv", index=False, float_format="%.6g")
    # the networks of the Fort Collins pipeline when its data are there, else of the sample pipeline
    source = None
    for name in ("fort_collins", "sample"):
        pipe = Pipeline.load(REPO / "pipelines" / DATASETS[name])
        if Path(pipe.data_spec().path).exists():
            source = name
            break
    if source is None:
        raise ConfigError("speed: neither the Fort Collins data nor the sample data are present")
    frame, _, _ = load_frame(pipe)
    shapes, prep = speed.pipeline_shapes(pipe, frame, repeats=s.repeats)
    log(f"speed: epochs of the {source} networks (peak {peak:.1f} GFLOP/s)")
    epochs = speed.epoch_table(shapes, peak, repeats=s.repeats, epochs=p["timing_epochs"], log=log)
    epochs.insert(0, "pipeline", source)
    epochs.to_csv(s.out / "speed_epoch.csv", index=False, float_format="%.6g")
    batches = sorted(set(p["batches"]) | {shapes[0].batch})
    sweep, info = speed.epoch_breakdown(shapes[0], peak, batches=batches, threads=p["thread_counts"],
                                        repeats=s.repeats, epochs=p["timing_epochs"], log=log,
                                        all_batches_all_threads=p["all_batches_all_threads"])
    sweep.to_csv(s.out / "speed_batch_sweep.csv", index=False, float_format="%.6g")
    info.update({f"prep_{k}": v for k, v in prep.items()})
    info["pipeline"] = source
    pd.DataFrame([info]).to_csv(s.out / "speed_breakdown.csv", index=False, float_format="%.6g")
    log("speed: causal wavelet vs memory pass")
    wav = speed.wavelet_speed(p["wavelet_points"], repeats=s.repeats)
    pd.DataFrame([wav]).to_csv(s.out / "speed_wavelet.csv", index=False, float_format="%.6g")
    _write_machine(s, "speed", {"repeats": s.repeats}, t0)


def run_growth_section(s: Settings) -> None:
    import pandas as pd

    from benchmarks.growth import run_growth, slopes

    t0 = time.time()
    p = s.params
    repeats = s.repeats if s.repeats_given else p["growth_repeats"]
    by_size, by_drivers, info = run_growth(p["sizes"], p["driver_counts"], p["driver_points"], repeats,
                                           p["limit_s"], threads=s.threads, commands=p["commands"],
                                           driver_commands=p["driver_commands"], log=log)
    by_size.to_csv(s.out / "growth_size.csv", index=False, float_format="%.6g")
    by_drivers.to_csv(s.out / "growth_drivers.csv", index=False, float_format="%.6g")
    slopes(by_size).to_csv(s.out / "growth_slopes.csv", index=False, float_format="%.4g")
    pd.DataFrame([info]).to_csv(s.out / "growth_info.csv", index=False, float_format="%.6g")
    _write_machine(s, "growth", {"repeats": repeats, "limit_s": p["limit_s"]}, t0)


def run_suite(s: Settings) -> Path:
    """Run the chosen sections, then rebuild the report. Returns the report path."""
    import warnings

    import torch

    from benchmarks.report import write_report
    from wq.seed import seed_everything

    warnings.filterwarnings("ignore", message="possible convergence problem")
    s.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(s.threads)
    seed_everything(7)
    t0 = time.time()
    runners = {"accuracy": run_accuracy_section, "speed": run_speed_section, "growth": run_growth_section}
    for section in s.sections:
        log(f"section {section} ({s.mode} mode)")
        from benchmarks.machine import load_average

        _LOAD_AT_START[section] = " ".join(f"{v:.2f}" for v in (load_average() or ()))
        runners[section](s)
    (s.out / "run.json").write_text(json.dumps({"mode": s.mode, "sections": s.sections, "argv": s.argv,
                                                "seconds": round(time.time() - t0, 1),
                                                "params": s.params, "threads": s.threads, "repeats": s.repeats},
                                               indent=1, default=str))
    path = write_report(s.out)
    log(f"wrote {path} ({time.time() - t0:.0f} s)")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    from wq.errors import WqError

    try:
        settings = settings_from_args(argv)
        run_suite(settings)
    except WqError as exc:
        print(f"benchmark: error: {exc}", file=sys.stderr)
        return 2
    return 0
