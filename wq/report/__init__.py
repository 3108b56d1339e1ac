"""Run reports: Markdown tables, figures and ``report.md`` (:func:`write_report`)."""

from wq.report.figures import (
    axis_label,
    model_colours,
    plot_forecasts,
    plot_lead_time,
    plot_mape_bars,
    plot_residuals,
    plot_scatter,
)
from wq.report.report import write_report
from wq.report.tables import markdown_table

__all__ = [
    "write_report",
    "markdown_table",
    "model_colours",
    "axis_label",
    "plot_forecasts",
    "plot_scatter",
    "plot_residuals",
    "plot_mape_bars",
    "plot_lead_time",
]
