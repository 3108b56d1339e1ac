"""Accuracy against peers: wq's models and the peers on the same splits, test times, observations and metrics.

Single split: the pipeline's own (:func:`wq.evaluate.backtest.evaluate_split`; the last ``[split] test`` of the
rows). The peers are fitted on the same training rows and forecast the same test times one step ahead.

Rolling origin: ``folds`` consecutive blocks at the end of the record
(:func:`wq.evaluate.backtest.rolling_origin_splits`, block = ``max(h + 5, n // (2 folds + 3))`` rows, the same
default as :func:`~wq.evaluate.backtest.evaluate_folds`); fold i fits everything, preprocessing included, on rows
[0, e_i) and scores one-step forecasts of the next block. wq's models are refitted per fold
(:func:`~wq.evaluate.backtest.evaluate_folds`); the peers are refitted per fold (``peer_refit = "fold"``) or, to
save time, fitted once on the single split's training rows and run forward with fixed parameters through every
fold (``"once"``: causal too, since every fold starts after those rows; the fold's forecasts are then the single
split's forecasts of the fold's times).

Scores: :func:`wq.evaluate.backtest.score`, i.e. :func:`wq.evaluate.metrics.all_metrics` on the values the data
layer really observed (``observed_mask``; filled values are skipped for every model alike).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from benchmarks.peers import peer_forecasts
from wq.config import Pipeline
from wq.errors import ConfigError, WqError
from wq.evaluate.backtest import evaluate_folds, evaluate_split, rolling_origin_splits, score, split_point
from wq.models.registry import COMBINED, NAIVE, RECIPES, STATISTICAL
from wq.seed import seed_everything

TUNED_SUFFIX = " (tuned)"


def family(model: str) -> str:
    """``wq`` (wq's learned, statistical and combined models, tuned included), ``baseline`` (persistence,
    seasonal naive) or ``peer``."""
    base = model.removesuffix(TUNED_SUFFIX)
    if base in RECIPES or base in STATISTICAL or base in COMBINED:
        return "wq"
    if base in NAIVE or model == "sf-seasonal-naive":
        return "baseline"
    return "peer"


@dataclass
class AccuracySettings:
    """What the accuracy section runs. ``models``: wq models (None: the pipeline's model and comparison
    models); ``epochs``: cap on training epochs (None: the pipeline's); ``peers``: peer names;
    ``peer_refit``: "fold" or "once"; ``approximation``: AutoARIMA's; ``tuned``: {dataset: best.toml}."""

    models: Sequence[str] | None = None
    epochs: int | None = None
    folds: int = 4
    peers: Sequence[str] = ("sf-autoets", "sf-autoarima", "sf-mstl", "sf-seasonal-naive", "sk-hgb")
    peer_refit: str = "fold"
    approximation: bool = False
    season: int = 7
    tuned: dict[str, Path] = field(default_factory=dict)


def fold_block(n: int, folds: int, horizon: int) -> int:
    """Rows per rolling-origin fold: ``max(horizon + 5, n // (2 folds + 3))`` (as evaluate_folds)."""
    return max(horizon + 5, n // (2 * folds + 3))


def configure(pipeline: Pipeline, epochs: int | None) -> Pipeline:
    if epochs is not None:
        return pipeline.with_params(model__epochs=min(int(epochs), pipeline.model.epochs))
    return pipeline.copy()


def _with_meta(frame: pd.DataFrame, dataset: str) -> pd.DataFrame:
    frame = frame.copy()
    frame.insert(0, "dataset", dataset)
    frame.insert(2, "family", frame["model"].map(family))
    return frame


def dataset_accuracy(dataset: str, pipeline: Pipeline, settings: AccuracySettings,
                     log: Callable[[str], None] = print) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Single-split and rolling-origin scores of wq's models and the peers on one pipeline's data.

    Returns ``(single, folds)``: one row per model and target (single split), one per model, fold and target
    (rolling origin), each with dataset, model, family, target, the metrics and fit_seconds."""
    from wq.run import load_frame

    pipe = configure(pipeline, settings.epochs)
    frame, mask, _ = load_frame(pipe)
    n = len(frame)
    models = list(settings.models or dict.fromkeys([pipe.model_name, *pipe.compare]))
    q = pipe.evaluate.peak_quantile
    zeros = pipe.evaluate.zeros
    h = pipe.model.horizon
    if h != 1:
        log(f"{dataset}: horizon {h}; the peers forecast one step ahead, so only step 1 is compared")
    tuned = None
    if dataset in settings.tuned:
        tuned = configure(Pipeline.load(settings.tuned[dataset]), settings.epochs)

    # -- single split -------------------------------------------------------------------------------------
    start = split_point(n, pipe.split.test)
    single = []
    for name in models:
        seed_everything(pipe.seed)
        t0 = time.perf_counter()
        res = evaluate_split(pipe, frame, [name], observed_mask=mask)
        log(f"{dataset}: single split {name}: MAPE {res.metrics['MAPE'].mean():.3f} ({time.perf_counter() - t0:.1f} s)")
        single.append(res.metrics)
    if tuned is not None:
        seed_everything(tuned.seed)
        res = evaluate_split(tuned, frame, [tuned.model_name], observed_mask=mask)
        m = res.metrics.assign(model=tuned.model_name + TUNED_SUFFIX)
        log(f"{dataset}: single split {tuned.model_name} (tuned): MAPE {m['MAPE'].mean():.3f}")
        single.append(m)
    single_pred, single_secs = peer_forecasts(frame, pipe.targets, pipe.drivers, start, start, n, settings.peers,
                                              season=settings.season, seed=pipe.seed,
                                              lags=pipe.model.lags,
                                              approximation=settings.approximation)
    m = score(single_pred, q=q, zeros=zeros, observed_mask=mask).merge(single_secs, on=["model", "target"])
    for name, grp in m.groupby("model", sort=False):
        log(f"{dataset}: single split {name}: MAPE {grp['MAPE'].mean():.3f} ({grp['fit_seconds'].sum():.1f} s)")
    single.append(m)
    single_df = _with_meta(pd.concat(single, ignore_index=True), dataset)
    if "step" in single_df:
        single_df = single_df[single_df["step"].fillna(1) == 1].drop(columns="step")

    # -- rolling origin -------------------------------------------------------------------------------------
    block = fold_block(n, settings.folds, h)
    min_train = max(60, 3 * pipe.model.lags)
    splits = rolling_origin_splits(n, settings.folds, block, min_train)
    fold_rows = []
    for name in models:
        seed_everything(pipe.seed)
        t0 = time.perf_counter()
        f = evaluate_folds(pipe, frame, name, settings.folds, block, observed_mask=mask)
        log(f"{dataset}: rolling origin {name}: MAPE {f['MAPE'].mean():.3f} ({time.perf_counter() - t0:.1f} s)")
        fold_rows.append(f.assign(fit_seconds=np.nan))
    if tuned is not None:
        seed_everything(tuned.seed)
        f = evaluate_folds(tuned, frame, tuned.model_name, settings.folds, block, observed_mask=mask)
        fold_rows.append(f.assign(model=tuned.model_name + TUNED_SUFFIX, fit_seconds=np.nan))
    if settings.peer_refit not in ("fold", "once"):
        raise ConfigError(f"peer_refit must be 'fold' or 'once', got {settings.peer_refit!r}")
    for i, (train_end, test_end) in enumerate(splits):
        if settings.peer_refit == "fold" or train_end < start:
            pred, secs = peer_forecasts(frame, pipe.targets, pipe.drivers, train_end, train_end, test_end,
                                        settings.peers, season=settings.season, seed=pipe.seed,
                                        lags=pipe.model.lags, approximation=settings.approximation)
        else:
            # fitted once on rows < start: the fold's forecasts are the single split's, on the fold's times
            times = frame.index[train_end:test_end]
            pred = single_pred[single_pred["time"].isin(times)]
            secs = single_secs.assign(fit_seconds=np.nan)
        m = score(pred, q=q, zeros=zeros, observed_mask=mask).merge(secs, on=["model", "target"])
        m.insert(0, "fold", i)
        m["train_end"] = frame.index[train_end - 1]
        fold_rows.append(m)
    log(f"{dataset}: rolling origin peers done ({settings.folds} folds of {block} rows)")
    folds_df = _with_meta(pd.concat(fold_rows, ignore_index=True), dataset)
    folds_df["block"] = block
    return single_df, folds_df


def rolling_summary(folds: pd.DataFrame, metrics: Sequence[str] = ("MAPE", "pMAPE", "EVS", "R", "NSE")) -> pd.DataFrame:
    """Mean and standard deviation over folds per dataset, model and target."""
    keys = ["dataset", "model", "family", "target"]
    agg = folds.groupby(keys, sort=False)[list(metrics)].agg(["mean", "std"])
    agg.columns = [f"{m}_{s}" for m, s in agg.columns]
    agg["folds"] = folds.groupby(keys, sort=False)["fold"].nunique()
    return agg.reset_index()


def headline(single: pd.DataFrame, summary: pd.DataFrame, main_model: str = "dwt-pca-lstm") -> pd.DataFrame:
    """Per dataset, on the single split and on the rolling-origin mean (MAPE averaged over targets): the
    pipeline's main model (``main_model``, the causal dual LSTM), the best wq model and the best peer, with
    persistence for reference. ``wq_models`` / ``peers`` count the candidates: the best of many is an optimistic
    pick made after seeing the test scores, so ``main_vs_best_peer`` (the declared model, no choice) is the fair
    comparison; ``winner`` compares the best of each family."""
    rows = []
    for dataset in single["dataset"].unique():
        s = single[single["dataset"] == dataset].groupby(["model", "family"], sort=False)["MAPE"].mean().reset_index()
        r = (summary[summary["dataset"] == dataset].groupby(["model", "family"], sort=False)["MAPE_mean"].mean()
             .reset_index().rename(columns={"MAPE_mean": "MAPE"}))
        for kind, table in (("single split", s), ("rolling origin", r)):
            best = {}
            for fam in ("wq", "peer"):
                sub = table[table["family"] == fam]
                best[fam] = sub.loc[sub["MAPE"].idxmin()] if len(sub) else None
            pers = table.loc[table["model"] == "persistence", "MAPE"]
            main = table.loc[table["model"] == main_model, "MAPE"]
            wq_best, peer_best = best["wq"], best["peer"]
            main_mape = float(main.iloc[0]) if len(main) else np.nan
            rows.append({
                "dataset": dataset, "evaluation": kind,
                f"{main_model}_MAPE": main_mape,
                "best_wq_model": None if wq_best is None else wq_best["model"],
                "best_wq_MAPE": np.nan if wq_best is None else wq_best["MAPE"],
                "wq_models": int((table["family"] == "wq").sum()),
                "best_peer": None if peer_best is None else peer_best["model"],
                "best_peer_MAPE": np.nan if peer_best is None else peer_best["MAPE"],
                "peers": int((table["family"] == "peer").sum()),
                "persistence_MAPE": float(pers.iloc[0]) if len(pers) else np.nan,
                "main_vs_best_peer": (None if peer_best is None or not np.isfinite(main_mape)
                                      else ("wq" if main_mape < peer_best["MAPE"] else "peer")),
                "winner": (None if wq_best is None or peer_best is None
                           else ("wq" if wq_best["MAPE"] < peer_best["MAPE"] else "peer")),
            })
    return pd.DataFrame(rows)


def run_accuracy(pipelines: dict[str, Path], settings: AccuracySettings, log: Callable[[str], None] = print
                 ) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Every dataset in ``pipelines`` ({name: TOML}); a dataset whose file is absent is skipped with a note.
    Returns ``(single, folds, notes)``."""
    singles, folds, notes = [], [], []
    for dataset, path in pipelines.items():
        try:
            pipe = Pipeline.load(path)
            spec = pipe.data_spec()
        except WqError as exc:
            notes.append(f"{dataset}: skipped ({exc})")
            log(notes[-1])
            continue
        absent = [str(p) for p in (spec.path, spec.drivers_path) if p is not None and not Path(p).exists()]
        if absent:
            notes.append(f"{dataset}: skipped, data file(s) {', '.join(absent)} absent (see the pipeline's header)")
            log(notes[-1])
            continue
        s, f = dataset_accuracy(dataset, pipe, settings, log)
        singles.append(s)
        folds.append(f)
    if not singles:
        return pd.DataFrame(), pd.DataFrame(), notes
    return pd.concat(singles, ignore_index=True), pd.concat(folds, ignore_index=True), notes
