r"""Selective Synaptic Dampening (Foster, Schoepf & Brintrup, AAAI 2024).

Retraining-free: compare each parameter's importance for the forget set with
its importance for the whole training set, and shrink the parameters that
matter much more to the forget set. Importances are diagonals of the
empirical Fisher information, the mean squared per-example gradient of the
cross-entropy,

.. math:: []_{D, i} = \frac{1}{|D|} \sum_{x \in D}
   \Big(\frac{\partial \ell(x)}{\partial \theta_i}\Big)^2 ,

over the full training set ``D`` (retain and forget) and the forget set
``D_f``. With selection threshold ``alpha`` and dampening constant
``lambda``:

.. math:: \theta_i \leftarrow \beta_i \theta_i, \quad
   \beta_i = \min\Big(\frac{\lambda []_{D,i}}{[]_{D_f,i}}, 1\Big)
   \quad \text{if } []_{D_f,i} > \alpha []_{D,i}, \text{ else } 1.

References:
  Foster, Schoepf & Brintrup, "Fast Machine Unlearning Without Retraining
  Through Selective Synaptic Dampening", AAAI 2024.
  https://arxiv.org/abs/2308.07707
"""

import functools
from typing import Any

import jax
import jax.numpy as jnp

from jaxunlearn import _checks
from jaxunlearn.baselines._loop import ApplyFn, prepare
from jaxunlearn.datapoint import UnlearnHistory, UnlearnOutput, membership_mi


def _fisher_diag(apply_fn, params, x, y, chunk):
    """Mean squared per-example gradient, in chunks of ``chunk`` rows."""
    n = x.shape[0]
    pad = (-n) % chunk
    xp = jnp.concatenate([x, jnp.zeros((pad, *x.shape[1:]), x.dtype)])
    yp = jnp.concatenate([y, jnp.zeros((pad,), y.dtype)])
    wp = (jnp.arange(n + pad) < n).astype(x.dtype)

    def row_grad(xi, yi):
        def loss(p):
            logits = apply_fn(p, xi[None])
            return -jax.nn.log_softmax(logits, axis=-1)[0, yi]

        return jax.grad(loss)(params)

    def body(acc, batch):
        xb, yb, wb = batch
        g = jax.vmap(row_grad)(xb, yb)
        sq = jax.tree.map(lambda a: jnp.einsum("n,n...->...", wb, a * a), g)
        return jax.tree.map(jnp.add, acc, sq), None

    zero = jax.tree.map(jnp.zeros_like, params)
    shape = (-1, chunk)
    total, _ = jax.lax.scan(
        body,
        zero,
        (
            xp.reshape(*shape, *x.shape[1:]),
            yp.reshape(shape),
            wp.reshape(shape),
        ),
    )
    return jax.tree.map(lambda a: a / n, total)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _ssd_core(apply_fn, chunk, params, data, alpha, dampening):
    x_all = jnp.concatenate([data.x_retain, data.x_forget])
    y_all = jnp.concatenate([data.y_retain, data.y_forget])
    imp_d = _fisher_diag(apply_fn, params, x_all, y_all, chunk)
    imp_f = _fisher_diag(apply_fn, params, data.x_forget, data.y_forget, chunk)

    def dampen(theta, fd, ff):
        selected = ff > alpha * fd
        ratio = dampening * fd / jnp.where(ff > 0, ff, 1)
        beta = jnp.where(selected, jnp.minimum(ratio, 1), 1)
        return theta * beta.astype(theta.dtype)

    new = jax.tree.map(dampen, params, imp_d, imp_f)

    def acc(x, y, w=None):
        hit = (jnp.argmax(apply_fn(new, x), axis=-1) == y).astype(x.dtype)
        w = jnp.ones_like(hit) if w is None else w
        return jnp.sum(w * hit) / jnp.maximum(jnp.sum(w), 1)

    lr = apply_fn(new, data.x_retain)
    lf = apply_fn(new, data.x_forget)
    logp = jax.nn.log_softmax(lr, axis=-1)
    ce = -jnp.mean(jnp.take_along_axis(logp, data.y_retain[:, None], -1))
    one = lambda v: jnp.reshape(v, (1,))  # noqa: E731
    history = UnlearnHistory(
        task_loss=one(ce),
        mi=one(membership_mi(lr, lf)),
        retain_acc=one(acc(data.x_retain, data.y_retain)),
        forget_acc=one(acc(data.x_forget, data.y_forget)),
        test_acc=one(acc(data.x_test, data.y_test)),
        holdout_acc=one(acc(data.x_test, data.y_test, data.hold_mask)),
        gamma=jnp.zeros((1,), ce.dtype),
        active=jnp.ones((1,), bool),
    )
    return UnlearnOutput(new, history, jnp.asarray(1, jnp.int32))


def ssd(
    apply_fn: ApplyFn,
    params: Any,
    split: Any,
    *,
    alpha: float = 10.0,
    dampening: float = 1.0,
    chunk_size: int = 128,
    key: jax.Array | None = None,
) -> UnlearnOutput:
    """Selective synaptic dampening with diagonal Fisher importances.

    Args:
      apply_fn: pure forward pass ``apply_fn(params, x) -> logits [n, c]``.
      params: the trained parameters (never modified).
      split: an object with ``x_retain, y_retain, x_forget, y_forget,
        x_test, y_test``.
      alpha: selection threshold (a parameter is dampened when its forget
        importance exceeds ``alpha`` times its full-data importance).
      dampening: the dampening constant ``lambda``.
      chunk_size: rows per vmapped per-example gradient chunk (memory).
      key: unused (SSD is deterministic); accepted for the common call
        shape.

    Returns:
      An ``UnlearnOutput`` with a one-entry history (after dampening).

    Raises:
      ValueError: on non-positive ``alpha`` / ``dampening``, empty sets,
        labels out of range or shape mismatches.

    References:
      Foster, Schoepf & Brintrup, "Fast Machine Unlearning Without
      Retraining Through Selective Synaptic Dampening", AAAI 2024.
      https://arxiv.org/abs/2308.07707
    """
    del key
    for name, v in (("alpha", alpha), ("dampening", dampening)):
        if not v > 0:
            raise ValueError(f"{name}: expected a positive value, got {v!r}")
    _checks.check_positive_int("chunk_size", chunk_size)
    data, _ = prepare(apply_fn, params, split)
    dtype = data.x_retain.dtype
    return _ssd_core(
        apply_fn,
        chunk_size,
        params,
        data,
        jnp.asarray(alpha, dtype),
        jnp.asarray(dampening, dtype),
    )
