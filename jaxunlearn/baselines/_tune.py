"""Choosing a gradient baseline's learning rate and epochs on validation.

:func:`tune` runs a kernel :class:`~jaxunlearn.datapoint.Method` at every
learning rate of a small grid (one ``jax.vmap`` over the rates and seeds,
one compiled call) for the largest epoch count of the grid, and reads every
smaller epoch count off the per-epoch history: a run's first ``e`` epochs
are the run with ``epochs=e`` (each epoch's batch order and keys depend on
the epoch index only). Every accuracy the choice uses is measured on
validation rows the caller passes, rows the trained model never saw; the
pool's test rows are never read.

The validation loss of a run is

    |forget accuracy - target| + (1 - validation accuracy),

small when the forget accuracy sits at the target (an estimate of
retraining's forget accuracy, e.g. the probe estimate
``datapoint.estimate_retrain_forget_acc`` that MI unlearning's default stop
rule aims at) at a high accuracy on unseen rows; a model that collapses
scores near 1. Without a target, the run's own accuracy on the validation
rows of the forget set's classes stands in (the forget rows should look
like unseen rows of their classes).
"""

import dataclasses
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxunlearn import _checks
from jaxunlearn.baselines._loop import train_config
from jaxunlearn.datapoint import Method, Pool, Request, TrainConfig
from jaxunlearn.datapoint._unlearn import cast_leaves

# Methods whose epoch is one pass over the forget set (the others pass over
# the retain set), and those that take a second (max) step per step in
# their first ``max_epochs`` epochs: for the gradient-step count.
_FORGET_DRIVEN = frozenset({"neggrad"})
_MAX_STEPS = frozenset({"scrub"})


class TuneResult(NamedTuple):
    """What :func:`tune` chose and the validation evidence behind it.

    Attributes:
      config: the method's config with the chosen learning rate and epochs.
      learning_rate: the chosen learning rate.
      epochs: the chosen number of epochs.
      scores: ``[len(learning_rates), len(epochs)]`` validation loss, mean
        over seeds (lower is better).
      forget_acc: same shape, forget accuracy.
      val_acc: same shape, validation accuracy.
      learning_rates: the grid's learning rates, as given.
      epoch_grid: the grid's epoch counts, as given.
      steps: gradient steps the tuning ran (all rates and seeds).
      budget: the step budget it was checked against (None: unchecked).
    """

    config: Any
    learning_rate: float
    epochs: int
    scores: np.ndarray
    forget_acc: np.ndarray
    val_acc: np.ndarray
    learning_rates: tuple[float, ...]
    epoch_grid: tuple[int, ...]
    steps: int
    budget: int | None


def with_train(config: Any, **changes: Any) -> Any:
    """``config`` with fields of its :class:`TrainConfig` replaced.

    Args:
      config: a ``TrainConfig`` or a config with a ``train`` field.
      **changes: ``TrainConfig`` fields to replace.

    Returns:
      A config of the same type.

    Raises:
      TypeError: when ``config`` holds no ``TrainConfig``.
    """
    if isinstance(config, TrainConfig):
        return dataclasses.replace(config, **changes)
    train = getattr(config, "train", None)
    if not isinstance(train, TrainConfig):
        raise TypeError(
            "config: expected a TrainConfig or a config with a TrainConfig"
            f" field 'train' (a gradient method), got {type(config).__name__}"
        )
    return dataclasses.replace(
        config, train=dataclasses.replace(train, **changes)
    )


def gradient_steps(method: Method, request: Request, config: Any) -> int:
    """Optimizer steps one run of ``method`` takes on ``request``.

    Steps over padding rows (which update nothing) are not counted.

    Args:
      method: a gradient method of ``jaxunlearn.baselines``.
      request: one request.
      config: the method's config.

    Returns:
      The number of optimizer updates (SCRUB's max steps included).
    """
    train = train_config(config)
    n_retain = int(np.sum(np.asarray(request.retain_mask) > 0))
    n_forget = int(np.sum(np.asarray(request.forget_mask) > 0))
    retain_steps = math.ceil(n_retain / train.batch_size)
    if method.name in _FORGET_DRIVEN:
        return train.epochs * math.ceil(n_forget / train.forget_batch_size)
    steps = train.epochs * retain_steps
    if method.name in _MAX_STEPS:
        max_epochs = int(np.asarray(config.max_epochs))
        steps += min(max_epochs, train.epochs) * retain_steps
    return steps


