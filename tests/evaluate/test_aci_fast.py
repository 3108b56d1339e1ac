"""The vectorised ACI (wq.evaluate.aci, Fenwick trees, all series in lockstep) against the straightforward
implementation it replaced (a sorted array with an insert per observed error, one series at a time)."""

import numpy as np
import pandas as pd
import pytest

from wq.evaluate.conformal import add_intervals, conformal_offsets, exceed_probability, level_key
from wq.evaluate.probabilistic import crps_pool_each


def reference_aci(rows, y, pool, levels, gamma, limit):
    """The previous implementation, verbatim in substance: one series, a python loop, np.insert per error."""
    order = np.argsort(rows["origin"].to_numpy(), kind="stable")
    origin = pd.DatetimeIndex(rows["origin"]).to_numpy()[order]
    time = pd.DatetimeIndex(rows["time"]).to_numpy()[order]
    yhat = rows["predicted"].to_numpy(dtype=np.float64)[order]
    ys = y[order]
    n, k = len(rows), len(levels)
    alpha_nom = np.array([1 - lv for lv in levels])
    alpha = alpha_nom.copy()
    lo, hi = np.full((n, k), np.nan), np.full((n, k), np.nan)
    p_limit, crps = np.full(n, np.nan), np.full(n, np.nan)
    pool = np.sort(np.asarray(pool, dtype=np.float64))
    arrived = np.searchsorted(origin, time, side="left")
    by_arrival = np.argsort(arrived, kind="stable")
    ptr = 0
    for i in range(n):
        while ptr < n and arrived[by_arrival[ptr]] <= i:
            j = by_arrival[ptr]
            ptr += 1
            if np.isfinite(ys[j]) and np.isfinite(yhat[j]):
                miss = (ys[j] < lo[j]) | (ys[j] > hi[j])
                alpha = alpha + gamma * (alpha_nom - miss)
                pool = np.insert(pool, np.searchsorted(pool, ys[j] - yhat[j]), ys[j] - yhat[j])
        if not np.isfinite(yhat[i]):
            continue
        for c, a in enumerate(np.clip(alpha, 0.0, 1.0)):
            o_lo, o_hi, _ = conformal_offsets(pool, a)
            lo[i, c], hi[i, c] = yhat[i] + o_lo, yhat[i] + o_hi
        if limit is not None:
            p_limit[i] = exceed_probability(pool, yhat[i:i + 1], limit)[0]
        if np.isfinite(ys[i]):
            crps[i] = crps_pool_each(pool, [ys[i] - yhat[i]])[0]
    back = np.empty(n, dtype=int)
    back[order] = np.arange(n)
    values = {}
    for c, lv in enumerate(levels):
        values[f"lower_{level_key(lv)}"] = lo[back, c]
        values[f"upper_{level_key(lv)}"] = hi[back, c]
    values["p_limit"] = p_limit[back]
    values["crps"] = crps[back]
    return values


def random_forecasts(seed: int) -> tuple[pd.DataFrame, dict]:
    """Three targets, four steps, irregular origins (gaps), ties, missing observations and forecasts, shuffled."""
    rng = np.random.default_rng(seed)
    origins = pd.DatetimeIndex(np.sort(rng.choice(pd.date_range("2020-01-01", periods=400, freq="h"), 250,
                                                  replace=False)))
    rows = []
    for target, scale in [("a", 1.0), ("b", 3.0), ("c", 0.5)]:
        for step in range(1, 5):
            drift = np.linspace(0, 2 * scale, origins.size) * (step / 4)
            obs = rng.normal(drift, scale * (1 + step / 4)).round(1)  # ties
            obs[rng.random(origins.size) < 0.1] = np.nan
            pred = np.zeros(origins.size)
            pred[rng.random(origins.size) < 0.03] = np.nan
            rows.append(pd.DataFrame({"origin": origins, "time": origins + pd.Timedelta(hours=step), "step": step,
                                      "target": target, "predicted": pred, "observed": obs}))
    frame = pd.concat(rows, ignore_index=True).sample(frac=1.0, random_state=seed).reset_index(drop=True)
    pools = {(t, s): np.sort(rng.normal(0, 1, 40 + 7 * s).round(1)) for t in "abc" for s in range(1, 5)}
    return frame, pools


@pytest.mark.parametrize("seed", [0, 1])
def test_vectorised_aci_equals_the_reference(seed):
    frame, pools = random_forecasts(seed)
    levels, gamma = [0.5, 0.8, 0.95], 0.05
    limits = {"a": ("above", 1.5), "b": ("below", -1.0)}
    fast = add_intervals(frame, pools, levels, "aci", gamma, limits)
    seen = frame["observed"].to_numpy(dtype=np.float64)
    for (target, step), idx in frame.groupby(["target", "step"]).indices.items():
        ref = reference_aci(frame.iloc[idx], seen[idx], pools[(target, step)], levels, gamma, limits.get(target))
        for col, want in ref.items():
            got = fast[col].to_numpy()[idx]
            if col == "crps":
                np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9, equal_nan=True)
            else:  # bounds are pool elements: exactly equal
                np.testing.assert_array_equal(got, want, err_msg=f"{target} step {step} {col}")
    assert fast["lower_80"].notna().mean() > 0.9 and fast.loc[fast["target"] == "c", "p_limit"].isna().all()
