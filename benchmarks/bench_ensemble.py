"""Benchmark of issue 12 items 3, 4 and 6: statistical models, forecast combination and automatic choice.

    nice -n 10 python benchmarks/bench_ensemble.py [--datasets fort_collins,uci_plant,dhi_inflow]
                                                   [--epochs 150] [--out reports/benchmarks/ensemble]

For each dataset, its pipeline as it is (split, preprocessing, model settings; ``--epochs`` caps the networks'
maximum epochs, early stopping unchanged), one single split (the last 40 % is the test period, fitted once):

- persistence, the seasonal naive, ``hgb``, ``dwt-pca-lstm`` and the new statistical models ``auto-ets``,
  ``auto-arima``, ``mstl``, each fitted on the training part (``wq.evaluate.backtest.evaluate_split``);
- the ``ensemble`` of the default members (dwt-pca-lstm, hgb, auto-ets) with each weighting (equal,
  inverse-mse, stacked), the weights chosen on the validation tail of the training part, from the very member
  fits above (the ensemble's own fit would refit the same members with the same seeds);
- seed ensembles (``--seeds-only``): dwt-pca-lstm on Fort Collins with ``seeds = 8`` (one batched network)
  against one network, the same fixed epochs, fit time ratio with the load average at each fit;
- ``auto`` with its default candidates: its pick on 2 rolling-origin folds inside the training part and the
  pick's test error. On the same folds (the candidates fitted there by ``auto``), each weighting of the ensemble
  is scored: that validation comparison, never the test period, chose the default weighting.

Writes ensemble.csv (test: dataset, model, target, MAPE, RMSE, n, fit seconds), validation.csv (the weightings
and auto's candidates on the folds), meta.json (machine, load average before and after) and README.md.
One torch thread; the machine may be shared (load average recorded).
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

DATASETS = {"fort_collins": "pipelines/fort_collins.toml", "uci_plant": "pipelines/uci_plant.toml",
            "dhi_inflow": "pipelines/dhi_inflow.toml"}
BASE = ["persistence", "seasonal-naive", "hgb", "auto-ets", "auto-arima", "mstl", "dwt-pca-lstm"]
WEIGHTINGS = ("equal", "inverse-mse", "stacked")


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def _scores(pred, label: str, mask=None) -> list[dict]:
    import warnings

    from wq.evaluate.backtest import score

    pred = pred.copy()
    pred.insert(0, "model", label)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = score(pred, zeros="skip", observed_mask=mask)
    return [{"model": label, "target": r.target, "MAPE": r.MAPE, "RMSE": r.RMSE, "n": int(r.n)} for r in m.itertuples()]


def ensembles(members, targets, horizon, train, val_fraction, frame, start, stop, mask=None) -> list[dict]:
    """Each weighting of an ensemble of the fitted ``members``: weights on ``train``'s validation tail, scored on
    rows [start, stop) of ``frame``."""
    from wq.evaluate.backtest import forecast_period
    from wq.models.ensemble import EnsembleForecaster

    rows = []
    for w in WEIGHTINGS:
        ens = EnsembleForecaster(members=members, weights=w, targets=targets, horizon=horizon)
        ens.combine(train, val_fraction)
        for r in _scores(forecast_period(ens, frame.iloc[:stop], start, stop), f"ensemble ({w})", mask):
            r["weights"] = " ".join(f"{m.name}={v:.2f}" for m, v in
                                    zip(members, ens.weights_[targets.index(r["target"])]))
            rows.append(r)
    return rows


def run_dataset(name: str, path: str, epochs: int) -> tuple[list[dict], list[dict], dict]:
    from wq.config import Pipeline
    from wq.evaluate.backtest import evaluate_split, forecast_period, split_point
    from wq.models.params import DEFAULT_MEMBERS
    from wq.run import load_frame
    from wq.seed import seed_everything

    pipe = Pipeline.load(REPO / path).with_params(model__epochs=min(epochs, 300))
    frame, mask, _ = load_frame(pipe)
    start = split_point(len(frame), pipe.split.test)
    train, vf, targets, h = frame.iloc[:start], pipe.split.validation, pipe.targets, pipe.model.horizon
    seed_everything(pipe.seed)
    log(f"{name}: {len(frame)} rows, test from {frame.index[start].date()}; fitting {', '.join(BASE)}")
    res = evaluate_split(pipe, frame, BASE, observed_mask=mask, progress=None)
    step1 = res.metrics[res.metrics["step"] == 1]
    test = [{"dataset": name, "model": r.model, "target": r.target, "MAPE": r.MAPE, "RMSE": r.RMSE, "n": int(r.n),
             "fit_seconds": round(r.fit_seconds, 1)} for r in step1.itertuples()]
    members = [res.models[m] for m in DEFAULT_MEMBERS]
    for r in ensembles(members, targets, h, train, vf, frame, start, len(frame), mask):
        test.append({"dataset": name, **r, "fit_seconds": round(sum(m.fit_seconds_ for m in members), 1)})
    log(f"{name}: auto (candidates fitted on 2 folds inside the training part)")
    validation: list[dict] = []

    def hook(fitted, whole, train_end, stop, val_fraction):
        fold = len({v["fold"] for v in validation})
        span = f"{whole.index[train_end].date()} .. {whole.index[stop - 1].date()}"
        for r in ensembles([fitted[m] for m in DEFAULT_MEMBERS], targets, h, whole.iloc[:train_end], val_fraction,
                           whole, train_end, stop):
            validation.append({"dataset": name, "fold": fold, "block": span, **r})
        for c, model in fitted.items():
            if c != "ensemble":
                for r in _scores(forecast_period(model, whole.iloc[:stop], train_end, stop), c):
                    validation.append({"dataset": name, "fold": fold, "block": span, **r})

    seed_everything(pipe.seed)
    auto = pipe.make_model("auto")
    auto.fold_hook = hook
    t0 = time.perf_counter()
    auto.fit(train, val_fraction=vf)
    seconds = time.perf_counter() - t0
    for r in _scores(forecast_period(auto, frame, start), f"auto (picked {auto.choice_['picked']})", mask):
        test.append({"dataset": name, **r, "fit_seconds": round(seconds, 1)})
    return test, validation, {"auto": auto.choice_, "auto_note": auto.notes(),
                              "chosen": {m: getattr(res.models[m], "chosen", None) for m in BASE
                                         if hasattr(res.models[m], "fits_")}}


def redo(out: Path, models: list[str], datasets: list[str], epochs: int) -> None:
    """Fit ``models`` again on each dataset's split (e.g. after a fix), replace their rows in ensemble.csv and
    the statistical models' labels in meta.json, and write the README again."""
    import pandas as pd

    from wq.config import Pipeline
    from wq.evaluate.backtest import evaluate_split
    from wq.run import load_frame
    from wq.seed import seed_everything

    test = pd.read_csv(out / "ensemble.csv")
    meta = json.loads((out / "meta.json").read_text())
    meta.setdefault("chosen", {})
    for ds in datasets:
        pipe = Pipeline.load(REPO / DATASETS[ds]).with_params(model__epochs=min(epochs, 300))
        frame, mask, _ = load_frame(pipe)
        seed_everything(pipe.seed)
        log(f"{ds}: fitting {', '.join(models)} again")
        res = evaluate_split(pipe, frame, models, observed_mask=mask)
        step1 = res.metrics[res.metrics["step"] == 1]
        rows = {(r.model, r.target): r for r in step1.itertuples()}
        for i in test.index[(test["dataset"] == ds) & test["model"].isin(models)]:
            r = rows[(test.at[i, "model"], test.at[i, "target"])]
            test.loc[i, ["MAPE", "RMSE", "n", "fit_seconds"]] = [r.MAPE, r.RMSE, int(r.n), round(r.fit_seconds, 1)]
        chosen = meta["chosen"].setdefault(ds, {})
        chosen.update({m: res.models[m].chosen for m in models if hasattr(res.models[m], "fits_")})
    meta["redone"] = sorted(set(meta.get("redone", [])) | set(models))
    test.to_csv(out / "ensemble.csv", index=False, float_format="%.6g")
    (out / "meta.json").write_text(json.dumps(meta, indent=1, default=str))
    render(out)


