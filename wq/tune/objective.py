"""The tuner's objective for a pipeline: mean validation error over rolling-origin folds inside the training part.

Issue 4, item 3: fitness = mean validation error (MAPE by default, any metric by name) over K rolling-origin
folds inside the training part, each fold refitting the preprocessing on its own training window
(:func:`wq.evaluate.backtest.evaluate_folds`). The test part is never seen: :class:`PipelineObjective` is given
the training rows only (rows before :func:`~wq.evaluate.backtest.split_point`), cut off by the caller.

Fitness of settings p with evaluation seed s::

    f(p, s) = mean over folds k and targets j of  e(y_kj, ŷ_kj(p, s))

where e is the metric if lower is better (MAPE, pMAPE, RMSE, MAE) and 1 − metric for the skill scores whose
perfect value is 1 (NSE, KGE, EVS, R), so that the tuner always minimises; a non-finite mean gives +inf (the
engine records such an individual as failed). Settings are nested pipeline names (``"model__lags"``,
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

from wq.config import Pipeline
from wq.errors import ConfigError
from wq.tune.space import Param, Space, default_space

HIGHER_IS_BETTER_LOSS = "1 - metric"
"""How a skill score (perfect value 1) becomes a loss: 1 − metric."""

# Evaluations in one process run one at a time: torch's RNG and thread count are process-global, so two
# evaluations in threads of one process (a thread-based Dask LocalCluster) would disturb each other's seeds.
# Worker processes (joblib/loky, Dask process workers) each have their own lock and run in parallel.
_PROCESS_LOCK = threading.Lock()

# Extra genes of the default space for tabular components (the neural ones come from default_space()).
_TABULAR_DEFAULTS = {
    "svr": (Param("model__epsilon", "log-float", 1e-3, 1e-1),),
    "hgb": (Param("model__learning_rate", "log-float", 0.01, 0.3),
            Param("model__max_leaf_nodes", "int", 7, 63),
            Param("model__l2_regularization", "float", 0.0, 1.0),
            Param("model__max_iter", "int", 100, 500)),
    "ols": (),  # ordinary least squares has no settings: only lags and preprocessing are tuned
}


# --- which settings exist -----------------------------------------------------------------------------------
def canonical(name: str) -> str:
    """A setting's nested name: ``"model.lags"`` and ``"model__lags"`` are both ``"model__lags"``."""
    return str(name).replace(".", "__")


def check_setting(pipeline: Pipeline, name: str) -> None:
    """Raise ConfigError unless ``name`` is a tunable setting of ``pipeline``
    (:meth:`wq.config.Pipeline.check_tunable`)."""
    pipeline.check_tunable(name)


