r"""Epoch-by-epoch training for the end-to-end runs (progress per epoch).

One jit-compiled epoch of the library's training kernel
(:func:`jaxunlearn.datapoint.fit_state`) serves plain training (the
original model and retraining from scratch), fine-tuning on the retain set
and NegGrad+:

.. math::
   \min_\theta \; \mathrm{CE}(B_r) - \alpha \, \mathrm{CE}(B_f),

with ``alpha = 0`` for training / fine-tuning. Calling it once per epoch
from Python, with the optimizer state carried over, lets the command line
show a progress bar between epochs; the compiled function is reused across
epochs and seeds (``apply_fn`` is a static argument, so build it once per
architecture).

References:
  Kurmanji, Triantafillou, Hayes & Triantafillou, "Towards Unbounded
  Machine Unlearning", NeurIPS 2023 (NegGrad+). https://arxiv.org/abs/2302.09880
"""

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxunlearn import datapoint

ApplyFn = Callable[[Any, jax.Array], jax.Array]


@functools.partial(
    jax.jit, static_argnames=("apply_fn", "batch_size", "forget_batch_size")
)
def _epoch(
    apply_fn, state, x, y, w, forget, key, lr, *, batch_size, forget_batch_size
):
    state, losses, _ = datapoint.fit_state(
        apply_fn, state, x, y, w, lr, key, epochs=1, batch_size=batch_size,
        forget=forget, forget_batch_size=forget_batch_size,
    )  # fmt: skip
    return state, losses[0]


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
      ``(params, losses)`` with the per-epoch mean loss ``[epochs]`` (the
      training cross-entropy; NegGrad+'s objective over ``1 + alpha``).
    """
    if x_forget is None:
        x_forget, y_forget = x[:1], y[:1]
    w = (
        jnp.ones((x.shape[0],), x.dtype)
        if where is None
        else jnp.asarray(where, x.dtype)
    )
    dtype = jax.tree.leaves(params)[0].dtype
    forget = datapoint.ForgetTerm(
        jnp.asarray(x_forget, x.dtype),
        jnp.asarray(y_forget, jnp.int32),
        jnp.asarray(alpha, dtype),
    )
    state = datapoint.init_train_state(params)
    lr = jnp.asarray(learning_rate, dtype)
    bs = min(batch_size, int(x.shape[0]))
    fbs = min(forget_batch_size, int(x_forget.shape[0]))
    losses = []
    for e in range(epochs):
        state, loss = _epoch(
            apply_fn, state, x, jnp.asarray(y, jnp.int32), w, forget,
            jax.random.fold_in(key, e), lr, batch_size=bs,
            forget_batch_size=fbs,
        )  # fmt: skip
        losses.append(float(loss))
        if on_epoch is not None:
            on_epoch(e, losses[-1])
    return state.params, np.asarray(losses)
