"""Benchmark of `wq tune`: GA vs random search vs Optuna (TPE) at an equal evaluation budget, and evaluations
per minute with 1 and 2 worker processes.

    python benchmarks/bench_tune.py [--quick] [--out reports/benchmarks/tune] [--work DIR] [--datasets ...]

For each dataset (Fort Collins demand, pipelines/fort_collins.toml; UCI plant, pipelines/uci_plant.toml, skipped
with a message when the pipeline or its data is absent) it runs ``tune_pipeline`` with strategy ``all``: the GA,
then random search and Optuna with the number of evaluations the GA spent; each strategy's best settings are
then run once on the test period (test rows cut off before tuning, used once per strategy, after tuning). The
pipeline as given is run once too, as the untuned reference. Throughput: the same 8 evaluations (the pipeline's
own settings, seeds 0..7: equal work each) through 1 and 2 local worker processes, after a warm-up that starts
the workers. Writes results.csv, throughput.csv, convergence_<dataset>.png and README.md to --out; the full
tuning outputs go to --work (default: a temporary folder), not into the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from wq.config import Pipeline  # noqa: E402
from wq.errors import WqError  # noqa: E402

DATASETS = {"fort_collins": REPO / "pipelines" / "fort_collins.toml",
            "uci_plant": REPO / "pipelines" / "uci_plant.toml"}
MODES = {  # population, generations, folds, epochs (tuning and final runs alike)
    "quick": {"population": 8, "generations": 3, "folds": 2, "epochs": 15},
    "full": {"population": 12, "generations": 6, "folds": 3, "epochs": 100},
}


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def configure(path: Path, mode: dict, workers: int, seed: int) -> Pipeline:
    pipe = Pipeline.load(path)
    pipe.set("model.epochs", mode["epochs"])
    for key in ("population", "generations", "folds"):
        pipe.set(f"tune.{key}", mode[key])
    pipe.set("tune.strategy", "all")
    pipe.set("tune.workers", workers)
    pipe.set("tune.epochs", 0)
    pipe.set("seed", seed)
    return pipe


def mean_test(metrics: pd.DataFrame, model: str) -> float:
    return float(metrics.loc[metrics["model"] == model, "MAPE"].mean())


def bench_dataset(name: str, pipe: Pipeline, out: Path, work: Path) -> list[dict]:
    from wq.run import run_pipeline
    from wq.tune.workflow import tune_pipeline

    t0 = time.perf_counter()
    o = tune_pipeline(pipe, work / name, test_runs="each", progress=log)
    tuning_seconds = time.perf_counter() - t0
    shutil.copyfile(o.paths["convergence"], out / f"convergence_{name}.png")
    log(f"{name}: running the pipeline as given once on the test period (untuned reference)")
    untuned = run_pipeline(pipe, models=[pipe.model_name, "persistence"], out_dir=work / name / "untuned").metrics
    rows = [{"dataset": name, "strategy": "untuned pipeline", "validation_MAPE": o.initial_fitness,
             "test_MAPE": mean_test(untuned, pipe.model_name), "persistence_test_MAPE": mean_test(untuned, "persistence"),
             "evaluations": 0, "cached": 0, "failed": 0, "seconds": None, "stopped_because": ""}]
    for strategy, res in o.results.items():
        test = o.test[o.test["strategy"] == strategy]
        rows.append({"dataset": name, "strategy": strategy, "validation_MAPE": res.best_fitness,
                     "test_MAPE": mean_test(test, pipe.model_name),
                     "persistence_test_MAPE": mean_test(test, "persistence"), "evaluations": res.n_evals,
                     "cached": res.n_cached, "failed": res.n_failed, "seconds": round(res.seconds, 1),
                     "stopped_because": res.stopped_because})
    log(f"{name}: tuning and test runs took {tuning_seconds:.0f} s")
    return rows


def timed_evaluation(objective, params: dict, seed: int) -> tuple[float, float, float]:
    """(fitness, wall seconds, CPU seconds of this process) of one evaluation."""
    w0, c0 = time.perf_counter(), time.process_time()
    value = objective(params, seed)
    return value, time.perf_counter() - w0, time.process_time() - c0


def throughput(pipe: Pipeline, n: int = 8, repeats: int = 2) -> list[dict]:
    """Evaluations per minute for the same ``n`` evaluations with 1 worker (serial, in this process) and 2
    worker processes, measured ``repeats`` times alternately (1, 2, 1, 2, ...) so that a change of the
    machine's load hits both; the speedup is total time with 1 worker / total time with 2."""
    from wq.evaluate.backtest import split_point
    from wq.run import load_frame
    from wq.tune.objective import PipelineObjective, current_settings, pipeline_space
    from wq.tune.parallel import make_map

    frame, mask, _ = load_frame(pipe)
    start = split_point(len(frame), float(pipe.raw["split"]["test"]))
    obj = PipelineObjective(pipe.raw, pipe.base_dir, frame.iloc[:start], folds=int(pipe.raw["tune"]["folds"]),
                            metric="MAPE", observed_mask=None if mask is None else mask.iloc[:start])
    space, _ = pipeline_space(pipe)
    params = current_settings(space, pipe)
    maps = {w: make_map(w) for w in (1, 2)}
    for w, pmap in maps.items():  # start and warm the workers (imports) before timing
        pmap(timed_evaluation, [(obj, params, 100 + i) for i in range(w)])
    rows, fits = [], {1: [], 2: []}
    for r in range(repeats):
        for w, pmap in maps.items():
            load = os.getloadavg()[0]
            t0 = time.perf_counter()
            out = pmap(timed_evaluation, [(obj, params, seed) for seed in range(n)])
            seconds = time.perf_counter() - t0
            fits[w] = [f for f, _, _ in out]
            rows.append({"repeat": r, "workers": w, "evaluations": n, "seconds": round(seconds, 2),
                         "evaluations_per_minute": round(60 * n / seconds, 2), "load_average_before": round(load, 2),
                         "cpu_seconds_per_evaluation": round(sum(c for _, _, c in out) / n, 2),
                         "wall_seconds_per_evaluation": round(sum(x for _, x, _ in out) / n, 2)})
            log(f"throughput: {w} worker(s): {n} evaluations in {seconds:.1f} s (load average {load:.1f})")
    total = {w: sum(r["seconds"] for r in rows if r["workers"] == w) for w in (1, 2)}
    for r in rows:
        r["speedup_overall"] = round(total[1] / total[2], 2)
        r["identical_fitness_1_vs_2"] = fits[1] == fits[2]
    return rows


