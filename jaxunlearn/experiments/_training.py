r"""Epoch-by-epoch training for the end-to-end runs (progress per epoch).

One jit-compiled epoch function serves plain training (the original model
and retraining from scratch), fine-tuning on the retain set and NegGrad+:

.. math::
   \min_\theta \; \mathrm{CE}(B_r) - \alpha \, \mathrm{CE}(B_f),

with ``alpha = 0`` for training / fine-tuning. Calling it once per epoch
from Python lets the command line show a progress bar and checkpoint
between epochs; the compiled function is reused across epochs and seeds
(``apply_fn`` is a static argument, so build it once per architecture).

References:
  Kurmanji, Triantafillou, Hayes & Triantafillou, "Towards Unbounded
  Machine Unlearning", NeurIPS 2023 (NegGrad+). https://arxiv.org/abs/2302.09880
"""

import functools
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxunlearn import datapoint

ApplyFn = Callable[[Any, jax.Array], jax.Array]


def _ce(logits: jax.Array, y: jax.Array, w: jax.Array) -> jax.Array:
    logp = jax.nn.log_softmax(logits, axis=-1)
    nll = -jnp.take_along_axis(logp, y[:, None], axis=-1)[:, 0]
    return jnp.sum(nll * w) / jnp.maximum(jnp.sum(w), 1.0)


@functools.partial(
    jax.jit, static_argnames=("apply_fn", "batch_size", "forget_batch_size")
)
def _epoch(
    apply_fn,
    params,
    opt_state,
    x,
    y,
    w,
    x_f,
    y_f,
    key,
    learning_rate,
    alpha,
    *,
    batch_size: int,
    forget_batch_size: int,
):
    # Rows with w > 0 come first in a random order; steps past them are
    # skipped (no update), so one compilation serves every subset of x.
    opt = datapoint.default_optimizer()
    n, nf = x.shape[0], x_f.shape[0]
    steps = math.ceil(n / batch_size)
    k_r, k_f = jax.random.split(key)
    u = jax.random.uniform(k_r, (n,))
    perm = jnp.argsort(jnp.where(w > 0, u, 2.0))
    n_real = jnp.sum(w > 0)
    perm_f = jax.random.permutation(k_f, nf)

    def loss_fn(p, xb, yb, wb, xfb, yfb):
        task = _ce(apply_fn(p, xb), yb, wb)
        forget = _ce(apply_fn(p, xfb), yfb, jnp.ones(yfb.shape, xb.dtype))
        return task - alpha * forget, task

    def step(carry, s):
        p, o = carry
        pos = s * batch_size + jnp.arange(batch_size)
        rows = perm[jnp.minimum(pos, n - 1)]
        wb = (pos < n_real).astype(x.dtype) * w[rows]
        fpos = s * forget_batch_size + jnp.arange(forget_batch_size)
        frows = perm_f[fpos % nf]
        (_, task), g = jax.value_and_grad(loss_fn, has_aux=True)(
            p, x[rows], y[rows], wb, x_f[frows], y_f[frows]
        )
        upd, o2 = opt.update(g, o, p)
        p2 = jax.tree.map(
            lambda a, v: a - learning_rate * v.astype(a.dtype), p, upd
        )
        keep = jnp.sum(wb) > 0
        p, o = jax.tree.map(
            lambda a, b: jnp.where(keep, a, b), (p2, o2), (p, o)
        )
        keep_f = keep.astype(task.dtype)
        return (p, o), (task * keep_f, keep_f)

    (params, opt_state), (losses, kept) = jax.lax.scan(
        step, (params, opt_state), jnp.arange(steps)
    )
    return params, opt_state, jnp.sum(losses) / jnp.maximum(jnp.sum(kept), 1)


def train_epochs(
    apply_fn: ApplyFn,
    params: Any,
    x: jax.Array,
    y: jax.Array,
    *,
    epochs: int,
    where: jax.Array | None = None,
    key: jax.Array,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    x_forget: jax.Array | None = None,
    y_forget: jax.Array | None = None,
    alpha: float = 0.0,
    forget_batch_size: int = 16,
    on_epoch: Callable[[int, float], None] | None = None,
) -> tuple[Any, np.ndarray]:
    """Adam training for ``epochs`` passes, one compiled call per epoch.

    Args:
      apply_fn: pure forward pass ``apply_fn(params, x) -> logits``.
      params: starting parameters (not modified).
      x: training rows ``[n, ...]``.
      y: integer labels ``[n]``.
      epochs: passes over ``x``.
      where: ``[n]`` row weights (0 = row left out, e.g. forget rows when
        retraining); all ones by default. Steps after the last kept row
        are skipped, so every subset shares one compilation.
      key: PRNG key (batch order).
      batch_size: rows per step.
      learning_rate: Adam step size.
      x_forget: forget rows ``[m, ...]`` for NegGrad+ (``alpha > 0``).
      y_forget: their labels ``[m]``.
      alpha: weight of the negated forget loss (0: plain training).
      forget_batch_size: forget rows per step.
      on_epoch: called as ``on_epoch(epoch, mean_loss)`` after each epoch.

    Returns:
      ``(params, losses)`` with the per-epoch mean task loss ``[epochs]``.
    """
    if x_forget is None:
        x_forget, y_forget = x[:1], y[:1]
    w = (
        jnp.ones((x.shape[0],), x.dtype)
        if where is None
        else jnp.asarray(where, x.dtype)
    )
    opt_state = datapoint.default_optimizer().init(params)
    dtype = jax.tree.leaves(params)[0].dtype
    lr = jnp.asarray(learning_rate, dtype)
    a = jnp.asarray(alpha, dtype)
    bs = min(batch_size, int(x.shape[0]))
    fbs = min(forget_batch_size, int(x_forget.shape[0]))
    losses = []
    for e in range(epochs):
        params, opt_state, loss = _epoch(
            apply_fn,
            params,
            opt_state,
            x,
            y,
            w,
            x_forget,
            y_forget,
            jax.random.fold_in(key, e),
            lr,
            a,
            batch_size=bs,
            forget_batch_size=fbs,
        )
        losses.append(float(loss))
        if on_epoch is not None:
            on_epoch(e, losses[-1])
    return params, np.asarray(losses)
