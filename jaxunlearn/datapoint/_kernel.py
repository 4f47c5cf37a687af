r"""The training kernel every unlearning method runs on.

Data live in one :class:`Pool` (training rows, test rows, held-out rows); a
:class:`Request` is a pair of padded index sets into the pool (retain,
forget) with masks, so one compilation serves every forget-set size up to a
static bound and ``jax.vmap`` batches requests and seeds. A method is a
:class:`Method`,

.. code-block:: python

    method(apply_fn, params, pool, request, *, config, key) -> UnlearnOutput

and every iterative method is a step rule run by :func:`masked_epochs`, one
``lax.scan`` over epochs of a ``lax.scan`` over masked steps.

References:
  Xu & Strohmer, "Machine Unlearning via Information Theoretic
  Regularization", arXiv:2502.05684, 2025. https://arxiv.org/abs/2502.05684
"""

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array

from jaxunlearn.datapoint._membership import MembershipBatch, masked_mean
from jaxunlearn.datapoint._model import is_module, pure_apply, split_module


class Pool(NamedTuple):
    """Every row a request can index, plus the rows that are never trained.

    A pytree of arrays: ``jax.vmap`` and ``jax.jit`` take it as it is.
    """

    x: Any  # [n, ...] the training rows the requests index into
    y: Any  # [n] int32 labels
    x_test: Any  # [t, ...] test rows (accuracies)
    y_test: Any  # [t] int32
    x_hold: Any  # [h, ...] held-out rows standing in for the forget set
    y_hold: Any  # [h] int32


class Request(NamedTuple):
    """One forget request: padded retain and forget rows of a :class:`Pool`.

    With a leading axis ``[K, ...]`` on every field, ``K`` requests (what
    :func:`pad_forget_sets` returns).
    """

    retain_idx: Any  # [R] int32 rows of the pool
    retain_mask: Any  # [R] float, 1 = real row, 0 = padding
    forget_idx: Any  # [F] int32
    forget_mask: Any  # [F] float


def _row_order(key: Array, n: int) -> tuple[Array, Array]:
    """The order of ``n`` rows by uniform draws from ``fold_in(key, i)``.

    Returns the stable ``argsort`` of the draws and its inverse (the rank of
    each row).
    """
    u = jax.vmap(lambda i: jax.random.uniform(jax.random.fold_in(key, i)))(
        jnp.arange(n)
    )
    order = jnp.argsort(u).astype(jnp.int32)
    rank = (
        jnp.zeros((n,), jnp.int32)
        .at[order]
        .set(jnp.arange(n, dtype=jnp.int32), unique_indices=True)
    )
    return order, rank


# Requests batched under vmap share the seeds, so the draws and their sort
# do not depend on the request: computed once per seed (one at a time when
# seeds are batched; XLA:CPU sorts rows of a batch slower than one by one).
@functools.cache
def _order(n: int) -> Callable[[Array], tuple[Array, Array]]:
    return jax.custom_batching.sequential_vmap(
        functools.partial(_row_order, n=n)
    )


def masked_permutation(key: Array, mask: Array) -> Array:
    """A random order of the rows with ``mask > 0`` first, padding last.

    Row ``i`` draws its sort key from ``fold_in(key, i)``, so appending
    padded rows does not change the order of the real ones (padded runs equal
    unpadded runs). Real rows come in draw order, then the padding rows by
    index, computed by ranks and one scatter (no sort per mask: under
    ``vmap`` over requests only ``mask`` is batched).

    Args:
      key: a PRNG key.
      mask: ``[n]`` row weights (0 = padding).

    Returns:
      ``[n]`` int32 indices.
    """
    n = mask.shape[0]
    order, rank = _order(n)(key)
    real = mask > 0
    n_real = jnp.sum(real, dtype=jnp.int32)
    # Position among real rows in draw order; padding goes after, by index.
    pos_real = (jnp.cumsum(real[order], dtype=jnp.int32) - 1)[rank]
    pos_pad = n_real + jnp.cumsum(~real, dtype=jnp.int32) - 1
    pos = jnp.where(real, pos_real, pos_pad)
    return (
        jnp.zeros((n,), jnp.int32)
        .at[pos]
        .set(jnp.arange(n, dtype=jnp.int32), unique_indices=True)
    )


