"""Data layer: read, validate and regularize time series (:mod:`wq.data.load`), summarize them
(:mod:`wq.data.check`), command-line flags (:mod:`wq.data.cli_args`) and calendar features
(:mod:`wq.data.calendar`)."""

from wq.data.calendar import FEATURES as CALENDAR_FEATURES
from wq.data.calendar import calendar_features
from wq.data.check import CheckReport, check
from wq.data.load import DataSpec, Loaded, LongGapError, infer_freq, load
from wq.errors import DataError

__all__ = ["DataSpec", "Loaded", "load", "infer_freq", "DataError", "LongGapError", "check", "CheckReport",
           "calendar_features", "CALENDAR_FEATURES"]
