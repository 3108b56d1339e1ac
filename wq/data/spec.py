"""Reading options of a data source: :class:`DataSpec`, its rule names and the checks of every option.

The behaviour each option selects is described in :mod:`wq.data.load`. A bad option raises
:class:`wq.errors.ConfigError` naming the key and the allowed values.
"""

from __future__ import annotations

import dataclasses
import os
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from pandas.tseries.frequencies import to_offset

from wq.errors import ConfigError

__all__ = ["DataSpec", "AGG_RULES", "FILL_METHODS", "LONG_GAP_RULES", "FUTURE_SOURCES", "SHOW"]

AGG_RULES = ("mean", "sum", "min", "max", "first", "last")
FILL_METHODS = ("ffill", "linear", "none")
LONG_GAP_RULES = ("error", "keep", "drop", "last-segment", "longest-segment")
FUTURE_SOURCES = ("file", "observed")  # of known-future drivers: issued forecasts, or observed (backtests only)
SHOW = 5  # how many offending items an error message lists


def _as_list(value: Any, key: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        if not all(isinstance(v, str) for v in value):
            raise ConfigError(f"data option {key!r} must be a list of strings, got {value!r}")
        return list(value)
    raise ConfigError(f"data option {key!r} must be a string or a list of strings, got {value!r}")


def _check_freq(value: str | None, key: str) -> None:
    if value is None:
        return
    try:
        to_offset(value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"data option {key!r}: {value!r} is not a pandas frequency (e.g. 'D', 'h', '15min')") from exc


def _check_tz(value: str | None, key: str) -> None:
    if value is None or value.upper() == "UTC":
        return
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"data option {key!r}: unknown time zone {value!r} "
                          f"(e.g. 'Europe/Copenhagen', 'UTC')") from exc


def _check_choice(value: Any, choices: Sequence[str], key: str) -> None:
    if value not in choices:
        raise ConfigError(f"data option {key!r} must be one of {', '.join(map(repr, choices))}; got {value!r}")


