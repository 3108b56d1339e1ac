"""The benchmark report: ``README.md`` with tables and PNG figures, rebuilt from the CSV and JSON files that the
sections left in the output folder (so each section can be re-run alone and the report stays whole)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from wq.report.tables import markdown_table

METRIC_COLS = ["MAPE", "pMAPE", "EVS", "R", "NSE"]


def _read(out: Path, name: str) -> pd.DataFrame | None:
    path = out / name
    if not path.exists():
        return None
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return None


def _sig(value: float) -> str:
    """Three significant digits, as text (so 0.0012 and 23.6 sit in one column)."""
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.3g}"


def _machine(out: Path, section: str) -> dict | None:
    path = out / f"machine_{section}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# -- figures ------------------------------------------------------------------------------------------------
def figure_accuracy(single: pd.DataFrame, summary: pd.DataFrame, dataset: str, path: Path) -> Path:
    """MAPE per model (mean over targets): single split bars and rolling-origin means with +- 1 sd."""
    plt = _plt()
    s = single[single["dataset"] == dataset].groupby(["model", "family"], sort=False)["MAPE"].mean()
    r = summary[summary["dataset"] == dataset].groupby("model", sort=False)[["MAPE_mean", "MAPE_std"]].mean()
    order = s.sort_values().index.get_level_values(0)
    fam = dict(s.index)
    colours = {"wq": "#1f77b4", "peer": "#d62728", "baseline": "#7f7f7f"}
    x = np.arange(len(order))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.7 * len(order) + 2), 4))
    ax.bar(x - 0.2, s.droplevel(1).reindex(order), 0.4, color=[colours[fam[m]] for m in order], label="single split")
    ax.bar(x + 0.2, r["MAPE_mean"].reindex(order), 0.4, yerr=r["MAPE_std"].reindex(order).fillna(0),
           color=[colours[fam[m]] for m in order], alpha=0.45, capsize=3, label="rolling origin (mean, sd)")
    ax.set_xticks(x, order, rotation=35, ha="right")
    ax.set_ylabel("MAPE (%)")
    ax.set_title(f"{dataset}: wq (blue), peers (red), baselines (grey)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def figure_speed(sweep: pd.DataFrame, path: Path) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    for th, g in sweep.groupby("threads"):
        ax.plot(g["batch"], g["epoch_seconds"] * 1e3, "o-", label=f"measured, {th} thread(s)")
    g = sweep[sweep["threads"] == sweep["threads"].min()]
    ax.plot(g["batch"], g["floor_seconds"] * 1e3, "k--", label="floor (FLOPs / peak matmul rate)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size")
    ax.set_ylabel("ms per epoch")
    ax.set_title(f"{sweep['cell'].iloc[0].upper()} training epoch against its floor")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def figure_growth(by_size: pd.DataFrame, slopes: pd.DataFrame, column: str, ylabel: str, path: Path) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    slope_of = dict(zip(slopes["part"], slopes["time_slope" if column == "seconds" else "memory_slope"]))
    for part, g in by_size.dropna(subset=[column]).groupby("part", sort=False):
        g = g.sort_values("points")
        style = "s--" if g["kind"].iloc[0] == "command" else "o-"
        b = slope_of.get(part, np.nan)
        ax.plot(g["points"], g[column], style, label=f"{part} (slope {b:.2f})")
    ref = np.array([by_size["points"].min(), by_size["points"].max()], dtype=float)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("points in the series")
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    ax.set_xlim(ref[0] / 1.5, ref[1] * 1.5)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def figure_drivers(by_drivers: pd.DataFrame, path: Path) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    for part, g in by_drivers.dropna(subset=["seconds"]).groupby("part", sort=False):
        ax.plot(g["drivers"], g["seconds"], "o-", label=part)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("drivers")
    ax.set_ylabel("seconds (median)")
    ax.set_title(f"Cost against the number of drivers ({int(by_drivers['points'].iloc[0])} points)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# -- sections of the text -------------------------------------------------------------------------------------
def machine_table(out: Path) -> str:
    rows = []
    for section in ("accuracy", "speed", "growth"):
        m = _machine(out, section)
        if m is None:
            continue
        versions = ", ".join(f"{k.removeprefix('version_')} {v}" for k, v in sorted(m.items())
                             if k.startswith("version_") and v != "not installed")
        rows.append({"section": section, "command": f"`{m.get('command', '').strip()}`", "finished": m.get("time", ""),
                     "CPU": m.get("host_cpu", ""), "cores": f"{m.get('usable_cores')} of {m.get('logical_cores')}",
                     "RAM GiB": str(m.get("memory_gib")), "load (1/5/15 min) start; end":
                     f"{m.get('load_average_at_start', m.get('load_average_1_5_15'))}; {m.get('load_average_at_end', '')}",
                     "torch threads": str(m.get("torch_threads")),
                     "minutes": f"{m.get('section_seconds', 0) / 60:.1f}",
                     "commit": m.get("git_commit", ""), "versions": versions})
    if not rows:
        return ""
    return markdown_table(pd.DataFrame(rows))


def _settings_text(m: dict) -> list[str]:
    a = m.get("accuracy_settings", {})
    refit = {"fold": "refitted at every fold (then run forward with fixed parameters through the fold)",
             "once": "fitted once on the single split's training rows and run forward with fixed parameters "
                     "through every fold (causal: every fold starts after those rows)"}.get(a.get("peer_refit"), "")
    lines = [f"- wq models: {a.get('models')}; epochs: {a.get('epochs')} (cap); pipeline seed; causal wavelet.",
             f"- Peers: {', '.join(a.get('peers', []))}; statsforecast models are univariate, season length "
             f"{a.get('season')}; AutoARIMA approximation: {a.get('autoarima_approximation')}.",
             f"- Rolling origin: {a.get('folds')} folds; wq refits preprocessing and model per fold; peers {refit}."]
    if a.get("tuned"):
        lines.append(f"- Tuned pipelines: {', '.join(f'{k} ({Path(v).name})' for k, v in a['tuned'].items())}.")
    else:
        lines.append("- Tuned: none in this run (run with `--tune`, or pass `--tuned DATASET=best.toml` from "
                     "`wq tune`).")
    lines += [f"- {n}" for n in m.get("notes", [])]
    return lines


def accuracy_section(out: Path) -> list[str]:
    single = _read(out, "accuracy_single.csv")
    summary = _read(out, "accuracy_rolling.csv")
    head = None
    m = _machine(out, "accuracy") or {}
    if single is None or summary is None:
        return []
    from benchmarks.accuracy import headline

    head = headline(single, summary)
    head.to_csv(out / "accuracy_headline.csv", index=False, float_format="%.6g")
    lines = ["## 1. Accuracy against peers", "",
             "Same data, same test times, same observed values (values filled by the data layer are not scored, "
             "for any model), same metrics (`wq.evaluate.metrics`). One-step-ahead forecasts. Families: **wq** "
             "(wq's learned models), **peer** (statsforecast, and `sk-hgb`: HistGradientBoosting on lags, lagged "
             "drivers and calendar written directly with scikit-learn), **baseline** (persistence, seasonal "
             "naive; wq's and statsforecast's seasonal naive are the same forecast).", ""]
    lines += _settings_text(m) + [""]
    if head is not None and len(head):
        dec = {c: 3 for c in head.columns if c.endswith("_MAPE")}
        lines += ["### wq against the best peer (MAPE %, mean over targets)", "",
                  "`dwt-pca-lstm_MAPE` is the pipelines' declared model (causal dual LSTM, no choice made); "
                  "`best_wq_MAPE` is the best of `wq_models` wq models and `best_peer_MAPE` the best of `peers` "
                  "peers, both picked after seeing the test scores (optimistic, more so for wq, which has more "
                  "candidates). `main_vs_best_peer` compares the declared model with the best peer; `winner` the "
                  "two bests.", "", markdown_table(head, decimals=dec), ""]
    for dataset in single["dataset"].unique():
        s = single[single["dataset"] == dataset]
        r = summary[summary["dataset"] == dataset]
        multi = s["target"].nunique() > 1
        cols = ["model", "family"] + (["target"] if multi else []) + METRIC_COLS + ["fit_seconds"]
        s = s.sort_values(["target", "MAPE"] if multi else ["MAPE"])[cols]
        lines += [f"### {dataset}", "", "Single split (the pipeline's test period):", "",
                  markdown_table(s, bold_best={"MAPE": "min", "NSE": "max"} if not multi else None,
                                 decimals={"fit_seconds": 1}), ""]
        rcols = ["model", "family"] + (["target"] if multi else []) + ["MAPE_mean", "MAPE_std", "pMAPE_mean",
                                                                       "NSE_mean", "NSE_std", "folds"]
        r = r.sort_values(["target", "MAPE_mean"] if multi else ["MAPE_mean"])[rcols]
        lines += ["Rolling origin (mean and standard deviation over folds):", "",
                  markdown_table(r, bold_best={"MAPE_mean": "min"} if not multi else None), ""]
        png = out / f"accuracy_{dataset}.png"
        figure_accuracy(single, summary, dataset, png)
        lines += [f"![MAPE on {dataset}]({png.name})", ""]
    return lines


def speed_section(out: Path) -> list[str]:
    mm = _read(out, "speed_matmul.csv")
    ep = _read(out, "speed_epoch.csv")
    sweep = _read(out, "speed_batch_sweep.csv")
    br = _read(out, "speed_breakdown.csv")
    wav = _read(out, "speed_wavelet.csv")
    if mm is None or ep is None:
        return []
    m = _machine(out, "speed") or {}
    peak = float(mm["gflops"].max())
    peak1 = float(mm.loc[mm["threads"] == mm["threads"].min(), "gflops"].max())
    lines = ["## 2. Speed against the machine's limit", "",
             f"Timings are medians of {m.get('repeats', '?')} runs. The floor of a training epoch is its FLOP count "
             "(from the layer sizes: matrix products forward and backward, element-wise work, Adam, the validation "
             "pass; see `wq/bench/speed.py`) divided by the machine's float32 matrix-multiply rate measured in the "
             "same run with torch. No epoch can be faster.", "",
             "Matrix-multiply rate (square float32 products, `torch.mm`):", "",
             markdown_table(mm, decimals={"seconds": 6, "gflops": 1}), "",
             f"Peak used for the floors: **{peak:.1f} GFLOP/s** (the best over sizes and thread counts: the "
             f"machine's limit); with one thread, as the epochs below run, the best is {peak1:.1f} GFLOP/s, so a "
             f"one-thread floor is {peak / peak1:.2f} times the floors shown.", "",
             f"One training epoch of the dual model's components ({ep['pipeline'].iloc[0]} pipeline sizes, "
             "wq's own training loop; time per epoch = (fit of 1 + E epochs - fit of 1 epoch) / E):", "",
             markdown_table(ep.drop(columns=["pipeline"]), decimals={"floor_seconds": 5, "epoch_seconds": 4,
                                                                     "ratio_to_floor": 1, "matmul_share": 2}), ""]
    if sweep is not None and br is not None:
        b = br.iloc[0]
        cell0 = ep.iloc[0]
        nb = int(np.ceil(cell0["n_train"] / cell0["batch"]))
        two = sweep[(sweep["threads"] == sweep["threads"].max()) & (sweep["batch"] == cell0["batch"])]
        one = sweep[(sweep["threads"] == sweep["threads"].min()) & (sweep["batch"] == cell0["batch"])]
        lines += ["What dominates the gap (LSTM, batch sizes and threads):", "",
                  markdown_table(sweep.drop(columns=["cell"]), decimals={"epoch_seconds": 4, "ms_per_step": 3,
                                                                         "floor_seconds": 5, "ratio_to_floor": 1}), "",
                  "![epoch time against batch size](speed_batch.png)", "",
                  f"- **Fixed cost per optimisation step** (slope of epoch time against the number of batches, "
                  f"1 thread): {b['per_step_overhead_ms']:.2f} ms per step, i.e. about "
                  f"{100 * b['overhead_share_at_pipeline_batch']:.0f} % of the epoch at the pipeline's batch of "
                  f"{int(cell0['batch'])} ({nb} steps). This is framework overhead (Python loop, autograd graph, "
                  "Adam's per-parameter kernels, kernel launches): it does not depend on the batch's FLOPs.",
                  f"- **Small matrices**: the products at the network's own shapes (batch x (inputs + hidden) times "
                  f"(inputs + hidden) x gates*hidden) run at {b['small_matmul_gflops']:.1f} GFLOP/s, "
                  f"{100 * b['small_matmul_gflops'] / peak:.0f} % of the peak ("
                  f"{100 * b['small_matmul_gflops'] / peak1:.0f} % of the one-thread peak); at that rate the floor would be "
                  f"{1e3 * b['floor_at_small_matmul_rate_seconds']:.2f} ms instead of {1e3 * b['floor_seconds']:.2f} ms.",
                  ]
        if len(two) and len(one):
            t1, t2 = float(one["epoch_seconds"].iloc[0]), float(two["epoch_seconds"].iloc[0])
            verdict = (f"a second thread saves {100 * (1 - t2 / t1):.0f} %, far from halving the time: these networks "
                       "are too small to split well across cores" if t2 < 0.9 * t1 else
                       "a second thread does not help: these networks are too small to split across cores")
            lines.append(f"- **Threads**: {1e3 * t1:.1f} ms per epoch on {int(one['threads'].iloc[0])} thread vs "
                         f"{1e3 * t2:.1f} ms on {int(two['threads'].iloc[0])}; {verdict} (on a shared machine a "
                         "second thread also competes with other work).")
        lines.append(f"- **Data preparation** (preprocessing with the causal wavelet, PCA, windows, tensors) is "
                     f"paid once per fit, not per epoch: {b['prep_data_prep_seconds']:.2f} s for "
                     f"{int(b['prep_train_rows'])} training rows, the time of about "
                     f"{b['prep_data_prep_seconds'] / max(float(cell0['epoch_seconds']), 1e-9):.1f} LSTM epoch(s); "
                     f"a fit runs tens to hundreds of epochs.")
        lines.append("")
        figure_speed(sweep, out / "speed_batch.png")
    if wav is not None:
        w = wav.iloc[0]
        parts = {"wavedec": w["wavedec_seconds"], "the thresholds": w["threshold_seconds"],
                 "waverec": w["waverec_seconds"]}
        largest = max(parts, key=parts.get)
        lines += ["Causal wavelet transform against a memory-bound pass over the same (points, window) float64 "
                  "windows (materialise and sum):", "",
                  markdown_table(wav[["points", "window", "wavelet", "level", "causal_transform_seconds",
                                      "memory_pass_seconds", "ratio", "copy_gbytes_per_s"]],
                                 decimals={"causal_transform_seconds": 4, "memory_pass_seconds": 4, "ratio": 1,
                                           "copy_gbytes_per_s": 2}), "",
                  f"Parts of the transform on the whole window matrix: wavedec {w['wavedec_seconds']:.3f} s, "
                  f"threshold (median of |d1| per window, then soft threshold) {w['threshold_seconds']:.3f} s, "
                  f"waverec {w['waverec_seconds']:.3f} s; a plain copy of the windows moves "
                  f"{w['copy_gbytes_per_s']:.1f} GB/s. The transform takes {w['ratio']:.0f}x the memory pass: it is "
                  f"bound by computation (filter banks over every window, a median per window), not by memory; the "
                  f"largest part is {largest}.", ""]
    return lines


def growth_section(out: Path) -> list[str]:
    by_size = _read(out, "growth_size.csv")
    slopes = _read(out, "growth_slopes.csv")
    by_drivers = _read(out, "growth_drivers.csv")
    info = _read(out, "growth_info.csv")
    if by_size is None or slopes is None:
        return []
    m = _machine(out, "growth") or {}
    inf = info.iloc[0] if info is not None and len(info) else {}
    described = {"wq run": "`wq run` (dual LSTM only, 1 epoch, report included)",
                 "wq train": "`wq train` (1 epoch, artifact written)",
                 "wq forecast": "`wq forecast` (next step from the last row, from a `wq train` artifact)"}
    commands = ", ".join(described[c] for c in described if c in set(by_size["part"])) or "none"
    lines = ["## 3. Growth with data", "",
             f"Synthetic hourly series with 4 drivers (`benchmarks.growth.synthetic_frame`); stages fitted on the "
             f"first 60 % and applied to all rows. Times are medians of {m.get('repeats', '?')} runs; stage memory "
             "is the tracemalloc peak (numpy and Python allocations), epoch and command memory the child process's "
             f"peak resident set size above that of an idle child (one that only imports torch and wq's models: "
             f"{float(inf.get('import_baseline_rss_mb', np.nan)):.0f} MB; `python -m wq --version`: "
             f"{float(inf.get('command_startup_rss_mb', np.nan)):.0f} MB). Commands: {commands}; each pays a start-up of "
             f"{float(inf.get('command_startup_seconds', np.nan)):.1f} s (`python -m wq --version`). A size is "
             f"skipped when its predicted time exceeds {m.get('limit_s', '?')} s per run (child processes are also "
             f"killed at 1.5 times that, and not tried at larger sizes).", "",
             "Log-log slopes (time ~ points^slope; 1 = linear; below 1 = fixed costs still dominate at these sizes; "
             "the top-two slope is the one between the two largest sizes measured):", "",
             markdown_table(slopes, decimals={"seconds_at_largest": 3, "time_slope": 2, "time_slope_top_two": 2,
                                              "memory_slope": 2}), "",
             "![time against points](growth_time.png)", "", "![peak memory against points](growth_memory.png)", ""]
    figure_growth(by_size, slopes, "seconds", "seconds (median)", out / "growth_time.png")
    figure_growth(by_size, slopes, "net_memory_mb", "peak memory (MB, above an idle child for child processes)",
                  out / "growth_memory.png")
    table = by_size.pivot_table(index="part", columns="points", values="seconds", sort=False).map(_sig)
    table.columns = [f"{int(c):,} pts (s)" for c in table.columns]
    mem = by_size.pivot_table(index="part", columns="points", values="net_memory_mb", sort=False).map(_sig)
    mem.columns = [f"{int(c):,} pts (MB)" for c in mem.columns]
    lines += ["Median seconds per size:", "", markdown_table(table.reset_index()), "",
              "Peak memory per size (MB; stages: tracemalloc peak; epoch and commands: child peak RSS above an idle "
              "child's):", "", markdown_table(mem.reset_index()), ""]
    skipped = by_size[by_size["note"].fillna("").str.startswith(("skipped", "failed"))]
    if len(skipped):
        lines += ["Not measured: " + "; ".join(f"{r.part} at {r.points:,} points ({r.note})"
                                                for r in skipped.itertuples()), ""]
    if by_drivers is not None and len(by_drivers):
        t = by_drivers.pivot_table(index="part", columns="drivers", values="seconds", sort=False).map(_sig)
        t.columns = [f"{int(c)} drivers (s)" for c in t.columns]
        comps = by_drivers.groupby("drivers")["components"].first()
        lines += [f"Against the number of drivers at {int(by_drivers['points'].iloc[0]):,} points (principal "
                  f"components kept: {', '.join(f'{int(d)} -> {int(k)}' for d, k in comps.items())}):", "",
                  markdown_table(t.reset_index()), "", "![time against drivers](growth_drivers.png)", ""]
        figure_drivers(by_drivers, out / "growth_drivers.png")
    return lines


def write_report(out: Path) -> Path:
    """Rebuild ``out/README.md`` and its figures from the section files present in ``out``."""
    out = Path(out)
    docs = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
    try:
        link = f"[docs/benchmarks.md]({Path(os.path.relpath(docs, out.resolve())).as_posix()})"
    except ValueError:
        link = "docs/benchmarks.md"
    lines = ["# wq benchmarks", "",
             "Made by `python benchmarks/run.py` (each section's command line and machine are in the table "
             "below). "
             f"How to run it and what each number means: {link}. "
             "The machine may be shared with other work: timings are noisy, and the load average at the start and "
             "end of each section is recorded below. Every number is also in the CSV files of this folder.", ""]
    mt = machine_table(out)
    if mt:
        lines += ["## Machine", "", mt, ""]
    for part in (accuracy_section(out), speed_section(out), growth_section(out)):
        lines += part
    extra = sorted(d.name for d in out.iterdir() if d.is_dir() and d.name != "tuned" and any(d.iterdir()))
    if extra:
        names = {"quick": "the quick mode of this suite", "tune": "wq tune: GA vs random search vs Optuna",
                 "batch": "batch forecasts (wq forecast)", "augment": "synthetic-window augmentation"}
        lines += ["## Other benchmarks", ""] + [f"- [{d}/]({d}/): {names.get(d, d)}" for d in extra] + [""]
    path = out / "README.md"
    path.write_text("\n".join(lines))
    return path
