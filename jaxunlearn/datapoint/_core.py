r"""MI-regularized unlearning in one jit-compiled ``lax.scan``.

Starting from trained parameters and a fresh optimizer, each step draws a
retain batch ``B_r`` and a forget batch ``B_f`` and takes one step on
``task + gamma * I(Y_hat; Z)`` (docs/datapoint.md). All data live in one "pool";
a request is a pair of padded index sets (retain, forget) with masks, so one
compilation serves every forget-set size up to the static bound, and
:func:`unlearn_many` vmaps the same core over requests and seeds.

``gamma="auto"`` replaces the fixed weight by a controller (see
:class:`AutoGamma`): optionally the constrained problem
``min task  s.t.  I(B_r, B_f) <= (1 + slack) I(B_r, B_h)`` with
``gamma`` as its Lagrange multiplier (projected dual ascent, off by
default: ``dual_lr=0``), where ``B_h`` are held-out rows of the forget set's
classes standing in for the forget set, scaled and decayed step sizes, and
a stopping rule checked after every step. :func:`unlearn` stops by default
once the forget accuracy reaches a linear-probe estimate of retraining's
(``stop="probe"``, ``_reference.py``); :func:`unlearn_many` once it reaches
the starting model's accuracy on held-out rows of the forget classes. An
optional repair phase (``_Static.repair_steps``) fine-tunes on retain rows
afterwards. docs/datapoint.md reports how far from retraining this lands.

References:
  Xu & Strohmer, "Machine Unlearning via Information Theoretic
  Regularization", arXiv:2502.05684, 2025. https://arxiv.org/abs/2502.05684

  Boyd & Vandenberghe, "Convex Optimization", Cambridge University Press,
  2004, chapter 5 (Lagrange duality, dual ascent).
"""

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array

from jaxunlearn.datapoint._membership import (
    ApplyFn,
    MembershipBatch,
    _controller_loss,
    _HoldTerms,
    membership_mi,
    weighted_cross_entropy,
)
from jaxunlearn.datapoint._model import (
    emit_epoch,
    pure_apply,
    select_state,
    with_state,
)
from jaxunlearn.datapoint._train import (
    _ADAM_DESCENT,
    _apply_update,
    init_train_state,
    masked_permutation,
)

Schedule = Callable[[Array], Array]


class UnlearnHistory(NamedTuple):
    """Per-epoch diagnostics of :func:`unlearn` (each ``[epochs]``).

    Values are measured after the epoch's updates; epochs after the stopping
    rule fired repeat the last values and have ``active == False``.
    """

    task_loss: Array  # mean task loss over the epoch's steps
    mi: Array  # mean I(Y_hat; Z) over the epoch's steps (nats)
    retain_acc: Array  # accuracy on the retain set
    forget_acc: Array  # accuracy on the forget set
    test_acc: Array  # accuracy on the test set
    holdout_acc: Array  # accuracy on held-out rows of the forget classes
    gamma: Array  # mean gamma used over the epoch
    active: Array  # bool, whether the epoch took any step


class UnlearnOutput(NamedTuple):
    """The result of :func:`unlearn`."""

    params: Any  # the unlearned parameters (new arrays)
    history: UnlearnHistory  # per-epoch diagnostics
    epochs_run: Array  # [] int32, epochs that took at least one step


class UnlearnModelOutput(NamedTuple):
    """The result of :func:`unlearn` on an ``nnx.Module``."""

    model: Any  # the unlearned module (a new object; the input is unchanged)
    history: UnlearnHistory  # per-epoch diagnostics
    epochs_run: Array  # [] int32, epochs that took at least one step


