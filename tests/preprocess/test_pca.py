"""DriverPCA against the definition in docs/definitions.md (PCA of scaled drivers, variance rule)."""

import json

import numpy as np
import pandas as pd
import pytest
import sklearn.decomposition

from wq.errors import ConfigError
from wq.preprocess import DriverPCA

H1 = np.array([1, 1, 1, 1, -1, -1, -1, -1.0])
H2 = np.array([1, 1, -1, -1, 1, 1, -1, -1.0])
H3 = np.array([1, -1, 1, -1, 1, -1, 1, -1.0])
# orthogonal, zero-mean columns with variances in the ratio 16 : 4 : 1 -> ratios 16/21, 4/21, 1/21
X = np.c_[4 * H1, 2 * H2, H3] + np.array([10.0, -3.0, 0.5])


@pytest.mark.parametrize(
    "variance,k", [(0.5, 1), (16 / 21, 1), (0.9, 2), (20 / 21, 2), (0.96, 3), (1.0, 3)]
)
def test_variance_rule_keeps_smallest_k_reaching_the_fraction(variance, k):
    p = DriverPCA(variance=variance).fit(X)
    assert p.n_components_ == k
    np.testing.assert_allclose(p.explained_variance_ratio_, np.array([16, 4, 1])[:k] / 21, rtol=1e-12)


def test_fixed_count_and_definition_of_transform():
    p = DriverPCA(n_components=2).fit(X)
    np.testing.assert_allclose(p.mean_, [10, -3, 0.5])
    np.testing.assert_allclose(np.abs(p.components_), [[1, 0, 0], [0, 1, 0]], atol=1e-12)
    z = p.transform(X)
    np.testing.assert_allclose(z, (X - p.mean_) @ p.components_.T)
    np.testing.assert_allclose(np.abs(z), np.abs(np.c_[4 * H1, 2 * H2]), atol=1e-12)
    ref = sklearn.decomposition.PCA(n_components=2, svd_solver="full").fit(X)
    np.testing.assert_allclose(z, ref.transform(X), atol=1e-12)


def test_full_rank_inverse_round_trip_and_names():
    rng = np.random.default_rng(0)
    idx = pd.date_range("2020-01-01", periods=60, freq="D")
    df = pd.DataFrame(rng.normal(size=(60, 4)) @ rng.normal(size=(4, 4)), index=idx, columns=list("abcd"))
    p = DriverPCA(variance=1.0).fit(df.iloc[:40])
    z = p.transform(df)
    assert list(z.columns) == ["pc1", "pc2", "pc3", "pc4"] and z.index.equals(idx)
    back = p.inverse_transform(z)
    assert list(back.columns) == list("abcd")
    np.testing.assert_allclose(back.to_numpy(), df.to_numpy(), atol=1e-10)


def test_fitted_on_train_only():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(100, 3))
    p = DriverPCA(n_components=2).fit(x[:50])
    state = json.dumps(p.get_state())
    x2 = x.copy()
    x2[50:] += 100.0  # a changed test segment
    z = p.transform(x2)
    assert json.dumps(p.get_state()) == state
    np.testing.assert_allclose(z[50:], (x2[50:] - x[:50].mean(axis=0)) @ p.components_.T)


def test_json_round_trip_needs_no_sklearn_fit(monkeypatch):
    rng = np.random.default_rng(2)
    x = pd.DataFrame(rng.normal(size=(80, 5)), columns=[f"d{i}" for i in range(5)])
    p = DriverPCA(variance=0.8).fit(x.iloc[:60])
    state = json.loads(json.dumps(p.get_state()))
    assert set(state["fitted"]) >= {"mean_", "components_", "explained_variance_ratio_"}

    def boom(*a, **k):
        raise AssertionError("sklearn fit called")

    monkeypatch.setattr(sklearn.decomposition.PCA, "fit", boom)
    r = DriverPCA.from_state(state)
    pd.testing.assert_frame_equal(r.transform(x), p.transform(x))


def test_bad_settings():
    with pytest.raises(ConfigError):
        DriverPCA(variance=1.5).fit(X)
    with pytest.raises(ConfigError):
        DriverPCA(variance=0).fit(X)
    with pytest.raises(ConfigError, match="at most"):
        DriverPCA(n_components=4).fit(X)
