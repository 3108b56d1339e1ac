"""Benchmark of many sites, hourly data, week-ahead horizons (issue 14).

    nice -n 10 env OMP_NUM_THREADS=1 python benchmarks/bench_sites.py [--quick] [--out reports/benchmarks/sites]
                                                                      [--work DIR] [--parts accuracy,scale,many]

1. **Accuracy** (``accuracy``): week-ahead (168 h) forecasts from origins every 24 h over the held-out test
   weeks (the last ``test`` share of each record; settings chosen on the validation tail before it), per
   lead-time block (hours 1-24: MAE and max abs error; hours 25-168: MAE), the learned model local and global
   (strategy chosen on validation), against "same hour last week" (weekly-naive), the mean of the last four
   weeks' same hour (weekly-mean4), persistence and the daily seasonal naive, all scored on the same
   forecasts (:func:`wq.sites.report.common_rows`). Datasets: the simulated districts (10 sites), DHI inflow
   (one plant, hourly, with weather), the Chicago beach sensors (6 beaches, hourly water temperature, summers).
2. **Scale** (``scale``): 10 simulated sites x 2 years hourly: per-site fitting (local, direct) and the
   backtest of the test weeks with 1 and 2 joblib worker processes; the forecasts of both must be identical.
3. **Many sites** (``many``): 1,000 simulated sites, a global model, all sites forecast 168 h ahead from the
   last origin in one call; growth with 10, 100, 1,000 sites.

The machine is shared (2 cores, other jobs running): the load average is recorded with every timing, and
timings are what this machine gave, not what an idle one would. Writes results.json, accuracy.csv and
README.md to --out; data go to --work (default: a temporary folder).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from wq.config import Pipeline  # noqa: E402
from wq.data.district import simulate_district  # noqa: E402
from wq.sites import model as M  # noqa: E402
from wq.sites.data import load_sites  # noqa: E402
from wq.sites.run import fit_candidate, forecast_sites, origins_between, run_sites, site_arrays  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
BASELINES = '["weekly-naive", "weekly-mean4", "persistence", "seasonal-naive"]'


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def pipeline_text(name: str, data: str, model: dict, test: float = 0.15, validation: float = 0.15) -> str:
    settings = "\n".join(f"{k} = {json.dumps(v)}" for k, v in model.items())
    return (f'name = "{name}"\nseed = 0\n[data]\n{data}\n[split]\ntest = {test}\nvalidation = {validation}\n'
            f'[model]\nname = "hgb"\nhorizon = 168\n{settings}\n[compare]\nmodels = {BASELINES}\n')


def datasets(work: Path, quick: bool) -> dict[str, str]:
    """[data] tables of the accuracy datasets that are present."""
    out = {}
    sim = simulate_district(sites=4 if quick else 10, days=200 if quick else 365, seed=11, tz="Europe/Amsterdam",
                            country="NL", start="2023-01-02")
    sim.to_csv(work / "districts.csv", index=False)
    out["districts"] = (f'path = "{work / "districts.csv"}"\ntime = "time"\nsite = "site"\ntarget = "demand_m3h"\n'
                        'drivers = ["temperature_c", "rain_mm"]\ntz = "Europe/Amsterdam"\n'
                        'calendar = ["hour", "day_of_week", "holiday"]\nholidays = "NL"')
    dhi = SHARED / "dhi_wwtp_inflow" / "processed_data.csv"
    if dhi.exists():
        out["dhi"] = (f'path = "{dhi}"\ntime = "time"\ntarget = "flow"\nsites = ["flow"]\n'
                      'drivers = ["acc_precip", "mean_temp"]\ncalendar = ["hour", "day_of_week", "holiday"]\n'
                      'holidays = "DK"')
    beach = SHARED / "chicago_beach_sensors" / "Beach_Water_Quality_-_Automated_Sensors.csv"
    if beach.exists():
        out["chicago"] = (f'path = "{beach}"\ntime = "Measurement Timestamp"\n'
                          'time_format = "%m/%d/%Y %I:%M:%S %p"\nsite = "Beach Name"\ntarget = "Water Temperature"\n'
                          'tz = "America/Chicago"\nfreq = "h"\ncalendar = ["hour", "day_of_week"]')
    return out


def accuracy(work: Path, quick: bool, out: Path) -> pd.DataFrame:
    model = {"strategy": "auto", "rows": 5000 if quick else 10000, "max_iter": 60 if quick else 100,
             "learning_rate": 0.1, "max_leaf_nodes": 15}
    rows = []
    tables = datasets(work, quick)
    for name in [n for n in ("dhi", "districts", "chicago") if n in tables]:
        table = tables[name]
        poolings = ["local"] if name == "dhi" else ["local", "global"]
        for pooling in poolings:
            path = work / f"{name}-{pooling}.toml"
            path.write_text(pipeline_text(name, table, {**model, "pooling": pooling}))
            log(f"accuracy {name} {pooling}")
            t0, before = time.perf_counter(), load()
            res = run_sites(Pipeline.load(path), out_dir=work / f"out-{name}-{pooling}")
            summary = res.metrics[res.metrics["site"] == "all sites"].copy()
            chosen = res.choices.iloc[0]
            summary["model"] = summary["model"].replace({"hgb": f"hgb-{pooling}"})
            summary = summary[(summary["model"] != "hgb") & ~((pooling == "global") & ~summary["model"].str.startswith("hgb"))]
            summary.insert(0, "dataset", name)
            summary["strategy"] = np.where(summary["model"].str.startswith("hgb"), chosen["strategy"], "")
            summary["sites"] = len(res.metrics["site"].unique()) - 1
            summary["seconds"] = time.perf_counter() - t0
            summary["load_before"] = str(before)
            rows.append(summary)
            pd.concat(rows, ignore_index=True).to_csv(out / "accuracy.csv", index=False, float_format="%.5g")
            res.choices.assign(dataset=name).to_csv(out / f"choices_{name}_{pooling}.csv", index=False,
                                                    float_format="%.5g")
    return pd.concat(rows, ignore_index=True)


def _arrays(sites: int, days: int, horizon: int, seed: int = 21):
    from wq.data.spec import DataSpec

    sim = simulate_district(sites=sites, days=days, seed=seed, start="2023-01-02")
    path = Path(tempfile.mkdtemp()) / "d.csv"
    sim.to_csv(path, index=False)
    data = load_sites(DataSpec.from_mapping({"path": path, "time": "time", "site": "site", "target": "demand_m3h",
                                             "drivers": ["temperature_c", "rain_mm"]}))
    n_train = int(len(data.y) * 0.85)
    return data, site_arrays(data, n_train, horizon, None), n_train


def scale(quick: bool) -> dict:
    """Per-site fitting and backtest, 1 and 2 joblib workers."""
    data, arrays, n_train = _arrays(4 if quick else 10, 120 if quick else 730, 168)
    st = M.HGBSettings(horizon=168, rows=20000, max_iter=100, max_leaf_nodes=15)
    origins = origins_between(n_train - 1, len(data.y) - 1, 168)
    out = {"sites": len(arrays), "hours": len(data.y), "origins": len(origins), "rows_per_site": st.rows}
    preds = {}
    for jobs in (1, 2):
        if jobs == 2:  # start the worker processes (imports) outside the timing
            from joblib import Parallel, delayed
            Parallel(n_jobs=2)(delayed(np.sqrt)(i) for i in range(4))
        before = load()
        t0 = time.perf_counter()
        models = fit_candidate(arrays, n_train, "direct", "local", st, jobs=jobs)
        t1 = time.perf_counter()
        preds[jobs] = np.stack(forecast_sites(models, arrays, origins, "direct", "local", st, jobs=jobs))
        t2 = time.perf_counter()
        out[f"jobs{jobs}"] = {"fit_s": t1 - t0, "backtest_s": t2 - t1, "load_before": before, "load_after": load()}
        log(f"scale jobs={jobs}: fit {t1 - t0:.1f} s, backtest {t2 - t1:.1f} s, load {before}")
    out["identical"] = bool(np.array_equal(preds[1], preds[2]))
    out["speedup_fit"] = out["jobs1"]["fit_s"] / out["jobs2"]["fit_s"]
    return out


def many(quick: bool) -> dict:
    """A global model; all sites forecast from the last origin in one call; growth in the number of sites."""
    out = {}
    st = M.HGBSettings(horizon=168, rows=100, max_iter=100, max_leaf_nodes=15)
    counts = (10, 100) if quick else (10, 100, 1000)
    data, arrays, n_train = _arrays(max(counts), 42, 168)
    t0 = time.perf_counter()
    model = fit_candidate(arrays, n_train, "direct", "global", st)[0]
    out["fit_global_s"] = time.perf_counter() - t0
    last = np.array([len(data.y) - 1])
    for n in counts:
        before = load()
        t0 = time.perf_counter()
        pred = forecast_sites([model] * n, arrays[:n], last, "direct", "global", st)
        out[f"forecast_{n}_s"] = time.perf_counter() - t0
        out[f"forecast_{n}_load"] = before
        assert all(np.isfinite(p).all() for p in pred)
        log(f"many: {n} sites forecast in {out[f'forecast_{n}_s']:.2f} s (load {before})")
    from wq.sites.store import store_rows, write_site_forecasts

    t0 = time.perf_counter()
    rows = store_rows("districts", "bench", "demand_m3h", data.y.index[-1], "h",
                      {sa.name: p[0] for sa, p in zip(arrays[:n], pred)})
    write_site_forecasts(Path(tempfile.mkdtemp()) / "store.sqlite", rows)
    out[f"store_{n}_s"] = time.perf_counter() - t0
    out[f"store_{n}_rows"] = len(rows)
    log(f"many: {len(rows)} rows of {n} sites written in one transaction in {out[f'store_{n}_s']:.2f} s")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=str(REPO / "reports" / "benchmarks" / "sites"))
    ap.add_argument("--work")
    ap.add_argument("--parts", default="accuracy,scale,many")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(args.work or tempfile.mkdtemp(prefix="bench_sites_"))
    work.mkdir(parents=True, exist_ok=True)
    results = json.loads((out / "results.json").read_text()) if (out / "results.json").exists() else {}
    parts = args.parts.split(",")
    results["machine_" + "_".join(parts)] = {"cpus": os.cpu_count(), "load_at_start": load(), "quick": args.quick,
                          "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")}
    if "accuracy" in parts:
        accuracy(work, args.quick, out)
    if "scale" in parts:
        results["scale"] = scale(args.quick)
    if "many" in parts:
        results["many"] = many(args.quick)
    (out / "results.json").write_text(json.dumps(results, indent=2, default=float))
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
