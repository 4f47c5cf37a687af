"""Plots (matplotlib) and the Markdown / HTML / JSON report writer."""

from jaxunlearn.report._documents import (
    datapoint_sections,
    feature_sections,
    roc_curve,
)
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
    "datapoint_sections",
    "feature_sections",
    "format_value",
    "markdown_table",
    "plot_group_histograms",
    "plot_image_grid",
    "plot_pareto",
    "plot_roc",
    "plot_training_curves",
    "roc_curve",
    "write_report",
]
