"""The short-record study (issue 15): does augmentation help a new plant or sensor with 60-365 days of record?

    python benchmarks/short_record.py [--datasets fort_collins,uci_plant,dhi_inflow] [--lengths 60,120,240,365]
                                      [--seeds 5] [--learned wgan-gp] [--generator-epochs 40] [--test-days 120]
                                      [--out reports/benchmarks/augment/short_record]

Setting, per dataset (its pipeline under pipelines/): the test period is the ``--test-days`` rows that start at the
pipeline's split point (the first row of its last ``[split] test`` share), moved later when the longest record
does not fit before it (at most to the last ``--test-days`` rows; a length that still does not fit is skipped,
and said so); drivers constant in a short record's fitting part are dropped for that length; the record is the ``length`` rows just
before it, as if the plant had started measuring ``length`` days earlier. The forecaster is ``--model`` (default
``mlr``: multiple linear regression on the pipeline's lags, preprocessing, drivers and calendar -- deterministic
and fast; ``hgb`` costs ~100x more CPU per fit, beyond this study's budget on 2 shared cores), fitted on the record
with its last 20 % as the validation tail (the gate's and the generator's only view beyond the fitting windows).
Methods at ratio 1 (one synthetic per real fitting window): none, resample (real fitting windows again), jitter
(sigma 0.03) and the learned generator(s) (``--generator-epochs`` epochs, early stopping on held-out fitting
windows every 20 epochs, conditioned on the calendar). Seeds 0..n-1 set the augmentation seed (generator
training and the synthetic draw); none is the same fit in every seed (the forecaster is deterministic), so every paired
difference is the augmentation's alone. Per cell: mean paired difference of test MAPE (augmented - none, in MAPE
points) with a 95 % t interval over seeds, the relative change against the best of none / resample / jitter, and
the gate: did ``[augment] gate`` (validation MAPE) keep the synthetic windows when they lowered the test MAPE and
drop them when they raised it.

Writes short_record_<datasets>.csv per run (datasets may run as separate processes into one --out),
short_record.csv (all of them), summary.csv and README.md to --out; ``--report-only`` rewrites the last three.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MODEL = "mlr"
DATASETS = {"fort_collins": "pipelines/fort_collins.toml", "uci_plant": "pipelines/uci_plant.toml",
            "dhi_inflow": "pipelines/dhi_inflow.toml", "sample": "pipelines/sample.toml"}


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def test_mape(model, sub, start, mask, q, zeros) -> float:
    from wq.evaluate.backtest import forecast_period, score

    pred = forecast_period(model, sub, start)
    pred.insert(0, "model", model.name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(score(pred, q=q, zeros=zeros, observed_mask=mask)["MAPE"].mean())


def cells(key: str, lengths, test_days: int):
    """(pipeline, mask, {length: (sub frame, start of test inside it)}) of one dataset."""
    from wq.config import Pipeline
    from wq.evaluate.backtest import split_point
    from wq.run import load_frame

    pipe = Pipeline.load(REPO / DATASETS[key])
    frame, mask, _ = load_frame(pipe)
    # one test period per dataset for every length: at the pipeline's split point, moved later (at most to the
    # last test_days rows) when the longest record does not fit before it
    start = min(len(frame) - test_days, max(split_point(len(frame), pipe.split.test), max(lengths)))
    out = {}
    for n in lengths:
        if n > start:
            log(f"{key}: only {start} rows before the test period; length {n} skipped")
            continue
        sub = frame.iloc[start - n:start + test_days]
        train = sub.iloc[: n - int(round(0.2 * n))]  # the fitting part: a driver constant there cannot be scaled
        keep = [d for d in pipe.drivers if train[d].nunique(dropna=True) > 1]
        if keep != list(pipe.drivers):
            log(f"{key} {n} days: drivers constant in the fitting part dropped: {sorted(set(pipe.drivers) - set(keep))}")
        out[n] = (sub, pipe.with_params(data__drivers=keep) if keep != list(pipe.drivers) else pipe)
    log(f"{key}: test period rows {start} .. {start + test_days - 1} ({frame.index[start].date()} ..)")
    return pipe, mask, out


def run_cell(pipe, mask, sub, n, seed, methods, epochs, none_cache) -> list[dict]:
    """Rows of one (dataset, length, seed): none (cached per length) and every method, with the gate's choice."""
    from wq.augment.pipeline import WindowAugmenter, validation_mape

    q, zeros = pipe.evaluate.peak_quantile, pipe.evaluate.zeros
    train = sub.iloc[:n]
    if n not in none_cache:
        plain = pipe.make_model(MODEL, seed=0).fit(train, val_fraction=0.2)
        none_cache[n] = (validation_mape(plain, train, mask)[0], test_mape(plain, sub, n, mask, q, zeros))
    val0, test0 = none_cache[n]
    rows = [{"method": "none", "val_MAPE": val0, "test_MAPE": test0, "kept": False, "gated_test_MAPE": test0,
             "generator_seconds": 0.0, "n_real": 0, "n_synthetic": 0}]
    for method in methods:
        settings = {"check_every": 20} if method in ("gan", "wgan", "wgan-gp", "vae") else None
        aug = WindowAugmenter(method, 1.0, seed=seed, epochs=epochs if settings else 0, settings=settings)
        model = pipe.make_model(MODEL, seed=0).fit(train, val_fraction=0.2, augment=aug)
        val, test = validation_mape(model, train, mask)[0], test_mape(model, sub, n, mask, q, zeros)
        kept = bool(val < val0)
        call = aug.calls_[-1]
        rows.append({"method": method, "val_MAPE": val, "test_MAPE": test, "kept": kept,
                     "gated_test_MAPE": test if kept else test0, "generator_seconds": call["generator_seconds"],
                     "n_real": call["n_real"], "n_synthetic": call["n_synthetic"]})
    return rows


