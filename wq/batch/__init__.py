"""Scheduled batch forecasting: verified model artifacts, the forecast store, and scoring.

- :mod:`wq.batch.artifact`: atomic artifact directories checked against a manifest on load,
  the training data's fingerprint and the fresh-data check.
- :mod:`wq.batch.store`: the SQLite forecast store (and a CSV alternative) with exactly-once upserts.
- :mod:`wq.batch.score`: metrics of past forecasts per step and month, and a drift flag.
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
from wq.batch.score import ScoreResult, format_score, score_forecasts
from wq.batch.store import SCHEMA_VERSION, ForecastStore, WriteResult, read_csv, write_csv

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
]
