"""Learned forecasters on supervised windows: the dual residual forecaster and its comparison models.

One class covers the family; a model is a recipe (see :mod:`wq.models.registry`):
- ``parts = "dual"``: the target is split by the wavelet stage into denoised + residual; component A forecasts
  the denoised part from its lags and the driver representation, component B the residual from its lags and
  the driver representation; forecast = A + B, then inverse-scaled (DWT-PCA-LSTM and its dual relatives).
- ``parts = "single"``: one component forecasts the cleaned, scaled target (LSTM, PCA-LSTM, HGB).
- ``drivers = "pcs" | "drivers" | "none"``: principal components of the scaled drivers, the scaled drivers
  themselves, or none.
Preprocessing is fitted on the fitting part of the training frame only (the training frame less its validation
tail), then applied unchanged, causally, to any later frame: the value of every channel at t depends on data
<= t, so the forecast from origin t does not change when data after t change.

Known-future drivers (``future_drivers``, :mod:`wq.data.future`): their columns hold on row t the values of the
target steps as known at t; scaled with their own training min/max (no PCA), they enter every component beside
the calendar of the target steps. A future driver also listed in ``drivers`` keeps its lagged history there.

Gaps (missing values kept by the data layer): a window is *usable* when its known-future inputs are observed,
its origin's value of the modelled part is (with ``change``), and its lagged inputs are, unless the component
accepts missing inputs (gradient boosting: HistGradientBoosting routes NaN natively). Fitting uses the usable
windows whose targets are all observed; a forecast from an origin whose window is not usable is NaN: the origin
is skipped, never filled.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Callable, Literal

import numpy as np
import pandas as pd
from pydantic import ConfigDict, Field

from wq.data.grid import infer_freq
from wq.errors import ArtifactError, ConfigError, DataError
from wq.estimator import Int
from wq.models.base import Forecaster, torch_bytes, torch_load_bytes
from wq.models.params import WindowParams
from wq.windows import WindowSet, sequence_windows, split_sequences

# A callable that returns synthetic training sequences (M, lags + horizon, C) from the real ones (N, L + h, C),
# called as augment(S, condition=channel indices of the calendar and known-future drivers).
Augmenter = Callable[..., np.ndarray]


def _component(spec: dict):
    """An unfitted component from its saved settings (``kind`` plus constructor parameters)."""
    spec = dict(spec)
    kind = spec.pop("kind", None)
    if kind == "neural":
        from wq.models.networks import NeuralComponent

        return NeuralComponent(**spec)
    if kind == "tabular":
        from wq.models.tabular import TabularComponent

        return TabularComponent(**spec)
    raise ArtifactError(f"unknown component kind {kind!r}")


class WindowForecasterParams(WindowParams):
    """Settings of :class:`WindowForecaster`; ``preprocess`` and ``component`` are estimator objects."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str
    targets: list[str] = Field(min_length=1)
    drivers: list[str] = []
    calendar: list[str] = []
    preprocess: Any = None
    parts: Literal["dual", "single"] = "dual"
    driver_repr: Literal["pcs", "drivers", "none"] = "pcs"
    component: Any = None
    seed: Annotated[Int, Field(ge=0)] = 0
    holidays: str | list[str] | None = "US"
    calendar_tz: str | None = Field(None, description="zone whose wall time the calendar features use")
    future_drivers: list[str] = Field([], description="drivers known for the target steps at the origin")