class AutoGamma(NamedTuple):
    """Settings of the ``gamma="auto"`` controller (numbers are traced).

    Attributes:
      gamma_init: the starting multiplier.
      dual_lr: step of the projected dual ascent on ``gamma``
        (``gamma <- max(0, gamma + dual_lr * (I_f - (1 + slack) I_h))``).
      slack: relative slack of the constraint ``I_f <= (1 + slack) I_h``.
      lr_decay: learning rate at epoch ``e`` is ``lr / (1 + lr_decay e)``.
      stop_margin: margin of the held-out stop rules: ``"holdout"`` stops
        once ``forget_acc < holdout_acc + stop_margin`` and
        ``"holdout_initial"`` once ``forget_acc <= holdout_acc_0 +
        stop_margin`` (``holdout_acc_0`` under the starting parameters);
        added to the threshold of ``"probe"``.
      repair_lr: step size of the optional repair phase.
      lr_scale: under ``gamma="auto"`` the step size is ``learning_rate *
        lr_scale``.
      holdout_gamma: weight ``>= 0`` of the held-out-referenced membership
        term ``I(Y_hat; Z_h)`` added to the loss, ``Z_h`` marking a forget
        batch against a batch of held-out rows of the forget set's classes
        (their logits under ``stop_gradient``; see
        :func:`holdout_membership_mi`): it pulls the forget rows'
        predictions toward the model's predictions on unseen rows of their
        classes. 0 (default): the loss of Xu & Strohmer.
      class_weight: weight ``> 0`` of the retain rows of the forget set's
        classes in the task loss (a weighted mean; other rows weigh 1).
      anchor: weight ``>= 0`` of ``KL(q_ref || q)`` averaged over a batch
        of held-out rows of the forget set's classes per step, ``q_ref``
        the starting model's predictions (see ``anchor_shift``): keeps how
        the model treats unseen rows of the class while the forget rows
        are pushed away. 0 (default): no anchor.
      anchor_shift: ``q_ref`` is the softmax of the starting model's logits
        minus ``anchor_shift >= 0`` on the forget classes. None (default):
        under ``stop="probe"``, the smallest offset that brings the
        starting model's accuracy on the held-out rows of the forget
        classes down to the probe estimate; otherwise 0.
      probe_repeats: the number of probe pairs (batch orders) whose
        estimates ``stop="probe"`` averages (a Python int; see the
        ``repeats`` argument of :func:`estimate_retrain_forget_acc`). 8 by
        default (1 before: one fit's batch order alone moves the estimate
        by 3-12 points on Fashion-MNIST; docs/datapoint.md and
        docs/datapoint_reproductions.md measure both).
      anchor_lr: step ``>= 0`` of a projected dual ascent on the anchor's
        weight after every step, from ``anchor``: ``anchor <- max(0,
        anchor + anchor_lr * (t - h))``, ``h`` the current accuracy on
        the held-out rows of the forget classes and ``t`` the threshold of
        ``"forget_acc"`` / ``"probe"`` (retraining's estimated level). 0:
        a fixed weight.

    ``holdout_gamma``, ``class_weight`` and the anchor apply to a fixed
    ``gamma`` too. docs/datapoint.md reports what each one measured.
    """

    gamma_init: float = 0.5
    dual_lr: float = 0.0
    slack: float = 0.0
    lr_decay: float = 0.0
    stop_margin: float = 0.0
    repair_lr: float = 1e-4
    lr_scale: float = 0.3
    holdout_gamma: float = 0.0
    class_weight: float = 1.0
    anchor: float = 0.0
    anchor_shift: float | None = None
    probe_repeats: int = 8
    anchor_lr: float = 0.0


class _Data(NamedTuple):
    x_pool: Array  # [n, ...] every training row the requests index into
    y_pool: Array  # [n]
    x_test: Array  # [t, ...]
    y_test: Array  # [t]
    x_hold: Array  # [h, ...] held-out rows (the controller's stand-in)
    y_hold: Array  # [h]


class _Request(NamedTuple):
    retain_idx: Array  # [R] int32 rows of the pool
    retain_mask: Array  # [R] float, 1 = real
    forget_idx: Array  # [F] int32
    forget_mask: Array  # [F] float


class _Hyper(NamedTuple):
    gamma: Array  # [] fixed gamma, or the controller's initial gamma
    learning_rate: Array  # []
    dual_lr: Array  # []
    slack: Array  # []
    lr_decay: Array  # []
    stop_margin: Array  # []
    stop_value: Array  # [] threshold of the "forget_acc" / "mi" rules
    repair_lr: Array | float = 0.0  # [] step size of the repair phase
    holdout_gamma: Array | float = 0.0  # [] weight of the held-out MI term
    class_weight: Array | float = 1.0  # [] task weight of forget classes
    anchor: Array | float = 0.0  # [] weight of the held-out KL anchor
    anchor_shift: Array | float = 0.0  # [] logit offset of the anchor's class
    anchor_lr: Array | float = 0.0  # [] dual step of the anchor weight


