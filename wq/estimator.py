"""The estimator protocol every wq stage, component and forecaster follows, and typed parameters.

Each estimator declares its constructor parameters once, as a :class:`Params` model (pydantic): name, type,
default, range and cross-field rules. The class is created with ``class Stage(Estimator, params=MyParams)``;
that generates an ``__init__`` with exactly those keyword arguments and defaults (so ``inspect.signature``,
``get_params`` and ``sklearn.base.clone`` see them), stores them as given (scikit-learn's rule: no validation
in ``__init__``) and validates them in :meth:`Estimator.check_params`, which ``fit`` calls. The pipeline's
settings tables (:mod:`wq.config`) reuse the same :class:`Params` models, so a default or a check of a
setting lives in one place.

The protocol is scikit-learn's, written out so that importing wq's preprocessing does not import
scikit-learn (about 2.5 s of CPU here, most of a daily batch forecast's start-up):

- ``get_params(deep=True)`` with nested names (``preprocess__wavelet__level``), ``set_params(**params)``;
- learned attributes end in ``_``; ``fit`` returns ``self``; ``__sklearn_is_fitted__`` and
  ``__sklearn_tags__`` so that ``sklearn.utils.validation.check_is_fitted`` and ``sklearn.base.clone`` work;
- a ``repr`` that shows the parameters that differ from their defaults.
"""

from __future__ import annotations

import difflib
import inspect
import numbers
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from wq.errors import ConfigError, NotFittedError

__all__ = ["Params", "Estimator", "NotFittedError", "config_error", "suggest", "Int", "Float"]


def _plain_number(value: Any) -> Any:
    """numpy scalars as Python numbers and integral floats (``3.0``) as ints are accepted where an integer is
    due; strings and booleans are not numbers."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    return value


def _plain_int(value: Any) -> Any:
    value = _plain_number(value)
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, int)) and float(value).is_integer():
        return int(value)
    return value


def _plain_float(value: Any) -> Any:
    value = _plain_number(value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    return value


Int = Annotated[int, BeforeValidator(_plain_int)]
"""An integer setting: ``3`` or ``3.0`` or ``numpy.int64(3)``; not ``"3"``, not ``true``."""
Float = Annotated[float, BeforeValidator(_plain_float), Field(allow_inf_nan=False)]
"""A finite real setting: ints and numpy floats accepted; not strings, booleans, inf or nan."""


class Params(BaseModel):
    """Typed parameters of an estimator or a pipeline table: unknown keys are errors, no silent coercion
    (``"3"`` is not a number, ``1`` is not ``true``), every value checked again on assignment."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_assignment=True, validate_default=True,
                              frozen=False, revalidate_instances="never")


def suggest(key: str, valid) -> str:
    """`` (did you mean 'x'?)`` for a near miss of ``key`` among ``valid``, else ``""``."""
    close = difflib.get_close_matches(str(key), [str(v) for v in valid], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _resolve(model: type[BaseModel] | None, loc: tuple) -> tuple[tuple, list[Any]]:
    """The field names of a pydantic error location (list positions and union tags dropped) and, for each, the
    model class it belongs to (None where the location leaves the known tables)."""
    path: list[Any] = []
    owners: list[Any] = []
    node: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if isinstance(node, type) and issubclass(node, BaseModel):
            path.append(part)
            owners.append(node)
            if part in node.model_fields:
                annotation = node.model_fields[part].annotation
                node = _model_of(annotation) or (annotation if _union_models(annotation) else None)
            else:
                node = None
            continue
        tagged = [m for m in _union_models(node) if "method" in m.model_fields
                  and f"'{part}'" in repr(m.model_fields["method"].annotation)]
        if tagged:  # a tag of a discriminated union: continue inside the member it names
            node = tagged[0]
        else:
            path.append(part)
            owners.append(None)
            node = None
    return tuple(path), owners


def _where(path: tuple, prefix: str) -> tuple[str, str]:
    """('[model]', 'lr') from a field path under ``prefix`` ('' or 'model' ...)."""
    parts = [p for p in prefix.split(".") if p] + [str(p) for p in path]
    if not parts:
        return "", ""
    if len(parts) == 1:
        return "", parts[0]
    return "[" + ".".join(parts[:-1]) + "]", parts[-1]


def config_error(exc: ValidationError, prefix: str = "", model: type[BaseModel] | None = None) -> ConfigError:
    """One :class:`ConfigError` line from a pydantic error: table, key, what is wrong, the value given and the
    allowed values (``[model] lr: Input should be a valid number (got 'fast')``)."""
    errors = exc.errors(include_url=False)
    err = errors[0]
    path, owners = _resolve(model, tuple(err.get("loc", ())))
    table, key = _where(path, prefix)
    where = f"{table} {key}".strip() or (f"[{prefix}]" if prefix else "pipeline")
    kind = err.get("type", "")
    owner = owners[-1] if owners else model
    field = owner.model_fields.get(path[-1]) if path and isinstance(owner, type) else None
    if field is not None and _union_models(field.annotation) and kind not in ("extra_forbidden",
                                                                                "union_tag_invalid"):
        where = "[" + ".".join([p for p in prefix.split(".") if p] + [str(p) for p in path]) + "]"  # a table's rule
    if kind == "extra_forbidden":
        valid = sorted(owner.model_fields) if isinstance(owner, type) else []
        text = f"{table or 'pipeline'}: unknown key {key!r}{suggest(key, valid)}"
        text += f"; valid keys: {', '.join(valid)}" if valid else ""
    elif kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        text = f"{where}: method must be one of {ctx.get('expected_tags', '?')} (got {ctx.get('tag')!r})"
    else:
        msg = str(err.get("msg", "invalid value"))
        msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        got = err.get("input")
        shown = "" if kind.startswith("value_error") or isinstance(got, dict) else f" (got {got!r})"
        text = f"{where}: {msg}{shown}"
    more = len(errors) - 1
    if more:
        text += f" (and {more} more problem{'s' if more > 1 else ''})"
    return ConfigError(text)


def _union_models(annotation: Any) -> list[type[BaseModel]]:
    """The BaseModel classes anywhere inside a (nested, annotated) union annotation."""
    found: list[type[BaseModel]] = []
    stack = [annotation]
    while stack:
        a = stack.pop()
        if isinstance(a, type) and issubclass(a, BaseModel):
            found.append(a)
            continue
        stack.extend(getattr(a, "__args__", ()) or ())
        origin = getattr(a, "__origin__", None)
        if origin is not None and origin is not a:
            stack.append(origin)
    return found


def _model_of(annotation: Any) -> Any:
    """The BaseModel class inside ``X | None`` and similar annotations (None when it holds several or none)."""
    models = _union_models(annotation)
    return models[0] if len(models) == 1 else None


def _generated_init(params: type[Params]):
    """An ``__init__`` whose keyword arguments and defaults are the fields of ``params``."""
    fields = params.model_fields
    parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    order = [n for n, f in fields.items() if f.is_required()] + [n for n, f in fields.items() if not f.is_required()]
    for name in order:  # required parameters first: Python's rule for a signature
        f = fields[name]
        default = inspect.Parameter.empty if f.is_required() else f.get_default(call_default_factory=True)
        parameters.append(inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default,
                                            annotation=f.annotation))
    signature = inspect.Signature(parameters)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{type(self).__name__}: {exc}") from None
        bound.apply_defaults()
        for name, value in list(bound.arguments.items())[1:]:
            setattr(self, name, value)

    __init__.__signature__ = signature  # type: ignore[attr-defined]
    __init__.__doc__ = f"Parameters: see :class:`{params.__module__}.{params.__qualname__}`."
    return __init__


