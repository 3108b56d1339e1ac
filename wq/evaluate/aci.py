"""Adaptive conformal inference (Gibbs & Candès 2021) over many forecast series at once (every target and step
of a model that share their forecast origins), with O(log n) work per forecast.

The recursion is sequential in time (a forecast's working miss rate depends on whether the earlier intervals
covered), so the loop runs over the origins; every series advances in lockstep, each step a handful of numpy
operations on all series together. Each series' growing error pool lives in two Fenwick (binary indexed) trees
over the sorted values the pool will ever hold (its validation errors and its own forecast errors, known in
advance; an error *joins* the pool only when its target time is at or before the origin of the forecast being
made, so nothing after an origin reaches its interval): counts (order statistics by binary lifting, exceedance
probabilities) and sums (CRPS). ``E|R - R'| / 2`` of the pool is kept up to date as errors join.

Results equal the straightforward implementation (a sorted array with an insert per error): same bounds and
exceedance probabilities, CRPS to rounding (tests/evaluate/test_aci_fast.py).
"""

from __future__ import annotations

import numpy as np

__all__ = ["adaptive_conformal"]


def _fenwick(values: np.ndarray) -> np.ndarray:
    """Fenwick trees (rows) of per-position values ``(G, N)``: shape ``(G, N + 2)``, 1-based; column 0 and the
    overflow column N + 1 stay zero for queries."""
    G, N = values.shape
    prefix = np.zeros((G, N + 1), dtype=values.dtype)
    np.cumsum(values, axis=1, out=prefix[:, 1:])
    idx = np.arange(1, N + 1)
    tree = np.zeros((G, N + 2), dtype=values.dtype)
    tree[:, 1:N + 1] = prefix[:, idx] - prefix[:, idx - (idx & -idx)]
    return tree


