"""Registry of forecasters by name: the study's models, its comparison models and plain baselines. One place to
add a model: an entry in :data:`RECIPES` (a learned model on windows) or :data:`NAIVE`; a new kind of regressor
is a component class plus its ``kind``.

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
| mlr | cleaned target | all drivers | ordinary least squares (multiple linear regression) |
| bpnn | cleaned target | all drivers | MLP, one hidden layer of ``hidden`` sigmoid units |
| ga-bpnn | cleaned target | all drivers | the BPNN, settings chosen by a GA inside ``fit`` |
| persistence | observed | - | y(t+s) = y(t) |
| seasonal-naive | observed | - | same phase of the last season |
| auto-ets, auto-arima, mstl | observed | - | statsforecast, fitted once, filtered causally (``stats`` extra) |
| ensemble | members' | members' | weighted mean of ``[model] members``, weights on the validation tail |
| auto | the pick's | the pick's | one of ``[model] candidates``, picked on folds inside the training part |
| weekly-naive | observed | - | same hour (phase) last week |
| weekly-mean4 | observed | - | mean of the last four weeks' same hour |

Loading a saved model of any kind (:func:`load_model`, :func:`model_from_files`) also lives here, so that
:mod:`wq.models.base` knows no concrete model.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Mapping, Sequence

from wq.errors import ArtifactError, ConfigError
from wq.estimator import suggest
from wq.models.base import Forecaster, read_directory, read_model_json
from wq.models.naive import NaiveForecaster
from wq.models.params import DEFAULT_CANDIDATES, DEFAULT_MEMBERS, GASettings, NeuralSettings, TabularSettings
from wq.models.windowed import WindowForecaster

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
    # The constructed-wetland study (Yang et al. 2023): MLR, BPNN and GA-BPNN beside its LSTM (= "lstm").
    "mlr": {"parts": "single", "driver_repr": "drivers", "component": {"kind": "tabular", "estimator": "ols"}},
    "bpnn": {"parts": "single", "driver_repr": "drivers", "component": {"kind": "neural", "cell": "mlp"}},
    "ga-bpnn": {"parts": "single", "driver_repr": "drivers", "component": {"kind": "neural", "cell": "mlp"},
                "search": "ga"},
}
NAIVE = {"persistence": 1, "seasonal-naive": None, "weekly-naive": "7D", "weekly-mean4": "7D"}
NAIVE_SEASONS = {"weekly-mean4": 4}
STATISTICAL = ("auto-ets", "auto-arima", "mstl")
COMBINED = ("ensemble", "auto")
MODEL_NAMES = tuple(NAIVE) + tuple(RECIPES) + STATISTICAL + COMBINED
CLASSES: dict[str, type[Forecaster]] = {"NaiveForecaster": NaiveForecaster, "WindowForecaster": WindowForecaster}

# Settings of [model] that reach each component kind (others are ignored for that kind).
COMPONENT_KEYS = {"neural": tuple(NeuralSettings.model_fields), "tabular": tuple(TabularSettings.model_fields)}


def check_name(name: str) -> str:
    """``name`` if it is a known model, else ConfigError listing the known ones."""
    if name not in MODEL_NAMES:
        raise ConfigError(f"unknown model {name!r}{suggest(name, MODEL_NAMES)}; known models: {', '.join(MODEL_NAMES)}")
    return name


def model_class(name: str) -> type[Forecaster]:
    """The class of the model called ``name``."""
    if check_name(name) in NAIVE:
        return NaiveForecaster
    if name in STATISTICAL or name in COMBINED:
        return _other_class({"ensemble": "EnsembleForecaster", "auto": "AutoForecaster"}.get(name, "StatForecaster"))
    return _ga_class() if RECIPES[name].get("search") == "ga" else WindowForecaster


def _ga_class() -> type[Forecaster]:
    """:class:`~wq.models.ga_bpnn.GABPForecaster`, imported when needed (it brings in DEAP)."""
    from wq.models.ga_bpnn import GABPForecaster

    return GABPForecaster


def _other_class(cls_name: str) -> type[Forecaster]:
    """The statistical, ensemble and auto classes, imported when needed (statsforecast, scipy)."""
    if cls_name == "StatForecaster":
        from wq.models.statistical import StatForecaster

        return StatForecaster
    if cls_name == "EnsembleForecaster":
        from wq.models.ensemble import EnsembleForecaster

        return EnsembleForecaster
    from wq.models.auto import AutoForecaster

    return AutoForecaster


def tunable_keys(name: str) -> tuple[str, ...]:
    """The ``[model]`` keys that reach model ``name``'s component and that its recipe does not fix."""
    if check_name(name) in NAIVE or name in STATISTICAL or name in COMBINED:
        return ()
    comp = RECIPES[name]["component"]
    return tuple(k for k in COMPONENT_KEYS[comp["kind"]] if k not in comp)


def make_component(spec: Mapping[str, Any]):
    """An unfitted component from a recipe's component table (``kind`` plus fixed settings) and settings."""
    spec = dict(spec)
    kind = spec.pop("kind")
    if kind == "neural":
        from wq.models.networks import NeuralComponent

        return NeuralComponent(**spec)
    from wq.models.tabular import TabularComponent

    return TabularComponent(**spec)


def _naive_kwargs(name: str, window: Mapping[str, Any]) -> dict[str, Any]:
    """The horizon and, for the weekly baselines, the period and number of seasons of a naive model."""
    kwargs: dict[str, Any] = {"horizon": window["horizon"]} if "horizon" in window else {}
    if isinstance(NAIVE[name], str):
        kwargs.update(period=NAIVE[name], seasons=NAIVE_SEASONS.get(name, 1))
    return kwargs