class Estimator:
    """Base of wq's estimators. ``class X(Estimator, params=XParams)`` declares the parameters once."""

    params_class: ClassVar[type[Params] | None] = None

    def __init_subclass__(cls, params: type[Params] | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if params is not None:
            cls.params_class = params
            cls.__init__ = _generated_init(params)  # type: ignore[method-assign]

    # ----- parameters ---------------------------------------------------------------------------------------
    @classmethod
    def _get_param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values()
                      if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters; with ``deep``, also those of nested estimators as ``name__param``."""
        out: dict[str, Any] = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            out[name] = value
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update({f"{name}__{k}": v for k, v in value.get_params(deep=True).items()})
        return out

    def set_params(self, **params: Any) -> "Estimator":
        """Set parameters, nested ones as ``name__param`` (scikit-learn's convention); returns ``self``."""
        valid = self._get_param_names()
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in valid:
                raise ConfigError(f"{type(self).__name__}: invalid parameter {name!r}{suggest(name, valid)}; "
                                  f"valid: {', '.join(valid)}")
            if sub:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
        for name, sub_params in nested.items():
            inner = getattr(self, name)
            if inner is None or not hasattr(inner, "set_params"):
                raise ConfigError(f"{type(self).__name__}: {name} is {inner!r}, so {sorted(sub_params)} cannot be set")
            inner.set_params(**sub_params)
        return self

    def check_params(self) -> Params | None:
        """Validate the parameters with :attr:`params_class` (ConfigError naming the class, key and the
        allowed values) and return the validated model; None when the class declares no model."""
        if self.params_class is None:
            return None
        values = {name: getattr(self, name) for name in self.params_class.model_fields}
        try:
            return self.params_class.model_validate(values)
        except ValidationError as exc:
            raise config_error(exc, type(self).__name__, self.params_class) from None

    # ----- fitted state -------------------------------------------------------------------------------------
    def __sklearn_is_fitted__(self) -> bool:
        return any(k.endswith("_") and not k.startswith("__") for k in vars(self))

    def check_fitted(self) -> None:
        """Raise :class:`wq.errors.NotFittedError` unless fitted."""
        if not self.__sklearn_is_fitted__():
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit on the training data first")

    def __sklearn_tags__(self):  # called by scikit-learn only, so importing it here costs nothing elsewhere
        from sklearn.base import BaseEstimator
        from sklearn.utils import TransformerTags

        tags = BaseEstimator.__sklearn_tags__(self)
        if hasattr(self, "transform"):
            tags.transformer_tags = TransformerTags()
        return tags

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        shown = []
        for name, value in self.get_params(deep=False).items():
            default = defaults.get(name, inspect.Parameter.empty)
            try:
                same = default is not inspect.Parameter.empty and bool(value == default)
            except (TypeError, ValueError):
                same = False
            if not same:
                shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"
