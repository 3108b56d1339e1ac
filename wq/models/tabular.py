"""scikit-learn component regressors on flattened windows: RBF support-vector regression (the DWT-PCA-SVM
comparison model, C = 10) and histogram gradient boosting (the ``hgb`` baseline).

Each output (horizon step x target) gets its own regressor (direct multi-output). Fitted models are saved with
skops, which loads only an allow-list of scikit-learn and numpy types and never runs arbitrary code.
"""

from __future__ import annotations

import time

import numpy as np

from wq.errors import ArtifactError
from wq.estimator import Estimator
from wq.models.params import TabularParams
from wq.windows import WindowSet


def _flat(ws: WindowSet) -> np.ndarray:
    return np.concatenate([ws.X.reshape(len(ws), -1), ws.Z], axis=1).astype(np.float64)


class TabularComponent(Estimator, params=TabularParams):
    """``estimator`` is "svr" (RBF kernel, C, epsilon, gamma="scale") or "hgb" (HistGradientBoostingRegressor
    with early stopping on the validation windows when there are enough). Parameters:
    :class:`wq.models.params.TabularParams` (the regressor keys of the pipeline's ``[model]`` table)."""

    kind = "tabular"

    def _make(self, seed: int):
        if self.estimator == "svr":
            from sklearn.svm import SVR

            return SVR(kernel="rbf", C=self.C, epsilon=self.epsilon, gamma="scale")
        from sklearn.ensemble import HistGradientBoostingRegressor

        return HistGradientBoostingRegressor(max_iter=self.max_iter, learning_rate=self.learning_rate,
                                             max_leaf_nodes=self.max_leaf_nodes,
                                             l2_regularization=self.l2_regularization, random_state=seed)

    def fit(self, train: WindowSet, val: WindowSet | None, seed: int, progress=None, label: str = "") -> "TabularComponent":
        t0 = time.perf_counter()
        self.check_params()
        A = _flat(train)
        Y = train.Y.reshape(len(train), -1).astype(np.float64)
        self.shape_ = {"horizon": int(train.Y.shape[1]), "n_targets": int(train.Y.shape[2]),
                       "n_features": int(A.shape[1])}
        models = []
        for j in range(Y.shape[1]):
            est = self._make(seed)
            if self.estimator == "hgb" and val is not None and len(val) >= 20:
                # Early stopping on the validation tail, never on test: refit the iteration count by hand.
                est.set_params(early_stopping=False)
                est.fit(A, Y[:, j])
                Av = _flat(val)
                yv = val.Y.reshape(len(val), -1)[:, j]
                errs = [float(np.mean((p - yv) ** 2)) for p in est.staged_predict(Av)]
                best_iter = int(np.argmin(errs)) + 1
                if best_iter < est.n_iter_:
                    est = self._make(seed).set_params(early_stopping=False, max_iter=best_iter)
                    est.fit(A, Y[:, j])
            else:
                est.fit(A, Y[:, j])
            models.append(est)
        self.models_ = models
        self.fit_seconds_ = time.perf_counter() - t0
        if progress is not None:
            progress(f"{label} fitted {len(models)} {self.estimator} regressor(s)")
        return self

    def predict(self, ws: WindowSet) -> np.ndarray:
        A = _flat(ws)
        out = np.column_stack([m.predict(A) for m in self.models_])
        return out.reshape(len(ws), self.shape_["horizon"], self.shape_["n_targets"])

    # -- persistence (skops, no pickle) ----------------------------------------------------------------------
    def get_state(self) -> tuple[dict, dict[str, bytes]]:
        import skops.io as sio

        blobs = {f"{i}": sio.dumps(m) for i, m in enumerate(self.models_)}
        return {"kind": self.kind, "config": self.get_params(deep=False), "shape": self.shape_}, blobs

    @classmethod
    def from_state(cls, meta: dict, blobs: dict[str, bytes]) -> "TabularComponent":
        import skops.io as sio

        comp = cls(**meta["config"])
        comp.shape_ = dict(meta["shape"])
        models = []
        for i in range(len(blobs)):
            data = blobs[str(i)]
            untrusted = sio.get_untrusted_types(data=data)
            allowed = [t for t in untrusted if t.startswith(("sklearn.", "numpy."))]
            refused = sorted(set(untrusted) - set(allowed))
            if refused:
                raise ArtifactError(f"saved {comp.estimator} model holds types wq does not trust: {refused}")
            models.append(sio.loads(data, trusted=allowed))
        comp.models_ = models
        return comp

