"""Headline accuracy: on every pipeline in pipelines/ with data present, does the pipeline's declared model beat
what a user would pick instead, on the pipeline's own split?

    nice -n 10 env OMP_NUM_THREADS=1 python benchmarks/headline.py [--datasets melbourne_wwtp,...]
        [--epochs 30] [--choice DATASETS] [--out reports/benchmarks/headline]

Per dataset and target, on the last ``[split] test`` of the record (the pipeline's single split, fitted once
on the training part, one step ahead, causal): test MAPE, pMAPE and RMSE of wq's declared model, ``hgb``,
persistence and the seasonal naive (:func:`wq.evaluate.backtest.evaluate_split`), and the peers of
:mod:`benchmarks.peers`: statsforecast AutoETS and AutoARIMA (univariate; long gaps forward-filled, causal, never
scored) and mlforecast + LightGBM (``mlf-lgbm``: lags, rolling means, calendar, drivers). Every model is scored
on the same times: those where the data layer observed the target and every model made a forecast (a model that
skips windows touching a gap would otherwise be scored on easier times); ``n`` says how many. A multi-step
pipeline (Chicago: 6 hours) is compared at step 1, the peers' horizon.

``--choice DATASETS``: how the declared model of the new pipelines was chosen: mean validation MAPE over 3 rolling-origin
folds inside the training part (:func:`wq.evaluate.backtest.evaluate_folds`; the test rows are cut off first) of
``hgb`` and ``dwt-pca-lstm``: the lower one is declared. Written to choice.csv.

``--epochs``: cap on the networks' training epochs (default 30, to fit a 2-core budget; the pipelines declare
more). Writes headline.csv (every model, target, metric), choice.csv, meta.json and README.md to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DATASETS = {"fort_collins": "fort_collins.toml", "uci_plant": "uci_plant.toml", "dhi_inflow": "dhi_inflow.toml",
            "melbourne_wwtp": "melbourne_wwtp.toml", "tilburg_wwtp": "tilburg_wwtp.toml",
            "nerrs_old_woman_creek": "nerrs_old_woman_creek.toml", "chicago_beach": "chicago_beach.toml"}
PEERS = ["sf-autoets", "sf-autoarima", "mlf-lgbm"]
METRICS = ["MAPE", "pMAPE", "RMSE"]
CHOICE = ["hgb", "dwt-pca-lstm"]


def _season(frame: pd.DataFrame) -> int:
    step = frame.index[1] - frame.index[0]
    return 24 if step < pd.Timedelta("1D") else 7


def common_scores(pred: pd.DataFrame, mask: pd.DataFrame | None, q: float, zeros: str) -> pd.DataFrame:
    """Scores of every model on the (target, time) pairs where all models forecast and the target was observed."""
    from wq.evaluate.backtest import score

    pred = pred[pred["step"] == 1]
    ok = pred[np.isfinite(pred["predicted"].to_numpy(dtype=float)) & np.isfinite(pred["observed"].to_numpy(dtype=float))]
    n_models = pred["model"].nunique()
    counts = ok.groupby(["target", "time"])["model"].nunique()
    both = counts[counts == n_models].index
    keep = pd.MultiIndex.from_frame(ok[["target", "time"]]).isin(both)
    return score(ok[keep], q=q, zeros=zeros, observed_mask=mask)


def dataset_headline(dataset: str, epochs: int, log, peers=PEERS) -> pd.DataFrame:
    from benchmarks.peers import peer_forecasts
    from wq.config import Pipeline
    from wq.evaluate.backtest import evaluate_split, split_point
    from wq.run import load_frame
    from wq.seed import seed_everything

    pipe = Pipeline.load(REPO / "pipelines" / DATASETS[dataset])
    pipe = pipe.with_params(model__epochs=min(epochs, pipe.model.epochs))
    frame, mask, _ = load_frame(pipe)
    n = len(frame)
    start = split_point(n, pipe.split.test)
    declared = pipe.model_name
    models = list(dict.fromkeys([declared, "hgb", "persistence", "seasonal-naive"]))
    preds, secs, picked = [], [], {}
    for name in models:
        seed_everything(pipe.seed)
        t0 = time.perf_counter()
        res = evaluate_split(pipe, frame, [name], observed_mask=mask)
        if name == declared and hasattr(res.models[name], "choice_"):  # auto: its pick and the fold scores
            picked.update(auto_choice(dataset, res.models[name].choice_))
        p = res.predictions
        preds.append(p[["model", "time", "step", "target", "predicted", "observed"]])
        secs.append({"model": name, "seconds": time.perf_counter() - t0})
        log(f"{dataset}: {name} {time.perf_counter() - t0:.1f} s")
    season = _season(frame)
    for peer in peers:
        t0 = time.perf_counter()
        try:
            p, _ = peer_forecasts(frame, pipe.targets, pipe.drivers, start, start, n, [peer], season=season,
                                  seed=pipe.seed, lags=pipe.model.lags, approximation=True)
        except Exception as exc:  # noqa: BLE001 - a peer that fails is reported, not hidden
            log(f"{dataset}: peer {peer} failed: {exc}")
            continue
        preds.append(p[["model", "time", "step", "target", "predicted", "observed"]])
        secs.append({"model": peer, "seconds": time.perf_counter() - t0})
        log(f"{dataset}: {peer} {time.perf_counter() - t0:.1f} s")
    pred = pd.concat(preds, ignore_index=True)
    pred["time"] = pd.DatetimeIndex(pred["time"])
    m = common_scores(pred, mask, pipe.evaluate.peak_quantile, pipe.evaluate.zeros)
    m = m.merge(pd.DataFrame(secs), on="model", how="left")
    m.insert(0, "dataset", dataset)
    m["declared"] = m["model"] == declared
    m["picked"] = np.where(m["declared"], picked.get("picked", ""), "")
    m["horizon"] = pipe.model.horizon
    m["test_start"] = frame.index[start]
    m["test_rows"] = n - start
    m = m[["dataset", "model", "declared", "picked", "target", *METRICS, "n", "seconds", "horizon", "test_start",
           "test_rows"]]
    return m, picked.get("table")


def auto_choice(dataset: str, choice: dict) -> dict:
    """The pick of a declared ``auto`` model and its candidates' mean fold scores (choice.csv rows)."""
    rows = [{"dataset": dataset, "model": c, "validation_MAPE": v, "validation_RMSE": np.nan,
             "folds": len(choice["folds"]), "chosen": c == choice["picked"], "declared": c == choice["picked"],
             "fold_blocks": " / ".join(f"{a[:10]}..{b[:10]}" for a, b in choice["folds"])}
            for c, v in choice["mean"].items()]
    rows += [{"dataset": dataset, "model": c, "validation_MAPE": np.nan, "validation_RMSE": np.nan,
              "folds": len(choice["folds"]), "chosen": False, "declared": False,
              "fold_blocks": next(str(x) for x in v if isinstance(x, str))}
             for c, v in choice["scores"].items() if c not in choice["mean"]]
    return {"picked": choice["picked"], "table": pd.DataFrame(rows)}


