"""Forecasts of every site from one origin as forecast-store rows, written in one transaction.

A site's forecast is stored under ``target = "<target>@<site>"`` (the store's key is pipeline, model_version,
as_of, target, step), so one :meth:`wq.batch.store.ForecastStore.write` call holds all sites of a run: it
succeeds or fails as a whole and nothing is half-written.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def store_rows(pipeline: str, model_version: str, target: str, as_of: pd.Timestamp, freq: str,
               forecasts: dict[str, np.ndarray]) -> pd.DataFrame:
    """Rows of the store for ``forecasts`` (site -> (H,) values from origin ``as_of``), vectorised."""
    sites = list(forecasts)
    values = np.stack([np.asarray(forecasts[s], dtype=np.float64).ravel() for s in sites])
    S, H = values.shape
    times = pd.date_range(as_of, periods=H + 1, freq=freq)[1:]
    return pd.DataFrame({
        "pipeline": pipeline, "model_version": model_version, "as_of": as_of,
        "target": np.repeat([f"{target}@{s}" for s in sites], H), "step": np.tile(np.arange(1, H + 1), S),
        "time": np.tile(times, S), "value": values.ravel()})


def write_site_forecasts(store_path, rows: pd.DataFrame):
    """Write ``rows`` of all sites into the SQLite forecast store at ``store_path`` in one transaction."""
    from wq.batch.store import ForecastStore

    return ForecastStore(store_path).write(rows)
