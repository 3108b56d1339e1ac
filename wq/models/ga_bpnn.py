"""GA-BPNN: a back-propagation network whose hyperparameters a genetic algorithm chooses while it is fitted.

The GA-BPNN of Yang et al. 2023 (Environ. Sci. Ecotechnol. 13:100207, constructed-wetland effluent COD, NH3-N
and TP): a BPNN (one hidden layer of sigmoid units on the flattened lags of the cleaned target and the scaled
drivers, wq's ``bpnn``) whose settings come from a binary-coded GA. Here the GA (:class:`wq.tune.GeneticTuner`,
``binary`` encoding by default: bit strings, roulette, one-point crossover, bit-flip mutation of every child
with probability 1/(genes x bits) per bit, Hall-of-Fame elitism; ``real`` as an option) chooses the hidden units, the Adam learning rate, the (maximum) epochs, the lags and the trailing
moving-average window of the target (:data:`wq.models.params.GA_GENES`, ranges :data:`~wq.models.params.GA_SPACE`;
the window only when the preprocessing has a moving-average stage).

Fitness of settings p: the MAPE (mean over targets and forecast steps) of the BPNN with p, fitted on the fitting
part of the training frame (early stopping on its validation tail), forecasting that validation tail
(:func:`wq.evaluate.backtest.validation_scores`). Only the training frame given to :meth:`fit` is seen: the
test period never decides anything. Every candidate is fitted with the model's own seed, so the fitness is a
function of the settings alone and the chosen network is the very one that was scored.

Not reproduced: the study's GA also evolves the network's initial weights and thresholds; here the initial
weights are torch's seeded default initialisation (a GA over hundreds of weights at a budget of a few dozen
fits would be a random search in disguise).
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable

import numpy as np
import pandas as pd

from wq.errors import ConfigError, DataError
from wq.models.base import Forecaster
from wq.models.params import GA_SPACE, GASettings
from wq.models.windowed import Augmenter, WindowForecaster, WindowForecasterParams, _component

FITNESS_METRIC = "MAPE"


class GABPParams(WindowForecasterParams, GASettings):
    """Settings of :class:`GABPForecaster`: those of a :class:`~wq.models.windowed.WindowForecaster` (whose
    ``lags``, the component's ``hidden``, ``lr``, ``epochs`` and the moving-average window are the GA's starting
    template, replaced by the genes the search space holds) and the GA's (:class:`~wq.models.params.GASettings`)."""


class _ValidationFitness:
    """``objective(params, seed) -> float`` of the GA: validation MAPE of the candidate fitted on ``frame``;
    keeps the best fitted candidate, so the winner need not be fitted twice."""

    def __init__(self, owner: "GABPForecaster", frame: pd.DataFrame, val_fraction: float,
                 augment: Augmenter | None) -> None:
        self.owner, self.frame, self.val_fraction, self.augment = owner, frame, val_fraction, augment
        self.best: tuple[float, dict[str, Any], WindowForecaster] | None = None

    def __call__(self, params: dict, seed: int) -> float:
        from wq.evaluate.backtest import validation_scores

        model = self.owner.candidate(params)
        kwargs = {"augment": self.augment} if self.augment is not None else {}
        model.fit(self.frame, val_fraction=self.val_fraction, **kwargs)
        scores = validation_scores(model, self.frame)
        value = float(np.mean(scores[FITNESS_METRIC].to_numpy(dtype=float)))
        if math.isfinite(value) and (self.best is None or value < self.best[0]):
            self.best = (value, dict(params), model)
        return value


