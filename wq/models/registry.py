"""Registry of forecasters by name: the study's models, its comparison models and plain baselines.

| name | target parts | drivers | component |
|---|---|---|---|
| dwt-pca-lstm | denoised + residual (dual) | PCs | LSTM |
| lstm | cleaned target | all drivers (scaled) | LSTM |
| dwt-lstm | dual | all drivers | LSTM |
| pca-lstm | cleaned target | PCs | LSTM |
| dwt-pca-rnn | dual | PCs | plain RNN (tanh) |
| dwt-pca-gru | dual | PCs | GRU |
| dwt-pca-bp | dual | PCs | MLP, one hidden layer of 20 sigmoid units |
| dwt-pca-svm | dual | PCs | RBF SVR, C = 10 |
| hgb | cleaned target | all drivers | HistGradientBoosting |
| persistence | observed | - | y(t+s) = y(t) |
| seasonal-naive | observed | - | same phase of the last season |

A new model is one entry here (and a component class if it needs a new kind).
"""

from __future__ import annotations

from wq.errors import ConfigError

RECIPES: dict[str, dict] = {
    "dwt-pca-lstm": {"parts": "dual", "driver_repr": "pcs", "component": {"kind": "neural", "cell": "lstm"}},
    "lstm": {"parts": "single", "driver_repr": "drivers", "component": {"kind": "neural", "cell": "lstm"}},
    "dwt-lstm": {"parts": "dual", "driver_repr": "drivers", "component": {"kind": "neural", "cell": "lstm"}},
    "pca-lstm": {"parts": "single", "driver_repr": "pcs", "component": {"kind": "neural", "cell": "lstm"}},
    "dwt-pca-rnn": {"parts": "dual", "driver_repr": "pcs", "component": {"kind": "neural", "cell": "rnn"}},
    "dwt-pca-gru": {"parts": "dual", "driver_repr": "pcs", "component": {"kind": "neural", "cell": "gru"}},
    "dwt-pca-bp": {"parts": "dual", "driver_repr": "pcs",
                   "component": {"kind": "neural", "cell": "mlp", "hidden": 20, "layers": 1}},
    "dwt-pca-svm": {"parts": "dual", "driver_repr": "pcs", "component": {"kind": "tabular", "estimator": "svr", "C": 10.0}},
    "hgb": {"parts": "single", "driver_repr": "drivers", "component": {"kind": "tabular", "estimator": "hgb"}},
}
NAIVE = {"persistence": 1, "seasonal-naive": None}
MODEL_NAMES = tuple(NAIVE) + tuple(RECIPES)

# Settings of [model] that reach each component kind (others are ignored for that kind).
NEURAL_KEYS = ("hidden", "layers", "dropout", "epochs", "patience", "batch", "lr", "device")
TABULAR_KEYS = ("C", "epsilon", "max_iter", "learning_rate", "max_leaf_nodes", "l2_regularization")


def model_class(name: str):
    from wq.models.naive import NaiveForecaster
    from wq.models.windowed import WindowForecaster

    if name in NAIVE:
        return NaiveForecaster
    if name in RECIPES:
        return WindowForecaster
    raise ConfigError(f"unknown model {name!r}; known models: {', '.join(MODEL_NAMES)}")


def make_model(name: str, *, targets, drivers=(), calendar=(), lags: int = 7, horizon: int = 1,
               preprocess: dict | None = None, model: dict | None = None, seed: int = 0,
               season: int | None = None, holidays: str | None = "US", change: bool = False):
    """Build an unfitted forecaster by name. ``model`` holds the [model] settings (hidden, lr, ...): the
    fixed parts of a recipe (the BP network's 20 hidden units, the SVR's C = 10) win over them. ``change``:
    learned components forecast the change from the origin's value instead of the level."""
    from wq.models.naive import NaiveForecaster
    from wq.models.windowed import WindowForecaster

    model = dict(model or {})
    if name in NAIVE:
        season_ = 1 if name == "persistence" else season
        return NaiveForecaster(targets, horizon=horizon, seed=seed, season=season_, name=name)
    if name not in RECIPES:
        raise ConfigError(f"unknown model {name!r}; known models: {', '.join(MODEL_NAMES)}")
    recipe = RECIPES[name]
    comp = dict(recipe["component"])
    keys = NEURAL_KEYS if comp["kind"] == "neural" else TABULAR_KEYS
    for key in keys:
        if key in model and key not in comp:
            comp[key] = model[key]
    return WindowForecaster(name, targets, drivers=drivers, calendar=calendar, lags=lags, horizon=horizon,
                            preprocess=preprocess, parts=recipe["parts"], driver_repr=recipe["driver_repr"],
                            component=comp, seed=seed, holidays=holidays, change=change)
