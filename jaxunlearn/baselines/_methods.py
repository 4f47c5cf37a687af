"""Gradient baselines: retrain, fine-tune, NegGrad(+), random labels, SCRUB.

All share the call shape of ``jaxunlearn.datapoint.unlearn``::

    baseline(apply_fn, params, split, *, epochs, ..., key) -> UnlearnOutput

and run in one jit-compiled scan (``_loop.py``) with Adam and the same
per-epoch history (task loss, ``I(Y_hat; Z)`` (docs/datapoint.md) on the step's
batches, retain / forget / test / held-out accuracy).

References:
  Golatkar, Achille & Soatto, "Eternal Sunshine of the Spotless Net:
  Selective Forgetting in Deep Networks", CVPR 2020 (fine-tune, NegGrad
  baselines). https://arxiv.org/abs/1911.04933

  Graves, Nagisetty & Ganesh, "Amnesiac Machine Learning", AAAI 2021
  (random relabelling). https://arxiv.org/abs/2010.10981

  Kurmanji, Triantafillou, Hayes & Triantafillou, "Towards Unbounded
  Machine Unlearning", NeurIPS 2023 (SCRUB, NegGrad+).
  https://arxiv.org/abs/2302.09880
"""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from jaxunlearn import _checks
from jaxunlearn.baselines._loop import (
    masked_ce,
    masked_kd,
    run_loop,
)
from jaxunlearn.datapoint import UnlearnOutput

ApplyFn = Callable[[Any, jax.Array], jax.Array]


def _finetune_rule(apply_fn, params, opt, b, h, teacher, key, epoch, update):
    def loss(p):
        return masked_ce(apply_fn(p, b.xr), b.yr, b.wr)

    val, g = jax.value_and_grad(loss)(params)
    params, opt = update(g, opt, params)
    return params, opt, val


def _neggrad_rule(apply_fn, params, opt, b, h, teacher, key, epoch, update):
    def loss(p):
        return -masked_ce(apply_fn(p, b.xf), b.yf, b.wf)

    val, g = jax.value_and_grad(loss)(params)
    params, opt = update(g, opt, params)
    return params, opt, val


def _neggrad_plus_rule(
    apply_fn, params, opt, b, h, teacher, key, epoch, update
):
    def loss(p):
        keep = masked_ce(apply_fn(p, b.xr), b.yr, b.wr)
        drop = masked_ce(apply_fn(p, b.xf), b.yf, b.wf)
        return h["retain_weight"] * keep - (1 - h["retain_weight"]) * drop

    val, g = jax.value_and_grad(loss)(params)
    params, opt = update(g, opt, params)
    return params, opt, val


def _random_label_rule(
    apply_fn, params, opt, b, h, teacher, key, epoch, update
):
    c = apply_fn(params, b.xf[:1]).shape[-1]
    # A label drawn uniformly among the other classes.
    shift = jax.random.randint(key, b.yf.shape, 1, c)
    fake = (b.yf + shift) % c

    def loss(p):
        keep = masked_ce(apply_fn(p, b.xr), b.yr, b.wr)
        return keep + masked_ce(apply_fn(p, b.xf), fake, b.wf)

    val, g = jax.value_and_grad(loss)(params)
    params, opt = update(g, opt, params)
    return params, opt, val


def _scrub_rule(apply_fn, params, opt, b, h, teacher, key, epoch, update):
    t = h["temperature"]

    def max_loss(p):
        return -masked_kd(apply_fn(p, b.xf), apply_fn(teacher, b.xf), b.wf, t)

    def min_loss(p):
        kd = masked_kd(apply_fn(p, b.xr), apply_fn(teacher, b.xr), b.wr, t)
        ce = masked_ce(apply_fn(p, b.xr), b.yr, b.wr)
        return h["ce_weight"] * ce + h["kd_weight"] * kd

    def max_step(state):
        p, o = state
        return update(jax.grad(max_loss)(p), o, p)

    # Max step (forget) only during the first ``max_epochs`` epochs.
    params, opt = jax.lax.cond(
        epoch.astype(h["lr"].dtype) < h["max_epochs"],
        max_step,
        lambda st: st,
        (params, opt),
    )
    val, g = jax.value_and_grad(min_loss)(params)
    params, opt = update(g, opt, params)
    return params, opt, val