class GABPForecaster(Forecaster, params=GABPParams):
    """The GA-BPNN (module docstring). After :meth:`fit`: ``best_`` (the fitted BPNN with the chosen settings,
    to which forecasts delegate), ``best_params_`` ({gene: value}, fixed genes included), ``best_fitness_`` (its
    validation MAPE),
    ``ga_`` (evaluations, stop reason and the logbook of the GA)."""

    # -- settings -------------------------------------------------------------------------------------------
    def check_params(self):
        params = super().check_params()
        self.search_space()
        self._template().check_params()
        return params

    def _genes(self):
        """Every gene's :class:`~wq.tune.space.Param`: :data:`GA_SPACE` with ``ga_space``'s ranges on top; without
        a moving-average stage in the preprocessing (``moving_average = false``) there is no window gene."""
        from wq.tune.space import Space

        table = {**GA_SPACE, **dict(self.ga_space or {})}
        genes = [k for k in GA_SPACE if k != "ma_window" or self._template()._preprocess_template().moving_average]
        return tuple(Space.from_mapping({k: table[k] for k in genes}))

    def fixed(self) -> dict[str, Any]:
        """Genes whose range is one value (``low = high``): set, not searched."""
        return {p.name: p.decode(0.0) for p in self._genes() if p.low == p.high}

    def search_space(self):
        """The GA's :class:`~wq.tune.space.Space`: the genes of :meth:`_genes` that are not :meth:`fixed`."""
        from wq.tune.space import Space

        genes = tuple(p for p in self._genes() if p.low != p.high)
        if not genes:
            raise ConfigError(f"{self.name}: every gene of ga_space is fixed (low = high): nothing to search")
        return Space(genes)

    def _template(self) -> WindowForecaster:
        keys = WindowForecasterParams.model_fields
        return WindowForecaster(**{k: v for k, v in self.get_params(deep=False).items() if k in keys})

    def candidate(self, params: dict[str, Any]) -> WindowForecaster:
        """The unfitted BPNN of decoded settings ``params`` (genes absent from ``params`` keep the template)."""
        from wq.preprocess.smoothing import MovingAverage

        params = {**self.fixed(), **params}
        model = self._template()
        comp = model._component_template()
        comp = type(comp)(**{**comp.get_params(deep=False),
                             **{k: params[k] for k in ("hidden", "lr", "epochs") if k in params}})
        pre = model._preprocess_template()
        pre = type(pre)(**pre.get_params(deep=False))
        if "ma_window" in params:
            pre.set_params(moving_average=MovingAverage(window=int(params["ma_window"])))
        model.set_params(component=comp, preprocess=pre, lags=int(params.get("lags", self.lags)))
        return model

    def _initial(self, space) -> list[dict[str, Any]] | None:
        """The template's own settings as one individual of the first generation, when they lie in the space:
        the GA starts from the plain BPNN and keeps the best it has seen (elitism)."""
        model = self._template()
        comp, pre = model._component_template(), model._preprocess_template()
        ma = pre.moving_average
        own = {"hidden": comp.hidden, "lr": comp.lr, "epochs": comp.epochs, "lags": self.lags,
               "ma_window": 1 if ma is None else int(ma.window)}
        values = {p.name: own[p.name] for p in space}
        try:
            space.encode(values)
        except ConfigError:
            return None
        return [values]

    @property
    def min_history(self) -> int:
        if hasattr(self, "best_"):
            return self.best_.min_history
        high = {p.name: int(p.high) for p in self._genes()}
        return max(high.get("lags", 1), high.get("ma_window", 1) - 1, self._template().min_history)

    # -- fitting --------------------------------------------------------------------------------------------
    def fit(self, frame: pd.DataFrame, val_fraction: float = 0.2, progress: Callable[[str], None] | None = None,
            augment: Augmenter | None = None) -> "GABPForecaster":
        from wq.tune.genetic import GeneticTuner

        t0 = time.perf_counter()
        self.check_params()
        self._check_frame(frame, self.targets + self.drivers)
        if int(round(len(frame) * val_fraction)) < self.horizon + 1:
            raise ConfigError(f"{self.name}: the GA's fitness is the validation error: needs a validation tail "
                              f"([split] validation > 0) of at least {self.horizon + 1} rows")
        fitness = _ValidationFitness(self, frame, val_fraction, augment)
        log = (lambda message: progress(f"{self.name} {message}")) if progress else (lambda message: None)
        pop = int(self.ga_population)
        space = self.search_space()
        # binary: the classic GA mutates every child, each bit flipping with probability 1 / (genes x bits)
        mutpb = 1.0 if self.ga_encoding == "binary" else 0.3
        tuner = GeneticTuner(space, fitness, population=pop, generations=int(self.ga_generations), mutpb=mutpb,
                             encoding=self.ga_encoding, bits=int(self.ga_bits), hof_size=max(1, min(3, pop // 4)),
                             seed=int(self.seed), initial=self._initial(space), log=log)
        result = tuner.run()
        if result.best_params is None or not math.isfinite(result.best_fitness):
            errors = result.evaluations["error"].dropna() if "error" in result.evaluations else []
            raise DataError(f"{self.name}: no candidate network could be fitted"
                            + (f"; first error: {errors.iloc[0]}" if len(errors) else ""))
        best = fitness.best
        if best is None or best[1] != result.best_params:  # not expected: candidates are deterministic
            kwargs = {"augment": augment} if augment is not None else {}
            best = (result.best_fitness, result.best_params,
                    self.candidate(result.best_params).fit(frame, val_fraction=val_fraction, **kwargs))
        self.best_fitness_, self.best_params_, self.best_ = best[0], {**self.fixed(), **best[1]}, best[2]
        self.ga_ = {"evaluations": int(result.n_evals), "stopped_because": result.stopped_because,
                    "encoding": self.ga_encoding, "metric": FITNESS_METRIC,
                    "logbook": {k: [v if math.isfinite(v) else None for v in map(float, col)]
                                for k, col in result.logbook[["gen", "nevals", "min", "mean", "best"]].items()}}
        self.freq_, self.n_fit_ = self.best_.freq_, self.best_.n_fit_
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def _predict_positions(self, frame: pd.DataFrame, positions: np.ndarray) -> np.ndarray:
        return self.best_._predict_positions(frame, positions)

    # -- persistence ----------------------------------------------------------------------------------------
    def get_state(self) -> dict:
        params = self.get_params(deep=False)
        template = self._template()
        params["preprocess"] = template._preprocess_template()._params_state()
        comp = template._component_template()
        params["component"] = {"kind": comp.kind, **comp.get_params(deep=False)}
        return {"settings": params, "best_params": self.best_params_, "best_fitness": self.best_fitness_,
                "ga": self.ga_, "fit_seconds": getattr(self, "fit_seconds_", 0.0), "best": self.best_.get_state()}

    def blobs(self) -> dict[str, bytes]:
        return self.best_.blobs()

    @classmethod
    def from_state(cls, state: dict, files: dict[str, bytes]) -> "GABPForecaster":
        from wq.preprocess.pipeline import Preprocessor

        settings = dict(state["settings"])
        settings["preprocess"] = Preprocessor._from_params_state(settings["preprocess"])
        settings["component"] = _component(settings["component"])
        obj = cls(**settings)
        obj.check_params()
        obj.best_ = WindowForecaster.from_state(state["best"], files)
        obj.best_params_ = dict(state["best_params"])
        obj.best_fitness_ = float(state["best_fitness"])
        obj.ga_ = dict(state["ga"])
        obj.fit_seconds_ = float(state.get("fit_seconds", 0.0))
        obj.freq_, obj.n_fit_ = obj.best_.freq_, obj.best_.n_fit_
        return obj
