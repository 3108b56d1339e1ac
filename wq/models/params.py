"""Typed parameters of the forecasters and their components: each default and check in one place.

The pipeline's ``[model]`` table (:class:`ModelParams`) is made of the same pieces: the window settings every
learned model shares, the network settings of the neural components and the regressor settings of the
scikit-learn components. No torch or scikit-learn import here: the settings load before any of them is needed.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from wq.estimator import Float, Int, Params

__all__ = ["HorizonParams", "WindowParams", "NeuralSettings", "NeuralParams", "TabularSettings", "TabularParams",
           "GASettings", "GA_GENES", "GA_SPACE", "CELLS", "ESTIMATORS", "CombineSettings", "DEFAULT_MEMBERS",
           "DEFAULT_CANDIDATES"]

CELLS = ("lstm", "rnn", "gru", "mlp")
ESTIMATORS = ("svr", "hgb", "ols")


class HorizonParams(Params):
    """What every forecaster forecasts: ``horizon`` steps ahead of each origin (direct multi-output)."""

    horizon: Annotated[Int, Field(ge=1, description="steps ahead forecast from each origin")] = 1


class WindowParams(HorizonParams):
    """Settings of the learned (windowed) forecasters."""

    lags: Annotated[Int, Field(ge=1, description="past steps of every input channel in a window")] = 7
    change: bool = Field(True, description="learn y(t+s) - y(t) instead of the level y(t+s)")


class NeuralSettings(Params):
    """Network and training settings of a neural component (the ``[model]`` keys of the networks)."""

    hidden: Annotated[Int, Field(ge=1, description="hidden units")] = 32
    layers: Annotated[Int, Field(ge=1, description="recurrent layers")] = 1
    dropout: Annotated[Float, Field(ge=0, lt=1)] = 0.1
    epochs: Annotated[Int, Field(ge=1, description="maximum training epochs")] = 300
    patience: Annotated[Int, Field(ge=1, description="early stopping: epochs without validation improvement")] = 20
    batch: Annotated[Int, Field(ge=1, description="mini-batch size")] = 64
    lr: Annotated[Float, Field(gt=0, le=1, description="Adam learning rate")] = 1e-3
    device: Literal["cpu", "cuda"] = "cpu"
    seeds: Annotated[Int, Field(ge=1, le=64, description="seed ensemble: networks trained as one batched network, "
                                                          "their forecasts averaged")] = 1


class NeuralParams(NeuralSettings):
    """A neural component: the cell (``lstm``, ``rnn``, ``gru`` or ``mlp``, the BP network) and its settings."""

    cell: Literal["lstm", "rnn", "gru", "mlp"] = "lstm"


class TabularSettings(Params):
    """Regressor settings of a scikit-learn component (the ``[model]`` keys of SVR and gradient boosting)."""

    C: Annotated[Float, Field(gt=0, description="SVR regularisation")] = 10.0
    epsilon: Annotated[Float, Field(ge=0, description="SVR epsilon-tube")] = 0.01
    max_iter: Annotated[Int, Field(ge=1, description="gradient boosting: maximum iterations")] = 300
    learning_rate: Annotated[Float, Field(gt=0, le=1, description="gradient boosting learning rate")] = 0.05
    max_leaf_nodes: Annotated[Int, Field(ge=2, description="gradient boosting: leaves per tree")] = 15
    l2_regularization: Annotated[Float, Field(ge=0)] = 0.0
    quantiles: list[Annotated[Float, Field(gt=0, lt=1)]] = Field(
        [], description="gradient boosting: quantile levels (tau) to fit quantile-loss models for, beside the "
                        "point model; set from [evaluate] levels by intervals = 'quantile' or 'cqr'")


class TabularParams(TabularSettings):
    """A scikit-learn component: ``svr`` (RBF SVR), ``hgb`` (histogram gradient boosting) or ``ols`` (ordinary
    least squares, the MLR of the constructed-wetland study; it has no settings), and its settings."""

    estimator: Literal["svr", "hgb", "ols"] = "svr"


GA_GENES = ("hidden", "lr", "epochs", "lags", "ma_window")
"""What the GA-BPNN's genetic algorithm chooses: hidden units, learning rate, epochs (the maximum; early stopping
still applies), lags and the trailing moving-average window of the target."""

GA_SPACE: dict[str, dict[str, Any]] = {
    "hidden": {"low": 2, "high": 32, "type": "int"},
    "lr": {"low": 3e-4, "high": 3e-2, "type": "log-float"},
    "epochs": {"low": 20, "high": 300, "type": "int"},
    "lags": {"low": 1, "high": 14, "type": "int"},
    "ma_window": {"low": 1, "high": 7, "type": "int"},
}
"""The GA-BPNN's default search ranges (``[tune.space]`` syntax, :class:`wq.tune.space.Param`)."""


