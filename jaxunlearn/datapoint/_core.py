r"""MI-regularized unlearning as a step rule of the training kernel.

Starting from trained parameters and a fresh optimizer, each step draws a
retain batch ``B_r`` and a forget batch ``B_f`` and takes one step on
``task + gamma * I(Y_hat; Z)`` (docs/datapoint.md), inside
:func:`masked_epochs`. The parts of :class:`UnlearnConfig` add to it: a
:class:`Controller` (``gamma="auto"``: optionally the constrained problem
``min task  s.t.  I(B_r, B_f) <= (1 + slack) I(B_r, B_h)`` with ``gamma``
as its Lagrange multiplier, ``B_h`` held-out rows of the forget set's
classes), a :class:`StopRule` checked after every epoch or step,
:class:`HoldoutTerms` and a :class:`Repair` phase. docs/datapoint.md
reports how far from retraining this lands.

References:
  Xu & Strohmer, "Machine Unlearning via Information Theoretic
  Regularization", arXiv:2502.05684, 2025. https://arxiv.org/abs/2502.05684

  Boyd & Vandenberghe, "Convex Optimization", Cambridge University Press,
  2004, chapter 5 (Lagrange duality, dual ascent).
"""

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array

from jaxunlearn.datapoint._config import UnlearnConfig
from jaxunlearn.datapoint._kernel import (
    Method,
    Pool,
    Request,
    Weights,
    cycled_rows,
    evaluator,
    masked_epochs,
    masked_mean,
    membership_batch,
    request_weights,
)
from jaxunlearn.datapoint._membership import (
    _controller_loss,
    _HoldTerms,
    membership_mi,
    weighted_cross_entropy,
)
from jaxunlearn.datapoint._model import (
    ModuleModel,
    emit_epoch,
    merge_module,
    pure_apply,
    select_state,
    with_state,
)
from jaxunlearn.datapoint._train import (
    _ADAM_DESCENT,
    _apply_update,
    init_train_state,
)


class UnlearnHistory(NamedTuple):
    """Per-epoch diagnostics of :func:`unlearn` (each ``[epochs]``).

    Values are measured after the epoch's updates; epochs after the stopping
    rule fired repeat the last values and have ``active == False``.
    """

    task_loss: Array  # mean task loss over the epoch's steps
    mi: Array  # mean I(Y_hat; Z) over the epoch's steps (nats)
    # The four accuracies are None when the run skips the per-epoch
    # evaluation (``evaluate=False``).
    retain_acc: Array | None  # accuracy on the retain set
    forget_acc: Array | None  # accuracy on the forget set
    test_acc: Array | None  # accuracy on the test set
    holdout_acc: Array | None  # accuracy on held-out rows of forget classes
    gamma: Array  # mean gamma used over the epoch
    active: Array  # bool, whether the epoch took any step


class UnlearnOutput(NamedTuple):
    """The result of :func:`unlearn` and of every kernel method."""

    params: Any  # the unlearned parameters (new arrays)
    history: UnlearnHistory  # per-epoch diagnostics
    epochs_run: Array  # [] int32, epochs that took at least one step
    # [] bool under gamma="auto": its stop rule fired (the target was
    # reached) before the epoch cap; None otherwise.
    target_reached: Array | None = None


class UnlearnModelOutput(NamedTuple):
    """The result of :func:`unlearn` on an ``nnx.Module``."""

    model: Any  # the unlearned module (a new object; the input is unchanged)
    history: UnlearnHistory  # per-epoch diagnostics
    epochs_run: Array  # [] int32, epochs that took at least one step
    target_reached: Array | None = None  # as in UnlearnOutput


def model_output(
    model: Any, out: UnlearnOutput, rest: Any
) -> UnlearnOutput | UnlearnModelOutput:
    """``out`` as it is for an ``apply_fn``; for a module model, the module.

    The trained parameters and the carried non-parameter state ``rest``
    become a new ``nnx.Module`` (with leading batch axes on its state where
    ``out`` has them) in an :class:`UnlearnModelOutput`.
    """
    if not isinstance(model, ModuleModel):
        return out
    return UnlearnModelOutput(merge_module(model, out.params, rest), *out[1:])


