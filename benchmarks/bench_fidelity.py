"""Benchmark of multi-fidelity `wq tune` (issue 12 item 7): validation and test error before and after tuning.

    nice -n 10 env OMP_NUM_THREADS=1 python benchmarks/bench_fidelity.py [--datasets fort_collins,uci_plant,dhi_inflow]
        [--population 8] [--generations 2] [--folds 2] [--epochs 15] [--fidelity 0.34] [--out reports/benchmarks/tune]

For each pipeline (its declared model, its default search space) the GA runs with screening (``[tune] fidelity``:
each generation trained first with that fraction of the epochs and of the first fold's training rows, full
training for the best ``survivors`` = half and for the pipeline's own settings). "Before" is the pipeline's own
settings: its validation fitness (mean MAPE over the rolling-origin folds inside the training part, as the tuner
measures it) and its test MAPE (the last ``[split] test`` of the record, cut off before tuning); "after" is the
tuned best, on the same two. Networks are capped at ``--epochs`` epochs, tuning and final runs alike (a small
budget for 2 shared cores). Writes fidelity.csv and fidelity.md to --out; the tuning folders go to a
temporary directory.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DATASETS = {"fort_collins": "fort_collins.toml", "uci_plant": "uci_plant.toml", "dhi_inflow": "dhi_inflow.toml"}


def one(dataset: str, args, work: Path) -> dict:
    from wq.config import Pipeline
    from wq.evaluate.backtest import evaluate_split
    from wq.run import load_frame
    from wq.seed import seed_everything
    from wq.tune.workflow import tune_pipeline

    pipe = Pipeline.load(REPO / "pipelines" / DATASETS[dataset]).with_params(
        model__epochs=args.epochs, tune__population=args.population, tune__generations=args.generations,
        tune__folds=args.folds, tune__fidelity=args.fidelity, tune__survivors=0.5, tune__strategy="ga",
        tune__epochs=0)
    t0 = time.perf_counter()
    outcome = tune_pipeline(pipe, work / dataset, test_runs="best",
                            progress=lambda m: print(f"{dataset}: {m}", flush=True))
    seconds = time.perf_counter() - t0
    frame, mask, _ = load_frame(pipe)
    seed_everything(pipe.seed)
    own = evaluate_split(pipe, frame, [pipe.model_name], observed_mask=mask).metrics
    own_test = float(own[own["step"] == 1]["MAPE"].mean())
    test = outcome.test
    tuned_test = float(test[test["model"] == pipe.model_name]["MAPE"].mean()) if len(test) else float("nan")
    ev = outcome.results["ga"].evaluations
    screen = pd.read_csv(work / dataset / "screening.csv") if (work / dataset / "screening.csv").exists() else None
    return {"dataset": dataset, "model": pipe.model_name,
            "validation_MAPE_before": outcome.initial_fitness, "validation_MAPE_after": outcome.best_fitness,
            "test_MAPE_before": own_test, "test_MAPE_after": tuned_test,
            "full_evaluations": int((~ev["cached"]).sum()),
            "screening_evaluations": 0 if screen is None else int((~screen["cached"]).sum()),
            "tuning_seconds": seconds, "best_settings": json.dumps(outcome.best_params, default=str)}


def markdown(table: pd.DataFrame, args, seconds: float) -> str:
    lines = ["# Multi-fidelity `wq tune`: validation and test error before and after tuning", "",
             f"Made by `nice -n 10 env OMP_NUM_THREADS=1 python benchmarks/bench_fidelity.py --population "
             f"{args.population} --generations {args.generations} --folds {args.folds} --epochs {args.epochs} "
             f"--fidelity {args.fidelity}` in {seconds / 60:.1f} min on {platform.machine()}, "
             f"{os.cpu_count()} CPUs shared with other jobs.", "",
             f"GA of {args.population} x ({args.generations} + 1) generations, each generation screened at fidelity "
             f"{args.fidelity} (that fraction of the epochs and of the first fold's training rows) and the best half "
             f"trained in full, with the pipeline's own settings always in full in generation 0. Validation: mean "
             f"MAPE over {args.folds} rolling-origin folds inside the training part (what the tuner minimises). "
             f"Test: MAPE on the last 40 % of the record, cut off before tuning, used once after it. Networks "
             f"capped at {args.epochs} epochs (the pipelines declare 300 with early stopping).", "",
             "| dataset | model | validation MAPE before | after | test MAPE before | after | full evaluations | "
             "screening evaluations | minutes |", "|---|---|---|---|---|---|---|---|---|"]
    for r in table.itertuples():
        lines.append(f"| {r.dataset} | {r.model} | {r.validation_MAPE_before:.3f} | {r.validation_MAPE_after:.3f} | "
                     f"{r.test_MAPE_before:.3f} | {r.test_MAPE_after:.3f} | {r.full_evaluations} | "
                     f"{r.screening_evaluations} | {r.tuning_seconds / 60:.1f} |")
    lines += ["", "Validation after <= before holds by construction (the own settings are in generation 0 and always "
              "trained in full; tests/tune/test_fidelity.py checks it). Test error after tuning is what the "
              "tuner cannot promise: where it rises, the validation folds did not predict the test period.", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--population", type=int, default=8)
    ap.add_argument("--generations", type=int, default=2)
    ap.add_argument("--folds", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--fidelity", type=float, default=0.34)
    ap.add_argument("--out", default=str(REPO / "reports" / "benchmarks" / "tune"))
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for dataset in [d for d in args.datasets.split(",") if d]:
            rows.append(one(dataset, args, Path(tmp)))
            table = pd.DataFrame(rows)
            table.to_csv(out / "fidelity.csv", index=False, float_format="%.6g")
            (out / "fidelity.md").write_text(markdown(table, args, time.perf_counter() - t0))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