def baselines(keys, lengths, test_days: int):
    """Test MAPE of persistence and seasonal naive in every (dataset, length) cell: the yardsticks."""
    import pandas as pd

    rows = []
    for key in keys:
        pipe, mask, subs = cells(key, lengths, test_days)
        q, zeros = pipe.evaluate.peak_quantile, pipe.evaluate.zeros
        for n, (sub, pipe_n) in subs.items():
            for name in ("persistence", "seasonal-naive"):
                model = pipe_n.make_model(name).fit(sub.iloc[:n], val_fraction=0.2)
                rows.append({"dataset": key, "length": n, "model": name,
                             "test_MAPE": test_mape(model, sub, n, mask, q, zeros)})
    return pd.DataFrame(rows)


def summarise(table):
    import pandas as pd
    from scipy import stats

    out = []
    for (ds, n), g in table.groupby(["dataset", "length"], sort=False):
        none = g[g.method == "none"].set_index("seed")["test_MAPE"]
        means = g.groupby("method")["test_MAPE"].mean()
        bases = [m for m in ("none", "resample", "jitter") if m in means]
        best_base, best_name = means[bases].min(), means[bases].idxmin()
        best = g[g.method == best_name].set_index("seed")["test_MAPE"]
        for method, gm in g[g.method != "none"].groupby("method", sort=False):
            d = (gm.set_index("seed")["test_MAPE"] - none.reindex(gm.seed).to_numpy()).to_numpy()
            k = len(d)
            half = stats.t.ppf(0.975, k - 1) * d.std(ddof=1) / np.sqrt(k) if k > 1 else np.nan
            helped = gm.test_MAPE.to_numpy() < none.reindex(gm.seed).to_numpy()
            db = (gm.set_index("seed")["test_MAPE"] - best.reindex(gm.seed).to_numpy()).to_numpy()
            half_b = stats.t.ppf(0.975, k - 1) * db.std(ddof=1) / np.sqrt(k) if k > 1 else np.nan
            kept = gm.kept.to_numpy()
            out.append({"dataset": ds, "length": n, "method": method, "seeds": k, "none_MAPE": none.mean(),
                        "MAPE": gm.test_MAPE.mean(), "diff": d.mean(), "ci_low": d.mean() - half,
                        "ci_high": d.mean() + half, "rel_vs_best_baseline_pct": 100 * (gm.test_MAPE.mean() / best_base - 1),
                        "best_baseline": best_name, "ci_best_low": db.mean() - half_b,
                        "ci_best_high": db.mean() + half_b,
                        "helped": int(helped.sum()), "kept_when_helped": int((kept & helped).sum()),
                        "hurt": int((~helped).sum()), "dropped_when_hurt": int((~kept & ~helped).sum()),
                        "gated_diff": (gm.gated_test_MAPE.to_numpy() - none.reindex(gm.seed).to_numpy()).mean(),
                        "generator_seconds": gm.generator_seconds.mean(), "n_real": int(gm.n_real.mean())})
    return pd.DataFrame(out)


