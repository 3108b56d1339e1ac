"""The bridge from the window generators to wq's forecasters: ``[augment]`` of a pipeline -> augmenters.

A windowed forecaster (:class:`wq.models.windowed.WindowForecaster`) builds its real training sequences
``S_train`` (N, lags + horizon, C) from the *fitting* part of its training frame only (the training frame less
its validation tail), after preprocessing fitted on that part; channels are the target parts, the driver
representation and the calendar of the target days. An augmenter is called once per fit with ``S_train`` and
returns synthetic sequences (M, lags + horizon, C), which the forecaster appends to the training windows of
every component. The calendar channels (and known-future drivers) are passed as ``condition``: generators
produce the other channels conditioned on them and copy them from real windows (:mod:`wq.augment.base`).
Validation windows (early stopping) and the test period never reach an augmenter: it sees
nothing but the ``S_train`` it is given.

:class:`WindowAugmenter` does this with one generator of :mod:`wq.augment` (``make_generator(method)``):

* fit the generator on ``S_train`` with seed ``s`` and draw ``M = round(ratio * N)`` windows with seed ``s + 1``,
  where ``s = pipeline seed + [augment] seed_offset``: the same sequences and seed always give the same
  synthetic windows;
* fitted generators are cached by a SHA-256 of ``S_train`` (and the method), so models that share their
  channels (dwt-pca-lstm, dwt-pca-rnn, dwt-pca-bp, dwt-pca-svm) and ratios that share a generator train it once.

Gate (``[augment] gate = true``): the synthetic windows are kept only if they lower the forecaster's
validation MAPE (its validation tail, never the test part). :func:`fit_with_gate` fits the model with and
without them and keeps the better one (ties keep the real-only fit). A gated augmenter refuses to be called by
a plain ``model.fit``, so a caller that does not gate cannot silently ignore ``gate = true``.

Pipeline settings (``[augment]``): ``method`` ("none", "gan", "wgan", "wgan-gp", "vae", "jitter", "scaling",
"resample"),
``ratio`` (synthetic per real window, >= 0; 0 switches augmentation off), ``gate``, ``epochs`` (generator
epochs, 0 = the generator's default), ``seed_offset``, and, once the configuration knows it, ``settings``
(generator constructor arguments by method, e.g. ``{ "wgan-gp" = { lr = 1e-3 } }``).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from wq.errors import ConfigError

__all__ = [
    "METHODS",
    "LEARNED",
    "AugmentSettings",
    "WindowAugmenter",
    "augmenter_for_pipeline",
    "fit_with_gate",
    "validation_mape",
    "generator_settings",
]

METHODS = ("gan", "wgan", "wgan-gp", "vae", "jitter", "scaling", "resample")
"""Generators an ``[augment] method`` may name (besides "none"). "resample" draws real fitting windows again,
unchanged (jitter with sigma = 0): the control that adds optimizer steps but no new information."""

_GENERATOR = {"resample": ("jitter", {"sigma": 0.0})}
"""Methods that are another generator with fixed settings: method -> (generator name, settings)."""

LEARNED = ("gan", "wgan", "wgan-gp", "vae")
"""Generators that train (and take ``epochs``); the others perturb resampled real windows."""

Progress = Callable[[str], None] | None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def generator_settings(method: str, epochs: int = 0, settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Constructor arguments of ``method``'s generator: ``settings`` plus ``epochs`` when > 0 (learned methods
    only; jitter and scaling have no epochs). Checked by building the generator: unknown methods or settings
    raise :class:`ConfigError` listing the valid ones."""
    from wq.augment.registry import make_generator

    name, fixed = _GENERATOR.get(method, (method, {}))
    given = dict(settings or {})
    clash = sorted(set(given) & set(fixed))
    if clash:
        raise ConfigError(f"augmentation method {method!r} fixes {', '.join(clash)}; use {name!r} to set it")
    out = {**given, **fixed}
    if epochs and method in LEARNED:
        out["epochs"] = int(epochs)
    gen = make_generator(name, **out)  # unknown method / setting -> ConfigError
    gen._validate_settings()  # bad values -> ConfigError now, not after the forecaster's preprocessing
    return out


def _generator_name(method: str) -> str:
    return _GENERATOR.get(method, (method, {}))[0]


@dataclass
class AugmentSettings:
    """The ``[augment]`` table of a pipeline, validated. ``seed`` = pipeline seed + seed_offset."""

    method: str = "none"
    ratio: float = 0.0
    gate: bool = False
    epochs: int = 0
    seed: int = 0
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return self.method != "none" and self.ratio > 0

    @classmethod
    def from_pipeline(cls, pipeline) -> "AugmentSettings":
        """The pipeline's ``[augment]`` table (checked when the pipeline loaded: :class:`wq.config.AugmentParams`)
        with ``seed`` = pipeline seed + seed_offset."""
        a = pipeline.augment
        seed = int(pipeline.seed) + int(a.seed_offset)
        if seed < 0:
            raise ConfigError(f"[augment] seed + seed_offset must be >= 0, got {seed}")
        return cls(a.method, float(a.ratio), a.gate, int(a.epochs), seed, {k: dict(v) for k, v in a.settings.items()})


