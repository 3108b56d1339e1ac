"""Wavelet (DWT) denoising, causal by default (docs/definitions.md: DWT denoising)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
import pywt
from numpy.lib.stride_tricks import sliding_window_view
from pydantic import Field, field_validator, model_validator

from wq.errors import ConfigError
from wq.estimator import Float, Int, Params
from wq.preprocess._base import ArrayLike, Stage, window_has_nan

_MAD = 0.6745  # median(|N(0,1)|): σ = median(|d1|) / 0.6745 (Donoho & Johnstone 1994)
_CHUNK = 1 << 20  # window values per vectorised block (8 MB of float64), bounds the memory of causal mode


def soft_threshold(d: np.ndarray, thr: np.ndarray | float) -> np.ndarray:
    """Soft thresholding ``sign(d) max(|d| - thr, 0)`` (``pywt.threshold(..., mode="soft")``), with a
    threshold that broadcasts against ``d`` (one per window)."""
    return np.sign(d) * np.maximum(np.abs(d) - thr, 0.0)


def level_problem(wavelet: str, level: int, length: int, what: str) -> str | None:
    """Why ``level`` is impossible for ``length`` samples of ``wavelet`` (None when it is possible):
    J must be in 1..``pywt.dwt_max_level(length, wavelet)``."""
    top = pywt.dwt_max_level(length, pywt.Wavelet(wavelet).dec_len)
    if level <= top:
        return None
    need = (pywt.Wavelet(wavelet).dec_len - 1) * 2**level
    allowed = f"allowed levels are 1..{top}" if top >= 1 else "no level is possible"
    return (f"level {level} is above pywt.dwt_max_level({length}, {wavelet!r}) = {top} for a {what} of {length} "
            f"samples; {allowed} (or use a {what} of at least {need} samples)")


class WaveletParams(Params):
    """Settings of :class:`WaveletDenoiser` (pipeline table ``[preprocess] wavelet``). Cross-field rule: in
    causal mode the level must fit the window (``pywt.dwt_max_level(window, wavelet)``)."""

    wavelet: str = Field("db4", description="a discrete PyWavelets wavelet: db1..db38, sym2..sym20, coif1..coif17, haar")
    level: Annotated[Int, Field(ge=1, description="decomposition level J")] = 2
    window: Annotated[Int, Field(ge=2, description="trailing window L of the causal transform")] = 64
    mode: Literal["causal", "offline"] = Field("causal", description="offline: whole series, leaks the future")
    threshold: Literal["universal"] | Annotated[Float, Field(ge=0)] = "universal"

    @field_validator("wavelet")
    @classmethod
    def _known_wavelet(cls, value: str) -> str:
        if value not in pywt.wavelist(kind="discrete"):
            families = ", ".join(pywt.families(short=True))
            raise ValueError(f"unknown wavelet {value!r}; use a discrete PyWavelets wavelet such as 'db1'..'db38', "
                             f"'sym2'..'sym20', 'coif1'..'coif17', 'haar' (families: {families})")
        return value

    @model_validator(mode="after")
    def _level_fits_window(self) -> "WaveletParams":
        if self.mode == "causal":
            problem = level_problem(self.wavelet, self.level, self.window, "window")
            if problem:
                raise ValueError(problem)
        return self


class WaveletDenoiser(Stage, params=WaveletParams):
    """Split a series into a denoised part and a residual with the discrete wavelet transform.

    Definition (docs/definitions.md; PyWavelets): ``pywt.wavedec`` with wavelet W = ``wavelet`` at level J = ``level``
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

    Missing values (NaN, gaps kept by the data layer): in causal mode a trailing window holding a NaN gives NaN
    (denoised and residual); offline, each run of observed values is transformed on its own (NaN where a run is
    too short for the level). Nothing is filled.

    Nothing is learned from the data (the threshold comes from each signal itself); ``fit`` checks the
    parameters and records the columns. ``level`` must be in 1..``pywt.dwt_max_level(window, wavelet)``
    (causal) or 1..``pywt.dwt_max_level(len(series), wavelet)`` (offline), else :class:`ConfigError`.
    """

    @property
    def causal(self) -> bool:
        """False in offline mode, which reads the whole series (the future included)."""
        return self.mode != "offline"

    def _check_level(self, level: int, length: int, what: str) -> None:
        problem = level_problem(self.wavelet, level, length, what)
        if problem:
            raise ConfigError(f"WaveletDenoiser: {problem}")

    def fit(self, X: ArrayLike, y: Any = None) -> WaveletDenoiser:
        """Check the parameters and record the number (and names) of columns; nothing is learned."""
        self.check_params()
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
        gap = window_has_nan(arr, L - 1)  # clipped at the start: the padding repeats x_0, inside the window
        clean = np.nan_to_num(arr, nan=0.0)
        for j in range(k):  # columns, then blocks of windows: no loop over windows
            x = np.concatenate([np.full(L - 1, clean[0, j]), clean[:, j]])
            win = sliding_window_view(x, L)  # (T, L): row t is x_{t-L+1} .. x_t
            for s in range(0, T, rows):
                out[s : s + rows, j] = self._denoise(win[s : s + rows], axis=1)[:, L - 1]
        out[gap] = np.nan
        return out

    def _offline(self, arr: np.ndarray) -> np.ndarray:
        if not np.isnan(arr).any():
            self._check_level(int(self.level), arr.shape[0], "series")
            return self._denoise(arr, axis=0)
        out = np.full_like(arr, np.nan)
        for j in range(arr.shape[1]):  # runs of observed values, each transformed alone
            d = np.diff(np.concatenate(([0], (~np.isnan(arr[:, j])).astype(np.int8), [0])))
            for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)):
                if level_problem(self.wavelet, int(self.level), int(b - a), "series") is None:
                    out[a:b, j] = self._denoise(arr[a:b, j:j + 1], axis=0)[:, 0]
        return out

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
