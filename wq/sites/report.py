"""Scores and outputs of a multi-site run (:mod:`wq.sites.run`).

Every model is scored on the same observations: those that every model forecast (:func:`common_rows`).
``metrics.csv``: one row per site, model and lead-time block (``site, model, block, first, last, n, MAE,
maxAE, skill_vs_weekly_naive``) and, with ``site = "all sites"``, the summary across sites (MAE: the mean of the
per-site MAEs; maxAE: the largest; skill: 1 - MAE / MAE of weekly-naive of the same sites). ``steps.csv``:
MAE per model and lead time (all sites pooled). ``choices.csv``: the validation MAE of every candidate.
"""

from __future__ import annotations

import json

import pandas as pd

from wq.evaluate.metrics import block_scores, lead_blocks

ALL = "all sites"


def common_rows(predictions: pd.DataFrame) -> pd.DataFrame:
    """The rows whose (site, origin, step) every model forecast (a baseline has no forecast where last week's
    value is missing): all models are scored on the same observations."""
    have = predictions["predicted"].notna().groupby([predictions["site"], predictions["origin"],
                                                     predictions["step"]]).transform("sum")
    return predictions[have.to_numpy() == predictions["model"].nunique()]


def score_sites(predictions: pd.DataFrame, horizon: int, blocks=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(metrics, steps): per site, model and block plus the summary; MAE per model and lead time. Every model
    is scored on the same rows (:func:`common_rows`) with an observed value."""
    predictions = common_rows(predictions)
    chosen = lead_blocks(horizon, blocks) or [(1, horizon)]
    per = block_scores(predictions, chosen, by=("site", "model"))
    g = per.groupby(["model", "block"], sort=False)
    summary = g.agg(first=("first", "first"), last=("last", "first"), n=("n", "sum"), MAE=("MAE", "mean"),
                    maxAE=("maxAE", "max")).reset_index()
    summary.insert(0, "site", ALL)
    metrics = pd.concat([per, summary[per.columns]], ignore_index=True)
    ref = metrics[metrics["model"] == "weekly-naive"].set_index(["site", "block"])["MAE"]
    if len(ref):
        key = pd.MultiIndex.from_frame(metrics[["site", "block"]])
        metrics["skill_vs_weekly_naive"] = 1 - metrics["MAE"].to_numpy() / ref.reindex(key).to_numpy()
    ok = predictions.dropna(subset=["observed", "predicted"])
    err = (ok["predicted"] - ok["observed"]).abs()
    steps = err.groupby([ok["model"], ok["step"]], sort=False).mean().rename("MAE").reset_index()
    return metrics, steps


def _table(frame: pd.DataFrame, cols: list[str]) -> str:
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in frame.iterrows():
        lines.append("| " + " | ".join(f"{row[c]:.4g}" if isinstance(row[c], float) else str(row[c])
                                       for c in cols) + " |")
    return "\n".join(lines)


def plot_steps(steps: pd.DataFrame, path) -> None:
    """MAE against lead time, one line per model (all sites pooled)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4))
    ax = fig.subplots()
    for model, rows in steps.groupby("model", sort=False):
        rows = rows.sort_values("step")
        ax.plot(rows["step"], rows["MAE"], lw=1.3, label=model)
    ax.set_xlabel("lead time (steps)")
    ax.set_ylabel("MAE")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    ax.set_title("Error against lead time, test weeks, all sites (lower is better)", fontsize=10)
    fig.savefig(path, dpi=110, bbox_inches="tight")


def write_sites_outputs(out, pipeline, data, metrics, steps, predictions, choices, split, n_origins, seconds,
                        timings) -> None:
    """Write the files of a multi-site run into ``out`` (a fresh folder, swapped in by the caller)."""
    out.mkdir(parents=True, exist_ok=True)
    metrics.to_csv(out / "metrics.csv", index=False, float_format="%.6g")
    steps.to_csv(out / "steps.csv", index=False, float_format="%.6g")
    predictions.to_csv(out / "predictions.csv", index=False, float_format="%.6g")
    if len(choices):
        choices.to_csv(out / "choices.csv", index=False, float_format="%.6g")
    plot_steps(steps, out / "lead_time.png")
    m = pipeline.model
    notes = [*data.notes,
             f"Split by time (UTC): fitting {split[0]} .. {split[1]}, validation {split[1]} .. {split[2]}, test "
             f"{split[2]} .. {split[3]} (never used for fitting or choices).",
             f"Horizon {m.horizon} steps; {n_origins} test origins every 24 steps, each forecasting its whole "
             f"horizon inside the test period, for every site.",
             f"Learned model: gradient boosting on lags, the same hour of the last day and four weeks, the local "
             f"calendar of the target hour{' and holidays ' + json.dumps(pipeline.holidays) if 'holiday' in pipeline.calendar else ''}"
             f", drivers at the origin ({', '.join(data.drivers) or 'none'}); settings "
             f"{json.dumps({k: getattr(m, k) for k in ('strategy', 'pooling', 'rows', 'max_iter', 'learning_rate', 'max_leaf_nodes')})}; seed {pipeline.seed}.",
             f"Wall time {seconds:.1f} s" + (f" ({', '.join(f'{k} {v:.1f} s' for k, v in timings.items())})." if timings else ".")]
    summary = metrics[metrics["site"] == ALL]
    cols = [c for c in ("site", "model", "block", "n", "MAE", "maxAE", "skill_vs_weekly_naive") if c in metrics]
    text = [f"# wq run: {pipeline.name} ({len(data.sites)} sites, week ahead)", "", "## Notes", "",
            *(f"- {n}" for n in notes), ""]
    if len(choices):
        text += ["## Choice on validation (strategy, pooling)", "",
                 _table(choices, list(choices.columns)), ""]
    text += ["## Summary across sites (test weeks)", "", _table(summary.sort_values(["block", "MAE"]), cols), "",
             "## Per site", "", _table(metrics[metrics["site"] != ALL].sort_values(["site", "block", "MAE"]), cols),
             "", "## Error against lead time", "", "![MAE against lead time](lead_time.png)", ""]
    (out / "report.md").write_text("\n".join(text))
    (out / "pipeline.toml").write_text(pipeline.to_toml())
