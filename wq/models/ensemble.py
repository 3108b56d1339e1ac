"""Forecast combination: the ``ensemble`` model, a weighted mean of member forecasters.

The members (``[model] members``, e.g. ``["dwt-pca-lstm", "hgb", "auto-ets"]``) are fitted on the training
frame as they would be alone (each on its fitting rows, its validation tail for early stopping). The weights are
then chosen on that validation tail only, from the members' forecasts of it (the origins
:func:`wq.evaluate.backtest.validation_scores` scores), per target, one weight per member for every step:

- ``equal``: 1 / M;
- ``inverse-mse``: proportional to 1 / MSE of each member on the validation tail;
- ``stacked``: constrained least squares, the nonnegative weights summing to 1 that fit the validation
  observations best (``scipy.optimize.nnls`` with the sum as a heavily weighted extra row, then normalised).

Test rows never reach the weights: the ensemble sees only its training frame. The networks were early-stopped
on the same tail, so their validation error is slightly optimistic; the members' forecasts of the test period
are reported beside the ensemble (``ensemble/hgb`` ...). A member that cannot forecast an origin (NaN: its
inputs touch a gap) leaves the others' weights renormalised; the ensemble is NaN only where every member is.

Saving: ``model.json`` holds the weights and the member names; each member's files are kept under the prefix
``m<i>__`` (loaded by :func:`wq.models.registry.model_from_files`).
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import ConfigDict, Field

from wq.errors import ArtifactError, DataError
from wq.estimator import Int
from wq.models.base import Forecaster
from wq.models.params import HorizonParams

WEIGHTINGS = ("equal", "inverse-mse", "stacked")


class EnsembleParams(HorizonParams):
    """Settings of :class:`EnsembleForecaster`; ``members`` are unfitted forecasters."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str = "ensemble"
    targets: list[str] = Field(min_length=1)
    members: list[Any] = Field(min_length=1)
    weights: Literal["equal", "inverse-mse", "stacked"] = "stacked"
    seed: Annotated[Int, Field(ge=0)] = 0


def combination_weights(pred: np.ndarray, obs: np.ndarray, method: str) -> np.ndarray:
    """Weights (M,) of ``method`` from member forecasts ``pred`` (n, M) of observations ``obs`` (n,): rows with
    any missing value are left out; nonnegative, summing to 1."""
    m = pred.shape[1]
    ok = np.isfinite(pred).all(axis=1) & np.isfinite(obs)
    pred, obs = pred[ok], obs[ok]
    if method == "equal" or len(obs) == 0:
        return np.full(m, 1.0 / m)
    mse = ((pred - obs[:, None]) ** 2).mean(axis=0)
    if method == "inverse-mse":
        inv = 1.0 / np.maximum(mse, 1e-12 * max(float(np.mean(obs ** 2)), 1e-300))
        return inv / inv.sum()
    if method != "stacked":
        raise ValueError(f"unknown weighting {method!r}; known: {', '.join(WEIGHTINGS)}")
    from scipy.optimize import nnls

    scale = float(np.sqrt((pred ** 2).sum(axis=0).max())) or 1.0
    big = 1e3 * scale  # the sum-to-one row outweighs any residual; the small slack is normalised away
    A = np.vstack([pred, np.full((1, m), big)])
    b = np.append(obs, big)
    w, _ = nnls(A, b, maxiter=50 * m)
    total = w.sum()
    return w / total if total > 0 else np.full(m, 1.0 / m)


