"""Shared plumbing of the preprocessing stages: input checks, giving results back in the caller's kind
(ndarray, DataFrame, Series, 1-D array), and the JSON state contract (``get_state`` / ``from_state``).

Every stage is a scikit-learn style transformer: constructor arguments stored as given and validated in
``fit``; learned attributes end in ``_``; ``fit`` returns ``self``; ``transform`` is pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from wq.errors import ArtifactError, DataError, NotFittedError
from wq.estimator import Estimator

__all__ = ["ArrayLike", "InputError", "Kind", "NotFittedError", "Stage", "STATE_VERSION", "column_labels", "to_2d", "window_has_nan"]

ArrayLike = np.ndarray | pd.DataFrame | pd.Series

STATE_VERSION = 1


class InputError(DataError, ValueError):
    """Input a stage cannot use (inf, non-numeric column, wrong columns).

    A :class:`wq.errors.DataError` and also a ``ValueError``, as scikit-learn users expect."""


@dataclass(frozen=True)
class Kind:
    """How the caller passed the data, so the result goes back in the same kind."""

    kind: str  # "frame" | "series" | "1d" | "2d"
    index: Any = None
    columns: Any = None
    name: Any = None

    def label(self, j: int) -> str:
        """Human name of column ``j`` for error messages."""
        if self.columns is not None:
            return repr(self.columns[j])
        if self.name is not None:
            return repr(self.name)
        return f"column {j}"

    def where(self, i: int) -> str:
        """Human name of row ``i`` for error messages: position, and index label when there is one."""
        if self.index is not None:
            return f"row {i} (index {self.index[i]!s})"
        return f"row {i}"

    def wrap(self, values: np.ndarray, columns: Any = None) -> ArrayLike:
        """Give ``values`` (T, k) back in the caller's kind; ``columns`` overrides the column labels."""
        if self.kind == "frame":
            cols = self.columns if columns is None else columns
            return pd.DataFrame(values, index=self.index, columns=cols)
        if self.kind == "series":
            if values.shape[1] != 1:
                return pd.DataFrame(values, index=self.index, columns=columns)
            return pd.Series(values[:, 0], index=self.index, name=self.name)
        if self.kind == "1d" and values.shape[1] == 1:
            return values[:, 0]
        return values


def to_2d(X: Any, what: str = "X") -> tuple[np.ndarray, Kind]:
    """(T, k) float64 copy-free view of ``X`` plus its :class:`Kind`.

    Raises :class:`InputError` for a non-numeric column, for more than two dimensions, and for inf, naming the
    column and the first bad position. NaN is a missing value (a gap the data layer kept with
    ``long_gaps = "keep"``): it passes, and every stage handles it causally (fitted on observed values only,
    NaN out where its input window holds a NaN)."""
    if isinstance(X, pd.DataFrame):
        kind = Kind("frame", X.index, X.columns)
        for j, dt in enumerate(X.dtypes):
            if not (pd.api.types.is_numeric_dtype(dt) or pd.api.types.is_bool_dtype(dt)):
                raise InputError(f"{what}: column {kind.label(j)} is not numeric (dtype {dt})")
        arr = X.to_numpy(dtype=np.float64)
    elif isinstance(X, pd.Series):
        kind = Kind("series", X.index, None, X.name)
        if not (pd.api.types.is_numeric_dtype(X.dtype) or pd.api.types.is_bool_dtype(X.dtype)):
            raise InputError(f"{what}: series {kind.label(0)} is not numeric (dtype {X.dtype})")
        arr = X.to_numpy(dtype=np.float64)[:, None]
    else:
        try:
            arr = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InputError(f"{what}: not a numeric array ({exc})") from None
        if arr.ndim == 1:
            kind = Kind("1d")
            arr = arr[:, None]
        elif arr.ndim == 2:
            kind = Kind("2d")
        else:
            raise InputError(f"{what}: expected 1-D or 2-D (time x columns), got shape {arr.shape}")
    bad = np.isinf(arr)
    if bad.any():
        rows, cols = np.nonzero(bad)  # row-major: the first hit is the earliest row
        i, j = int(rows[0]), int(cols[0])
        raise InputError(f"{what}: column {kind.label(j)} has an infinite value at {kind.where(i)}")
    return arr, kind


def window_has_nan(arr: np.ndarray, before: int, after: int = 0) -> np.ndarray:
    """(T, k) mask: True where the window ``x_{t-before} .. x_{t+after}`` (clipped to the series) of each
    column holds a NaN; from cumulative counts, no loop over windows."""
    T = arr.shape[0]
    c = np.zeros((T + 1, arr.shape[1]), dtype=np.int64)
    np.cumsum(np.isnan(arr), axis=0, out=c[1:])
    t = np.arange(T)
    hi = np.minimum(t + after, T - 1) + 1
    lo = np.maximum(t - before, 0)
    return (c[hi] - c[lo]) > 0


