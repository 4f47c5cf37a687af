"""The gradient baselines as step rules of the datapoint training kernel.

Every epoch is one padded pass over the retain set (or the forget set, for
baselines that iterate over it) while the other set cycles in fixed-size
batches (``datapoint.membership_batch``); each step takes one optimizer step
per batch (two for SCRUB's max/min epochs) and every epoch records the same
diagnostics as ``jaxunlearn.datapoint.unlearn``, so the outputs are directly
comparable. Hyperparameters are traced leaves of the config: changing them
does not recompile.
"""

import functools
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxunlearn import _checks
from jaxunlearn.datapoint import (
    Method,
    Pool,
    Request,
    TrainConfig,
    UnlearnHistory,
    UnlearnOutput,
    evaluator,
    init_train_state,
    masked_epochs,
    masked_mean,
    membership_batch,
    membership_mi,
    optimizer_and_lr,
    optimizer_step,
    pool_from_split,
    request_weights,
)
from jaxunlearn.datapoint._core import model_output
from jaxunlearn.datapoint._model import (
    emit_epoch,
    pure_apply,
    select_state,
    with_state,
)
from jaxunlearn.datapoint._train import resolve_model
from jaxunlearn.datapoint._unlearn import cast_leaves

ApplyFn = Callable[[Any, jax.Array], jax.Array]

# A step rule: (take, state, batch, config, teacher, key, epoch) -> (state,
# loss), where state = (params, opt_state, rest) and take(loss, state) ->
# (state, value) is one optax step on loss(apply_fn, params) with the
# forward passes in training mode (the model's non-parameter state rest
# threaded through them); teacher(x) -> logits is the frozen starting model
# in evaluation mode (None unless the method asks for it).
StepRule = Callable[..., tuple[Any, jax.Array]]


def masked_kd(student: jax.Array, teacher: jax.Array, w: jax.Array, t):
    """``T^2 KL(softmax(teacher / T) || softmax(student / T))``, masked mean."""
    log_s = jax.nn.log_softmax(student / t, axis=-1)
    log_t = jax.nn.log_softmax(teacher / t, axis=-1)
    kl = jnp.sum(jnp.exp(log_t) * (log_t - log_s), axis=-1)
    return t**2 * masked_mean(kl, w.astype(kl.dtype))


def train_config(cfg: Any) -> TrainConfig:
    """The :class:`TrainConfig` of a baseline's config."""
    return cfg if isinstance(cfg, TrainConfig) else cfg.train


def history_row(evaluate, params, rest, outs) -> tuple:
    """An epoch's history row from the step outputs ``(loss, mi, active)``."""
    loss, mi, act = outs
    n_act = jnp.sum(act)
    denom = jnp.maximum(n_act, 1)
    accs = evaluate(params, rest)
    gamma = jnp.zeros((), loss.dtype)
    return (jnp.sum(loss) / denom, jnp.sum(mi) / denom, *accs, gamma, n_act > 0)


def _taker(model: Any, optimizer: Any, lr: jax.Array) -> Callable:
    """``take(loss, state) -> (state, value)``: one step of a step rule."""

    def take(loss, state):
        p, opt, r = state
        (val, r), g = jax.value_and_grad(
            lambda q: with_state(model, r, lambda f: loss(f, q)), has_aux=True
        )(p)
        p, opt = optimizer_step(optimizer, p, opt, g, lr)
        return (p, opt, r), val

    return take


def _steps(drive: str, request: Request, sizes: tuple[int, int]) -> int:
    """Steps per epoch: one pass over the ``drive`` set."""
    if drive == "retain":
        return math.ceil(request.retain_idx.shape[0] / sizes[0])
    return math.ceil(request.forget_idx.shape[0] / sizes[1])


