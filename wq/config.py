"""Pipeline files: TOML -> one typed, validated :class:`Pipeline`.

Every table of a pipeline is a :class:`~wq.estimator.Params` model (pydantic) that owns its defaults, types,
ranges and cross-field rules; the preprocessing and model tables are the very models the estimators declare
their parameters with (:class:`~wq.preprocess.PreprocessParams`, :class:`~wq.models.params.NeuralSettings` ...),
so each default and each check of a setting lives in one place. A missing key takes its default, also inside
a table (``wavelet = { level = 3 }`` keeps the other wavelet defaults); unknown tables or keys are errors (a
typo must not silently fall back to a default); the whole pipeline is checked when it loads, so a bad value
fails before any fitting with one line naming the table, key and allowed values.

Why pydantic: typed fields with ranges and literal choices give exact messages for free (``[model] lr: Input
should be a valid number (got 'fast')``), nested tables merge with their defaults by construction, strict mode
refuses ``"3"`` where a number belongs, and ``validate_assignment`` keeps an edited pipeline valid. The
``[data]`` table is checked by the data layer's own spec (:class:`wq.data.load.DataSpec`).

Settings have nested names, as scikit-learn's parameters: ``model__lags``, ``preprocess__wavelet__level``
(:meth:`Pipeline.get_params`, :meth:`Pipeline.with_params`); the tuner's search space is keyed by them.
Relative data paths are resolved against the pipeline file's folder.
"""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any

from pydantic import ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from wq.errors import ConfigError
from wq.estimator import Int, Params, config_error, suggest
from wq.preprocess.pipeline import PreprocessParams
from wq.settings import (TUNABLE, AugmentParams, BatchParams, CompareParams, DataTable, EvaluateParams, LimitsParams,
                         ModelParams,
                         SplitParams, TuneParams, VariantParams, _value_error)

__all__ = ["Pipeline", "DEFAULT_PIPELINE", "SplitParams", "ModelParams", "CompareParams", "EvaluateParams",
           "AugmentParams", "TuneParams", "BatchParams", "DataTable", "TUNABLE"]

DEFAULT_PIPELINE = Path(__file__).resolve().parent / "samples" / "sample.toml"
"""The pipeline ``wq run`` runs when none is given: next-day effluent quality of the simulated wetland."""

