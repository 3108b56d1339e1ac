"""The composition of the preprocessing stages (design.md, "Data flow": preprocess; docs/architecture.md).

Target path, each target column on its own: ``SigmaOutlierSmoother -> MovingAverage -> MinMaxScaling ->
WaveletDenoiser``. Driver path: ``[SigmaOutlierSmoother] -> MinMaxScaling -> DriverPCA``.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from wq.errors import ArtifactError, ConfigError, DataError
from wq.preprocess._base import STATE_VERSION, Estimator, NotFittedError, Stage, _jsonable, to_2d
from wq.preprocess.atrous import AtrousDenoiser
from wq.preprocess.outliers import SigmaOutlierSmoother
from wq.preprocess.pca import DriverPCA
from wq.preprocess.scaling import MinMaxScaling
from wq.preprocess.smoothing import MovingAverage
from wq.preprocess.wavelet import WaveletDenoiser


@dataclass
class Parts:
    """Outputs of :meth:`Preprocessor.transform`, all DataFrames on the transformed frame's index.

    - ``cleaned``: targets after outlier smoothing, original units, before the moving average;
    - ``clean``: after moving average and min-max scaling: what the model forecasts;
    - ``denoised``: wavelet-denoised ``clean`` (= ``clean`` without a wavelet stage);
    - ``residual``: ``clean - denoised`` (zeros without a wavelet stage);
    - ``drivers``: scaled drivers (outlier-smoothed first only with ``driver_outliers=True``);
    - ``pcs``: driver principal components pc1..pcK (= ``drivers`` without PCA; no columns without drivers).
    """

    cleaned: pd.DataFrame
    clean: pd.DataFrame
    denoised: pd.DataFrame
    residual: pd.DataFrame
    drivers: pd.DataFrame
    pcs: pd.DataFrame

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Parts):
            return NotImplemented
        return all(getattr(self, f.name).equals(getattr(other, f.name)) for f in fields(self))


_STAGES: dict[str, type[Stage]] = {
    "outliers_": SigmaOutlierSmoother,
    "moving_average_": MovingAverage,
    "scaler_": MinMaxScaling,
    "wavelet_": WaveletDenoiser,
    "driver_outliers_": SigmaOutlierSmoother,
    "driver_scaler_": MinMaxScaling,
    "pca_": DriverPCA,
}


def _stage(cls: type[Stage], settings: Any, option: str) -> Stage:
    if not isinstance(settings, Mapping):
        raise ConfigError(f"preprocess.{option} must be a table of settings or none, got {settings!r}")
    try:
        stage = cls(**dict(settings))
    except TypeError:
        allowed = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
        unknown = sorted(set(settings) - set(allowed))
        raise ConfigError(f"preprocess.{option}: unknown setting(s) {unknown}; allowed: {allowed}") from None
    stage._check_params()
    return stage


WAVELET_METHODS: dict[str, type[Stage]] = {"dwt": WaveletDenoiser, "atrous": AtrousDenoiser}


def _wavelet_stage(settings: Any) -> Stage:
    """The wavelet stage of the ``wavelet`` settings: ``method = "dwt"`` (default) -> :class:`WaveletDenoiser`,
    ``"atrous"`` -> :class:`AtrousDenoiser` (causal only; ``window`` is unused: its memory is L_J)."""
    if not isinstance(settings, Mapping):
        raise ConfigError(f"preprocess.wavelet must be a table of settings or none, got {settings!r}")
    rest = dict(settings)
    method = rest.pop("method", "dwt")
    if method not in WAVELET_METHODS:
        raise ConfigError(f"preprocess.wavelet.method must be one of {sorted(WAVELET_METHODS)}, got {method!r}")
    if method == "atrous":
        if rest.pop("mode", "causal") != "causal":
            raise ConfigError("preprocess.wavelet: method 'atrous' is causal only; the whole-series (leaky) "
                              "transform is method 'dwt' with mode 'offline'")
        rest.pop("window", None)
    return _stage(WAVELET_METHODS[method], rest, "wavelet")


class Preprocessor(Estimator):
    """Fit the preprocessing stages on the training frame and apply them, unchanged, to any later frame.

    Each option is a dict of the stage's constructor arguments, or None to skip the stage:
    ``outliers`` -> :class:`SigmaOutlierSmoother` (targets; also drivers when ``driver_outliers``),
    ``moving_average`` -> :class:`MovingAverage` (targets), ``scale`` -> :class:`MinMaxScaling`
    (targets and drivers), ``wavelet`` -> :class:`WaveletDenoiser` (targets; with ``method = "atrous"`` the
    causal stationary :class:`AtrousDenoiser`, whose boundary-affected first rows are :attr:`warmup_`),
    ``pca`` -> :class:`DriverPCA`.
    Drivers are not outlier-smoothed by default: rain and storm inflow extremes are real events, not
    sensor faults. Every stage is fitted on the training frame only (the input of each stage being the
    output of the previous one on the training frame).

    When ``causal`` (no centred moving average, no offline wavelet) the value of every part at t depends
    on the frame's rows <= t only, so train and test can be transformed in one call after fitting on train,
    and ``transform(frame)`` agrees with ``transform(frame.iloc[:t+1])`` up to row t. Frames passed to
    ``transform`` should start where the training frame started: the causal windows (moving average,
    wavelet, trailing outlier statistics) warm up from a frame's first row.
    """

    def __init__(
        self,
        outliers: dict | None = {"k": 3.0, "neighbours": 3},  # noqa: B006 - stored as given, never mutated
        moving_average: dict | None = {"window": 1},  # noqa: B006
        scale: bool = True,
        wavelet: dict | None = {"wavelet": "db4", "level": 2, "window": 64, "mode": "causal"},  # noqa: B006
        pca: dict | None = {"variance": 0.9},  # noqa: B006
        driver_outliers: bool = False,
    ):
        self.outliers = outliers
        self.moving_average = moving_average
        self.scale = scale
        self.wavelet = wavelet
        self.pca = pca
        self.driver_outliers = driver_outliers

    # ----- settings ---------------------------------------------------------------------------------
    def _build(self) -> dict[str, Stage | None]:
        """Unfitted stages from the settings (ConfigError on an unknown or invalid setting)."""
        for name in ("scale", "driver_outliers"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ConfigError(f"preprocess.{name} must be true or false, got {getattr(self, name)!r}")
        if self.driver_outliers and self.outliers is None:
            raise ConfigError("preprocess.driver_outliers = true needs preprocess.outliers settings")
        opt = lambda cls, s, name: None if s is None else _stage(cls, s, name)  # noqa: E731
        return {
            "outliers_": opt(SigmaOutlierSmoother, self.outliers, "outliers"),
            "moving_average_": opt(MovingAverage, self.moving_average, "moving_average"),
            "scaler_": MinMaxScaling() if self.scale else None,
            "wavelet_": None if self.wavelet is None else _wavelet_stage(self.wavelet),
            "driver_outliers_": opt(SigmaOutlierSmoother, self.outliers, "outliers") if self.driver_outliers else None,
            "driver_scaler_": MinMaxScaling() if self.scale else None,
            "pca_": opt(DriverPCA, self.pca, "pca"),
        }

    @property
    def causal(self) -> bool:
        """False when any stage reads the future (centred moving average or offline wavelet)."""
        stages = [getattr(self, "moving_average_", None), getattr(self, "wavelet_", None)]
        if not hasattr(self, "targets_"):
            stages = [self._build()[n] for n in ("moving_average_", "wavelet_")]
        return all(s is None or s.causal for s in stages)

    @property
    def warmup_(self) -> int:
        """Rows at the start of a transformed frame whose parts are boundary-affected and must not be fitted
        on: the à trous stage's L_J (:attr:`AtrousDenoiser.warmup_`), else 0 (the other causal stages' start
        effects, e.g. the trailing DWT's padded first windows, are not counted)."""
        self._check_fitted()
        return int(getattr(self.wavelet_, "warmup_", 0)) if self.wavelet_ is not None else 0

    # ----- fit / transform ----------------------------------------------------------------------------
    @staticmethod
    def _columns(frame: pd.DataFrame, cols: Sequence[str], what: str) -> pd.DataFrame:
        """The float64 ``cols`` of ``frame``; DataError naming missing columns, ValueError for NaN."""
        if not isinstance(frame, pd.DataFrame):
            raise DataError(f"Preprocessor: expected a DataFrame, got {type(frame).__name__}")
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise DataError(f"Preprocessor: {what} column(s) {missing} not in the frame (columns: {list(frame.columns)})")
        sub = frame.loc[:, list(cols)]
        arr, _ = to_2d(sub, f"Preprocessor {what}s")
        return pd.DataFrame(arr, index=frame.index, columns=list(cols))

    def fit(self, frame: pd.DataFrame, targets: Sequence[str], drivers: Sequence[str] = ()) -> Preprocessor:
        """Fit every stage on the training ``frame`` (train only: never pass test rows here)."""
        if isinstance(targets, str) or isinstance(drivers, str):
            raise ConfigError("Preprocessor.fit: targets and drivers are lists of column names")
        targets, drivers = [str(c) for c in targets], [str(c) for c in drivers]
        if not targets:
            raise ConfigError("Preprocessor.fit: at least one target column is needed")
        both = sorted(set(targets) & set(drivers))
        if both:
            raise ConfigError(f"Preprocessor.fit: column(s) {both} are both target and driver")
        stages = self._build()
        y = self._columns(frame, targets, "target")
        x = self._columns(frame, drivers, "driver")
        for name in ("outliers_", "moving_average_", "scaler_"):
            if stages[name] is not None:
                y = stages[name].fit(y).transform(y)
        if stages["wavelet_"] is not None:
            stages["wavelet_"].fit(y)
        if drivers:
            for name in ("driver_outliers_", "driver_scaler_", "pca_"):
                if stages[name] is not None:
                    x = stages[name].fit(x).transform(x)
        else:
            stages["driver_outliers_"] = stages["driver_scaler_"] = stages["pca_"] = None
        for name, stage in stages.items():
            setattr(self, name, stage)
        self.targets_, self.drivers_ = targets, drivers
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "targets_"):
            raise NotFittedError("Preprocessor is not fitted: call fit on the training frame first")

    def transform(self, frame: pd.DataFrame) -> Parts:
        """Apply the fitted stages (no refit) to ``frame``; returns :class:`Parts` on ``frame.index``."""
        self._check_fitted()
        y = self._columns(frame, self.targets_, "target")
        x = self._columns(frame, self.drivers_, "driver")
        cleaned = self.outliers_.transform(y) if self.outliers_ is not None else y.copy()
        clean = cleaned
        for stage in (self.moving_average_, self.scaler_):
            if stage is not None:
                clean = stage.transform(clean)
        clean = clean.copy() if clean is cleaned else clean
        if self.wavelet_ is not None:
            denoised, residual = self.wavelet_.transform_parts(clean)
        else:
            denoised, residual = clean.copy(), pd.DataFrame(0.0, index=clean.index, columns=clean.columns)
        if self.drivers_:
            for stage in (self.driver_outliers_, self.driver_scaler_):
                if stage is not None:
                    x = stage.transform(x)
            pcs = self.pca_.transform(x) if self.pca_ is not None else x.copy()
        else:
            pcs = x.copy()
        return Parts(cleaned=cleaned, clean=clean, denoised=denoised, residual=residual, drivers=x, pcs=pcs)

    def fit_transform(self, frame: pd.DataFrame, targets: Sequence[str], drivers: Sequence[str] = ()) -> Parts:
        """``fit(frame, targets, drivers).transform(frame)``."""
        return self.fit(frame, targets, drivers).transform(frame)

    def inverse_target(self, pred: np.ndarray, parts: Parts, origins: np.ndarray) -> np.ndarray:
        """Forecasts of ``clean`` (scaled moving average) back to original units.

        ``pred`` (N, h, k) forecasts at origins t (positions in ``parts``' index) for t+1..t+h, k targets.
        Inverse min-max, then :meth:`MovingAverage.inverse_forecast` with the known values
        ``parts.cleaned`` at t-n+2..t (so origins must be >= window-2). Returns (N, h, k) in original units.
        """
        self._check_fitted()
        pred = np.asarray(pred, dtype=np.float64)
        k = len(self.targets_)
        if pred.ndim != 3 or pred.shape[2] != k:
            raise ValueError(f"Preprocessor.inverse_target: pred must be (N, h, {k}), got shape {pred.shape}")
        origins = np.asarray(origins)
        if origins.ndim != 1 or origins.shape[0] != pred.shape[0] or not np.issubdtype(origins.dtype, np.integer):
            raise ValueError(f"Preprocessor.inverse_target: origins must be {pred.shape[0]} integer positions")
        out = pred
        if self.scaler_ is not None:
            s = self.scaler_
            out = out * (s.data_max_ - s.data_min_) + s.data_min_
        ma = self.moving_average_
        if ma is not None and int(ma.window) > 1:
            n = int(ma.window)
            cleaned = parts.cleaned.loc[:, self.targets_].to_numpy(dtype=np.float64)
            bad = (origins < n - 2) | (origins >= cleaned.shape[0])
            if bad.any():
                raise ValueError(
                    f"Preprocessor.inverse_target: origin {int(origins[bad][0])} out of range: the moving average of "
                    f"window {n} needs the {n - 1} cleaned values up to the origin (origins {n - 2}..{cleaned.shape[0] - 1})"
                )
            past = cleaned[origins[:, None] + np.arange(-(n - 2), 1)]  # (N, n-1, k)
            out = ma.inverse_forecast(out, past)
        return np.array(out, dtype=np.float64, copy=True)

    # ----- JSON state ------------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """The whole fitted composition as a JSON-serialisable dict."""
        self._check_fitted()
        return {
            "class": "Preprocessor",
            "version": STATE_VERSION,
            "params": _jsonable(self.get_params()),
            "targets": list(self.targets_),
            "drivers": list(self.drivers_),
            "stages": {name: (None if getattr(self, name) is None else getattr(self, name).get_state()) for name in _STAGES},
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Preprocessor:
        """Rebuild a fitted Preprocessor from :meth:`get_state` output (ArtifactError when malformed)."""
        if not isinstance(state, dict) or state.get("class") != "Preprocessor":
            raise ArtifactError("state is not a Preprocessor state")
        if state.get("version") != STATE_VERSION:
            raise ArtifactError(f"Preprocessor state version {state.get('version')!r}, expected {STATE_VERSION}")
        try:
            obj = cls(**state["params"])
            stages = state["stages"]
            targets, drivers = list(state["targets"]), list(state["drivers"])
            missing = set(_STAGES) - set(stages)
        except (KeyError, TypeError) as exc:
            raise ArtifactError(f"Preprocessor state is malformed: {exc}") from None
        if missing:
            raise ArtifactError(f"Preprocessor state: missing stages {sorted(missing)}")
        for name, stage_cls in _STAGES.items():
            if name == "wavelet_" and isinstance(obj.wavelet, Mapping):  # the class the settings name
                stage_cls = WAVELET_METHODS.get(obj.wavelet.get("method", "dwt"), stage_cls)
            setattr(obj, name, None if stages[name] is None else stage_cls.from_state(stages[name]))
        obj.targets_, obj.drivers_ = targets, drivers
        return obj
