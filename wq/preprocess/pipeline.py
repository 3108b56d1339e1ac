# size: the preprocessing composition with its settings table and the Parts it returns
"""The composition of the preprocessing stages (docs/architecture.md).

Target path, each target column on its own: ``SigmaOutlierSmoother -> MovingAverage -> MinMaxScaling ->
WaveletDenoiser``. Driver path: ``[SigmaOutlierSmoother] -> MinMaxScaling -> DriverPCA``. Known-future driver
columns (:mod:`wq.data.future`: the value for t+s as known at t, on row t): ``MinMaxScaling`` only, each column
on its own (no PCA: they are the target steps' own inputs, not a summary of the past).

Missing values (NaN, gaps kept by the data layer) pass through every stage causally: stages are fitted on the
observed values, and a value is NaN wherever the input window it depends on holds a NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import Discriminator, Tag, field_validator, model_validator

from wq.errors import ArtifactError, ConfigError, DataError
from wq.estimator import Estimator, Params
from wq.preprocess._base import STATE_VERSION, Stage, _jsonable, to_2d
from wq.preprocess.atrous import AtrousDenoiser, AtrousParams
from wq.preprocess.outliers import OutlierParams, SigmaOutlierSmoother
from wq.preprocess.pca import DriverPCA, PCAParams
from wq.preprocess.scaling import MinMaxScaling
from wq.preprocess.smoothing import MovingAverage, MovingAverageParams
from wq.preprocess.wavelet import WaveletDenoiser, WaveletParams


@dataclass
class Parts:
    """Outputs of :meth:`Preprocessor.transform`, all DataFrames on the transformed frame's index.

    - ``smoothed``: targets after outlier smoothing, original units, before the moving average;
    - ``scaled``: ``smoothed`` after the moving average and min-max scaling: what the model forecasts;
    - ``denoised``: wavelet-denoised ``scaled`` (= ``scaled`` without a wavelet stage);
    - ``residual``: ``scaled - denoised`` (zeros without a wavelet stage);
    - ``drivers``: scaled drivers (outlier-smoothed first only with ``driver_outliers=True``);
    - ``pcs``: driver principal components pc1..pcK (= ``drivers`` without PCA; no columns without drivers);
    - ``future``: the scaled known-future driver columns (no columns without them).
    """

    smoothed: pd.DataFrame
    scaled: pd.DataFrame
    denoised: pd.DataFrame
    residual: pd.DataFrame
    drivers: pd.DataFrame
    pcs: pd.DataFrame
    future: pd.DataFrame = field(default_factory=pd.DataFrame)

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
    "future_scaler_": MinMaxScaling,
}
_OPTIONAL_STAGES = ("future_scaler_",)  # absent from states saved before known-future drivers


_TARGET_STAGES = ("outliers", "moving_average", "wavelet")
_DRIVER_STAGES = ("pca",)


class DWTSettings(WaveletParams):
    """``[preprocess] wavelet`` with ``method = "dwt"`` (the default): :class:`WaveletDenoiser`."""

    method: Literal["dwt"] = "dwt"


class AtrousSettings(AtrousParams):
    """``[preprocess] wavelet`` with ``method = "atrous"``: the causal stationary :class:`AtrousDenoiser`."""

    method: Literal["atrous"]

    @model_validator(mode="before")
    @classmethod
    def _causal_only(cls, values: Any) -> Any:
        if isinstance(values, dict) and values.get("mode", "causal") != "causal":
            raise ValueError("method 'atrous' is causal only; the whole-series (leaky) transform is method "
                             "'dwt' with mode 'offline'")
        if isinstance(values, dict) and "window" in values:
            raise ValueError("method 'atrous' has no window (its memory is the boundary length L_J); remove "
                             "window, or use method 'dwt'")
        return {k: v for k, v in values.items() if k != "mode"} if isinstance(values, dict) else values


def _wavelet_method(value: Any) -> str:
    return value.get("method", "dwt") if isinstance(value, dict) else getattr(value, "method", "dwt")


WaveletTable = Annotated[Annotated[DWTSettings, Tag("dwt")] | Annotated[AtrousSettings, Tag("atrous")],
                         Discriminator(_wavelet_method)]
"""The wavelet table: its ``method`` key picks the stage (and its settings)."""
WAVELET_METHODS: dict[str, type[Stage]] = {"dwt": WaveletDenoiser, "atrous": AtrousDenoiser}
_DEFAULT_TABLES = {"outliers": OutlierParams, "moving_average": MovingAverageParams, "wavelet": DWTSettings,
                   "pca": PCAParams}


class PreprocessParams(Params):
    """The pipeline's ``[preprocess]`` table: each stage's settings, or ``false`` to leave the stage out
    (``true`` or ``{}``: the stage with its default settings). Defaults: 3σ outlier smoothing, a moving
    average of window 1 (the identity: present so that the tuner can widen it), min-max scaling, causal
    wavelet denoising, PCA of the drivers; drivers are not outlier-smoothed (rain and storm inflow extremes
    are real events, not sensor faults)."""

    outliers: OutlierParams | None = OutlierParams()
    moving_average: MovingAverageParams | None = MovingAverageParams(window=1)
    scale: bool = True
    wavelet: WaveletTable | None = DWTSettings()
    pca: PCAParams | None = PCAParams()
    driver_outliers: bool = False

    @field_validator("outliers", "moving_average", "wavelet", "pca", mode="before")
    @classmethod
    def _switch(cls, value: Any, info: Any) -> Any:
        if value is False:
            return None
        if value is True:
            return _DEFAULT_TABLES[info.field_name]()
        return value

    @model_validator(mode="after")
    def _driver_outliers_need_outliers(self) -> "PreprocessParams":
        if self.driver_outliers and self.outliers is None:
            raise ValueError("driver_outliers = true needs the outliers stage ([preprocess] outliers)")
        return self

    def build(self) -> "Preprocessor":
        """The unfitted :class:`Preprocessor` of these settings."""
        def stage(cls: type[Stage], p: Params | None) -> Stage | None:
            return None if p is None else cls(**p.model_dump(exclude={"method"}))

        wavelet = None if self.wavelet is None else stage(WAVELET_METHODS[self.wavelet.method], self.wavelet)
        return Preprocessor(outliers=stage(SigmaOutlierSmoother, self.outliers),
                            moving_average=stage(MovingAverage, self.moving_average), scale=self.scale,
                            wavelet=wavelet, pca=stage(DriverPCA, self.pca), driver_outliers=self.driver_outliers)


def _clone(stage: Stage | None) -> Stage | None:
    return None if stage is None else type(stage)(**stage.get_params(deep=False))


class Preprocessor(Estimator):
    """Fit the preprocessing stages on the training frame and apply them, unchanged, to any later frame.

    Each stage parameter is an unfitted stage object, or None to leave the stage out: ``outliers`` ->
    :class:`SigmaOutlierSmoother` (targets; also drivers when ``driver_outliers``), ``moving_average`` ->
    :class:`MovingAverage` (targets), ``scale`` -> :class:`MinMaxScaling` (targets and drivers), ``wavelet``
    -> :class:`WaveletDenoiser` (targets), ``pca`` -> :class:`DriverPCA`. ``fit`` fits a copy of each
    (``outliers_``, ``wavelet_``, ...) on the training frame only, the input of each stage being the output of
    the previous one on the training frame. The pipeline's defaults: :class:`PreprocessParams`
    (``PreprocessParams().build()``); nested parameters as ``wavelet__level``.

    When ``causal`` (no centred moving average, no offline wavelet) the value of every part at t depends
    on the frame's rows <= t only, so train and test can be transformed in one call after fitting on train,
    and ``transform(frame)`` agrees with ``transform(frame.iloc[:t+1])`` up to row t. Frames passed to
    ``transform`` should start where the training frame started: the causal windows (moving average,
    wavelet, trailing outlier statistics) warm up from a frame's first row.
    """

    def __init__(self, outliers: SigmaOutlierSmoother | None = None, moving_average: MovingAverage | None = None,
                 scale: bool = True, wavelet: WaveletDenoiser | None = None, pca: DriverPCA | None = None,
                 driver_outliers: bool = False):
        self.outliers = outliers
        self.moving_average = moving_average
        self.scale = scale
        self.wavelet = wavelet
        self.pca = pca
        self.driver_outliers = driver_outliers

    # ----- settings ---------------------------------------------------------------------------------
    def _build(self) -> dict[str, Stage | None]:
        """Unfitted copies of the stages (ConfigError on a wrong type or an invalid setting)."""
        expected = {"outliers": (SigmaOutlierSmoother,), "moving_average": (MovingAverage,),
                    "wavelet": tuple(WAVELET_METHODS.values()), "pca": (DriverPCA,)}
        for name, classes in expected.items():
            value = getattr(self, name)
            if value is not None and not isinstance(value, classes):
                names = " or ".join(c.__name__ for c in classes)
                raise ConfigError(f"Preprocessor: {name} must be a {names} or None, got {value!r}")
            if value is not None:
                value.check_params()
        for name in ("scale", "driver_outliers"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ConfigError(f"preprocess.{name} must be true or false, got {getattr(self, name)!r}")
        if self.driver_outliers and self.outliers is None:
            raise ConfigError("preprocess.driver_outliers = true needs preprocess.outliers settings")
        return {
            "outliers_": _clone(self.outliers),
            "moving_average_": _clone(self.moving_average),
            "scaler_": MinMaxScaling() if self.scale else None,
            "wavelet_": _clone(self.wavelet),
            "driver_outliers_": _clone(self.outliers) if self.driver_outliers else None,
            "driver_scaler_": MinMaxScaling() if self.scale else None,
            "pca_": _clone(self.pca),
            "future_scaler_": MinMaxScaling() if self.scale else None,
        }

    @property
    def warmup_(self) -> int:
        """Rows at the start of a transformed frame whose parts are boundary-affected and must not be fitted
        on: the à trous stage's L_J (:attr:`AtrousDenoiser.warmup_`), else 0 (the other causal stages' start
        effects, e.g. the trailing DWT's padded first windows, are not counted)."""
        self._check_fitted()
        return int(getattr(self.wavelet_, "warmup_", 0)) if self.wavelet_ is not None else 0

    @property
    def causal(self) -> bool:
        """False when any stage reads the future (centred moving average or offline wavelet)."""
        stages = [getattr(self, "moving_average_", None), getattr(self, "wavelet_", None)]
        if not hasattr(self, "targets_"):
            stages = [self._build()[n] for n in ("moving_average_", "wavelet_")]
        return all(s is None or s.causal for s in stages)

    # ----- fit / transform ----------------------------------------------------------------------------
    @staticmethod
    def _columns(frame: pd.DataFrame, cols: Sequence[str], what: str) -> pd.DataFrame:
        """The float64 ``cols`` of ``frame`` (NaN: missing); DataError naming missing columns, InputError for inf."""
        if not isinstance(frame, pd.DataFrame):
            raise DataError(f"Preprocessor: expected a DataFrame, got {type(frame).__name__}")
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise DataError(f"Preprocessor: {what} column(s) {missing} not in the frame (columns: {list(frame.columns)})")
        sub = frame.loc[:, list(cols)]
        arr, _ = to_2d(sub, f"Preprocessor {what}s")
        return pd.DataFrame(arr, index=frame.index, columns=list(cols))

    def fit(self, frame: pd.DataFrame, targets: Sequence[str], drivers: Sequence[str] = (),
            future: Sequence[str] = ()) -> Preprocessor:
        """Fit every stage on the training ``frame`` (train only: never pass test rows here). ``future``:
        known-future driver columns (scaled only)."""
        if isinstance(targets, str) or isinstance(drivers, str) or isinstance(future, str):
            raise ConfigError("Preprocessor.fit: targets, drivers and future are lists of column names")
        targets, drivers, future = [str(c) for c in targets], [str(c) for c in drivers], [str(c) for c in future]
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
        if future and stages["future_scaler_"] is not None:
            stages["future_scaler_"].fit(self._columns(frame, future, "known-future driver"))
        else:
            stages["future_scaler_"] = None
        for name, stage in stages.items():
            setattr(self, name, stage)
        self.targets_, self.drivers_, self.future_ = targets, drivers, future
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "targets_")

    def _check_fitted(self) -> None:
        self.check_fitted()

    def transform(self, frame: pd.DataFrame) -> Parts:
        """Apply the fitted stages (no refit) to ``frame``; returns :class:`Parts` on ``frame.index``."""
        self._check_fitted()
        y = self._columns(frame, self.targets_, "target")
        x = self._columns(frame, self.drivers_, "driver")
        smoothed = self.outliers_.transform(y) if self.outliers_ is not None else y.copy()
        scaled = smoothed
        for stage in (self.moving_average_, self.scaler_):
            if stage is not None:
                scaled = stage.transform(scaled)
        scaled = scaled.copy() if scaled is smoothed else scaled
        if self.wavelet_ is not None:
            denoised, residual = self.wavelet_.transform_parts(scaled)
        else:
            denoised, residual = scaled.copy(), pd.DataFrame(0.0, index=scaled.index, columns=scaled.columns)
        if self.drivers_:
            for stage in (self.driver_outliers_, self.driver_scaler_):
                if stage is not None:
                    x = stage.transform(x)
            pcs = self.pca_.transform(x) if self.pca_ is not None else x.copy()
        else:
            pcs = x.copy()
        future = self._columns(frame, self.future_, "known-future driver")
        if self.future_scaler_ is not None:
            future = self.future_scaler_.transform(future)
        return Parts(smoothed=smoothed, scaled=scaled, denoised=denoised, residual=residual, drivers=x, pcs=pcs,
                     future=future)

    def fit_transform(self, frame: pd.DataFrame, targets: Sequence[str], drivers: Sequence[str] = ()) -> Parts:
        """``fit(frame, targets, drivers).transform(frame)``."""
        return self.fit(frame, targets, drivers).transform(frame)

    def inverse_target(self, pred: np.ndarray, parts: Parts, origins: np.ndarray) -> np.ndarray:
        """Forecasts of ``scaled`` (the scaled moving average) back to original units.

        ``pred`` (N, h, k) forecasts at origins t (positions in ``parts``' index) for t+1..t+h, k targets.
        Inverse min-max, then :meth:`MovingAverage.inverse_forecast` with the known values
        ``parts.smoothed`` at t-n+2..t (so origins must be >= window-2). Returns (N, h, k) in original units.
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
            smoothed = parts.smoothed.loc[:, self.targets_].to_numpy(dtype=np.float64)
            bad = (origins < n - 2) | (origins >= smoothed.shape[0])
            if bad.any():
                raise ValueError(
                    f"Preprocessor.inverse_target: origin {int(origins[bad][0])} out of range: the moving average of "
                    f"window {n} needs the {n - 1} smoothed values up to the origin (origins {n - 2}..{smoothed.shape[0] - 1})"
                )
            past = smoothed[origins[:, None] + np.arange(-(n - 2), 1)]  # (N, n-1, k)
            out = ma.inverse_forecast(out, past)
        return np.array(out, dtype=np.float64, copy=True)

    # ----- JSON state ------------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """The whole fitted composition as a JSON-serialisable dict."""
        self._check_fitted()
        return {
            "class": "Preprocessor",
            "version": STATE_VERSION,
            "params": self._params_state(),
            "targets": list(self.targets_),
            "drivers": list(self.drivers_),
            "future": list(self.future_),
            "stages": {name: (None if getattr(self, name) is None else getattr(self, name).get_state()) for name in _STAGES},
        }

    def _params_state(self) -> dict[str, Any]:
        """The parameters as JSON: a stage as ``{"class": name, "params": {...}}``."""
        out: dict[str, Any] = {}
        for name, value in self.get_params(deep=False).items():
            out[name] = ({"class": type(value).__name__, "params": _jsonable(value.get_params(deep=False))}
                         if isinstance(value, Stage) else value)
        return out

    @classmethod
    def _from_params_state(cls, params: dict[str, Any]) -> Preprocessor:
        classes = {c.__name__: c for c in (SigmaOutlierSmoother, MovingAverage, WaveletDenoiser, AtrousDenoiser,
                                            DriverPCA)}
        default = {"outliers": SigmaOutlierSmoother, "moving_average": MovingAverage, "wavelet": WaveletDenoiser,
                   "pca": DriverPCA}
        args: dict[str, Any] = {}
        for name, value in params.items():
            if name in default and isinstance(value, dict):
                if "class" in value:
                    if value["class"] not in classes:
                        raise ArtifactError(f"Preprocessor state: unknown stage class {value['class']!r}")
                    args[name] = classes[value["class"]](**value["params"])
                else:  # the settings of the default class (states written before stage classes were recorded)
                    args[name] = default[name](**value)
            else:
                args[name] = value
        return cls(**args)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Preprocessor:
        """Rebuild a fitted Preprocessor from :meth:`get_state` output (ArtifactError when malformed)."""
        if not isinstance(state, dict) or state.get("class") != "Preprocessor":
            raise ArtifactError("state is not a Preprocessor state")
        if state.get("version") != STATE_VERSION:
            raise ArtifactError(f"Preprocessor state version {state.get('version')!r}, expected {STATE_VERSION}")
        try:
            obj = cls._from_params_state(state["params"])
            stages = state["stages"]
            targets, drivers = list(state["targets"]), list(state["drivers"])
            future = list(state.get("future", []))
            missing = set(_STAGES) - set(stages) - set(_OPTIONAL_STAGES)
        except (KeyError, TypeError) as exc:
            raise ArtifactError(f"Preprocessor state is malformed: {exc}") from None
        if missing:
            raise ArtifactError(f"Preprocessor state: missing stages {sorted(missing)}")
        for name, stage_cls in _STAGES.items():
            if name == "wavelet_" and obj.wavelet is not None:  # the class the parameters name
                stage_cls = type(obj.wavelet)
            setattr(obj, name, None if stages.get(name) is None else stage_cls.from_state(stages[name]))
        obj.targets_, obj.drivers_, obj.future_ = targets, drivers, future
        return obj