def render(out: Path) -> None:
    """README.md from ensemble.csv, validation.csv and meta.json."""
    import pandas as pd

    from wq.models.auto import choice_note

    meta = json.loads((out / "meta.json").read_text())
    info = {ds: {"auto_note": choice_note(c), "chosen": meta.get("chosen", {}).get(ds, {})}
            for ds, c in meta["auto"].items()}
    write_readme(out, pd.read_csv(out / "ensemble.csv"), pd.read_csv(out / "validation.csv"), info, meta,
                 int(meta["epochs"]))


def _fmt(v: float) -> str:
    return "nan" if v != v else f"{v:.4g}"


def write_readme(out: Path, test, validation, info: dict, meta: dict, epochs: int) -> None:
    lines = ["# Statistical models, forecast combination and automatic choice (issue 12 items 3, 4, 6)", "",
             f"`nice -n 10 python benchmarks/bench_ensemble.py --epochs {epochs}`; machine: {meta['machine']}, "
             f"{meta['cpus']} CPUs, load average {meta['load_before'][0]:.1f} before and {meta['load_after'][0]:.1f} "
             f"after (a shared machine: fit seconds are noisy). Networks capped at {epochs} epochs (early stopping "
             f"as in the pipelines{'; the pipelines say 300' if epochs < 300 else ''}). Wall time "
             f"{meta['seconds'] / 60:.1f} min.", "",
             "Single split per pipeline: the last 40 % of each record is the test period, every model fitted once "
             "on the rest (nothing refitted, nothing tuned on the test period), one-step forecasts. The ensemble's "
             "members are dwt-pca-lstm, hgb and auto-ets; its weights come from the validation tail of the "
             "training part. `auto` picks among persistence, seasonal-naive, hgb, auto-ets, dwt-pca-lstm and the "
             "ensemble on 2 rolling-origin folds inside the training part.", ""]
    findings = out / "FINDINGS.md"  # written by hand after reading the tables (kept when the tables are redrawn)
    if findings.exists():
        lines += [findings.read_text().strip(), ""]
    lines += ["## Test period", ""]
    for ds in dict.fromkeys(t.dataset for t in test.itertuples()):
        sub = test[test["dataset"] == ds]
        targets = list(dict.fromkeys(sub["target"]))
        lines += [f"### {ds}", "", "| model | " + " | ".join(f"{t} MAPE % | {t} RMSE" for t in targets)
                  + " | fit s |", "|---" * (2 * len(targets) + 2) + "|"]
        for model in dict.fromkeys(sub["model"]):
            rs = sub[sub["model"] == model].set_index("target")
            cells = " | ".join(f"{_fmt(rs.loc[t, 'MAPE'])} | {_fmt(rs.loc[t, 'RMSE'])}" if t in rs.index else "- | -"
                               for t in targets)
            lines.append(f"| {model} | {cells} | {rs['fit_seconds'].iloc[0]} |")
        lines += ["", info[ds]["auto_note"], "",
                  "Statistical models chosen (per target): "
                  + "; ".join(f"{m} {', '.join(c)}" for m, c in info[ds]["chosen"].items()), ""]
    lines += ["## Validation folds (inside the training part): which weighting", "",
              "Mean over the 2 folds and the targets of MAPE (%) of each weighting and of the members alone; "
              "this, not the test period, chose the default weighting.", "",
              "| dataset | " + " | ".join(["equal", "inverse-mse", "stacked", "dwt-pca-lstm", "hgb", "auto-ets"])
              + " |", "|---" * 7 + "|"]
    for ds in dict.fromkeys(validation["dataset"]):
        sub = validation[validation["dataset"] == ds]
        cells = []
        for label in [f"ensemble ({w})" for w in WEIGHTINGS] + ["dwt-pca-lstm", "hgb", "auto-ets"]:
            cells.append(_fmt(sub[sub["model"] == label]["MAPE"].mean()))
        lines.append(f"| {ds} | " + " | ".join(cells) + " |")
    ranks = validation[validation["model"].str.startswith("ensemble")].groupby(["dataset", "fold", "target"])["MAPE"].rank()
    mean_rank = ranks.groupby(validation.loc[ranks.index, "model"]).mean()
    ens = validation[validation["model"].str.startswith("ensemble")]
    best = ens.groupby(["dataset", "fold", "target"])["MAPE"].transform("min")
    relative = (ens["MAPE"] / best).groupby(ens["model"]).mean()
    lines += ["", "Mean rank of each weighting over datasets, folds and targets (1 = best; the criterion fixed "
              "before the run): " + ", ".join(f"{m} {v:.2f}" for m, v in mean_rank.sort_values().items())
              + f" ({len(ranks) // 3} cases). Mean MAPE relative to the best weighting of each case: "
              + ", ".join(f"{m} {v:.3f}" for m, v in relative.sort_values().items()) + ".", ""]
    default = mean_rank.idxmin()
    lines += [f"Default weighting: **{default[len('ensemble ('):-1]}** (lowest mean rank). The margin is small; the "
              "measured numbers above are what a user can expect, not a law.", "",
              "`auto` above ran with its ensemble candidate weighted by inverse-mse (the default while it ran). "
              "Its fold scores for each weighting are in validation.csv (the same fold fits), so its pick with "
              f"the {default[len('ensemble ('):-1]} default follows exactly:", ""]
    for ds in dict.fromkeys(validation["dataset"]):
        sub = validation[validation["dataset"] == ds]
        means = {m: sub[sub["model"] == m]["MAPE"].mean() for m in dict.fromkeys(sub["model"])
                 if not m.startswith("ensemble") or m == default}
        pick = min(means, key=means.get)
        shown = ", ".join(f"{m} {v:.4g}" for m, v in sorted(means.items(), key=lambda kv: kv[1]))
        t = test[(test["dataset"] == ds) & (test["model"] == (pick if pick in set(test["model"]) else pick))]
        mape = ", ".join(f"{r.target} {r.MAPE:.4g}" for r in t.itertuples())
        lines.append(f"- {ds}: picks {pick} ({shown}); its test MAPE: {mape}.")
    lines.append("")
    seeds = (out / "README.md").read_text().split("## Seed ensembles") if (out / "README.md").exists() else [""]
    tail = "## Seed ensembles" + seeds[1] if len(seeds) > 1 else ""
    (out / "README.md").write_text("\n".join(lines) + ("\n" + tail if tail else ""))


