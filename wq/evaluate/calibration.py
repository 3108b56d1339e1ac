"""Scores of the intervals and exceedance probabilities of a backtest, per model, target and step: the tables
behind the interval columns of ``metrics.csv`` and ``limits.csv`` (:mod:`wq.evaluate.conformal` makes the
intervals; :mod:`wq.evaluate.probabilistic` has the pure score functions)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from wq.evaluate.conformal import _observed_only, level_key
from wq.evaluate.probabilistic import (brier, brier_skill, coverage, false_alarm_rate, hit_rate, interval_score,
                                       mean_width, pinball)

__all__ = ["interval_columns", "interval_table", "limit_table", "climatology", "exceeds"]


def interval_columns(levels: Sequence[float]) -> list[str]:
    """The interval columns of ``metrics.csv``: coverage, width and interval score per level, then the
    pinball loss (mean over the bounds of every level) and CRPS."""
    cols = [f"{m}_{level_key(lv)}" for lv in levels for m in ("coverage", "width", "interval_score")]
    return [*cols, "pinball", "CRPS"]


def interval_table(pred: pd.DataFrame, levels: Sequence[float],
                   observed_mask: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per model, target and step: :func:`interval_columns` over the forecasts with an observation and an
    interval (values filled by the data layer are not scored)."""
    pred = _observed_only(pred, observed_mask)
    rows = []
    for key, grp in pred.groupby(["model", "target", "step"], sort=False):
        y = grp["observed"].to_numpy(dtype=np.float64)
        ok = np.isfinite(y) & np.isfinite(grp["predicted"].to_numpy(dtype=np.float64))
        row = dict(zip(["model", "target", "step"], key))
        losses = []
        for lv in levels:
            k = level_key(lv)
            lo = grp[f"lower_{k}"].to_numpy(dtype=np.float64)
            hi = grp[f"upper_{k}"].to_numpy(dtype=np.float64)
            use = ok & np.isfinite(lo) & np.isfinite(hi)
            row[f"coverage_{k}"] = coverage(y[use], lo[use], hi[use])
            row[f"width_{k}"] = mean_width(lo[use], hi[use])
            row[f"interval_score_{k}"] = interval_score(y[use], lo[use], hi[use], 1 - lv)
            losses += [pinball(y[use], lo[use], (1 - lv) / 2), pinball(y[use], hi[use], (1 + lv) / 2)]
        row["pinball"] = float(np.mean(losses)) if losses else float("nan")
        crps = grp["crps"].to_numpy(dtype=np.float64)
        row["CRPS"] = float(np.nanmean(crps)) if np.isfinite(crps).any() else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def exceeds(values, limit: tuple[str, float]) -> np.ndarray:
    """1.0 where a value crosses the limit, 0.0 where not, NaN where missing."""
    v = np.asarray(values, dtype=np.float64)
    hit = v > limit[1] if limit[0] == "above" else v < limit[1]
    return np.where(np.isfinite(v), hit.astype(np.float64), np.nan)


def climatology(train: pd.DataFrame, limits: Mapping[str, tuple[str, float]]) -> dict[str, float]:
    """Exceedance frequency of each limit over the observed values of the training rows."""
    out = {}
    for target, limit in limits.items():
        e = exceeds(train[target].to_numpy(), limit)
        out[target] = float(np.nanmean(e)) if np.isfinite(e).any() else float("nan")
    return out


def limit_table(pred: pd.DataFrame, limits: Mapping[str, tuple[str, float]], clim: Mapping[str, float],
                warn: float, alarm: float, observed_mask: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per model, target with a limit, and step: events and forecasts scored, Brier score of ``p_limit``,
    the Brier score of climatology (the training frequency ``clim``) and the skill against it, hit rate and
    false-alarm rate (non-events warned) at the ``warn`` and ``alarm`` thresholds."""
    pred = _observed_only(pred[pred["target"].isin(list(limits))], observed_mask)
    rows = []
    for (model, target, step), grp in pred.groupby(["model", "target", "step"], sort=False):
        o = exceeds(grp["observed"].to_numpy(), limits[target])
        p = grp["p_limit"].to_numpy(dtype=np.float64)
        ok = np.isfinite(o) & np.isfinite(p)
        o, p = o[ok], p[ok]
        kind, value = limits[target]
        c = clim.get(target, float("nan"))
        rows.append({"model": model, "target": target, "step": step, "limit": f"{kind} {value:g}",
                     "n": int(ok.sum()), "events": int(o.sum()), "climatology": c, "Brier": brier(p, o),
                     "Brier_climatology": brier(np.full(o.size, c), o), "BSS": brier_skill(p, o, c),
                     "hit_rate_warn": hit_rate(p, o, warn), "false_alarm_rate_warn": false_alarm_rate(p, o, warn),
                     "hit_rate_alarm": hit_rate(p, o, alarm),
                     "false_alarm_rate_alarm": false_alarm_rate(p, o, alarm)})
    return pd.DataFrame(rows)