def optimizer_and_lr(cfg: Any, dtype: Any) -> tuple[Any, Array]:
    """The optax transformation and update scale of a config.

    Args:
      cfg: a config with ``optimizer`` and ``learning_rate``.
      dtype: the dtype of the scale.

    Returns:
      ``(optimizer, scale)``: Adam without a step size and
      ``learning_rate`` (1e-3 if None) by default; a given optimizer and
      ``learning_rate`` (1 if None).
    """
    if cfg.optimizer is None:
        lr = 1e-3 if cfg.learning_rate is None else cfg.learning_rate
        return _ADAM_DESCENT, jnp.asarray(lr, dtype)
    lr = 1.0 if cfg.learning_rate is None else cfg.learning_rate
    return cfg.optimizer, jnp.asarray(lr, dtype)


def stop_fires(
    kind: str, stop: Any, f_acc: Array, h_acc: Array, h_acc0: Array, mi: Any
) -> Array:
    """Whether stop rule ``kind`` fires (``mi`` None: not checked)."""
    if kind == "holdout":
        return f_acc < h_acc + stop.margin
    if kind == "holdout_initial":
        return f_acc <= h_acc0 + stop.margin
    if kind == "forget_acc":
        return f_acc <= stop.value
    if kind == "mi" and mi is not None:
        return mi <= stop.value
    return jnp.zeros((), bool)


class _Ctx(NamedTuple):
    """What the MI steps of one request share (built once per call)."""

    model: Any
    pool: Pool
    request: Request
    cfg: UnlearnConfig
    w: Weights
    correct: Any  # evaluator's correct(p, rest, x, y)
    evaluate: Any  # evaluator's evaluate(p, rest)
    h_acc0: Array  # [] held-out accuracy of the forget classes at the start
    logits_hold: Any  # [h, c] the anchor's reference logits, or None
    optimizer: Any
    lr: Array  # [] the update scale
    dtype: Any


def _context(model, params, pool, request, cfg, rest) -> _Ctx:
    dtype = jax.tree.leaves(params)[0].dtype
    mdt = pool.x.dtype
    request = request._replace(
        retain_mask=request.retain_mask.astype(mdt),
        forget_mask=request.forget_mask.astype(mdt),
    )
    w = request_weights(model, params, pool, request, rest)
    evaluate, correct = evaluator(model, pool, w)
    logits_hold = None
    terms = cfg.holdout
    if terms is not None and terms.in_steps:
        shift = jnp.asarray(terms.anchor_shift, dtype) * w.classes.astype(dtype)
        logits_hold = jax.lax.stop_gradient(
            pure_apply(model, rest)(params, pool.x_hold) - shift[None, :]
        )
    optimizer, lr = optimizer_and_lr(cfg, dtype)
    if cfg.controller is not None:
        lr = lr * jnp.asarray(cfg.controller.lr_scale, dtype)
    h_acc0 = evaluate(params, rest)[3]
    return _Ctx(
        model, pool, request, cfg, w, correct, evaluate, h_acc0,
        logits_hold, optimizer, lr, dtype,
    )  # fmt: skip


def _hold_terms(ctx: _Ctx, perm_h: Array, s: Array, anchor_t: Array):
    """The step's held-out batch terms (None when off)."""
    terms, bf = ctx.cfg.holdout, ctx.cfg.forget_batch_size
    if terms is None or not terms.in_steps:
        return None
    rows, wh = cycled_rows(perm_h, ctx.w.hold, s * bf, bf)
    hg = 0.0 if terms.holdout_gamma is None else terms.holdout_gamma
    return _HoldTerms(
        jnp.asarray(hg, ctx.dtype),
        anchor_t,
        ctx.pool.x_hold[rows],
        ctx.logits_hold[rows],
        wh,
    )


def _dual_gamma(ctx, gamma, perm_h, s, logits_r, batch, mi_f, params, rest):
    """One projected dual-ascent step of the controller on ``gamma``."""
    c, bf = ctx.cfg.controller, ctx.cfg.forget_batch_size
    rows, wh = cycled_rows(perm_h, ctx.w.hold, s * bf, bf)
    logits_h = pure_apply(ctx.model, rest)(
        jax.lax.stop_gradient(params), ctx.pool.x_hold[rows]
    )
    # The stand-in criterion, under the parameters before the update for the
    # forget term and after it for the held-out one.
    mi_hold = membership_mi(
        jax.lax.stop_gradient(logits_r),
        logits_h,
        retain_mask=batch.retain_mask,
        forget_mask=wh,
    )
    violation = mi_f - (1 + c.slack) * mi_hold
    return jnp.maximum(gamma + c.dual_lr * violation, 0)