def fmt_table(df, cols) -> str:
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in df[cols].itertuples(index=False):
        lines.append("| " + " | ".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in r) + " |")
    return "\n".join(lines)


def write_readme(out: Path, args: str) -> None:
    """README.md from short_record.csv (so a partial run can be reported as far as it got)."""
    import pandas as pd

    parts = sorted(out.glob("short_record_*.csv"))
    table = pd.concat([pd.read_csv(p) for p in parts], ignore_index=True)
    table.to_csv(out / "short_record.csv", index=False)
    summ = summarise(table)
    summ.to_csv(out / "summary.csv", index=False)
    summ["95% CI"] = [f"[{lo:+.2f}, {hi:+.2f}]" for lo, hi in zip(summ.ci_low, summ.ci_high)]
    summ["95% CI vs best"] = [f"[{lo:+.2f}, {hi:+.2f}]" for lo, hi in zip(summ.ci_best_low, summ.ci_best_high)]
    summ["kept/helped"] = [f"{k}/{h}" for k, h in zip(summ.kept_when_helped, summ.helped)]
    summ["dropped/hurt"] = [f"{d}/{h}" for d, h in zip(summ.dropped_when_hurt, summ.hurt)]
    cols = ["dataset", "length", "method", "seeds", "none_MAPE", "MAPE", "diff", "95% CI",
            "rel_vs_best_baseline_pct", "best_baseline", "95% CI vs best", "kept/helped", "dropped/hurt", "gated_diff", "generator_seconds"]
    base_path = out / "baselines.csv"
    if base_path.is_file():
        b = pd.read_csv(base_path).pivot_table(index=["dataset", "length"], columns="model", values="test_MAPE")
        summ["persistence"] = [b.loc[(d, n), "persistence"] if (d, n) in b.index else np.nan
                               for d, n in zip(summ.dataset, summ.length)]
        summ["seasonal_naive"] = [b.loc[(d, n), "seasonal-naive"] if (d, n) in b.index else np.nan
                                  for d, n in zip(summ.dataset, summ.length)]
        cols[4:4] = ["persistence", "seasonal_naive"]
    learned = summ[~summ.method.isin(["resample", "jitter"])]
    wins = learned[(learned.rel_vs_best_baseline_pct <= -5) & (learned.ci_high < 0)]
    strict = learned[(learned.rel_vs_best_baseline_pct <= -5) & (learned.ci_best_high < 0)]
    kh, h = int(summ.kept_when_helped.sum()), int(summ.helped.sum())
    dh, u = int(summ.dropped_when_hurt.sum()), int(summ.hurt.sum())
    text = [
        "# Short-record study: augmentation for a new plant or sensor (issue 15)", "",
        f"`python benchmarks/short_record.py {args}`; see the script's docstring for the exact setting. "
        f"Forecaster `{MODEL}`; ratio 1; paired by seed; differences are augmented minus none in "
        "test-MAPE points (negative = augmentation helped), 95 % t intervals over seeds.", "",
        "## Answer", "",
        f"- Learned-generator cells with a test MAPE >= 5 % below the best of none / resample / jitter and a paired "
        f"interval (against none) below zero: {len(wins)} of {len(learned)}"
        + (": " + ", ".join(f"{r.dataset} {r.length} d ({r.rel_vs_best_baseline_pct:+.1f} %)" for r in wins.itertuples())
           if len(wins) else "") + ".",
        f"- The same with the paired interval against the best of none / resample / jitter itself (the stricter "
        f"reading): {len(strict)} of {len(learned)}"
        + (": " + ", ".join(f"{r.dataset} {r.length} d ({r.rel_vs_best_baseline_pct:+.1f} %)" for r in strict.itertuples())
           if len(strict) else "") + "; datasets: " + (", ".join(sorted(set(strict.dataset))) or "none") + ".",
        f"- The validation gate kept augmentation in {kh} of the {h} fits where it lowered the test MAPE, and dropped "
        f"it in {dh} of the {u} fits where it did not.", "",
        "## All cells", "", fmt_table(summ, cols), "",
        "`rel_vs_best_baseline_pct`: the method's mean test MAPE against the best mean of none, resample and jitter "
        "in the cell (%). `gated_diff`: the mean paired difference had `[augment] gate = true` decided.",
    ]
    (out / "README.md").write_text("\n".join(text) + "\n", encoding="utf-8")


