"""Principal components of the scaled drivers (docs/definitions.md: PCA)."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import Field

from wq.errors import ArtifactError, ConfigError, DataError
from wq.estimator import Float, Int, Params
from wq.preprocess._base import ArrayLike, InputError, Stage, to_2d


class PCAParams(Params):
    """Settings of :class:`DriverPCA` (pipeline table ``[preprocess] pca``)."""

    variance: Annotated[Float, Field(gt=0, le=1, description="explained variance fraction to keep")] = 0.9
    n_components: Annotated[Int, Field(ge=1, description="fixed number of components (overrides variance)")] | None = None


class DriverPCA(Stage, params=PCAParams):
    """scikit-learn PCA of the (scaled) drivers, fitted on the training data only.

    Definition (docs/definitions.md): keep the smallest number K of components whose cumulative explained
    variance ratio reaches ``variance`` (default 0.9), or exactly ``n_components`` when it is given
    (then ``variance`` is ignored). Fit uses ``sklearn.decomposition.PCA(svd_solver="full")``
    (deterministic sign via ``svd_flip``); the kept state is ``mean_`` (F,), ``components_`` (K, F) and
    ``explained_variance_ratio_`` (K,), so ``transform`` is ``(X - mean_) @ components_.T`` and a
    restored object needs no scikit-learn. Output columns are named ``pc1`` .. ``pcK``.
    ``inverse_transform`` maps scores back: ``Z @ components_ + mean_`` (exact when K = F).
    Pointwise in time, hence causal. Fitted on the training rows where every driver is observed; a row with a
    missing driver (NaN) gives NaN in every component.
    """

    _state_attrs = ("mean_", "components_", "explained_variance_ratio_")

    @property
    def n_components_(self) -> int:
        """Number K of kept components."""
        return int(self.components_.shape[0])

    def fit(self, X: ArrayLike, y: Any = None) -> DriverPCA:
        """Fit the PCA on training drivers and keep K components (variance rule or fixed count)."""
        from sklearn.decomposition import PCA  # imported here: a fitted (or restored) PCA needs no sklearn
        self.check_params()
        arr, kind = self._input(X, reset=True)
        arr = arr[~np.isnan(arr).any(axis=1)]
        T, F = arr.shape
        limit = min(T, F)
        if self.n_components is not None and int(self.n_components) > limit:
            raise ConfigError(
                f"DriverPCA: n_components={self.n_components} but at most min(rows, columns) = {limit} are possible"
            )
        if T < 2 or not np.any(arr.std(axis=0) > 0):
            raise DataError("DriverPCA: the training drivers have no variance (fewer than 2 rows with every driver "
                            "observed, or all constant)")
        pca = PCA(svd_solver="full").fit(arr)
        ratio = pca.explained_variance_ratio_
        if self.n_components is not None:
            K = int(self.n_components)
        else:
            # smallest K with cumulative ratio >= variance (a tiny tolerance absorbs rounding at 1.0)
            K = int(np.searchsorted(np.cumsum(ratio), float(self.variance) - 1e-12) + 1)
            K = min(K, ratio.size)
        self.mean_ = pca.mean_.astype(np.float64)
        self.components_ = pca.components_[:K].astype(np.float64)
        self.explained_variance_ratio_ = ratio[:K].astype(np.float64)
        return self

    def _names(self) -> list[str]:
        return [f"pc{i + 1}" for i in range(self.n_components_)]

    def transform(self, X: ArrayLike) -> ArrayLike:
        """Scores ``(X - mean_) @ components_.T``, (T, K); a DataFrame gets columns pc1..pcK."""
        arr, kind = self._input(X, reset=False)
        return kind.wrap((arr - self.mean_) @ self.components_.T, columns=self._names())

    def inverse_transform(self, Z: ArrayLike) -> ArrayLike:
        """Drivers from scores: ``Z @ components_ + mean_``, (T, F); a DataFrame gets the fitted driver names."""
        self._check_fitted()
        arr, kind = to_2d(Z, "DriverPCA.inverse_transform input")
        if arr.shape[1] != self.n_components_:
            raise InputError(f"DriverPCA.inverse_transform: {arr.shape[1]} columns, expected {self.n_components_} scores")
        names = getattr(self, "feature_names_in_", None)
        cols = list(names) if names is not None else None
        return kind.wrap(arr @ self.components_ + self.mean_, columns=cols)

    def _check_state(self) -> None:
        F = self.n_features_in_
        K = self.components_.shape[0] if self.components_.ndim == 2 else -1
        if (
            self.mean_.shape != (F,)
            or self.components_.ndim != 2
            or self.components_.shape[1] != F
            or self.explained_variance_ratio_.shape != (K,)
        ):
            raise ArtifactError(
                f"DriverPCA state: shapes mean_ {self.mean_.shape}, components_ {self.components_.shape}, "
                f"explained_variance_ratio_ {self.explained_variance_ratio_.shape} do not fit {F} drivers"
            )