def validation_loss(forget_acc, target, val_acc):
    """The tuning objective of :func:`tune` (lower is better).

    Args:
      forget_acc: accuracy on the forget set.
      target: the forget accuracy aimed at (an estimate of retraining's).
      val_acc: accuracy on all validation rows.

    Returns:
      ``|forget_acc - target| + (1 - val_acc)`` (arrays broadcast).
    """
    return jnp.abs(forget_acc - target) + (1.0 - val_acc)


def _check_grid(learning_rates: Any, epochs: Any) -> tuple[tuple, tuple]:
    lrs = tuple(np.asarray(learning_rates, dtype=float).reshape(-1))
    if not lrs:
        raise ValueError(
            "learning_rates: expected at least one learning rate, got none"
        )
    if not all(math.isfinite(v) and v > 0 for v in lrs):
        raise ValueError(
            f"learning_rates: expected finite values > 0, got {list(lrs)}"
        )
    eps = tuple(epochs) if isinstance(epochs, Sequence) else ()
    if not eps:
        raise ValueError(
            f"epochs: expected a non-empty sequence of epoch counts, got"
            f" {epochs!r}"
        )
    for e in eps:
        _checks.check_positive_int("epochs", e)
    if len(set(eps)) != len(eps) or len(set(lrs)) != len(lrs):
        raise ValueError(
            f"learning_rates, epochs: expected distinct values, got"
            f" {list(lrs)} and {list(eps)}"
        )
    return lrs, tuple(int(e) for e in eps)


def _validation_pool(pool: Pool, validation: Any) -> Pool:
    if not isinstance(validation, tuple | list) or len(validation) != 2:
        raise ValueError(
            "validation: expected a pair (x_val, y_val) of rows the trained"
            f" model never saw, got {type(validation).__name__}"
        )
    x = np.asarray(_checks.as_array("validation[0]", validation[0]))
    y = np.asarray(_checks.as_array("validation[1]", validation[1]))
    _checks.check_floating("validation[0]", x)
    _checks.check_integer("validation[1]", y)
    _checks.check_nonempty("validation[0]", x)
    _checks.check_shape("validation[0]", x, (None, *np.shape(pool.x)[1:]))
    _checks.check_shape("validation[1]", y, (x.shape[0],))
    x = x.astype(np.asarray(pool.x).dtype)
    y = y.astype(np.int32)
    # The pool's test and held-out rows are replaced: never read here.
    return Pool(pool.x, pool.y, x, y, x, y)


def _grid_run(method, apply_fn, params, pool, request, cfg, lrs, keys):
    def one(lr, key):
        c = with_train(cfg, learning_rate=lr)
        h = method.run(apply_fn, params, pool, request, c, key, None)[0]
        return h.history

    per_key = jax.vmap(one, in_axes=(None, 0))
    return jax.vmap(per_key, in_axes=(0, None))(lrs, keys)


_grid_jit = jax.jit(_grid_run, static_argnums=(0, 1))


