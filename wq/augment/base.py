"""The contract every generator of synthetic training windows follows (the registry of generators by name is
:mod:`wq.augment.registry`).

Data contract: real windows are a float array ``W`` of shape ``(N, L, F)`` -- N windows of L consecutive
time steps (lags + horizon) of F channels, already min-max scaled on the training part only. A generator
learns their distribution in :meth:`WindowGenerator.fit` and draws new windows of the same shape in
:meth:`WindowGenerator.sample`. It sees nothing but the windows it is given: the caller guarantees they
come from the training part.

Conditioning: ``fit(W, seed, condition=[...])`` names channels the generator must not generate -- the
calendar of each step (day-of-year / day-of-week sine and cosine, holidays) and, optionally, known-future
drivers. They are kept as given: :meth:`WindowGenerator.sample` draws real training windows at random
(seeded), copies their conditioning channels unchanged into the synthetic windows, and the generator
produces the other channels (targets, drivers) conditioned on them (RCGAN, Esteban et al. 2017).

Output clipping: every sample is clipped to the per-channel ``[data_min_, data_max_]`` of the windows seen
in ``fit``, so synthetic windows never leave the range of the training data, also after the caller's
inverse scaling (min-max scaling is monotone per channel).

Persistence: :meth:`WindowGenerator.save` writes ``generator.json`` (method, settings, fitted numbers,
loss curves) and ``weights.pt`` (``torch.save`` of a dict of tensors); :func:`wq.augment.registry.load_generator` reads
them back with ``torch.load(weights_only=True)``, so loading never runs code from the file.
"""

from __future__ import annotations

import inspect
import json
import math
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np

from wq.errors import ArtifactError, ConfigError, DataError, NotFittedError

__all__ = [
    "WindowGenerator",
    "NotFittedError",
    "check_windows",
    "read_generator_files",
]

FORMAT_VERSION = 2
CONFIG_FILE = "generator.json"
WEIGHTS_FILE = "weights.pt"
COND_KEY = "_condition_windows"


def _check_channels(condition: Any, F: int) -> list[int]:
    items = list(condition) if isinstance(condition, (list, tuple, np.ndarray, range)) else None
    if items is None or not all(isinstance(c, (int, np.integer)) and not isinstance(c, bool) and -F <= c < F
                                for c in items):
        raise ConfigError(f"condition must be channel indices in [-{F}, {F}), got {condition!r}")
    return [int(c) for c in items]


def check_windows(W: Any, name: str = "W", min_windows: int = 1) -> np.ndarray:
    """Validate real windows and return them as a C-contiguous float32 array of shape (N, L, F).

    Raises :class:`wq.errors.DataError` naming the argument, and the window, step and channel of the first
    non-finite value.
    """
    try:
        X = np.asarray(W, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name}: windows must be a numeric array of shape (N, L, F): {exc}") from exc
    if X.ndim != 3:
        raise DataError(f"{name}: windows must have shape (N, L, F), got {X.ndim} dimension(s) {X.shape}")
    if X.shape[0] < min_windows or X.shape[1] < 1 or X.shape[2] < 1:
        raise DataError(f"{name}: need at least {min_windows} window(s) with L >= 1 and F >= 1, got shape {X.shape}")
    bad = ~np.isfinite(X)
    if bad.any():
        i, t, f = (int(v) for v in np.argwhere(bad)[0])
        raise DataError(
            f"{name}: {int(bad.sum())} non-finite value(s); first at window {i}, step {t}, channel {f} "
            f"(value {X[i, t, f]!r})"
        )
    return np.ascontiguousarray(X)


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_float(name: str, value: Any, minimum: float = 0.0, strict: bool = True) -> float:
    ok = isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool)
    if ok:
        value = float(value)
        ok = math.isfinite(value) and (value > minimum if strict else value >= minimum)
    if not ok:
        rel = ">" if strict else ">="
        raise ConfigError(f"{name} must be a finite number {rel} {minimum}, got {value!r}")
    return value