def pass_rows(perm: Array, mask: Array, step: Array, size: int) -> tuple:
    """Batch ``step`` of one padded pass over ``perm``.

    Args:
      perm: ``[n]`` the epoch's order (:func:`masked_permutation`).
      mask: ``[n]`` row weights (0 = padding).
      step: the step within the epoch.
      size: rows per batch (static).

    Returns:
      ``(rows [size], weights [size])``; positions past the real rows
      repeat the last real row with weight 0, so that a padded pass and an
      unpadded one feed the same rows (a BatchNorm layer's batch statistics
      see them).
    """
    n_real = jnp.sum(mask > 0, dtype=jnp.int32)
    pos = step * size + jnp.arange(size, dtype=jnp.int32)
    rows = perm[jnp.clip(pos, 0, jnp.maximum(n_real, 1) - 1)]
    return rows, mask[rows] * (pos < n_real).astype(mask.dtype)


def cycled_rows(perm: Array, mask: Array, start: Array, size: int) -> tuple:
    """``size`` rows of the real rows of ``perm`` from ``start`` on, cycling.

    Args:
      perm: ``[n]`` an order with the real rows first.
      mask: ``[n]`` row weights (0 = padding).
      start: the position of the batch's first row in the cycle.
      size: rows per batch (static).

    Returns:
      ``(rows [size], weights [size])``; all weights are 0 when no row is
      real.
    """
    count = jnp.sum(mask > 0).astype(jnp.int32)
    j = jnp.arange(size, dtype=jnp.int32)
    rows = perm[(start + j) % jnp.maximum(count, 1)]
    return rows, mask[rows] * (j < count).astype(mask.dtype)


def membership_batch(
    pool: Pool,
    request: Request,
    perms: Sequence[Array],
    step: Array,
    sizes: tuple[int, int],
    drive: str = "retain",
) -> MembershipBatch:
    """Step ``step``'s retain and forget batch of a request.

    The ``drive`` set (``"retain"`` or ``"forget"``) is read in one padded
    pass per epoch, the other one cycles through its real rows.

    Args:
      pool: the rows.
      request: the request (one, not batched).
      perms: the epoch's orders ``(retain, forget)`` of the request's rows
        (:func:`masked_permutation`).
      step: the step within the epoch.
      sizes: ``(batch_size, forget_batch_size)``.
      drive: which set sets the epoch's length.

    Returns:
      A :class:`MembershipBatch` with the padding weighted 0.
    """
    (b, bf), (perm_r, perm_f) = sizes, perms[:2]
    if drive == "retain":
        r, wr = pass_rows(perm_r, request.retain_mask, step, b)
        f, wf = cycled_rows(perm_f, request.forget_mask, step * bf, bf)
    else:
        r, wr = cycled_rows(perm_r, request.retain_mask, step * b, b)
        f, wf = pass_rows(perm_f, request.forget_mask, step, bf)
    ir, if_ = request.retain_idx[r], request.forget_idx[f]
    return MembershipBatch(
        pool.x[ir], pool.y[ir], wr, pool.x[if_], pool.y[if_], wf
    )