def dataset_choice(dataset: str, epochs: int, log) -> pd.DataFrame:
    from wq.config import Pipeline
    from wq.evaluate.backtest import evaluate_folds, split_point
    from wq.run import load_frame
    from wq.seed import seed_everything

    pipe = Pipeline.load(REPO / "pipelines" / DATASETS[dataset])
    pipe = pipe.with_params(model__epochs=min(epochs, pipe.model.epochs))
    frame, mask, _ = load_frame(pipe)
    start = split_point(len(frame), pipe.split.test)
    train = frame.iloc[:start]
    tmask = None if mask is None else mask.iloc[:start]
    rows = []
    for name in CHOICE:
        seed_everything(pipe.seed)
        t0 = time.perf_counter()
        f = evaluate_folds(pipe, train, name, 3, observed_mask=tmask)
        rows.append({"dataset": dataset, "model": name, "validation_MAPE": float(f["MAPE"].mean()),
                     "validation_RMSE": float(f["RMSE"].mean()), "folds": 3, "seconds": time.perf_counter() - t0})
        log(f"{dataset}: validation {name} MAPE {rows[-1]['validation_MAPE']:.3f} ({rows[-1]['seconds']:.1f} s)")
    out = pd.DataFrame(rows)
    out["chosen"] = out["validation_MAPE"] == out["validation_MAPE"].min()
    out["declared"] = out["model"] == pipe.model_name
    return out