def _step_stop(ctx: _Ctx, params: Any, rest: Any) -> tuple[Array, Array]:
    """The accuracy stop rule checked after a step: ``(fires, gap)``.

    ``gap`` is the forget accuracy's distance above the rule's threshold.
    """
    stop, pool, req = ctx.cfg.stop, ctx.pool, ctx.request
    f_acc = masked_mean(
        ctx.correct(
            params, rest, pool.x[req.forget_idx], pool.y[req.forget_idx]
        ),
        req.forget_mask,
    )
    h_acc = None
    if stop.kind == "holdout":
        h_hit = ctx.correct(params, rest, pool.x_hold, pool.y_hold)
        h_acc = masked_mean(h_hit, ctx.w.hold)
    fire = stop_fires(stop.kind, stop, f_acc, h_acc, ctx.h_acc0, None)
    if stop.kind == "holdout":
        gap = f_acc - (h_acc + stop.margin)
    elif stop.kind == "holdout_initial":
        gap = f_acc - (ctx.h_acc0 + stop.margin)
    else:
        gap = f_acc - stop.value
    return fire, gap


# The adaptive check plans the next one at 1 / _CHECK_SAFETY of the steps
# the last fall rate needs to close the gap.
_CHECK_SAFETY = 2.0


class Watch(NamedTuple):
    """The carry of the per-step stop check."""

    wait: Array  # [] int32 steps from the last check to the next
    since: Array  # [] int32 steps since the last check
    gap: Array  # [] the gap at the last check (+inf before the first)


def init_watch(dtype: Any) -> Watch:
    """The check's carry before the first step: check after it."""
    one = jnp.ones((), jnp.int32)
    return Watch(one, jnp.zeros((), jnp.int32), jnp.full((), jnp.inf, dtype))


def _checked_stop(
    ctx: _Ctx, s: Array, params: Any, rest: Any, watch: Watch
) -> tuple[Array, Watch]:
    """The accuracy stop rule after step ``s`` of an epoch.

    Returns ``(fires, watch)``; ``fires`` is False between two checks.

    ``stop.interval == 1``: after every step. A fixed interval ``k``: after
    every ``k``-th step of an epoch. Adaptive (``stop.adaptive``): the next
    check comes after ``gap / (2 * rate)`` steps, between 1 and ``k``,
    ``rate`` the gap's fall per step since the last check: half the steps
    that rate needs to close the gap.
    """
    k = ctx.cfg.stop.interval
    if k == 1:
        return _step_stop(ctx, params, rest)[0], watch
    if not ctx.cfg.stop.adaptive:
        fire = jax.lax.cond(
            (s + 1) % k == 0,
            lambda: _step_stop(ctx, params, rest)[0],
            lambda: jnp.zeros((), bool),
        )
        return fire, watch
    since = watch.since + 1

    def check():
        fire, gap = _step_stop(ctx, params, rest)
        gap = gap.astype(watch.gap.dtype)
        rate = (watch.gap - gap) / since.astype(gap.dtype)
        rate = jnp.maximum(rate, jnp.finfo(gap.dtype).tiny)
        wait = jnp.clip(gap / (_CHECK_SAFETY * rate), 1, k)
        wait = jnp.where(jnp.isnan(wait), 1, wait).astype(jnp.int32)
        return fire, Watch(wait, jnp.zeros((), jnp.int32), gap)

    def skip():
        return jnp.zeros((), bool), watch._replace(since=since)

    return jax.lax.cond(since >= watch.wait, check, skip)


def _gamma_t(ctx: _Ctx, gamma_dual: Array, step: Array) -> Array:
    cfg = ctx.cfg
    if cfg.controller is not None:
        return gamma_dual
    sched = cfg.gamma_schedule or (lambda s: 1.0)
    return jnp.asarray(cfg.gamma, ctx.dtype) * jnp.asarray(
        sched(step), ctx.dtype
    )


