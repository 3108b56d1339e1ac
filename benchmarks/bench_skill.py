"""Benchmark of issue 12 items 1, 2 and 8: known-future drivers, periodic refit, records with gaps.

    nice -n 10 python benchmarks/bench_skill.py [--parts drivers,gaps] [--datasets fort_collins,dhi_inflow]
                                               [--out reports/benchmarks/skill]

``drivers``: Fort Collins demand (pipelines/fort_collins.toml) and DHI inflow (pipelines/dhi_inflow.toml), each
as its pipeline says (split, preprocessing, model settings: nothing tuned), with persistence, the seasonal naive,
``hgb`` and ``dwt-pca-lstm`` on the same single split, in four variants: weather drivers lagged only (as on
main) or also as perfect-forecast known-future drivers (``future_drivers_source = "observed"``: the observed
weather of the target day, **an upper bound of skill**, no forecaster has it), each fitted once
(``refit_every = "none"``) or refitted every 90 days through the test period (``"90D"``). The future drivers
were chosen before any run: Fort Collins tmax_f, tmin_f, precipitation_in (a weather forecast's variables;
snow depth is not one); DHI acc_precip, mean_temp.

``gaps``: NERRS Old Woman Creek (../shared/data/nerrs_old_woman_creek_daily), next-day mean dissolved oxygen
(do_mgl_mean) from the sonde's water temperature and the station's air temperature and PAR, a record with
winter outages of up to 125 days; long gaps kept (``keep``), dropped (``drop``) or cut to the last or the
longest segment free of long gaps (``last-segment``, ``longest-segment``); persistence, seasonal naive, hgb, dwt-pca-lstm. With ``keep`` the models
skip different origins, so MAPE is also given on the times every model forecast (``common``).

Writes skill.csv (one row per part, dataset, variant, model, target; MAPE, RMSE, n, skipped, fit seconds, test
span), meta.json (machine, load) and README.md (tables) to --out. One torch thread.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MODELS = ["persistence", "seasonal-naive", "hgb", "dwt-pca-lstm"]
DRIVER_SETS = {
    "fort_collins": ("pipelines/fort_collins.toml", ["tmax_f", "tmin_f", "precipitation_in"]),
    "dhi_inflow": ("pipelines/dhi_inflow.toml", ["acc_precip", "mean_temp"]),
}
NERRS = "../../shared/data/nerrs_old_woman_creek_daily"
GAPS_PIPELINE = {
    "name": "nerrs-do-gaps", "seed": 7,
    "data": {"path": f"{NERRS}/owcolwq_daily.csv", "time": "date", "target": "do_mgl_mean",
             "drivers": ["temp_mean", "atemp_mean", "totpar_total"], "drivers_path": f"{NERRS}/owcowmet_daily.csv",
             "drivers_time": "date", "calendar": ["day_of_year"], "freq": "D", "fill_limit": 3},
    "split": {"test": 0.4, "validation": 0.2},
    "preprocess": {"wavelet": {"wavelet": "db4", "level": 2, "window": 32}},
    "model": {"name": "dwt-pca-lstm", "lags": 7, "hidden": 32, "epochs": 300, "patience": 20, "batch": 128,
              "lr": 3e-3},
}


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def evaluate(pipe, part: str, dataset: str, variant: dict, models: list[str]) -> list[dict]:
    """One evaluate_split of ``pipe``: a row per model and target (step 1), plus ``common`` rows with gaps."""
    import numpy as np

    from wq.evaluate.backtest import evaluate_split, score, split_point
    from wq.run import load_frame
    from wq.seed import seed_everything

    t0 = time.perf_counter()
    frame, mask, _ = load_frame(pipe)
    seed_everything(pipe.seed)
    res = evaluate_split(pipe, frame, models, observed_mask=mask)
    start = split_point(len(frame), pipe.split.test)
    span = f"{frame.index[start].date()} .. {frame.index[-1].date()}"
    base = {"part": part, "dataset": dataset, **variant, "rows": len(frame), "test": span}
    rows = [{**base, "model": r.model, "target": r.target, "MAPE": r.MAPE, "RMSE": r.RMSE, "n": int(r.n),
             "skipped": int(r.skipped), "fit_seconds": round(r.fit_seconds, 1)}
            for r in res.metrics[res.metrics["step"] == 1].itertuples()]
    pred = res.predictions[res.predictions["step"] == 1]
    if part == "gaps":
        ok = np.isfinite(pred["predicted"]) & np.isfinite(pred["observed"])
        common = ok.groupby(pred["time"]).transform("sum") == len(models)
        m = score(pred[common], q=pipe.evaluate.peak_quantile, observed_mask=mask)
        rows += [{**base, "variant": f"{variant['variant']} (common)", "model": r.model, "target": r.target,
                  "MAPE": r.MAPE, "RMSE": r.RMSE, "n": int(r.n), "skipped": 0, "fit_seconds": float("nan")}
                 for r in m.itertuples()]
    log(f"{part} {dataset} {variant}: {time.perf_counter() - t0:.0f} s")
    return rows


def drivers_part(datasets: list[str], models: list[str]) -> list[dict]:
    from wq.config import Pipeline

    rows = []
    for key in datasets:
        path, future = DRIVER_SETS[key]
        pipe = Pipeline.load(REPO / path)
        for drivers in ("lagged", "perfect-forecast"):
            for refit in ("none", "90D"):
                p = pipe.with_params(evaluate__refit_every=refit)
                if drivers != "lagged":
                    p = p.with_params(data__future_drivers=future, data__future_drivers_source="observed")
                rows += evaluate(p, "drivers", key, {"variant": f"{drivers}, refit {refit}"}, models)
    return rows


def gaps_part(models: list[str]) -> list[dict]:
    from wq.config import Pipeline
    from wq.errors import WqError

    rows = []
    for rule in ("keep", "drop", "last-segment", "longest-segment"):
        table = json.loads(json.dumps(GAPS_PIPELINE))
        table["data"]["long_gaps"] = rule
        pipe = Pipeline.from_dict(table, base_dir=REPO / "pipelines")
        try:
            rows += evaluate(pipe, "gaps", "nerrs_do", {"variant": rule}, models)
        except WqError as exc:
            log(f"gaps {rule}: {exc}")
            rows.append({"part": "gaps", "dataset": "nerrs_do", "variant": rule, "model": "(all)",
                         "error": str(exc)})
    return rows


def write_readme(out: Path, table) -> None:
    from wq.report.tables import markdown_table

    lines = ["# Known-future drivers, periodic refit, records with gaps (issue 12 items 1, 2, 8)", "",
             "Made by `nice -n 10 python benchmarks/bench_skill.py` (see its docstring). Test MAPE (%), step 1, "
             "single split of each pipeline; n: forecasts scored; skipped: observed values a model made no "
             "forecast of (its inputs touch a gap). **perfect-forecast** rows use the observed weather of the "
             "target day: an upper bound of skill, not attainable by a forecaster.", ""]
    for (part, dataset), grp in table.groupby(["part", "dataset"], sort=False):
        lines += [f"## {part}: {dataset}", ""]
        if "error" in grp and grp["error"].notna().any():
            for r in grp[grp["error"].notna()].itertuples():
                lines.append(f"- {r.variant}: refused: {r.error}")
            lines.append("")
            grp = grp[grp["error"].isna()]
        if grp.empty:
            continue
        wide = grp.pivot_table(index="variant", columns="model", values="MAPE", sort=False)
        lines += ["Test MAPE (%):", "", markdown_table(wide.reset_index(), decimals=dict.fromkeys(wide.columns, 2)),
                  ""]
        n = grp.assign(count=grp["n"].astype(int).astype(str) + " / " + grp["skipped"].astype(int).astype(str))
        counts = n.pivot_table(index="variant", columns="model", values="count", aggfunc="first", sort=False)
        lines += ["n / skipped:", "", markdown_table(counts.reset_index()), ""]
    (out / "README.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    import pandas as pd
    import torch

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parts", default="drivers,gaps")
    ap.add_argument("--datasets", default=",".join(DRIVER_SETS))
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--out", default=str(REPO / "reports" / "benchmarks" / "skill"))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    models = args.models.split(",")
    t0 = time.time()
    rows = []
    parts = args.parts.split(",")
    if "drivers" in parts:
        rows += drivers_part(args.datasets.split(","), models)
        pd.DataFrame(rows).to_csv(out / "skill.csv", index=False, float_format="%.6g")
    if "gaps" in parts:
        rows += gaps_part(models)
    table = pd.DataFrame(rows)
    table.to_csv(out / "skill.csv", index=False, float_format="%.6g")
    write_readme(out, table)
    meta = {"machine": platform.platform(), "cpus": os.cpu_count(), "load_average": os.getloadavg(),
            "seconds": round(time.time() - t0), "argv": sys.argv[1:]}
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
