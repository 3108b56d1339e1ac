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
        # the first call pays for starting the workers and importing wq, scikit-learn in them (cold); the
        # second is what a long run of many sites costs per call (warm)
        t0 = time.perf_counter()
        fit_candidate(arrays[:2], n_train, "direct", "local", st, jobs=jobs)
        cold = time.perf_counter() - t0
        before = load()
        t0 = time.perf_counter()
        models = fit_candidate(arrays, n_train, "direct", "local", st, jobs=jobs)
        t1 = time.perf_counter()
        preds[jobs] = np.stack(forecast_sites(models, arrays, origins, "direct", "local", st, jobs=jobs))
        t2 = time.perf_counter()
        out[f"jobs{jobs}"] = {"fit_s": t1 - t0, "first_call_2_sites_s": cold, "backtest_s": t2 - t1,
                              "load_before": before, "load_after": load()}
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


def _goal_rows(acc: pd.DataFrame) -> list[str]:
    lines = ["| dataset | pooling (strategy) | MAE 1-24 | maxAE 1-24 | MAE 25-168 | weekly-naive 1-24 / 25-168 | "
             "weekly-mean4 1-24 / 25-168 | persistence 1-24 / 25-168 | seasonal-naive (24 h) 1-24 / 25-168 | "
             "skill vs weekly-naive 1-24 / 25-168 | goal |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for ds, d in acc.groupby("dataset", sort=False):
        get = lambda m, b, c="MAE", d=d: d[(d["model"] == m) & (d["block"] == b)][c].iloc[0]  # noqa: E731
        blocks = list(dict.fromkeys(d["block"]))
        b1, b2 = blocks[0], blocks[1]
        for m in [x for x in dict.fromkeys(d["model"]) if x.startswith("hgb")]:
            sk = [get(m, b, "skill_vs_weekly_naive") for b in (b1, b2)]
            strat = d[d["model"] == m]["strategy"].iloc[0]
            lines.append(f"| {ds} | {m[4:]} ({strat}) | {get(m, b1):.4g} | {get(m, b1, 'maxAE'):.4g} | {get(m, b2):.4g} "
                         f"| {get('weekly-naive', b1):.4g} / {get('weekly-naive', b2):.4g} "
                         f"| {get('weekly-mean4', b1):.4g} / {get('weekly-mean4', b2):.4g} "
                         f"| {get('persistence', b1):.4g} / {get('persistence', b2):.4g} "
                         f"| {get('seasonal-naive', b1):.4g} / {get('seasonal-naive', b2):.4g} "
                         f"| {sk[0]:+.1%} / {sk[1]:+.1%} | {'met' if min(sk) >= 0.2 else 'not met'} |")
    return lines


def write_readme(out: Path) -> None:
    """README.md from accuracy.csv and results.json (the numbers as measured)."""
    res = json.loads((out / "results.json").read_text()) if (out / "results.json").exists() else {}
    text = ["# Many sites, hourly, week ahead (issue 14)", "",
            "Reproduce: `nice -n 10 env OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/bench_sites.py` "
            "(`--parts accuracy`, `scale`, `many`; `--parts readme` rewrites this file).", "",
            "The machine is shared: 2 cores with five other agents' jobs; every timing comes with the load average "
            "(1, 5, 15 min) seen when it started. Timings are what this machine gave under that load.", ""]
    if (out / "accuracy.csv").exists():
        acc = pd.read_csv(out / "accuracy.csv")
        text += ["## Accuracy on held-out weeks", "",
                 "168-hour forecasts from an origin every 24 h over the test period (the last 15 % of each record); "
                 "strategy (direct / recursive) chosen on the validation tail (15 % before the test); MAE per "
                 "lead-time block, mean over sites; every model scored on the same forecasts. Goal: MAE at least 20 % "
                 "below weekly-naive (\"same hour last week\") in both blocks.", "", *_goal_rows(acc), "",
                 "Full table: [accuracy.csv](accuracy.csv); validation choices: choices_*.csv.", ""]
    if "scale" in res:
        sc = res["scale"]
        text += ["## Per-site fitting, 1 and 2 workers", "",
                 f"{sc['sites']} simulated sites x {sc['hours']} hours, local direct models ({sc['rows_per_site']} rows "
                 f"per site), backtest of {sc['origins']} test origins x 168 h; joblib worker processes.", "",
                 "| workers | fit [s] | backtest [s] | load before | load after |", "|---:|---:|---:|---|---|",
                 *(f"| {j} | {sc[f'jobs{j}']['fit_s']:.1f} | {sc[f'jobs{j}']['backtest_s']:.1f} | "
                   f"{sc[f'jobs{j}']['load_before']} | {sc[f'jobs{j}']['load_after']} |" for j in (1, 2)), "",
                 f"Speed-up of fitting with 2 workers: {sc['speedup_fit']:.2f} x (goal 1.7 x on an otherwise idle machine: "
                 f"{'met' if sc['speedup_fit'] >= 1.7 else 'not met here (load above)'}). "
                 f"Forecasts identical with 1 and 2 workers: {sc['identical']}. The timed call is the second of the "
                 "process: the first (2 sites, not in the table) starts the worker processes and imports wq and "
                 "scikit-learn in them, "
                 + ", ".join(f"{sc[f'jobs{j}'].get('first_call_2_sites_s', float('nan')):.1f} s with {j}" for j in (1, 2))
                 + " worker(s): a long run pays that once.", ""]
    if "many" in res:
        mn = res["many"]
        counts = sorted(int(k.split("_")[1]) for k in mn if k.startswith("forecast_") and k.endswith("_s"))
        text += ["## Many sites in one call", "",
                 f"One global model (fitted in {mn['fit_global_s']:.1f} s on 100 rows per site); all sites forecast "
                 "168 h ahead from the last origin in one call (one predict for all sites):", "",
                 "| sites | forecast [s] | load before |", "|---:|---:|---|",
                 *(f"| {n} | {mn[f'forecast_{n}_s']:.2f} | {mn[f'forecast_{n}_load']} |" for n in counts), ""]
        big = max(counts)
        if f"store_{big}_s" in mn:
            text += [f"Writing the {mn[f'store_{big}_rows']} rows of {big} sites into the SQLite forecast store in one "
                     f"transaction: {mn[f'store_{big}_s']:.2f} s.", ""]
        if big >= 1000:
            text += [f"Goal: 1,000 sites in one call under 60 s on 2 cores: "
                     f"{'met' if mn['forecast_1000_s'] < 60 else 'not met'} ({mn['forecast_1000_s']:.1f} s).", ""]
    (out / "README.md").write_text("\n".join(text))


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
    write_readme(out)
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