class _Pools:
    """Growing sorted pools of G series: counts and sums in Fenwick trees over each series' value grid."""

    def __init__(self, grid: np.ndarray, start_counts: np.ndarray, pools: list[np.ndarray]):
        self.grid, self.N = grid, grid.shape[1]
        finite_grid = np.where(np.isfinite(grid), grid, 0.0)
        self.count = _fenwick(start_counts.astype(np.int64))
        self.sum = _fenwick(start_counts * finite_grid)
        self.size = np.array([p.size for p in pools], dtype=np.int64)
        self.total = np.array([p.sum() for p in pools])
        self.pairs = np.array([np.dot(2 * np.arange(1, p.size + 1) - p.size - 1, p) for p in pools])
        self.log = max(int(self.N).bit_length(), 1)

    def prefix(self, rows: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(count, sum) of the first ``r`` grid values of each row's pool."""
        r = r.copy()
        c, s = np.zeros(r.size, dtype=np.int64), np.zeros(r.size)
        for _ in range(self.log + 1):
            c += self.count[rows, r]
            s += self.sum[rows, r]
            r &= r - 1
            if not r.any():
                break
        return c, s

    def kth(self, rows: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Grid values of the ``k``-th smallest (1-based) pool element of each row."""
        pos, rem = np.zeros(k.size, dtype=np.int64), k.astype(np.int64)
        step = 1 << (self.log - 1)
        while step:
            nxt = pos + step
            t = self.count[rows, np.minimum(nxt, self.N + 1)]
            go = (nxt <= self.N) & (t < rem)
            pos = np.where(go, nxt, pos)
            rem = np.where(go, rem - t, rem)
            step >>= 1
        return self.grid[rows, pos]

    def insert(self, rows: np.ndarray, q: np.ndarray, v: np.ndarray) -> None:
        """Add value ``v`` (grid position ``q``, 0-based) to each row's pool (one value per row)."""
        m = rows.size
        c, s = self.prefix(np.concatenate([rows, rows]), np.concatenate([q, q + 1]))
        c_lt, s_lt, c_le, s_le = c[:m], s[:m], c[m:], s[m:]
        self.pairs[rows] += v * c_lt - s_lt + (self.total[rows] - s_le) - v * (self.size[rows] - c_le)
        self.size[rows] += 1
        self.total[rows] += v
        idx = q + 1
        for _ in range(self.log + 1):
            self.count[rows, idx] += 1
            self.sum[rows, idx] += v
            idx = np.minimum(idx + (idx & -idx), self.N + 1)
        self.count[:, self.N + 1] = 0
        self.sum[:, self.N + 1] = 0.0


def _grid(pools: list[np.ndarray], err: np.ndarray, ok: np.ndarray):
    """Per series the sorted distinct values its pool will ever hold (padded with +inf), the start counts."""
    grids = [np.unique(np.concatenate([p, e[o]])) for p, e, o in zip(pools, err, ok)]
    G, N = len(grids), max(g.size for g in grids)
    grid, counts = np.full((G, N), np.inf), np.zeros((G, N))
    for g, (values, p) in enumerate(zip(grids, pools)):
        grid[g, :values.size] = values
        counts[g] = np.bincount(np.searchsorted(values, p), minlength=N)
    return grids, grid, counts


def adaptive_conformal(origin: np.ndarray, time: np.ndarray, yhat: np.ndarray, y: np.ndarray,  # size: one recursion
                       pools: list[np.ndarray], alpha_nom: np.ndarray, gamma: float, limit_d: np.ndarray,
                       limit_above: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """ACI intervals, exceedance probabilities and CRPS of G series of n forecasts sharing their origins.

    Parameters
    ----------
    origin : (n,) sorted forecast origins (datetime64), the same for every series.
    time : (G, n) target times; the error of forecast j joins its series' pool before the first forecast whose
        origin is at or after ``time[g, j]``.
    yhat, y : (G, n) forecasts and observations (NaN: not observed; such errors never join).
    pools : G sorted, non-empty starting pools (validation errors ``y - yhat``).
    alpha_nom : (K,) nominal miss rates ``1 - level``.
    gamma : ACI step size.
    limit_d : (G, n) ``limit - yhat`` (NaN: no limit); ``limit_above`` (G,) bool: ``above`` limits.

    Returns
    -------
    lower, upper : (G, n, K) bounds; p_limit : (G, n); crps : (G, n).
    """
    G, n = yhat.shape
    K = alpha_nom.size
    err = y - yhat
    ok = np.isfinite(y) & np.isfinite(yhat)
    grids, grid, counts = _grid(pools, err, ok)
    state = _Pools(grid, counts, pools)
    ins = np.stack([np.searchsorted(gv, e) for gv, e in zip(grids, err)])
    at_e = np.stack([np.searchsorted(gv, e, side="right") for gv, e in zip(grids, err)])
    at_d = np.stack([np.searchsorted(gv, d, side="right" if up else "left")
                     for gv, d, up in zip(grids, limit_d, limit_above)])
    arrived = np.stack([np.searchsorted(origin, t, side="left") for t in time])
    by_arrival = np.argsort(arrived, axis=1, kind="stable")
    ends = np.stack([np.searchsorted(a, np.arange(n), side="right")
                     for a in np.take_along_axis(arrived, by_arrival, axis=1)])
    lo, hi = np.full((G, n, K), np.nan), np.full((G, n, K), np.nan)
    p_limit, crps = np.full((G, n), np.nan), np.full((G, n), np.nan)
    alpha = np.tile(alpha_nom, (G, 1))
    rows_all, rows_k, rows_two = np.arange(G), np.repeat(np.arange(G), 2 * K), np.tile(np.arange(G), 2)
    done = np.zeros(G, dtype=np.int64)
    for i in range(n):
        for r in range(int((ends[:, i] - done).max(initial=0))):
            g = rows_all[ends[:, i] - done > r]
            j = by_arrival[g, done[g] + r]
            use = ok[g, j]
            g, j = g[use], j[use]
            if g.size:
                yj = y[g, j][:, None]
                miss = (yj < lo[g, j]) | (yj > hi[g, j])
                alpha[g] = alpha[g] + gamma * (alpha_nom - miss)
                state.insert(g, ins[g, j], err[g, j])
        done = ends[:, i].copy()
        a = np.clip(alpha, 0.0, 1.0)
        m = state.size[:, None]
        k_lo = np.floor((m + 1) * a / 2 + 1e-9).astype(np.int64)
        k_hi = np.ceil((m + 1) * (1 - a / 2) - 1e-9).astype(np.int64)
        k = np.clip(np.concatenate([k_lo, k_hi], axis=1), 1, m)
        bounds = state.kth(rows_k, k.ravel()).reshape(G, 2 * K)
        live = np.isfinite(yhat[:, i])
        lo[live, i] = yhat[live, i, None] + bounds[live, :K]
        hi[live, i] = yhat[live, i, None] + bounds[live, K:]
        c, s = state.prefix(rows_two, np.concatenate([at_d[:, i], at_e[:, i]]))
        c_d, c_e, s_e = c[:G], c[G:], s[G:]
        size = state.size
        p = np.where(limit_above, (size - c_d) / size, c_d / size)
        p_limit[:, i] = np.where(live & np.isfinite(limit_d[:, i]), p, np.nan)
        e = err[:, i]
        first = (e * c_e - s_e + (state.total - s_e) - e * (size - c_e)) / size
        crps[:, i] = np.where(ok[:, i], first - state.pairs / size ** 2, np.nan)
    return lo, hi, p_limit, crps