class WindowForecaster(Forecaster, params=WindowForecasterParams):
    """A learned forecaster on supervised windows; see the module docstring. ``preprocess``: an unfitted
    :class:`~wq.preprocess.Preprocessor` (None: the pipeline defaults,
    :class:`~wq.preprocess.PreprocessParams`); ``component``: an unfitted
    :class:`~wq.models.networks.NeuralComponent` or :class:`~wq.models.tabular.TabularComponent` (None: an
    LSTM), fitted once per target part (dual: denoised and residual; single: the cleaned target)."""

    # -- settings -------------------------------------------------------------------------------------------
    def check_params(self):
        from wq.preprocess.pipeline import Preprocessor

        params = super().check_params()
        if not isinstance(self._preprocess_template(), Preprocessor):
            raise ConfigError(f"{self.name}: preprocess must be a Preprocessor (e.g. PreprocessParams().build()), "
                              f"got {self.preprocess!r}")
        if self.parts == "dual" and self._preprocess_template().wavelet is None:
            raise ConfigError(f"model {self.name!r} splits the target with the wavelet stage: set [preprocess] wavelet")
        comp = self._component_template()
        if not hasattr(comp, "fit") or getattr(comp, "kind", None) not in ("neural", "tabular"):
            raise ConfigError(f"{self.name}: component must be a NeuralComponent or TabularComponent, got {comp!r}")
        comp.check_params()
        return params

    @property
    def min_history(self) -> int:
        ma = getattr(self._preprocess_template(), "moving_average", None)
        return max(int(self.lags), int(ma.window) - 1 if ma is not None else 1)

    @property
    def future_columns(self) -> list[str]:
        """The frame's known-future columns this model reads (:func:`wq.data.future.future_columns`)."""
        from wq.data.future import future_columns

        return future_columns(self.future_drivers, self.horizon)

    @property
    def columns(self) -> list[str]:
        """Every column of the frame the model reads: targets, drivers, known-future columns."""
        return list(dict.fromkeys([*self.targets, *self.drivers, *self.future_columns]))

    @property
    def uses_drivers(self) -> str:
        """How drivers enter: ``pcs``, ``drivers`` or ``none`` (no drivers given)."""
        return self.driver_repr if self.drivers else "none"

    def _preprocess_template(self):
        if self.preprocess is not None:
            return self.preprocess
        from wq.preprocess.pipeline import PreprocessParams

        return PreprocessParams().build()

    def _component_template(self):
        if self.component is not None:
            return self.component
        from wq.models.networks import NeuralComponent

        return NeuralComponent()

    # -- channels -------------------------------------------------------------------------------------------
    def _preprocessor(self):
        """An unfitted copy of the preprocessing, without the stages this recipe does not use."""
        template = self._preprocess_template()
        pre = type(template)(**template.get_params(deep=False))
        if self.parts == "single":
            pre.set_params(wavelet=None)
        if self.uses_drivers != "pcs":
            pre.set_params(pca=None)
        return pre

    def _calendar(self, index: pd.DatetimeIndex) -> np.ndarray:
        if not self.calendar:
            return np.zeros((len(index), 0))
        from wq.data.calendar import calendar_features

        return calendar_features(index, self.calendar, holidays=self.holidays,
                                 tz=self.calendar_tz).to_numpy(dtype=np.float64)

    def _matrix(self, parts, index: pd.DatetimeIndex, extra: int = 0) -> tuple[np.ndarray, dict[str, list[int]]]:
        """Channel matrix (T + extra, C) and the channel indices of each block. ``extra`` rows are appended
        (calendar known, everything else NaN) so that origins at the end of the data have their target days."""
        blocks: list[tuple[str, np.ndarray]] = []
        if self.parts == "dual":
            blocks += [("denoised", parts.denoised.to_numpy()), ("residual", parts.residual.to_numpy())]
        else:
            blocks += [("clean", parts.scaled.to_numpy())]
        if self.uses_drivers == "pcs":
            blocks.append(("drivers", parts.pcs.to_numpy()))
        elif self.uses_drivers == "drivers":
            blocks.append(("drivers", parts.drivers.to_numpy()))
        if self.future_drivers:
            blocks.append(("future", parts.future.to_numpy()))
        if extra:
            offset = pd.tseries.frequencies.to_offset(self.freq_)
            full_index = index.append(pd.DatetimeIndex([index[-1] + (i + 1) * offset for i in range(extra)]))
        else:
            full_index = index
        blocks.append(("calendar", self._calendar(full_index)))
        layout: dict[str, list[int]] = {}
        columns = []
        start = 0
        for name, arr in blocks:
            arr = np.asarray(arr, dtype=np.float64)
            if arr.ndim == 1:
                arr = arr[:, None]
            if name != "calendar" and extra:
                arr = np.vstack([arr, np.full((extra, arr.shape[1]), np.nan)])
            layout[name] = list(range(start, start + arr.shape[1]))
            start += arr.shape[1]
            columns.append(arr)
        return np.hstack(columns), layout

    def _components_layout(self, layout: dict[str, list[int]]) -> list[tuple[str, list[int], list[int]]]:
        drivers = layout.get("drivers", [])
        if self.parts == "dual":
            return [("denoised", layout["denoised"] + drivers, layout["denoised"]),
                    ("residual", layout["residual"] + drivers, layout["residual"])]
        return [("clean", layout["clean"] + drivers, layout["clean"])]

    # -- fitting --------------------------------------------------------------------------------------------
    def fit(self, frame: pd.DataFrame, val_fraction: float = 0.2,
            progress: Callable[[str], None] | None = None, augment: Augmenter | None = None) -> "WindowForecaster":
        t0 = time.perf_counter()
        self.check_params()
        self._check_frame(frame, self.columns)
        freq = infer_freq(frame.index)
        n = len(frame)
        n_val = int(round(n * val_fraction))
        n_fit = n - n_val
        need = self.lags + self.horizon + 10
        if n_fit < need:
            raise DataError(f"{n_fit} training rows (after the validation tail) are too few for lags={self.lags} "
                            f"and horizon={self.horizon}; need at least {need}")
        self.preprocessor_ = self._preprocessor().fit(frame.iloc[:n_fit], self.targets, self.drivers,
                                                      future=self.future_columns)
        self.freq_ = freq
        S, origins, layout = self.sequences(frame)
        # windows whose inputs touch the boundary-affected start of a stationary wavelet stage are not fitted on
        self.warmup_ = self.preprocessor_.warmup_
        clear = origins - self.lags + 1 >= self.warmup_
        train = (origins + self.horizon < n_fit) & clear
        if not train.any():
            raise DataError(f"no training window: {n_fit} fitting rows, the first {self.warmup_} boundary-affected, "
                            f"lags={self.lags}, horizon={self.horizon}")
        val = (origins + self.horizon >= n_fit) & clear  # targets in the validation tail
        self.layout_ = layout
        self.n_fit_ = n_fit
        self.n_windows_ = int(train.sum())
        S_train = S[train]
        self.augmented_ = 0
        if augment is not None:
            real = S_train[np.isfinite(S_train).all(axis=(1, 2))]  # generators learn from complete windows
            # the calendar and known-future drivers condition the generator and are copied, never generated
            condition = layout["calendar"] + layout.get("future", [])
            synth = np.asarray(augment(np.ascontiguousarray(real), condition=condition), dtype=np.float64)
            if synth.ndim != 3 or synth.shape[1:] != S_train.shape[1:]:
                raise ValueError(f"augmenter returned shape {synth.shape}, expected (M, {S_train.shape[1]}, {S_train.shape[2]})")
            self.augmented_ = int(synth.shape[0])
            S_train = np.concatenate([S_train, synth])
        self.components_ = []
        self.windows_ = {"fit": 0, "left_out": 0}
        for i, (part, inputs, targets) in enumerate(self._components_layout(layout)):
            template = self._component_template()
            comp = type(template)(**template.get_params(deep=False))
            tr = self._windows(S_train, inputs, targets)
            use = self._usable(tr, comp, targets=True)
            self.windows_ = {"fit": int(use.sum()), "left_out": int((~use).sum())}
            if use.sum() < 10:
                raise DataError(f"{self.name}: {int(use.sum())} of {len(tr)} training windows are usable (the others "
                                f"touch a gap in their inputs or targets); need at least 10")
            va = self._windows(S[val], inputs, targets, origins[val]) if val.any() else None
            va = va.subset(self._usable(va, comp, targets=True)) if va is not None else None
            tr = self._as_change(tr.subset(use))
            va = self._as_change(va) if va is not None and len(va) else None
            comp.fit(tr, va, seed=self.seed + 1000 * i, progress=progress, label=f"{self.name}[{part}]")
            self.components_.append((part, inputs, targets, comp))
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def _windows(self, S: np.ndarray, inputs: list[int], targets: list[int],
                 origins: np.ndarray | None = None) -> WindowSet:
        """The :class:`WindowSet` of one component: lagged ``inputs``, calendar and known-future inputs, targets."""
        layout = self.layout_
        return split_sequences(S, self.lags, inputs, targets, layout["calendar"], origins,
                               known=layout.get("future", []))

    def _usable(self, ws: WindowSet, comp, targets: bool) -> np.ndarray:
        """Windows a component can use (see the module docstring, "Gaps"); ``targets``: also all targets observed."""
        k = ws.Y.shape[2]
        ok = np.isfinite(ws.Z).all(axis=1)
        if self.change:
            ok &= np.isfinite(ws.X[:, -1, :k]).all(axis=1)
        if not getattr(comp, "accepts_missing", False):
            ok &= np.isfinite(ws.X).all(axis=(1, 2))
        if targets:
            ok &= np.isfinite(ws.Y).all(axis=(1, 2))
        return ok

    def _as_change(self, ws: WindowSet) -> WindowSet:
        """With ``change``, a component learns y(t+s) - y(t) of its part instead of the level y(t+s): the
        target's own lags are the first inputs of every component, so y(t) is X[:, -1, :k]. Trees and small
        networks then need not extrapolate a level outside the training range."""
        if not self.change:
            return ws
        k = ws.Y.shape[2]
        return WindowSet(ws.X, ws.Z, ws.Y - ws.X[:, -1:, :k], ws.origins)

    def _component_predict(self, comp, ws: WindowSet, tau: float | None = None) -> np.ndarray:
        pred = comp.predict(ws) if tau is None else comp.predict_quantile(ws, tau)
        if self.change:
            pred = pred + ws.X[:, -1:, :pred.shape[2]].astype(np.float64)
        return pred

    def sequences(self, frame: pd.DataFrame, extra: int = 0, origins: np.ndarray | None = None):
        """Preprocess ``frame`` with the fitted stages and cut it into sequences (N, lags + horizon, C)."""
        parts = self.preprocessor_.transform(frame)
        M, layout = self._matrix(parts, frame.index, extra=extra)
        S, origins = sequence_windows(M, self.lags, self.horizon, origins)
        return S, origins, layout

    # -- prediction -----------------------------------------------------------------------------------------
    @property
    def has_quantiles(self) -> bool:
        """One component with quantile-loss models (``hgb`` with ``quantiles``; a sum of quantiles is none)."""
        comps = getattr(self, "components_", [])
        return len(comps) == 1 and bool(getattr(comps[0][3], "has_quantiles", False))

    def predict_quantiles(self, frame: pd.DataFrame, origins, taus) -> dict[float, np.ndarray]:
        """The ``tau`` quantile forecasts (N, horizon, k) per tau in original units (each step's quantile passed
        through the preprocessing's inverse: exact where that is increasing in the step's own value)."""
        self.check_fitted()
        if not self.has_quantiles:
            raise ValueError(f"{self.name} has no quantile models (hgb with [model] quantiles only)")
        positions = self.positions(frame, origins)
        return {tau: self._predict_positions(frame, positions, tau) for tau in taus}

    def _predict_positions(self, frame: pd.DataFrame, positions: np.ndarray, tau: float | None = None) -> np.ndarray:
        self._check_frame(frame, self.columns)
        parts = self.preprocessor_.transform(frame)
        M, _ = self._matrix(parts, frame.index, extra=self.horizon)
        S, positions = sequence_windows(M, self.lags, self.horizon, positions)
        sets = [(comp, self._windows(S, inputs, targets, positions)) for _, inputs, targets, comp in self.components_]
        ok = np.logical_and.reduce([self._usable(ws, comp, targets=False) for comp, ws in sets])
        out = np.full((len(positions), self.horizon, len(self.targets)), np.nan)
        if ok.any():
            total = sum(self._component_predict(comp, ws.subset(ok), tau) for comp, ws in sets)
            out[ok] = self.preprocessor_.inverse_target(total, parts, positions[ok])
        return out

    def predict_parts(self, frame: pd.DataFrame, positions: np.ndarray) -> dict[str, np.ndarray]:
        """Each component's forecast (N, h, k) in scaled units, for checking that the dual forecast is A + B."""
        parts = self.preprocessor_.transform(frame)
        M, _ = self._matrix(parts, frame.index, extra=self.horizon)
        S, positions = sequence_windows(M, self.lags, self.horizon, positions)
        return {part: self._component_predict(comp, self._windows(S, inputs, targets, positions))
                for part, inputs, targets, comp in self.components_}

    # -- persistence ----------------------------------------------------------------------------------------
    def settings(self) -> dict:
        """The constructor parameters as JSON (the preprocessing and component as their own settings)."""
        params = self.get_params(deep=False)
        params["preprocess"] = self.preprocessor_._params_state()
        template = self._component_template()
        params["component"] = {"kind": template.kind, **template.get_params(deep=False)}
        return params

    def get_state(self) -> dict:
        comps = []
        for part, inputs, targets, comp in self.components_:
            meta, _ = comp.get_state()
            comps.append({"part": part, "inputs": inputs, "targets": targets, "meta": meta})
        return {"settings": self.settings(), "freq": self.freq_, "n_fit": self.n_fit_, "layout": self.layout_,
                "preprocessor": self.preprocessor_.get_state(), "components": comps,
                "fit_seconds": getattr(self, "fit_seconds_", 0.0)}

    def blobs(self) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        tensors = {}
        for i, (_, _, _, comp) in enumerate(self.components_):
            _, data = comp.get_state()
            if comp.kind == "neural":
                tensors.update({f"c{i}.{k}": v for k, v in data.items()})
            else:
                out.update({f"c{i}_{j}.skops": b for j, b in data.items()})
        if tensors:
            out["weights.pt"] = torch_bytes(tensors)
        return out

    @classmethod
    def from_state(cls, state: dict, files: dict[str, bytes]) -> "WindowForecaster":
        from wq.preprocess.pipeline import Preprocessor

        settings = dict(state["settings"])
        settings["preprocess"] = Preprocessor._from_params_state(settings["preprocess"])
        settings["component"] = _component(settings["component"])
        obj = cls(**settings)
        obj.check_params()
        obj.freq_ = state["freq"]
        obj.n_fit_ = int(state["n_fit"])
        obj.layout_ = {k: list(v) for k, v in state["layout"].items()}
        obj.preprocessor_ = Preprocessor.from_state(state["preprocessor"])
        obj.fit_seconds_ = state.get("fit_seconds", 0.0)
        weights = torch_load_bytes(files["weights.pt"]) if "weights.pt" in files else {}
        obj.components_ = []
        for i, c in enumerate(state["components"]):
            meta = c["meta"]
            if meta["kind"] == "neural":
                from wq.models.networks import NeuralComponent

                prefix = f"c{i}."
                sd = {k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)}
                comp = NeuralComponent.from_state(meta, sd)
            else:
                from wq.models.tabular import TabularComponent

                mine = {n[len(f"c{i}_"):-len(".skops")]: b for n, b in files.items()  # its point + quantile files
                        if n.startswith(f"c{i}_") and n.endswith(".skops")}
                comp = TabularComponent.from_state(meta, mine)
            obj.components_.append((c["part"], list(c["inputs"]), list(c["targets"]), comp))
        return obj

