"""Quality of synthetic windows against held-out real windows (shapes (N, L, F), same L and F).

* Discriminative score (Yoon et al. 2019, TimeGAN, sec. 5): |accuracy - 0.5| of a small post-hoc GRU
  classifier trained to tell real from synthetic windows, scored on windows it did not train on.
  0 is ideal, 0.5 means perfectly separable.
* Predictive score (TimeGAN): train on synthetic, test on real -- the MAE of a small GRU trained on the
  synthetic windows to predict one step ahead, evaluated on the real windows. Lower is better; compare
  with a persistence forecast of the same real windows for scale.
* Wasserstein-1 distance between the real and the synthetic marginal of each channel (all steps of all
  windows pooled), ``scipy.stats.wasserstein_distance``.
* ACF difference: mean absolute difference between the real and the synthetic autocorrelation
  functions (lags 1..max_lag, per channel, averaged over windows).

The post-hoc networks are tiny and train for a few hundred steps, so one call takes a few seconds.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Sequence

import numpy as np
import torch
from scipy.stats import wasserstein_distance
from torch.nn import functional as F_

from wq.augment.base import _check_int, check_windows
from wq.augment.nets import RecurrentClassifier, RecurrentPredictor, seeded
from wq.errors import ConfigError, DataError

__all__ = [
    "discriminative_score",
    "predictive_score",
    "wasserstein_per_feature",
    "acf_difference",
    "autocorrelation",
    "persistence_mae",
    "quality_report",
]

_TARGET_STEPS = 400  # gradient steps the post-hoc networks get when epochs is None


def _check_same_shape(named: dict[str, np.ndarray]) -> None:
    shapes = {name: X.shape[1:] for name, X in named.items()}
    if len(set(shapes.values())) > 1:
        desc = ", ".join(f"{k} {v}" for k, v in shapes.items())
        raise DataError(f"windows must share (L, F): {desc}")


def _post_hoc_hidden(F: int, hidden: int | None) -> int:
    return int(hidden) if hidden is not None else int(min(32, max(8, 2 * F)))


def _epochs(epochs: int | None, n: int, batch: int) -> int:
    if epochs is not None:
        return _check_int("epochs", epochs, 1)
    return max(5, math.ceil(_TARGET_STEPS / math.ceil(n / batch)))


def _minmax(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo = X.min(axis=(0, 1))
    span = X.max(axis=(0, 1)) - lo
    return lo, np.where(span > 0, span, 1.0).astype(np.float32)


def discriminative_score(
    real_train: np.ndarray,
    synth_train: np.ndarray,
    real_test: np.ndarray,
    synth_test: np.ndarray,
    seed: int = 0,
    epochs: int | None = None,
    hidden: int | None = None,
    batch: int = 128,
    lr: float = 3e-3,
) -> float:
    """|accuracy - 0.5| of a post-hoc GRU classifier of real vs synthetic windows (TimeGAN, Yoon et al. 2019).

    The classifier (a one-layer GRU, ``hidden`` = 2 units per channel in [8, 32], and a linear layer on
    its last state) trains with binary cross-entropy on ``real_train`` (label 1) and ``synth_train``
    (label 0), both classes weighted equally, inputs min-max scaled per channel with the range of the
    training windows; it is scored on ``real_test`` and ``synth_test``. Accuracy is balanced -- the mean
    of the accuracies on the real and on the synthetic test windows -- which is TimeGAN's plain accuracy
    when the two test sets have equal size. ``epochs=None`` trains for about 400 mini-batch steps (at
    least 5 epochs) with Adam at ``lr`` (3e-3: TimeGAN trains 1e-3 for thousands of steps; we train
    fewer). Deterministic for a seed.
    """
    sets = {
        "real_train": check_windows(real_train, "real_train"),
        "synth_train": check_windows(synth_train, "synth_train"),
        "real_test": check_windows(real_test, "real_test"),
        "synth_test": check_windows(synth_test, "synth_test"),
    }
    _check_same_shape(sets)
    seed = _check_int("seed", seed, 0)
    batch = _check_int("batch", batch, 1)
    rt, st, rv, sv = sets.values()
    Xtr = np.concatenate([rt, st])
    lo, span = _minmax(Xtr)
    ytr = np.concatenate([np.ones(len(rt)), np.zeros(len(st))]).astype(np.float32)
    wtr = np.concatenate([np.full(len(rt), 0.5 / len(rt)), np.full(len(st), 0.5 / len(st))]).astype(np.float32)
    wtr *= len(wtr)  # mean weight 1, so the loss scale does not depend on the sizes
    n, F = len(Xtr), Xtr.shape[2]
    batch = min(batch, n)
    n_epochs = _epochs(epochs, n, batch)
    with seeded(seed):
        net = RecurrentClassifier(F, _post_hoc_hidden(F, hidden))
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        X = torch.from_numpy(((Xtr - lo) / span).astype(np.float32))
        y, w = torch.from_numpy(ytr), torch.from_numpy(wtr)
        for _ in range(n_epochs):
            for idx in torch.randperm(n).split(batch):
                loss = F_.binary_cross_entropy_with_logits(net(X[idx]), y[idx], weight=w[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        with torch.no_grad():
            p_real = net(torch.from_numpy(((rv - lo) / span).astype(np.float32))) > 0
            p_synth = net(torch.from_numpy(((sv - lo) / span).astype(np.float32))) > 0
    accuracy = 0.5 * (p_real.float().mean().item() + (~p_synth).float().mean().item())
    return float(abs(accuracy - 0.5))


def predictive_score(
    synth: np.ndarray,
    real_test: np.ndarray,
    seed: int = 0,
    epochs: int | None = None,
    target: int | Sequence[int] | None = None,
    hidden: int | None = None,
    batch: int = 128,
    lr: float = 3e-3,
) -> float:
    """Train on synthetic, test on real (TimeGAN's predictive score, Yoon et al. 2019): MAE of one-step-ahead
    predictions of a GRU trained on ``synth`` and applied to ``real_test``.

    At every step t = 1..L-1 the GRU sees all channels at steps 0..t-1 and predicts the ``target``
    channels at step t (``None``: every channel -- TimeGAN predicts only the last feature, from the others;
    pass ``target=-1`` and compare with care). Trained with the L1 loss as in TimeGAN, inputs min-max scaled
    per channel with the range of ``synth``; the MAE is reported in the units of the given windows, averaged
    over windows, steps and target channels. ``epochs=None`` trains for about 400 mini-batch steps (at
    least 5 epochs) with Adam at ``lr``. Deterministic for a seed.
    """
    S = check_windows(synth, "synth")
    R = check_windows(real_test, "real_test")
    _check_same_shape({"synth": S, "real_test": R})
    seed = _check_int("seed", seed, 0)
    batch = _check_int("batch", batch, 1)
    n, L, F = S.shape
    if L < 2:
        raise DataError(f"predictive score needs windows of at least 2 steps, got L = {L}")
    cols = _target_columns(target, F)
    lo, span = _minmax(S)
    Sn, Rn = (S - lo) / span, (R - lo) / span
    batch = min(batch, n)
    n_epochs = _epochs(epochs, n, batch)
    with seeded(seed):
        net = RecurrentPredictor(F, _post_hoc_hidden(F, hidden), len(cols))
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        X = torch.from_numpy(np.ascontiguousarray(Sn[:, :-1]))
        Y = torch.from_numpy(np.ascontiguousarray(Sn[:, 1:, cols]))
        for _ in range(n_epochs):
            for idx in torch.randperm(n).split(batch):
                loss = (net(X[idx]) - Y[idx]).abs().mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        with torch.no_grad():
            pred = net(torch.from_numpy(np.ascontiguousarray(Rn[:, :-1]))).numpy()
    pred = pred * span[cols] + lo[cols]
    return float(np.abs(pred - R[:, 1:, cols]).mean())


def _target_columns(target: int | Sequence[int] | None, F: int) -> list[int]:
    if target is None:
        return list(range(F))
    items = [target] if isinstance(target, (int, np.integer)) else list(target)
    if not items or not all(isinstance(c, (int, np.integer)) and -F <= c < F for c in items):
        raise ConfigError(f"target must be channel indices in [-{F}, {F}), got {target!r}")
    return [int(c) % F for c in items]


def persistence_mae(real: np.ndarray, target: int | Sequence[int] | None = None) -> float:
    """MAE of predicting step t by step t-1 in the real windows: the scale for :func:`predictive_score`."""
    R = check_windows(real, "real")
    if R.shape[1] < 2:
        raise DataError(f"persistence needs windows of at least 2 steps, got L = {R.shape[1]}")
    cols = _target_columns(target, R.shape[2])
    return float(np.abs(R[:, 1:, cols] - R[:, :-1, cols]).mean())


def wasserstein_per_feature(real: np.ndarray, synth: np.ndarray) -> np.ndarray:
    """Wasserstein-1 distance between the real and synthetic marginal of each channel, shape (F,).

    W1(P, Q) = integral |F_P(x) - F_Q(x)| dx over the empirical distributions of all steps of all windows
    pooled per channel (``scipy.stats.wasserstein_distance``), in the units of the windows.
    """
    R, S = check_windows(real, "real"), check_windows(synth, "synth")
    _check_same_shape({"real": R, "synth": S})
    F = R.shape[2]
    Rf, Sf = R.reshape(-1, F), S.reshape(-1, F)
    return np.array([wasserstein_distance(Rf[:, f], Sf[:, f]) for f in range(F)])


def autocorrelation(W: np.ndarray, max_lag: int) -> np.ndarray:
    """Sample autocorrelation of each window and channel, shape (N, max_lag, F).

    acf_k = sum_{t=0}^{L-1-k} (x_t - m)(x_{t+k} - m) / sum_{t=0}^{L-1} (x_t - m)^2 with m the window's mean
    (Box & Jenkins). A window that is constant in a channel has NaN there.
    """
    X = check_windows(W, "W").astype(np.float64)
    L = X.shape[1]
    max_lag = _check_int("max_lag", max_lag, 1)
    if max_lag >= L:
        raise ConfigError(f"max_lag must be below the window length {L}, got {max_lag}")
    Xc = X - X.mean(axis=1, keepdims=True)
    denom = (Xc**2).sum(axis=1)
    num = np.stack([(Xc[:, : L - k] * Xc[:, k:]).sum(axis=1) for k in range(1, max_lag + 1)], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom[:, None, :] > 1e-12, num / denom[:, None, :], np.nan)


def acf_difference(real: np.ndarray, synth: np.ndarray, max_lag: int | None = None) -> float:
    """Mean absolute difference of the autocorrelation functions of real and synthetic windows.

    For each set, the per-window ACF (:func:`autocorrelation`, lags 1..max_lag) is averaged over the
    windows, per channel and lag, skipping windows constant in that channel; the score is the mean of
    |acf_real - acf_synth| over lags and channels where both are defined (NaN if none is).
    ``max_lag=None`` uses L // 2 (at least 1).
    """
    R, S = check_windows(real, "real"), check_windows(synth, "synth")
    _check_same_shape({"real": R, "synth": S})
    L = R.shape[1]
    if L < 2:
        raise DataError(f"autocorrelation needs windows of at least 2 steps, got L = {L}")
    lag = max(1, L // 2) if max_lag is None else max_lag
    with warnings.catch_warnings():  # all-NaN columns are expected and handled below
        warnings.simplefilter("ignore", RuntimeWarning)
        a = np.nanmean(autocorrelation(R, lag), axis=0)
        b = np.nanmean(autocorrelation(S, lag), axis=0)
        diff = np.abs(a - b)
        return float(np.nanmean(diff)) if np.isfinite(diff).any() else float("nan")


def quality_report(
    real_heldout: np.ndarray,
    synth: np.ndarray,
    seed: int = 0,
    test_fraction: float = 0.2,
    epochs: int | None = None,
    max_lag: int | None = None,
) -> dict[str, Any]:
    """All four scores of ``synth`` against real windows the generator did not train on (JSON-ready dict).

    The discriminative score splits each of ``real_heldout`` and ``synth`` at random (seeded) into a
    training part and a ``test_fraction`` test part, as TimeGAN does; the predictive score trains on all of
    ``synth`` and tests on all of ``real_heldout``. Keys: ``discriminative``, ``predictive``,
    ``predictive_persistence`` (the persistence MAE on ``real_heldout``, for scale), ``wasserstein`` (per
    channel), ``wasserstein_mean``, ``acf_difference``, ``n_real``, ``n_synthetic``.
    """
    R = check_windows(real_heldout, "real_heldout", min_windows=2)
    S = check_windows(synth, "synth", min_windows=2)
    _check_same_shape({"real_heldout": R, "synth": S})
    seed = _check_int("seed", seed, 0)
    if not isinstance(test_fraction, (int, float)) or not 0 < test_fraction < 1:
        raise ConfigError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    rng = np.random.default_rng(seed)

    def split(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        order = rng.permutation(len(X))
        n_test = min(len(X) - 1, max(1, round(test_fraction * len(X))))
        return X[order[n_test:]], X[order[:n_test]]

    (rt, rv), (st, sv) = split(R), split(S)
    w1 = wasserstein_per_feature(R, S)
    return {
        "discriminative": discriminative_score(rt, st, rv, sv, seed=seed, epochs=epochs),
        "predictive": predictive_score(S, R, seed=seed, epochs=epochs),
        "predictive_persistence": persistence_mae(R),
        "wasserstein": w1.tolist(),
        "wasserstein_mean": float(w1.mean()),
        "acf_difference": acf_difference(R, S, max_lag=max_lag),
        "n_real": int(len(R)),
        "n_synthetic": int(len(S)),
    }