class EnsembleForecaster(Forecaster, params=EnsembleParams):
    """A weighted mean of member forecasters, the weights chosen on the validation tail of the training frame;
    see the module docstring."""

    def check_params(self):
        params = super().check_params()
        names = [getattr(m, "name", "") for m in self.members]
        if len(set(names)) != len(names):
            raise DataError(f"{self.name}: members {names} repeat a model")
        for m in self.members:
            if not isinstance(m, Forecaster):
                raise DataError(f"{self.name}: member {m!r} is not a forecaster")
            m.check_params()
        return params

    @property
    def member_names(self) -> list[str]:
        return [m.name for m in self.members]

    @property
    def min_history(self) -> int:
        return max(m.min_history for m in self.members)

    def fit(self, frame: pd.DataFrame, val_fraction: float = 0.2, progress=None) -> "EnsembleForecaster":
        t0 = time.perf_counter()
        self.check_params()
        for member in self.members:
            if progress:
                progress(f"{self.name}: fitting member {member.name}")
            member.fit(frame, val_fraction=val_fraction, progress=progress)
        self.combine(frame, val_fraction)
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def combine(self, frame: pd.DataFrame, val_fraction: float = 0.2) -> "EnsembleForecaster":
        """Choose the weights from the fitted members' forecasts of the validation tail of ``frame`` (the
        training frame the members were fitted on with ``val_fraction``)."""
        from wq.evaluate.backtest import forecast_period

        n = len(frame)
        n_fit = n - int(round(n * val_fraction))
        if n_fit >= n - self.horizon + 1:
            raise DataError(f"{self.name}: the validation tail ({n - n_fit} rows) holds no forecast of horizon "
                            f"{self.horizon}; the weights need one ([split] validation > 0)")
        longs = [forecast_period(m, frame, n_fit) for m in self.members]
        pred = np.stack([lf["predicted"].to_numpy(dtype=np.float64) for lf in longs], axis=1)  # (rows, M)
        obs = longs[0]["observed"].to_numpy(dtype=np.float64)
        target = longs[0]["target"].to_numpy()
        self.weights_ = np.zeros((len(self.targets), len(self.members)))
        self.validation_ = {}
        for k, t in enumerate(self.targets):
            rows = target == t
            self.weights_[k] = combination_weights(pred[rows], obs[rows], self.weights)
            ok = np.isfinite(pred[rows]).all(axis=1) & np.isfinite(obs[rows])
            mse = ((pred[rows][ok] - obs[rows][ok, None]) ** 2).mean(axis=0) if ok.any() else np.full(pred.shape[1], np.nan)
            self.validation_[t] = {"rmse": dict(zip(self.member_names, np.sqrt(mse).tolist())), "n": int(ok.sum())}
        self.freq_ = self.members[0].freq_
        self.n_fit_ = n_fit
        self.fit_seconds_ = sum(getattr(m, "fit_seconds_", 0.0) for m in self.members)
        return self

    def predict_members(self, frame: pd.DataFrame, positions: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The ensemble's forecasts (N, h, k) and each member's, by member name, from the origin ``positions``."""
        self.check_fitted()
        parts = {m.name: m.predict_array(frame, frame.index[positions]) for m in self.members}
        stack = np.stack(list(parts.values()), axis=-1)  # (N, h, k, M)
        w = np.broadcast_to(self.weights_[None, None], stack.shape)
        ok = np.isfinite(stack)
        total = np.where(ok, w, 0.0).sum(axis=-1)
        combined = np.where(ok, stack * w, 0.0).sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(ok.any(axis=-1) & (total > 0), combined / np.where(total > 0, total, 1.0), np.nan)
        return out, parts

    def _predict_positions(self, frame: pd.DataFrame, positions: np.ndarray) -> np.ndarray:
        return self.predict_members(frame, positions)[0]

    def notes(self) -> str:
        """One line for the report: the weights and the validation RMSE they came from."""
        parts = []
        for k, t in enumerate(self.targets):
            w = ", ".join(f"{n} {v:.2f}" for n, v in zip(self.member_names, self.weights_[k]))
            rmse = ", ".join(f"{n} {v:.4g}" for n, v in self.validation_[t]["rmse"].items())
            parts.append(f"{t}: weights {w} (validation RMSE {rmse}; {self.validation_[t]['n']} forecasts)")
        return f"{self.name} ({self.weights} weights, chosen on the validation tail of the training part): " + \
            "; ".join(parts) + "."

    # -- persistence ----------------------------------------------------------------------------------------
    def get_state(self) -> dict:
        return {"name": self.name, "targets": self.targets, "horizon": self.horizon, "seed": self.seed,
                "weights_method": self.weights, "members": self.member_names, "weights": self.weights_.tolist(),
                "validation": self.validation_, "freq": self.freq_, "n_fit": self.n_fit_,
                "fit_seconds": getattr(self, "fit_seconds_", 0.0)}

    def blobs(self) -> dict[str, bytes]:
        out = {}
        for i, m in enumerate(self.members):
            out.update({f"m{i}__{name}": data for name, data in m.to_files().items()})
        return out

    @classmethod
    def from_state(cls, state: dict, files: dict) -> "EnsembleForecaster":
        return cls.from_members(state, [load_member(f) for f in member_files(files)])

    @classmethod
    def from_members(cls, state: dict, members: list[Forecaster]) -> "EnsembleForecaster":
        """A fitted ensemble from its saved state and its loaded (fitted) members."""
        if [m.name for m in members] != list(state["members"]):
            raise ArtifactError(f"ensemble members {[m.name for m in members]} differ from the saved "
                                f"{state['members']}")
        obj = cls(name=state["name"], targets=list(state["targets"]), horizon=int(state["horizon"]),
                  seed=int(state["seed"]), members=members, weights=state["weights_method"])
        obj.weights_ = np.asarray(state["weights"], dtype=np.float64)
        if obj.weights_.shape != (len(obj.targets), len(members)):
            raise ArtifactError(f"ensemble weights have shape {obj.weights_.shape}, expected "
                                f"{(len(obj.targets), len(members))}")
        obj.validation_ = dict(state["validation"])
        obj.freq_ = state["freq"]
        obj.n_fit_ = int(state["n_fit"])
        obj.fit_seconds_ = float(state.get("fit_seconds", 0.0))
        return obj


def load_member(files: dict[str, bytes]) -> Forecaster:
    """A fitted member (of any class) from its files."""
    from wq.models.base import read_model_json, subclass_named

    name = read_model_json(files).get("class", "")
    if subclass_named(name) is None:  # the optional model classes, imported when a saved member needs one
        if name == "StatForecaster":
            import wq.models.statistical  # noqa: F401
        elif name == "GABPForecaster":
            import wq.models.ga_bpnn  # noqa: F401
    found = subclass_named(name)
    if found is None:
        raise ArtifactError(f"saved member class {name!r} is not one wq knows")
    return found.from_files(files)


def member_files(files: dict[str, bytes]) -> list[dict[str, bytes]]:
    """The files of each member of a saved ensemble (prefix ``m<i>__`` removed), in member order."""
    out: dict[int, dict[str, bytes]] = {}
    for name, data in files.items():
        head, sep, rest = name.partition("__")
        if sep and head.startswith("m") and head[1:].isdigit():
            out.setdefault(int(head[1:]), {})[rest] = data
    return [out[i] for i in sorted(out)]
