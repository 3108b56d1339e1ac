"""The week-ahead forecaster of the multi-site engine: gradient boosting on the features of
:mod:`wq.sites.features`, with two strategies and two poolings.

- ``direct``: one model for every lead time, the lead ``s`` a feature (one multi-output model instead of 168
  per-step regressors): its training rows are (origin, lead) pairs drawn at random, ``rows`` per site.
- ``recursive``: a one-step model (lead 1) applied 168 times, each forecast fed back as the next step's input;
  vectorised over origins (one ``predict`` per step for all origins of a site).
- ``local``: one model per site; ``global``: one model on the rows of all sites, each site scaled by its own
  mean and standard deviation (of the fitting part) and its identity a categorical feature (a numeric code
  beyond 250 sites).

Both learn the correction of the four-week mean of the target hour (:func:`wq.sites.features.anchor`).
Fitting reads the series up to ``end`` (exclusive) only: a training row's target lies before ``end``.
Forecasts read the series up to their origin only (:func:`wq.sites.features.features`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wq.sites.features import HISTORY, WEEK, anchor, features, windows

MAX_CATEGORIES = 250


@dataclass
class SiteArrays:
    """One site's inputs: its name and code, the series scaled (``y``), its (mean, sd), the driver table
    (T, 2P) and the shared calendar of the grid extended by the horizon (T + H, 3)."""

    name: str
    code: int
    y: np.ndarray
    scale: tuple[float, float]
    drv: np.ndarray
    cal: np.ndarray


@dataclass(frozen=True)
class HGBSettings:
    """Settings of the week-ahead regressor (from ``[model]``: max_iter, learning_rate, max_leaf_nodes)."""

    horizon: int = 168
    max_iter: int = 200
    learning_rate: float = 0.1
    max_leaf_nodes: int = 31
    rows: int = 40_000
    seed: int = 0


def _pad(y: np.ndarray, horizon: int) -> np.ndarray:
    return np.concatenate([np.full(HISTORY, np.nan), y, np.full(horizon, np.nan)])[None, :]


def training_rows(sa: SiteArrays, end: int, strategy: str, st: HGBSettings, site: bool) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) training rows of one site whose targets lie before ``end`` (deterministic: seeded by site code)."""
    rng = np.random.default_rng([st.seed, sa.code])
    H = st.horizon if strategy == "direct" else 1
    lo = WEEK
    if end - 1 - lo < 2:
        return np.zeros((0, 0)), np.zeros(0)
    n_draw = int(st.rows * 1.5)
    o = rng.integers(lo, end - 1, n_draw)
    s = rng.integers(1, H + 1, n_draw) if H > 1 else np.ones(n_draw, int)
    keep = o + s < end
    o, s = o[keep], s[keep]
    target = sa.y[o + s]
    fin = np.isfinite(target)
    o, s, target = o[fin][:st.rows], s[fin][:st.rows], target[fin][:st.rows]
    W = _pad(sa.y[:end], st.horizon)
    X = features(W, np.zeros(len(o), int), o + HISTORY, s, sa.cal[o + s], sa.drv[o],
                 sa.code if site else None)
    return X, target - anchor(X)


def make_regressor(st: HGBSettings, categorical: bool):
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(max_iter=st.max_iter, learning_rate=st.learning_rate,
                                         max_leaf_nodes=st.max_leaf_nodes, random_state=st.seed,
                                         early_stopping=False,
                                         categorical_features=[-1] if categorical else None)


def fit_regressor(X: np.ndarray, y: np.ndarray, st: HGBSettings, categorical: bool = False):
    """A fitted regressor (None when there are fewer than 50 rows)."""
    if len(y) < 50:
        return None
    empty = ~np.isfinite(X).any(axis=0)  # a feature never observed (a record shorter than four weeks)
    if empty.any():
        X = X.copy()
        X[:, empty] = 0.0  # constant: never split on; at prediction NaN goes the missing-value way
    model = make_regressor(st, categorical)
    if categorical:
        model.set_params(categorical_features=[X.shape[1] - 1])
    return model.fit(X, y)


def forecast(model, sa: SiteArrays, origins: np.ndarray, strategy: str, st: HGBSettings, site: bool) -> np.ndarray:
    """(N, H) forecasts in the site's units from ``origins``, reading the series up to each origin only."""
    return forecast_many(model, [sa], origins, strategy, st, site)[0]


def forecast_many(model, arrays: list[SiteArrays], origins: np.ndarray, strategy: str, st: HGBSettings,
                  site: bool) -> list[np.ndarray]:
    """(N, H) forecasts of each site from the same ``origins`` with one model (a global model, or a local
    model and its one site): the rows of all sites go through one ``predict`` call (direct) or one per step
    (recursive)."""
    H, N, S = st.horizon, len(origins), len(arrays)
    if model is None or N == 0:
        return [np.full((N, H), np.nan) for _ in arrays]
    W = np.concatenate([windows(sa.y, origins, H) for sa in arrays])
    W[:, HISTORY:] = np.nan  # nothing after the origin
    orig = np.tile(origins, S)
    who = np.repeat(np.arange(S), N)
    cal = np.stack([sa.cal for sa in arrays]) if S > 1 and arrays[0].cal is not arrays[-1].cal else arrays[0].cal[None]

    def cal_of(rows, t):
        return cal[who[rows] if len(cal) > 1 else 0, t]

    drv = np.concatenate([sa.drv[origins] for sa in arrays])
    codes = np.array([sa.code for sa in arrays], dtype=np.float64)[who] if site else None
    if strategy == "direct":
        lead = np.tile(np.arange(1, H + 1), N * S)
        r = np.repeat(np.arange(N * S), H)
        X = features(W, r, np.full(len(r), HISTORY - 1), lead, cal_of(r, orig[r] + lead), drv[r],
                     codes[r] if site else None)
        out = (model.predict(X) + anchor(X)).reshape(N * S, H)
    else:
        r = np.arange(N * S)
        for k in range(1, H + 1):
            X = features(W, r, np.full(N * S, HISTORY - 2 + k), np.ones(N * S, int), cal_of(r, orig + k), drv, codes)
            W[:, HISTORY - 1 + k] = model.predict(X) + anchor(X)
        out = W[:, HISTORY:HISTORY + H].copy()
    return [out[i * N:(i + 1) * N] * sa.scale[1] + sa.scale[0] for i, sa in enumerate(arrays)]
