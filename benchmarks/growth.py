"""How cost grows with data: time and peak memory of each preprocessing stage, of the windows, of one training
epoch and of the commands ``wq run``, ``wq train`` and ``wq forecast``, as the series grows (1 k .. 1 M points)
and as the number of drivers grows.

Data: :func:`synthetic_frame`, an hourly series (1 M hourly points fit in pandas' timestamp range, 1 M daily ones
do not) with a daily cycle, AR(1) noise and drivers mixed from three latent factors. The stages are fitted on the
first 60 % of the rows (the training part of a 0.4 test split) and applied to all rows, as wq does.

Measurements:

- stages (in this process): median wall time of ``repeats`` calls; peak memory = tracemalloc peak of one call
  (Python and numpy allocations, which is where these stages allocate);
- one training epoch of an LSTM component (hidden 32, batch 64, 7 lags; the windows of the fitting rows, with
  the validation windows evaluated as wq's loop does): :func:`benchmarks.speed.time_epoch` in a child process,
  whose peak resident memory (``os.wait4``) is reported; the child's import-only baseline is reported too;
- commands: ``python -m wq run|train|forecast`` as child processes, median wall time and peak RSS of the runs
  (``wq run`` and ``wq train`` with ``--models dwt-pca-lstm``/the pipeline model and one epoch, so that the
  training loop does not hide the rest; ``wq forecast`` forecasts the next step from the last row).

A size is skipped when its predicted time (the last measured time scaled by the size ratio to the power of the
larger of 1 and the last observed slope) exceeds ``limit_s`` per run; the report says which.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from benchmarks.machine import loglog_slope, median_time, run_command, traced_peak

STAGES = ("outliers", "moving_average", "scaling", "wavelet", "pca", "preprocessor", "windows")
COMMANDS = ("wq run", "wq train", "wq forecast")
TRAIN_FRACTION = 0.6
LAGS = 7
HIDDEN = 32
BATCH = 64


def synthetic_frame(n: int, drivers: int = 4, seed: int = 0, freq: str = "h") -> pd.DataFrame:
    """``n`` rows: ``y`` = 10 + 2 sin(2 pi t / 24) + AR(1) noise (phi 0.8, sd 0.5) + 0.5 (first driver), and
    ``x1 .. x<drivers>`` = random mixtures of three AR(1) latent factors plus noise of sd 0.1 (so PCA at 90 %
    variance keeps a few components whatever the number of drivers). Index: ``time``, regular ``freq``."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)

    def ar1(size, phi, sd):
        e = rng.normal(0.0, sd, size=size)
        # AR(1) by a vectorised linear filter: y_t = phi y_{t-1} + e_t
        from scipy.signal import lfilter

        return lfilter([1.0], [1.0, -phi], e, axis=0)

    factors = ar1((n, 3), 0.95, 0.3)
    mix = rng.normal(size=(3, drivers))
    X = factors @ mix + rng.normal(0.0, 0.1, size=(n, drivers))
    y = 10 + 2 * np.sin(2 * np.pi * t / 24) + ar1(n, 0.8, 0.5) + (0.5 * X[:, 0] if drivers else 0.0)
    index = pd.date_range("1970-01-01", periods=n, freq=freq, name="time")
    frame = pd.DataFrame(X, index=index, columns=[f"x{i + 1}" for i in range(drivers)])
    frame.insert(0, "y", y)
    return frame


def _preprocess_settings() -> dict:
    from wq.preprocess import PreprocessParams

    return PreprocessParams(moving_average={"window": 3}).model_dump()  # a real window, so the stage does work


