"""scikit-learn component regressors on flattened windows: RBF support-vector regression (the DWT-PCA-SVM
comparison model, C = 10), histogram gradient boosting (the ``hgb`` baseline) and ordinary least squares (the
``mlr`` model: multiple linear regression on the lags and lagged drivers, as in Yang et al. 2023).

Each output (horizon step x target) gets its own regressor (direct multi-output). Fitted models are saved with
skops. Loading trusts nothing by prefix: a saved model must hold exactly the types a fitted model of its kind
holds (:data:`SKOPS_TRUSTED`, the types ``skops.io.get_untrusted_types`` reports for one; :data:`SKOPS_TREE`,
every node of its skops tree), and what loads must be an instance of the expected estimator class with the
expected number of features. Anything else is refused with :class:`~wq.errors.ArtifactError` before skops
constructs a single object.
"""

from __future__ import annotations

import io
import json
import time
import zipfile

import numpy as np

from wq.errors import ArtifactError
from wq.estimator import Estimator
from wq.models.params import TabularParams
from wq.windows import WindowSet


_HGB = "sklearn.ensemble._hist_gradient_boosting"

SKOPS_TRUSTED: dict[str, frozenset[str]] = {
    "svr": frozenset(),
    "hgb": frozenset({f"{_HGB}.predictor.TreePredictor"}),
    "hgb-quantile": frozenset({f"{_HGB}.predictor.TreePredictor"}),
    "ols": frozenset(),
}
"""Per estimator, exactly the types ``skops.io.get_untrusted_types`` reports for a fitted model (derived by
saving a fitted SVR, HistGradientBoostingRegressor and LinearRegression with skops 0.16 / scikit-learn 1.9;
see ``tests/batch/test_artifact_security.py``). A saved model reporting any other type is refused."""

_NUMPY_SCALARS = ("float64", "float32", "int64", "int32", "uint64", "uint32", "uint8", "bool")
_COMMON_NODES = frozenset({
    ("builtins.dict", "DictNode"), ("builtins.list", "ListNode"), ("builtins.tuple", "TupleNode"),
    ("builtins.str", "JsonNode"), ("builtins.str", "TypeNode"), ("numpy.ndarray", "NdArrayNode"),
    *((f"numpy.{t}", "NdArrayNode") for t in _NUMPY_SCALARS),
})
SKOPS_TREE: dict[str, frozenset[tuple[str, str]]] = {
    "svr": _COMMON_NODES | {("sklearn.svm._classes.SVR", "ObjectNode")},
    "hgb": _COMMON_NODES | {
        (f"{_HGB}.gradient_boosting.HistGradientBoostingRegressor", "ObjectNode"),
        (f"{_HGB}.predictor.TreePredictor", "ObjectNode"),
        (f"{_HGB}.binning._BinMapper", "ObjectNode"),
        ("sklearn._loss.loss.HalfSquaredError", "ObjectNode"),
        ("sklearn._loss.link.IdentityLink", "ObjectNode"),
        ("sklearn._loss.link.Interval", "ObjectNode"),
        ("sklearn._loss._loss.CyHalfSquaredError", "LossNode"),
        ("numpy.random._generator.Generator", "RandomGeneratorNode"),
    },
    "ols": _COMMON_NODES | {("sklearn.linear_model._base.LinearRegression", "ObjectNode")},
}
SKOPS_TREE["hgb-quantile"] = (SKOPS_TREE["hgb"] - {("sklearn._loss.loss.HalfSquaredError", "ObjectNode"),
                                                    ("sklearn._loss._loss.CyHalfSquaredError", "LossNode")}) | {
    ("sklearn._loss.loss.PinballLoss", "ObjectNode"), ("sklearn._loss._loss.CyPinballLoss", "LossNode")}
"""Per estimator, every (type, skops loader) pair that the skops tree of a fitted model holds. A tree with
any other node (a function, a reduce call, another estimator) is refused: skops' own default trust is not
relied on."""


def _estimator_class(estimator: str) -> type:
    """The scikit-learn class a saved ``estimator`` must load as ("hgb-quantile": a quantile-loss HGB)."""
    if estimator == "svr":
        from sklearn.svm import SVR

        return SVR
    if estimator == "ols":
        from sklearn.linear_model import LinearRegression

        return LinearRegression
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor


