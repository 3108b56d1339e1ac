"""Variants: the same models fitted again with some settings changed, scored on validation and test beside the
models as declared (an ablation in one run, e.g. with and without the moving average).

A pipeline's ``[compare.variants.NAME]`` table names ``models`` of the run and ``settings`` to change
(:class:`wq.config.VariantParams`); :func:`evaluate_variants` fits each such model on the same training rows with
the variant's settings (:meth:`wq.config.Pipeline.variant`) and scores it on the same test period, under the name
``model/NAME``. Every model of the run (variants included) is also scored on the validation tail of the
training part (:func:`wq.evaluate.backtest.validation_scores`): the period that may decide between variants.
The test period decides nothing; it is reported beside.
"""

from __future__ import annotations

from typing import Callable

import pandas as pd

from wq.evaluate.backtest import SplitResult, evaluate_split, split_point, validation_scores
from wq.evaluate.metrics import METRICS

DECLARED = "as declared"
"""The ``variant`` label of the models with the pipeline's own settings."""
VARIANT_COLUMNS = ["model", "variant", "target", "step", "period", *METRICS, "n"]


def variant_name(model: str, variant: str) -> str:
    """The name a model fitted with a variant's settings is reported under: ``model/variant``."""
    return f"{model}/{variant}"


def evaluate_variants(pipeline, frame: pd.DataFrame, base: SplitResult, observed_mask: pd.DataFrame | None = None,
                      progress: Callable[[str], None] | None = None,
                      augmenter_for: Callable | None = None) -> tuple[SplitResult, pd.DataFrame]:
    """Fit and score every variant of ``pipeline.compare.variants`` on ``frame`` (same split as ``base``, the
    result of :func:`~wq.evaluate.backtest.evaluate_split` for the pipeline as declared). Returns ``base``
    with the variants' metrics, predictions and models added (models named ``model/variant``), and a frame
    with columns :data:`VARIANT_COLUMNS`: validation and test metrics of every model per target and step."""
    metrics, preds, models = [base.metrics], [base.predictions], dict(base.models)
    labels = {name: (name, DECLARED) for name in base.models}
    for variant, table in pipeline.compare.variants.items():
        names = [m for m in table.models if m in base.models]  # `wq run --models` may leave some out
        if not names:
            continue
        if progress:
            progress(f"variant {variant}: {', '.join(names)} with {table.settings}")
        res = evaluate_split(pipeline.variant(variant), frame, names, progress=progress,
                             observed_mask=observed_mask, augmenter_for=augmenter_for)
        rename = {m: variant_name(m, variant) for m in names}
        metrics.append(res.metrics.assign(model=res.metrics["model"].map(rename)))
        preds.append(res.predictions.assign(model=res.predictions["model"].map(rename)))
        for m, fitted in res.models.items():
            models[rename[m]] = fitted
            labels[rename[m]] = (m, variant)
    merged = SplitResult(pd.concat(metrics, ignore_index=True), pd.concat(preds, ignore_index=True), models)
    return merged, _periods(pipeline, frame, merged, labels, observed_mask)


def _periods(pipeline, frame: pd.DataFrame, result: SplitResult, labels: dict[str, tuple[str, str]],
             observed_mask: pd.DataFrame | None) -> pd.DataFrame:
    """Validation (tail of the training part) and test metrics of every fitted model, labelled by variant."""
    start = split_point(len(frame), pipeline.split.test)
    n_fit = start - int(round(start * pipeline.split.validation))
    train = frame.iloc[:start]
    mask = None if observed_mask is None else observed_mask.iloc[:start]
    rows = []
    for name, model in result.models.items():
        base, variant = labels[name]
        val = validation_scores(model, train, observed_mask=mask, q=pipeline.evaluate.peak_quantile, n_fit=n_fit)
        test = result.metrics[result.metrics["model"] == name]
        for period, m in (("validation", val), ("test", test)):
            rows.append(m.assign(model=base, variant=variant, period=period))
    return pd.concat(rows, ignore_index=True)[VARIANT_COLUMNS]


def variant_table(periods: pd.DataFrame, metric: str = "MAPE") -> pd.DataFrame:
    """One row per model with variants, variant, target and step: ``metric`` on the validation and test periods
    as declared and in the variant, and the change (variant - declared; negative: the variant is better for
    the error metrics)."""
    sub = periods[periods["model"].isin(periods.loc[periods["variant"] != DECLARED, "model"].unique())]
    wide = sub.pivot_table(index=["model", "target", "step"], columns=["variant", "period"], values=metric,
                           sort=False)
    rows = []
    for (model, target, step), row in wide.iterrows():
        for variant in [v for v in sub.loc[sub["model"] == model, "variant"].unique() if v != DECLARED]:
            out = {"model": model, "variant": variant, "target": target, "step": step}
            for period in ("validation", "test"):
                declared, changed = row.get((DECLARED, period)), row.get((variant, period))
                out.update({f"{period} declared": declared, f"{period} variant": changed,
                            f"{period} change": changed - declared})
            rows.append(out)
    return pd.DataFrame(rows)


def variants_markdown(periods: pd.DataFrame, metric: str = "MAPE") -> str:
    """The report section of the variants: per target, :func:`variant_table` of ``metric``."""
    from wq.report.tables import markdown_table

    table = variant_table(periods, metric)
    text = [f"{metric} of each model as declared and in each variant ([compare.variants]), on the validation tail "
            f"of the training part and on the test period; change = variant - declared (negative: the variant "
            f"has the lower error). Only the validation period may decide between them."]
    for target, grp in table.groupby("target", sort=False):
        steps = grp["step"].nunique() > 1
        shown = grp.drop(columns=["target"] + ([] if steps else ["step"]))
        text += [f"**{target}**", markdown_table(shown.reset_index(drop=True), decimals={
            c: 2 for c in shown.columns if c not in ("model", "variant", "step")})]
    return "\n\n".join(text)
