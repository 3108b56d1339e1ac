"""Pure scores of probabilistic forecasts: prediction intervals, quantiles, predictive distributions given by
samples (or residual pools), and probabilities of an event (crossing a limit).

Every function takes arrays (``y`` observed, bounds or probabilities of the same length) and returns a float,
except the vectorised per-forecast helpers (``*_each``). Inputs must be finite where a score is computed; the
callers (:mod:`wq.evaluate.conformal`) drop unobserved values first.

- :func:`coverage`: share of observations inside ``[lower, upper]``.
- :func:`mean_width`: mean of ``upper - lower``.
- :func:`interval_score`: Winkler / Gneiting & Raftery (2007, eq. 43) interval score of a central
  ``1 - alpha`` interval: width + 2/alpha * distance outside. Lower is better.
- :func:`pinball`: quantile (pinball) loss of a ``tau`` quantile forecast.
- :func:`crps_pool_each` / :func:`crps_samples`: CRPS of the empirical distribution ``yhat + r_i`` (r sorted),
  ``E|X - y| - E|X - X'| / 2`` (Gneiting & Raftery 2007, eq. 21), exact for the empirical distribution.
- :func:`brier`, :func:`brier_skill`: Brier score of event probabilities; skill ``1 - BS / BS_ref`` against a
  constant reference probability (climatology).
- :func:`hit_rate`, :func:`false_alarm_rate`: of the warnings ``p >= threshold``: hits / events, and false
  alarms / non-events (probability of false detection).
- :func:`reliability`: binned forecast probability against observed frequency.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["coverage", "mean_width", "interval_score", "pinball", "crps_samples", "crps_pool_each", "brier",
           "brier_skill", "hit_rate", "false_alarm_rate", "reliability"]


def _arr(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64).ravel()


def coverage(y, lower, upper) -> float:
    """Share of ``y`` inside the closed intervals ``[lower, upper]``."""
    y, lo, hi = _arr(y), _arr(lower), _arr(upper)
    return float(np.mean((y >= lo) & (y <= hi))) if y.size else float("nan")


def mean_width(lower, upper) -> float:
    """Mean width ``upper - lower``."""
    lo, hi = _arr(lower), _arr(upper)
    return float(np.mean(hi - lo)) if lo.size else float("nan")


def interval_score(y, lower, upper, alpha: float) -> float:
    """Mean interval score of central ``1 - alpha`` intervals: ``(u - l) + 2/alpha (l - y) 1{y < l} +
    2/alpha (y - u) 1{y > u}`` (Gneiting & Raftery 2007, eq. 43; Winkler 1972). Lower is better."""
    y, lo, hi = _arr(y), _arr(lower), _arr(upper)
    if not y.size:
        return float("nan")
    below = np.clip(lo - y, 0, None)
    above = np.clip(y - hi, 0, None)
    return float(np.mean(hi - lo + 2.0 / alpha * (below + above)))


def pinball(y, q, tau: float) -> float:
    """Mean pinball (quantile) loss of ``q`` as the ``tau`` quantile: ``max(tau (y - q), (tau - 1) (y - q))``."""
    d = _arr(y) - _arr(q)
    return float(np.mean(np.maximum(tau * d, (tau - 1.0) * d))) if d.size else float("nan")


def _gini_half(r_sorted: np.ndarray) -> float:
    """``E|X - X'| / 2`` of the empirical distribution of sorted values (O(n))."""
    n = r_sorted.size
    i = np.arange(1, n + 1)
    return float(np.dot(2 * i - n - 1, r_sorted) / n ** 2)


def crps_pool_each(r_sorted: np.ndarray, e) -> np.ndarray:
    """CRPS of each forecast whose predictive distribution is ``yhat + r_i`` (``r_sorted`` ascending), with
    ``e = y - yhat`` per forecast: ``mean_i |r_i - e| - E|R - R'| / 2``; vectorised (sort once, search)."""
    r = np.asarray(r_sorted, dtype=np.float64)
    e = _arr(e)
    n = r.size
    cs = np.concatenate([[0.0], np.cumsum(r)])
    k = np.searchsorted(r, e, side="right")
    first = (e * k - cs[k] + (cs[n] - cs[k]) - e * (n - k)) / n
    return first - _gini_half(r)


def crps_samples(samples, y: float) -> float:
    """CRPS of the empirical distribution of ``samples`` at the observation ``y``."""
    s = np.sort(_arr(samples))
    return float(crps_pool_each(s, [y])[0])


def brier(p, o) -> float:
    """Mean Brier score of probabilities ``p`` of events ``o`` (1 or 0)."""
    p, o = _arr(p), _arr(o)
    return float(np.mean((p - o) ** 2)) if p.size else float("nan")


def brier_skill(p, o, reference: float) -> float:
    """Brier skill ``1 - BS(p) / BS(reference)`` against a constant probability (climatology); nan when the
    reference is perfect (no event and reference 0, or all events and reference 1)."""
    ref = brier(np.full(_arr(o).size, reference), o)
    return float(1.0 - brier(p, o) / ref) if ref > 0 else float("nan")


def hit_rate(p, o, threshold: float) -> float:
    """Share of events with ``p >= threshold`` (nan without events)."""
    p, o = _arr(p), _arr(o).astype(bool)
    return float(np.mean(p[o] >= threshold)) if o.any() else float("nan")


def false_alarm_rate(p, o, threshold: float) -> float:
    """Share of non-events with ``p >= threshold`` (probability of false detection; nan without non-events)."""
    p, o = _arr(p), _arr(o).astype(bool)
    return float(np.mean(p[~o] >= threshold)) if (~o).any() else float("nan")


def reliability(p, o, bins: int = 10) -> pd.DataFrame:
    """Reliability table: per bin of forecast probability (``bins`` equal bins of [0, 1]), the mean forecast
    probability, the observed frequency and the count (empty bins left out)."""
    p, o = _arr(p), _arr(o)
    which = np.minimum((p * bins).astype(int), bins - 1)
    frame = pd.DataFrame({"bin": which, "p": p, "o": o})
    out = frame.groupby("bin").agg(forecast=("p", "mean"), observed=("o", "mean"), n=("o", "size")).reset_index()
    out["bin_low"] = out["bin"] / bins
    return out[["bin_low", "forecast", "observed", "n"]]