@dataclasses.dataclass(frozen=True)
class _Static:
    epochs: int
    batch_size: int
    forget_batch_size: int
    utility: str
    auto: bool
    stop: str  # "none" | "holdout" | "holdout_initial" | "forget_acc" | "mi"
    gamma_schedule: Schedule | None
    lr_schedule: Schedule | None
    remat: bool
    stop_each_step: bool = False
    repair_steps: int = 0  # retain-only fine-tuning steps after the MI phase
    holdout_term: bool = False  # the held-out terms (I_h and the anchor)
    anchor_dual: bool = False  # dual ascent on the anchor's weight
    # The optax optimizer of the MI phase; its updates are scaled by the
    # step's learning rate (Adam without a step size by default).
    optimizer: optax.GradientTransformation = _ADAM_DESCENT
    callback: Callable | None = None  # called after every epoch (host)


def _row_order(key: Array, n: int) -> tuple[Array, Array]:
    """The order of ``n`` rows by the sort keys of ``masked_permutation``.

    Returns the stable ``argsort`` of row ``i``'s uniform draw from
    ``fold_in(key, i)`` and its inverse (the rank of each row).
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


# The requests of unlearn_many share the seeds, so the draws and their sort
# do not depend on the request: computed once per seed (one at a time when
# seeds are batched; XLA:CPU sorts rows of a batch slower than one by one).
@functools.cache
def _order(n: int) -> Callable[[Array], tuple[Array, Array]]:
    return jax.custom_batching.sequential_vmap(
        functools.partial(_row_order, n=n)
    )


def _permutation(key: Array, mask: Array) -> Array:
    """``masked_permutation(key, mask)``, without a sort per mask.

    Real rows (``mask > 0``) in the shared order of :func:`_row_order`,
    then the padding rows by index: the stable argsort of the draws with
    padding keyed 2.0, computed by ranks and one scatter. Only ``mask`` is
    batched over requests under ``vmap``.
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


def _masked_acc(correct: Array, w: Array) -> Array:
    total = jnp.sum(w)
    total = jnp.where(total > 0, total, jnp.ones_like(total))
    return jnp.sum(w * correct) / total


def _cycled(perm: Array, count: Array, start: Array, size: int) -> tuple:
    """``size`` rows of ``perm[:count]`` from ``start`` on, cycling."""
    j = jnp.arange(size, dtype=jnp.int32)
    safe = jnp.maximum(count, 1)
    rows = perm[(start + j) % safe]
    return rows, j < count


def _unlearn_core(
    apply_fn: ApplyFn,
    static: _Static,
    params: Any,
    data: _Data,
    req: _Request,
    hyper: _Hyper,
    key: Array,
) -> UnlearnOutput:
    return _unlearn_state_core(apply_fn, static, params, data, req, hyper, key)[
        0
    ]


