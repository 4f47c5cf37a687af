"""Plots (matplotlib) and the Markdown / HTML / JSON report writer."""

from jaxunlearn.report._plots import (
    plot_group_histograms,
    plot_image_grid,
    plot_pareto,
    plot_roc,
    plot_training_curves,
)
from jaxunlearn.report._writer import (
    ReportPaths,
    Section,
    format_value,
    markdown_table,
    write_report,
)

__all__ = [
    "ReportPaths",
    "Section",
    "format_value",
    "markdown_table",
    "plot_group_histograms",
    "plot_image_grid",
    "plot_pareto",
    "plot_roc",
    "plot_training_curves",
    "write_report",
]