class GASettings(Params):
    """The genetic algorithm the GA-BPNN runs inside ``fit`` (the ``ga_*`` keys of ``[model]``): population and
    generations (the budget: at most population x (generations + 1) fits), the encoding (``binary`` as in the
    study, or ``real``), bits per gene, and ``ga_space``: ranges replacing those of :data:`GA_SPACE` by gene
    name, e.g. ``{ lags = { low = 3, high = 10, type = "int" } }``."""

    ga_population: Annotated[Int, Field(ge=3, description="GA-BPNN: GA population")] = 6
    ga_generations: Annotated[Int, Field(ge=0, description="GA-BPNN: GA generations after the first")] = 3
    ga_encoding: Literal["real", "binary"] = "binary"
    ga_bits: Annotated[Int, Field(ge=1, le=30, description="GA-BPNN: bits per gene (binary encoding)")] = 8
    ga_space: dict[str, Any] = {}

    @field_validator("ga_space")
    @classmethod
    def _genes(cls, value: dict) -> dict:
        unknown = sorted(set(value) - set(GA_GENES))
        if unknown:
            raise ValueError(f"unknown gene(s) {unknown}; the GA-BPNN tunes {', '.join(GA_GENES)}")
        if value:  # (importing wq.tune only here: the default settings load without it)
            from wq.errors import ConfigError
            from wq.tune.space import Space

            try:
                Space.from_mapping(value)
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
        return value


DEFAULT_MEMBERS = ["dwt-pca-lstm", "hgb", "auto-ets"]
"""The ensemble's default members: the dual LSTM, gradient boosting and a statistical model."""

DEFAULT_CANDIDATES = ["persistence", "seasonal-naive", "hgb", "auto-ets", "dwt-pca-lstm", "ensemble"]
"""The ``auto`` model's default candidates (simplest first: ties go to the earlier)."""


class CombineSettings(Params):
    """Settings of the ``ensemble`` and ``auto`` models (:mod:`wq.models.ensemble`, :mod:`wq.models.auto`):
    the ensemble's ``members`` and ``weights`` (chosen on the validation tail), auto's ``candidates``, its
    rolling-origin folds inside the training part and the metric it picks by."""

    members: list[str] = Field(default_factory=lambda: list(DEFAULT_MEMBERS), min_length=1)
    weights: Literal["equal", "inverse-mse", "stacked"] = "stacked"
    candidates: list[str] = Field(default_factory=lambda: list(DEFAULT_CANDIDATES), min_length=1)
    auto_folds: Annotated[Int, Field(ge=1, description="auto: rolling-origin folds inside the training part")] = 2
    auto_metric: str = "MAPE"
    stat_gaps: Literal["refuse", "carry"] = Field("refuse", description=(
        "auto-ets / auto-arima / mstl on a record with gaps: refuse (an unbroken record is needed) or carry "
        "(the last observed value carried forward, causal; forecasts only from observed origins)"))
    auto_span: Annotated[Float | None, Field(gt=0, lt=1, description=(
        "auto: the fraction of the training part its folds cover together (default: [split] validation); "
        "short records need more than the validation tail to choose on"))] = None
