# size: one study from running to its report; the short-record study (issue 15) is to take its running part
"""The augmentation study behind ``wq augment``: does adding synthetic training windows help the forecaster?

For every train fraction f, every method and every ratio r (synthetic per real window), the pipeline's model
is fitted on a training record shortened to its most recent fraction f, with and without synthetic windows,
and scored on its validation tail and on the test period; the generator's windows get TimeGAN's quality scores.

Definitions (the test period is the same in every row):

* Split: the last ``[split] test`` share of the rows is the test period, as in ``wq run``. Train fraction f
  keeps the ``round(f * n_train)`` training rows just before the test period (the oldest rows are dropped);
  the validation tail is the last ``[split] validation`` share of that shortened part, the rest is the fitting
  part. Forecasts of the test period use histories that start where the shortened record starts.
* Augmentation: :class:`wq.augment.pipeline.WindowAugmenter` -- the generator is fitted on the real fitting
  sequences of the model (lags + horizon steps of every channel, preprocessing fitted on the fitting part)
  and ``round(r * N)`` synthetic sequences are appended to the N real ones. Nothing from the validation tail or
  the test period reaches a generator.
* "none" (ratio 0) is the baseline of every fraction and seed: the same model, seed and epochs without
  synthetic windows. Comparisons are paired: ``delta_test_MAPE`` is against none with the same forecaster seed.
* Errors: MAPE and pMAPE (peaks: observations at or above the ``[evaluate] peak_quantile`` of the period) of
  one-step-to-horizon forecasts in original units, averaged over targets; values the data layer filled are not
  scored. ``val_*`` on the validation tail, ``test_*`` on the test period (reported, never used for a choice).
  ``gate_kept`` says what ``[augment] gate = true`` would decide (validation MAPE strictly lower than none's),
  and ``test_MAPE_gated`` is the test MAPE of that decision.
* Quality (Yoon et al. 2019, TimeGAN; :func:`wq.augment.quality.quality_report`): the generator fitted on the
  fitting sequences draws as many windows as there are real fitting windows; they are scored against the
  real *validation-tail* windows the generator never saw. Discriminative = |accuracy - 0.5| of a post-hoc GRU
  classifier (0 ideal); predictive = MAE of a GRU trained on synthetic windows to predict the next step of the
  real ones (train on synthetic, test on real; ``predictive_persistence`` is the naive MAE for scale),
  Wasserstein-1 of the marginals and the ACF difference. One generator per method and fraction serves every
  ratio, so quality columns repeat across ratios.
* Seeds: every (method, ratio, fraction) is fitted with forecaster seeds seed, seed + 1, ..., seed + K - 1
  (``seeds`` = K, default 1; seed = the pipeline's), so the table shows how much the test MAPE moves with the
  seed alone; generators fit with seed s and sample with s + 1, s = pipeline seed + ``[augment] seed_offset``
  (one generator per method and fraction, whatever the forecaster seed). The same inputs give the same table,
  apart from the time columns (:data:`TIME_COLUMNS`).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from wq.augment.pipeline import LEARNED, METHODS, AugmentSettings, WindowAugmenter, validation_mape
from wq.errors import ConfigError

__all__ = [
    "COLUMNS",
    "TIME_COLUMNS",
    "TIMEGAN_DISCRIMINATIVE",
    "StudyResult",
    "shortened",
    "channel_names",
    "run_study",
    "write_study",
    "write_figures",
    "augment_study",
    "summary",
    "verdict",
]

TIME_COLUMNS = ("generator_seconds", "fit_seconds", "quality_seconds")
COLUMNS = (
    "pipeline", "model", "method", "ratio", "train_fraction", "seed", "train_rows", "n_real", "n_synthetic",
    "val_MAPE", "val_pMAPE", "test_MAPE", "test_pMAPE", "val_MAPE_none", "test_MAPE_none", "test_pMAPE_none",
    "delta_test_MAPE", "gate_kept", "test_MAPE_gated", "discriminative", "predictive", "predictive_persistence",
    "wasserstein", "acf_difference", "generator_epochs", *TIME_COLUMNS,
)
TIMEGAN_DISCRIMINATIVE = {"Stocks": 0.102, "Energy": 0.236}
"""TimeGAN's published discriminative scores (Yoon et al. 2019, table 2), for scale."""