def seeds_part(out: Path, epochs: int, repeats: int) -> None:
    """Fit time of dwt-pca-lstm on Fort Collins with seeds = 1 and seeds = 8 (the same fixed number of epochs:
    no early stopping, so both do the same work per seed), alternating, ``repeats`` times each; the load average
    at each fit; writes seeds.csv and the README's "Seed ensembles" section."""
    import pandas as pd

    from wq.config import Pipeline
    from wq.evaluate.backtest import forecast_period, split_point
    from wq.run import load_frame

    pipe = Pipeline.load(REPO / DATASETS["fort_collins"]).with_params(model__epochs=epochs, model__patience=10_000)
    frame, mask, _ = load_frame(pipe)
    start = split_point(len(frame), pipe.split.test)
    rows = []
    for rep in range(repeats):
        for k in (1, 8):
            model = pipe.with_params(model__seeds=k).make_model("dwt-pca-lstm")
            load = os.getloadavg()[0]
            t0, c0 = time.perf_counter(), time.process_time()
            model.fit(frame.iloc[:start], val_fraction=pipe.split.validation)
            seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
            r = _scores(forecast_period(model, frame, start), "dwt-pca-lstm", mask)[0]
            network = sum(comp.fit_seconds_ for *_, comp in model.components_)  # training loops only
            rows.append({"repeat": rep, "seeds": k, "epochs": epochs, "fit_seconds": round(seconds, 2),
                         "fit_cpu_seconds": round(cpu, 2),
                         "network_seconds": round(network, 2),
                         "load_before": round(load, 2), "load_after": round(os.getloadavg()[0], 2),
                         "test_MAPE": r["MAPE"], "test_RMSE": r["RMSE"]})
            log(f"seeds {k}: {seconds:.1f} s, load {load:.1f}")
    pd.DataFrame(rows).to_csv(out / "seeds.csv", index=False, float_format="%.6g")
    seeds_section(out)


