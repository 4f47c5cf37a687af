"""Results, Markdown tables and the runs the reproductions share."""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxunlearn import baselines
from jaxunlearn.datapoint import fit_classifier


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


def fit_original_and_retrain(
    apply_fn: Callable,
    p0: Any,
    split: Any,
    keys: tuple,
    *,
    epochs: tuple[int, int],
    batch_sizes: tuple[int, int],
    learning_rate: float,
) -> tuple[Any, Any]:
    """The original (retain + forget rows) and retrained (retain rows) fits.

    Both start from fresh parameters shaped like ``p0``
    (``baselines.reinitialize``).

    Args:
      apply_fn: the forward pass.
      p0: parameters of the model's shape.
      split: an ``UnlearningSplit``.
      keys: ``(init original, init retrain, order original, order
        retrain)`` PRNG keys.
      epochs: ``(original, retrain)`` epochs.
      batch_sizes: ``(original, retrain)`` batch sizes.
      learning_rate: Adam's step size of both fits.

    Returns:
      ``(original, retrained)`` parameters.
    """
    ki, kr, kt, kt2 = keys
    x_all = jnp.concatenate([split.x_retain, split.x_forget])
    y_all = jnp.concatenate([split.y_retain, split.y_forget])
    fits = []
    for k_init, k_order, x, y, ep, bs in (
        (ki, kt, x_all, y_all, epochs[0], batch_sizes[0]),
        (kr, kt2, split.x_retain, split.y_retain, epochs[1], batch_sizes[1]),
    ):
        fit = fit_classifier(
            apply_fn,
            baselines.reinitialize(p0, key=k_init),
            x,
            y,
            epochs=ep,
            batch_size=bs,
            learning_rate=learning_rate,
            key=k_order,
        )
        fits.append(fit.params)
    return fits[0], fits[1]


def run_baselines(
    apply_fn: Callable,
    original: Any,
    split: Any,
    names: tuple[str, ...],
    key: jax.Array,
    *,
    epochs: Callable[[str], int],
    **common: Any,
) -> tuple[dict, dict]:
    """Each gradient baseline of ``names`` (key ``fold_in(key, i)``), then SSD.

    Args:
      apply_fn: the forward pass.
      original: the trained parameters.
      split: an ``UnlearningSplit``.
      names: baseline names (functions of ``jaxunlearn.baselines``).
      key: PRNG key.
      epochs: ``name -> epochs``.
      **common: keyword arguments of every gradient baseline.

    Returns:
      ``(params, histories)``: ``{name: params}`` with ``"ssd"`` and
      ``{name: UnlearnHistory}`` of the gradient baselines.
    """
    models, curves = {}, {}
    for i, name in enumerate(names):
        out = getattr(baselines, name)(
            apply_fn,
            original,
            split,
            epochs=epochs(name),
            key=jax.random.fold_in(key, i),
            **common,
        )
        models[name] = out.params
        curves[name] = out.history
    models["ssd"] = baselines.ssd(apply_fn, original, split).params
    return models, curves


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
