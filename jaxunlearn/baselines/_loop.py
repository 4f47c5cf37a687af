"""One jit-compiled ``lax.scan`` loop shared by the gradient baselines.

Every epoch reshuffles the retain set (or the forget set, for baselines that
iterate over it), pads the last batch with masked rows, cycles the other set
in fixed-size batches, takes one optimizer step per batch (two for SCRUB's
max/min epochs) and measures the same per-epoch diagnostics as
``jaxunlearn.datapoint.unlearn``, so the outputs are directly comparable.
Hyperparameters are traced leaves: changing them does not recompile.
"""

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxunlearn import _checks
from jaxunlearn.datapoint import (
    UnlearnHistory,
    UnlearnOutput,
    init_train_state,
    membership_mi,
    optimizer_step,
    resolve_optimizer,
)

ApplyFn = Callable[[Any, jax.Array], jax.Array]


class _Data(NamedTuple):
    x_retain: jax.Array
    y_retain: jax.Array
    x_forget: jax.Array
    y_forget: jax.Array
    x_test: jax.Array
    y_test: jax.Array
    hold_mask: jax.Array  # [t] test rows of the forget set's classes


class _Batch(NamedTuple):
    xr: jax.Array
    yr: jax.Array
    wr: jax.Array
    xf: jax.Array
    yf: jax.Array
    wf: jax.Array


def prepare(apply_fn: ApplyFn, params: Any, split: Any) -> tuple[_Data, int]:
    """Validates a split eagerly; returns device arrays and the class count."""
    names = ("retain", "forget", "test")
    arrays = {}
    for n in names:
        x = _checks.as_array(f"x_{n}", getattr(split, f"x_{n}"))
        y = _checks.as_array(f"y_{n}", getattr(split, f"y_{n}"))
        _checks.check_floating(f"x_{n}", x)
        _checks.check_integer(f"y_{n}", y)
        _checks.check_nonempty(f"x_{n}", x)
        _checks.check_finite(f"x_{n}", x)
        _checks.check_shape(f"y_{n}", y, (x.shape[0],))
        arrays[n] = (x, y.astype(jnp.int32))
    xr = arrays["retain"][0]
    for n in ("forget", "test"):
        _checks.check_shape(f"x_{n}", arrays[n][0], (None, *xr.shape[1:]))
    try:
        out = jax.eval_shape(apply_fn, params, xr[:1])
    except Exception as err:  # noqa: BLE001 - re-raised with context.
        raise ValueError(
            f"x_retain: the model cannot be applied to rows of shape"
            f" {xr.shape[1:]}: {err}"
        ) from err
    if len(out.shape) != 2:
        raise ValueError(
            f"params: expected the model to return logits [n, c], got shape"
            f" {out.shape}"
        )
    c = int(out.shape[1])
    for n in names:
        if not _checks.is_concrete(arrays[n][1]):
            continue  # traced (vmapped over seeds): a precondition
        y = np.asarray(arrays[n][1])
        if y.min() < 0 or y.max() >= c:
            raise ValueError(
                f"y_{n}: expected classes in [0, {c}), got values in"
                f" [{y.min()}, {y.max()}]"
            )
    dtype = xr.dtype
    # Test rows whose class occurs in the forget set (works on tracers).
    yf, yt = arrays["forget"][1], arrays["test"][1]
    hold = jnp.any(yt[:, None] == yf[None, :], axis=1)
    data = _Data(
        x_retain=xr,
        y_retain=arrays["retain"][1],
        x_forget=arrays["forget"][0].astype(dtype),
        y_forget=arrays["forget"][1],
        x_test=arrays["test"][0].astype(dtype),
        y_test=arrays["test"][1],
        hold_mask=jnp.asarray(hold, dtype),
    )
    return data, c


def masked_ce(logits: jax.Array, y: jax.Array, w: jax.Array) -> jax.Array:
    """Mean cross-entropy over the rows with weight ``w`` (0 = padding)."""
    logp = jax.nn.log_softmax(logits, axis=-1)
    ce = -jnp.take_along_axis(logp, y[:, None], axis=-1)[:, 0]
    return jnp.sum(w * ce) / jnp.maximum(jnp.sum(w), 1)


def masked_kd(student: jax.Array, teacher: jax.Array, w: jax.Array, t):
    """``T^2 KL(softmax(teacher / T) || softmax(student / T))``, masked mean."""
    log_s = jax.nn.log_softmax(student / t, axis=-1)
    log_t = jax.nn.log_softmax(teacher / t, axis=-1)
    kl = jnp.sum(jnp.exp(log_t) * (log_t - log_s), axis=-1)
    return t**2 * jnp.sum(w * kl) / jnp.maximum(jnp.sum(w), 1)


def _acc(apply_fn, params, x, y, w=None):
    hit = (jnp.argmax(apply_fn(params, x), axis=-1) == y).astype(x.dtype)
    if w is None:
        return jnp.mean(hit)
    return jnp.sum(w * hit) / jnp.maximum(jnp.sum(w), 1)


def _index_batches(key, n, size, steps):
    """Shuffled ``[steps, size]`` indices covering ``n`` rows once + mask."""
    perm = jax.random.permutation(key, n)
    total = steps * size
    idx = jnp.concatenate([perm, jnp.zeros((total - n,), perm.dtype)])
    mask = jnp.arange(total) < n
    return idx.reshape(steps, size), mask.reshape(steps, size)


