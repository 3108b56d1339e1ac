"""The tuner's objective for a pipeline: mean validation error over rolling-origin folds inside the training part.

Issue 4, item 3: fitness = mean validation error (MAPE by default, any metric by name) over K rolling-origin
folds inside the training part, each fold refitting the preprocessing on its own training window
(:func:`wq.evaluate.backtest.evaluate_folds`). The test part is never seen: :class:`PipelineObjective` is given
the training rows only (rows before :func:`~wq.evaluate.backtest.split_point`), cut off by the caller.

Fitness of settings p with evaluation seed s::

    f(p, s) = mean over folds k and targets j of  e(y_kj, ŷ_kj(p, s))

where e is the metric if lower is better (MAPE, pMAPE, RMSE, MAE) and 1 − metric for the skill scores whose
perfect value is 1 (NSE, KGE, EVS, R), so that the tuner always minimises; a non-finite mean gives +inf (the
engine records such an individual as failed). Settings are dotted pipeline paths (``"model.lags"``,
``"preprocess.wavelet.wavelet"``); only ``model.*``, ``preprocess.*`` and ``augment.*`` may be tuned
(tuning ``split`` or ``data`` would move the test rows).

Dependent constraint: the causal wavelet level J must satisfy J <= pywt.dwt_max_level(window, wavelet). A
decoded level above it is clipped to that maximum (:func:`apply_settings` returns a note saying so, and the
command records the effective settings); a window too short for even level 1 raises ConfigError, which the
engine records as a failed individual.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wq.config import DEFAULTS, PREPROCESS_KEYS, Pipeline
from wq.errors import ConfigError
from wq.tune.space import Param, Space, default_space

TUNABLE_SECTIONS = ("model", "preprocess", "augment")
"""Top-level pipeline sections whose settings may be tuned."""

HIGHER_IS_BETTER_LOSS = "1 - metric"
"""How a skill score (perfect value 1) becomes a loss: 1 − metric."""

# Evaluations in one process run one at a time: torch's RNG and thread count are process-global, so two
# evaluations in threads of one process (a thread-based Dask LocalCluster) would disturb each other's seeds.
# Worker processes (joblib/loky, Dask process workers) each have their own lock and run in parallel.
_PROCESS_LOCK = threading.Lock()

# Extra genes of the default space for tabular components (the neural ones come from default_space()).
_TABULAR_DEFAULTS = {
    "svr": (Param("model.epsilon", "log-float", 1e-3, 1e-1),),
    "hgb": (Param("model.learning_rate", "log-float", 0.01, 0.3),
            Param("model.max_leaf_nodes", "int", 7, 63),
            Param("model.l2_regularization", "float", 0.0, 1.0),
            Param("model.max_iter", "int", 100, 500)),
}


# --- which settings exist -----------------------------------------------------------------------------------
def check_setting(pipeline: Pipeline, name: str) -> None:
    """Raise ConfigError unless ``name`` is a tunable setting of ``pipeline``: ``model.<key>`` with a key of
    :data:`wq.config.DEFAULTS`' [model], ``preprocess.<stage>.<key>`` of an enabled stage (keys of
    :data:`wq.config.PREPROCESS_KEYS`), ``preprocess.scale`` / ``preprocess.driver_outliers``, or
    ``augment.<key>``."""
    where = f"[tune.space] {name!r}"
    keys = name.split(".")
    if keys[0] not in TUNABLE_SECTIONS:
        raise ConfigError(f"{where}: only model.*, preprocess.* and augment.* settings can be tuned "
                          f"(tuning {keys[0]!r} could move the test rows or change what is measured)")
    if keys[0] in ("model", "augment"):
        if len(keys) != 2 or keys[1] not in DEFAULTS[keys[0]]:
            raise ConfigError(f"{where}: not a setting; [{keys[0]}] has {', '.join(sorted(DEFAULTS[keys[0]]))}")
        if name == "model.name":
            raise ConfigError(f"{where}: the model is fixed while tuning; tune each model in its own run")
        return
    if len(keys) == 2 and keys[1] in ("scale", "driver_outliers"):
        return
    if len(keys) != 3 or keys[1] not in PREPROCESS_KEYS or keys[2] not in PREPROCESS_KEYS[keys[1]]:
        valid = [f"preprocess.{s}.{k}" for s, ks in PREPROCESS_KEYS.items() for k in sorted(ks)]
        raise ConfigError(f"{where}: not a preprocessing setting; valid: {', '.join(valid)}")
    if pipeline.raw["preprocess"][keys[1]] is None:
        raise ConfigError(f"{where}: the pipeline has no {keys[1]} stage ([preprocess] {keys[1]} = false); "
                          f"enable it or drop this setting")


def _recipe(model_name: str) -> dict | None:
    from wq.models.registry import NAIVE, RECIPES

    if model_name in NAIVE:
        return None
    return RECIPES[model_name]


def pipeline_space(pipeline: Pipeline) -> tuple[Space, list[str]]:
    """The search space of a pipeline and notes on how it was chosen.

    ``[tune.space]`` when it declares settings (each checked with :func:`check_setting`), otherwise
    :func:`wq.tune.space.default_space` narrowed to what reaches the pipeline's model: wavelet genes only
    for dual (denoised + residual) models with a wavelet stage, PCA genes only for PC-driven models with a
    PCA stage, drivers and no fixed ``n_components``, the moving-average window only with that stage, and
    only the [model] settings the model's component uses and its recipe does not fix (the BP network's 20
    hidden units, the SVR's C); tabular models get their own genes (HGB: learning_rate, max_leaf_nodes,
    l2_regularization, max_iter; SVR: epsilon). With augmentation enabled, ``augment.ratio`` in [0, 1]
    is added. A model with nothing to tune (persistence, seasonal naive) raises ConfigError.
    """
    declared = pipeline.raw["tune"].get("space") or {}
    if declared:
        space = Space.from_mapping(declared)
        for p in space:
            check_setting(pipeline, p.name)
        return space, [f"search space: [tune.space] of the pipeline ({space.dim} settings)"]
    recipe = _recipe(pipeline.model_name)
    if recipe is None:
        raise ConfigError(f"model {pipeline.model_name!r} has no settings to tune; set [model] name to a trained "
                          f"model or declare [tune.space]")
    from wq.models.registry import NEURAL_KEYS, TABULAR_KEYS

    comp = recipe["component"]
    used = NEURAL_KEYS if comp["kind"] == "neural" else TABULAR_KEYS
    pre = pipeline.raw["preprocess"]
    dropped: list[str] = []
    keep: list[Param] = []
    params = list(default_space())
    if comp["kind"] == "tabular":
        params = [p for p in params if p.name == "model.lags" or not p.name.startswith("model.")]
        params += list(_TABULAR_DEFAULTS[comp["estimator"]])
    for p in params:
        keys = p.name.split(".")
        reason = None
        if keys[0] == "model" and keys[1] != "lags" and (keys[1] not in used or keys[1] in comp):
            reason = f"not used by {pipeline.model_name}" if keys[1] not in used else \
                f"fixed by the {pipeline.model_name} recipe"
        elif keys[:2] == ["preprocess", "wavelet"]:
            if recipe["parts"] != "dual":
                reason = f"{pipeline.model_name} does not use the wavelet parts"
            elif pre["wavelet"] is None:
                reason = "no wavelet stage"
            elif pre["wavelet"].get("mode", "causal") != "causal" and keys[2] == "window":
                reason = "offline wavelet mode has no window"
            elif pre["wavelet"].get("method") == "atrous" and keys[2] == "window":
                reason = "the à trous method has no window"
        elif keys[:2] == ["preprocess", "pca"]:
            if recipe["driver_repr"] != "pcs":
                reason = f"{pipeline.model_name} uses the raw drivers"
            elif pre["pca"] is None or not pipeline.drivers:
                reason = "no PCA stage or no drivers"
            elif pre["pca"].get("n_components") is not None:
                reason = "PCA has a fixed n_components"
        elif keys[:2] == ["preprocess", "moving_average"] and pre["moving_average"] is None:
            reason = "no moving-average stage"
        if reason is None:
            keep.append(p)
        else:
            dropped.append(f"{p.name} ({reason})")
    if pipeline.raw["augment"].get("method") not in (None, "", "none"):
        keep.append(Param("augment.ratio", "float", 0.0, 1.0))
    notes = [f"search space: default space for {pipeline.model_name} ({len(keep)} settings)"]
    if dropped:
        notes.append("left out of the default space: " + "; ".join(dropped))
    return Space(tuple(keep)), notes


def current_settings(space: Space, pipeline: Pipeline) -> dict[str, Any] | None:
    """The pipeline's own values of the space's settings when every one is set and inside the space (so
    they can seed the search as one individual), else None."""
    values: dict[str, Any] = {}
    for p in space:
        v = pipeline.get(p.name)
        if v is None:
            return None
        values[p.name] = v
    try:
        return space.decode(space.encode(values))
    except ConfigError:
        return None


# --- applying settings ---------------------------------------------------------------------------------------
def apply_settings(pipeline: Pipeline, params: Mapping[str, Any]) -> list[str]:
    """Set each decoded setting by its dotted name (in place), then enforce dependent constraints; returns
    notes on every adjustment. The causal wavelet level is clipped to pywt.dwt_max_level(window, wavelet)."""
    import pywt

    for name, value in params.items():
        pipeline.set(name, value.item() if isinstance(value, np.generic) else value)
    notes: list[str] = []
    wav = pipeline.raw["preprocess"].get("wavelet")
    if wav is not None and wav.get("mode", "causal") == "causal" and wav.get("method", "dwt") == "dwt":
        defaults = DEFAULTS["preprocess"]["wavelet"]
        name = wav.get("wavelet", defaults["wavelet"])
        window = int(wav.get("window", defaults["window"]))
        level = int(wav.get("level", defaults["level"]))
        try:
            top = pywt.dwt_max_level(window, pywt.Wavelet(name).dec_len)
        except ValueError as exc:
            raise ConfigError(f"preprocess.wavelet.wavelet: {exc}") from None
        if top < 1:
            raise ConfigError(f"preprocess.wavelet.window {window} is too short for wavelet {name!r} "
                              f"(pywt.dwt_max_level = 0)")
        if level > top:
            wav["level"] = top
            notes.append(f"preprocess.wavelet.level {level} -> {top} (pywt.dwt_max_level({window}, {name!r}))")
    return notes


def effective_settings(space: Space, pipeline: Pipeline, params: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The settings an evaluation really used (after :func:`apply_settings`' adjustments) and the notes."""
    pipe = pipeline.copy()
    notes = apply_settings(pipe, params)
    return {n: pipe.get(n) for n in space.names}, notes


