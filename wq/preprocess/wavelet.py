"""Wavelet (DWT) denoising, causal by default (design.md, "Exact definitions": DWT denoising)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import pywt
from numpy.lib.stride_tricks import sliding_window_view

from wq.errors import ConfigError
from wq.preprocess._base import ArrayLike, Stage, check_float, check_int

_MAD = 0.6745  # median(|N(0,1)|): σ = median(|d1|) / 0.6745 (Donoho & Johnstone 1994)
_CHUNK = 1 << 20  # window values per vectorised block (8 MB of float64), bounds the memory of causal mode


def soft_threshold(d: np.ndarray, thr: np.ndarray | float) -> np.ndarray:
    """Soft thresholding ``sign(d) max(|d| - thr, 0)`` (``pywt.threshold(..., mode="soft")``), with a
    threshold that broadcasts against ``d`` (one per window)."""
    return np.sign(d) * np.maximum(np.abs(d) - thr, 0.0)


class WaveletDenoiser(Stage):
    """Split a series into a denoised part and a residual with the discrete wavelet transform.

    Definition (design.md; PyWavelets): ``pywt.wavedec`` with wavelet W = ``wavelet`` at level J = ``level``
    (signal extension ``"symmetric"``, PyWavelets' default); universal threshold
    ``λ = σ √(2 ln N)`` (Donoho & Johnstone 1994) with ``σ = median(|d1|) / 0.6745`` from the finest detail
    coefficients d1 of the same signal and N its number of samples; soft thresholding of the detail
    coefficients d1..dJ (the approximation is kept); ``pywt.waverec``. ``threshold`` may be a number to
    use a fixed λ instead of the universal one. Residual = input − denoised.

    ``mode="causal"`` (default): the denoised value at t is the last sample of the denoised trailing
    window ``x_{t-L+1} .. x_t`` with L = ``window``, so it uses nothing after t. The first L-1 positions
    have a short history: their windows are left-padded by repeating the first value x_0. All windows are
    done at once (``sliding_window_view`` -> ``wavedec(axis=1)`` -> a threshold per row ->
    ``waverec(axis=1)``), in row blocks to bound memory.

    ``mode="offline"``: the whole series at once (N = series length; ``window`` unused). **It leaks the
    future** (Quilty & Adamowski 2018, J. Hydrol. 563:336); kept only to reproduce papers and to measure
    the leak; ``causal`` is False.

    Nothing is learned from the data (the threshold comes from each signal itself); ``fit`` checks the
    parameters and records the columns. ``level`` must be in 1..``pywt.dwt_max_level(window, wavelet)``
    (causal) or 1..``pywt.dwt_max_level(len(series), wavelet)`` (offline), else :class:`ConfigError`.
    """

    def __init__(
        self,
        wavelet: str = "db4",
        level: int = 2,
        window: int = 64,
        mode: str = "causal",
        threshold: str | float = "universal",
    ):
        self.wavelet = wavelet
        self.level = level
        self.window = window
        self.mode = mode
        self.threshold = threshold

    @property
    def causal(self) -> bool:
        """False in offline mode, which reads the whole series (the future included)."""
        return self.mode != "offline"

    def _check_params(self) -> None:
        owner = "WaveletDenoiser: "
        names = pywt.wavelist(kind="discrete")
        if not isinstance(self.wavelet, str) or self.wavelet not in names:
            families = ", ".join(pywt.families(short=True))
            raise ConfigError(
                f"{owner}unknown wavelet {self.wavelet!r}; use a discrete PyWavelets wavelet such as "
                f"'db1'..'db38', 'sym2'..'sym20', 'coif1'..'coif17', 'haar' (families: {families})"
            )
        if self.mode not in ("causal", "offline"):
            raise ConfigError(f"{owner}mode must be 'causal' or 'offline', got {self.mode!r}")
        if isinstance(self.threshold, str):
            if self.threshold != "universal":
                raise ConfigError(f"{owner}threshold must be 'universal' or a number >= 0, got {self.threshold!r}")
        elif isinstance(self.threshold, numbers.Real) and not isinstance(self.threshold, bool):
            check_float("threshold", self.threshold, 0.0, owner=owner, low_open=False)
        else:
            raise ConfigError(f"{owner}threshold must be 'universal' or a number >= 0, got {self.threshold!r}")
        level = check_int("level", self.level, 1, owner=owner)
        if self.mode == "causal":
            window = check_int("window", self.window, 2, owner=owner)
            self._check_level(level, window, "window")

    def _check_level(self, level: int, length: int, what: str) -> None:
        top = pywt.dwt_max_level(length, pywt.Wavelet(self.wavelet).dec_len)
        if level > top:
            need = (pywt.Wavelet(self.wavelet).dec_len - 1) * 2**level
            allowed = f"allowed levels are 1..{top}" if top >= 1 else "no level is possible"
            raise ConfigError(
                f"WaveletDenoiser: level {level} is above pywt.dwt_max_level({length}, {self.wavelet!r}) = {top} "
                f"for a {what} of {length} samples; {allowed} (or use a {what} of at least {need} samples)"
            )

    def fit(self, X: ArrayLike, y: Any = None) -> WaveletDenoiser:
        """Check the parameters and record the number (and names) of columns; nothing is learned."""
        self._check_params()
        self._input(X, reset=True)
        return self

    # ----- the denoising of many signals at once ---------------------------------------------------
    def _denoise(self, signals: np.ndarray, axis: int) -> np.ndarray:
        """Denoise every 1-D signal of ``signals`` along ``axis`` (0 or 1); same shape."""
        n = signals.shape[axis]
        coeffs = pywt.wavedec(signals, self.wavelet, level=int(self.level), axis=axis)
        if self.threshold == "universal":
            sigma = np.median(np.abs(coeffs[-1]), axis=axis, keepdims=True) / _MAD
            thr = sigma * np.sqrt(2.0 * np.log(n))
        else:
            thr = float(self.threshold)
        coeffs[1:] = [soft_threshold(d, thr) for d in coeffs[1:]]
        rec = pywt.waverec(coeffs, self.wavelet, axis=axis)
        return rec[:n] if axis == 0 else rec[:, :n]

    def _causal(self, arr: np.ndarray) -> np.ndarray:
        L = int(self.window)
        T, k = arr.shape
        out = np.empty_like(arr)
        if T == 0:
            return out
        rows = max(1, _CHUNK // L)
        for j in range(k):  # columns, then blocks of windows: no loop over windows
            x = np.concatenate([np.full(L - 1, arr[0, j]), arr[:, j]])
            win = sliding_window_view(x, L)  # (T, L): row t is x_{t-L+1} .. x_t
            for s in range(0, T, rows):
                out[s : s + rows, j] = self._denoise(win[s : s + rows], axis=1)[:, L - 1]
        return out

    def _offline(self, arr: np.ndarray) -> np.ndarray:
        self._check_level(int(self.level), arr.shape[0], "series")
        return self._denoise(arr, axis=0)

    def _run(self, X: ArrayLike) -> tuple[np.ndarray, np.ndarray, Any]:
        arr, kind = self._input(X, reset=False)
        den = self._causal(arr) if self.causal else self._offline(arr)
        return arr, den, kind

    def transform(self, X: ArrayLike) -> ArrayLike:
        """The denoised part, same kind and shape as ``X``."""
        _, den, kind = self._run(X)
        return kind.wrap(den)

    def transform_parts(self, X: ArrayLike) -> tuple[ArrayLike, ArrayLike]:
        """``(denoised, residual)`` with ``residual = X - denoised``, each the same kind and shape as ``X``."""
        arr, den, kind = self._run(X)
        return kind.wrap(den), kind.wrap(arr - den)