NOTES = [
    "Notes, read before quoting a number:",
    "",
    "- One split, one seed, networks capped at 30 epochs: differences of a few percent are within what another "
    "seed or split moves (rolling-origin spreads: reports/benchmarks/accuracy_rolling.csv for Fort Collins, UCI "
    "and DHI, reports/benchmarks/rolling for Melbourne, Tilburg, NERRS and Chicago).",
    "- A declared `auto` model chose among its candidates on folds inside the training part (the last section); "
    "the `hgb` column is then sometimes the same model as the declared one, fitted and scored the same way.",
    "- `mlf-lgbm` is configured once for all datasets (lags, rolling means of 7/28 or 24/168 steps, day of week, "
    "day of year, month or hour, drivers at the origin; LightGBM defaults). On the short records (UCI: 334 "
    "training days, DHI: 238) it does badly. On UCI the annual calendar features (one year of training) are the "
    "cause: without day of year and month it scored 36.3 / 30.4 / 42.2; on DHI it stays at 37.6 without them "
    "(cause not found). Both were measured on the test period, so they are not a fair pick and not in the table.",
    "- AutoARIMA was not run on NERRS (its order search on 4,800 gap-filled days did not finish in 8 minutes on "
    "the shared machine) or on Chicago (hourly, season 24). On NERRS and Chicago AutoETS picked a level-only "
    "model with alpha near 1: its forecasts are persistence. On Chicago `hgb` has the lowest MAPE but a "
    "slightly higher RMSE than persistence (0.333 vs 0.319 degC): it wins on typical hours, not on the "
    "largest changes (upwelling).",
    "- Chicago's pipeline forecasts 6 hours; the table compares step 1, the peers' horizon (step 6: "
    "reports of `wq run pipelines/chicago_beach.toml`).",
    "- Statistical peers are univariate; long gaps (winter outages, NERRS and Chicago) are forward-filled for "
    "them (causal) and never scored. Every model is scored on the same times, so `n` is below each model's "
    "own count where others skipped windows that touch a gap.",
]


def _fmt(x: float) -> str:
    return "" if pd.isna(x) else f"{x:.2f}"