def _tree_nodes(node: object, out: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Every (module.class, loader) pair in a skops schema, depth first (the schema is plain JSON)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "__class__" in item and "__module__" in item:
                out.add((f"{item['__module__']}.{item['__class__']}", str(item.get("__loader__"))))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return out


def load_skops_model(data: bytes, estimator: str, n_features: int, where: str = "saved model"):
    """Load one fitted ``estimator`` ("svr", "hgb" or "ols") from skops bytes, or refuse with ArtifactError (one line).

    Checks, before anything is constructed: the file is a skops zip whose ``schema.json`` holds only the
    nodes of :data:`SKOPS_TREE`, and ``skops.io.get_untrusted_types`` reports only :data:`SKOPS_TRUSTED`.
    After loading: the object is an instance of the estimator's class and expects ``n_features`` inputs."""
    import skops.io as sio

    if estimator not in SKOPS_TREE:
        raise ArtifactError(f"{where}: unknown tabular estimator {estimator!r}")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            schema = json.loads(archive.read("schema.json"))
        untrusted = set(sio.get_untrusted_types(data=data))
    except Exception as exc:  # noqa: BLE001 - a damaged zip or schema raises many types
        raise ArtifactError(f"{where}: not a readable skops file ({type(exc).__name__}: {exc})") from None
    foreign = sorted(f"{t} ({loader})" for t, loader in _tree_nodes(schema, set()) - SKOPS_TREE[estimator])
    refused = sorted(untrusted - SKOPS_TRUSTED[estimator])
    if foreign or refused:
        shown = (foreign or refused)[:3]
        raise ArtifactError(f"{where}: holds types a fitted {estimator} model does not need and wq does not trust: "
                            f"{', '.join(shown)}{' ...' if len(foreign or refused) > 3 else ''}; refused")
    try:
        model = sio.loads(data, trusted=sorted(SKOPS_TRUSTED[estimator]))
    except Exception as exc:  # noqa: BLE001
        raise ArtifactError(f"{where}: does not load ({type(exc).__name__}: {exc})") from None
    cls = _estimator_class(estimator)
    if not isinstance(model, cls):
        raise ArtifactError(f"{where}: holds a {type(model).__name__}, expected a {cls.__name__}")
    if estimator.startswith("hgb") and (model.loss == "quantile") != (estimator == "hgb-quantile"):
        raise ArtifactError(f"{where}: holds a gradient boosting model with loss {model.loss!r}, expected "
                            f"{'quantile' if estimator == 'hgb-quantile' else 'squared_error'}")
    if getattr(model, "n_features_in_", None) != n_features:
        raise ArtifactError(f"{where}: expects {getattr(model, 'n_features_in_', None)} features, "
                            f"the model state says {n_features}")
    return model


def _flat(ws: WindowSet) -> np.ndarray:
    return np.concatenate([ws.X.reshape(len(ws), -1), ws.Z], axis=1).astype(np.float64)


class TabularComponent(Estimator, params=TabularParams):
    """``estimator`` is "svr" (RBF kernel, C, epsilon, gamma="scale"), "hgb" (HistGradientBoostingRegressor
    with early stopping on the validation windows when there are enough) or "ols" (LinearRegression: ordinary
    least squares with an intercept, no settings). Parameters:
    :class:`wq.models.params.TabularParams` (the regressor keys of the pipeline's ``[model]`` table)."""

    kind = "tabular"

    @property
    def accepts_missing(self) -> bool:
        """Gradient boosting takes windows with missing inputs as they are (HistGradientBoostingRegressor learns
        a direction for NaN at every split); the SVR needs complete windows."""
        return self.estimator == "hgb"

    def _make(self, seed: int, tau: float | None = None):
        if self.estimator == "svr":
            from sklearn.svm import SVR

            return SVR(kernel="rbf", C=self.C, epsilon=self.epsilon, gamma="scale")
        if self.estimator == "ols":
            from sklearn.linear_model import LinearRegression

            return LinearRegression()
        from sklearn.ensemble import HistGradientBoostingRegressor

        loss = {} if tau is None else {"loss": "quantile", "quantile": float(tau)}
        return HistGradientBoostingRegressor(max_iter=self.max_iter, learning_rate=self.learning_rate,
                                             max_leaf_nodes=self.max_leaf_nodes,
                                             l2_regularization=self.l2_regularization, random_state=seed, **loss)

    def _fit_one(self, A: np.ndarray, y: np.ndarray, val: WindowSet | None, j: int, seed: int):
        """The regressor of output ``j``; HGB's iteration count chosen on the validation windows, never on test."""
        est = self._make(seed)
        if self.estimator != "hgb" or val is None or len(val) < 20:
            return est.fit(A, y)
        est.set_params(early_stopping=False)
        est.fit(A, y)
        yv = val.Y.reshape(len(val), -1)[:, j]
        errs = [float(np.mean((p - yv) ** 2)) for p in est.staged_predict(_flat(val))]
        best_iter = int(np.argmin(errs)) + 1
        if best_iter < est.n_iter_:
            est = self._make(seed).set_params(early_stopping=False, max_iter=best_iter)
            est.fit(A, y)
        return est

    def _fit_quantile(self, A: np.ndarray, y: np.ndarray, point, seed: int, tau: float):
        """A quantile-loss HGB for ``tau`` with the point model's iteration count: the validation windows choose
        nothing more, so their errors stay fit to calibrate on (CQR)."""
        return self._make(seed, tau).set_params(early_stopping=False, max_iter=int(point.n_iter_)).fit(A, y)

    @property
    def has_quantiles(self) -> bool:
        """Whether quantile-loss models were fitted (``hgb`` with ``quantiles``)."""
        return bool(getattr(self, "quantile_models_", None))

    def fit(self, train: WindowSet, val: WindowSet | None, seed: int, progress=None, label: str = "") -> "TabularComponent":
        t0 = time.perf_counter()
        self.check_params()
        A = _flat(train)
        Y = train.Y.reshape(len(train), -1).astype(np.float64)
        self.shape_ = {"horizon": int(train.Y.shape[1]), "n_targets": int(train.Y.shape[2]),
                       "n_features": int(A.shape[1])}
        models = [self._fit_one(A, Y[:, j], val, j, seed) for j in range(Y.shape[1])]
        taus = sorted(set(self.quantiles)) if self.estimator == "hgb" else []
        self.quantile_models_ = {tau: [self._fit_quantile(A, Y[:, j], models[j], seed, tau)
                                       for j in range(Y.shape[1])] for tau in taus}
        self.models_ = models
        self.fit_seconds_ = time.perf_counter() - t0
        if progress is not None:
            progress(f"{label} fitted {len(models)} {self.estimator} regressor(s)")
        return self

    def predict(self, ws: WindowSet) -> np.ndarray:
        A = _flat(ws)
        out = np.column_stack([m.predict(A) for m in self.models_])
        return out.reshape(len(ws), self.shape_["horizon"], self.shape_["n_targets"])

    def predict_quantile(self, ws: WindowSet, tau: float) -> np.ndarray:
        """The ``tau`` quantile forecasts (N, horizon, k) of the quantile-loss models (``quantiles``)."""
        models = getattr(self, "quantile_models_", {}).get(tau)
        if models is None:
            raise ValueError(f"no quantile model for tau {tau}; fitted: {sorted(getattr(self, 'quantile_models_', {}))}")
        A = _flat(ws)
        out = np.column_stack([m.predict(A) for m in models])
        return out.reshape(len(ws), self.shape_["horizon"], self.shape_["n_targets"])

    # -- persistence (skops, no pickle) ----------------------------------------------------------------------
    def get_state(self) -> tuple[dict, dict[str, bytes]]:
        import skops.io as sio

        blobs = {f"{i}": sio.dumps(m) for i, m in enumerate(self.models_)}
        for tau, models in getattr(self, "quantile_models_", {}).items():
            blobs.update({f"q{tau!r}_{i}": sio.dumps(m) for i, m in enumerate(models)})
        return {"kind": self.kind, "config": self.get_params(deep=False), "shape": self.shape_}, blobs

    @classmethod
    def from_state(cls, meta: dict, blobs: dict[str, bytes]) -> "TabularComponent":
        """Rebuild from :meth:`get_state`; every blob is checked by :func:`load_skops_model`."""
        comp = cls(**meta["config"])
        comp.shape_ = {k: int(v) for k, v in dict(meta["shape"]).items()}
        n_out = comp.shape_["horizon"] * comp.shape_["n_targets"]
        taus = sorted(set(comp.quantiles)) if comp.estimator == "hgb" else []
        want = [str(i) for i in range(n_out)] + [f"q{tau!r}_{i}" for tau in taus for i in range(n_out)]
        if sorted(blobs) != sorted(want):
            raise ArtifactError(f"saved {comp.estimator} model: {len(blobs)} regressor file(s), expected {len(want)}")
        comp.models_ = [load_skops_model(blobs[str(i)], comp.estimator, comp.shape_["n_features"],
                                         where=f"saved {comp.estimator} regressor {i}")
                        for i in range(n_out)]
        comp.quantile_models_ = {tau: [load_skops_model(blobs[f"q{tau!r}_{i}"], "hgb-quantile",
                                                        comp.shape_["n_features"],
                                                        where=f"saved hgb quantile {tau} regressor {i}")
                                       for i in range(n_out)] for tau in taus}
        return comp