def tune(
    method: Method,
    apply_fn: Any,
    params: Any,
    pool: Pool,
    request: Request,
    *,
    validation: tuple[Any, Any],
    key: jax.Array,
    learning_rates: Sequence[float],
    epochs: Sequence[int],
    config: Any = None,
    budget: int | None = None,
    num_seeds: int = 1,
    target_forget_acc: float | None = None,
) -> TuneResult:
    """Chooses a gradient baseline's learning rate and epochs on validation.

    Runs ``method`` from ``params`` on ``request`` at every learning rate
    (vmapped, one compiled call) for ``max(epochs)`` epochs and ``num_seeds``
    seeds, scores every (learning rate, epochs) point on ``validation`` with
    :func:`validation_loss` (mean over seeds) and returns the argmin (ties:
    the first in grid order, learning rates as given, then epochs). The
    pool's test rows are never read: report the chosen config's run on them.

    Args:
      method: a gradient method (``finetune_method``, ``neggrad_method``,
        ``neggrad_plus_method``, ``random_labels_method``, ``scrub_method``,
        ``retrain_method``).
      apply_fn: pure forward pass ``apply_fn(params, x) -> logits [n, c]``.
      params: the trained parameters (never modified).
      pool: a :class:`~jaxunlearn.datapoint.Pool` (``pool_from_split``).
      request: one :class:`~jaxunlearn.datapoint.Request` (not batched).
      validation: ``(x_val, y_val)``, rows the trained model never saw (not
        the reported test rows).
      key: PRNG key of the runs (seed ``s`` uses ``split(key, num_seeds)[s]``).
      learning_rates: the grid's learning rates (the multiplier of the
        config's optimizer; Adam's step size by default).
      epochs: the grid's epoch counts.
      config: the method's config (its default if None); every other field
        is kept.
      budget: the most gradient steps the whole tuning may take (all rates,
        seeds and epochs; :func:`gradient_steps`); None: no limit.
      num_seeds: seeds per grid point.
      target_forget_acc: the forget accuracy aimed at, in ``[0, 1]`` (e.g.
        ``datapoint.estimate_retrain_forget_acc`` with the validation rows
        as held-out rows); None: each run's accuracy on the validation rows
        of the forget set's classes.

    Returns:
      A :class:`TuneResult`.

    Raises:
      ValueError: on an empty or non-positive grid, repeated grid values,
        bad validation rows or a grid costing more than ``budget`` steps.
      TypeError: when ``method`` is not a gradient :class:`Method`.
    """
    if not isinstance(method, Method):
        raise TypeError(
            f"method: expected a jaxunlearn Method, got {type(method).__name__}"
        )
    if not isinstance(pool, Pool):
        raise TypeError(f"pool: expected a Pool, got {type(pool).__name__}")
    if not isinstance(request, Request):
        raise TypeError(
            f"request: expected a Request, got {type(request).__name__}"
        )
    _checks.check_key("key", key)
    _checks.check_positive_int("num_seeds", num_seeds)
    lrs, eps = _check_grid(learning_rates, epochs)
    if target_forget_acc is not None:
        _checks.check_unit_interval("target_forget_acc", target_forget_acc)
    cfg = method.default_config if config is None else config
    cfg = with_train(cfg, epochs=max(eps))
    steps = len(lrs) * num_seeds * gradient_steps(method, request, cfg)
    if budget is not None:
        _checks.check_positive_int("budget", budget)
        if steps > budget:
            raise ValueError(
                f"budget: the grid ({len(lrs)} learning rates x {num_seeds}"
                f" seeds x {max(eps)} epochs) takes {steps} gradient steps,"
                f" above budget={budget}"
            )
    vpool = _validation_pool(pool, validation)
    dtype = jax.tree.leaves(params)[0].dtype
    cfg = cast_leaves(cfg, dtype)
    hist = _grid_jit(
        method, apply_fn, params, vpool, request, cfg,
        jnp.asarray(lrs, dtype), jax.random.split(key, num_seeds),
    )  # fmt: skip
    at = np.asarray(eps) - 1  # history rows [lr, seed, epoch]
    forget = np.asarray(hist.forget_acc)[:, :, at].mean(1)
    val = np.asarray(hist.test_acc)[:, :, at].mean(1)
    target = (
        np.asarray(hist.holdout_acc)[:, :, at]
        if target_forget_acc is None
        else float(target_forget_acc)
    )
    loss = validation_loss(
        np.asarray(hist.forget_acc)[:, :, at],
        target,
        np.asarray(hist.test_acc)[:, :, at],
    )
    scores = np.asarray(loss).mean(1)
    # A diverged run (NaN accuracies) is never chosen.
    scores = np.where(np.isnan(scores), np.inf, scores)
    i, j = np.unravel_index(int(np.argmin(scores)), scores.shape)
    chosen = with_train(
        method.default_config if config is None else config,
        learning_rate=lrs[i],
        epochs=eps[j],
    )
    return TuneResult(
        chosen, float(lrs[i]), int(eps[j]), scores, forget, val, lrs, eps,
        steps, budget,
    )  # fmt: skip
