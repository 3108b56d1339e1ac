"""Typed parameters of the forecasters and their components: each default and check in one place.

The pipeline's ``[model]`` table (:class:`ModelParams`) is made of the same pieces: the window settings every
learned model shares, the network settings of the neural components and the regressor settings of the
scikit-learn components. No torch or scikit-learn import here: the settings load before any of them is needed.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from wq.estimator import Float, Int, Params

__all__ = ["HorizonParams", "WindowParams", "NeuralSettings", "NeuralParams", "TabularSettings", "TabularParams",
           "CELLS", "ESTIMATORS"]

CELLS = ("lstm", "rnn", "gru", "mlp")
ESTIMATORS = ("svr", "hgb")


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


class TabularParams(TabularSettings):
    """A scikit-learn component: ``svr`` (RBF SVR) or ``hgb`` (histogram gradient boosting), and its settings."""

    estimator: Literal["svr", "hgb"] = "svr"
