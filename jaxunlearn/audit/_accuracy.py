"""Accuracy on the retain / forget / test sets, gaps, mean and spread.

The first thing users of an unlearning tool look at: how accurate the
unlearned model is on the rows it kept (retain), the rows it should forget
(forget) and unseen rows (test), and how far each is from a model retrained
without the forget set (the "gold" reference). A good unlearner has a gap
near 0 on all three.

References:
  Xu & Strohmer, "Machine Unlearning via Information Theoretic
  Regularization", arXiv:2502.05684, 2025. https://arxiv.org/abs/2502.05684
"""

from collections.abc import Callable
from typing import Any, NamedTuple

from jaxtyping import Array, ArrayLike, Float, Int

import jax
import jax.numpy as jnp
import numpy as np

from jaxunlearn import _checks


class AccuracyReport(NamedTuple):
    """Accuracies (or their gaps) on the three sets of a split.

    Attributes:
      retain: accuracy on the retained training rows.
      forget: accuracy on the rows to forget.
      test: accuracy on held-out rows.
    """

    retain: Array
    forget: Array
    test: Array


class MeanStd(NamedTuple):
    """Mean and standard deviation over a leading (seed) axis.

    Attributes:
      mean: the mean, a pytree shaped like one seed's values.
      std: the standard deviation, same structure.
    """

    mean: Any
    std: Any


def _check_logits_labels(logits: Any, labels: Any) -> tuple[Array, Array]:
    logits = _checks.as_array("logits", logits)
    labels = _checks.as_array("labels", labels)
    _checks.check_floating("logits", logits)
    _checks.check_rank("logits", logits, 2)
    _checks.check_integer("labels", labels)
    _checks.check_shape("labels", labels, (logits.shape[0],))
    _checks.check_nonempty("logits", logits)
    if _checks.is_concrete(labels) and labels.size:
        arr = np.asarray(labels)
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi >= logits.shape[1]:
            raise ValueError(
                f"labels: expected classes in [0, {logits.shape[1]}), got"
                f" values in [{lo}, {hi}]"
            )
    return logits, labels


def accuracy(
    logits: Float[ArrayLike, "n c"],
    labels: Int[ArrayLike, " n"],
    *,
    where: ArrayLike | None = None,
) -> Float[Array, ""]:
    """Fraction of rows whose arg-max logit equals the label.

    Args:
      logits: model outputs ``[n, c]`` (logits or probabilities).
      labels: integer classes ``[n]`` in ``[0, c)``.
      where: optional ``[n]`` mask or non-negative weights (padding rows 0).

    Returns:
      A scalar in ``[0, 1]`` in the dtype of ``logits``.

    Raises:
      ValueError: on shape mismatches, empty input or labels out of range.
      TypeError: on non-floating logits or non-integer labels.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.audit import accuracy
      >>> logits = jnp.array([[2.0, 0.0], [0.0, 1.0]])
      >>> float(accuracy(logits, jnp.array([0, 0])))
      0.5
    """
    logits, labels = _check_logits_labels(logits, labels)
    hit = (jnp.argmax(logits, axis=-1) == labels).astype(logits.dtype)
    if where is None:
        return jnp.mean(hit)
    where = _checks.as_array("where", where)
    _checks.check_shape("where", where, (logits.shape[0],))
    w = where.astype(logits.dtype)
    return jnp.sum(w * hit) / jnp.maximum(jnp.sum(w), jnp.ones_like(hit[0]))


def per_example_loss(
    logits: Float[ArrayLike, "n c"], labels: Int[ArrayLike, " n"]
) -> Float[Array, " n"]:
    """Per-row cross-entropy ``-log softmax(logits)[y]`` in nats.

    Args:
      logits: model logits ``[n, c]``.
      labels: integer classes ``[n]`` in ``[0, c)``.

    Returns:
      The unreduced losses ``[n]``.

    Raises:
      ValueError: on shape mismatches or labels out of range.
      TypeError: on non-floating logits or non-integer labels.
    """
    logits, labels = _check_logits_labels(logits, labels)
    logp = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.take_along_axis(logp, labels[:, None], axis=-1)[:, 0]


def split_accuracy(
    apply_fn: Callable[[Any, Array], Array], params: Any, split: Any
) -> AccuracyReport:
    """Retain, forget and test accuracy of a model on an unlearning split.

    Args:
      apply_fn: ``apply_fn(params, x) -> logits [n, c]``.
      params: the model's parameters (any pytree ``apply_fn`` accepts).
      split: an object with fields ``x_retain, y_retain, x_forget, y_forget,
        x_test, y_test`` (e.g. ``jaxunlearn.datasets.UnlearningSplit``).

    Returns:
      An :class:`AccuracyReport` of scalars.

    Raises:
      ValueError: when the model's logits and the labels disagree in shape.
    """
    return AccuracyReport(
        retain=accuracy(apply_fn(params, split.x_retain), split.y_retain),
        forget=accuracy(apply_fn(params, split.x_forget), split.y_forget),
        test=accuracy(apply_fn(params, split.x_test), split.y_test),
    )


def accuracy_gap(
    report: AccuracyReport, reference: AccuracyReport
) -> AccuracyReport:
    """Signed gaps ``report - reference`` (e.g. unlearned minus retrained).

    Args:
      report: accuracies of the model under audit.
      reference: accuracies of the reference (retrained) model.

    Returns:
      An :class:`AccuracyReport` of differences; 0 everywhere is ideal.
    """
    return AccuracyReport(*jax.tree.map(jnp.subtract, report, reference))


def mean_std(values: Any, *, axis: int = 0, ddof: int = 0) -> MeanStd:
    """Mean and standard deviation of every leaf over the seed axis.

    Args:
      values: a pytree of arrays stacked over seeds along ``axis`` (e.g. the
        output of a function vmapped over keys).
      axis: the seed axis.
      ddof: delta degrees of freedom of the standard deviation (0: the
        population formula, as ``numpy.std``).

    Returns:
      A :class:`MeanStd` whose ``mean`` and ``std`` mirror the structure of
      ``values`` with ``axis`` removed.

    Raises:
      ValueError: when a leaf has fewer than ``ddof + 1`` entries on ``axis``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.audit import mean_std
      >>> m = mean_std({"acc": jnp.array([0.5, 1.0])})
      >>> float(m.mean["acc"]), float(m.std["acc"])
      (0.75, 0.25)
    """

    def _check(x):
        x = jnp.asarray(x)
        if x.ndim == 0 or x.shape[axis] < ddof + 1:
            raise ValueError(
                f"values: expected leaves with at least {ddof + 1} entries"
                f" along axis {axis}, got shape {x.shape}"
            )
        return x

    values = jax.tree.map(_check, values)
    return MeanStd(
        mean=jax.tree.map(lambda x: jnp.mean(x, axis=axis), values),
        std=jax.tree.map(lambda x: jnp.std(x, axis=axis, ddof=ddof), values),
    )
