"""Search space of the tuner: named settings decoded from real genes in [0, 1].

Every strategy (GA, random search, Optuna) works on vectors u in [0, 1]^d; :class:`Space` decodes them
into pipeline settings, as in the design's GA section: "real-coded genes with bounds (integers rounded,
log-scale for rates, categorical by index)".

Decoding of one gene u (clipped to [0, 1]) by kind:

* ``float``: low + u (high - low), rounded to ``digits`` significant digits.
* ``log-float``: exp(ln low + u (ln high - ln low)), rounded to ``digits`` significant digits (low > 0).
* ``int``: low + min(floor(u n), n - 1) with n = high - low + 1, i.e. low - 1/2 + u n rounded to the
  nearest integer and kept within [low, high]; every integer gets an equal share of [0, 1].
* ``choice``: choices[min(floor(u k), k - 1)] for k choices.

Rounding floats to a few significant digits makes decoded settings readable and lets identical decoded
individuals share one evaluation (:meth:`Space.key`).

Setting names are the pipeline's nested setting names (``"model__lags"``, ``"preprocess__wavelet__level"``;
see :meth:`wq.config.Pipeline.get_params`); dotted TOML paths (``"model.lags"``) are accepted and converted.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wq.errors import ConfigError

KINDS = ("int", "float", "log-float", "choice")
_SPEC_KEYS = {"low", "high", "type", "choices", "digits"}

Value = int | float | str | bool


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


def _round_sig(x: float, digits: int | None) -> float:
    if digits is None or x == 0.0 or not math.isfinite(x):
        return float(x)
    return float(f"{x:.{digits}g}")


@dataclass(frozen=True)
class Param:
    """One tuned setting.

    ``kind`` is ``"int"``, ``"float"``, ``"log-float"`` (needs ``low``, ``high``) or ``"choice"`` (needs
    ``choices``). ``digits`` = significant digits kept by float decoding (None: full precision).
    Invalid declarations raise :class:`~wq.errors.ConfigError` naming the setting.
    """

    name: str
    kind: str
    low: float | int | None = None
    high: float | int | None = None
    choices: tuple[Value, ...] | None = None
    digits: int | None = 6

    def __post_init__(self) -> None:
        where = f"search space setting {self.name!r}"
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"search space: a setting needs a non-empty name, got {self.name!r}")
        if self.kind not in KINDS:
            raise ConfigError(f"{where}: type must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.kind == "choice":
            if self.low is not None or self.high is not None:
                raise ConfigError(f"{where}: a choice takes 'choices', not low/high")
            if isinstance(self.choices, (str, bytes)) or not isinstance(self.choices, Sequence):
                raise ConfigError(f"{where}: choices must be a non-empty list, got {self.choices!r}")
            choices = tuple(self.choices)
            if not choices:
                raise ConfigError(f"{where}: choices must be a non-empty list")
            for c in choices:
                if not isinstance(c, (str, bool)) and not _is_number(c):
                    raise ConfigError(f"{where}: choice {c!r} is not a string, number or boolean")
            if len(set(map(repr, choices))) != len(choices) or len(set(choices)) != len(choices):
                raise ConfigError(f"{where}: choices must be distinct, got {list(choices)!r}")
            object.__setattr__(self, "choices", tuple(c.item() if isinstance(c, np.generic) else c
                                                      for c in choices))
            return
        if self.choices is not None:
            raise ConfigError(f"{where}: type {self.kind!r} takes low/high, not choices")
        if not _is_number(self.low) or not _is_number(self.high):
            raise ConfigError(f"{where}: low and high must be numbers, got low={self.low!r}, high={self.high!r}")
        low, high = float(self.low), float(self.high)
        if not (math.isfinite(low) and math.isfinite(high)) or low > high:
            raise ConfigError(f"{where}: need finite low <= high, got low={self.low!r}, high={self.high!r}")
        if self.kind == "int":
            if not (low.is_integer() and high.is_integer()):
                raise ConfigError(f"{where}: an int setting needs integer bounds, got {self.low!r}..{self.high!r}")
            object.__setattr__(self, "low", int(low))
            object.__setattr__(self, "high", int(high))
        else:
            if self.kind == "log-float" and low <= 0:
                raise ConfigError(f"{where}: a log-float setting needs low > 0, got {self.low!r}")
            if self.digits is not None and (not isinstance(self.digits, int) or isinstance(self.digits, bool)
                                            or self.digits < 1):
                raise ConfigError(f"{where}: digits must be a positive integer, got {self.digits!r}")
            object.__setattr__(self, "low", low)
            object.__setattr__(self, "high", high)

    # --- decoding ------------------------------------------------------------------------------------------
    def decode(self, u: float) -> Value:
        """Setting value of gene ``u`` (clipped to [0, 1]); see the module docstring for the rules."""
        u = min(max(float(u), 0.0), 1.0)
        if self.kind == "choice":
            k = len(self.choices)
            return self.choices[min(int(math.floor(u * k)), k - 1)]
        if self.kind == "int":
            n = self.high - self.low + 1
            return int(self.low + min(int(math.floor(u * n)), n - 1))
        if self.kind == "float":
            x = self.low + u * (self.high - self.low)
        else:
            lo, hi = math.log(self.low), math.log(self.high)
            x = math.exp(lo + u * (hi - lo))
        return min(max(_round_sig(x, self.digits), self.low), self.high)

    def encode(self, value: Any) -> float:
        """A gene u in [0, 1] with ``decode(u) == value`` (up to float rounding): the centre of the value's
        share for int and choice. A value outside the setting's range raises ConfigError."""
        where = f"search space setting {self.name!r}"
        if self.kind == "choice":
            for i, c in enumerate(self.choices):
                if type(c) is type(value) and c == value or (_is_number(c) and _is_number(value) and c == value):
                    return (i + 0.5) / len(self.choices)
            raise ConfigError(f"{where}: {value!r} is not one of {list(self.choices)!r}")
        if not _is_number(value):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        v = float(value)
        if not (self.low <= v <= self.high):
            raise ConfigError(f"{where}: {value!r} is outside [{self.low}, {self.high}]")
        if self.kind == "int":
            if not v.is_integer():
                raise ConfigError(f"{where}: expected an integer, got {value!r}")
            return (v - self.low + 0.5) / (self.high - self.low + 1)
        if self.high == self.low:
            return 0.5
        if self.kind == "float":
            return (v - self.low) / (self.high - self.low)
        return (math.log(v) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))

    # --- state ---------------------------------------------------------------------------------------------
    def to_mapping(self) -> dict[str, Any]:
        """The TOML-style table of this setting (inverse of :meth:`from_mapping`)."""
        if self.kind == "choice":
            return {"choices": list(self.choices)}
        out: dict[str, Any] = {"low": self.low, "high": self.high, "type": self.kind}
        if self.kind != "int" and self.digits != 6:
            out["digits"] = self.digits
        return out

    @classmethod
    def from_mapping(cls, name: str, entry: Any) -> "Param":
        """Parse one ``[tune.space]`` entry: ``{low=3, high=21, type="int"}``,
        ``{low=1e-4, high=1e-2, type="log-float"}``, ``{choices=["db4", "haar"]}`` or a bare list of choices."""
        where = f"[tune.space] {name}"
        if isinstance(entry, (list, tuple)):
            entry = {"choices": list(entry)}
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where}: expected a table like {{low=1, high=9, type=\"int\"}} or "
                              f"{{choices=[...]}}, got {entry!r}")
        unknown = sorted(set(entry) - _SPEC_KEYS)
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; "
                              f"allowed: {', '.join(sorted(_SPEC_KEYS))}")
        kind = entry.get("type")
        if "choices" in entry:
            kind = "choice" if kind is None else kind
            if kind != "choice":
                raise ConfigError(f"{where}: choices given with type {kind!r}; use type = \"choice\" or drop type")
        elif kind is None:
            raise ConfigError(f"{where}: give type = \"int\", \"float\" or \"log-float\" with low and high, "
                              f"or choices = [...]")
        if kind not in KINDS:
            raise ConfigError(f"{where}: type must be one of {', '.join(KINDS)}, got {kind!r}")
        if kind != "choice" and ("low" not in entry or "high" not in entry):
            raise ConfigError(f"{where}: type {kind!r} needs both low and high")
        try:
            return cls(name=name, kind=kind, low=entry.get("low"), high=entry.get("high"),
                       choices=entry.get("choices"), digits=entry.get("digits", 6))
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}".replace(f"search space setting {name!r}: ", "")) from None


