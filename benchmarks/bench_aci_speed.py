"""Benchmark of issue 13: speed of adaptive conformal intervals (ACI) on a long hourly test period.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/bench_aci_speed.py [--origins 2000] [--steps 24] [--targets 3]

Random hourly forecasts (``--origins`` origins, ``--steps`` steps, ``--targets`` targets, 10 % missing
observations, a validation pool of 500 errors per series) get 80 % and 95 % ACI intervals, exceedance
probabilities and CRPS twice, in the same run: by wq's vectorised implementation (wq.evaluate.aci: Fenwick
trees, all series in lockstep) and by the straightforward one it replaced (one series at a time, a sorted array
with an O(n) insert per error; tests/evaluate/test_aci_fast.py's reference). The outputs are checked equal;
the speed-up ratio is reported with the load average (the machine is shared, so times are indicative; the
ratio within one run is the number to read). Writes README.md and speed.csv to --out.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "evaluate"))

from test_aci_fast import reference_aci  # noqa: E402

from wq.evaluate.conformal import add_intervals  # noqa: E402


def forecasts(origins: int, steps: int, targets: int, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2021-01-01", periods=origins, freq="h")
    rows, pools = [], {}
    for t in range(targets):
        for s in range(1, steps + 1):
            obs = rng.normal(np.linspace(0, 1, origins), 1 + s / steps)
            obs[rng.random(origins) < 0.1] = np.nan
            rows.append(pd.DataFrame({"origin": idx, "time": idx + pd.Timedelta(hours=s), "step": s,
                                      "target": f"t{t}", "predicted": 0.0, "observed": obs}))
            pools[(f"t{t}", s)] = np.sort(rng.normal(0, 1 + s / steps, 500))
    return pd.concat(rows, ignore_index=True), pools


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--origins", type=int, default=2000)
    ap.add_argument("--steps", type=int, default=24)
    ap.add_argument("--targets", type=int, default=3)
    ap.add_argument("--out", default=str(REPO / "reports" / "benchmarks" / "aci_speed"))
    a = ap.parse_args()
    frame, pools = forecasts(a.origins, a.steps, a.targets)
    levels, limits = [0.8, 0.95], {"t0": ("above", 2.0)}
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    fast = add_intervals(frame, pools, levels, "aci", 0.005, limits)
    t_fast = time.perf_counter() - t0
    seen = frame["observed"].to_numpy(dtype=np.float64)
    t0 = time.perf_counter()
    worst = 0.0
    for key, idx in frame.groupby(["target", "step"]).indices.items():
        ref = reference_aci(frame.iloc[idx], seen[idx], pools[key], levels, 0.005, limits.get(key[0]))
        for col, want in ref.items():
            got = fast[col].to_numpy()[idx]
            if col != "crps" and not np.array_equal(got, want, equal_nan=True):
                raise SystemExit(f"mismatch in {key} {col}")
            worst = max(worst, float(np.nanmax(np.abs(got - want), initial=0.0)))
    t_ref = time.perf_counter() - t0
    load1 = os.getloadavg()[0]
    row = {"origins": a.origins, "steps": a.steps, "targets": a.targets, "forecasts": len(frame),
           "reference_s": round(t_ref, 2), "vectorised_s": round(t_fast, 2), "speedup": round(t_ref / t_fast, 1),
           "max_abs_crps_difference": worst, "load_before": load0, "load_after": load1}
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame([row])
    table.to_csv(out / "speed.csv", index=False)
    (out / "README.md").write_text(
        "# Benchmark: ACI speed (issue 13)\n\n" + (__doc__ or "") + "\n## Result\n\n" + "```\n" + table.T.to_string(header=False) + "\n```"
        + "\n\nBounds and exceedance probabilities identical; CRPS equal to rounding (max abs difference above).\n")
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