_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class Pipeline(Params):
    """A validated pipeline: one typed table per TOML table; ``source`` and ``base_dir`` say where it came
    from (relative data paths are resolved against ``base_dir``)."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_assignment=True)

    name: str = "pipeline"
    seed: Annotated[Int, Field(ge=0, lt=2**32)] = 7
    description: str = ""
    data: DataTable = DataTable()
    split: SplitParams = SplitParams()
    preprocess: PreprocessParams = PreprocessParams()
    model: ModelParams = ModelParams()
    compare: CompareParams = CompareParams()
    evaluate: EvaluateParams = EvaluateParams()
    augment: AugmentParams = AugmentParams()
    tune: TuneParams = TuneParams()
    batch: BatchParams = BatchParams()
    limits: LimitsParams = LimitsParams()

    _source: Path | None = PrivateAttr(default=None)
    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not _PLAIN_NAME.match(value) or value in (".", ".."):
            raise ValueError(f"name must be a plain file name (letters, digits, '.', '_', '-'; it names the "
                             f"default output folder reports/<name>), got {value!r}")
        return value

    @model_validator(mode="after")
    def _cross_table(self) -> "Pipeline":
        from wq.models.registry import RECIPES

        if not self.targets:
            if getattr(self.data, "sites", None):
                raise ValueError("[data] target is missing: a wide multi-site file (sites = [...]) still needs "
                                 "target = the name of the quantity its site columns hold, e.g. \"demand_m3h\" "
                                 "(forecasts are stored as <target>@<site>)")
            raise ValueError("[data] target is missing: name the column(s) to forecast")
        for name in self.models_used:
            if RECIPES.get(name, {}).get("parts") == "dual" and self.preprocess.wavelet is None:
                raise ValueError(f"model {name!r} splits the target with the wavelet stage: set [preprocess] "
                                 f"wavelet (or leave {name!r} out)")
        if self.tune.space:
            from wq.tune.space import Space

            for p in Space.from_mapping(self.tune.space):
                _value_error(self.check_tunable, p.name)
        for name, variant in self.compare.variants.items():
            self._check_variant(name, variant)
        for target in self.limits.targets:
            if target not in self.targets:
                raise ValueError(f"[limits] {target}: not a target of the pipeline{suggest(target, self.targets)}; "
                                 f"targets: {', '.join(self.targets)}")
        return self

    def _check_variant(self, name: str, variant: VariantParams) -> None:
        where = f"[compare.variants.{name}]"
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$", name):
            raise ValueError(f"{where}: a variant name is letters, digits, '_' and '-' (it labels models as "
                             f"model/{name})")
        missing = [m for m in variant.models if m not in self.models]
        if missing:
            raise ValueError(f"{where} models {missing} are not models of the run ([model] name or [compare] "
                             f"models): a variant is compared with the model as declared")
        for key in variant.settings:  # whole tables too (moving_average = false); with_params checks the names
            parts = str(key).replace(".", "__").split("__")
            if parts[0] not in TUNABLE or parts[:2] == ["model", "name"]:
                raise ValueError(f"{where} settings {key!r}: only model (not its name), preprocess and augment "
                                 f"settings can change in a variant")
        try:
            self.variant(name)
        except ConfigError as exc:
            raise ValueError(f"{where}: {exc}") from None

    def variant(self, name: str) -> "Pipeline":
        """The pipeline of variant ``name`` of ``[compare.variants]``: its settings applied, no variants."""
        settings = self.compare.variants[name].settings
        return self.with_params(compare__variants={}, **settings)

    # -- construction ----------------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, given: dict, source: Path | None = None, base_dir: Path | None = None) -> "Pipeline":
        """Validate a pipeline table (ConfigError on the first problem, one line)."""
        if not isinstance(given, dict):
            raise ConfigError("a pipeline must be a table")
        unknown = [k for k in given if k not in cls.model_fields]
        if unknown:
            key = unknown[0]
            raise ConfigError(f"unknown section or key {key!r}{suggest(key, cls.model_fields)} in the pipeline; "
                              f"valid: {', '.join(cls.model_fields)}")
        try:
            pipe = cls.model_validate(copy.deepcopy(given))
        except ValidationError as exc:
            raise config_error(exc, "", cls) from None
        pipe._source = source
        pipe._base_dir = Path(base_dir) if base_dir else (source.parent if source else Path.cwd())
        return pipe

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Pipeline":
        """Read and validate a pipeline file.

        Parameters
        ----------
        path : str or Path, optional
            A TOML pipeline file (default: :data:`DEFAULT_PIPELINE`, the sample wetland pipeline).

        Returns
        -------
        Pipeline
            Every table typed and checked; relative data paths resolved against the file's folder.

        Raises
        ------
        wq.errors.ConfigError
            One line naming the file, table, key and allowed values, for any bad or unknown setting.
        """
        path = Path(path) if path else DEFAULT_PIPELINE
        if not path.is_file():
            raise ConfigError(f"pipeline file {path} does not exist")
        try:
            given = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        return cls.from_dict(given, source=path.resolve(), base_dir=path.resolve().parent)

    def copy(self) -> "Pipeline":
        """An independent copy (same source and base folder)."""
        return self._rebuilt(self.to_dict())

    def _rebuilt(self, table: dict) -> "Pipeline":
        return type(self).from_dict(table, self._source, self._base_dir)

    @property
    def source(self) -> Path | None:
        return self._source

    @property
    def base_dir(self) -> Path:
        return self._base_dir

    # -- nested parameters -----------------------------------------------------------------------------------
    def check_against_data(self, n_rows: int, source: str = "the data") -> None:
        """Cross-check the window settings against the data once its length is known, before any fitting.

        Parameters
        ----------
        n_rows : int
            Rows of the loaded data (after gap handling and edge trimming).
        source : str
            What the data are, for the message (a file name).

        Raises
        ------
        wq.errors.ConfigError
            When ``[model] lags`` and ``horizon`` leave too few training windows (the learned models need at
            least ``lags + horizon + 10`` rows before the validation tail of the training part).
        """
        from wq.evaluate.backtest import split_point

        start = split_point(n_rows, self.split.test)
        n_fit = start - int(round(start * self.split.validation))
        m = self.model
        need = m.lags + m.horizon + 10
        if n_fit < need:
            raise ConfigError(
                f"[model] lags = {m.lags} with horizon = {m.horizon} needs at least {need} training rows before the "
                f"validation tail; {source} has {n_rows} rows, of which {n_fit} are left for fitting: lower lags "
                f"or use a longer record")

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Every setting by its nested name (``model__lags``, ``preprocess__wavelet__level``; a disabled stage
        is ``preprocess__wavelet = None``)."""
        out: dict[str, Any] = {}

        def walk(prefix: str, node: Any) -> None:
            for key, value in node.items():
                name = f"{prefix}__{key}" if prefix else key
                if isinstance(value, dict) and key not in ("space", "settings", "ga_space", "variants") \
                        and prefix != "data":
                    walk(name, value)
                else:
                    out[name] = value

        walk("", self.to_dict(keep_none=True))
        return out

    def with_params(self, **params: Any) -> "Pipeline":
        """A new validated pipeline with settings changed by nested name (``with_params(model__lags=9)``;
        dotted names ``"model.lags"`` are accepted too). Unknown names and bad values raise ConfigError."""
        table = self.to_dict(keep_none=True)
        for key, value in params.items():
            parts = key.replace(".", "__").split("__")
            node = table
            for i, part in enumerate(parts[:-1]):
                if not isinstance(node.get(part), dict):
                    if part in node and node[part] is None:  # switching a disabled stage on
                        node[part] = {}
                    else:
                        where = "__".join(parts[: i + 1])
                        raise ConfigError(f"unknown setting {key!r}: {where!r} is not a table")
                node = node[part]
            node[parts[-1]] = value.item() if hasattr(value, "item") and not isinstance(value, (list, dict)) else value
        return self._rebuilt(table)

    def check_tunable(self, name: str) -> None:
        """Raise ConfigError unless ``name`` (nested, ``model__lags``; dotted ``model.lags`` accepted) is a
        setting the tuner may change: of [model] (not its name), of an enabled [preprocess] stage, or of
        [augment]."""
        where = f"[tune.space] {name!r}"
        key = str(name).replace(".", "__")
        parts = key.split("__")
        if parts[0] not in TUNABLE:
            raise ConfigError(f"{where}: only model, preprocess and augment settings can be tuned "
                              f"(tuning {parts[0]!r} could move the test rows or change what is measured)")
        if key == "model__name":
            raise ConfigError(f"{where}: the model is fixed while tuning; tune each model in its own run")
        params = self.get_params()
        if key in params and not isinstance(params[key], dict):
            return
        if len(parts) == 3 and parts[0] == "preprocess" and params.get(f"preprocess__{parts[1]}", 0) is None:
            raise ConfigError(f"{where}: the pipeline has no {parts[1]} stage ([preprocess] {parts[1]} = false); "
                              f"enable it or drop this setting")
        valid = [k for k in params if k.split("__")[0] in TUNABLE and k != "model__name"]
        raise ConfigError(f"{where}: not a setting{suggest(key, valid)}; valid: {', '.join(valid)}")

    # -- views ----------------------------------------------------------------------------------------------
    @property
    def targets(self) -> list[str]:
        return list(self.data.value("targets"))

    @property
    def drivers(self) -> list[str]:
        return list(self.data.value("drivers"))

    @property
    def calendar(self) -> list[str]:
        return list(self.data.value("calendar"))

    @property
    def future_drivers(self) -> list[str]:
        """Drivers known for the target steps at the origin (:mod:`wq.data.future`)."""
        return list(self.data.value("future_drivers"))

    @property
    def perfect_forecast(self) -> bool:
        """True when known-future drivers take the observed values (an upper bound of skill, backtests only)."""
        return bool(self.future_drivers) and self.data.value("future_source") == "observed"

    @property
    def holidays(self):
        return self.data.value("holidays")

    @property
    def model_name(self) -> str:
        return self.model.name

    @property
    def models(self) -> list[str]:
        """The declared model, then the comparison models, without repeats."""
        return list(dict.fromkeys([self.model.name, *self.compare.models]))

    @property
    def models_used(self) -> list[str]:
        """The models of the run and those they are made of: an ensemble's members, auto's candidates."""
        names = list(self.models)
        if "auto" in names:
            names += self.model.candidates
        if "ensemble" in names:
            names += self.model.members
        return list(dict.fromkeys(names))

    @property
    def wavelet_mode(self) -> str:
        wav = self.preprocess.wavelet
        return "none" if wav is None else getattr(wav, "mode", "causal")

    def data_spec(self, path: str | Path | None = None):
        """The data layer's :class:`~wq.data.load.DataSpec` for this pipeline (``path`` overrides the file)."""
        from wq.data.load import DataSpec

        table = self.data.mapping()
        if path is not None:
            table["path"] = str(Path(path).resolve())
        if "path" not in table:
            raise ConfigError("[data] path is missing: give the data file (or --data PATH)")
        return DataSpec.from_mapping(table, base_dir=self.base_dir)

    def make_model(self, name: str | None = None, seed: int | None = None):
        """The unfitted forecaster ``name`` (default: the declared model) with this pipeline's settings."""
        from wq.models.registry import make_model

        m, settings = self.model, self.model.model_dump()
        if self.evaluate.intervals in ("quantile", "cqr") and self.evaluate.levels and not settings.get("quantiles"):
            from wq.evaluate.quantile import taus

            settings["quantiles"] = taus(self.evaluate.levels)  # hgb fits quantile regressors for the intervals
        return make_model(
            name or m.name, targets=self.targets, drivers=self.drivers, calendar=self.calendar,
            preprocess=self.preprocess.build(), model=settings, seed=self.seed if seed is None else seed,
            season=m.season or None, holidays=self.holidays, lags=m.lags, horizon=m.horizon, change=m.change,
            future_drivers=self.future_drivers, calendar_tz=self.data.value("tz"),
        )

    # -- output ---------------------------------------------------------------------------------------------
    def to_dict(self, keep_none: bool = False) -> dict[str, Any]:
        """The settings as plain tables (every default filled in); disabled stages are ``False`` (or None
        with ``keep_none``), as a pipeline file writes them."""
        out = self.model_dump(mode="python")
        out["data"] = self.data.mapping()
        if "targets" in out["data"]:
            out["data"]["target"] = out["data"].pop("targets")
        if not keep_none:
            for stage, value in list(out["preprocess"].items()):
                if value is None:
                    out["preprocess"][stage] = False
        return copy.deepcopy(out)

    def to_toml(self) -> str:
        """The whole pipeline as TOML (data paths made absolute, so the file runs from anywhere)."""
        import tomli_w

        table = self.to_dict()
        data = table["data"]
        for key in ("path", "drivers_path", "future_drivers_file"):
            if key in data:
                p = Path(data[key])
                data[key] = str(p if p.is_absolute() else (self.base_dir / p).resolve())
        return tomli_w.dumps(_drop_none(table))


def _drop_none(d):
    if isinstance(d, dict):
        return {k: _drop_none(v) for k, v in d.items() if v is not None}
    if isinstance(d, list):
        return [_drop_none(v) for v in d]
    return d
