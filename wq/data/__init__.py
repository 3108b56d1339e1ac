"""Data layer: read, validate and regularize time series (:func:`wq.data.load.load`, with its parts in
:mod:`wq.data.spec`, :mod:`wq.data.read`, :mod:`wq.data.times`, :mod:`wq.data.grid` and :mod:`wq.data.gaps`),
summarize them (:mod:`wq.data.check`), command-line flags (:mod:`wq.data.cli_args`), calendar features
(:mod:`wq.data.calendar`), sample data (:mod:`wq.data.simulate`) and simulated outages (:mod:`wq.data.outages`)."""

from wq.data.calendar import FEATURES as CALENDAR_FEATURES
from wq.data.calendar import calendar_features
from wq.data.check import CheckReport, check
from wq.data.load import DataSpec, Loaded, LongGapError, infer_freq, load
from wq.data.times import to_utc_naive
from wq.errors import DataError

__all__ = ["DataSpec", "Loaded", "load", "infer_freq", "to_utc_naive", "DataError", "LongGapError", "check",
           "CheckReport", "calendar_features", "CALENDAR_FEATURES"]