# size: the default search space, one block per tunable table, with its notes
def pipeline_space(pipeline: Pipeline) -> tuple[Space, list[str]]:
    """The search space of a pipeline and notes on how it was chosen.

    ``[tune.space]`` when it declares settings (each checked with :func:`check_setting`), otherwise
    :func:`wq.tune.space.default_space` narrowed to what reaches the pipeline's model: wavelet genes only
    for dual (denoised + residual) models with a wavelet stage, PCA genes only for PC-driven models with a
    PCA stage, drivers and no fixed ``n_components``, the moving-average window only with that stage, and
    only the [model] settings the model's component uses and its recipe does not fix (the BP network's 20
    hidden units, the SVR's C); tabular models get their own genes (HGB: learning_rate, max_leaf_nodes,
    l2_regularization, max_iter; SVR: epsilon). With augmentation enabled, ``augment__ratio`` in [0, 1]
    is added. A model with nothing to tune (persistence, seasonal naive) raises ConfigError.
    """
    from wq.models.registry import RECIPES, tunable_keys

    declared = pipeline.tune.space
    if declared:
        space = Space.from_mapping(declared)
        for p in space:
            check_setting(pipeline, p.name)
        return space, [f"search space: [tune.space] of the pipeline ({space.dim} settings)"]
    name = pipeline.model_name
    if name not in RECIPES:
        raise ConfigError(f"model {name!r} has no settings to tune; set [model] name to a trained "
                          f"model or declare [tune.space]")
    recipe, used = RECIPES[name], set(tunable_keys(name))
    comp = recipe["component"]
    pre = pipeline.preprocess
    dropped: list[str] = []
    keep: list[Param] = []
    params = list(default_space())
    if comp["kind"] == "tabular":
        params = [p for p in params if p.name == "model__lags" or not p.name.startswith("model__")]
        params += list(_TABULAR_DEFAULTS[comp["estimator"]])
    for p in params:
        keys = p.name.split("__")
        reason = None
        if keys[0] == "model" and keys[1] != "lags" and keys[1] not in used:
            reason = f"fixed by the {name} recipe" if keys[1] in comp else f"not used by {name}"
        elif keys[:2] == ["preprocess", "wavelet"]:
            if recipe["parts"] != "dual":
                reason = f"{name} does not use the wavelet parts"
            elif pre.wavelet is None:
                reason = "no wavelet stage"
            elif pre.wavelet.method == "atrous" and keys[2] == "window":
                reason = "the à trous method has no window"
            elif pre.wavelet.mode != "causal" and keys[2] == "window":
                reason = "offline wavelet mode has no window"
        elif keys[:2] == ["preprocess", "pca"]:
            if recipe["driver_repr"] != "pcs":
                reason = f"{name} uses the raw drivers"
            elif pre.pca is None or not pipeline.drivers:
                reason = "no PCA stage or no drivers"
            elif pre.pca.n_components is not None:
                reason = "PCA has a fixed n_components"
        elif keys[:2] == ["preprocess", "moving_average"] and pre.moving_average is None:
            reason = "no moving-average stage"
        if reason is None:
            keep.append(p)
        else:
            dropped.append(f"{p.name} ({reason})")
    if pipeline.augment.method != "none":
        keep.append(Param("augment__ratio", "float", 0.0, 1.0))
    notes = [f"search space: default space for {name} ({len(keep)} settings)"]
    if dropped:
        notes.append("left out of the default space: " + "; ".join(dropped))
    return Space(tuple(keep)), notes


def current_settings(space: Space, pipeline: Pipeline) -> dict[str, Any] | None:
    """The pipeline's own values of the space's settings when every one is set and inside the space (so
    they can seed the search as one individual), else None."""
    params = pipeline.get_params()
    values: dict[str, Any] = {}
    for p in space:
        v = params.get(p.name)
        if v is None:
            return None
        values[p.name] = v
    try:
        return space.decode(space.encode(values))
    except ConfigError:
        return None


# --- applying settings ---------------------------------------------------------------------------------------
def apply_settings(pipeline: Pipeline, params: Mapping[str, Any]) -> tuple[Pipeline, list[str]]:
    """The pipeline with each decoded setting applied by its nested name, and notes on every adjustment of a
    dependent constraint: the causal wavelet level is clipped to pywt.dwt_max_level(window, wavelet)."""
    import pywt

    values = {canonical(k): (v.item() if isinstance(v, np.generic) else v) for k, v in params.items()}
    notes: list[str] = []
    current = pipeline.get_params()
    if current.get("preprocess__wavelet__method") == "dwt" and "preprocess__wavelet__mode" in current:
        get = lambda key: values.get(f"preprocess__wavelet__{key}", current[f"preprocess__wavelet__{key}"])  # noqa: E731
        if get("mode") == "causal":
            name, window, level = get("wavelet"), int(get("window")), int(get("level"))
            try:
                top = pywt.dwt_max_level(window, pywt.Wavelet(name).dec_len)
            except ValueError as exc:
                raise ConfigError(f"preprocess__wavelet__wavelet: {exc}") from None
            if top < 1:
                raise ConfigError(f"preprocess__wavelet__window {window} is too short for wavelet {name!r} "
                                  f"(pywt.dwt_max_level = 0)")
            if level > top:
                values["preprocess__wavelet__level"] = top
                notes.append(f"preprocess__wavelet__level {level} -> {top} (pywt.dwt_max_level({window}, {name!r}))")
    return pipeline.with_params(**values), notes


