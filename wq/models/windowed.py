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
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
import pandas as pd

from wq.errors import ConfigError, DataError
from wq.models.base import Forecaster, torch_bytes, torch_load_bytes
from wq.models.naive import infer_freq
from wq.windows import WindowSet, sequence_windows, split_sequences

# A callable that returns synthetic training sequences (M, lags + horizon, C) from the real ones (N, L + h, C).
Augmenter = Callable[[np.ndarray], np.ndarray]


def _component(spec: dict):
    spec = dict(spec)
    kind = spec.pop("kind")
    if kind == "neural":
        from wq.models.networks import NeuralComponent

        return NeuralComponent(**spec)
    if kind == "tabular":
        from wq.models.tabular import TabularComponent

        return TabularComponent(**spec)
    raise ConfigError(f"unknown component kind {kind!r}")


class WindowForecaster(Forecaster):
    def __init__(self, name: str, targets, drivers=(), calendar=(), lags: int = 7, horizon: int = 1,
                 preprocess: dict | None = None, parts: str = "dual", driver_repr: str = "pcs",
                 component: dict | None = None, seed: int = 0, holidays: str | None = "US",
                 change: bool = False):
        super().__init__(targets, horizon, seed)
        self.name = name
        self.drivers = list(drivers)
        self.calendar = list(calendar)
        self.lags = int(lags)
        self.preprocess = dict(preprocess or {})
        self.parts = parts
        self.driver_repr = driver_repr if self.drivers else "none"
        self.component = dict(component or {"kind": "neural", "cell": "lstm"})
        self.holidays = holidays
        self.change = bool(change)
        if parts not in ("dual", "single"):
            raise ConfigError(f"parts must be 'dual' or 'single', got {parts!r}")
        if driver_repr not in ("pcs", "drivers", "none"):
            raise ConfigError(f"driver representation must be pcs, drivers or none, got {driver_repr!r}")
        if self.lags < 1:
            raise ConfigError(f"lags must be >= 1, got {lags}")
        if parts == "dual" and not self.preprocess.get("wavelet"):
            raise ConfigError(f"model {name!r} splits the target with the wavelet stage: set [preprocess] wavelet")

    # -- channels -------------------------------------------------------------------------------------------
    def _preprocessor(self):
        from wq.preprocess.pipeline import Preprocessor

        settings = dict(self.preprocess)
        if self.parts == "single":
            settings["wavelet"] = None
        if self.driver_repr != "pcs":
            settings["pca"] = None
        return Preprocessor(**settings)

    def _calendar(self, index: pd.DatetimeIndex) -> np.ndarray:
        if not self.calendar:
            return np.zeros((len(index), 0))
        from wq.data.calendar import calendar_features

        return calendar_features(index, self.calendar, holidays=self.holidays).to_numpy(dtype=np.float64)

    def _matrix(self, parts, index: pd.DatetimeIndex, extra: int = 0) -> tuple[np.ndarray, dict[str, list[int]]]:
        """Channel matrix (T + extra, C) and the channel indices of each block. ``extra`` rows are appended
        (calendar known, everything else NaN) so that origins at the end of the data have their target days."""
        blocks: list[tuple[str, np.ndarray]] = []
        if self.parts == "dual":
            blocks += [("denoised", parts.denoised.to_numpy()), ("residual", parts.residual.to_numpy())]
        else:
            blocks += [("clean", parts.clean.to_numpy())]
        if self.driver_repr == "pcs":
            blocks.append(("drivers", parts.pcs.to_numpy()))
        elif self.driver_repr == "drivers":
            blocks.append(("drivers", parts.drivers.to_numpy()))
        n = len(index)
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
        self._check_frame(frame, self.targets + self.drivers)
        self.freq_ = infer_freq(frame)
        n = len(frame)
        n_val = int(round(n * val_fraction))
        n_fit = n - n_val
        need = self.lags + self.horizon + 10
        if n_fit < need:
            raise DataError(f"{n_fit} training rows (after the validation tail) are too few for lags={self.lags} "
                            f"and horizon={self.horizon}; need at least {need}")
        self.preprocessor_ = self._preprocessor().fit(frame.iloc[:n_fit], self.targets, self.drivers)
        S, origins, layout = self.sequences(frame)
        # windows whose inputs touch the boundary-affected start of a stationary wavelet stage are not fitted on
        self.warmup_ = self.preprocessor_.warmup_
        train = (origins + self.horizon < n_fit) & (origins - self.lags + 1 >= self.warmup_)
        if not train.any():
            raise DataError(f"no training window: {n_fit} fitting rows, the first {self.warmup_} boundary-affected, "
                            f"lags={self.lags}, horizon={self.horizon}")
        val = ~train
        self.layout_ = layout
        self.n_fit_ = n_fit
        self.n_windows_ = int(train.sum())
        S_train = S[train]
        self.augmented_ = 0
        if augment is not None:
            synth = np.asarray(augment(np.ascontiguousarray(S_train)), dtype=np.float64)
            if synth.ndim != 3 or synth.shape[1:] != S_train.shape[1:]:
                raise ValueError(f"augmenter returned shape {synth.shape}, expected (M, {S_train.shape[1]}, {S_train.shape[2]})")
            self.augmented_ = int(synth.shape[0])
            S_train = np.concatenate([S_train, synth])
        self.components_ = []
        for i, (part, inputs, targets) in enumerate(self._components_layout(layout)):
            future = layout["calendar"]
            tr = self._as_change(split_sequences(S_train, self.lags, inputs, targets, future))
            va = (self._as_change(split_sequences(S[val], self.lags, inputs, targets, future, origins[val]))
                  if val.any() else None)
            comp = _component(self.component)
            comp.fit(tr, va, seed=self.seed + 1000 * i, progress=progress, label=f"{self.name}[{part}]")
            self.components_.append((part, inputs, targets, comp))
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def _as_change(self, ws: WindowSet) -> WindowSet:
        """With ``change``, a component learns y(t+s) - y(t) of its part instead of the level y(t+s): the
        target's own lags are the first inputs of every component, so y(t) is X[:, -1, :k]. Trees and small
        networks then need not extrapolate a level outside the training range."""
        if not self.change:
            return ws
        k = ws.Y.shape[2]
        return WindowSet(ws.X, ws.Z, ws.Y - ws.X[:, -1:, :k], ws.origins)

    def _component_predict(self, comp, ws: WindowSet) -> np.ndarray:
        pred = comp.predict(ws)
        if self.change:
            pred = pred + ws.X[:, -1:, :pred.shape[2]].astype(np.float64)
        return pred

    def sequences(self, frame: pd.DataFrame, extra: int = 0, origins: np.ndarray | None = None):
        """Preprocess ``frame`` with the fitted stages and cut it into sequences (N, lags + horizon, C)."""
        parts = self.preprocessor_.transform(frame)
        M, layout = self._matrix(parts, frame.index, extra=extra)
        S, origins = sequence_windows(M, self.lags, self.horizon, origins)
        return S, origins, layout

    def validation_windows(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Observed values and forecasts (original units) on the validation tail of the training frame."""
        positions = np.arange(max(self.n_fit_ - 1, self.lags - 1), len(frame) - self.horizon)
        pred = self._predict_positions(frame, positions)
        y = frame[self.targets].to_numpy()[positions[:, None] + np.arange(1, self.horizon + 1)[None, :]]
        return y, pred

    # -- prediction -----------------------------------------------------------------------------------------
    def _predict_positions(self, frame: pd.DataFrame, positions: np.ndarray) -> np.ndarray:
        self._check_frame(frame, self.targets + self.drivers)
        parts = self.preprocessor_.transform(frame)
        M, _ = self._matrix(parts, frame.index, extra=self.horizon)
        S, positions = sequence_windows(M, self.lags, self.horizon, positions)
        total = None
        for _, inputs, targets, comp in self.components_:
            ws = split_sequences(S, self.lags, inputs, targets, self.layout_["calendar"], positions)
            pred = self._component_predict(comp, ws)
            total = pred if total is None else total + pred
        return self.preprocessor_.inverse_target(total, parts, positions)

    def predict_parts(self, frame: pd.DataFrame, positions: np.ndarray) -> dict[str, np.ndarray]:
        """Each component's forecast (N, h, k) in scaled units, for checking that the dual forecast is A + B."""
        parts = self.preprocessor_.transform(frame)
        M, _ = self._matrix(parts, frame.index, extra=self.horizon)
        S, positions = sequence_windows(M, self.lags, self.horizon, positions)
        return {part: self._component_predict(comp, split_sequences(S, self.lags, inputs, targets,
                                                                    self.layout_["calendar"], positions))
                for part, inputs, targets, comp in self.components_}

    # -- persistence ----------------------------------------------------------------------------------------
    def settings(self) -> dict:
        return {"name": self.name, "targets": self.targets, "drivers": self.drivers, "calendar": self.calendar,
                "lags": self.lags, "horizon": self.horizon, "preprocess": self.preprocess, "parts": self.parts,
                "driver_repr": self.driver_repr, "component": self.component, "seed": self.seed,
                "holidays": self.holidays, "change": self.change}

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

        obj = cls(**state["settings"])
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

                n_out = meta["shape"]["horizon"] * meta["shape"]["n_targets"]
                comp = TabularComponent.from_state(meta, {str(j): files[f"c{i}_{j}.skops"] for j in range(n_out)})
            obj.components_.append((c["part"], list(c["inputs"]), list(c["targets"]), comp))
        return obj