# size: most of it is the numpydoc of every parameter; the body is one branch per kind of model
def make_model(name: str, *, targets: Sequence[str], drivers: Sequence[str] = (), calendar: Sequence[str] = (),
               preprocess=None, model: Mapping[str, Any] | None = None, seed: int = 0, season: int | None = None,
               holidays: str | list[str] | None = "US", future_drivers: Sequence[str] = (),
               calendar_tz: str | None = None, **window: Any) -> Forecaster:
    """An unfitted forecaster by name, with sensible defaults: ``make_model("hgb", targets=["y"])``.

    Parameters
    ----------
    name : str
        A model name of :data:`MODEL_NAMES` (ConfigError listing them otherwise).
    targets, drivers, calendar : sequence of str
        Columns to forecast, lagged driver columns, calendar feature columns known in advance.
    preprocess : Preprocessor, optional
        An unfitted :class:`~wq.preprocess.Preprocessor` (None: the pipeline defaults).
    model : mapping, optional
        ``[model]`` settings (hidden, lr, C, ...) of which each component takes its own keys (the fixed parts
        of a recipe, the BP network's 20 hidden units and the SVR's C = 10, win over them).
    seed : int
        Fixes every random draw of fitting.
    season : int, optional
        Season length of the seasonal naive and the statistical models (None: from the data frequency).
    holidays : str or list of str, optional
        Country code(s) of the public-holiday calendar feature.
    future_drivers : sequence of str
        Drivers known for the target steps at the origin (:mod:`wq.data.future`; naive models ignore them).
    calendar_tz : str, optional
        The zone whose local wall time the calendar features of a learned model use (the pipeline's
        ``[data] tz``; None: UTC).
    **window
        ``lags``, ``horizon``, ``change`` (defaults: :class:`wq.models.params.WindowParams`).

    Returns
    -------
    Forecaster
        Unfitted; its parameters already checked (a bad combination fails here, before any data is read).
    """
    model = dict(model or {})
    if check_name(name) in STATISTICAL or name in COMBINED:  # the same settings, passed on to the members
        return _make_other(name, {**{k: v for k, v in locals().items() if k not in ("name", "window")}, **window})
    if name in NAIVE:
        unknown = sorted(set(window) - {"horizon", "lags", "change"})
        if unknown:
            raise ConfigError(f"make_model: unknown setting(s) {unknown}")
        season_ = 1 if name == "persistence" else season
        kwargs = _naive_kwargs(name, window)
        naive = NaiveForecaster(targets=list(targets), seed=seed, season=season_, name=name, **kwargs)
        naive.check_params()
        return naive
    recipe = RECIPES[name]
    comp = dict(recipe["component"])
    for key in COMPONENT_KEYS[comp["kind"]]:
        if key in model and key not in comp:
            comp[key] = model[key]
    cls, extra = WindowForecaster, {}
    if recipe.get("search") == "ga":
        cls, extra = _ga_class(), {k: model[k] for k in GASettings.model_fields if k in model}
    model = cls(name=name, targets=list(targets), drivers=list(drivers), calendar=list(calendar),
                preprocess=preprocess, parts=recipe["parts"], driver_repr=recipe["driver_repr"],
                component=make_component(comp), seed=seed, holidays=holidays, calendar_tz=calendar_tz,
                future_drivers=list(future_drivers), **window, **extra)
    model.check_params()  # a bad combination fails here, before any data is read
    return model


def _make_other(name: str, args: dict) -> Forecaster:
    """A statistical model, an ensemble (its members made by :func:`make_model` with the same settings) or an
    auto model (candidates made the same way when it fits)."""
    model = args["model"]
    base = {"targets": list(args["targets"]), "seed": args["seed"]}
    if "horizon" in args:
        base["horizon"] = args["horizon"]
    if name in STATISTICAL:
        obj = _other_class("StatForecaster")(name=name, season=args["season"], gaps=model.get("stat_gaps", "refuse"),
                                             **base)
    elif name == "ensemble":
        members = [make_model(m, **args) for m in model.get("members", DEFAULT_MEMBERS)]
        obj = _other_class("EnsembleForecaster")(name=name, members=members,
                                                 weights=model.get("weights", "stacked"), **base)
    else:
        obj = _other_class("AutoForecaster")(
            name=name, candidates=list(model.get("candidates", DEFAULT_CANDIDATES)),
            factory=functools.partial(_factory, args), folds=model.get("auto_folds", 2),
            span=model.get("auto_span"), metric=model.get("auto_metric", "MAPE"), **base)
    obj.check_params()
    return obj


def _factory(args: dict, name: str) -> Forecaster:
    """An unfitted ``name`` with the settings ``args`` of :func:`make_model` (auto's candidates)."""
    return make_model(name, **args)


def model_from_files(files: dict[str, bytes]) -> Forecaster:
    """A fitted forecaster of any kind from the files of :meth:`Forecaster.to_files`."""
    state = read_model_json(files)
    if state.get("class") in ("EnsembleForecaster", "AutoForecaster", "StatForecaster"):
        return _other_class(state["class"]).from_files(files)
    if state.get("class") == "GABPForecaster":
        return _ga_class().from_files(files)
    cls = CLASSES.get(state.get("class", "")) if "class" in state else model_class(state["model"])
    if cls is None:
        raise ArtifactError(f"saved model class {state.get('class')!r} is not one wq knows")
    return cls.from_files(files)


def load_model(directory: str | Path) -> Forecaster:
    """A fitted forecaster of any kind saved in ``directory``."""
    return model_from_files(read_directory(directory))