def _check_fraction(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ConfigError(f"{name} must be a number in [0, 1), got {value!r}")
    return float(value)


class WindowGenerator(ABC):
    """Learns the distribution of windows ``(N, L, F)`` and samples new ones of the same shape.

    Subclasses implement ``_fit(X, seed)``, ``_sample(n, seed) -> ndarray (n, L, F)``, ``_tensors()`` and
    ``_set_tensors(tensors)``; this class validates input, records the per-channel range, clips samples
    to it, and saves / loads. Learned attributes (after ``fit``): ``window_shape_`` (L, F), ``data_min_``
    and ``data_max_`` (F,), ``history_`` (loss name -> one value per epoch).
    """

    method: ClassVar[str] = ""

    # -- interface -------------------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """Constructor arguments as given (JSON-serialisable), like scikit-learn's ``get_params``."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        config = {name: getattr(self, name) for name in names}
        return json.loads(json.dumps(config))  # tuples -> lists, and fail loudly on non-JSON values

    def fit(self, W: np.ndarray, seed: int = 0, condition: Sequence[int] = ()) -> "WindowGenerator":
        """Learn the distribution of the real windows ``W`` (N, L, F); deterministic for a seed.

        ``condition``: indices of the conditioning channels (e.g. the calendar), copied from real windows when
        sampling and never generated; the generator learns the other channels given them.
        """
        X = check_windows(W, "W", min_windows=2)
        seed = _check_int("seed", seed, 0)
        self._validate_settings()
        F = int(X.shape[2])
        cond = sorted({int(c) % F for c in _check_channels(condition, F)})
        if len(cond) == F:
            raise ConfigError(f"condition names all {F} channels: nothing is left to generate")
        self.condition_ = cond
        self.free_ = [c for c in range(F) if c not in cond]
        self.cond_windows_ = np.ascontiguousarray(X[:, :, cond])
        self.window_shape_ = (int(X.shape[1]), F)
        self.data_min_ = X.min(axis=(0, 1)).astype(np.float32)
        self.data_max_ = X.max(axis=(0, 1)).astype(np.float32)
        self.history_: dict[str, list[float]] = {}
        self._fit(X, seed)
        for key, values in self.history_.items():
            if not all(math.isfinite(v) for v in values):
                raise ConfigError(
                    f"{self.method}: training diverged (non-finite {key!r} loss); try a lower learning rate"
                )
        return self

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """Draw ``n`` synthetic windows, float32 of shape (n, L, F), clipped to the fitted per-channel range.

        The same fitted generator and seed always give the same windows. Conditioning channels are copied
        unchanged from real training windows drawn uniformly with replacement (indices from ``seed``).
        """
        self._check_fitted()
        n = _check_int("n", n, 1)
        seed = _check_int("seed", seed, 0)
        idx = np.random.default_rng(seed).integers(0, len(self.cond_windows_), size=n)
        out = np.asarray(self._sample(n, seed, idx), dtype=np.float32)
        if out.shape != (n, *self.window_shape_):
            raise AssertionError(f"{type(self).__name__} sampled shape {out.shape}")  # a bug, not bad input
        out = np.clip(out, self.data_min_, self.data_max_)
        out[:, :, self.condition_] = self.cond_windows_[idx]
        return out

    # -- state ----------------------------------------------------------------------------------------------
    def get_state(self, include_tensors: bool = True) -> dict[str, Any]:
        """Fitted state as JSON-serialisable numbers and lists (tensors as nested lists when asked)."""
        self._check_fitted()
        state: dict[str, Any] = {
            "format": FORMAT_VERSION,
            "method": self.method,
            "config": self.get_config(),
            "window_shape": list(self.window_shape_),
            "data_min": self.data_min_.tolist(),
            "data_max": self.data_max_.tolist(),
            "condition": list(self.condition_),
            "history": {k: [float(v) for v in vals] for k, vals in self.history_.items()},
            "extra": self._extra_state(),
        }
        if include_tensors:
            state["tensors"] = {k: v.detach().cpu().tolist() for k, v in self._all_tensors().items()}
        return state

    def _restore(self, state: dict[str, Any], tensors: dict[str, Any] | None = None) -> "WindowGenerator":
        """Set the fitted numbers of ``state`` (from :meth:`get_state`) on this freshly built generator; used by
        :func:`wq.augment.registry.generator_from_state`, which builds the generator the state names."""
        import torch

        try:
            L, F = (int(v) for v in state["window_shape"])
            self.window_shape_ = (L, F)
            self.data_min_ = np.asarray(state["data_min"], dtype=np.float32).reshape(F)
            self.data_max_ = np.asarray(state["data_max"], dtype=np.float32).reshape(F)
            self.history_ = {str(k): [float(v) for v in vals] for k, vals in state["history"].items()}
            self.condition_ = sorted(int(c) for c in state.get("condition", []))
            self.free_ = [c for c in range(F) if c not in self.condition_]
            self._set_extra_state(state.get("extra", {}))
            if tensors is None:
                if "tensors" not in state:
                    raise ArtifactError("generator state: no tensors given")
                tensors = {k: torch.tensor(v, dtype=torch.float32) for k, v in state["tensors"].items()}
            tensors = dict(tensors)
            cw = tensors.pop(COND_KEY).detach().cpu().to(torch.float32).numpy()
            if cw.ndim != 3 or cw.shape[1:] != (L, len(self.condition_)) or len(cw) < 1:
                raise ValueError(f"stored conditioning windows have shape {cw.shape}")
            self.cond_windows_ = np.ascontiguousarray(cw)
            self._set_tensors(tensors)
        except ArtifactError:
            raise
        except (ConfigError, KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise ArtifactError(f"generator state is invalid or incompatible: {exc}") from exc
        return self

    def save(self, directory: str | Path) -> Path:
        """Write ``generator.json`` (state without tensors) and ``weights.pt`` (tensors) into ``directory``."""
        import torch

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        state = self.get_state(include_tensors=False)
        tensors = {k: v.detach().cpu().contiguous() for k, v in self._all_tensors().items()}
        torch.save(tensors, directory / WEIGHTS_FILE)
        (directory / CONFIG_FILE).write_text(json.dumps(state, indent=1), encoding="utf-8")
        return directory


    def _all_tensors(self) -> dict[str, Any]:
        import torch

        return {**self._tensors(), COND_KEY: torch.from_numpy(np.ascontiguousarray(self.cond_windows_))}

    # -- hooks for subclasses ---------------------------------------------------------------------------
    def _validate_settings(self) -> None:  # noqa: B027 (an optional hook: a no-op unless overridden)
        """Check constructor arguments; raise ConfigError. Called at the start of fit."""

    @abstractmethod
    def _fit(self, X: np.ndarray, seed: int) -> None: ...

    @abstractmethod
    def _sample(self, n: int, seed: int, idx: np.ndarray) -> np.ndarray:
        """``n`` windows (n, L, F); ``idx`` are the real windows whose conditioning channels (``cond_windows_[idx]``)
        the sample must be conditioned on (the caller copies them over the conditioning channels)."""

    @abstractmethod
    def _tensors(self) -> dict[str, Any]:
        """Learned tensors (torch) to save."""

    @abstractmethod
    def _set_tensors(self, tensors: dict[str, Any]) -> None: ...

    def _extra_state(self) -> dict[str, Any]:
        """Further fitted numbers (JSON) a subclass needs to sample."""
        return {}

    def _set_extra_state(self, extra: dict[str, Any]) -> None:  # noqa: B027 (optional hook)
        """Restore what :meth:`_extra_state` returned (nothing by default)."""

    # -- helpers --------------------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "data_min_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit(W, seed) first")

    def _scale_unit(self, X: np.ndarray) -> np.ndarray:
        """Map each channel from [data_min_, data_max_] to [-1, 1] (a constant channel maps to -1)."""
        span = np.where(self.data_max_ > self.data_min_, self.data_max_ - self.data_min_, 1.0)
        return (2.0 * (X - self.data_min_) / span - 1.0).astype(np.float32)

    def _unscale_unit(self, Z: np.ndarray) -> np.ndarray:
        span = np.where(self.data_max_ > self.data_min_, self.data_max_ - self.data_min_, 1.0)
        return ((Z + 1.0) * 0.5 * span + self.data_min_).astype(np.float32)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def read_generator_files(directory: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The state and tensors a generator's :meth:`WindowGenerator.save` wrote; weights are read with
    ``torch.load(weights_only=True)``, so reading never runs code from the file."""
    import torch

    directory = Path(directory)
    cfg, wts = directory / CONFIG_FILE, directory / WEIGHTS_FILE
    for path in (cfg, wts):
        if not path.is_file():
            raise ArtifactError(f"{path}: missing generator file")
    try:
        state = json.loads(cfg.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{cfg}: not a readable generator file: {exc}") from exc
    try:
        tensors = torch.load(wts, map_location="cpu", weights_only=True)
    except Exception as exc:  # the unpickler raises many types; all mean "not a weights file"
        from wq.models.base import torch_refusal

        raise ArtifactError(f"{wts}: cannot be loaded as weights (weights_only=True): {torch_refusal(exc)}") from None
    if not isinstance(state, dict):
        raise ArtifactError(f"{cfg}: not a generator file (a JSON object is expected)")
    if not isinstance(tensors, dict) or not all(isinstance(v, torch.Tensor) for v in tensors.values()):
        raise ArtifactError(f"{wts}: expected a dict of tensors")
    return state, tensors