def reinitialize(params: Any, *, key: jax.Array) -> Any:
    """Fresh parameters shaped like ``params`` (LeCun-normal, zero biases).

    Leaves of rank >= 2 (dense ``[in, out]`` or conv ``[h, w, in, out]``
    kernels) get truncated-normal entries with variance ``1 / fan_in``,
    ``fan_in = prod(shape[:-1])`` (flax nnx's default for ``Linear`` and
    ``Conv``); other leaves (biases) are zeros.

    Args:
      params: a pytree of arrays (not modified).
      key: PRNG key.

    Returns:
      A new pytree with the same structure, shapes and dtypes.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxunlearn.baselines import reinitialize
      >>> p = reinitialize({"w": jnp.ones((3, 2)), "b": jnp.ones(2)},
      ...                  key=jax.random.key(0))
      >>> p["w"].shape, float(p["b"].sum())
      ((3, 2), 0.0)
    """
    leaves, treedef = jax.tree.flatten(params)
    _checks.check_key("key", key)
    keys = jax.random.split(key, max(len(leaves), 1))
    out = []
    for leaf, k in zip(leaves, keys, strict=False):
        leaf = jnp.asarray(leaf)
        if leaf.ndim >= 2:
            init = jax.nn.initializers.lecun_normal(
                in_axis=tuple(range(leaf.ndim - 1)), out_axis=-1
            )
            out.append(init(k, leaf.shape, leaf.dtype))
        else:
            out.append(jnp.zeros_like(leaf))
    return jax.tree.unflatten(treedef, out)


def finetune(
    apply_fn: ApplyFn,
    params: Any,
    split: Any,
    *,
    epochs: int = 5,
    batch_size: int = 64,
    forget_batch_size: int = 16,
    learning_rate: float | None = None,
    key: jax.Array,
    optimizer: optax.GradientTransformation | None = None,
) -> UnlearnOutput:
    """Fine-tunes on the retain set only (catastrophic forgetting).

    Args:
      apply_fn: pure forward pass ``apply_fn(params, x) -> logits [n, c]``.
      params: the trained parameters (a pytree; never modified).
      split: an object with ``x_retain, y_retain, x_forget, y_forget,
        x_test, y_test`` (e.g. ``jaxunlearn.datasets.UnlearningSplit``).
      epochs: passes over the retain set (static).
      batch_size: retain rows per step (static).
      forget_batch_size: forget rows per step, used only for the logged MI.
      learning_rate: Adam's step size (1e-3 if None); None when
        ``optimizer`` is given.
      key: PRNG key (shuffling).
      optimizer: any ``optax.GradientTransformation``, applied with
        ``optax.apply_updates``; Adam with ``learning_rate`` if None.

    Returns:
      An ``UnlearnOutput(params, history, epochs_run)``.

    Raises:
      ValueError: on empty sets, labels out of range, shape mismatches or
        non-positive sizes.

    References:
      Golatkar et al., "Eternal Sunshine of the Spotless Net", CVPR 2020.
    """
    return run_loop(
        apply_fn,
        params,
        split,
        rule=_finetune_rule,
        hyper={},
        epochs=epochs,
        batch_size=batch_size,
        forget_batch_size=forget_batch_size,
        learning_rate=learning_rate,
        default_lr=1e-3,
        optimizer=optimizer,
        key=key,
    )


def retrain(
    apply_fn: ApplyFn,
    params: Any,
    split: Any,
    *,
    epochs: int = 20,
    batch_size: int = 64,
    forget_batch_size: int = 16,
    learning_rate: float | None = None,
    init_params: Any = None,
    key: jax.Array,
    optimizer: optax.GradientTransformation | None = None,
) -> UnlearnOutput:
    """Retrains from scratch on the retain set: the gold reference.

    Args:
      apply_fn: pure forward pass ``apply_fn(params, x) -> logits [n, c]``.
      params: the trained parameters; only their structure is used.
      split: an object with ``x_retain, y_retain, x_forget, y_forget,
        x_test, y_test``.
      epochs: passes over the retain set (static).
      batch_size: retain rows per step (static).
      forget_batch_size: forget rows per step, used only for the logged MI.
      learning_rate: Adam's step size (1e-3 if None); None when
        ``optimizer`` is given.
      init_params: starting parameters; ``None`` draws fresh ones with
        :func:`reinitialize` from ``key``.
      key: PRNG key (initialization and shuffling).
      optimizer: any ``optax.GradientTransformation``, applied with
        ``optax.apply_updates``; Adam with ``learning_rate`` if None.

    Returns:
      An ``UnlearnOutput`` whose history tracks training from scratch.

    Raises:
      ValueError: on empty sets, labels out of range or shape mismatches.
    """
    _checks.check_key("key", key)
    k_init, k_run = jax.random.split(key)
    start = (
        reinitialize(params, key=k_init) if init_params is None else init_params
    )
    return finetune(
        apply_fn,
        start,
        split,
        epochs=epochs,
        batch_size=batch_size,
        forget_batch_size=forget_batch_size,
        learning_rate=learning_rate,
        key=k_run,
        optimizer=optimizer,
    )


