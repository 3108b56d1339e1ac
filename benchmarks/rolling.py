"""Rolling-origin accuracy of the newer pipelines (Melbourne, Tilburg, NERRS Old Woman Creek, Chicago beach):
the declared model beside hgb, persistence, the seasonal naive and the peers, on the same folds.

    nice -n 10 env OMP_NUM_THREADS=1 python benchmarks/rolling.py [--datasets melbourne_wwtp,...]
        [--folds 3] [--epochs 30] [--peers sf-autoets,mlf-lgbm] [--out reports/benchmarks/rolling]

The machinery is :func:`benchmarks.accuracy.dataset_accuracy` (the suite's accuracy section, run by
``benchmarks/run.py`` on the older pipelines): ``folds`` consecutive blocks at the end of each record, block =
``max(h + 5, n // (2 folds + 3))`` rows; fold i refits everything (preprocessing, the declared model -- an
``auto`` model makes its own choice inside the fold's training rows --, the peers) on rows [0, e_i) and scores
one-step forecasts of the next block on the values really observed. Peers are refitted per fold. A dataset is
rerun alone: rows of the others in --out are kept. Writes rolling_folds.csv (one row per fold), rolling.csv
(mean and standard deviation over folds), single.csv (the pipeline's own split), meta.json and README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DATASETS = {"melbourne_wwtp": "melbourne_wwtp.toml", "tilburg_wwtp": "tilburg_wwtp.toml",
            "nerrs_old_woman_creek": "nerrs_old_woman_creek.toml", "chicago_beach": "chicago_beach.toml"}


def _keep(path: Path, rerun: list[str]) -> pd.DataFrame:
    if not path.exists():
        return pd.DataFrame()
    old = pd.read_csv(path)
    return old[~old["dataset"].isin(rerun)]


def readme(single: pd.DataFrame, summary: pd.DataFrame, runs: list[dict]) -> str:
    lines = ["# Rolling origin: the newer pipelines", "", "Runs (each under `nice -n 10 env OMP_NUM_THREADS=1` on 2 "
             "CPUs shared with other jobs):", ""]
    for r in runs:
        lines.append(f"- `python benchmarks/rolling.py --datasets {','.join(r['datasets'])} --folds {r['folds']} "
                     f"--epochs {r['epochs']} --peers {r['peers']}`: {r['seconds'] / 60:.1f} min, load average "
                     f"{r['load_average'][0]:.1f}, finished {r['finished']}")
    lines += ["", "Test MAPE % per target, one step ahead: the mean over the rolling-origin folds ± its standard "
              "deviation, then the pipeline's single split. `declared` is the pipeline's `[model] name` (auto: "
              "chosen again inside each fold's training rows). Bold: the lowest rolling mean.", "",
              "| dataset / target | model | family | rolling MAPE (mean ± sd) | folds | single split MAPE |",
              "|---|---|---|---|---|---|"]
    for (dataset, target), grp in summary.groupby(["dataset", "target"], sort=False):
        best = grp["MAPE_mean"].min()
        for r in grp.sort_values("MAPE_mean").itertuples():
            s = single[(single["dataset"] == dataset) & (single["target"] == target) & (single["model"] == r.model)]
            one = f"{s['MAPE'].iloc[0]:.2f}" if len(s) else ""
            text = f"{r.MAPE_mean:.2f} ± {r.MAPE_std:.2f}"
            lines.append(f"| {dataset} / {target} | {r.model} | {r.family} | "
                         f"{'**' + text + '**' if r.MAPE_mean == best else text} | {r.folds} | {one} |")
    lines += ["", "Read before quoting: one seed; networks capped at the epochs above; the folds are the last "
              "blocks of each record, so they overlap the single split's test period; a model that skipped "
              "windows touching a gap is scored on its own windows (n in rolling_folds.csv).", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import warnings

    import torch

    from benchmarks.accuracy import AccuracySettings, dataset_accuracy, rolling_summary
    from benchmarks.headline import _season
    from wq.config import Pipeline
    from wq.run import load_frame

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--peers", default="sf-autoets,mlf-lgbm")
    ap.add_argument("--out", default=str(REPO / "reports" / "benchmarks" / "rolling"))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    names = [d for d in args.datasets.split(",") if d]
    singles, folds = [_keep(out / "single.csv", names)], [_keep(out / "rolling_folds.csv", names)]
    t0 = time.perf_counter()
    for dataset in names:
        pipe = Pipeline.load(REPO / "pipelines" / DATASETS[dataset])
        if not pipe.data_spec().path.exists():
            print(f"{dataset}: skipped, data absent", flush=True)
            continue
        frame, _, _ = load_frame(pipe)
        models = list(dict.fromkeys([pipe.model_name, "hgb", "persistence", "seasonal-naive"]))
        settings = AccuracySettings(models=models, epochs=args.epochs, folds=args.folds,
                                    peers=[p for p in args.peers.split(",") if p], peer_refit="fold",
                                    approximation=True, season=_season(frame))
        s, f = dataset_accuracy(dataset, pipe, settings, log=lambda m: print(m, flush=True))
        singles.append(s)
        folds.append(f)
        pd.concat(singles).to_csv(out / "single.csv", index=False, float_format="%.6g")
        pd.concat(folds).to_csv(out / "rolling_folds.csv", index=False, float_format="%.6g")
    folds_all = pd.concat(folds, ignore_index=True)
    summary = rolling_summary(folds_all, metrics=("MAPE", "RMSE"))
    summary.to_csv(out / "rolling.csv", index=False, float_format="%.6g")
    runs = json.loads((out / "meta.json").read_text()) if (out / "meta.json").exists() else []
    runs.append({"datasets": names, "folds": args.folds, "epochs": args.epochs, "peers": args.peers,
                 "seconds": time.perf_counter() - t0, "load_average": os.getloadavg(), "cpus": os.cpu_count(),
                 "machine": platform.platform(), "finished": time.strftime("%Y-%m-%d %H:%M")})
    (out / "meta.json").write_text(json.dumps(runs, indent=1))
    (out / "README.md").write_text(readme(pd.concat(singles, ignore_index=True), summary, runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