@dataclass(frozen=True)
class Space:
    """An ordered set of :class:`Param`; gene i of a vector decodes into ``params[i]``."""

    params: tuple[Param, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        params = tuple(self.params)
        if not params:
            raise ConfigError("search space: no settings to tune")
        for p in params:
            if not isinstance(p, Param):
                raise ConfigError(f"search space: expected Param objects, got {p!r}")
        names = [p.name for p in params]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError(f"search space: setting(s) declared twice: {', '.join(dupes)}")
        object.__setattr__(self, "params", params)

    def __len__(self) -> int:
        return len(self.params)

    def __iter__(self) -> Iterator[Param]:
        return iter(self.params)

    @property
    def names(self) -> list[str]:
        """Setting names in gene order."""
        return [p.name for p in self.params]

    @property
    def dim(self) -> int:
        """Number of genes d."""
        return len(self.params)

    def _check(self, vector: Sequence[float]) -> Sequence[float]:
        if len(vector) != len(self.params):
            raise ConfigError(f"search space: vector of length {len(vector)} for {len(self.params)} settings")
        return vector

    def decode(self, vector: Sequence[float]) -> dict[str, Value]:
        """``{name: value}`` of a gene vector in [0, 1]^d (genes outside are clipped)."""
        return {p.name: p.decode(u) for p, u in zip(self.params, self._check(vector))}

    def key(self, vector: Sequence[float]) -> tuple[Value, ...]:
        """Hashable decoded values in gene order: two vectors with the same key are the same settings and
        are evaluated once."""
        return tuple(p.decode(u) for p, u in zip(self.params, self._check(vector)))

    def params_of(self, key: Sequence[Value]) -> dict[str, Value]:
        """``{name: value}`` of a key from :meth:`key`."""
        return dict(zip(self.names, key))

    def encode(self, values: Mapping[str, Any]) -> list[float]:
        """Gene vector of ``{name: value}`` (all settings required; extra names raise ConfigError)."""
        missing = [n for n in self.names if n not in values]
        extra = sorted(set(values) - set(self.names))
        if missing or extra:
            raise ConfigError(f"search space: cannot encode settings: missing {missing}, unknown {extra}")
        return [p.encode(values[p.name]) for p in self.params]

    # --- TOML / JSON ---------------------------------------------------------------------------------------
    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> "Space":
        """Parse a ``[tune.space]`` table. Names may be nested (``"model__lags" = {...}``), dotted
        (``"model.lags" = {...}``) or nested TOML tables (``[tune.space.model] lags = {...}``); all become
        nested names (``model__lags``)."""
        if not isinstance(mapping, Mapping):
            raise ConfigError(f"[tune.space] must be a table, got {type(mapping).__name__}")
        params: list[Param] = []

        def walk(prefix: str, table: Mapping[str, Any]) -> None:
            for name, entry in table.items():
                full = f"{prefix}__{name}" if prefix else str(name).replace(".", "__")
                if isinstance(entry, Mapping) and entry and not (set(entry) & _SPEC_KEYS):
                    walk(full, entry)
                else:
                    params.append(Param.from_mapping(full, entry))

        walk("", mapping)
        if not params:
            raise ConfigError("[tune.space] declares no settings")
        return cls(tuple(params))

    def to_mapping(self) -> dict[str, dict[str, Any]]:
        """``{name: table}``, the inverse of :meth:`from_mapping` (JSON and TOML serialisable)."""
        return {p.name: p.to_mapping() for p in self.params}

    def get_state(self) -> dict[str, Any]:
        """JSON state: ``{"params": [{name, kind, low, high, choices, digits}, ...]}`` (order kept)."""
        return {"params": [{"name": p.name, "kind": p.kind, "low": p.low, "high": p.high,
                            "choices": None if p.choices is None else list(p.choices), "digits": p.digits}
                           for p in self.params]}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> "Space":
        """Inverse of :meth:`get_state`."""
        try:
            return cls(tuple(Param(**p) for p in state["params"]))
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"search space state is malformed: {exc}") from None


def default_space() -> Space:
    """Default search space of the dual-LSTM (DWT-PCA-LSTM) pipeline; names are pipeline TOML paths."""
    return Space((
        Param("model__lags", "int", 3, 21),
        Param("model__hidden", "int", 8, 64),
        Param("model__layers", "int", 1, 2),
        Param("model__dropout", "float", 0.0, 0.4),
        Param("model__lr", "log-float", 3e-4, 1e-2),
        Param("model__batch", "choice", choices=(16, 32, 64, 128)),
        Param("model__patience", "int", 5, 30),
        Param("preprocess__moving_average__window", "int", 1, 5),
        Param("preprocess__wavelet__wavelet", "choice", choices=("db2", "db4", "sym4", "coif2", "haar")),
        Param("preprocess__wavelet__level", "int", 1, 3),
        Param("preprocess__wavelet__window", "choice", choices=(32, 64, 128)),
        Param("preprocess__pca__variance", "float", 0.7, 0.99),
    ))