def masked_epochs(
    step: Callable,
    end_epoch: Callable,
    carry: Any,
    *,
    key: Array,
    epochs: int,
    steps: int,
    masks: Sequence[Array],
    remat: bool = False,
    fold: bool = True,
    halted: Callable[[Any], Array] | None = None,
) -> tuple[Any, Any]:
    """The training driver: ``epochs`` epochs of ``steps`` masked steps.

    Epoch ``e`` draws one order per mask (:func:`masked_permutation` from
    ``fold_in(fold_in(key, e), i)`` for mask ``i``; with ``fold=False`` and
    one mask from ``fold_in(key, e)``), then scans ``step(carry, s, perms,
    e) -> (carry, out)`` over its steps and ends with ``end_epoch(carry,
    outs, e) -> (carry, row)``, ``outs`` the stacked step outputs.

    Args:
      step: the step rule (skips its own update where its batch is padding).
      end_epoch: the per-epoch reduction (history row, stop rules).
      carry: the initial carry (optimizer state and the rule's own).
      key: the PRNG key of the batch orders.
      epochs: the number of epochs (static).
      steps: steps per epoch (static).
      masks: the row masks to order every epoch.
      remat: rematerialize the step and epoch bodies in the backward pass.
      fold: see above.
      halted: optional ``halted(carry) -> [] bool``: once true, the steps
        left are skipped (``lax.cond``; they output zeros) and so are the
        epochs left, whose ``end_epoch`` gets all-zero step outputs. A
        halted step must leave the carry as it is. Under ``vmap`` the
        branches become a select and every step runs.

    Returns:
      ``(carry, rows)`` with the rows stacked over epochs.
    """
    if remat:
        step = jax.checkpoint(step)
    if halted is not None:
        step = _halting(step, halted)

    def run_steps(carry, e):
        ek = jax.random.fold_in(key, e)
        if fold:
            keys = [jax.random.fold_in(ek, i) for i in range(len(masks))]
        else:
            keys = [ek]
        perms = tuple(
            masked_permutation(k, m) for k, m in zip(keys, masks, strict=True)
        )
        return jax.lax.scan(
            lambda c, s: step(c, s, perms, e),
            carry,
            jnp.arange(steps, dtype=jnp.int32),
        )

    def epoch(carry, e):
        def run(c):
            return end_epoch(*run_steps(c, e), e)

        if halted is None:
            return run(carry)

        def skip(c):  # no orders drawn, no step run
            outs = _zeros_of(jax.eval_shape(run_steps, c, e)[1])
            return end_epoch(c, outs, e)

        return jax.lax.cond(halted(carry), skip, run, carry)

    if remat:
        epoch = jax.checkpoint(epoch)
    return jax.lax.scan(epoch, carry, jnp.arange(epochs, dtype=jnp.int32))


def _zeros_of(shapes: Any) -> Any:
    return jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype), shapes)


def _halting(step: Callable, halted: Callable) -> Callable:
    """``step`` skipped (zero outputs, the carry as it is) once halted."""

    def body(carry, s, perms, e):
        def skip(c):
            return c, _zeros_of(jax.eval_shape(step, c, s, perms, e)[1])

        return jax.lax.cond(
            halted(carry), skip, lambda c: step(c, s, perms, e), carry
        )

    return body


class Weights(NamedTuple):
    """Pool-level row weights of one request (for accuracies)."""

    retain: Array  # [n] 1 on the request's retain rows
    forget: Array  # [n] 1 on its forget rows
    hold: Array  # [h] 1 on held-out rows of the forget set's classes
    classes: Array  # [c] bool, the classes present in the forget set


def request_weights(
    model: Any, params: Any, pool: Pool, request: Request, rest: Any = None
) -> Weights:
    """Pool-level row weights of ``request``.

    Args:
      model: an ``apply_fn`` or a module model (for the number of logits).
      params: its parameters.
      pool: the rows.
      request: one request.
      rest: a module model's non-parameter state.

    Returns:
      The request's :class:`Weights`.
    """
    dtype = pool.x.dtype
    n = pool.x.shape[0]
    rmask = request.retain_mask.astype(dtype)
    fmask = request.forget_mask.astype(dtype)
    c = jax.eval_shape(pure_apply(model, rest), params, pool.x[:1]).shape[1]
    present = (
        jnp.zeros((c,), dtype).at[pool.y[request.forget_idx]].add(fmask) > 0
    )
    return Weights(
        jnp.zeros((n,), dtype).at[request.retain_idx].add(rmask),
        jnp.zeros((n,), dtype).at[request.forget_idx].add(fmask),
        present[pool.y_hold].astype(dtype),
        present,
    )


