"""Benchmark of the run report's figures: time to draw each figure of `wq run` for ten models.

    python benchmarks/bench_report.py [--models 10] [--points 500] [--steps 3] [--repeats 3] [--out reports/benchmarks/report]

One target, ``--models`` models with noisy forecasts of a seasonal series of ``--points`` test times (the size
of a large `wq run` report); each figure of :mod:`wq.report.figures` is drawn ``--repeats`` times after one
untimed warm-up (font cache, imports), and the median wall time and CPU time (``time.process_time``) of each
are recorded, with the sum of the four per-target figures of a one-step report against the goal (3 s of CPU,
the former limit of a unit test: speed is measured here, never asserted in tests). The lead-time figure is
drawn for ``--steps`` steps. The machine may be shared: its load average is written with the results.

Writes results.json (machine, settings, per-figure times, total, goal) and results.csv (one row per figure)
to --out.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.machine import machine_info  # noqa: E402
from wq.evaluate.metrics import all_metrics  # noqa: E402
from wq.report import figures as F  # noqa: E402

GOAL_CPU_SECONDS = 3.0
TARGET = "flow_m3_h"


def frames(models: int, points: int, steps: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Predictions (step 1) and metrics per model and step; model i has noise sd 0.2 * (i + 1) * step."""
    rng = np.random.default_rng(seed)
    time_ = pd.date_range("2024-01-01", periods=points, freq="D", name="time")
    y = 10 + 3 * np.sin(np.arange(points) / 5) + rng.gamma(2.0, 0.5, points)
    preds, rows = [], []
    for i in range(models):
        name = f"model-{i}"
        for step in range(1, steps + 1):
            f = y + rng.normal(0, 0.2 * (i + 1) * step, points)
            if step == 1:
                preds.append(pd.DataFrame({"time": time_, "model": name, "target": TARGET, "observed": y,
                                           "predicted": f}))
            rows.append({"model": name, "target": TARGET, "step": step, **all_metrics(y, f), "fit_seconds": 0.0})
    return pd.DataFrame(rows), pd.concat(preds, ignore_index=True)


def timed(fn, repeats: int) -> dict[str, float]:
    fn()  # warm-up
    wall, cpu = [], []
    for _ in range(repeats):
        gc.collect()
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return {"wall_s": statistics.median(wall), "cpu_s": statistics.median(cpu)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", type=int, default=10)
    ap.add_argument("--points", type=int, default=500)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(REPO / "reports" / "benchmarks" / "report"))
    args = ap.parse_args(argv)
    metrics, preds = frames(args.models, args.points, args.steps)
    step1 = metrics[metrics["step"] == 1]
    colours = F.model_colours(metrics["model"].unique())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        calls = {
            "forecasts": lambda: F.plot_forecasts(preds, TARGET, Path(tmp) / "a.png", colours),
            "scatter": lambda: F.plot_scatter(preds, TARGET, Path(tmp) / "b.png", colours),
            "residuals": lambda: F.plot_residuals(preds, TARGET, Path(tmp) / "c.png", colours),
            "mape": lambda: F.plot_mape_bars(step1, TARGET, Path(tmp) / "d.png", colours),
            "lead_time": lambda: F.plot_lead_time(metrics, TARGET, Path(tmp) / "e.png", colours),
        }
        for kind, fn in calls.items():
            rows.append({"figure": kind, **timed(fn, args.repeats)})
            print(f"{kind}: {rows[-1]['wall_s']:.3f} s wall, {rows[-1]['cpu_s']:.3f} s CPU", file=sys.stderr)
    table = pd.DataFrame(rows)
    one_step = table[table["figure"] != "lead_time"]
    total_cpu = float(one_step["cpu_s"].sum())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "results.csv", index=False, float_format="%.4f")
    result = {"machine": machine_info(), "settings": vars(args), "figures": rows,
              "one_step_report_cpu_s": total_cpu, "one_step_report_wall_s": float(one_step["wall_s"].sum()),
              "goal_cpu_s": GOAL_CPU_SECONDS, "goal_met": total_cpu < GOAL_CPU_SECONDS}
    (out / "results.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"four figures of one target, {args.models} models, {args.points} points: {total_cpu:.2f} s CPU "
          f"(goal < {GOAL_CPU_SECONDS:g} s); wrote {out / 'results.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