def neggrad(
    apply_fn: ApplyFn,
    params: Any,
    split: Any,
    *,
    epochs: int = 1,
    batch_size: int = 64,
    forget_batch_size: int = 16,
    learning_rate: float | None = None,
    key: jax.Array,
    optimizer: optax.GradientTransformation | None = None,
) -> UnlearnOutput:
    """Gradient ascent on the forget set's cross-entropy (NegGrad).

    An epoch is one pass over the forget set. Unbounded: the forget loss
    grows without limit, so stop early (few epochs, small learning rate).

    Args:
      apply_fn: pure forward pass ``apply_fn(params, x) -> logits [n, c]``.
      params: the trained parameters (never modified).
      split: an object with ``x_retain, y_retain, x_forget, y_forget,
        x_test, y_test``.
      epochs: passes over the forget set (static).
      batch_size: retain rows per step, used only for the logged MI.
      forget_batch_size: forget rows per step (static).
      learning_rate: Adam's step size (1e-4 if None); None when
        ``optimizer`` is given.
      key: PRNG key (shuffling).
      optimizer: any ``optax.GradientTransformation``, applied with
        ``optax.apply_updates``; Adam with ``learning_rate`` if None.

    Returns:
      An ``UnlearnOutput``; ``history.task_loss`` is ``-CE(forget)``.

    Raises:
      ValueError: on empty sets, labels out of range or shape mismatches.

    References:
      Golatkar et al., "Eternal Sunshine of the Spotless Net", CVPR 2020.
    """
    return run_loop(
        apply_fn,
        params,
        split,
        rule=_neggrad_rule,
        hyper={},
        epochs=epochs,
        batch_size=batch_size,
        forget_batch_size=forget_batch_size,
        learning_rate=learning_rate,
        default_lr=1e-4,
        optimizer=optimizer,
        key=key,
        drive="forget",
    )


def neggrad_plus(
    apply_fn: ApplyFn,
    params: Any,
    split: Any,
    *,
    epochs: int = 5,
    retain_weight: float = 0.95,
    batch_size: int = 64,
    forget_batch_size: int = 16,
    learning_rate: float | None = None,
    key: jax.Array,
    optimizer: optax.GradientTransformation | None = None,
) -> UnlearnOutput:
    """NegGrad+: ``w * CE(retain) - (1 - w) * CE(forget)`` per step.

    Args:
      apply_fn: pure forward pass ``apply_fn(params, x) -> logits [n, c]``.
      params: the trained parameters (never modified).
      split: an object with ``x_retain, y_retain, x_forget, y_forget,
        x_test, y_test``.
      epochs: passes over the retain set (static).
      retain_weight: ``w`` in ``[0, 1]``.
      batch_size: retain rows per step (static).
      forget_batch_size: forget rows per step (static).
      learning_rate: Adam's step size (1e-3 if None); None when
        ``optimizer`` is given.
      key: PRNG key (shuffling).
      optimizer: any ``optax.GradientTransformation``, applied with
        ``optax.apply_updates``; Adam with ``learning_rate`` if None.

    Returns:
      An ``UnlearnOutput``.

    Raises:
      ValueError: on ``retain_weight`` outside ``[0, 1]``, empty sets,
        labels out of range or shape mismatches.

    References:
      Kurmanji et al., "Towards Unbounded Machine Unlearning", NeurIPS 2023.
      https://arxiv.org/abs/2302.09880
    """
    _checks.check_unit_interval("retain_weight", retain_weight)
    return run_loop(
        apply_fn,
        params,
        split,
        rule=_neggrad_plus_rule,
        hyper={"retain_weight": retain_weight},
        epochs=epochs,
        batch_size=batch_size,
        forget_batch_size=forget_batch_size,
        learning_rate=learning_rate,
        default_lr=1e-3,
        optimizer=optimizer,
        key=key,
    )


