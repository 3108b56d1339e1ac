"""Denoising benchmark (issue 12, item 5): the dual model with the trailing-window DWT against the causal à trous
(stationary) transform, next to persistence, the seasonal naive and HGB, with the whole-series (leaky) DWT for
contrast, on every pipeline's own split.

Choice on validation only: each wavelet variant of ``dwt-pca-lstm`` is scored by rolling-origin folds inside the
training part (:func:`wq.evaluate.backtest.evaluate_folds`, the test rows never seen), for every seed; the
default is the variant with the lowest mean ratio of its (seed-averaged) MAPE to the pipeline's own DWT's over
datasets and targets. Test: every variant, so nothing
is hidden, over several seeds (the networks' spread is part of the result).

    python benchmarks/denoise.py --out reports/benchmarks/denoise            # all four pipelines, seeds 7, 8, 9
    python benchmarks/denoise.py --datasets sample --seeds 7 --folds 2 --out /tmp/denoise   # a quick look
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Sequence

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import numpy as np
import pandas as pd

from wq.config import Pipeline
from wq.errors import WqError
from wq.evaluate.backtest import evaluate_folds, evaluate_split
from wq.report.tables import markdown_table
from wq.run import load_frame
from wq.seed import seed_everything

PIPELINES = {"sample": "sample.toml", "fort_collins": "fort_collins.toml", "uci_plant": "uci_plant.toml",
             "dhi_inflow": "dhi_inflow.toml"}
MODEL = "dwt-pca-lstm"
BASELINES = ["persistence", "seasonal-naive", "hgb"]
PEERS = Path("reports/benchmarks/accuracy_single.csv")  # the accuracy benchmark's peers, same splits
OWN = "dwt trailing window"
OFFLINE = "dwt whole series (leaky)"
#: wavelet settings of each variant (None: the pipeline's own trailing-window DWT).
VARIANTS: dict[str, dict | None] = {
    OWN: None,
    "atrous haar J1": {"method": "atrous", "wavelet": "haar", "level": 1},
    "atrous haar J2": {"method": "atrous", "wavelet": "haar", "level": 2},
    "atrous haar J3": {"method": "atrous", "wavelet": "haar", "level": 3},
    "atrous db2 J2": {"method": "atrous", "wavelet": "db2", "level": 2},
    "atrous db4 J2": {"method": "atrous", "wavelet": "db4", "level": 2},
}


def variant_pipeline(pipe: Pipeline, variant: str, seed: int) -> Pipeline:
    """A copy of ``pipe`` with the variant's wavelet settings and ``seed``."""
    own = pipe.preprocess.wavelet.model_dump()
    if variant == OFFLINE:
        return pipe.with_params(seed=int(seed), preprocess__wavelet={**own, "mode": "offline"})
    if VARIANTS[variant] is not None:
        return pipe.with_params(seed=int(seed), preprocess__wavelet=dict(VARIANTS[variant]))
    return pipe.with_params(seed=int(seed))


def validation_scores(name: str, pipe: Pipeline, frame: pd.DataFrame, mask, folds: int, seed: int,
                      log) -> pd.DataFrame:
    """Rolling-origin MAPE of every variant inside the training part (rows before the test period)."""
    start = len(frame) - int(round(len(frame) * pipe.split.test))
    train = frame.iloc[:start]
    rows = []
    for variant in VARIANTS:
        seed_everything(seed)
        t0 = time.perf_counter()
        m = evaluate_folds(variant_pipeline(pipe, variant, seed), train, MODEL, folds,
                           observed_mask=None if mask is None else mask.iloc[:start])
        rows.append(m.assign(dataset=name, variant=variant, seed=seed))
        log(f"{name} validation {variant}: MAPE {m['MAPE'].mean():.3f} ({time.perf_counter() - t0:.0f} s)")
    return pd.concat(rows, ignore_index=True)


def test_scores(name: str, pipe: Pipeline, frame: pd.DataFrame, mask, seeds: Sequence[int], log) -> pd.DataFrame:
    """Test metrics on the pipeline's split: baselines once, the dual model per variant and seed."""
    seed_everything(seeds[0])
    base = evaluate_split(variant_pipeline(pipe, OWN, seeds[0]), frame, BASELINES, observed_mask=mask).metrics
    rows = [base.assign(variant="", seed=seeds[0])]
    for variant in [*VARIANTS, OFFLINE]:
        for seed in seeds:
            seed_everything(seed)
            m = evaluate_split(variant_pipeline(pipe, variant, seed), frame, [MODEL], observed_mask=mask).metrics
            rows.append(m.assign(variant=variant, seed=seed))
        log(f"{name} test {variant}: MAPE {pd.concat(rows[-len(seeds):])['MAPE'].mean():.3f}")
    return pd.concat(rows, ignore_index=True).assign(dataset=name)


def choose(validation: pd.DataFrame) -> tuple[str, pd.DataFrame]:
    """The variant with the lowest mean (over datasets and targets) ratio of its validation MAPE to the
    pipeline's own DWT's; returns it and the table of ratios."""
    per = validation.groupby(["dataset", "target", "variant"])["MAPE"].mean().unstack("variant")
    ratio = per.div(per[OWN], axis=0)
    return str(ratio.mean().idxmin()), ratio


