"""Scheduled batch forecasting: verified model artifacts, the forecast store, and scoring.

- :mod:`wq.batch.artifact`: atomic artifact directories checked against a manifest on load,
  the training data's fingerprint and the fresh-data check.
- :mod:`wq.batch.store`: the SQLite forecast store with exactly-once writes and versions (what was issued
  stays); :mod:`wq.batch.csv_store` the same as a CSV file; :mod:`wq.batch.rows` their row form.
- :mod:`wq.batch.signing`: the optional HMAC signature of artifacts (``WQ_ARTIFACT_KEY``).
- :mod:`wq.batch.staleness`: when fresh data are too old to forecast from.
- :mod:`wq.batch.score`: metrics of past forecasts per step and month, and a drift flag.
- :mod:`wq.batch.train`: ``wq train``, a pipeline's model fitted on all history, written as an artifact.
- :mod:`wq.batch.forecast`: ``wq forecast``, forecasts from artifacts and fresh data into the store
  (as-of, backfill, staleness, many artifacts in one transaction).
- :mod:`wq.batch.monitor`: ``wq score``, stored forecasts scored against the observations since.
- the subcommands (``train``, ``forecast``, ``score``, ``forecast-history``) live in :mod:`wq.cli.batch`;
  ``python -m wq.batch`` runs them alone.
"""

from wq.batch.artifact import (
    ARTIFACT_FORMAT,
    Artifact,
    check_fresh_data,
    fingerprint,
    package_versions,
    read_artifact,
    write_artifact,
)
from wq.batch.forecast import BatchModel, ForecastRun, batch_forecast, find_artifacts, load_batch_model
from wq.batch.monitor import score_store
from wq.batch.score import ScoreResult, format_score, score_forecasts
from wq.batch.store import SCHEMA_VERSION, ForecastStore, WriteResult, read_csv, write_csv
from wq.batch.train import TrainResult, train_artifact

__all__ = [
    "ARTIFACT_FORMAT",
    "Artifact",
    "check_fresh_data",
    "fingerprint",
    "package_versions",
    "read_artifact",
    "write_artifact",
    "ScoreResult",
    "format_score",
    "score_forecasts",
    "SCHEMA_VERSION",
    "ForecastStore",
    "WriteResult",
    "read_csv",
    "write_csv",
    "TrainResult",
    "train_artifact",
    "BatchModel",
    "ForecastRun",
    "batch_forecast",
    "find_artifacts",
    "load_batch_model",
    "score_store",
]