def _cycled_batches(key, n, size, steps):
    """``[steps, size]`` indices cycling a shuffled order of ``n`` rows."""
    perm = jax.random.permutation(key, n)
    pos = jnp.arange(steps * size) % n
    return perm[pos].reshape(steps, size), jnp.ones((steps, size), bool)


# A step rule: (apply_fn, params, opt_state, batch, hyper, teacher, key,
# epoch, update) -> (params, opt_state, loss), where
# update(grads, opt_state, params) -> (params, opt_state) is one optax step.
StepRule = Callable[..., tuple[Any, Any, jax.Array]]


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3, 4, 5, 6, 7))
def _loop_core(
    apply_fn,
    rule,
    optimizer,
    epochs,
    batch_size,
    forget_batch_size,
    drive,
    sizes,
    params,
    teacher,
    data,
    hyper,
    key,
):
    n_r, n_f = sizes
    dtype = data.x_retain.dtype
    if drive == "retain":
        steps = -(-n_r // batch_size)
    else:
        steps = -(-n_f // forget_batch_size)
    opt_state = init_train_state(params, optimizer).opt_state

    def update(grads, opt_state, params):
        return optimizer_step(optimizer, params, opt_state, grads, hyper["lr"])

    def epoch_fn(carry, inputs):
        params, opt_state = carry
        epoch, k = inputs
        k_r, k_f, k_s = jax.random.split(k, 3)
        if drive == "retain":
            ir, mr = _index_batches(k_r, n_r, batch_size, steps)
            if_, mf = _cycled_batches(k_f, n_f, forget_batch_size, steps)
        else:
            ir, mr = _cycled_batches(k_r, n_r, batch_size, steps)
            if_, mf = _index_batches(k_f, n_f, forget_batch_size, steps)

        def step_fn(carry, s_inputs):
            params, opt_state = carry
            ir_s, mr_s, if_s, mf_s, ks = s_inputs
            batch = _Batch(
                data.x_retain[ir_s],
                data.y_retain[ir_s],
                mr_s.astype(dtype),
                data.x_forget[if_s],
                data.y_forget[if_s],
                mf_s.astype(dtype),
            )
            params, opt_state, loss = rule(
                apply_fn,
                params,
                opt_state,
                batch,
                hyper,
                teacher,
                ks,
                epoch,
                update,
            )
            mi = membership_mi(
                apply_fn(params, batch.xr),
                apply_fn(params, batch.xf),
                retain_mask=batch.wr,
                forget_mask=batch.wf,
            )
            return (params, opt_state), (loss, mi)

        (params, opt_state), (losses, mis) = jax.lax.scan(
            step_fn,
            (params, opt_state),
            (ir, mr, if_, mf, jax.random.split(k_s, steps)),
        )
        record = (
            jnp.mean(losses),
            jnp.mean(mis),
            _acc(apply_fn, params, data.x_retain, data.y_retain),
            _acc(apply_fn, params, data.x_forget, data.y_forget),
            _acc(apply_fn, params, data.x_test, data.y_test),
            _acc(apply_fn, params, data.x_test, data.y_test, data.hold_mask),
        )
        return (params, opt_state), record

    (params, _), rec = jax.lax.scan(
        epoch_fn,
        (params, opt_state),
        (jnp.arange(epochs), jax.random.split(key, epochs)),
    )
    history = UnlearnHistory(
        *rec,
        gamma=jnp.zeros((epochs,), dtype),
        active=jnp.ones((epochs,), bool),
    )
    return UnlearnOutput(params, history, jnp.asarray(epochs, jnp.int32))


def run_loop(
    apply_fn: ApplyFn,
    params: Any,
    split: Any,
    *,
    rule: StepRule,
    hyper: dict,
    epochs: int,
    batch_size: int,
    forget_batch_size: int,
    learning_rate: float | None,
    default_lr: float,
    optimizer: Any,
    key: jax.Array,
    drive: str = "retain",
    teacher: Any = None,
) -> UnlearnOutput:
    """Validates, then runs ``rule`` for ``epochs`` epochs in one scan.

    ``optimizer`` (an optax transformation) or Adam with step size
    ``learning_rate`` (``default_lr`` if None) takes the steps.
    """
    _checks.check_positive_int("epochs", epochs)
    _checks.check_positive_int("batch_size", batch_size)
    _checks.check_positive_int("forget_batch_size", forget_batch_size)
    optimizer, learning_rate = resolve_optimizer(
        optimizer, learning_rate, default_lr
    )
    _checks.check_key("key", key)
    data, _ = prepare(apply_fn, params, split)
    dtype = data.x_retain.dtype
    hyper = {k: jnp.asarray(v, dtype) for k, v in hyper.items()}
    hyper["lr"] = jnp.asarray(learning_rate, dtype)
    sizes = (int(data.x_retain.shape[0]), int(data.x_forget.shape[0]))
    return _loop_core(
        apply_fn,
        rule,
        optimizer,
        epochs,
        batch_size,
        forget_batch_size,
        drive,
        sizes,
        params,
        teacher,
        data,
        hyper,
        key,
    )
