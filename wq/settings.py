"""The tables of a pipeline file other than ``[preprocess]`` and the model's own settings: one typed, validated
:class:`~wq.estimator.Params` model each (``[data]``, ``[split]``, ``[model]``, ``[compare]``, ``[evaluate]``,
``[augment]``, ``[tune]``, ``[batch]``). :class:`wq.config.Pipeline` composes them; the reasons for pydantic
are in :mod:`wq.config`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from wq.errors import ConfigError
from wq.estimator import Float, Int, Params, suggest
from wq.models.params import CombineSettings, GASettings, NeuralSettings, TabularSettings, WindowParams

__all__ = ["SplitParams", "ModelParams", "VariantParams", "CompareParams", "EvaluateParams", "AugmentParams",
           "TuneParams", "BatchParams", "LimitParams", "LimitsParams", "DataTable", "TUNABLE"]

TUNABLE = ("model", "preprocess", "augment")
"""Tables whose settings the tuner may change (tuning ``split`` or ``data`` would move the test rows)."""


class DataTable(BaseModel):
    """``[data]``: the data layer's reading options (:class:`wq.data.load.DataSpec`; ``target`` is an alias of
    ``targets``). Checked by the data layer when the pipeline loads; ``path`` may come later (``--data``)."""

    model_config = ConfigDict(extra="allow", frozen=False)

    @model_validator(mode="before")
    @classmethod
    def _check(cls, values: Any) -> Any:
        from wq.data.load import DataSpec

        if not isinstance(values, dict):
            raise ValueError("[data] must be a table")
        values = dict(values)
        if "target" in values:
            if "targets" in values:
                raise ValueError("[data] has both 'target' and 'targets'; use one")
            values["targets"] = values.pop("target")
        if "timezone" in values:  # the long name of ``tz``
            if "tz" in values:
                raise ValueError("[data] has both 'timezone' and 'tz'; use one")
            values["tz"] = values.pop("timezone")
        try:
            DataSpec.from_mapping({"path": "<data file>", **values})
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return values

    def mapping(self) -> dict[str, Any]:
        """The table as given (with ``targets``)."""
        return dict(self.model_extra or {})

    def value(self, key: str) -> Any:
        """A value as the data layer reads it (its default when the table does not set it)."""
        from wq.data.load import DataSpec

        return getattr(DataSpec.from_mapping({"path": "<data file>", **self.mapping()}), key)


class SplitParams(Params):
    """``[split]``: the test period is the last ``test`` fraction (never seen by fitting, early stopping or any
    choice); ``validation`` is the tail of the rest (early stopping and model choice)."""

    test: Annotated[Float, Field(gt=0, lt=1)] = 0.4
    validation: Annotated[Float, Field(ge=0, lt=1)] = 0.2


class ModelParams(WindowParams, NeuralSettings, TabularSettings, GASettings, CombineSettings):
    """``[model]``: the declared model, its window settings and the settings of its components (each
    component takes its own keys; see :func:`wq.models.registry.make_model`); ``strategy``, ``pooling`` and
    ``rows``: the week-ahead model of a multi-site run (:mod:`wq.sites.run`)."""

    name: str = "dwt-pca-lstm"
    season: Annotated[Int, Field(ge=0, description="seasonal naive period; 0: from the frequency")] = 0
    strategy: Literal["direct", "recursive", "auto"] = Field(
        "direct", description="multi-site runs: direct (lead-time feature), recursive (one-step model fed back) or "
                              "auto (chosen on validation)")
    pooling: Literal["local", "global", "auto"] = Field(
        "auto", description="multi-site runs: a model per site, one across sites, or auto (chosen on validation)")
    rows: Annotated[Int, Field(ge=100, description="multi-site runs: training rows drawn per site")] = 40_000

    @field_validator("name")
    @classmethod
    def _known(cls, value: str) -> str:
        from wq.models.registry import check_name

        return _value_error(check_name, value)

    @field_validator("members", "candidates")
    @classmethod
    def _members(cls, value: list[str], info) -> list[str]:
        from wq.models.registry import check_name

        members = info.field_name == "members"
        what = "ensemble member" if members else "auto candidate"
        for name in value:
            if name == "auto" or (members and name == "ensemble"):
                itself = name == ("ensemble" if members else "auto")
                raise ValueError(f"{what} {name!r}: {'an ensemble' if members else 'auto'} cannot hold "
                                 + ("itself" if itself else f"an {name} model"))
            _value_error(check_name, name)
        if len(set(value)) != len(value):
            raise ValueError(f"{value} repeats a model")
        return value

    @field_validator("auto_metric")
    @classmethod
    def _auto_metric(cls, value: str) -> str:
        from wq.evaluate.metrics import canonical_name

        return _value_error(canonical_name, value)


class VariantParams(Params):
    """One ``[compare.variants.NAME]`` table: ``models`` (of the run) fitted and scored again with ``settings``
    changed (nested or dotted names of [model], [preprocess] or [augment], as [tune.space] names them), reported
    as ``model/NAME`` beside the models as declared (:mod:`wq.evaluate.variants`)."""

    models: list[str] = Field(min_length=1)
    settings: dict[str, Any] = Field(min_length=1)

    @field_validator("models")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        from wq.models.registry import check_name

        return [_value_error(check_name, v) for v in value]


class CompareParams(Params):
    """``[compare]``: the models fitted and scored beside the declared one; ``variants``: the same models again
    with some settings changed (e.g. without the moving average), each named by its table."""

    models: list[str] = []
    variants: dict[str, VariantParams] = {}

    @field_validator("models")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        from wq.models.registry import check_name

        return [_value_error(check_name, v) for v in value]


class EvaluateParams(Params):
    """``[evaluate]``: pMAPE's peak quantile, what MAPE does with zero observations, rolling-origin folds, and
    ``refit_every``: refit the models through the test period every so often, as an operator retrains (a
    duration such as ``"90D"``, a number of steps, or ``"none"``: fitted once on the training part;
    :func:`wq.evaluate.backtest.evaluate_split`). ``levels``: central prediction intervals per model, target and
    step (each in (0, 1); ``[]``: none); ``intervals``: ``"aci"`` (adaptive conformal, the default: better
    calibrated on the validation tails of every benchmark dataset, reports/benchmarks/intervals), ``"split"``
    conformal, ``"quantile"`` (hgb's quantile-loss regressors; other models: aci, with a warning) or ``"cqr"``
    (those conformalised on the validation tail; :mod:`wq.evaluate.quantile`); ``aci_gamma``: ACI's step size (:mod:`wq.evaluate.conformal`); ``blocks``: lead-time blocks scored
    as a whole (:func:`wq.evaluate.metrics.lead_blocks`)."""

    peak_quantile: Annotated[Float, Field(gt=0, lt=1)] = 0.9
    zeros: Literal["skip", "error"] = "skip"
    folds: Annotated[Int, Field(ge=0)] = 0
    refit_every: Int | str | None = None
    blocks: list[Annotated[list[Annotated[Int, Field(ge=1)]], Field(min_length=2, max_length=2)]] = Field(
        [], description="lead-time blocks [first, last] scored as a whole (MAE, max abs error); [] and a horizon "
                        ">= 2 days: the first day and the rest")
    levels: list[Float] = [0.8, 0.95]
    intervals: Literal["split", "aci", "quantile", "cqr"] = "aci"
    aci_gamma: Annotated[Float, Field(gt=0, lt=1, description="ACI step size (Gibbs & Candes 2021)")] = 0.005

    @field_validator("levels")
    @classmethod
    def _levels(cls, value: list[float]) -> list[float]:
        bad = [v for v in value if not 0 < v < 1]
        if bad:
            raise ValueError(f"levels must lie strictly between 0 and 1 (0.8 is an 80 % interval); got {bad}")
        if len(set(value)) != len(value):
            raise ValueError(f"levels has duplicates: {value}")
        return sorted(value)

    @field_validator("refit_every", mode="before")
    @classmethod
    def _refit_rule(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "")):
            return None
        if isinstance(value, str):
            import pandas as pd

            try:
                delta = pd.Timedelta(value.strip())
            except (ValueError, TypeError):
                raise ValueError(f"refit_every {value!r} is not a duration (e.g. '90D', '12h'), a number of "
                                 f"steps or 'none'") from None
            if delta <= pd.Timedelta(0):
                raise ValueError(f"refit_every {value!r} must be a positive duration")
            return value.strip()
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value < 1:
            raise ValueError(f"refit_every must be a duration (e.g. '90D'), a whole number of steps >= 1 or 'none'; "
                             f"got {value!r}")
        return int(value)


class AugmentParams(Params):
    """``[augment]``: synthetic training windows (:mod:`wq.augment.pipeline`); ``settings`` holds generator
    constructor arguments by method, e.g. ``{ "wgan-gp" = { lr = 1e-3 } }``."""

    method: str = "none"
    ratio: Annotated[Float, Field(ge=0, description="synthetic windows per real window")] = 0.0
    gate: bool = False
    epochs: Annotated[Int, Field(ge=0, description="generator epochs; 0: the generator's default")] = 0
    seed_offset: Int = 0
    settings: dict[str, dict[str, Any]] = {}

    @model_validator(mode="after")
    def _known(self) -> "AugmentParams":
        from wq.augment.pipeline import METHODS, generator_settings

        if self.method not in ("none", *METHODS):
            raise ValueError(f"method must be one of none, {', '.join(METHODS)}; got {self.method!r}"
                             f"{suggest(self.method, METHODS)}")
        unknown = sorted(set(self.settings) - set(METHODS))
        if unknown:
            raise ValueError(f"settings: unknown method(s) {unknown}; valid: {', '.join(METHODS)}")
        if self.method != "none":
            _value_error(generator_settings, self.method, self.epochs, self.settings.get(self.method))
        return self

    @property
    def enabled(self) -> bool:
        return self.method != "none" and self.ratio > 0


class TuneParams(Params):
    """``[tune]``: the search (:mod:`wq.tune`): strategy, GA sizes and operators, folds, metric, budget.
    ``encoding``: the GA's chromosomes, ``real`` genes or ``binary`` strings of ``bits`` bits per setting
    (:mod:`wq.tune.encoding`); ``selection`` / ``crossover`` unset: the encoding's classic operators
    (real: tournament, blend; binary: roulette, one-point). ``fidelity`` < 1 screens each GA generation with
    short training and trains only the best ``survivors`` fraction in full (:mod:`wq.tune.fidelity`)."""

    strategy: Literal["ga", "random", "optuna", "all"] = "ga"
    population: Annotated[Int, Field(ge=2)] = 12
    generations: Annotated[Int, Field(ge=0)] = 6
    cxpb: Annotated[Float, Field(ge=0, le=1)] = 0.7
    mutpb: Annotated[Float, Field(ge=0, le=1)] = 0.3
    encoding: Literal["real", "binary"] = "real"
    bits: Annotated[Int, Field(ge=1, le=30, description="bits per setting of a binary chromosome")] = 10
    selection: Literal["tournament", "roulette"] | None = None
    crossover: Literal["blend", "sbx", "one-point"] | None = None
    folds: Annotated[Int, Field(ge=1)] = 3
    metric: str = "MAPE"
    workers: Annotated[Int, Field(ge=-1, description="worker processes; -1: all cores")] = 1
    max_evals: Annotated[Int, Field(ge=0, description="0: no limit")] = 0
    time_limit: Annotated[Float, Field(ge=0, description="seconds; 0: no limit")] = 0.0
    epochs: Annotated[Int, Field(ge=0, description="maximum epochs while tuning; 0: [model] epochs")] = 0
    fidelity: Annotated[Float, Field(gt=0, le=1, description=(
        "GA screening: each generation is first trained with this fraction of the epochs and of the first "
        "fold's training rows, full training only for the best 'survivors'; 1: no screening"))] = 1.0
    survivors: Annotated[Float, Field(gt=0, le=1, description="fraction of a screened generation trained in full")] = 0.5
    space: dict[str, Any] = {}

    @model_validator(mode="after")
    def _crossover_fits_encoding(self) -> "TuneParams":
        if self.crossover is None:  # the encoding's own (and wq.tune is not imported while wq.config loads)
            return self
        from wq.tune.encoding import CROSSOVERS

        if self.crossover not in CROSSOVERS[self.encoding]:
            raise ValueError(f"crossover {self.crossover!r} does not apply to the {self.encoding} encoding; "
                             f"use {' or '.join(map(repr, CROSSOVERS[self.encoding]))}")
        return self

    @field_validator("workers")
    @classmethod
    def _workers(cls, value: int) -> int:
        if value == 0:
            raise ValueError("workers must be >= 1, or -1 for all cores")
        return value

    @field_validator("metric")
    @classmethod
    def _metric(cls, value: str) -> str:
        from wq.evaluate.metrics import canonical_name

        return _value_error(canonical_name, value)

    @field_validator("space")
    @classmethod
    def _space(cls, value: dict) -> dict:
        if value:
            from wq.tune.space import Space

            _value_error(Space.from_mapping, value)
        return value


class LimitParams(Params):
    """One target's limit in ``[limits]``: ``above`` (an exceedance is a value above it, e.g. a permit's
    NH3-N) or ``below`` (a value below it, e.g. dissolved oxygen); exactly one."""

    above: Float | None = None
    below: Float | None = None

    @model_validator(mode="after")
    def _one(self) -> "LimitParams":
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of above = <value> or below = <value>")
        return self

    @property
    def limit(self) -> tuple[str, float]:
        return ("above", self.above) if self.above is not None else ("below", self.below)


class LimitsParams(Params):
    """``[limits]``: a limit per target (``nh3n_out_mgl = { above = 5.0 }``, ``do_mgl = { below = 4.0 }``) and
    the thresholds on the forecast probability of crossing it: ``warn`` (default 0.3) and ``alarm`` (default
    0.6), 0 < warn <= alarm <= 1. The targets are checked against ``[data] targets`` when the pipeline loads."""

    warn: Annotated[Float, Field(gt=0, le=1)] = 0.3
    alarm: Annotated[Float, Field(gt=0, le=1)] = 0.6
    targets: dict[str, LimitParams] = {}

    @model_validator(mode="before")
    @classmethod
    def _collect(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        values = dict(values)
        targets = dict(values.pop("targets", {}) or {})
        for key in list(values):
            if key not in ("warn", "alarm"):
                targets[key] = values.pop(key)
        for key, table in targets.items():
            if not isinstance(table, (dict, LimitParams)):
                raise ValueError(f"{key}: a limit is a table, e.g. {key} = {{ above = 5.0 }}; got {table!r}")
        values["targets"] = targets
        return values

    @model_validator(mode="after")
    def _order(self) -> "LimitsParams":
        if self.warn > self.alarm:
            raise ValueError(f"warn ({self.warn}) must not exceed alarm ({self.alarm})")
        return self

    def limits(self) -> dict[str, tuple[str, float]]:
        """Target -> ("above" | "below", value)."""
        return {t: p.limit for t, p in self.targets.items()}

    def level(self, p: float) -> str:
        """``"alarm"``, ``"warn"`` or ``""`` for an exceedance probability."""
        return "alarm" if p >= self.alarm else "warn" if p >= self.warn else ""


class BatchParams(Params):
    """``[batch]``: operation of ``wq forecast`` / ``wq score``. ``max_staleness``: how old the last complete
    observation may be at the forecast origin, a duration (``"36h"``, ``"2D"``), ``"none"`` (never refuse), or
    ``""`` (the default: one step of the data's frequency); drift flag threshold and window."""

    max_staleness: str = ""
    drift_threshold: Annotated[Float, Field(ge=0)] = 0.0
    drift_window: Annotated[Int, Field(ge=1)] = 7


    @field_validator("max_staleness")
    @classmethod
    def _duration(cls, value: str) -> str:
        if value.strip().lower() in ("", "none"):
            return value.strip().lower()
        import pandas as pd

        try:
            delta = pd.Timedelta(value)
        except (ValueError, TypeError):
            raise ValueError(f"max_staleness {value!r} is not a duration (e.g. '36h', '2D') or 'none'") from None
        if delta < pd.Timedelta(0):
            raise ValueError(f"max_staleness {value!r} must not be negative")
        return value


def _value_error(fn, *args):
    """``fn(*args)``, a ConfigError turned into the ValueError pydantic reports with its location."""
    try:
        return fn(*args)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