def _mi_step(ctx: _Ctx):
    cfg = ctx.cfg
    lr_sched = cfg.lr_schedule or (lambda s: 1.0)
    sizes = (cfg.batch_size, cfg.forget_batch_size)
    terms = cfg.holdout
    each = cfg.stop is not None and cfg.stop.each_step and cfg.stop.kind != "mi"

    def step(carry, s, perms, e):
        state, gamma_dual, stopped, anchor_t, rest_t, last, watch = carry
        batch = membership_batch(
            ctx.pool, ctx.request, perms, s, sizes, cfg.epoch
        )
        gamma_t = _gamma_t(ctx, gamma_dual, state.step)
        lr_t = ctx.lr * jnp.asarray(lr_sched(state.step), ctx.dtype)
        task_w = 1.0
        if terms is not None:  # retain rows of the forget classes
            in_cls = ctx.w.classes[batch.y_retain].astype(
                batch.retain_mask.dtype
            )
            cw = jnp.asarray(terms.class_weight, batch.retain_mask.dtype)
            task_w = 1 + (cw - 1) * in_cls
        hold = _hold_terms(ctx, perms[2], s, anchor_t)

        def loss(p):
            (value, aux), r = with_state(
                ctx.model,
                rest_t,
                lambda f: _controller_loss(
                    f, p, batch, gamma_t, cfg.utility, task_w, hold
                ),
            )
            return value, (aux, r)

        grads, ((aux, logits_r, _), new_rest) = jax.grad(loss, has_aux=True)(
            state.params
        )
        new_state = _apply_update(ctx.optimizer, state, grads, lr_t)
        active = (jnp.sum(batch.retain_mask) > 0) & jnp.logical_not(stopped)
        if cfg.epoch == "forget":
            active = active & (jnp.sum(batch.forget_mask) > 0)
        state = jax.tree.map(
            lambda a, o: jnp.where(active, a, o), new_state, state
        )
        rest_t = select_state(active, new_rest, rest_t)
        if cfg.controller is not None and cfg.controller.dual_lr is not None:
            new_gamma = _dual_gamma(
                ctx, gamma_dual, perms[2], s, logits_r, batch, aux.mi,
                new_state.params, rest_t,
            )  # fmt: skip
            gamma_dual = jnp.where(active, new_gamma, gamma_dual)
        if each:
            fire, new_watch = _checked_stop(ctx, s, state.params, rest_t, watch)
            stopped = stopped | (fire & active)
            watch = jax.tree.map(
                lambda a, o: jnp.where(active, a, o), new_watch, watch
            )
        if terms is not None and terms.anchor_lr is not None:
            anchor_t = jnp.where(
                active,
                _anchor_dual(ctx, state.params, rest_t, anchor_t),
                anchor_t,
            )
        act = active.astype(ctx.dtype)
        out = (aux.task_loss * act, aux.mi * act, gamma_t * act, act)
        carry = (state, gamma_dual, stopped, anchor_t, rest_t, last, watch)
        return carry, out

    return step


def _anchor_dual(ctx: _Ctx, params: Any, rest: Any, anchor_t: Array) -> Array:
    """Grows the anchor while the held-out accuracy is below the target."""
    pool = ctx.pool
    h_now = masked_mean(
        ctx.correct(params, rest, pool.x_hold, pool.y_hold), ctx.w.hold
    )
    target = ctx.cfg.stop.value if ctx.cfg.stop is not None else 0.0
    step = ctx.cfg.holdout.anchor_lr * (target - h_now)
    return jnp.maximum(anchor_t + step, 0)


def _mi_epoch_end(ctx: _Ctx):
    cfg = ctx.cfg
    if not cfg.evaluate and cfg.stop is not None and cfg.stop.kind != "mi":
        raise ValueError(
            "evaluate: False measures no accuracies, so the stop rule must"
            f" be None or 'mi'; got stop kind {cfg.stop.kind!r}"
        )

    def end_epoch(carry, outs, e):
        state, gamma_dual, stopped_in, anchor_t, rest_t, last, watch = carry
        tl, mi, gm, act = outs
        n_act = jnp.sum(act)
        denom = jnp.maximum(n_act, 1)
        tl, mi, gm = (
            jnp.sum(tl) / denom,
            jnp.sum(mi) / denom,
            jnp.sum(gm) / denom,
        )
        # Without per-epoch evaluation no stop rule reads the accuracies
        # (mi_config allows only stop None or "mi" then). An epoch skipped
        # after the stop repeats the last accuracies.
        if cfg.evaluate:
            accs = jax.lax.cond(
                stopped_in & (n_act == 0),
                lambda: last,
                lambda: ctx.evaluate(state.params, rest_t),
            )
            last = accs
        else:
            accs = (None,) * 4
        r_acc, f_acc, t_acc, h_acc = accs
        stopped = stopped_in
        if cfg.stop is not None:
            fire = stop_fires(
                cfg.stop.kind, cfg.stop, f_acc, h_acc, ctx.h_acc0, mi
            )
            if cfg.stop.kind == "mi":
                fire = fire & (n_act > 0)
            stopped = stopped_in | fire
        row = (tl, mi, r_acc, f_acc, t_acc, h_acc, gm, n_act > 0)
        names = UnlearnHistory._fields[1:]
        metrics = dict(zip(names, row[1:], strict=True))
        metrics = {k: v for k, v in metrics.items() if v is not None}
        emit_epoch(cfg.callback, cfg.epochs, e, tl, metrics)
        carry = (state, gamma_dual, stopped, anchor_t, rest_t, last, watch)
        return carry, row

    return end_epoch