def tables(validation: pd.DataFrame, test: pd.DataFrame, chosen: str) -> str:
    """Markdown tables: validation MAPE per variant, test MAPE (mean ± sd over seeds) with the baselines."""
    _, ratio = choose(validation)
    val = validation.groupby(["dataset", "target", "variant"])["MAPE"].mean().unstack("variant")
    val = val[list(VARIANTS)]
    lines = ["### Validation MAPE (%), rolling-origin folds inside the training part, mean over folds and seeds (the choice)", "",
             markdown_table(val.reset_index(), decimals={v: 2 for v in VARIANTS}), "",
             "Mean ratio to the trailing-window DWT: " + ", ".join(f"{v} {r:.3f}" for v, r in ratio.mean().items())
             + f". Chosen: **{chosen}**.", ""]
    dual = test[test["variant"] != ""]
    agg = dual.groupby(["dataset", "target", "variant"])["MAPE"].agg(["mean", "std"])
    cell = agg.apply(lambda r: f"{r['mean']:.2f} ± {r['std']:.2f}" if np.isfinite(r["std"]) else f"{r['mean']:.2f}",
                     axis=1).unstack("variant")
    base = test[test["variant"] == ""].pivot_table(index=["dataset", "target"], columns="model", values="MAPE")
    wide = base[BASELINES].round(2).astype(str).join(cell[[*VARIANTS, OFFLINE]])
    lines += ["### Test MAPE (%), the pipeline's split (last 40 %); dual model mean ± sd over seeds", "",
              markdown_table(wide.reset_index()), ""]
    return "\n".join(lines + summary(test, chosen))


def summary(test: pd.DataFrame, chosen: str, peers: Path = REPO_ROOT / PEERS) -> list[str]:
    """The chosen variant against the trailing DWT, the baselines and (when that file exists) the best peer of
    the accuracy benchmark on the same split (picked there after seeing the test scores: optimistic for it)."""
    dual = test[test["variant"] != ""].groupby(["dataset", "target", "variant"])["MAPE"].mean().unstack("variant")
    base = test[test["variant"] == ""].pivot_table(index=["dataset", "target"], columns="model", values="MAPE")
    out = base[BASELINES].copy()
    if peers.exists():
        acc = pd.read_csv(peers)
        acc = acc[acc["family"] == "peer"]
        best = acc.loc[acc.groupby(["dataset", "target"])["MAPE"].idxmin()].set_index(["dataset", "target"])
        out["best peer"] = best["model"] + " " + best["MAPE"].map("{:.2f}".format)
    out["dwt trailing"] = dual[OWN]
    out[f"{chosen} (chosen)"] = dual[chosen]
    out["chosen / dwt"] = dual[chosen] / dual[OWN]
    out["leaky dwt"] = dual[OFFLINE]
    mean = out["chosen / dwt"].mean()
    return ["### Summary: the validated choice against the trailing-window DWT (test MAPE %, dual model mean over "
            "seeds)", "", markdown_table(out.reset_index(), decimals={c: 3 if c == "chosen / dwt" else 2
                                                                       for c in out.columns}),
            "", f"Mean ratio chosen / trailing DWT over the {len(out)} targets: {mean:.3f}.", ""]


def _save(frame: pd.DataFrame, path: Path, append: bool, keys: list[str]) -> pd.DataFrame:
    """Write ``frame`` to ``path``; with ``append``, keep the rows of the file for other ``keys`` values."""
    if append and path.exists():
        old = pd.read_csv(path, keep_default_na=False, na_values=[""])
        old["variant"] = old["variant"].fillna("")
        done = frame[keys].drop_duplicates()
        old = old.merge(done, on=keys, how="left", indicator=True)
        frame = pd.concat([old[old["_merge"] == "left_only"].drop(columns="_merge"), frame], ignore_index=True)
    frame.drop(columns=["n"], errors="ignore").to_csv(path, index=False, float_format="%.6g")
    return frame


def _read(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    frame["variant"] = frame["variant"].fillna("")
    return frame


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python benchmarks/denoise.py", description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default=",".join(PIPELINES), help="comma-separated: " + ", ".join(PIPELINES))
    ap.add_argument("--seeds", default="7,8,9", help="seeds of the dual model (comma-separated)")
    ap.add_argument("--folds", type=int, default=3, help="rolling-origin validation folds inside the training part")
    ap.add_argument("--stage", choices=["all", "validation", "test", "tables"], default="all",
                    help="run the validation (choice), the test, both, or only rebuild tables.md from the CSVs")
    ap.add_argument("--append", action="store_true", help="keep the CSV rows of other datasets / seeds")
    ap.add_argument("--out", default="reports/benchmarks/denoise")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    import torch

    torch.set_num_threads(1)
    log = lambda m: print(f"{time.strftime('%H:%M:%S')} {m}", file=sys.stderr, flush=True)  # noqa: E731
    seeds = [int(s) for s in args.seeds.split(",")]
    vals, tests = [], []
    try:
        for name in args.datasets.split(",") if args.stage != "tables" else []:
            pipe = Pipeline.load(REPO_ROOT / "pipelines" / PIPELINES[name])
            frame, mask, _ = load_frame(pipe)
            if args.stage in ("all", "validation"):
                vals += [validation_scores(name, pipe, frame, mask, args.folds, s, log) for s in seeds]
            if args.stage in ("all", "test"):
                tests.append(test_scores(name, pipe, frame, mask, seeds, log))
    except WqError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if vals:
        _save(pd.concat(vals, ignore_index=True), out / "validation.csv", args.append, ["dataset", "seed"])
    if tests:
        _save(pd.concat(tests, ignore_index=True), out / "test.csv", args.append, ["dataset"])
    validation, test = _read(out / "validation.csv"), _read(out / "test.csv")
    (out / "tables.md").write_text(tables(validation, test, choose(validation)[0]))
    print((out / "tables.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