def seeds_section(out: Path) -> None:
    """The README's "Seed ensembles" section from seeds.csv (replacing the section when there is one)."""
    import pandas as pd

    df = pd.read_csv(out / "seeds.csv")
    epochs, repeats = int(df["epochs"].iloc[0]), int(df["repeat"].max()) + 1
    med = df.groupby("seeds")["fit_seconds"].median()
    net = df.groupby("seeds")["network_seconds"].median()
    mape = df.groupby("seeds")["test_MAPE"].mean()
    cpu = df.groupby("seeds")["fit_cpu_seconds"].median() if "fit_cpu_seconds" in df else None
    section = ["## Seed ensembles: 8 seeds as one batched network", "",
               f"`nice -n 10 env OMP_NUM_THREADS=1 python benchmarks/bench_ensemble.py --seeds-only --seed-epochs {epochs} "
               f"--repeats {repeats}`: dwt-pca-lstm on Fort Collins, {epochs} epochs exactly (no early stopping, so the "
               f"work per seed is fixed), the same data, batch and epochs for both, {repeats} alternating repeats "
               f"(seeds.csv).", "",
               "| seeds | median fit s (whole model, wall) | median CPU s of the fit | median wall s in the training "
               "loops | test MAPE % (mean) | load average at the fits |", "|---|---|---|---|---|---|"]
    for k in (1, 8):
        sub = df[df["seeds"] == k]
        c = f"{cpu[k]:.1f}" if cpu is not None else "-"
        section.append(f"| {k} | {med[k]:.1f} | {c} | {net[k]:.1f} | {mape[k]:.3g} | "
                       f"{', '.join(f'{v:.1f}' for v in sub['load_before'])} |")
    section += ["", f"Fit time ratio 8 seeds / 1 network: **{med[8] / med[1]:.2f}** wall for the whole model (preprocessing "
                f"included), **{net[8] / net[1]:.2f}** wall for the training loops alone"
                + (f", **{cpu[8] / cpu[1]:.2f}** in CPU time of the whole fit (the process's own CPU seconds: "
                   f"the least disturbed by the other jobs on the machine)" if cpu is not None else "")
                + ". The goal: at most 2. The single network is torch's nn.LSTM (oneDNN's fused RNN kernel); the 8 "
                "seeds are wq's batched LSTM (wq/models/seeds.py: one product per step, own backward pass).", ""]
    notes = out / "seeds_profile.md"
    if notes.exists():
        section += [notes.read_text().strip(), ""]
    readme = out / "README.md"
    text = readme.read_text() if readme.exists() else "# Ensemble benchmark\n"
    head = text.split("## Seed ensembles")[0].rstrip() + "\n\n"
    readme.write_text(head + "\n".join(section))