def _unlearn_state_core(
    model: Any,
    static: _Static,
    params: Any,
    data: _Data,
    req: _Request,
    hyper: _Hyper,
    key: Array,
    rest: Any = None,
) -> tuple[UnlearnOutput, Any]:
    # model: an apply_fn, or a ModuleModel whose non-parameter state ``rest``
    # the training forward passes update; evaluation runs at the carried
    # state in evaluation mode.
    apply_fn = pure_apply(model, rest)
    dtype = jax.tree.leaves(params)[0].dtype
    optimizer = static.optimizer
    b, bf = static.batch_size, static.forget_batch_size
    r_size = req.retain_idx.shape[0]
    steps = math.ceil(r_size / b)
    n_pool = data.x_pool.shape[0]
    mask_dtype = data.x_pool.dtype
    retain_mask = req.retain_mask.astype(mask_dtype)
    forget_mask = req.forget_mask.astype(mask_dtype)
    n_forget = jnp.sum(forget_mask > 0).astype(jnp.int32)

    # Pool-level weights for the per-epoch accuracies.
    w_retain = (
        jnp.zeros((n_pool,), mask_dtype).at[req.retain_idx].add(retain_mask)
    )
    w_forget = (
        jnp.zeros((n_pool,), mask_dtype).at[req.forget_idx].add(forget_mask)
    )
    num_logits = jax.eval_shape(apply_fn, params, data.x_pool[:1]).shape[1]
    present = (
        jnp.zeros((num_logits,), mask_dtype)
        .at[data.y_pool[req.forget_idx]]
        .add(forget_mask)
        > 0
    )
    w_hold = present[data.y_hold].astype(mask_dtype)
    n_hold = jnp.sum(w_hold > 0).astype(jnp.int32)

    # Under vmap (unlearn_many) the parameters are batched but the evaluated
    # rows are shared; XLA:CPU runs that batched forward pass several times
    # slower than one pass per request, so it loops (accuracies only, no
    # gradient flows through argmax).
    @jax.custom_batching.sequential_vmap
    def predict(p, r, x):
        return jnp.argmax(pure_apply(model, r)(p, x), -1)

    def correct(p, x, y, r):
        pred = predict(jax.lax.stop_gradient(p), r, x).astype(y.dtype)
        return (pred == y).astype(mask_dtype)

    def evaluate(p, r):
        correct_pool = correct(p, data.x_pool, data.y_pool, r)
        correct_test = correct(p, data.x_test, data.y_test, r)
        correct_hold = correct(p, data.x_hold, data.y_hold, r)
        return (
            _masked_acc(correct_pool, w_retain),
            _masked_acc(correct_pool, w_forget),
            jnp.mean(correct_test),
            _masked_acc(correct_hold, w_hold),
        )

    # Held-out accuracy of the forget classes under the starting model.
    h_acc0 = evaluate(params, rest)[3]
    if static.holdout_term:  # the anchor's reference predictions
        shift = jnp.asarray(hyper.anchor_shift, dtype) * present.astype(dtype)
        logits_hold_start = jax.lax.stop_gradient(
            apply_fn(params, data.x_hold) - shift[None, :]
        )
    gamma_sched = static.gamma_schedule or (lambda s: 1.0)
    lr_sched = static.lr_schedule or (lambda s: 1.0)

    def step(carry, s, perm_r, perm_f, perm_h, epoch_idx):
        state, gamma_dual, stopped, anchor_t, rest_t = carry
        pos = s * b + jnp.arange(b, dtype=jnp.int32)
        rows = perm_r[jnp.minimum(pos, r_size - 1)]
        rmask = retain_mask[rows] * (pos < r_size).astype(mask_dtype)
        pool_r = req.retain_idx[rows]
        frows, fvalid = _cycled(perm_f, n_forget, s * bf, bf)
        fmask = forget_mask[frows] * fvalid.astype(mask_dtype)
        pool_f = req.forget_idx[frows]
        batch = MembershipBatch(
            data.x_pool[pool_r],
            data.y_pool[pool_r],
            rmask,
            data.x_pool[pool_f],
            data.y_pool[pool_f],
            fmask,
        )
        if static.auto:
            gamma_t = gamma_dual
        else:
            gamma_t = hyper.gamma * jnp.asarray(gamma_sched(state.step), dtype)
        lr_t = hyper.learning_rate * jnp.asarray(lr_sched(state.step), dtype)
        lr_t = lr_t / (1 + hyper.lr_decay * epoch_idx.astype(dtype))
        # Retain rows of the forget classes weigh class_weight in the task.
        in_cls = present[batch.y_retain].astype(mask_dtype)
        cw = jnp.asarray(hyper.class_weight, mask_dtype)
        task_w = 1 + (cw - 1) * in_cls
        if static.holdout_term:
            # A held-out batch of the forget classes.
            hrows0, hvalid0 = _cycled(perm_h, n_hold, s * bf, bf)
            hold = _HoldTerms(
                jnp.asarray(hyper.holdout_gamma, dtype),
                anchor_t,
                data.x_hold[hrows0],
                logits_hold_start[hrows0],
                w_hold[hrows0] * hvalid0.astype(mask_dtype),
            )
        else:
            hold = None

        def loss(p):
            (value, aux), r = with_state(
                model,
                rest_t,
                lambda f: _controller_loss(
                    f, p, batch, gamma_t, static.utility, task_w, hold
                ),
            )
            return value, (aux, r)

        grads, ((aux, logits_r, _), new_rest) = jax.grad(loss, has_aux=True)(
            state.params
        )
        new_state = _apply_update(optimizer, state, grads, lr_t)
        active = (jnp.sum(rmask) > 0) & jnp.logical_not(stopped)
        state = jax.tree.map(
            lambda a, o: jnp.where(active, a, o), new_state, state
        )
        rest_t = select_state(active, new_rest, rest_t)
        if static.auto:
            hrows, hvalid = _cycled(perm_h, n_hold, s * bf, bf)
            hmask = w_hold[hrows] * hvalid.astype(mask_dtype)
            logits_h = pure_apply(model, rest_t)(
                jax.lax.stop_gradient(new_state.params), data.x_hold[hrows]
            )
            # The stand-in criterion, under the parameters before the update
            # for the forget term (aux.mi) and after it for the held-out one.
            mi_hold = membership_mi(
                jax.lax.stop_gradient(logits_r),
                logits_h,
                retain_mask=rmask,
                forget_mask=hmask,
            )
            violation = aux.mi - (1 + hyper.slack) * mi_hold
            new_gamma = jnp.maximum(gamma_dual + hyper.dual_lr * violation, 0)
            gamma_dual = jnp.where(active, new_gamma, gamma_dual)
        if static.stop_each_step and static.stop in (
            "holdout",
            "holdout_initial",
            "forget_acc",
        ):
            p = state.params
            f_acc = _masked_acc(
                correct(
                    p,
                    data.x_pool[req.forget_idx],
                    data.y_pool[req.forget_idx],
                    rest_t,
                ),
                forget_mask,
            )
            if static.stop == "holdout":
                h_acc = _masked_acc(
                    correct(p, data.x_hold, data.y_hold, rest_t), w_hold
                )
                fire = f_acc < h_acc + hyper.stop_margin
            elif static.stop == "holdout_initial":
                fire = f_acc <= h_acc0 + hyper.stop_margin
            else:
                fire = f_acc <= hyper.stop_value
            stopped = stopped | (fire & active)
        act = active.astype(dtype)
        out = (aux.task_loss * act, aux.mi * act, gamma_t * act, act)
        if static.anchor_dual:
            # Dual ascent on the anchor: grow it while the held-out accuracy
            # of the forget classes is below the stop threshold.
            h_now = _masked_acc(
                correct(state.params, data.x_hold, data.y_hold, rest_t),
                w_hold,
            )
            new_anchor = jnp.maximum(
                anchor_t + hyper.anchor_lr * (hyper.stop_value - h_now), 0
            )
            anchor_t = jnp.where(active, new_anchor, anchor_t)
        return (state, gamma_dual, stopped, anchor_t, rest_t), out

    if static.remat:
        step = jax.checkpoint(step)

    def epoch(carry, e):
        state, gamma_dual, stopped, anchor_t, rest_t = carry
        ek = jax.random.fold_in(key, e)
        perm_r = _permutation(jax.random.fold_in(ek, 0), retain_mask)
        perm_f = _permutation(jax.random.fold_in(ek, 1), forget_mask)
        perm_h = _permutation(jax.random.fold_in(ek, 2), w_hold)
        carry, (tl, mi, gm, act) = jax.lax.scan(
            lambda c, s: step(c, s, perm_r, perm_f, perm_h, e),
            (state, gamma_dual, stopped, anchor_t, rest_t),
            jnp.arange(steps, dtype=jnp.int32),
        )
        state, gamma_dual, stopped_in, anchor_t, rest_t = carry
        n_act = jnp.sum(act)
        denom = jnp.maximum(n_act, 1)
        tl, mi, gm = (
            jnp.sum(tl) / denom,
            jnp.sum(mi) / denom,
            jnp.sum(gm) / denom,
        )
        r_acc, f_acc, t_acc, h_acc = evaluate(state.params, rest_t)
        if static.stop == "holdout":
            fire = f_acc < h_acc + hyper.stop_margin
        elif static.stop == "holdout_initial":
            fire = f_acc <= h_acc0 + hyper.stop_margin
        elif static.stop == "forget_acc":
            fire = f_acc <= hyper.stop_value
        elif static.stop == "mi":
            fire = (mi <= hyper.stop_value) & (n_act > 0)
        else:
            fire = jnp.zeros((), bool)
        stopped = stopped_in | fire
        row = (tl, mi, r_acc, f_acc, t_acc, h_acc, gm, n_act > 0)
        names = UnlearnHistory._fields[1:]
        emit_epoch(
            static.callback,
            static.epochs,
            e,
            tl,
            dict(zip(names, row[1:], strict=True)),
        )
        return (state, gamma_dual, stopped, anchor_t, rest_t), row

    if static.remat:
        epoch = jax.checkpoint(epoch)

    state = init_train_state(params, optimizer)
    gamma0 = jnp.asarray(hyper.gamma, dtype)
    anchor0 = jnp.asarray(hyper.anchor, dtype)
    carry = (state, gamma0, jnp.zeros((), bool), anchor0, rest)
    (state, _, _, _, rest), rows = jax.lax.scan(
        epoch, carry, jnp.arange(static.epochs, dtype=jnp.int32)
    )
    history = UnlearnHistory(*rows)
    params_out = state.params
    if static.repair_steps > 0:
        params_out, rest = _repair_state(
            model,
            params_out,
            data.x_pool,
            data.y_pool,
            req.retain_idx,
            retain_mask,
            jnp.asarray(hyper.repair_lr, dtype),
            static.repair_steps,
            b,
            jax.random.fold_in(key, static.epochs),
            rest,
        )
    out = UnlearnOutput(
        params_out, history, jnp.sum(history.active).astype(jnp.int32)
    )
    return out, rest


