"""Outputs of a tuning run: logbook.csv, evaluations.csv, convergence.png and a Markdown summary.

Figures use matplotlib's object API with the Agg canvas (no pyplot, no global backend change).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from wq.tune.evaluation import LOGBOOK_COLUMNS, TuneResult
from wq.tune.space import Space


def _fmt(x: float) -> str:
    return "inf" if x == math.inf else ("nan" if x != x else f"{x:.6g}")


def _value(v: object) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def write_tune_outputs(out_dir: str | os.PathLike, results: Mapping[str, TuneResult], space: Space,
                       *, report: str | None = "report.md") -> dict[str, Path]:
    """Write the tuning outputs of one or more strategies (``{"ga": result, "random": ..., "optuna": ...}``):

    * ``logbook.csv``: each strategy's logbook (one row per generation, or per batch for the baselines) with
      a leading ``strategy`` column;
    * ``evaluations.csv``: every individual asked for: strategy, generation, individual, one column per
      setting (in the space's order), fitness, seconds, cached, error, seed, then any extra columns of the
      results' evaluation frames;
    * ``convergence.png``: best-so-far (solid) and generation mean (dashed) fitness of each strategy
      against objective calls spent;
    * ``report`` (default ``report.md``; None to skip): :func:`tune_summary_markdown`.

    Returns ``{name: path}`` of the files written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    logbooks = [r.logbook.assign(strategy=name) for name, r in results.items()]
    if logbooks:
        logbook = pd.concat(logbooks, ignore_index=True)
        logbook = logbook[["strategy", *[c for c in logbook.columns if c != "strategy"]]]
    else:
        logbook = pd.DataFrame(columns=["strategy", *LOGBOOK_COLUMNS])
    paths["logbook"] = out / "logbook.csv"
    logbook.to_csv(paths["logbook"], index=False)

    cols = ["strategy", "generation", "individual", *space.names, "fitness", "seconds", "cached", "error", "seed"]
    frames = [r.evaluations.assign(strategy=name) for name, r in results.items()]
    evaluations = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    paths["evaluations"] = out / "evaluations.csv"
    extra = [c for c in evaluations.columns if c not in cols]  # e.g. notes added by the caller
    evaluations.reindex(columns=cols + extra).to_csv(paths["evaluations"], index=False)

    paths["convergence"] = out / "convergence.png"
    plot_convergence(results, paths["convergence"])
    if report is not None:
        paths["report"] = out / report
        paths["report"].write_text(tune_summary_markdown(results, space), encoding="utf-8")
    return paths


def plot_convergence(results: Mapping[str, TuneResult], path: str | os.PathLike) -> Path:
    """Best-so-far and mean fitness per generation (batch) of each strategy against evaluations spent."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.0, 4.2), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for i, (name, res) in enumerate(results.items()):
        lb = res.logbook
        if lb.empty:
            continue
        color = f"C{i % 10}"
        ax.plot(lb["evals"], lb["best"], color=color, lw=2, marker="o", ms=3, label=f"{name}: best so far")
        ax.plot(lb["evals"], lb["mean"], color=color, lw=1, ls="--", label=f"{name}: generation mean")
    ax.set_xlabel("objective evaluations spent")
    ax.set_ylabel("fitness (lower is better)")
    ax.set_title("Tuning convergence")
    ax.grid(True, alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    return Path(path)


def tune_summary_markdown(results: Mapping[str, TuneResult], space: Space | None = None) -> str:
    """Markdown for report.md: per strategy the best fitness, objective calls, cached answers, failures,
    generations, seconds and why it stopped; then the best settings of each strategy side by side."""
    lines = ["## Tuning", "",
             "| strategy | best fitness | evaluations | cached | failed | generations | seconds | stopped because |",
             "|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        lines.append(f"| {name} | {_fmt(r.best_fitness)} | {r.n_evals} | {r.n_cached} | {r.n_failed} | "
                     f"{len(r.logbook)} | {r.seconds:.1f} | {r.stopped_because} |")
    names = space.names if space is not None else sorted({k for r in results.values() for k in (r.best_params or {})})
    if names and results:
        lines += ["", "Best settings:", "", "| setting | " + " | ".join(results) + " |",
                  "|---|" + "---|" * len(results)]
        for n in names:
            vals = [_value((r.best_params or {}).get(n, "")) for r in results.values()]
            lines.append(f"| `{n}` | " + " | ".join(vals) + " |")
    return "\n".join(lines) + "\n"