def main(argv: list[str] | None = None) -> int:
    import pandas as pd
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--out", default=str(REPO / "reports/benchmarks/ensemble"))
    parser.add_argument("--seeds-only", action="store_true", help="only the 8-seed vs 1-seed fit time")
    parser.add_argument("--seed-epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seeds-readme", action="store_true", help="only rewrite the README's seeds section")
    parser.add_argument("--redo", default="", help="fit these models again and replace their rows")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.seeds_only:
        seeds_part(out, args.seed_epochs, args.repeats)
        return 0
    if args.redo:
        redo(out, args.redo.split(","), args.datasets.split(","), args.epochs)
        return 0
    if args.seeds_readme:
        seeds_section(out)
        return 0
    meta = {"machine": platform.platform(), "cpus": os.cpu_count(), "load_before": os.getloadavg()}
    t0 = time.perf_counter()
    test, validation, info = [], [], {}
    for ds in args.datasets.split(","):
        t, v, i = run_dataset(ds, DATASETS[ds], args.epochs)
        test += t
        validation += v
        info[ds] = i
        pd.DataFrame(test).to_csv(out / "ensemble.csv", index=False, float_format="%.6g")
        pd.DataFrame(validation).to_csv(out / "validation.csv", index=False, float_format="%.6g")
    meta.update({"load_after": os.getloadavg(), "seconds": time.perf_counter() - t0, "epochs": args.epochs,
                 "auto": {k: v["auto"] for k, v in info.items()},
                 "chosen": {k: v["chosen"] for k, v in info.items()}})
    (out / "meta.json").write_text(json.dumps(meta, indent=1, default=str))
    write_readme(out, pd.DataFrame(test), pd.DataFrame(validation), info, meta, args.epochs)
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
