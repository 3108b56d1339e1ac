"""``wq score``: the metrics of stored forecasts once their observations arrive, and the drift flag.

:func:`score_store` reads forecast rows from the store (SQLite or CSV) and observations from a data
file, and scores them with :func:`wq.batch.score.score_forecasts` (metrics per horizon step and per
month of the valid time; drift when the rolling step-1 daily MAPE stays above the threshold for
``window`` days; see that module for the exact definitions).

- With artifacts: one report per artifact, on the rows of its pipeline and model version. The
  observations are its targets, read with its pipeline's data settings but **without filling gaps**
  (``fill_method="none"``, ``long_gaps="keep"``): a filled value is not an observation, so a forecast
  whose valid time has no observed value stays *pending*. The data file is ``data`` or the one the
  model was trained on. Drift threshold: ``threshold`` if given, else the pipeline's ``[batch]
  drift_threshold`` if > 0, else 1.5 × the artifact's validation MAPE; window: ``window`` or the
  pipeline's ``[batch] drift_window``.
- Revised forecasts: the value first issued is scored (``versions="first"``, what was sent out), or the
  latest revision (``versions="latest"``, ``wq score --version latest``).
- Without artifacts: one report on every row in the store (optionally of one pipeline); the data
  file is read with its time column ``time`` (default: the first column) and the stored targets as
  columns, without filling; threshold ``threshold`` or :data:`wq.batch.score.DEFAULT_THRESHOLD`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from wq.errors import ConfigError, DataError

__all__ = ["ScoreReport", "score_store", "read_forecasts", "read_observations", "artifact_observations"]


@dataclass(frozen=True)
class ScoreReport:
    """One scored group: a label (pipeline, version, artifact) and the :class:`~wq.batch.score.ScoreResult`."""

    label: str
    result: Any
    coverage: pd.DataFrame | None = None  # rolling interval coverage (wq.batch.probabilistic.rolling_coverage)


def read_forecasts(store: str | os.PathLike[str] | None = None, csv: str | os.PathLike[str] | None = None,
                   pipeline: str | None = None, model_version: str | None = None,
                   versions: str = "first") -> pd.DataFrame:
    """Forecast rows from an existing SQLite store or forecast CSV, opened read-only (a missing file is a
    DataError); ``versions``: ``"first"`` (what was issued), ``"latest"`` or ``"all"``."""
    from wq.batch.store import ForecastStore, read_csv

    if (store is None) == (csv is None):
        raise ConfigError("give either a forecast store (--store) or a forecast CSV (--csv)")
    if store is not None:
        if not Path(store).is_file():
            raise DataError(f"forecast store {store}: does not exist")
        return ForecastStore(store, create=False).read(pipeline=pipeline, model_version=model_version,
                                                       versions=versions)
    rows = read_csv(csv, versions=versions)
    if pipeline is not None:
        rows = rows.loc[rows["pipeline"] == pipeline]
    if model_version is not None:
        rows = rows.loc[rows["model_version"] == model_version]
    return rows.reset_index(drop=True)


def read_observations(spec: Any) -> pd.DataFrame:
    """Observed values only: ``spec`` with drivers dropped and no gap filling (long gaps kept as NaN)."""
    from wq.data.load import load

    spec = dataclasses.replace(spec, drivers=[], columns=None, fill_method="none", long_gaps="keep")
    return load(spec).frame


def artifact_observations(path, data=None) -> tuple[Any, pd.DataFrame]:
    """The loaded artifact and its observations, never filled: its targets read with its pipeline's data settings
    from ``data`` (default: its training file); for a multi-site artifact (:mod:`wq.sites.artifact`) every
    site's values as columns ``<target>@<site>``, the targets its forecasts are stored under."""
    from wq.batch.forecast import load_batch_model
    from wq.sites.artifact import is_sites_artifact, load_sites_model

    if is_sites_artifact(path):
        sm = load_sites_model(path)
        return sm, sm.observations(data)
    bm = load_batch_model(path)
    return bm, read_observations(bm.pipeline.data_spec(data if data is not None else bm.data_path))


def score_store(
    *,
    store: str | os.PathLike[str] | None = None,
    csv: str | os.PathLike[str] | None = None,
    data: str | os.PathLike[str] | None = None,
    artifacts: Sequence[str | os.PathLike[str]] = (),
    time: str | None = None,
    pipeline: str | None = None,
    threshold: float | None = None,
    window: int | None = None,
    drift_step: int = 1,
    versions: str = "first",
) -> list[ScoreReport]:
    """Score stored forecasts against observations (see the module docstring for the rules). ``versions``:
    score the value first issued of each forecast (default) or its ``"latest"`` revision."""
    from wq.batch.forecast import find_artifacts
    from wq.batch.score import score_forecasts
    from wq.data.load import DataSpec

    reports: list[ScoreReport] = []
    if artifacts:
        for path in find_artifacts(artifacts):
            bm, obs = artifact_observations(path, data)
            rows = read_forecasts(store, csv, pipeline=bm.name, model_version=bm.version_id, versions=versions)
            batch = bm.batch_settings
            thr = threshold
            if thr is None and float(batch.get("drift_threshold") or 0.0) > 0:
                thr = float(batch["drift_threshold"])
            win = int(window if window is not None else batch.get("drift_window") or 7)
            result = score_forecasts(rows, obs, threshold=thr, window=win, validation_mape=bm.validation_mape,
                                     drift_step=drift_step)
            coverage = _coverage(store, rows, obs, win, bm.name, bm.version_id)
            reports.append(ScoreReport(f"pipeline {bm.name}, model version {bm.version_id} ({path})", result,
                                       coverage))
        return reports
    if data is None:
        raise ConfigError("give the observations' data file (--data) or an artifact (--artifact)")
    rows = read_forecasts(store, csv, pipeline=pipeline, versions=versions)
    if rows.empty:
        raise DataError(f"forecast store {store or csv}: no forecasts" + (f" of pipeline {pipeline!r}" if pipeline else ""))
    targets = sorted(rows["target"].unique())
    obs = read_observations(DataSpec(path=Path(data), time=time, targets=targets))
    result = score_forecasts(rows, obs, threshold=threshold, window=int(window or 7), drift_step=drift_step)
    label = f"pipeline {pipeline}" if pipeline else "all forecasts"
    coverage = _coverage(store, rows, obs, int(window or 7), pipeline, None)
    reports.append(ScoreReport(f"{label} in {store or csv}", result, coverage))
    return reports


def _coverage(store, rows: pd.DataFrame, obs: pd.DataFrame, window: int, pipeline, model_version):
    """Rolling interval coverage of the scored rows: bounds from the store's table ``probabilistic``, or the
    CSV store's columns (None where the forecasts have no intervals)."""
    from wq.batch.probabilistic import rolling_coverage
    from wq.batch.rows import KEY
    from wq.batch.store import ForecastStore

    if rows.empty:
        return None
    if store is None:  # a CSV store: the bounds are columns of its rows (none in a file wq wrote before)
        has = any(c.startswith("lower_") and rows[c].notna().any() for c in rows.columns)
        return rolling_coverage(rows, obs, window) if has else None
    prob = ForecastStore(store, create=False).read_probabilistic(pipeline, model_version)
    if prob.empty or not any(c.startswith("lower_") for c in prob.columns):
        return None
    merged = rows.merge(prob, on=[*KEY, "version"], how="left")
    return rolling_coverage(merged, obs, window)
