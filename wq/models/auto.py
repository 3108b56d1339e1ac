"""Automatic model choice: the ``auto`` model picks one of its candidates on rolling-origin folds inside the
training frame, then fits it on the whole training frame.

Folds (``[model] auto_folds`` = K): the last K blocks of the training frame, together ``[model] auto_span`` of
it (default: its validation tail, ``val_fraction``; a short record needs a longer span to choose on), each block at least ``horizon + 5`` rows; fold j fits every candidate (its preprocessing
included, its own validation tail for early stopping) on the rows before block j and scores its forecasts of
block j (:func:`wq.evaluate.backtest.score`: ``[model] auto_metric``, default MAPE, averaged over targets,
then over folds). The test period is never seen: ``auto`` only receives the training frame. An ``ensemble``
candidate whose members are all candidates reuses their fits of the fold (the same fitted models, weights
chosen on the validation tail of the fold's training rows). A candidate that cannot be fitted on a fold (too
few rows) is left out, with its reason in :attr:`AutoForecaster.choice_`. Ties go to the earlier candidate
(list the simpler first).

Saving: ``model.json`` records the choice (candidates, folds, scores, the pick); the chosen model's files are
kept under the prefix ``chosen__`` (loaded by :func:`wq.models.registry.model_from_files`).
"""

from __future__ import annotations

import time
import warnings
from typing import Annotated, Any, Callable

import numpy as np
import pandas as pd
from pydantic import ConfigDict, Field

from wq.errors import ArtifactError, ConfigError, DataError
from wq.estimator import Float, Int
from wq.models.base import Forecaster
from wq.models.params import HorizonParams