def _fingerprint(S: np.ndarray) -> str:
    h = hashlib.sha256(np.ascontiguousarray(S, dtype=np.float64).tobytes())
    h.update(repr(S.shape).encode())
    return h.hexdigest()


class WindowAugmenter:
    """``augmenter(S_train) -> synthetic`` with one generator of :mod:`wq.augment` (the forecasters' Augmenter).

    ``S_train`` (N, L, C) are the real fitting sequences of one model fit; the result has
    ``M = floor(ratio * N + 1/2)`` windows of the same shape (float64), drawn from ``make_generator(method,
    **settings)`` fitted on ``S_train`` with ``seed`` and sampled with ``seed + 1`` (clipped to the range of
    ``S_train`` per channel, as every generator). ``cache`` (a dict, shareable between augmenters) keeps fitted
    generators by a SHA-256 of ``S_train`` and the method. ``gate=True`` marks the augmenter for
    :func:`fit_with_gate`; calling it from anywhere else raises :class:`ConfigError`.

    Recorded per call in ``calls_``: ``n_real``, ``n_synthetic``, ``fingerprint``, ``cached``,
    ``generator_seconds`` (training time, 0 when cached), ``sample_seconds``. ``generator_`` is the last
    generator used; ``decisions_`` holds :func:`fit_with_gate`'s choices.
    """

    def __init__(self, method: str, ratio: float, seed: int = 0, epochs: int = 0,
                 settings: Mapping[str, Any] | None = None, gate: bool = False, progress: Progress = None,
                 label: str = "", cache: dict | None = None) -> None:
        self.method = method
        self.ratio = ratio
        self.seed = seed
        self.epochs = epochs
        self.settings = settings
        self.gate = gate
        self.progress = progress
        self.label = label
        self.cache = {} if cache is None else cache
        if method not in METHODS:
            raise ConfigError(f"augmentation method must be one of {', '.join(METHODS)}, got {method!r}")
        if not _is_number(ratio) or not np.isfinite(ratio) or ratio < 0:
            raise ConfigError(f"augmentation ratio must be a number >= 0, got {ratio!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ConfigError(f"augmentation seed must be an integer >= 0, got {seed!r}")
        self._settings = generator_settings(method, epochs, settings)
        self.calls_: list[dict[str, Any]] = []
        self.decisions_: list[dict[str, Any]] = []
        self._gating = False

    def n_synthetic(self, n_real: int) -> int:
        """M = round(ratio * N) synthetic windows for N real ones, halves rounded up (floor(ratio * N + 1/2))."""
        return int(np.floor(float(self.ratio) * int(n_real) + 0.5))

    def fit_generator(self, S_train: np.ndarray, condition: Sequence[int] = ()):
        """The generator fitted on ``S_train`` conditioned on the ``condition`` channels (from the cache when the
        same sequences were seen) and whether it came from the cache."""
        from wq.augment.registry import make_generator

        condition = [int(c) for c in condition]
        key = (self.method, tuple(sorted(self._settings.items(), key=lambda kv: kv[0])).__repr__(),
               int(self.seed), _fingerprint(S_train), tuple(condition))
        if key in self.cache:
            return self.cache[key], True
        if self.progress:
            self.progress(f"augment {self.label}: training {self.method} on {len(S_train)} real windows "
                          f"{tuple(S_train.shape[1:])}")
        t0 = time.perf_counter()
        gen = make_generator(_generator_name(self.method), **self._settings)
        gen.fit(S_train, seed=int(self.seed), condition=condition)
        gen.train_seconds_ = time.perf_counter() - t0
        self.cache[key] = gen
        return gen, False

    def __call__(self, S_train: np.ndarray, condition: Sequence[int] = ()) -> np.ndarray:
        """Synthetic sequences for the real ``S_train``; ``condition`` (the calendar and known-future channels) are
        copied from real windows and never generated."""
        if self.gate and not self._gating:
            raise ConfigError("[augment] gate = true: this caller fits the model directly, so the gate would be "
                              "ignored; fit through wq.augment.pipeline.fit_with_gate (or set gate = false)")
        S = np.asarray(S_train, dtype=np.float64)
        if S.ndim != 3:
            raise ValueError(f"augmenter expects sequences (N, L, C), got shape {S.shape}")
        m = self.n_synthetic(len(S))
        if m == 0 or len(S) < 2:
            self.calls_.append({"n_real": len(S), "n_synthetic": 0, "fingerprint": _fingerprint(S), "cached": False,
                                "generator_seconds": 0.0, "sample_seconds": 0.0})
            return np.empty((0, *S.shape[1:]))
        gen, cached = self.fit_generator(S, condition)
        t0 = time.perf_counter()
        synth = gen.sample(m, seed=int(self.seed) + 1).astype(np.float64)
        self.generator_ = gen
        self.calls_.append({"n_real": len(S), "n_synthetic": m, "fingerprint": _fingerprint(S), "cached": cached,
                            "generator_seconds": 0.0 if cached else float(gen.train_seconds_),
                            "sample_seconds": time.perf_counter() - t0})
        return synth

    def fit_model(self, model, train: pd.DataFrame, val_fraction: float, progress: Progress = None,
                  observed_mask: pd.DataFrame | None = None):
        """Fit ``model`` with this augmenter's synthetic windows: through :func:`fit_with_gate` when gated (the
        protocol :func:`wq.evaluate.backtest` calls, so evaluation need not know about augmentation)."""
        if self.gate:
            return fit_with_gate(model, train, val_fraction, self, progress=progress, observed_mask=observed_mask)
        return model.fit(train, val_fraction=val_fraction, progress=progress, augment=self)

    @contextlib.contextmanager
    def gating(self) -> Iterator["WindowAugmenter"]:
        """Allow calls of a gated augmenter (used by :func:`fit_with_gate`)."""
        previous, self._gating = self._gating, True
        try:
            yield self
        finally:
            self._gating = previous

    def __repr__(self) -> str:
        return (f"WindowAugmenter(method={self.method!r}, ratio={self.ratio!r}, seed={self.seed!r}, "
                f"epochs={self.epochs!r}, gate={self.gate!r})")


def augmenter_for_pipeline(pipeline, progress: Progress = None) -> Callable[[str], WindowAugmenter | None]:
    """``augmenter_for(model_name) -> WindowAugmenter | None`` for ``pipeline``'s ``[augment]`` table.

    None when augmentation is off (method "none" or ratio 0) and for the naive models (persistence, seasonal
    naive), which learn nothing from windows. All augmenters of one call share a generator cache. Settings are
    checked here: a bad ``[augment]`` table raises :class:`ConfigError` before any model is fitted.
    """
    from wq.models.registry import NAIVE

    cfg = AugmentSettings.from_pipeline(pipeline)
    cache: dict = {}

    def augmenter_for(model_name: str) -> WindowAugmenter | None:
        if not cfg.enabled or model_name in NAIVE:
            return None
        return WindowAugmenter(cfg.method, cfg.ratio, seed=cfg.seed, epochs=cfg.epochs,
                               settings=cfg.settings.get(cfg.method), gate=cfg.gate, progress=progress,
                               label=model_name, cache=cache)

    augmenter_for.settings = cfg  # type: ignore[attr-defined]
    return augmenter_for


def validation_mape(model, train: pd.DataFrame, observed_mask: pd.DataFrame | None = None,
                    q: float = 0.9) -> tuple[float, float]:
    """(MAPE, pMAPE) of a fitted windowed model on its validation tail, in original units, averaged over targets
    and steps (:func:`wq.evaluate.backtest.validation_scores`)."""
    from wq.evaluate.backtest import validation_scores

    m = validation_scores(model, train, observed_mask, q=q)
    return float(m["MAPE"].mean()), float(m["pMAPE"].mean())


def fit_with_gate(model, train: pd.DataFrame, val_fraction: float, augment: WindowAugmenter,
                  progress: Progress = None, observed_mask: pd.DataFrame | None = None):
    """Fit ``model`` on ``train`` with and without ``augment``'s synthetic windows; keep the fit with the lower
    validation MAPE (:func:`validation_mape`, the model's validation tail; the test part is not in ``train``).

    The synthetic windows are kept only if they strictly lower the validation MAPE. ``model`` (unfitted) ends up
    holding the chosen fit and is returned; the decision (``val_MAPE_with``, ``val_MAPE_without``, ``kept``,
    ``n_synthetic``) is appended to ``augment.decisions_``.
    """
    plain = copy.deepcopy(model)
    plain.fit(train, val_fraction=val_fraction, progress=progress)
    without, _ = validation_mape(plain, train, observed_mask)
    with augment.gating():
        model.fit(train, val_fraction=val_fraction, progress=progress, augment=augment)
    with_, _ = validation_mape(model, train, observed_mask)
    kept = bool(with_ < without)
    n_synth = int(getattr(model, "augmented_", 0))
    if not kept:
        model.__dict__.update(plain.__dict__)
    decision = {"model": getattr(model, "name", ""), "val_MAPE_with": with_, "val_MAPE_without": without,
                "kept": kept, "n_synthetic": n_synth}
    augment.decisions_.append(decision)
    if progress:
        progress(f"augment gate {decision['model']}: validation MAPE {with_:.3f} with {n_synth} synthetic windows, "
                 f"{without:.3f} without -> {'kept' if kept else 'dropped'}")
    return model