@dataclass
class DataSpec:
    """All options for reading one data source; see :mod:`wq.data.load` for how each behaves.

    Lists may be given as a single string. ``targets``/``drivers`` select the columns the pipeline uses;
    ``calendar`` and ``holidays`` are stored for the pipeline (known-future features, see
    :func:`wq.data.calendar.calendar_features`) and not used by :func:`wq.data.load.load`. ``future_drivers``
    (drivers known for the target steps at the origin) and the ``future_drivers_*`` keys are read by
    :mod:`wq.data.future`; with ``future_drivers_source = "observed"`` (perfect forecasts, backtests only) their
    columns are loaded with the data. ``site`` (the site column of a long file) or ``sites`` (one target column
    per site of a wide file) make a multi-site pipeline, read by :mod:`wq.sites.data`, not by
    :func:`wq.data.load.load`.
    """

    path: Path
    time: str | list[str] | None = None
    time_format: str | None = None
    names: list[str] | None = None
    na_values: list[str] | None = None
    sep: str | None = None
    sheet: str | int | None = None
    decimal: str = "."
    tz: str | None = None
    columns: list[str] | None = None
    targets: list[str] = field(default_factory=list)
    drivers: list[str] = field(default_factory=list)
    calendar: list[str] = field(default_factory=list)
    holidays: str | list[str] | None = "US"
    drivers_path: Path | None = None
    drivers_time: str | None = None
    drivers_time_format: str | None = None
    drivers_tz: str | None = None
    drivers_sep: str | None = None
    drivers_na_values: list[str] | None = None
    drivers_sheet: str | int | None = None
    drivers_names: list[str] | None = None
    future_drivers: list[str] = field(default_factory=list)
    future_drivers_source: str | None = None
    future_drivers_file: Path | None = None
    future_drivers_issue_time: str = "issue_time"
    future_drivers_valid_time: str = "valid_time"
    future_drivers_time_format: str | None = None
    future_drivers_tz: str | None = None
    freq: str | None = None
    resample: str | None = None
    agg: dict[str, str] = field(default_factory=dict)
    min_coverage: float = 0.75
    duplicates: str | None = None
    fill_limit: int = 3
    fill_method: str = "ffill"
    long_gaps: str = "error"
    trim_edges: bool = True
    min_rows: int = 2
    where: dict[str, Any] = field(default_factory=dict)
    site: str | None = None
    sites: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._check_paths()
        self._check_time()
        self._check_names()
        self._check_where()
        if self.site and self.sites:
            raise ConfigError("[data] has both 'site' (the site column of a long file) and 'sites' (the site columns "
                              "of a wide file); use one")
        both = sorted(set(self.targets) & set(self.drivers))
        if both:
            raise ConfigError(f"columns {both} are listed both as target and as driver")
        _check_freq(self.freq, "freq")
        _check_freq(self.resample, "resample")
        _check_tz(self.tz, "tz")
        _check_tz(self.drivers_tz, "drivers_tz")
        _check_tz(self.future_drivers_tz, "future_drivers_tz")
        self._check_future()
        self._check_rules()
        self._check_numbers()
        if self.calendar:
            from wq.data.calendar import FEATURES

            unknown = [c for c in self.calendar if c not in FEATURES]
            if unknown:
                raise ConfigError(f"unknown calendar features {unknown}; valid: {', '.join(FEATURES)}")

    def _check_paths(self) -> None:
        if self.path is None or (isinstance(self.path, str) and not self.path.strip()):
            raise ConfigError("data option 'path' is required")
        if not isinstance(self.path, (str, Path)):
            raise ConfigError(f"data option 'path' must be a file path, got {self.path!r}")
        self.path = Path(self.path)
        for key in ("drivers_path", "future_drivers_file"):
            value = getattr(self, key)
            if value is not None:
                if not isinstance(value, (str, Path)):
                    raise ConfigError(f"data option {key!r} must be a file path, got {value!r}")
                setattr(self, key, Path(value))

    def _check_future(self) -> None:
        """Known-future drivers: not targets, and an explicit source of their values."""
        if not self.future_drivers:
            return
        clash = sorted(set(self.future_drivers) & set(self.targets))
        if clash:
            raise ConfigError(f"future_drivers {clash} are targets; a target's future is what is forecast")
        if self.future_drivers_source is not None:
            _check_choice(self.future_drivers_source, FUTURE_SOURCES, "future_drivers_source")
        if self.future_source == "file" and self.future_drivers_file is None:
            raise ConfigError("future_drivers need their values: give future_drivers_file (issued forecasts) or "
                              "set future_drivers_source = 'observed' (perfect forecasts: backtests only, an "
                              "upper bound of skill)")

    @property
    def future_source(self) -> str | None:
        """Where known-future driver values come from: ``"file"`` (issued forecasts, the default) or
        ``"observed"`` (explicit only); None without future drivers."""
        if not self.future_drivers:
            return None
        return self.future_drivers_source or "file"

    @property
    def loaded_columns(self) -> list[str]:
        """Columns named for loading: ``columns``, targets, drivers, and observed-source future drivers."""
        extra = self.future_drivers if self.future_source == "observed" else []
        return list(dict.fromkeys((self.columns or []) + self.targets + self.drivers + extra))

    def _check_names(self) -> None:
        """Lists of names (a single string is a list of one) and the string-valued options."""
        for key in ("names", "na_values", "columns", "drivers_na_values", "drivers_names"):
            setattr(self, key, _as_list(getattr(self, key), key))
        for key in ("targets", "drivers", "calendar", "future_drivers", "sites"):
            setattr(self, key, _as_list(getattr(self, key), key) or [])
        for key in ("time_format", "sep", "tz", "drivers_time", "drivers_time_format", "drivers_tz",
                    "drivers_sep", "freq", "resample", "duplicates", "future_drivers_source",
                    "future_drivers_issue_time", "future_drivers_valid_time", "future_drivers_time_format",
                    "future_drivers_tz", "site"):
            value = getattr(self, key)
            if value is not None and not isinstance(value, str):
                raise ConfigError(f"data option {key!r} must be a string, got {value!r}")
        for key in ("names", "drivers_names"):
            names = getattr(self, key)
            if names is not None:
                dup = sorted({n for n in names if names.count(n) > 1})
                if dup or not names:
                    raise ConfigError(f"data option {key!r} must be non-empty with unique names; repeated: {dup}")

    def _check_time(self) -> None:
        """``time``: one column, or several (e.g. year, month, day) whose values are joined with ``-``."""
        if isinstance(self.time, (list, tuple)):
            parts = _as_list(self.time, "time")
            if not parts or len(set(parts)) != len(parts):
                raise ConfigError(f"data option 'time' must be a column or a list of distinct columns, got "
                                  f"{self.time!r}")
            self.time = parts[0] if len(parts) == 1 else parts
        elif self.time is not None and not isinstance(self.time, str):
            raise ConfigError(f"data option 'time' must be a column name or a list of names, got {self.time!r}")

    def _check_where(self) -> None:
        """``where``: column -> value (or list of values); only rows whose cell equals one are read."""
        if not isinstance(self.where, Mapping):
            raise ConfigError(f"data option 'where' must map column -> value, got {self.where!r}")
        self.where = dict(self.where)
        for col, value in self.where.items():
            values = value if isinstance(value, (list, tuple)) else [value]
            if not values or not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in values):
                raise ConfigError(f"data option 'where[{col!r}]' must be a string or number or a list of them, "
                                  f"got {value!r}")

    def _check_rules(self) -> None:
        if not isinstance(self.agg, Mapping):
            raise ConfigError(f"data option 'agg' must map column -> rule, got {self.agg!r}")
        self.agg = dict(self.agg)
        for col, rule in self.agg.items():
            _check_choice(rule, AGG_RULES, f"agg[{col!r}]")
        if self.agg and self.resample is None:
            raise ConfigError("data option 'agg' needs 'resample' (the rule per column applies when resampling)")
        if self.duplicates is not None:
            _check_choice(self.duplicates, AGG_RULES, "duplicates")
        _check_choice(self.fill_method, FILL_METHODS, "fill_method")
        _check_choice(self.long_gaps, LONG_GAP_RULES, "long_gaps")
        if not isinstance(self.trim_edges, bool):
            raise ConfigError(f"data option 'trim_edges' must be true or false, got {self.trim_edges!r}")

    def _check_numbers(self) -> None:
        for key in ("fill_limit", "min_rows"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ConfigError(f"data option {key!r} must be a non-negative integer, got {value!r}")
        if isinstance(self.min_coverage, bool) or not isinstance(self.min_coverage, (int, float)) \
                or not 0.0 < float(self.min_coverage) <= 1.0:
            raise ConfigError(f"data option 'min_coverage' must be in (0, 1], got {self.min_coverage!r}")
        if not isinstance(self.decimal, str) or len(self.decimal) != 1:
            raise ConfigError(f"data option 'decimal' must be one character, got {self.decimal!r}")

    @classmethod
    def keys(cls) -> list[str]:
        """Valid keys of a ``[data]`` table (``target`` is accepted as an alias of ``targets``)."""
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_mapping(cls, d: Mapping[str, Any], base_dir: Path | str | None = None) -> "DataSpec":
        """Build a spec from a TOML ``[data]`` table. Unknown keys raise ConfigError listing the valid ones;
        relative ``path``/``drivers_path`` are resolved against ``base_dir`` (e.g. the pipeline file's folder)."""
        if not isinstance(d, Mapping):
            raise ConfigError(f"[data] must be a table, got {type(d).__name__}")
        d = dict(d)
        if "target" in d:
            if "targets" in d:
                raise ConfigError("[data] has both 'target' and 'targets'; use one")
            d["targets"] = d.pop("target")
        valid = cls.keys()
        unknown = sorted(k for k in d if k not in valid)
        if unknown:
            raise ConfigError(f"unknown [data] keys {unknown}; valid keys: {', '.join(valid + ['target'])}")
        if "path" not in d:
            raise ConfigError("[data] needs 'path'")
        if base_dir is not None:
            for key in ("path", "drivers_path", "future_drivers_file"):
                if isinstance(d.get(key), (str, Path)):
                    p = Path(d[key]).expanduser()
                    d[key] = p if p.is_absolute() else Path(os.path.normpath(Path(base_dir) / p))
        return cls(**d)

    def to_mapping(self) -> dict[str, Any]:
        """The spec as a JSON/TOML-ready dict (paths as strings, ``None`` values left out); inverse of
        :meth:`from_mapping`."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            out[f.name] = str(value) if isinstance(value, Path) else value
        return out