class AutoParams(HorizonParams):
    """Settings of :class:`AutoForecaster`; ``factory(name)`` makes an unfitted candidate."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str = "auto"
    targets: list[str] = Field(min_length=1)
    candidates: list[str] = Field(min_length=1)
    factory: Any = None
    folds: Annotated[Int, Field(ge=1)] = 2
    span: Annotated[Float | None, Field(gt=0, lt=1)] = None
    metric: str = "MAPE"
    seed: Annotated[Int, Field(ge=0)] = 0


class AutoForecaster(Forecaster, params=AutoParams):
    """Picks a candidate on rolling-origin folds inside the training frame; see the module docstring."""

    @property
    def min_history(self) -> int:
        return self.chosen_.min_history if hasattr(self, "chosen_") else 1

    def _make(self, name: str) -> Forecaster:
        if self.factory is None:
            raise ConfigError("auto: no factory to make candidates (a loaded auto model cannot be fitted again)")
        return self.factory(name)

    def fold_bounds(self, n: int, val_fraction: float) -> list[tuple[int, int]]:
        """(train_end, block_end) of each fold: the last ``folds`` blocks of ``n`` rows, together ``span`` of them
        (default ``val_fraction``)."""
        from wq.evaluate.backtest import rolling_origin_splits

        n_val = int(round(n * (self.span or val_fraction)))
        block = max(self.horizon + 5, n_val // self.folds)
        return rolling_origin_splits(n, self.folds, block, min_train=max(30, block))

    def _fold_scores(self, frame: pd.DataFrame, train_end: int, stop: int, val_fraction: float,
                     progress) -> dict[str, float | str]:
        from wq.evaluate.backtest import forecast_period, score

        train = frame.iloc[:train_end]
        fitted: dict[str, Forecaster] = {}
        out: dict[str, float | str] = {}
        for name in sorted(self.candidates, key=lambda c: c == "ensemble"):  # an ensemble last: it may reuse
            model = self._make(name)
            try:
                reuse = getattr(model, "members", None)
                if reuse and all(m.name in fitted for m in reuse):
                    model.members = [fitted[m.name] for m in reuse]
                    model.combine(train, val_fraction)
                else:
                    model.fit(train, val_fraction=val_fraction, progress=progress)
            except (DataError, ValueError) as exc:
                out[name] = f"not fitted: {exc}"
                continue
            fitted[name] = model
            pred = forecast_period(model, frame.iloc[:stop], train_end, stop)
            pred.insert(0, "model", name)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                m = score(pred, zeros="skip")
            out[name] = float(m[self.metric].mean())
        hook = getattr(self, "fold_hook", None)  # benchmarks: look at the fold's fitted candidates
        if hook is not None:
            hook(fitted, frame, train_end, stop, val_fraction)
        return out

    def fit(self, frame: pd.DataFrame, val_fraction: float = 0.2, progress=None) -> "AutoForecaster":
        t0 = time.perf_counter()
        self.check_params()
        bounds = self.fold_bounds(len(frame), val_fraction)
        table: dict[str, list] = {c: [] for c in self.candidates}
        for i, (train_end, stop) in enumerate(bounds):
            if progress:
                progress(f"auto: fold {i + 1} of {len(bounds)}, fitting on {train_end} rows")
            scores = self._fold_scores(frame, train_end, stop, val_fraction, progress)
            for c in self.candidates:
                table[c].append(scores[c])
        means = {c: float(np.mean(v)) for c, v in table.items()
                 if all(isinstance(x, float) for x in v) and np.isfinite(v).all()}
        if not means:
            raise DataError(f"auto: no candidate could be fitted and scored on the folds: {table}")
        best = min(means, key=lambda c: (means[c], self.candidates.index(c)))
        if progress:
            progress(f"auto: picked {best} (validation {self.metric} {means[best]:.4g}); fitting it on {len(frame)} rows")
        self.chosen_ = self._make(best).fit(frame, val_fraction=val_fraction, progress=progress)
        self.choice_ = {"picked": best, "metric": self.metric, "folds": [[frame.index[a - 1].isoformat(),
                        frame.index[b - 1].isoformat()] for a, b in bounds],
                        "scores": {c: [x if isinstance(x, str) else round(x, 6) for x in v] for c, v in table.items()},
                        "mean": {c: round(v, 6) for c, v in means.items()}}
        self._adopt()
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def _adopt(self) -> None:
        self.freq_ = self.chosen_.freq_
        if hasattr(self.chosen_, "n_fit_"):
            self.n_fit_ = self.chosen_.n_fit_

    def _predict_positions(self, frame: pd.DataFrame, positions: np.ndarray) -> np.ndarray:
        return self.chosen_._predict_positions(frame, positions)

    def notes(self) -> str:
        """One line for the report: what was picked, on which numbers."""
        return choice_note(self.choice_, self.name)

    # -- persistence ----------------------------------------------------------------------------------------
    def get_state(self) -> dict:
        return {"name": self.name, "targets": self.targets, "horizon": self.horizon, "seed": self.seed,
                "candidates": self.candidates, "folds": self.folds, "metric": self.metric, "choice": self.choice_,
                "fit_seconds": getattr(self, "fit_seconds_", 0.0)}

    def blobs(self) -> dict[str, bytes]:
        return {f"chosen__{name}": data for name, data in self.chosen_.to_files().items()}

    @classmethod
    def from_state(cls, state: dict, files: dict) -> "AutoForecaster":
        from wq.models.ensemble import load_member

        return cls.from_chosen(state, load_member(chosen_files(files)))

    @classmethod
    def from_chosen(cls, state: dict, chosen: Forecaster) -> "AutoForecaster":
        """A fitted auto model from its saved state and its loaded chosen model."""
        if chosen.name != state["choice"]["picked"]:
            raise ArtifactError(f"auto: saved choice {state['choice']['picked']!r} but the model is {chosen.name!r}")
        obj = cls(name=state["name"], targets=list(state["targets"]), horizon=int(state["horizon"]),
                  seed=int(state["seed"]), candidates=list(state["candidates"]), folds=int(state["folds"]),
                  metric=state["metric"])
        obj.chosen_ = chosen
        obj.choice_ = dict(state["choice"])
        obj._adopt()
        obj.fit_seconds_ = float(state.get("fit_seconds", 0.0))
        return obj


def choice_note(c: dict, name: str = "auto") -> str:
    """The report's line for a choice (:attr:`AutoForecaster.choice_`): what was picked, on which numbers."""
    shown = "; ".join(f"{n} {v:.4g}" for n, v in sorted(c["mean"].items(), key=lambda kv: kv[1]))
    left = [n for n in c["scores"] if n not in c["mean"]]
    spans = ", ".join(f"{a[:10]} .. {b[:10]}" for a, b in c["folds"])
    return (f"{name}: picked {c['picked']} by validation {c['metric']} (mean of {len(c['folds'])} "
            f"rolling-origin folds inside the training part, each fitted on the rows before its block; blocks "
            f"ending {spans}): {shown}" + (f"; not scored: {', '.join(left)}" if left else "") + ".")


def chosen_files(files: dict[str, bytes]) -> dict[str, bytes]:
    """The chosen model's files of a saved auto model (prefix ``chosen__`` removed)."""
    return {k[len("chosen__"):]: v for k, v in files.items() if k.startswith("chosen__")}


Factory = Callable[[str], Forecaster]