def _repair(
    apply_fn: ApplyFn,
    params: Any,
    x_pool: Array,
    y_pool: Array,
    retain_idx: Array,
    retain_mask: Array,
    learning_rate: Array,
    steps: int,
    batch_size: int,
    key: Array,
) -> Any:
    """The parameters after :func:`_repair_state` of a plain ``apply_fn``."""
    return _repair_state(
        apply_fn,
        params,
        x_pool,
        y_pool,
        retain_idx,
        retain_mask,
        learning_rate,
        steps,
        batch_size,
        key,
    )[0]


def _repair_state(
    model: Any,
    params: Any,
    x_pool: Array,
    y_pool: Array,
    retain_idx: Array,
    retain_mask: Array,
    learning_rate: Array,
    steps: int,
    batch_size: int,
    key: Array,
    rest: Any = None,
) -> tuple[Any, Any]:
    """``steps`` Adam steps of the task loss on retain rows only.

    A fresh optimizer state; batches cycle through a permutation of the real
    retain rows. The forget rows are never read.
    """
    optimizer = _ADAM_DESCENT
    n_r = jnp.sum(retain_mask > 0).astype(jnp.int32)
    perm = masked_permutation(key, retain_mask)

    def step(carry, s):
        state, r = carry
        rows, valid = _cycled(perm, n_r, s * batch_size, batch_size)
        mask = retain_mask[rows] * valid.astype(retain_mask.dtype)
        pool = retain_idx[rows]
        xb, yb = x_pool[pool], y_pool[pool]
        grads, r = jax.grad(
            lambda p: with_state(
                model,
                r,
                lambda f: weighted_cross_entropy(f(p, xb), yb, mask),
            ),
            has_aux=True,
        )(state.params)
        state = _apply_update(optimizer, state, grads, learning_rate)
        return (state, r), None

    (state, rest), _ = jax.lax.scan(
        step,
        (init_train_state(params, optimizer), rest),
        jnp.arange(steps, dtype=jnp.int32),
    )
    return state.params, rest