def evaluator(model: Any, pool: Pool, w: Weights) -> tuple[Callable, Callable]:
    """``(evaluate, correct)`` of one request's accuracies.

    ``evaluate(params, rest) -> (retain, forget, test, holdout)`` accuracies
    and ``correct(params, rest, x, y) -> [n]`` hits (1.0 / 0.0).

    Evaluation mode at the carried non-parameter state ``rest``. Under
    ``vmap`` the parameters are batched but the evaluated rows are shared;
    XLA:CPU runs that batched forward pass several times slower than one
    pass per request, so it loops (no gradient flows through argmax).

    Args:
      model: an ``apply_fn`` or a module model.
      pool: the rows.
      w: the request's :class:`Weights`.

    Returns:
      ``(evaluate, correct)``: ``evaluate(params, rest) -> (retain, forget,
      test, holdout)`` accuracies and ``correct(params, rest, x, y) -> [n]``
      hits (1.0 / 0.0).
    """

    @jax.custom_batching.sequential_vmap
    def predict(p, r, x):
        return jnp.argmax(pure_apply(model, r)(p, x), -1)

    def correct(p, r, x, y):
        pred = predict(jax.lax.stop_gradient(p), r, x).astype(y.dtype)
        return (pred == y).astype(pool.x.dtype)

    def evaluate(p, r):
        hit_pool = correct(p, r, pool.x, pool.y)
        return (
            masked_mean(hit_pool, w.retain),
            masked_mean(hit_pool, w.forget),
            jnp.mean(correct(p, r, pool.x_test, pool.y_test)),
            masked_mean(correct(p, r, pool.x_hold, pool.y_hold), w.hold),
        )

    return evaluate, correct


@dataclasses.dataclass(frozen=True)
class Method:
    """An unlearning method on the kernel's signature.

    ``method(apply_fn, params, pool, request, *, config=None, key)`` returns
    an ``UnlearnOutput`` for one :class:`Request`; pure and traceable, so
    :func:`unlearn_many` vmaps (and shards) any method over requests and
    seeds.

    Attributes:
      name: a short name (``"mi"``, ``"retrain"``, ...).
      run: ``run(model, params, pool, request, config, key, rest) ->
        (output, rest)``; ``model`` is an ``apply_fn`` or a module model
        whose non-parameter state ``rest`` the method carries.
      default_config: the config used when ``config`` is None.
    """

    name: str
    run: Callable = dataclasses.field(repr=False)
    default_config: Any = None

    def __call__(
        self,
        apply_fn: Any,
        params: Any,
        pool: Pool,
        request: Request | None = None,
        *,
        config: Any = None,
        key: Array,
    ) -> Any:
        """Runs the method on one request (no validation: see the wrappers).

        Args:
          apply_fn: pure forward pass ``apply_fn(params, x) -> logits``, or
            an ``nnx.Module`` (then the arguments shift: ``params`` is the
            pool and ``pool`` the request).
          params: the trained parameters (never modified).
          pool: a :class:`Pool`.
          request: a :class:`Request`.
          config: the method's config (``default_config`` if None).
          key: a PRNG key.

        Returns:
          The method's ``UnlearnOutput``; for a module an
          ``UnlearnModelOutput`` holding the new module.
        """
        cfg = self.default_config if config is None else config
        if not is_module(apply_fn):
            return self.run(apply_fn, params, pool, request, cfg, key, None)[0]
        # _core builds on this module: imported at call time.
        from jaxunlearn.datapoint._core import model_output  # noqa: PLC0415

        model, module_params, rest = split_module(apply_fn)
        out, rest = self.run(model, module_params, params, pool, cfg, key, rest)
        return model_output(model, out, rest)