def fmt(v) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "-"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def readme(results: pd.DataFrame, thr: pd.DataFrame, mode_name: str, mode: dict, skipped: list[str],
           seconds: float) -> str:
    cols = ["dataset", "strategy", "validation_MAPE", "test_MAPE", "persistence_test_MAPE", "evaluations", "cached",
            "failed", "seconds"]
    lines = ["# Benchmark: GA vs random search vs Optuna for `wq tune`", "",
             f"Made by `python benchmarks/bench_tune.py{' --quick' if mode_name == 'quick' else ''}` on "
             f"{time.strftime('%Y-%m-%d')} ({platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
             f"Python {platform.python_version()}); total {seconds / 60:.1f} min of wall time on that machine, "
             "shared with other work at the time (see the load averages below).", "",
             "## Setup", "",
             f"- Mode {mode_name}: GA population {mode['population']}, {mode['generations']} generations after "
             f"generation 0; fitness = mean validation MAPE over {mode['folds']} rolling-origin folds inside the "
             f"training part; {mode['epochs']} maximum epochs for every network (tuning and final runs alike); "
             "default search space of the dual-LSTM pipeline (12 settings).",
             "- Equal budget: random search and Optuna (TPE) get exactly the number of distinct settings the GA "
             "evaluated (`evaluations`); `cached` individuals were answered without training. Every strategy starts "
             "from the pipeline's own settings.",
             "- Test error: each strategy's best settings run once on the test period (the last 40 %, cut off "
             "before tuning), after tuning; MAPE averaged over the targets. `untuned pipeline` is the pipeline as "
             "given; persistence is the naive reference.", ""]
    if skipped:
        lines += [f"- Skipped: {', '.join(skipped)}.", ""]
    lines += ["## Results", "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in results[cols].itertuples(index=False):
        lines.append("| " + " | ".join(fmt(v) for v in row) + " |")
    lines += [""]
    for ds, grp in results.groupby("dataset", sort=False):
        tuned = grp[grp["strategy"] != "untuned pipeline"]
        base = grp[grp["strategy"] == "untuned pipeline"]
        v = tuned.loc[tuned["validation_MAPE"].idxmin()]
        t = tuned.loc[tuned["test_MAPE"].idxmin()]
        line = (f"- {ds}: lowest validation MAPE {v['validation_MAPE']:.3f} ({v['strategy']}); lowest test MAPE "
                f"{t['test_MAPE']:.3f} ({t['strategy']})")
        if not base.empty:
            b = base.iloc[0]
            better = tuned[tuned["validation_MAPE"] < b["validation_MAPE"] - 1e-12]["strategy"].tolist()
            line += (f"; untuned pipeline {b['validation_MAPE']:.3f} validation / {b['test_MAPE']:.3f} test; "
                     f"strategies that improved on it in validation: {', '.join(better) or 'none'}")
        lines.append(line + f"; persistence test MAPE {grp['persistence_test_MAPE'].iloc[0]:.3f}.")
    lines += [""]
    for ds in results["dataset"].unique():
        lines += [f"![convergence {ds}](convergence_{ds}.png)", ""]
    if thr.empty:
        return "\n".join(lines + ["Throughput was not measured (Fort Collins was not run).", ""])
    tcols = ["repeat", "workers", "evaluations", "seconds", "evaluations_per_minute", "load_average_before",
             "cpu_seconds_per_evaluation", "wall_seconds_per_evaluation", "speedup_overall",
             "identical_fitness_1_vs_2"]
    lines += ["## Evaluations per minute", "",
              "The same 8 evaluations (Fort Collins, the pipeline's own settings, seeds 0..7: equal work each) with "
              "1 worker (serial) and 2 worker processes (joblib/loky), alternately, after a warm-up that starts the "
              "workers (the first start costs a few seconds of imports per worker). Each evaluation uses one torch "
              "thread. `speedup_overall` = total seconds with 1 worker / total seconds with 2. "
              "`cpu_seconds_per_evaluation` is the CPU time of the evaluating process, "
              "`wall_seconds_per_evaluation` its wall time: on idle cores the two are equal; wall well above CPU "
              "means the process waited for a core (other load), and equal CPU with 1 and 2 workers means the "
              "parallel path adds no work of its own.", "",
              "| " + " | ".join(tcols) + " |", "|" + "---|" * len(tcols)]
    for row in thr[tcols].itertuples(index=False):
        lines.append("| " + " | ".join(fmt(v) for v in row) + " |")
    lines += ["", "## Caveats", "",
              "- The machine (2 cores) was shared with other engineers' builds and tests while this ran: timings "
              "and the speedup are noisy, and the load average before each measurement is shown. With 2 busy "
              "cores and other load, 2 workers cannot reach a clean 2x; rerun on an idle machine for a clean "
              "number.",
              f"- {'Quick mode is a' if mode_name == 'quick' else 'This is a'} small budget "
              f"({int(results['evaluations'].max())} evaluations per strategy, {mode['epochs']} epochs) and one "
              "seed: enough to check that the comparison runs end to end, not to rank the strategies. A GA "
              "spends its first generations exploring; run without --quick, and with several seeds, for a real "
              "comparison.",
              "- Wall times of the strategies (`seconds`) depend on the settings they happened to try (larger "
              "networks train longer) and on the machine's load at that moment.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small budget (about 10 minutes on 2 cores)")
    ap.add_argument("--out", default=str(REPO / "reports" / "benchmarks" / "tune"))
    ap.add_argument("--work", help="folder for the full tuning outputs (default: a temporary folder)")
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--workers", type=int, default=2, help="worker processes for the comparisons")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--throughput-only", action="store_true",
                    help="measure evaluations per minute again and rewrite README.md, keeping results.csv")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    mode_name = "quick" if args.quick else "full"
    mode = MODES[mode_name]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="wq_bench_tune_"))
    t0 = time.perf_counter()
    rows, skipped, thr = [], [], None
    meta_path = out / "meta.json"
    if args.throughput_only:
        if not (out / "results.csv").is_file() or not meta_path.is_file():
            log(f"--throughput-only needs results.csv and meta.json in {out}: run the comparison first")
            return 1
        meta = json.loads(meta_path.read_text())
        mode_name, mode = meta["mode"], MODES[meta["mode"]]
        thr = throughput(configure(DATASETS["fort_collins"], mode, args.workers, args.seed))
        results = pd.read_csv(out / "results.csv")
        pd.DataFrame(thr).to_csv(out / "throughput.csv", index=False)
        (out / "README.md").write_text(readme(results, pd.DataFrame(thr), mode_name, mode, meta["skipped"],
                                              meta["seconds"]), encoding="utf-8")
        log(f"rewrote {out}/README.md with a new throughput measurement")
        return 0
    for name in [d.strip() for d in args.datasets.split(",") if d.strip()]:
        path = DATASETS.get(name)
        if path is None or not path.is_file():
            log(f"{name}: no pipeline at {path}; skipped")
            skipped.append(f"{name} (no pipeline file)")
            continue
        try:
            pipe = configure(path, mode, args.workers, args.seed)
            pipe.data_spec().path.stat()
        except (WqError, OSError) as exc:
            log(f"{name}: skipped ({exc})")
            skipped.append(f"{name} ({exc})")
            continue
        rows += bench_dataset(name, pipe, out, work)
        if thr is None and name == "fort_collins":
            thr = throughput(pipe)
    if not rows:
        log("no dataset could be run")
        return 1
    results = pd.DataFrame(rows)
    results.to_csv(out / "results.csv", index=False, float_format="%.6g")
    thr_frame = pd.DataFrame(thr or [])
    if not thr_frame.empty:
        thr_frame.to_csv(out / "throughput.csv", index=False)
    seconds = time.perf_counter() - t0
    meta_path.write_text(json.dumps({"mode": mode_name, "skipped": skipped, "seconds": seconds}))
    (out / "README.md").write_text(readme(results, thr_frame, mode_name, mode, skipped, seconds), encoding="utf-8")
    log(f"wrote {out}/README.md ({seconds / 60:.1f} min); tuning outputs in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
