"""Result containers and Markdown formatting shared by the reproductions."""

from typing import Any, NamedTuple

import jax
import numpy as np


class ReproductionResult(NamedTuple):
    """A reproduced table, with the authors' numbers beside ours.

    Attributes:
      rows: ``{protocol: {metric: value}}``; for each metric ``m`` ours are
        ``m_mean`` and ``m_std`` (over seeds) and the authors' ``m_paper``
        (``None`` where they report none).
      curves: per-epoch means over seeds, ``{protocol: {metric: [epochs]}}``
        (MI unlearning and gradient baselines).
      config: the settings the run used (sizes, seeds, epochs, ...).
    """

    rows: dict[str, dict[str, Any]]
    curves: dict[str, dict[str, list[float]]]
    config: dict[str, Any]


def summarize(values: Any) -> tuple[float, float]:
    """Mean and (population) standard deviation of a ``[seeds]`` array."""
    v = np.asarray(jax.device_get(values), dtype=np.float64)
    return float(v.mean()), float(v.std())


def format_table(
    result: ReproductionResult, *, metrics: tuple[str, ...], scale: float = 1.0
) -> str:
    """Formats ``result.rows`` as a Markdown table: ours (mean +- std), paper.

    Args:
      result: a :class:`ReproductionResult`.
      metrics: the metric names to show, in order.
      scale: multiply every value (e.g. 100 for percentages).

    Returns:
      The Markdown table as a string.
    """
    head = ["protocol"]
    for m in metrics:
        head += [f"{m} (ours)", f"{m} (paper)"]
    lines = [
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for name, row in result.rows.items():
        cells = [name]
        for m in metrics:
            mean, std = row[f"{m}_mean"], row[f"{m}_std"]
            cells.append(f"{scale * mean:.3f} ± {scale * std:.3f}")
            paper = row.get(f"{m}_paper")
            cells.append("—" if paper is None else f"{paper}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
