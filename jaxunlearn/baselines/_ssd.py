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

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from jaxunlearn import _checks
from jaxunlearn.baselines._loop import ApplyFn, run_on_split
from jaxunlearn.datapoint._model import check_callback, emit_epoch, pure_apply
from jaxunlearn.datapoint import (
    Method,
    Pool,
    Request,
    UnlearnHistory,
    UnlearnModelOutput,
    UnlearnOutput,
    evaluator,
    membership_mi,
    request_weights,
    weighted_cross_entropy,
)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class SSDConfig:
    """The config of SSD (:data:`ssd_method`; see :func:`ssd`).

    Attributes:
      alpha: selection threshold.
      dampening: the dampening constant ``lambda``.
      chunk_size: rows per vmapped per-example gradient chunk (static).
      callback: ``callback(EpochInfo)`` once, after dampening (static).
    """

    alpha: Any = 10.0
    dampening: Any = 1.0
    chunk_size: int = dataclasses.field(default=128, metadata={"static": True})
    callback: Any = dataclasses.field(default=None, metadata={"static": True})


def _fisher_diag(apply_fn, params, x, y, w, chunk):
    """Weighted mean squared per-example gradient, in chunks of ``chunk``."""
    n = x.shape[0]
    pad = (-n) % chunk
    xp = jnp.concatenate([x, jnp.zeros((pad, *x.shape[1:]), x.dtype)])
    yp = jnp.concatenate([y, jnp.zeros((pad,), y.dtype)])
    wp = jnp.concatenate([w, jnp.zeros((pad,), w.dtype)])

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
    count = jnp.maximum(jnp.sum(w), 1)
    return jax.tree.map(lambda a: a / count.astype(a.dtype), total)


def _ssd_run(
    model: Any,
    params: Any,
    pool: Pool,
    request: Request,
    cfg: SSDConfig,
    key: Any = None,
    rest: Any = None,
) -> tuple[UnlearnOutput, Any]:
    del key  # deterministic
    mdt = pool.x.dtype
    rmask = request.retain_mask.astype(mdt)
    fmask = request.forget_mask.astype(mdt)
    idx = jnp.concatenate([request.retain_idx, request.forget_idx])
    w_all = jnp.concatenate([rmask, fmask])
    x_all, y_all = pool.x[idx], pool.y[idx]
    nr = rmask.shape[0]
    apply_fn = pure_apply(model, rest)
    imp_d = _fisher_diag(apply_fn, params, x_all, y_all, w_all, cfg.chunk_size)
    imp_f = _fisher_diag(
        apply_fn, params, x_all[nr:], y_all[nr:], fmask, cfg.chunk_size
    )

    def dampen(theta, fd, ff):
        selected = ff > cfg.alpha * fd
        ratio = cfg.dampening * fd / jnp.where(ff > 0, ff, 1)
        beta = jnp.where(selected, jnp.minimum(ratio, 1), 1)
        return theta * beta.astype(theta.dtype)

    new = jax.tree.map(dampen, params, imp_d, imp_f)
    evaluate, _ = evaluator(
        model, pool, request_weights(model, params, pool, request, rest)
    )
    lr, lf = apply_fn(new, x_all[:nr]), apply_fn(new, x_all[nr:])
    ce = weighted_cross_entropy(lr, y_all[:nr], rmask)
    mi = membership_mi(lr, lf, retain_mask=rmask, forget_mask=fmask)
    row = (ce, mi, *evaluate(new, rest), jnp.zeros((), ce.dtype), True)
    names = UnlearnHistory._fields[1:]
    metrics = dict(zip(names, row[1:], strict=True))
    emit_epoch(cfg.callback, 1, jnp.zeros((), jnp.int32), ce, metrics)
    history = UnlearnHistory(*(jnp.reshape(v, (1,)) for v in row))
    return UnlearnOutput(new, history, jnp.asarray(1, jnp.int32)), rest


ssd_method = Method("ssd", _ssd_run, SSDConfig())


def ssd(
    apply_fn: ApplyFn | Any,
    params: Any,
    split: Any = None,
    *,
    alpha: float = 10.0,
    dampening: float = 1.0,
    chunk_size: int = 128,
    key: jax.Array | None = None,
    callback: Any = None,
) -> UnlearnOutput | UnlearnModelOutput:
    """Selective synaptic dampening with diagonal Fisher importances.

    Importances and accuracies use evaluation mode; an ``nnx.Module``'s
    non-parameter state comes back unchanged.

    Args:
      apply_fn: pure forward pass ``apply_fn(params, x) -> logits [n, c]``,
        or an ``nnx.Module`` (then ``params`` is the split).
      params: the trained parameters (never modified).
      split: an object with ``x_retain, y_retain, x_forget, y_forget,
        x_test, y_test``.
      alpha: selection threshold (a parameter is dampened when its forget
        importance exceeds ``alpha`` times its full-data importance).
      dampening: the dampening constant ``lambda``.
      chunk_size: rows per vmapped per-example gradient chunk (memory).
      key: unused (SSD is deterministic); accepted for the common call
        shape.
      callback: optional ``callback(EpochInfo)``, called once after
        dampening (``epochs == 1``).

    Returns:
      An ``UnlearnOutput`` with a one-entry history (after dampening); for
      a module, an ``UnlearnModelOutput``.

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
    cfg = SSDConfig(alpha, dampening, chunk_size, check_callback(callback))
    return run_on_split(
        ssd_method, apply_fn, params, split, cfg, jax.random.key(0)
    )