def column_labels(kind: Kind, k: int) -> list[str]:
    """Labels of the k columns for messages: DataFrame names, Series name, else 'column j'."""
    return [kind.label(j) for j in range(k)]


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v


class Stage(Estimator):
    """Base of the preprocessing stages: input checks against the fitted shape and the JSON state.

    Subclasses declare their parameters as a :class:`wq.estimator.Params` model (``class X(Stage,
    params=XParams)``: one place for each default and check) and list their learned array attributes in
    ``_state_attrs``."""

    _state_attrs: ClassVar[tuple[str, ...]] = ()

    @property
    def causal(self) -> bool:
        """True when the output at t depends on inputs at times <= t only."""
        return True

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "n_features_in_")

    def _check_fitted(self) -> None:
        self.check_fitted()

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
        return self.fit(X, y, **fit_params).transform(X)

    def _input(self, X: Any, reset: bool, what: str | None = None) -> tuple[np.ndarray, Kind]:
        """Checked (T, k) array of ``X``; ``reset`` (in fit) records the number and names of columns,
        otherwise they must match what fit saw."""
        what = what or f"{type(self).__name__} input"
        arr, kind = to_2d(X, what)
        if reset:
            if arr.shape[0] == 0 or arr.shape[1] == 0:
                raise InputError(f"{what}: empty training data, shape {arr.shape}")
            empty = np.flatnonzero(np.isnan(arr).all(axis=0))
            if empty.size:
                raise InputError(f"{what}: column {kind.label(int(empty[0]))} has no observed value in the "
                                 f"training data")
            self.n_features_in_ = int(arr.shape[1])
            if kind.columns is not None:
                self.feature_names_in_ = np.asarray([str(c) for c in kind.columns], dtype=object)
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
            return arr, kind
        self._check_fitted()
        if arr.shape[1] != self.n_features_in_:
            raise InputError(f"{what}: {arr.shape[1]} columns, but fitted on {self.n_features_in_}")
        names = getattr(self, "feature_names_in_", None)
        if names is not None and kind.columns is not None:
            got = [str(c) for c in kind.columns]
            if got != list(names):
                raise InputError(f"{what}: columns {got} differ from the fitted columns {list(names)}")
        return arr, kind

    # ----- JSON state -----------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """Fitted state as a JSON-serialisable dict (numbers, strings and nested lists only)."""
        self._check_fitted()
        fitted: dict[str, Any] = {"n_features_in_": int(self.n_features_in_)}
        if hasattr(self, "feature_names_in_"):
            fitted["feature_names_in_"] = [str(c) for c in self.feature_names_in_]
        for a in self._state_attrs:
            fitted[a] = _jsonable(getattr(self, a))
        return {
            "class": type(self).__name__,
            "version": STATE_VERSION,
            "params": _jsonable(self.get_params()),
            "fitted": fitted,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Stage:
        """Rebuild a fitted stage from :meth:`get_state` output; no refit, no scikit-learn fit needed.

        Raises :class:`wq.errors.ArtifactError` when the state is not one of this class."""
        if not isinstance(state, dict) or state.get("class") != cls.__name__:
            got = state.get("class") if isinstance(state, dict) else type(state).__name__
            raise ArtifactError(f"state is not a {cls.__name__} state (class {got!r})")
        if state.get("version") != STATE_VERSION:
            raise ArtifactError(f"{cls.__name__} state version {state.get('version')!r}, expected {STATE_VERSION}")
        try:
            obj = cls(**state["params"])
            fitted = dict(state["fitted"])
        except (KeyError, TypeError) as exc:
            raise ArtifactError(f"{cls.__name__} state is malformed: {exc}") from None
        obj.check_params()
        allowed = {"n_features_in_", "feature_names_in_", *cls._state_attrs}
        extra = set(fitted) - allowed
        missing = {"n_features_in_", *cls._state_attrs} - set(fitted)
        if extra or missing:
            raise ArtifactError(
                f"{cls.__name__} state: unexpected {sorted(extra)} / missing {sorted(missing)} fitted attributes"
            )
        obj.n_features_in_ = int(fitted.pop("n_features_in_"))
        if "feature_names_in_" in fitted:
            obj.feature_names_in_ = np.asarray([str(c) for c in fitted.pop("feature_names_in_")], dtype=object)
        for a, v in fitted.items():
            try:
                setattr(obj, a, np.asarray(v, dtype=np.float64))
            except (TypeError, ValueError) as exc:
                raise ArtifactError(f"{cls.__name__} state: {a} is not numeric ({exc})") from None
        obj._check_state()
        return obj

    def _check_state(self) -> None:
        """Shape checks of restored arrays (ArtifactError); per-column vectors by default."""
        for a in self._state_attrs:
            v = getattr(self, a)
            if v.shape != (self.n_features_in_,):
                raise ArtifactError(
                    f"{type(self).__name__} state: {a} has shape {v.shape}, expected ({self.n_features_in_},)"
                )