def loss_of(metric: str) -> tuple[str, bool]:
    """Canonical metric name and whether it is used as is (True) or as 1 − metric (False)."""
    from wq.evaluate.metrics import LOWER_IS_BETTER, canonical_name

    name = canonical_name(metric)
    return name, bool(LOWER_IS_BETTER[name])


def fitness_from_folds(folds: pd.DataFrame, metric: str) -> float:
    """Mean of the metric (or 1 − metric for skill scores) over every fold and target; non-finite -> +inf."""
    name, lower = loss_of(metric)
    values = folds[name].to_numpy(dtype=float)
    if not lower:
        values = 1.0 - values
    value = float(np.mean(values)) if values.size else math.nan
    return value if math.isfinite(value) else math.inf


# --- the objective -------------------------------------------------------------------------------------------
class PipelineObjective:
    """``objective(params, seed) -> float``: the fitness of decoded settings on the training part.

    ``pipeline_raw`` / ``base_dir``: the pipeline (``Pipeline.raw`` and ``Pipeline.base_dir``); ``frame``:
    the TRAINING rows only (the caller cuts the test rows off before building the objective);
    ``model_name``: the tuned model (default: [model] name); ``folds``: K rolling-origin folds inside
    ``frame`` (:func:`wq.evaluate.backtest.evaluate_folds`, ``block`` rows each, default as there);
    ``metric``: any metric name; ``epochs``: maximum epochs during tuning (None or 0: [model] epochs);
    ``threads``: torch CPU threads during an evaluation (fixed, so 1 and N workers give identical results);
    ``observed_mask``: training rows x targets, True where observed (filled values are not scored).

    Each call copies the pipeline, applies the settings (:func:`apply_settings`), sets the pipeline seed
    and every RNG to ``seed`` (:func:`wq.seed.seed_everything`) and returns :func:`fitness_from_folds`.
    Top-level and holding only data, so it pickles to worker processes and Dask workers.
    """

    def __init__(self, pipeline_raw: dict, base_dir: str | Path, frame: pd.DataFrame, model_name: str | None = None,
                 folds: int = 3, metric: str = "MAPE", epochs: int | None = None, block: int | None = None,
                 threads: int = 1, observed_mask: pd.DataFrame | None = None) -> None:
        self.pipeline_raw = pipeline_raw
        self.base_dir = base_dir
        self.frame = frame
        self.model_name = model_name
        self.folds = folds
        self.metric = metric
        self.epochs = epochs
        self.block = block
        self.threads = threads
        self.observed_mask = observed_mask
        self._check()

    def _check(self) -> None:
        from wq.evaluate.backtest import rolling_origin_splits

        loss_of(self.metric)
        if isinstance(self.folds, bool) or not isinstance(self.folds, int) or self.folds < 1:
            raise ConfigError(f"tune folds must be a positive integer, got {self.folds!r}")
        if self.epochs is not None and (isinstance(self.epochs, bool) or not isinstance(self.epochs, int)
                                        or self.epochs < 0):
            raise ConfigError(f"tune epochs must be an integer >= 0 (0: the model's epochs), got {self.epochs!r}")
        if isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 1:
            raise ConfigError(f"tune threads must be a positive integer, got {self.threads!r}")
        if not isinstance(self.frame, pd.DataFrame) or not isinstance(self.frame.index, pd.DatetimeIndex):
            raise ConfigError("PipelineObjective needs the training rows as a DataFrame with a DatetimeIndex")
        pipe = self.base_pipeline()
        n, h = len(self.frame), pipe.raw["model"]["horizon"]
        block = self.block or max(h + 5, n // (2 * self.folds + 3))
        rolling_origin_splits(n, self.folds, block, max(60, 3 * pipe.raw["model"]["lags"]))
        if pipe.raw["augment"].get("method") not in (None, "", "none"):
            try:
                from wq.augment.pipeline import augmenter_for_pipeline  # noqa: F401
            except ImportError as exc:
                raise ConfigError(f"[augment] method is set but augmentation cannot be tuned yet ({exc})") from None

    def base_pipeline(self) -> Pipeline:
        """The pipeline before any tuned setting (a fresh copy)."""
        return Pipeline(copy.deepcopy(self.pipeline_raw), None, Path(self.base_dir))

    def pipeline(self, params: Mapping[str, Any], seed: int | None = None) -> tuple[Pipeline, list[str]]:
        """The pipeline evaluated for ``params`` (tuning epochs and ``seed`` applied) and adjustment notes."""
        pipe = self.base_pipeline()
        notes = apply_settings(pipe, params)
        if self.epochs:
            pipe.raw["model"]["epochs"] = int(self.epochs)
        if seed is not None:
            pipe.raw["seed"] = int(seed)
        pipe.validate()
        return pipe, notes

    def fold_metrics(self, params: Mapping[str, Any], seed: int) -> pd.DataFrame:
        """Every metric per fold and target (the rows :func:`fitness_from_folds` averages)."""
        import torch

        from wq.evaluate.backtest import evaluate_folds
        from wq.seed import seed_everything

        pipe, _ = self.pipeline(params, seed)
        augmenter_for = None
        if pipe.raw["augment"].get("method") not in (None, "", "none"):
            from wq.augment.pipeline import augmenter_for_pipeline

            augmenter_for = augmenter_for_pipeline(pipe, progress=None)
        with _PROCESS_LOCK:
            threads = torch.get_num_threads()
            torch.set_num_threads(int(self.threads))
            try:
                seed_everything(int(seed))
                return evaluate_folds(pipe, self.frame, self.model_name or pipe.model_name, int(self.folds),
                                      block=self.block, metric=self.metric, observed_mask=self.observed_mask,
                                      augmenter_for=augmenter_for)
            finally:
                torch.set_num_threads(threads)

    def __call__(self, params: dict, seed: int) -> float:
        return fitness_from_folds(self.fold_metrics(params, seed), self.metric)

    def fingerprint(self) -> dict[str, Any]:
        """What the objective measures, as JSON: a SHA-256 of the pipeline (without the [tune] run controls)
        and of the training rows, with model, folds, metric, epochs, block and threads. A checkpoint made
        for another fingerprint is not resumed."""
        raw = copy.deepcopy(self.pipeline_raw)
        for key in ("tune", "compare", "name", "description", "batch"):
            raw.pop(key, None)
        text = json.dumps(raw, sort_keys=True, default=str)
        data = pd.util.hash_pandas_object(self.frame, index=True).to_numpy()
        return {"pipeline_sha256": hashlib.sha256(text.encode()).hexdigest(),
                "training_rows_sha256": hashlib.sha256(data.tobytes()).hexdigest(),
                "training_rows": len(self.frame), "model": self.model_name or str(raw["model"]["name"]),
                "folds": int(self.folds), "metric": loss_of(self.metric)[0], "epochs": int(self.epochs or 0),
                "block": self.block, "threads": int(self.threads)}
