"""Figures for judging synthetic windows: loss curves, real vs synthetic windows overlaid, marginal
histograms, and a 2-D PCA of real vs synthetic windows (PCA fitted on the real windows, as TimeGAN's
visual check). Drawn with matplotlib's Agg canvas (no display, no pyplot global state); each function
writes one file (format from the suffix) and returns its path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from wq.augment.base import check_windows
from wq.augment.quality import _check_same_shape
from wq.errors import ConfigError

__all__ = ["plot_losses", "plot_overlay", "plot_marginals", "plot_pca"]

REAL, SYNTH = "tab:blue", "tab:orange"


def _save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=110)
    return path


def _names(channel_names: Sequence[str] | None, F: int) -> list[str]:
    if channel_names is None:
        return [f"channel {f}" for f in range(F)]
    names = [str(c) for c in channel_names]
    if len(names) != F:
        raise ConfigError(f"channel_names has {len(names)} names for {F} channels")
    return names


def _grid(F: int) -> tuple[int, int]:
    cols = min(F, 4)
    return -(-F // cols), cols


def plot_losses(history: Mapping[str, Sequence[float]], path: str | Path, title: str = "training losses") -> Path:
    """One line per loss in ``history`` (a generator's ``history_``) against the epoch."""
    fig = Figure(figsize=(6.4, 3.6))
    ax = fig.add_subplot()
    for name, values in history.items():
        ax.plot(np.arange(1, len(values) + 1), np.asarray(values, dtype=float), label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title)
    if history:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def plot_overlay(
    real: np.ndarray,
    synth: np.ndarray,
    path: str | Path,
    channel_names: Sequence[str] | None = None,
    n: int = 30,
) -> Path:
    """Up to ``n`` real (blue) and ``n`` synthetic (orange) windows drawn over each other, one panel per
    channel; windows taken evenly spaced through each array (deterministic)."""
    R, S = check_windows(real, "real"), check_windows(synth, "synth")
    _check_same_shape({"real": R, "synth": S})
    _, L, F = R.shape
    names = _names(channel_names, F)
    rows, cols = _grid(F)
    fig = Figure(figsize=(3.2 * cols, 2.4 * rows))
    t = np.arange(L)
    pick_r = np.linspace(0, len(R) - 1, min(n, len(R))).round().astype(int)
    pick_s = np.linspace(0, len(S) - 1, min(n, len(S))).round().astype(int)
    for f in range(F):
        ax = fig.add_subplot(rows, cols, f + 1)
        ax.plot(t, R[pick_r, :, f].T, color=REAL, alpha=0.35, lw=0.8)
        ax.plot(t, S[pick_s, :, f].T, color=SYNTH, alpha=0.35, lw=0.8)
        ax.set_title(names[f], fontsize=9)
        ax.set_xlabel("step", fontsize=8)
    fig.legend(handles=_handles(), loc="upper right", fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def plot_marginals(
    real: np.ndarray,
    synth: np.ndarray,
    path: str | Path,
    channel_names: Sequence[str] | None = None,
    bins: int = 30,
) -> Path:
    """Histogram (density) of every channel's values, all steps of all windows pooled, real vs synthetic
    on shared bins."""
    R, S = check_windows(real, "real"), check_windows(synth, "synth")
    _check_same_shape({"real": R, "synth": S})
    F = R.shape[2]
    names = _names(channel_names, F)
    rows, cols = _grid(F)
    fig = Figure(figsize=(3.2 * cols, 2.4 * rows))
    for f in range(F):
        r, s = R[..., f].ravel(), S[..., f].ravel()
        lo, hi = float(min(r.min(), s.min())), float(max(r.max(), s.max()))
        edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
        ax = fig.add_subplot(rows, cols, f + 1)
        ax.hist(r, bins=edges, density=True, alpha=0.5, color=REAL)
        ax.hist(s, bins=edges, density=True, alpha=0.5, color=SYNTH)
        ax.set_title(names[f], fontsize=9)
    fig.legend(handles=_handles(), loc="upper right", fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def plot_pca(real: np.ndarray, synth: np.ndarray, path: str | Path) -> Path:
    """Windows flattened to L*F vectors, projected on the first two principal components of the real
    windows (scikit-learn PCA fitted on ``real`` only), real vs synthetic scatter."""
    from sklearn.decomposition import PCA

    R, S = check_windows(real, "real", min_windows=2), check_windows(synth, "synth")
    _check_same_shape({"real": R, "synth": S})
    Rf, Sf = R.reshape(len(R), -1), S.reshape(len(S), -1)
    k = min(2, Rf.shape[1], len(Rf))
    pca = PCA(n_components=k).fit(Rf)
    pr, ps = pca.transform(Rf), pca.transform(Sf)
    if k == 1:
        pr, ps = np.c_[pr, np.zeros(len(pr))], np.c_[ps, np.zeros(len(ps))]
    fig = Figure(figsize=(4.8, 4.4))
    ax = fig.add_subplot()
    ax.scatter(pr[:, 0], pr[:, 1], s=6, alpha=0.4, color=REAL, label="real")
    ax.scatter(ps[:, 0], ps[:, 1], s=6, alpha=0.4, color=SYNTH, label="synthetic")
    ratio = pca.explained_variance_ratio_
    ax.set_xlabel(f"PC1 ({100 * ratio[0]:.0f} %)")
    ax.set_ylabel(f"PC2 ({100 * ratio[1]:.0f} %)" if k > 1 else "PC2")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def _handles() -> list:
    from matplotlib.lines import Line2D

    return [Line2D([], [], color=REAL, label="real"), Line2D([], [], color=SYNTH, label="synthetic")]
