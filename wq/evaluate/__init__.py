"""Evaluation: forecast skill metrics (:mod:`wq.evaluate.metrics`) and backtests."""

from wq.evaluate.metrics import (
    LOWER_IS_BETTER,
    METRICS,
    MetricInputError,
    MetricWarning,
    UnknownMetricError,
    all_metrics,
    canonical_name,
    evs,
    kge,
    mae,
    mape,
    metric,
    nse,
    pmape,
    r,
    rmse,
)

__all__ = [
    "METRICS",
    "LOWER_IS_BETTER",
    "MetricInputError",
    "MetricWarning",
    "UnknownMetricError",
    "all_metrics",
    "canonical_name",
    "evs",
    "kge",
    "mae",
    "mape",
    "metric",
    "nse",
    "pmape",
    "r",
    "rmse",
]