def readme(table: pd.DataFrame, choice: pd.DataFrame, runs: list[dict]) -> str:
    lines = ["# Headline: each pipeline's declared model against what a user would pick instead", "",
             "Produced by these runs of `benchmarks/headline.py` (each under `nice -n 10 env OMP_NUM_THREADS=1`, "
             "on 2 CPUs shared with other jobs):", ""]
    for r in runs:
        lines.append(f"- `python benchmarks/headline.py --datasets {','.join(r['datasets'])} --epochs {r['epochs']} "
                     f"--peers {r.get('peers', ','.join(PEERS))}"
                     + (f" --choice {r['choice']}" if r.get("choice") else "")
                     + f"`: {r['seconds'] / 60:.1f} min, finished {r.get('finished', '?')}")
    epochs = sorted({r["epochs"] for r in runs})
    lines += ["", "Test MAPE % (pMAPE %, RMSE in the target's units) on each pipeline's own single split (the last "
              "40 % of the record), one step ahead, fitted once on the training part; every model scored on the "
              "same times (`n`). Bold: the lowest MAPE. Declared: the pipeline's `[model] name`. Networks capped "
              f"at {', '.join(map(str, epochs))} epochs (the pipelines declare more, with early stopping). An "
              "empty cell: that peer was not run on that dataset (see the runs above).", ""]
    cols = ["declared", "hgb", "persistence", "seasonal-naive", "sf-autoets", "sf-autoarima", "mlf-lgbm"]
    lines += ["| dataset / target | declared model | " + " | ".join(cols) + " | n | winner |",
              "|---|---|" + "---|" * (len(cols) + 2)]
    for (dataset, target), grp in table.groupby(["dataset", "target"], sort=False):
        by = grp.set_index("model")
        dec = grp.loc[grp["declared"], "model"]
        dec = dec.iloc[0] if len(dec) else ""
        pick = grp.loc[grp["declared"], "picked"] if "picked" in grp else pd.Series(dtype=object)
        shown = f"{dec} (picked {pick.iloc[0]})" if len(pick) and isinstance(pick.iloc[0], str) and pick.iloc[0] else dec
        best = by["MAPE"].idxmin()
        cells = []
        for c in cols:
            name = dec if c == "declared" else c
            if name not in by.index or (c != "declared" and name == dec):
                cells.append("(declared)" if name == dec and c != "declared" else "")
                continue
            r = by.loc[name]
            text = f"{r['MAPE']:.2f} ({r['pMAPE']:.2f}, {r['RMSE']:.3g})"
            cells.append(f"**{text}**" if name == best else text)
        lines.append(f"| {dataset} / {target} | {shown} | " + " | ".join(cells) + f" | {int(grp['n'].iloc[0])} | {best} |")
    lines += ["", "## Where wq wins and where it loses", ""]
    for (dataset, target), grp in table.groupby(["dataset", "target"], sort=False):
        by = grp.set_index("model")["MAPE"]
        dec = grp.loc[grp["declared"], "model"]
        if not len(dec):
            continue
        others = by.drop(index=[m for m in by.index if m == dec.iloc[0]])
        best = others.idxmin()
        ratio = by[dec.iloc[0]] / others.min()
        verdict = "wins" if ratio < 1 else "ties" if ratio == 1 else "loses"
        lines.append(f"- {dataset} / {target}: declared {dec.iloc[0]} {by[dec.iloc[0]]:.2f} vs the best other "
                     f"{best} {others.min():.2f}: wq {verdict} ({ratio:.2f} x)")
    lines += ["", *NOTES, ""]
    if len(choice):
        lines += ["## How the declared model was chosen (validation folds inside the training part)", "",
                  "A declared `auto` model: its own mean MAPE over `auto_folds` rolling-origin blocks of the training "
                  "part (the blocks' dates in the last column; a candidate that could not be fitted there says why); "
                  "otherwise `--choice`: hgb against dwt-pca-lstm on 3 folds.", "",
                  "| dataset | model | validation MAPE | validation RMSE | chosen | declared | fold blocks |",
                  "|---|---|---|---|---|---|---|"]
        for r in choice.itertuples():
            blocks = getattr(r, "fold_blocks", "")
            lines.append(f"| {r.dataset} | {r.model} | {_fmt(r.validation_MAPE)} | {_fmt(r.validation_RMSE)} | "
                         f"{'yes' if r.chosen else ''} | {'yes' if r.declared else ''} | "
                         f"{blocks if isinstance(blocks, str) else ''} |")
        lines += [""]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--choice", default="", help="datasets whose declared model choice is measured (comma-separated)")
    ap.add_argument("--peers", default=",".join(PEERS), help="peers to run (comma-separated)")
    ap.add_argument("--readme-only", action="store_true", help="rewrite README.md from the CSVs in --out")
    ap.add_argument("--out", default=str(REPO / "reports" / "benchmarks" / "headline"))
    args = ap.parse_args(argv)
    out = Path(args.out)
    if args.readme_only:
        return write_readme(out)
    import warnings

    import torch

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", module="statsforecast")
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    notes = []
    names = [d for d in args.datasets.split(",") if d]
    # rows of other datasets from earlier runs are kept: a dataset can be rerun alone
    tables = [_previous(out / "headline.csv", names)]
    choices = [_previous(out / "choice.csv", names)]
    log = lambda msg: print(msg, flush=True)  # noqa: E731
    from wq.config import Pipeline

    for dataset in [d for d in args.datasets.split(",") if d]:
        spec = Pipeline.load(REPO / "pipelines" / DATASETS[dataset]).data_spec()
        if not spec.path.exists():
            notes.append(f"{dataset}: skipped, {spec.path} absent")
            log(notes[-1])
            continue
        table, auto = dataset_headline(dataset, args.epochs, log, [p for p in args.peers.split(",") if p])
        tables.append(table)
        pd.concat(tables).to_csv(out / "headline.csv", index=False, float_format="%.6g")
        if auto is not None:  # the declared auto model's own choice on its folds
            choices.append(auto)
            pd.concat(choices).to_csv(out / "choice.csv", index=False, float_format="%.6g")
        if dataset in args.choice.split(","):
            choices.append(dataset_choice(dataset, args.epochs, log))
            pd.concat(choices).to_csv(out / "choice.csv", index=False, float_format="%.6g")
    runs = json.loads((out / "meta.json").read_text()) if (out / "meta.json").exists() else []
    runs = runs if isinstance(runs, list) else [runs]
    runs.append({"epochs": args.epochs, "seconds": time.perf_counter() - t0, "machine": platform.platform(),
                 "cpus": os.cpu_count(), "datasets": names, "peers": args.peers, "choice": args.choice,
                 "notes": notes, "load_average": os.getloadavg(), "finished": time.strftime("%Y-%m-%d %H:%M")})
    (out / "meta.json").write_text(json.dumps(runs, indent=1, default=str))
    return write_readme(out)


def _previous(path: Path, rerun: list[str]) -> pd.DataFrame:
    if not path.exists():
        return pd.DataFrame()
    old = pd.read_csv(path)
    return old[~old["dataset"].isin(rerun)]


def write_readme(out: Path) -> int:
    """README.md from headline.csv, choice.csv and meta.json (the runs that made them)."""
    table = pd.read_csv(out / "headline.csv")
    choice = pd.read_csv(out / "choice.csv") if (out / "choice.csv").exists() else pd.DataFrame()
    runs = json.loads((out / "meta.json").read_text()) if (out / "meta.json").exists() else []
    (out / "README.md").write_text(readme(table, choice, runs if isinstance(runs, list) else [runs]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