def main() -> None:
    import pandas as pd
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="fort_collins,uci_plant,dhi_inflow")
    ap.add_argument("--lengths", default="60,120,240,365")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--learned", default="wgan-gp")
    ap.add_argument("--model", default="mlr")
    ap.add_argument("--generator-epochs", type=int, default=40)
    ap.add_argument("--test-days", type=int, default=120)
    ap.add_argument("--out", default=str(REPO / "reports/benchmarks/augment/short_record"))
    ap.add_argument("--report-only", action="store_true", help="rewrite README.md from short_record.csv")
    ap.add_argument("--baselines", action="store_true", help="write baselines.csv (persistence, seasonal naive)")
    a = ap.parse_args()
    if a.baselines:
        baselines(a.datasets.split(","), [int(v) for v in a.lengths.split(",")], a.test_days).to_csv(
            Path(a.out) / "baselines.csv", index=False)
        return
    if a.report_only:
        write_readme(Path(a.out), " ".join(v for v in sys.argv[1:] if v != "--report-only"))
        return
    torch.set_num_threads(1)
    global MODEL
    MODEL = a.model
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    lengths = [int(v) for v in a.lengths.split(",")]
    methods = ["resample", "jitter", *a.learned.split(",")]
    data = {k: cells(k, lengths, a.test_days) for k in a.datasets.split(",")}
    none_cache: dict = {k: {} for k in data}
    rows = []
    for seed in range(a.seeds):  # seed-major: an interrupted run still covers every cell
        for key, (_pipe, mask, subs) in data.items():
            for n, (sub, pipe_n) in subs.items():
                t0 = time.perf_counter()
                for r in run_cell(pipe_n, mask, sub, n, seed, methods, a.generator_epochs, none_cache[key]):
                    rows.append({"dataset": key, "length": n, "seed": seed, **r})
                log(f"seed {seed} {key} {n} days: " + ", ".join(
                    f"{r['method']} {r['test_MAPE']:.2f}" for r in rows[-len(methods) - 1:])
                    + f" ({time.perf_counter() - t0:.0f}s)")
                pd.DataFrame(rows).to_csv(out / f"short_record_{'_'.join(data)}.csv", index=False)
        write_readme(out, " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