def epoch_steps(cfg: UnlearnConfig, request: Request) -> int:
    """Steps per epoch: one retain pass, or the authors' zipped loaders.

    ``cfg.epoch == "retain"``: ``ceil(R / batch_size)``. ``"forget"``: a
    retain loader zipped with a forget loader, stopping at the shorter,
    ``min(ceil(F / forget_batch_size), ceil(R / batch_size))`` (``R``,
    ``F`` the padded sizes; steps past a request's real forget rows are
    skipped).
    """
    n_r = math.ceil(request.retain_idx.shape[0] / cfg.batch_size)
    if cfg.epoch == "retain":
        return n_r
    return min(
        n_r, math.ceil(request.forget_idx.shape[0] / cfg.forget_batch_size)
    )


def mi_unlearning_run(
    model: Any,
    params: Any,
    pool: Pool,
    request: Request,
    cfg: UnlearnConfig,
    key: Array,
    rest: Any = None,
) -> tuple[UnlearnOutput, Any]:
    """:data:`mi_unlearning`'s ``run``: ``(output, rest)``.

    ``model`` is an ``apply_fn`` or a module model whose non-parameter state
    ``rest`` the training forward passes update; evaluation runs at the
    carried state in evaluation mode.
    """
    ctx = _context(model, params, pool, request, cfg, rest)
    steps = epoch_steps(cfg, request)
    terms = cfg.holdout
    anchor0 = 0.0 if terms is None or terms.anchor is None else terms.anchor
    carry = (
        init_train_state(params, ctx.optimizer),
        jnp.asarray(cfg.gamma, ctx.dtype),
        jnp.zeros((), bool),
        jnp.asarray(anchor0, ctx.dtype),
        rest,
        (jnp.zeros((), ctx.pool.x.dtype),) * 4,
        init_watch(ctx.dtype),
    )
    req = ctx.request
    (state, _, stopped, _, rest, _, _), rows = masked_epochs(
        _mi_step(ctx),
        _mi_epoch_end(ctx),
        carry,
        key=key,
        epochs=cfg.epochs,
        steps=steps,
        masks=(req.retain_mask, req.forget_mask, ctx.w.hold),
        remat=cfg.remat,
        # Once stopped, the steps and epochs left are skipped.
        halted=None if cfg.stop is None else (lambda c: c[2]),
    )
    history = UnlearnHistory(*rows)
    params_out = state.params
    if cfg.repair is not None and cfg.repair.steps > 0:
        params_out, rest = repair_run(
            model,
            params_out,
            pool,
            req,
            jnp.asarray(cfg.repair.learning_rate, ctx.dtype),
            cfg.repair.steps,
            cfg.batch_size,
            jax.random.fold_in(key, cfg.epochs),
            rest,
        )
    # Under gamma="auto", whether its stop rule fired before the epoch cap.
    reached = stopped if cfg.controller is not None and cfg.stop else None
    out = UnlearnOutput(
        params_out,
        history,
        jnp.sum(history.active).astype(jnp.int32),
        reached,
    )
    return out, rest


def repair_run(
    model: Any,
    params: Any,
    pool: Pool,
    request: Request,
    learning_rate: Array,
    steps: int,
    batch_size: int,
    key: Array,
    rest: Any = None,
) -> tuple[Any, Any]:
    """``steps`` Adam steps of the task loss on retain rows only.

    A fresh optimizer state; batches cycle through one order of the real
    retain rows (the driver with one epoch). The forget rows are never read.
    """
    optimizer = _ADAM_DESCENT

    def step(carry, s, perms, e):
        state, r = carry
        rows, mask = cycled_rows(
            perms[0], request.retain_mask, s * batch_size, batch_size
        )
        pool_rows = request.retain_idx[rows]
        xb, yb = pool.x[pool_rows], pool.y[pool_rows]
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

    (state, rest), _ = masked_epochs(
        step,
        lambda c, outs, e: (c, None),
        (init_train_state(params, optimizer), rest),
        key=key,
        epochs=1,
        steps=steps,
        masks=(request.retain_mask,),
        fold=False,
    )
    return state.params, rest


mi_unlearning = Method("mi", mi_unlearning_run, UnlearnConfig())