def random_labels(
    apply_fn: ApplyFn,
    params: Any,
    split: Any,
    *,
    epochs: int = 5,
    batch_size: int = 64,
    forget_batch_size: int = 16,
    learning_rate: float | None = None,
    key: jax.Array,
    optimizer: optax.GradientTransformation | None = None,
) -> UnlearnOutput:
    """Fine-tunes on retain plus forget rows relabelled at random.

    Each step draws, for every forget row, a label uniformly among the
    *other* classes, and minimizes ``CE(retain) + CE(forget, fake labels)``.

    Args:
      apply_fn: pure forward pass ``apply_fn(params, x) -> logits [n, c]``.
      params: the trained parameters (never modified).
      split: an object with ``x_retain, y_retain, x_forget, y_forget,
        x_test, y_test``.
      epochs: passes over the retain set (static).
      batch_size: retain rows per step (static).
      forget_batch_size: forget rows per step (static).
      learning_rate: Adam's step size (1e-3 if None); None when
        ``optimizer`` is given.
      key: PRNG key (shuffling and fake labels).
      optimizer: any ``optax.GradientTransformation``, applied with
        ``optax.apply_updates``; Adam with ``learning_rate`` if None.

    Returns:
      An ``UnlearnOutput``.

    Raises:
      ValueError: on empty sets, labels out of range or shape mismatches.

    References:
      Graves, Nagisetty & Ganesh, "Amnesiac Machine Learning", AAAI 2021.
      https://arxiv.org/abs/2010.10981
    """
    return run_loop(
        apply_fn,
        params,
        split,
        rule=_random_label_rule,
        hyper={},
        epochs=epochs,
        batch_size=batch_size,
        forget_batch_size=forget_batch_size,
        learning_rate=learning_rate,
        default_lr=1e-3,
        optimizer=optimizer,
        key=key,
    )


def scrub(
    apply_fn: ApplyFn,
    params: Any,
    split: Any,
    *,
    epochs: int = 5,
    max_epochs: int = 2,
    temperature: float = 4.0,
    kd_weight: float = 0.001,
    ce_weight: float = 0.99,
    batch_size: int = 64,
    forget_batch_size: int = 16,
    learning_rate: float | None = None,
    key: jax.Array,
    optimizer: optax.GradientTransformation | None = None,
) -> UnlearnOutput:
    r"""SCRUB: a student moves away from the teacher on forget, stays on retain.

    The teacher is the original model (``params``, frozen). Each step of the
    first ``max_epochs`` epochs takes a *max* step,
    :math:`\max_\theta \mathrm{KD}_T(\text{teacher} \| \theta)` on the forget
    batch; every step then takes a *min* step on the retain batch,
    :math:`\min_\theta w_{ce} \mathrm{CE} + w_{kd} \mathrm{KD}_T`, with
    :math:`\mathrm{KD}_T = T^2 \, \mathrm{KL}(\mathrm{softmax}(t/T) \|
    \mathrm{softmax}(s/T))` (defaults as in the authors' code: ``T = 4``,
    ``w_kd = 0.001``, ``w_ce = 0.99``).

    Args:
      apply_fn: pure forward pass ``apply_fn(params, x) -> logits [n, c]``.
      params: the trained parameters: the teacher and the student's start.
      split: an object with ``x_retain, y_retain, x_forget, y_forget,
        x_test, y_test``.
      epochs: passes over the retain set (static).
      max_epochs: epochs that include max steps (``<= epochs``).
      temperature: distillation temperature ``T > 0``.
      kd_weight: weight of the retain distillation term.
      ce_weight: weight of the retain cross-entropy.
      batch_size: retain rows per step (static).
      forget_batch_size: forget rows per step (static).
      learning_rate: Adam's step size (5e-4 if None); None when
        ``optimizer`` is given.
      key: PRNG key (shuffling).
      optimizer: any ``optax.GradientTransformation``, applied with
        ``optax.apply_updates``; Adam with ``learning_rate`` if None.

    Returns:
      An ``UnlearnOutput``; ``history.task_loss`` is the min-step loss.

    Raises:
      ValueError: on a non-positive temperature, negative weights or
        ``max_epochs``, empty sets, labels out of range, shape mismatches.

    References:
      Kurmanji, Triantafillou, Hayes & Triantafillou, "Towards Unbounded
      Machine Unlearning", NeurIPS 2023. https://arxiv.org/abs/2302.09880
    """
    if not temperature > 0:
        raise ValueError(f"temperature: expected > 0, got {temperature!r}")
    _checks.check_nonnegative("kd_weight", kd_weight)
    _checks.check_nonnegative("ce_weight", ce_weight)
    _checks.check_positive_int("max_epochs", max_epochs, minimum=0)
    return run_loop(
        apply_fn,
        params,
        split,
        rule=_scrub_rule,
        hyper={
            "temperature": temperature,
            "kd_weight": kd_weight,
            "ce_weight": ce_weight,
            "max_epochs": max_epochs,
        },
        epochs=epochs,
        batch_size=batch_size,
        forget_batch_size=forget_batch_size,
        learning_rate=learning_rate,
        default_lr=5e-4,
        optimizer=optimizer,
        key=key,
        teacher=params,
    )