def gradient_run(
    rule: StepRule,
    drive: str,
    model: Any,
    params: Any,
    pool: Pool,
    request: Request,
    cfg: Any,
    key: jax.Array,
    rest: Any = None,
    teacher: Any = None,
) -> tuple[UnlearnOutput, Any]:
    """Runs ``rule`` in the kernel's driver: ``(UnlearnOutput, rest)``.

    ``drive`` (``"retain"`` or ``"forget"``) is the set one epoch passes
    over once; the step's rule key is ``fold_in(fold_in(fold_in(key, e),
    2), s)``. The logged ``I(Y_hat; Z)`` is measured on the step's batches
    after its update. A module model's non-parameter state ``rest`` is
    updated by the training forward passes; the accuracies and the logged
    ``I`` use evaluation mode at the carried state.
    """
    train = train_config(cfg)
    dtype = jax.tree.leaves(params)[0].dtype
    mdt = pool.x.dtype
    request = request._replace(
        retain_mask=request.retain_mask.astype(mdt),
        forget_mask=request.forget_mask.astype(mdt),
    )
    evaluate, _ = evaluator(
        model, pool, request_weights(model, params, pool, request, rest)
    )
    teach = None
    if teacher is not None:
        teach = functools.partial(pure_apply(model, rest), teacher)
    optimizer, lr = optimizer_and_lr(train, dtype)
    take = _taker(model, optimizer, lr)
    sizes = (train.batch_size, train.forget_batch_size)

    def step(carry, s, perms, e):
        b = membership_batch(pool, request, perms, s, sizes, drive)
        ks = jax.random.fold_in(
            jax.random.fold_in(jax.random.fold_in(key, e), 2), s
        )
        new, loss = rule(take, carry, b, cfg, teach, ks, e)
        active = jnp.sum(b.retain_mask if drive == "retain" else b.forget_mask)
        carry = select_state(active > 0, new, carry)
        apply_fn = pure_apply(model, carry[2])
        mi = membership_mi(
            apply_fn(carry[0], b.x_retain),
            apply_fn(carry[0], b.x_forget),
            retain_mask=b.retain_mask,
            forget_mask=b.forget_mask,
        )
        act = (active > 0).astype(dtype)
        return carry, (loss * act, mi * act, act)

    def end_epoch(carry, outs, e):
        row = history_row(evaluate, carry[0], carry[2], outs)
        names = UnlearnHistory._fields[1:]
        metrics = dict(zip(names, row[1:], strict=True))
        emit_epoch(train.callback, train.epochs, e, row[0], metrics)
        return carry, row

    (params, _, rest), rows = masked_epochs(
        step,
        end_epoch,
        (params, init_train_state(params, optimizer).opt_state, rest),
        key=key,
        epochs=train.epochs,
        steps=_steps(drive, request, sizes),
        masks=(request.retain_mask, request.forget_mask),
    )
    history = UnlearnHistory(*rows)
    epochs_run = jnp.sum(history.active).astype(jnp.int32)
    return UnlearnOutput(params, history, epochs_run), rest


def _run_jit(method, model, params, pool, request, cfg, key, rest):
    return method.run(model, params, pool, request, cfg, key, rest)


_run_jit = jax.jit(_run_jit, static_argnums=(0, 1))


def run_on_split(
    method: Method, apply_fn: Any, params: Any, split: Any, cfg: Any, key
) -> Any:
    """Validates ``split`` and runs ``method`` on it under ``jax.jit``.

    ``apply_fn`` may be an ``nnx.Module`` (then ``params`` is the split
    and ``split`` None); the result is then an ``UnlearnModelOutput``.
    """
    model, params, rest, (split,) = resolve_model(apply_fn, params, (split,))
    _checks.check_key("key", key)
    pool, request = pool_from_split(pure_apply(model, rest), params, split)
    cfg = cast_leaves(cfg, jax.tree.leaves(params)[0].dtype)
    out, rest = _run_jit(method, model, params, pool, request, cfg, key, rest)
    return model_output(model, out, rest)