def stage_callable(stage: str, frame: pd.DataFrame) -> Callable[[], object]:
    """What one measurement of ``stage`` runs: fit on the training part, transform every row."""
    from wq.preprocess import (DriverPCA, MinMaxScaling, MovingAverage, PreprocessParams, SigmaOutlierSmoother,
                               WaveletDenoiser)
    from wq.windows import sequence_windows, split_sequences

    n_fit = int(len(frame) * TRAIN_FRACTION)
    y = frame[["y"]]
    x = frame.drop(columns="y")
    drivers = list(x.columns)
    settings = _preprocess_settings()
    if stage == "outliers":
        return lambda: SigmaOutlierSmoother(**settings["outliers"]).fit(y.iloc[:n_fit]).transform(y)
    if stage == "moving_average":
        return lambda: MovingAverage(**settings["moving_average"]).fit(y.iloc[:n_fit]).transform(y)
    if stage == "scaling":
        return lambda: MinMaxScaling().fit(frame.iloc[:n_fit]).transform(frame)
    if stage == "wavelet":
        return lambda: WaveletDenoiser(**settings["wavelet"]).fit(y.iloc[:n_fit]).transform_parts(y)
    if stage == "pca":
        def pca():
            scaled = MinMaxScaling().fit(x.iloc[:n_fit]).transform(x)
            return DriverPCA(**settings["pca"]).fit(scaled.iloc[:n_fit]).transform(scaled)
        return pca
    if stage == "preprocessor":
        return lambda: PreprocessParams(**settings).build().fit(frame.iloc[:n_fit], ["y"], drivers).transform(frame)
    if stage == "windows":
        parts = PreprocessParams(**settings).build().fit(frame.iloc[:n_fit], ["y"], drivers).transform(frame)
        M = np.hstack([parts.denoised.to_numpy(), parts.residual.to_numpy(), parts.pcs.to_numpy(),
                       np.asarray(frame.index.dayofweek, dtype=float)[:, None]])
        c = M.shape[1]
        inputs = [0] + list(range(2, c - 1))

        def windows():
            S, origins = sequence_windows(M, LAGS, 1)
            return split_sequences(S, LAGS, inputs, [0], [c - 1], origins)
        return windows
    raise ValueError(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")


def n_components(frame: pd.DataFrame) -> int:
    """Principal components kept at the default 90 % variance on the training part."""
    from wq.preprocess import DriverPCA, MinMaxScaling

    x = frame.drop(columns="y")
    if x.shape[1] == 0:
        return 0
    n_fit = int(len(frame) * TRAIN_FRACTION)
    scaled = MinMaxScaling().fit(x.iloc[:n_fit]).transform(x.iloc[:n_fit])
    return int(DriverPCA(variance=0.9).fit(scaled).n_components_)


def epoch_shape(n: int, n_inputs: int):
    """The LSTM component of the dual model on ``n`` rows: fitting and validation windows of the training part."""
    from benchmarks.speed import NetShape

    n_train_rows = int(n * TRAIN_FRACTION)
    n_fit = n_train_rows - int(round(n_train_rows * 0.2))
    windows = n_train_rows - LAGS  # origins lags-1 .. n_train_rows-2
    n_tr = max(1, n_fit - LAGS)
    return NetShape("lstm", n_tr, max(0, windows - n_tr), LAGS, n_inputs, HIDDEN, 1, 1, 1, BATCH)


# -- child processes ------------------------------------------------------------------------------------------
def _python() -> list[str]:
    return [sys.executable]


def _env(threads: int) -> dict:
    env = dict(os.environ)
    repo = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = repo + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["OMP_NUM_THREADS"] = str(threads)
    return env


def epoch_in_child(n: int, n_inputs: int, repeats: int, threads: int = 1, timeout: float | None = None) -> dict:
    """One training epoch at ``n`` points in a child process: seconds (median) and the child's peak RSS.
    RuntimeError when the child fails or is killed at ``timeout``."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "epoch.json"
        res = run_command([*_python(), "-m", "benchmarks.growth", "epoch", "--n", str(n), "--inputs", str(n_inputs),
                           "--repeats", str(repeats), "--threads", str(threads), "--out", str(out)],
                          env=_env(threads), timeout=timeout)
        if res.returncode != 0 or not out.exists():
            raise RuntimeError(f"epoch child failed (exit {res.returncode}): {res.stderr.strip()[-500:]}")
        data = json.loads(out.read_text())
    data["maxrss"] = res.maxrss
    return data


def import_baseline(threads: int = 1) -> int:
    """Peak RSS of a child that only imports torch, numpy, pandas and wq's models (what every child pays)."""
    res = run_command([*_python(), "-c", "import torch, numpy, pandas, wq.models.networks, wq.preprocess"],
                      env=_env(threads))
    return res.maxrss


def write_growth_pipeline(directory: Path, csv: Path, drivers: Sequence[str]) -> Path:
    """A pipeline TOML for the synthetic CSV: dual LSTM, one epoch, no comparison models."""
    import tomli_w

    pipe = {
        "name": "growth", "seed": 7,
        "data": {"path": str(csv), "time": "time", "target": "y", "drivers": list(drivers),
                 "calendar": ["day_of_week"], "freq": "h"},
        "split": {"test": 0.4, "validation": 0.2},
        "preprocess": {"moving_average": {"window": 3}},
        "model": {"name": "dwt-pca-lstm", "epochs": 1, "patience": 5, "batch": BATCH, "hidden": HIDDEN,
                  "lags": LAGS},
        "compare": {"models": []},
    }
    path = directory / "growth.toml"
    path.write_text(tomli_w.dumps(pipe))
    return path


def command_args(command: str, pipeline: Path, csv: Path, work: Path, threads: int) -> list[str]:
    base = [*_python(), "-m", "wq"]
    if command == "wq run":
        return base + ["run", str(pipeline), "--models", "dwt-pca-lstm", "--out", str(work / "run"), "--quiet",
                       "--threads", str(threads)]
    if command == "wq train":
        return base + ["train", str(pipeline), "--artifact", str(work / "artifact"), "--overwrite", "--quiet",
                       "--threads", str(threads)]
    if command == "wq forecast":
        return base + ["forecast", "--artifact", str(work / "artifact"), "--data", str(csv), "--csv",
                       str(work / "forecast.csv"), "--max-staleness", "none",  # synthetic history: old on purpose
                       "--quiet", "--threads", str(threads)]
    raise ValueError(f"unknown command {command!r}")


# -- the measurements ---------------------------------------------------------------------------------------
class Budget:
    """Which sizes to measure within ``limit_s`` seconds per run.

    In-process stages are skipped when their predicted time (the last median scaled by the size ratio to the
    power of the larger of 1 and the last observed slope) exceeds the limit. Child processes (the epoch, the
    commands) are also tried with a time-out of 1.5 x the limit: a run that exceeds it is killed, reported as
    such, and the part is not tried at larger sizes. For commands the prediction scales only the time above
    ``fixed`` (the start-up every command pays), with the observed slope of that excess once two sizes are known
    (so a start-up-dominated command is not skipped by a linear guess)."""

    def __init__(self, limit_s: float, fixed: float = 0.0):
        self.limit_s = limit_s
        self.fixed = fixed
        self.seen: dict[str, list[tuple[float, float]]] = {}
        self.exhausted: set[str] = set()

    def predict(self, key: str, n: float, fixed: float | None = None) -> float:
        pts = self.seen.get(key, [])
        if not pts:
            return 0.0
        (n1, t1) = pts[-1]
        if fixed is None:  # stages: at least linear
            slope = 1.0
            if len(pts) >= 2:
                (n0, t0) = pts[-2]
                if t0 > 0 and t1 > 0 and n1 != n0:
                    slope = max(1.0, math.log(t1 / t0) / math.log(n1 / n0))
            return t1 * (n / n1) ** slope
        e1 = max(t1 - fixed, 0.05 * t1)
        if len(pts) < 2:
            return 0.0  # unknown: try it under the time-out
        (n0, t0) = pts[-2]
        e0 = max(t0 - fixed, 0.05 * t0)
        slope = min(2.0, max(0.0, math.log(e1 / e0) / math.log(n1 / n0))) if n1 != n0 else 1.0
        return fixed + e1 * (n / n1) ** slope

    def allows(self, key: str, n: float, fixed: float | None = None) -> bool:
        return key not in self.exhausted and self.predict(key, n, fixed) <= self.limit_s

    @property
    def timeout(self) -> float:
        return 1.5 * self.limit_s

    def add(self, key: str, n: float, seconds: float) -> None:
        self.seen.setdefault(key, []).append((n, seconds))


def command_startup(threads: int = 1, repeats: int = 3) -> tuple[float, int]:
    """Median seconds and peak RSS (bytes) of ``python -m wq --version``: the start-up every command pays."""
    res = [run_command([*_python(), "-m", "wq", "--version"], env=_env(threads)) for _ in range(repeats)]
    return float(np.median([r.seconds for r in res])), int(max(r.maxrss for r in res))


def measure(frame: pd.DataFrame, n_inputs: int, stages: Sequence[str], commands: Sequence[str], repeats: int,
            budget: Budget, key_suffix: str, threads: int, work: Path, log: Callable[[str], None],
            epoch: bool = True, baselines: dict | None = None) -> list[dict]:
    """Every stage, the epoch and every command on ``frame``; one row each (skipped ones with a reason).
    ``baselines``: peak RSS in bytes of an idle child ("epoch": import only, "command": ``wq --version``),
    subtracted for ``net_memory_mb``."""
    import shutil

    n, d = len(frame), frame.shape[1] - 1
    baselines = baselines or {}
    rows = []

    def row(part, kind, seconds=np.nan, times=(), memory=np.nan, memory_kind="", note="", base=0.0):
        rows.append({"part": part, "kind": kind, "points": n, "drivers": d, "seconds": seconds,
                     "runs": len(times), "min_seconds": min(times) if len(times) else np.nan,
                     "max_seconds": max(times) if len(times) else np.nan, "peak_memory_mb": memory / 2**20,
                     "net_memory_mb": (memory - base) / 2**20, "memory_kind": memory_kind, "note": note})

    def skipped(part, kind, key, fixed=None):
        if key in budget.exhausted:
            row(part, kind, note=f"skipped: a smaller size exceeded {budget.timeout:.0f} s")
        else:
            row(part, kind, note=f"skipped: predicted {budget.predict(key, n, fixed):.0f} s > {budget.limit_s:.0f} s")

    for stage in stages:
        key = stage + key_suffix
        if not budget.allows(key, n):
            skipped(stage, "stage", key)
            continue
        fn = stage_callable(stage, frame)
        med, times = median_time(fn, repeats=repeats, warmup=1 if n <= 100_000 else 0)
        peak = traced_peak(fn)
        budget.add(key, n, med)
        row(stage, "stage", med, times, peak, "tracemalloc peak")
    key = "epoch" + key_suffix
    if epoch:
        if budget.allows(key, n):
            try:
                data = epoch_in_child(n, n_inputs, repeats, threads, timeout=budget.timeout * (2 * repeats + 2))
            except RuntimeError as exc:
                budget.exhausted.add(key)
                row("training epoch", "epoch", note=f"failed or exceeded the time-out: {str(exc)[-200:]}")
            else:
                budget.add(key, n, data["seconds"])
                row("training epoch", "epoch", data["seconds"], data["times"], data["maxrss"], "child peak RSS",
                    note=f"{data['n_train']} windows, batch {BATCH}", base=baselines.get("epoch", 0.0))
                log(f"growth: epoch at {n} points, {d} drivers: {data['seconds']:.2f} s")
        else:
            skipped("training epoch", "epoch", key)
    if commands:
        csv = work / "data.csv"
        frame.to_csv(csv, date_format="%Y-%m-%d %H:%M:%S")
        pipeline = write_growth_pipeline(work, csv, list(frame.columns[1:]))
        shutil.rmtree(work / "artifact", ignore_errors=True)
        for command in commands:
            key = command + key_suffix
            if not budget.allows(key, n, budget.fixed):
                skipped(command, "command", key, budget.fixed)
                continue
            if command == "wq forecast" and not (work / "artifact").exists():
                res = run_command(command_args("wq train", pipeline, csv, work, threads), env=_env(threads),
                                  timeout=10 * budget.timeout)
                if res.returncode != 0:
                    row(command, "command", note=f"failed: wq train exit {res.returncode}: {res.stderr.strip()[-200:]}")
                    continue
            times, rss, failed = [], [], None
            for _ in range(repeats):
                res = run_command(command_args(command, pipeline, csv, work, threads), env=_env(threads),
                                  timeout=budget.timeout)
                if res.returncode == -9 or res.seconds >= budget.timeout:
                    failed = f"exceeded {budget.timeout:.0f} s (killed)"
                    budget.exhausted.add(key)
                    break
                if res.returncode != 0:
                    failed = f"failed: exit {res.returncode}: {res.stderr.strip()[-300:]}"
                    break
                times.append(res.seconds)
                rss.append(res.maxrss)
            if failed:
                row(command, "command", note=failed)
                log(f"growth: {command} at {n} points {failed}")
                continue
            med = float(np.median(times))
            budget.add(key, n, med)
            row(command, "command", med, times, float(max(rss)), "child peak RSS", base=baselines.get("command", 0.0))
            log(f"growth: {command} at {n} points, {d} drivers: {med:.2f} s")
        shutil.rmtree(work / "artifact", ignore_errors=True)
    return rows


def run_growth(sizes: Sequence[int], driver_counts: Sequence[int], driver_points: int, repeats: int,
               limit_s: float, drivers_for_sizes: int = 4, threads: int = 1, seed: int = 0,
               commands: Sequence[str] = COMMANDS, driver_commands: Sequence[str] = ("wq run",),
               log: Callable[[str], None] = print
               ) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Growth with the number of points (``drivers_for_sizes`` drivers) and with the number of drivers (at
    ``driver_points`` points). Returns ``(by_size, by_drivers, info)``."""
    import torch

    torch.set_num_threads(threads)
    startup, startup_rss = command_startup(threads) if (commands or driver_commands) else (0.0, 0)
    baselines = {"epoch": import_baseline(threads), "command": startup_rss}
    info = {"import_baseline_rss_mb": baselines["epoch"] / 2**20, "command_startup_seconds": startup,
            "command_startup_rss_mb": startup_rss / 2**20, "limit_s": limit_s, "repeats": repeats}
    log(f"growth: command start-up (python -m wq --version) {startup:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        budget = Budget(limit_s, fixed=startup)
        by_size = []
        for n in sorted(sizes):
            frame = synthetic_frame(n, drivers_for_sizes, seed)
            k = n_components(frame)
            log(f"growth: {n} points ({k} principal components)")
            by_size += measure(frame, 1 + k, STAGES, commands, repeats, budget, "", threads, work, log,
                               baselines=baselines)
        by_drivers = []
        budget_d = Budget(limit_s, fixed=startup)
        for d in sorted(driver_counts):
            frame = synthetic_frame(driver_points, d, seed)
            k = n_components(frame)
            log(f"growth: {d} drivers at {driver_points} points ({k} principal components)")
            rows = measure(frame, 1 + k, ("scaling", "pca", "preprocessor", "windows"), driver_commands, repeats,
                           budget_d, f"@{d}", threads, work, log, baselines=baselines)
            for r in rows:
                r["components"] = k
            by_drivers += rows
    return pd.DataFrame(by_size), pd.DataFrame(by_drivers), info


def slopes(by_size: pd.DataFrame) -> pd.DataFrame:
    """Per part: log-log slope of time and of memory against points over all measured sizes, and the slope of
    time between the two largest sizes (the asymptotic behaviour, once fixed costs no longer dominate)."""
    rows = []
    for part, grp in by_size.groupby("part", sort=False):
        g = grp.dropna(subset=["seconds"]).sort_values("points")
        top = g.tail(2)
        rows.append({"part": part, "kind": g["kind"].iloc[0] if len(g) else "", "sizes": len(g),
                     "largest_points": int(g["points"].max()) if len(g) else 0,
                     "seconds_at_largest": float(g["seconds"].iloc[-1]) if len(g) else np.nan,
                     "time_slope": loglog_slope(g["points"], g["seconds"]),
                     "time_slope_top_two": loglog_slope(top["points"], top["seconds"]),
                     "memory_slope": loglog_slope(g["points"], g["net_memory_mb"])})
    return pd.DataFrame(rows)


# -- child entry point: python -m benchmarks.growth epoch ... ----------------------------------------------------
def _main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.growth")
    sub = p.add_subparsers(dest="what", required=True)
    e = sub.add_parser("epoch")
    e.add_argument("--n", type=int, required=True)
    e.add_argument("--inputs", type=int, required=True)
    e.add_argument("--repeats", type=int, default=3)
    e.add_argument("--threads", type=int, default=1)
    e.add_argument("--out", required=True)
    args = p.parse_args(argv)
    import torch

    from benchmarks.speed import epoch_times

    torch.set_num_threads(args.threads)
    s = epoch_shape(args.n, args.inputs)
    times = epoch_times(s, repeats=args.repeats, epochs=1, threads=args.threads, warmup=args.n <= 100_000)
    Path(args.out).write_text(json.dumps({"seconds": float(np.median(times)), "times": times,
                                          "n_train": s.n_train, "n_val": s.n_val}))
    return 0


if __name__ == "__main__":
    sys.exit(_main())