def effective_settings(space: Space, pipeline: Pipeline, params: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The settings an evaluation really used (after :func:`apply_settings`' adjustments) and the notes."""
    pipe, notes = apply_settings(pipeline, params)
    applied = pipe.get_params()
    return {n: applied[n] for n in space.names}, notes


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

    ``pipeline_table`` / ``base_dir``: the pipeline (``Pipeline.to_dict()`` and ``Pipeline.base_dir``); ``frame``:
    the TRAINING rows only (the caller cuts the test rows off before building the objective);
    ``model_name``: the tuned model (default: [model] name); ``folds``: K rolling-origin folds inside
    ``frame`` (:func:`wq.evaluate.backtest.evaluate_folds`, ``block`` rows each, default as there);
    ``metric``: any metric name; ``epochs``: maximum epochs during tuning (None or 0: [model] epochs);
    ``threads``: torch CPU threads during an evaluation (fixed, so 1 and N workers give identical results);
    ``observed_mask``: training rows x targets, True where observed (filled values are not scored);
    ``fidelity`` in (0, 1]: short training for screening (:mod:`wq.tune.fidelity`): ``fidelity`` times the
    epochs (at least 1) and the last ``fidelity`` of the first fold's training rows (at least the minimum
    training window), the validation blocks unchanged, so screening scores the same rows as full training.

    Each call copies the pipeline, applies the settings (:func:`apply_settings`), sets the pipeline seed
    and every RNG to ``seed`` (:func:`wq.seed.seed_everything`) and returns :func:`fitness_from_folds`.
    Top-level and holding only data, so it pickles to worker processes and Dask workers.
    """

    def __init__(self, pipeline_table: dict, base_dir: str | Path, frame: pd.DataFrame, model_name: str | None = None,
                 folds: int = 3, metric: str = "MAPE", epochs: int | None = None, block: int | None = None,
                 threads: int = 1, observed_mask: pd.DataFrame | None = None, fidelity: float = 1.0) -> None:
        self.pipeline_table = pipeline_table
        self.base_dir = base_dir
        self.frame = frame
        self.model_name = model_name
        self.folds = folds
        self.metric = metric
        self.epochs = epochs
        self.block = block
        self.threads = threads
        self.observed_mask = observed_mask
        self.fidelity = fidelity
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
        if isinstance(self.fidelity, bool) or not isinstance(self.fidelity, (int, float)) \
                or not 0.0 < float(self.fidelity) <= 1.0:
            raise ConfigError(f"tune fidelity must be in (0, 1], got {self.fidelity!r}")
        pipe = self.base_pipeline()
        n, h = len(self.frame), pipe.model.horizon
        block = self.block or max(h + 5, n // (2 * self.folds + 3))
        rolling_origin_splits(n, self.folds, block, max(60, 3 * pipe.model.lags))

    def _block(self) -> int:
        """Rows per validation fold (fixed by the full training rows, so screening scores the same blocks)."""
        pipe = self.base_pipeline()
        return self.block or max(pipe.model.horizon + 5, len(self.frame) // (2 * self.folds + 3))

    def screening(self, fidelity: float) -> "PipelineObjective":
        """The same objective with short training (``fidelity`` in (0, 1]; 1: a plain copy)."""
        return PipelineObjective(self.pipeline_table, self.base_dir, self.frame, self.model_name, folds=self.folds,
                                 metric=self.metric, epochs=self.epochs, block=self._block(), threads=self.threads,
                                 observed_mask=self.observed_mask, fidelity=float(fidelity))

    def _rows(self, pipe: Pipeline) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        """The rows evaluated: all of them, or at low fidelity the last ``fidelity`` of the first fold's
        training rows (never fewer than the minimum training window) and every validation block."""
        if self.fidelity >= 1.0:
            return self.frame, self.observed_mask
        first = len(self.frame) - self.folds * self._block()
        min_train = max(60, 3 * pipe.model.lags)
        cut = max(0, min(first - min_train, int(round(first * (1.0 - float(self.fidelity))))))
        mask = None if self.observed_mask is None else self.observed_mask.iloc[cut:]
        return self.frame.iloc[cut:], mask
        if pipe.augment.method != "none":
            try:
                from wq.augment.pipeline import augmenter_for_pipeline  # noqa: F401
            except ImportError as exc:
                raise ConfigError(f"[augment] method is set but augmentation cannot be tuned yet ({exc})") from None

    def base_pipeline(self) -> Pipeline:
        """The pipeline before any tuned setting (a fresh copy)."""
        return Pipeline.from_dict(copy.deepcopy(self.pipeline_table), None, Path(self.base_dir))

    def pipeline(self, params: Mapping[str, Any], seed: int | None = None) -> tuple[Pipeline, list[str]]:
        """The pipeline evaluated for ``params`` (tuning epochs and ``seed`` applied) and adjustment notes."""
        pipe, notes = apply_settings(self.base_pipeline(), params)
        extra: dict[str, Any] = {}
        epochs = int(self.epochs or 0)
        if self.fidelity < 1.0 and hasattr(pipe.model, "epochs"):
            epochs = max(1, int(round((epochs or pipe.model.epochs) * float(self.fidelity))))
        if epochs:
            extra["model__epochs"] = epochs
        if seed is not None:
            extra["seed"] = int(seed)
        return (pipe.with_params(**extra) if extra else pipe), notes

    def fold_metrics(self, params: Mapping[str, Any], seed: int) -> pd.DataFrame:
        """Every metric per fold and target (the rows :func:`fitness_from_folds` averages)."""
        import torch

        from wq.evaluate.backtest import evaluate_folds
        from wq.seed import seed_everything

        pipe, _ = self.pipeline(params, seed)
        augmenter_for = None
        if pipe.augment.method != "none":
            from wq.augment.pipeline import augmenter_for_pipeline

            augmenter_for = augmenter_for_pipeline(pipe, progress=None)
        with _PROCESS_LOCK:
            threads = torch.get_num_threads()
            torch.set_num_threads(int(self.threads))
            try:
                seed_everything(int(seed))
                frame, mask = self._rows(pipe)
                return evaluate_folds(pipe, frame, self.model_name or pipe.model_name, int(self.folds),
                                      block=self._block(), metric=self.metric, observed_mask=mask,
                                      augmenter_for=augmenter_for)
            finally:
                torch.set_num_threads(threads)

    def __call__(self, params: dict, seed: int) -> float:
        return fitness_from_folds(self.fold_metrics(params, seed), self.metric)

    def fingerprint(self) -> dict[str, Any]:
        """What the objective measures, as JSON: a SHA-256 of the pipeline (without the [tune] run controls)
        and of the training rows, with model, folds, metric, epochs, block and threads. A checkpoint made
        for another fingerprint is not resumed."""
        raw = copy.deepcopy(self.pipeline_table)
        for key in ("tune", "compare", "name", "description", "batch"):
            raw.pop(key, None)
        text = json.dumps(raw, sort_keys=True, default=str)
        data = pd.util.hash_pandas_object(self.frame, index=True).to_numpy()
        return {"pipeline_sha256": hashlib.sha256(text.encode()).hexdigest(),
                "training_rows_sha256": hashlib.sha256(data.tobytes()).hexdigest(),
                "training_rows": len(self.frame), "model": self.model_name or str(raw["model"]["name"]),
                "folds": int(self.folds), "metric": loss_of(self.metric)[0], "epochs": int(self.epochs or 0),
                **({"fidelity": float(self.fidelity)} if self.fidelity < 1.0 else {}),
                "block": self.block, "threads": int(self.threads)}
