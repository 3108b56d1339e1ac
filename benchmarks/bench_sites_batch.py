"""Benchmark of the multi-site batch path (issue 14): ``wq train`` artifact -> ``wq forecast`` on later weeks.

    nice -n 10 env OMP_NUM_THREADS=1 python benchmarks/bench_sites_batch.py [--sites 10] [--days 180] [--test-days 28]
                                                                            [--out reports/benchmarks/sites_batch]

Simulated district meters (``wq data simulate --kind district``, seed 1). The artifact is trained
(:func:`wq.sites.artifact.train_sites`, ``pipelines/districts.toml``: strategy and pooling chosen on the validation
tail) on everything before the last ``--test-days`` days; the fresh file is the whole record. From origins every
24 h whose 168 h lie in those days, the artifact forecasts all sites (:func:`wq.sites.forecast.forecast_rows`,
reading only the data up to each origin), scored per lead-time block against "same hour last week"
(weekly-naive), the mean of the last four weeks' same hour (weekly-mean4), persistence and the daily seasonal
naive, from the same origins; plus the coverage of the 80 % and 95 % intervals and the wall time of one forecast
call for all sites. The load average is recorded (shared machine). Writes results.json and README.md to --out.
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
from wq.sites.artifact import load_sites_model, train_sites  # noqa: E402
from wq.sites.forecast import forecast_rows, load_fresh  # noqa: E402

H = 168


def baselines(y: np.ndarray, p: int) -> dict[str, np.ndarray]:
    """(H,) forecasts of one site from position p by the naive rules (data up to p only)."""
    h = np.arange(1, H + 1)
    weeks = np.column_stack([y[p + h - 168 * k] for k in range(1, 5)])
    with np.errstate(all="ignore"):
        mean4 = np.nanmean(weeks, axis=1)
    return {"weekly-naive": y[p + h - 168], "weekly-mean4": mean4, "persistence": np.full(H, y[p]),
            "seasonal-naive-24h": y[p + h - 24 * np.ceil(h / 24).astype(int)]}


def score(pred: dict[str, list], obs: list) -> pd.DataFrame:
    o = np.stack(obs)
    out = []
    for model, ps in pred.items():
        e = np.abs(np.stack(ps) - o)
        out.append({"model": model, "MAE_h1-24": float(np.nanmean(e[:, :24])),
                    "maxAE_h1-24": float(np.nanmax(e[:, :24])), "MAE_h25-168": float(np.nanmean(e[:, 24:]))})
    table = pd.DataFrame(out)
    ref = table.set_index("model").loc["weekly-naive"]
    for col in ("MAE_h1-24", "MAE_h25-168"):
        table[f"{col}_vs_weekly_naive_%"] = 100 * (table[col] / ref[col] - 1)
    return table


def _markdown(table: pd.DataFrame) -> str:
    cells = [[f"{v:.3g}" if isinstance(v, float) else str(v) for v in row] for row in table.itertuples(index=False)]
    lines = ["| " + " | ".join(map(str, table.columns)) + " |", "|" + "---|" * len(table.columns)]
    return "\n".join(lines + ["| " + " | ".join(c) + " |" for c in cells])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sites", type=int, default=10)
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--test-days", type=int, default=28)
    ap.add_argument("--out", default=str(REPO / "reports" / "benchmarks" / "sites_batch"))
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp())
    sim = simulate_district(sites=a.sites, days=a.days, seed=1, tz="Europe/Amsterdam")
    sim.to_csv(work / "all.csv", index=False)
    times = np.sort(sim["time"].unique())
    cut = times[-a.test_days * 24]
    sim[sim["time"] < cut].to_csv(work / "train.csv", index=False)
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    res = train_sites(Pipeline.load(REPO / "pipelines" / "districts.toml"), work / "art", data_path=work / "train.csv")
    train_s = time.perf_counter() - t0
    sm = load_sites_model(work / "art")
    fresh = load_fresh(sm, work / "all.csv")
    n_train = len(res.data.y)
    origins = np.arange(n_train - 1, len(fresh.y) - H, 24)
    pred: dict[str, list] = {"wq artifact": []}
    obs, inside, seconds, skipped = [], {"80": [], "95": []}, [], []
    for p in origins:
        t1 = time.perf_counter()
        rows = forecast_rows(sm, fresh, fresh.y.index[p], skipped=skipped)
        seconds.append(time.perf_counter() - t1)
        for site in sm.sites:
            r = rows[rows["target"] == f"{sm.target}@{site}"].sort_values("step")
            if r.empty:  # skipped: an outage at the origin
                continue
            y = fresh.y[site].to_numpy()
            o = y[p + 1:p + 1 + H]
            obs.append(o)
            pred["wq artifact"].append(r["value"].to_numpy())
            for k in inside:
                ok = np.isfinite(o)
                inside[k].append(((r[f"lower_{k}"].to_numpy() <= o) & (o <= r[f"upper_{k}"].to_numpy()))[ok])
            for name, v in baselines(y, p).items():
                pred.setdefault(name, []).append(v)
    table = score(pred, obs)
    coverage = {k: float(np.concatenate(v).mean()) for k, v in inside.items()}
    results = {"sites": a.sites, "days": a.days, "test_days": a.test_days, "origins": len(origins),
               "chosen": [res.meta["strategy"], res.meta["pooling"]], "train_seconds": round(train_s, 1),
               "forecast_call_seconds_median": round(float(np.median(seconds)), 3), "coverage": coverage, "skipped_site_origins": len(skipped),
               "load_average_start": load0, "load_average_end": os.getloadavg()[0],
               "scores": table.to_dict("records")}
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    text = [f"# Multi-site batch path: `wq train` artifact, `wq forecast` on the following {a.test_days} days", "",
            f"`nice -n 10 env OMP_NUM_THREADS=1 python benchmarks/bench_sites_batch.py --sites {a.sites} --days "
            f"{a.days} --test-days {a.test_days}`", "",
            f"{a.sites} simulated district meters (seed 1), {a.days} days hourly; the artifact trained on all but the "
            f"last {a.test_days} days (chosen on its validation tail: {res.meta['strategy']}/{res.meta['pooling']}); "
            f"{len(origins)} origins every 24 h, each forecasting all sites 168 h ahead from the data up to it "
            f"(the baselines from the same origins); {len(skipped)} site-origins skipped for an outage at the origin.", "",
            _markdown(table), "",
            f"Interval coverage over all sites, origins and lead times: 80 %: {coverage['80']:.3f}, "
            f"95 %: {coverage['95']:.3f}.", "",
            f"Training {train_s:.0f} s; one forecast call for all {a.sites} sites: median "
            f"{np.median(seconds):.2f} s (in process, artifact loaded once); load average {load0:.1f} at the start, "
            f"{os.getloadavg()[0]:.1f} at the end (shared 2-core machine).", ""]
    (out / "README.md").write_text("\n".join(text))
    print("\n".join(text))


if __name__ == "__main__":
    main()