Progress = Callable[[str], None] | None


@dataclass
class StudyResult:
    """Rows of ``augmentation.csv`` (``table``), per-target metrics (``by_target``), and what the figures need:
    the fitted generators by (method, fraction), the real fitting windows by fraction, channel names by fraction
    (the number of driver PCs kept for a variance share can differ between fractions)."""

    table: pd.DataFrame
    by_target: pd.DataFrame
    generators: dict[tuple[str, float], Any] = field(default_factory=dict)
    real_windows: dict[float, np.ndarray] = field(default_factory=dict)
    synthetic_windows: dict[tuple[str, float], np.ndarray] = field(default_factory=dict)
    channels: dict[float, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def shortened(frame: pd.DataFrame, start: int, fraction: float) -> tuple[pd.DataFrame, int]:
    """The record for train fraction ``fraction``: rows ``[s0, len)`` with ``s0 = start - round(fraction *
    start)``, and the position of the first test row inside it (``start - s0``). The test rows are unchanged."""
    if not _is_fraction(fraction):
        raise ConfigError(f"train fractions must be in (0, 1], got {fraction!r}")
    keep = int(round(float(fraction) * start))
    if keep < 1:
        raise ConfigError(f"train fraction {fraction} of {start} training rows keeps no row")
    s0 = start - keep
    return frame.iloc[s0:], keep


def _is_fraction(value: Any) -> bool:
    return (isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
            and 0 < float(value) <= 1)


def channel_names(model) -> list[str]:
    """Names of the channels of a fitted windowed model's sequences, in order (e.g. "denoised DQO-S", "PC1",
    "day_of_week_sin")."""
    from wq.data.calendar import feature_columns

    names: list[str] = []
    for block, idx in model.layout_.items():
        if block in ("denoised", "residual", "clean"):
            names += [f"{block} {t}" for t in model.targets][: len(idx)]
        elif block == "drivers":
            names += ([f"PC{i + 1}" for i in range(len(idx))] if model.driver_repr == "pcs"
                      else list(model.drivers)[: len(idx)])
        elif block == "calendar":
            names += feature_columns(model.calendar)[: len(idx)]
    total = sum(len(v) for v in model.layout_.values())
    return names if len(names) == total else [f"channel {i}" for i in range(total)]


def _check_lists(methods: Sequence[str], ratios: Sequence[float], fractions: Sequence[float]) -> tuple:
    methods = [m for m in dict.fromkeys(methods) if m != "none"]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ConfigError(f"unknown augmentation method(s) {unknown}; valid: none, {', '.join(METHODS)}")
    bad = [r for r in ratios if isinstance(r, bool) or not isinstance(r, (int, float)) or not math.isfinite(r) or r <= 0]
    if bad or not ratios:
        raise ConfigError(f"ratios must be numbers > 0 (synthetic per real window), got {list(ratios)}")
    bad = [f for f in fractions if not _is_fraction(f)]
    if bad or not fractions:
        raise ConfigError(f"train fractions must be in (0, 1], got {list(fractions)}")
    return methods, sorted(dict.fromkeys(float(r) for r in ratios)), sorted(dict.fromkeys(float(f) for f in fractions))


def _scores(model, frame: pd.DataFrame, start: int, train: pd.DataFrame, mask, q: float, zeros: str):
    """Per-target validation and test metrics of a fitted model: (val MAPE, val pMAPE, test metrics frame)."""
    from wq.evaluate.backtest import forecast_period, score

    val_mape, val_pmape = validation_mape(model, train, mask, q=q)
    pred = forecast_period(model, frame, start)
    pred.insert(0, "model", model.name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        test = score(pred, q=q, zeros=zeros, observed_mask=mask)
    return val_mape, val_pmape, test


# size: the study's loops over fractions, methods and ratios share one cache of fitted generators and one gate
def run_study(pipeline, frame: pd.DataFrame, *,
              methods: Sequence[str] = ("gan", "wgan", "wgan-gp", "vae", "jitter", "resample"),
              ratios: Sequence[float] = (1.0,), fractions: Sequence[float] = (0.5, 1.0),
              observed_mask: pd.DataFrame | None = None, model_name: str | None = None, generator_epochs: int = 0,
              quality: bool = True, quality_epochs: int | None = None, seeds: int = 1,
              progress: Progress = None) -> StudyResult:
    """Run the study on ``frame`` (a whole record: the test period is its last ``[split] test`` share).

    See the module docstring for the definitions. ``model_name`` defaults to the pipeline's model (a windowed
    model: naive models cannot take synthetic windows); ``generator_epochs`` > 0 overrides ``[augment] epochs``
    (0: that, or the generator's default); ``quality_epochs`` the post-hoc networks' epochs (None: about 400
    steps). Returns the rows of ``augmentation.csv`` in :data:`COLUMNS` order.
    """
    from wq.evaluate.backtest import split_point
    from wq.models.windowed import WindowForecaster
    from wq.seed import seed_everything

    methods, ratios, fractions = _check_lists(methods, ratios, fractions)
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ConfigError(f"seeds must be an integer >= 1 (forecaster seeds per setting), got {seeds!r}")
    forecaster_seeds = [pipeline.seed + k for k in range(seeds)]
    if isinstance(generator_epochs, bool) or not isinstance(generator_epochs, int) or generator_epochs < 0:
        raise ConfigError(f"generator epochs must be an integer >= 0, got {generator_epochs!r}")
    model_name = model_name or pipeline.model_name
    probe = pipeline.make_model(model_name)
    if not isinstance(probe, WindowForecaster):
        raise ConfigError(f"model {model_name!r} does not learn from windows, so it cannot be augmented; "
                          f"choose a learned model (e.g. dwt-pca-lstm) with --model")
    cfg = AugmentSettings.from_pipeline(pipeline)
    epochs = int(generator_epochs or cfg.epochs)
    for m in methods:  # bad settings fail before any fit
        WindowAugmenter(m, 1.0, seed=cfg.seed, epochs=epochs, settings=cfg.settings.get(m))
    val_fraction = pipeline.split.validation
    q, zeros = pipeline.evaluate.peak_quantile, pipeline.evaluate.zeros
    start = split_point(len(frame), pipeline.split.test)
    cache: dict = {}
    rows: list[dict[str, Any]] = []
    by_target: list[pd.DataFrame] = []
    result = StudyResult(pd.DataFrame(), pd.DataFrame())

    def say(text: str) -> None:
        if progress:
            progress(text)

    def fit(seed: int, train: pd.DataFrame, augment=None):
        seed_everything(seed)
        model = pipeline.make_model(model_name, seed=seed)
        t0 = time.perf_counter()
        kwargs = {"augment": augment} if augment is not None else {}
        model.fit(train, val_fraction=val_fraction, **kwargs)
        return model, time.perf_counter() - t0

    def record(model, sub, sub_start, train, extra: dict[str, Any]) -> dict[str, Any]:
        val_mape, val_pmape, test = _scores(model, sub, sub_start, train, observed_mask, q, zeros)
        tgt = test.drop(columns=["n"], errors="ignore").assign(
            method=extra["method"], ratio=extra["ratio"], train_fraction=extra["train_fraction"], seed=extra["seed"])
        by_target.append(tgt)
        return {**extra, "val_MAPE": val_mape, "val_pMAPE": val_pmape, "test_MAPE": float(test["MAPE"].mean()),
                "test_pMAPE": float(test["pMAPE"].mean())}

    for f in fractions:
        sub, sub_start = shortened(frame, start, f)
        train = sub.iloc[:sub_start]
        base = {"pipeline": pipeline.name, "model": model_name, "train_fraction": f, "train_rows": len(train)}
        say(f"fraction {f:g}: {len(train)} training rows ({train.index[0].date()} .. {train.index[-1].date()}), "
            f"test {sub.index[sub_start].date()} .. {sub.index[-1].date()}")
        baseline, seconds = fit(pipeline.seed, train)
        S, origins, _ = baseline.sequences(train)
        is_fit = origins + baseline.horizon < baseline.n_fit_
        S_fit, S_val = np.array(S[is_fit]), np.array(S[~is_fit])
        result.real_windows[f] = S_fit
        result.channels[f] = channel_names(baseline)  # PCs kept for the variance share may differ by fraction
        none_mape = {}
        for seed in forecaster_seeds:
            model, seconds = (baseline, seconds) if seed == pipeline.seed else fit(seed, train)
            row = record(model, sub, sub_start, train, {**base, "method": "none", "ratio": 0.0, "seed": seed,
                                                         "n_real": len(S_fit), "n_synthetic": 0,
                                                         "fit_seconds": seconds})
            rows.append(row)
            none_mape[seed] = row["test_MAPE"]
            say(f"fraction {f:g} none seed {seed}: validation MAPE {row['val_MAPE']:.3f}, "
                f"test MAPE {row['test_MAPE']:.3f}")
        for method in methods:
            # one generator per (method, fraction), fitted here on the fitting sequences; every ratio's model fit
            # below gets it from the shared cache (the augmenter checks that it sees the same sequences)
            first = WindowAugmenter(method, ratios[0], seed=cfg.seed, epochs=epochs, settings=cfg.settings.get(method),
                                    progress=progress, label=f"{model_name} f={f:g}", cache=cache)
            gen, _ = first.fit_generator(S_fit)
            result.generators[(method, f)] = gen
            gen_info = {"generator_epochs": int(getattr(gen, "epochs_run_", 0)) if method in LEARNED else 0,
                        "generator_seconds": float(gen.train_seconds_)}
            quality_cols = _quality_columns(None)
            if quality:
                t0 = time.perf_counter()
                synth = gen.sample(len(S_fit), seed=cfg.seed + 1)
                result.synthetic_windows[(method, f)] = synth
                quality_cols = _quality_columns(_quality(S_val, synth, cfg.seed, quality_epochs))
                quality_cols["quality_seconds"] = time.perf_counter() - t0
            for r in ratios:
                for seed in forecaster_seeds:
                    aug = WindowAugmenter(method, r, seed=cfg.seed, epochs=epochs, settings=cfg.settings.get(method),
                                          progress=progress, label=f"{model_name} f={f:g}", cache=cache)
                    model, seconds = fit(seed, train, aug)
                    call = aug.calls_[-1]
                    if call["fingerprint"] != _fp(S_fit):  # quality and figures must be about what the model used
                        raise AssertionError("the augmenter saw other sequences than the study's fitting windows")
                    row = record(model, sub, sub_start, train, {
                        **base, "method": method, "ratio": r, "seed": seed, "n_real": call["n_real"],
                        "n_synthetic": call["n_synthetic"], "fit_seconds": seconds, **gen_info, **quality_cols})
                    rows.append(row)
                    say(f"fraction {f:g} {method} ratio {r:g} seed {seed}: {row['n_synthetic']} synthetic windows, "
                        f"validation MAPE {row['val_MAPE']:.3f}, test MAPE {row['test_MAPE']:.3f} "
                        f"(none {none_mape[seed]:.3f})")
    table = pd.DataFrame(rows)
    table = _finish(table)
    result.table = table
    cols = ["method", "ratio", "train_fraction", "seed", "target"]
    result.by_target = pd.concat(by_target, ignore_index=True)
    result.by_target = result.by_target[cols + [c for c in result.by_target.columns if c not in cols + ["model"]]]
    result.notes = [
        f"Test period: rows {start} .. {len(frame) - 1} ({frame.index[start].date()} .. {frame.index[-1].date()}), "
        f"identical for every train fraction; never seen by a generator, early stopping or the gate.",
        f"Generators fitted on the real fitting sequences of each fit (lags + horizon = "
        f"{probe.lags + probe.horizon} steps; channels at fraction {max(fractions):g}: "
        f"{', '.join(result.channels[max(fractions)])}); quality scored against the validation-tail sequences.",
    ]
    return result


def _fp(S: np.ndarray) -> str:
    from wq.augment.pipeline import _fingerprint

    return _fingerprint(S)


def _quality(S_val: np.ndarray, synth: np.ndarray, seed: int, epochs: int | None) -> dict[str, Any] | None:
    from wq.augment.quality import quality_report

    if len(S_val) < 4:
        return None
    return quality_report(S_val, synth, seed=seed, epochs=epochs)


def _quality_columns(report: dict[str, Any] | None) -> dict[str, Any]:
    if report is None:
        return {"discriminative": np.nan, "predictive": np.nan, "predictive_persistence": np.nan,
                "wasserstein": np.nan, "acf_difference": np.nan}
    return {"discriminative": report["discriminative"], "predictive": report["predictive"],
            "predictive_persistence": report["predictive_persistence"], "wasserstein": report["wasserstein_mean"],
            "acf_difference": report["acf_difference"]}


def _finish(table: pd.DataFrame) -> pd.DataFrame:
    """Baseline columns (none with the same fraction and forecaster seed), deltas and the gate's decision;
    columns in :data:`COLUMNS` order."""
    ref = table[table["method"] == "none"].set_index(["train_fraction", "seed"])
    key = pd.MultiIndex.from_frame(table[["train_fraction", "seed"]])
    table["val_MAPE_none"] = ref["val_MAPE"].reindex(key).to_numpy()
    table["test_MAPE_none"] = ref["test_MAPE"].reindex(key).to_numpy()
    table["test_pMAPE_none"] = ref["test_pMAPE"].reindex(key).to_numpy()
    table["delta_test_MAPE"] = table["test_MAPE"] - table["test_MAPE_none"]
    augmented = table["method"] != "none"
    table["gate_kept"] = augmented & (table["val_MAPE"] < table["val_MAPE_none"])
    table["test_MAPE_gated"] = np.where(table["gate_kept"], table["test_MAPE"], table["test_MAPE_none"])
    for col in COLUMNS:
        if col not in table:
            table[col] = 0.0 if col in TIME_COLUMNS or col == "generator_epochs" else np.nan
    table["generator_epochs"] = table["generator_epochs"].fillna(0).astype(int)
    for col in TIME_COLUMNS:
        table[col] = table[col].fillna(0.0)
    return table[list(COLUMNS)].reset_index(drop=True)


# -- verdict and outputs -------------------------------------------------------------------------------------
def summary(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (train fraction, method, ratio): means over the forecaster seeds of the validation and test
    errors, the paired difference to none (``delta_mean``, ``delta_min``, ``delta_max``), in how many seeds the
    test MAPE was lower than none's (``seeds_lower``) and the gate kept the synthetic windows (``gate_kept``),
    and the quality scores."""
    g = table.groupby(["train_fraction", "method", "ratio"], sort=False)
    out = g.agg(seeds=("seed", "size"), val_MAPE=("val_MAPE", "mean"), test_MAPE=("test_MAPE", "mean"),
                test_pMAPE=("test_pMAPE", "mean"), delta_mean=("delta_test_MAPE", "mean"),
                delta_min=("delta_test_MAPE", "min"), delta_max=("delta_test_MAPE", "max"),
                seeds_lower=("delta_test_MAPE", lambda d: int((d < 0).sum())), gate_kept=("gate_kept", "sum"),
                test_MAPE_gated=("test_MAPE_gated", "mean"), discriminative=("discriminative", "first"),
                predictive=("predictive", "first"), predictive_persistence=("predictive_persistence", "first"),
                generator_seconds=("generator_seconds", "first"))
    out["gate_kept"] = out["gate_kept"].astype(int)
    return out.reset_index()


def verdict(table: pd.DataFrame) -> list[str]:
    """Plain sentences per train fraction: did any method lower the test MAPE against none, and did a learned
    generator do better than jitter and resample? With K forecaster seeds, "lower" means lower than none with
    the same seed in every one of the K seeds (paired); with one seed, a lower value is reported as such and
    is no evidence."""
    lines = []
    s = summary(table)
    for f, grp in s.groupby("train_fraction", sort=True):
        none = table[(table["train_fraction"] == f) & (table["method"] == "none")]["test_MAPE"]
        aug = grp[grp["method"] != "none"]
        if aug.empty:
            continue
        k = int(grp["seeds"].max())
        head = (f"train fraction {f:g}: none {none.mean():.2f} %" +
                (f" (seeds {none.min():.2f} .. {none.max():.2f})" if k > 1 else ""))
        wins = aug[aug["seeds_lower"] == aug["seeds"]].sort_values("delta_mean")
        best = aug.loc[aug["delta_mean"].idxmin()]
        if k == 1:
            text = (f"{head}; lower with {', '.join(f'{m} x{r:g} ({d:+.2f})' for m, r, d in zip(wins['method'], wins['ratio'], wins['delta_mean']))}"
                    if len(wins) else f"{head}; no method lowered it (best {best['method']} x{best['ratio']:g}, "
                                      f"{best['delta_mean']:+.2f})")
            text += " -- one forecaster seed: use --seeds 3 to see how much the seed alone moves it"
        elif len(wins):
            text = (f"{head}; yes, lower in all {k} seeds: "
                    + ", ".join(f"{m} x{r:g} (mean {d:+.2f}, {lo:+.2f} .. {hi:+.2f})" for m, r, d, lo, hi in
                                zip(wins["method"], wins["ratio"], wins["delta_mean"], wins["delta_min"],
                                    wins["delta_max"])))
        else:
            text = (f"{head}; no method lowered it in all {k} seeds (best mean: {best['method']} x{best['ratio']:g}, "
                    f"{best['delta_mean']:+.2f}, lower in {int(best['seeds_lower'])} of {k})")
        learned = aug[aug["method"].isin(LEARNED)]
        for ref_method, why in (("jitter", ""), ("resample", " (same number of extra windows, none new)")):
            ref_rows = aug[aug["method"] == ref_method]
            if ref_rows.empty or learned.empty:
                continue
            rbest = ref_rows["test_MAPE"].min()
            lbest = learned.loc[learned["test_MAPE"].idxmin()]
            verb = "better" if lbest["test_MAPE"] < rbest else "not better"
            text += (f"; best learned generator {lbest['method']} x{lbest['ratio']:g} ({lbest['test_MAPE']:.2f} %) "
                     f"{verb} than {ref_method}{why} ({rbest:.2f} %)")
        text += f"; the gate kept synthetic windows in {int(aug['gate_kept'].sum())} of {int(aug['seeds'].sum())} fits."
        lines.append(text)
    return lines


def write_study(result: StudyResult, out_dir: str | Path, pipeline, figures: bool = True,
                notes: Sequence[str] = (), title: str | None = None) -> dict[str, Path]:
    """Write ``augmentation.csv``, ``augmentation_by_target.csv``, ``figures/*.png`` and ``report.md``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    paths["csv"] = out / "augmentation.csv"
    result.table.to_csv(paths["csv"], index=False, float_format="%.6g")
    paths["by_target"] = out / "augmentation_by_target.csv"
    result.by_target.to_csv(paths["by_target"], index=False, float_format="%.6g")
    fig_paths: list[Path] = []
    if figures:
        fig_paths = write_figures(result, out / "figures")
    paths["report"] = out / "report.md"
    paths["report"].write_text(_report(result, pipeline, fig_paths, out, notes, title), encoding="utf-8")
    return paths


def write_figures(result: StudyResult, folder: str | Path) -> list[Path]:
    """Figures into ``folder``: test MAPE against the ratio per method and fraction (test_mape_vs_ratio.png),
    and at the largest train fraction, per method, the generator's loss curves (learned methods), real
    fitting windows and synthetic windows overlaid, their marginal histograms and a 2-D PCA (fitted on the
    real windows)."""
    from wq.augment.figures import plot_losses, plot_marginals, plot_overlay, plot_pca

    folder = Path(folder)
    out = [_plot_mape_vs_ratio(result.table, folder / "test_mape_vs_ratio.png")]
    if not result.real_windows:
        return out
    f = max(result.real_windows)
    real = result.real_windows[f]
    for (method, frac), gen in sorted(result.generators.items()):
        if frac != f:
            continue
        synth = result.synthetic_windows.get((method, frac))
        if synth is None:
            synth = gen.sample(len(real), seed=1)
        slug = method.replace("-", "_")
        if method in LEARNED and getattr(gen, "history_", None):
            out.append(plot_losses(gen.history_, folder / f"losses_{slug}.png", title=f"{method} losses (fraction {f:g})"))
        names = result.channels.get(f)
        out.append(plot_overlay(real, synth, folder / f"overlay_{slug}.png", channel_names=names))
        out.append(plot_marginals(real, synth, folder / f"marginals_{slug}.png", channel_names=names))
        out.append(plot_pca(real, synth, folder / f"pca_{slug}.png"))
    return out


def _plot_mape_vs_ratio(table: pd.DataFrame, path: Path) -> Path:
    """Test MAPE (mean over forecaster seeds, bars from the lowest to the highest seed) against the ratio, one
    panel per train fraction, one line per method starting at none's value at ratio 0."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fractions = sorted(table["train_fraction"].unique())
    fig = Figure(figsize=(3.6 * len(fractions), 3.4))
    methods = [m for m in dict.fromkeys(table["method"]) if m != "none"]
    stats = table.groupby(["train_fraction", "method", "ratio"])["test_MAPE"].agg(["mean", "min", "max"])
    for i, f in enumerate(fractions):
        ax = fig.add_subplot(1, len(fractions), i + 1)
        y0, lo0, hi0 = stats.loc[(f, "none", 0.0)]
        ax.axhline(y0, color="black", ls="--", lw=1, label="none")
        if hi0 > lo0:
            ax.axhspan(lo0, hi0, color="grey", alpha=0.2, lw=0, label="none, seed range")
        for j, m in enumerate(methods):
            g = stats.loc[(f, m)].sort_index()
            x = np.r_[0.0, g.index.to_numpy(dtype=float)] * (1 + 0.01 * (j - len(methods) / 2))
            ax.errorbar(x, np.r_[y0, g["mean"]], yerr=[np.r_[y0 - lo0, g["mean"] - g["min"]],
                                                       np.r_[hi0 - y0, g["max"] - g["mean"]]],
                        marker="o", ms=3, capsize=2, lw=1, label=m)
        ax.set_title(f"train fraction {f:g}", fontsize=9)
        ax.set_xlabel("synthetic per real window (ratio)")
        if i == 0:
            ax.set_ylabel("test MAPE (%)")
    fig.axes[-1].legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=110)
    return path


def _report(result: StudyResult, pipeline, fig_paths: list[Path], out: Path, notes: Sequence[str],
            title: str | None) -> str:
    from wq.report.tables import markdown_table

    t = result.table
    lines = [f"# {title or f'wq augment: {pipeline.name}'}", ""]
    lines += ["## Answer", "", "Does any method lower the test MAPE against no augmentation (none), and does a learned "
              "generator do better than jitter?", ""]
    lines += [f"- {v}" for v in verdict(t)] or ["- no augmented rows"]
    lines += ["", "## Forecast errors", "",
              f"Model {t['model'].iloc[0]}; MAPE and pMAPE in %, averaged over the targets "
              f"({', '.join(pipeline.targets)}), means over the forecaster seeds ({t['seed'].nunique()}). "
              "delta: test MAPE minus none's with the same seed (mean, lowest, highest); seeds_lower: seeds in "
              "which it was lower; gate_kept: fits whose validation MAPE was below none's (what gate = true keeps).",
              ""]
    show = summary(t)[["method", "ratio", "train_fraction", "seeds", "val_MAPE", "test_MAPE", "test_pMAPE",
                       "delta_mean", "delta_min", "delta_max", "seeds_lower", "gate_kept"]]
    lines += [markdown_table(show), ""]
    q = t[(t["method"] != "none")].drop_duplicates(["method", "train_fraction"])
    if len(q):
        lines += ["## Quality of the synthetic windows", "",
                  "Scored against real validation-tail windows the generator never saw. Discriminative: 0 is ideal, "
                  "0.5 perfectly separable; TimeGAN reports " + ", ".join(f"{v:.2f} on its {k} data" for k, v in
                                                                          TIMEGAN_DISCRIMINATIVE.items())
                  + ". Predictive: MAE (scaled units) of a GRU trained on synthetic, tested on real; compare with "
                  "predictive_persistence. Generator time: training on one CPU thread.", ""]
        cols = ["method", "train_fraction", "discriminative", "predictive", "predictive_persistence", "wasserstein",
                "acf_difference", "generator_epochs", "generator_seconds"]
        lines += [markdown_table(q[cols].sort_values(["method", "train_fraction"])), ""]
    if fig_paths:
        lines += ["## Figures", ""]
        lines += [f"![{p.stem}]({p.relative_to(out).as_posix()})" for p in fig_paths]
        lines += [""]
    lines += ["## Notes", ""]
    lines += [f"- {n}" for n in [*result.notes, *notes]]
    lines += ["- Files: augmentation.csv (one row per method, ratio, train fraction and seed), "
              "augmentation_by_target.csv (test metrics per target)."]
    return "\n".join(lines) + "\n"


def augment_study(pipeline, out_dir: str | Path, *, data_path: str | Path | None = None, figures: bool = True,
                  progress: Progress = None, **kwargs: Any) -> tuple[StudyResult, dict[str, Path]]:
    """Load the pipeline's data, :func:`run_study` (``kwargs``) and :func:`write_study` into ``out_dir``.

    ``out_dir`` is checked before anything is fitted and written as a whole (:func:`wq.io.replace_dir`): an
    interrupted or failed study leaves the previous folder as it was."""
    from wq.io import check_output_dir, replace_dir
    from wq.run import load_frame

    out_dir = check_output_dir(out_dir)
    t0 = time.perf_counter()
    frame, mask, data_notes = load_frame(pipeline, data_path)
    result = run_study(pipeline, frame, observed_mask=mask, progress=progress, **kwargs)
    m = pipeline.model
    notes = [*(f"Data layer: {n}" for n in data_notes),
             f"Forecaster settings: epochs {m.epochs}, patience {m.patience}, lags {m.lags}, "
             f"horizon {m.horizon}; seed {pipeline.seed}.",
             f"Wall time of the study: {time.perf_counter() - t0:.0f} s."]
    with replace_dir(out_dir) as tmp:
        paths = write_study(result, tmp, pipeline, figures=figures, notes=notes)
    return result, {k: out_dir / p.relative_to(tmp) for k, p in paths.items()}
