"""Pure training steps and a jit-compiled classifier fit.

The step functions are un-jitted and pure (the caller jits them). Any
``optax.GradientTransformation`` takes the steps, applied with
``optax.apply_updates`` after a (traced) multiplier of its updates,
``params <- params + scale * update``; the default is Adam without a step
size, whose multiplier is the learning rate, so the step size can change per
step and be differentiated through.

References:
  Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015.
  https://arxiv.org/abs/1412.6980
"""

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, ArrayLike, Float, Int

from jaxunlearn import _checks
from jaxunlearn.datapoint._model import (
    EpochInfo,
    ModuleModel,
    check_callback,
    check_model,
    emit_epoch,
    is_module,
    merge_module,
    pure_apply,
    select_state,
    split_module,
    with_state,
)
from jaxunlearn.datapoint._kernel import masked_epochs, pass_rows
from jaxunlearn.datapoint._membership import (
    ApplyFn,
    LossAux,
    MembershipBatch,
    _loss_and_logits,
    weighted_cross_entropy,
)


class TrainState(NamedTuple):
    """The state of one optimization run."""

    params: Any  # the model parameters (a pytree)
    opt_state: Any  # the optimizer state (Adam moments by default)
    step: Array  # [] int32, number of updates applied


def default_optimizer(
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 1e-16,
) -> optax.GradientTransformation:
    r"""Adam's direction without the learning rate (``optax.scale_by_adam``).

    .. math:: d_t = \frac{\hat m_t}{\sqrt{\hat v_t + \epsilon_{root}}
       + \epsilon},\quad
       \hat m_t = \frac{m_t}{1 - b_1^t},\ \hat v_t = \frac{v_t}{1 - b_2^t}

    A thin wrapper of ``optax.scale_by_adam`` that runs optax's update under
    standard dtype promotion, so that it also works where a program enables
    strict promotion (optax's bias correction raises a float to an int32
    power). ``eps_root > 0`` keeps the derivative of the square root finite
    at ``v = 0`` (parameters with no gradient yet, e.g. dead ReLUs), which
    meta-gradients through the whole loop need (optax documents ``eps_root``
    for this purpose).

    Args:
      b1: decay of the first moment.
      b2: decay of the second moment.
      eps: added to the root of the second moment.
      eps_root: added inside the root.

    Returns:
      An ``optax.GradientTransformation``; the steps scale its output by
      ``-learning_rate``.

    References:
      Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015.
      https://arxiv.org/abs/1412.6980
    """
    inner = optax.scale_by_adam(b1=b1, b2=b2, eps=eps, eps_root=eps_root)

    def init(params: Any) -> Any:
        with jax.numpy_dtype_promotion("standard"):
            return inner.init(params)

    def update(grads: Any, state: Any, params: Any = None) -> tuple:
        with jax.numpy_dtype_promotion("standard"):
            return inner.update(grads, state, params)

    return optax.GradientTransformation(init, update)


# Adam as an optax optimizer (updates carry the minus sign) without the
# step size: the steps multiply its updates by a traced learning rate, so the
# step size can change per step and be differentiated through.
_ADAM_DESCENT = optax.chain(default_optimizer(), optax.scale(-1.0))


def check_optimizer(optimizer: Any) -> optax.GradientTransformation | None:
    """``optimizer`` if it is None or an ``optax.GradientTransformation``.

    Args:
      optimizer: the value to check.

    Returns:
      ``optimizer`` unchanged.

    Raises:
      TypeError: naming ``optimizer`` for any other value.
    """
    if optimizer is None or isinstance(optimizer, optax.GradientTransformation):
        return optimizer
    raise TypeError(
        "optimizer: expected an optax.GradientTransformation (e.g."
        f" optax.adam(1e-3)) or None, got {type(optimizer).__name__}"
    )


def resolve_optimizer(
    optimizer: Any, learning_rate: float | None, default_lr: float
) -> tuple[optax.GradientTransformation, float]:
    """The ``(optimizer, update scale)`` that a training loop applies.

    Without ``optimizer``: Adam (:func:`default_optimizer`) with step size
    ``learning_rate`` (``default_lr`` if None), i.e. ``optax.adam`` with
    ``eps_root=1e-16``. With an optax ``optimizer``, its updates are applied
    as they are (scale 1) and ``learning_rate`` must be None: the step size
    lives in the optimizer.

    Args:
      optimizer: None or an ``optax.GradientTransformation``.
      learning_rate: Adam's step size, or None.
      default_lr: Adam's step size when ``learning_rate`` is None.

    Returns:
      ``(transform, scale)``: the loop applies ``params + scale * update``.

    Raises:
      TypeError: when ``optimizer`` is not an optax transformation.
      ValueError: when both ``optimizer`` and ``learning_rate`` are given,
        or on a negative ``learning_rate``.
    """
    if check_optimizer(optimizer) is None:
        lr = default_lr if learning_rate is None else learning_rate
        _checks.check_nonnegative("learning_rate", lr)
        return _ADAM_DESCENT, lr
    if learning_rate is not None:
        raise ValueError(
            "learning_rate: expected None when an optimizer is given (set"
            f" the step size inside the optimizer), got {learning_rate!r}"
        )
    return optimizer, 1.0


def optimizer_step(
    optimizer: optax.GradientTransformation,
    params: Any,
    opt_state: Any,
    grads: Any,
    scale: ArrayLike = 1.0,
) -> tuple[Any, Any]:
    """One optax step, ``params + scale * update`` (``optax.apply_updates``).

    Args:
      optimizer: an ``optax.GradientTransformation`` (signed updates).
      params: the parameters (a pytree).
      opt_state: the optimizer's state.
      grads: the gradients, shaped like ``params``.
      scale: a (traced) multiplier of the updates: the step size of
        :func:`resolve_optimizer`'s Adam, or 1.

    Returns:
      ``(params, opt_state)`` after the step.
    """
    with jax.numpy_dtype_promotion("standard"):
        updates, opt_state = optimizer.update(grads, opt_state, params)
    updates = jax.tree.map(
        lambda p, u: jnp.asarray(scale, p.dtype) * u.astype(p.dtype),
        params,
        updates,
    )
    return optax.apply_updates(params, updates), opt_state


def init_train_state(
    params: Any, optimizer: optax.GradientTransformation | None = None
) -> TrainState:
    """A fresh :class:`TrainState` (step 0, new optimizer moments).

    Args:
      params: the starting parameters (a pytree; not modified).
      optimizer: an ``optax.GradientTransformation``; Adam without a step
        size (the steps' ``learning_rate``) if None.

    Returns:
      A :class:`TrainState`.

    Raises:
      TypeError: when ``optimizer`` is not an optax transformation.
    """
    optimizer = (
        _ADAM_DESCENT if check_optimizer(optimizer) is None else (optimizer)
    )
    with jax.numpy_dtype_promotion("standard"):
        opt_state = optimizer.init(params)
    return TrainState(params, opt_state, jnp.zeros((), jnp.int32))


def _apply_update(
    optimizer: optax.GradientTransformation,
    state: TrainState,
    grads: Any,
    learning_rate: Array,
) -> TrainState:
    params, opt_state = optimizer_step(
        optimizer, state.params, state.opt_state, grads, learning_rate
    )
    return TrainState(params, opt_state, state.step + 1)


def make_train_step(
    apply_fn: ApplyFn,
    optimizer: optax.GradientTransformation | None = None,
    *,
    utility: str = "retain",
) -> Callable[
    [TrainState, MembershipBatch, ArrayLike, ArrayLike],
    tuple[TrainState, LossAux],
]:
    r"""An un-jitted pure unlearning step ``(state, batch, gamma, lr)``.

    One gradient step on ``task + gamma * I(Y_hat; Z)``, applied with
    ``optax.apply_updates``: ``params <- params + lr * optimizer(grad)``.

    Args:
      apply_fn: pure forward pass ``apply_fn(params, x) -> logits [n, c]``.
      optimizer: any ``optax.GradientTransformation`` (e.g.
        ``optax.sgd(0.1)``), whose updates the step multiplies by
        ``learning_rate`` (default 1.0: the optimizer as given). If None,
        Adam without a step size: ``learning_rate`` (default 1e-3) is
        Adam's (traced) step size. Pass the same ``optimizer`` to
        :func:`init_train_state`.
      utility: ``"retain"`` (task loss on ``B_r``) or ``"all"``
        (``B_r + B_f``).

    Returns:
      ``step(state, batch, gamma, learning_rate) -> (state, aux)`` with a new
      :class:`TrainState` and the :class:`LossAux` before the update.

    Raises:
      ValueError: on an unknown ``utility``.
      TypeError: when ``optimizer`` is not an optax transformation.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxunlearn.datapoint import (MembershipBatch,
      ...     init_train_state, make_train_step)
      >>> f = lambda p, x: x @ p
      >>> one = jnp.ones((2,))
      >>> b = MembershipBatch(jnp.eye(2), jnp.array([0, 1]), one,
      ...                     jnp.eye(2), jnp.array([0, 1]), one)
      >>> step = jax.jit(make_train_step(f))
      >>> state, aux = step(init_train_state(jnp.zeros((2, 2))), b, 1.0, 0.1)
      >>> int(state.step)
      1
    """
    _checks.check_choice("utility", utility, ("retain", "all"))
    default_lr = 1e-3 if check_optimizer(optimizer) is None else 1.0
    optimizer = _ADAM_DESCENT if optimizer is None else optimizer

    def step(
        state: TrainState,
        batch: MembershipBatch,
        gamma: ArrayLike,
        learning_rate: ArrayLike | None = None,
    ) -> tuple[TrainState, LossAux]:
        if learning_rate is None:
            learning_rate = default_lr
        grads, (aux, _, _) = jax.grad(
            lambda p: _loss_and_logits(apply_fn, p, batch, gamma, utility),
            has_aux=True,
        )(state.params)
        return _apply_update(optimizer, state, grads, learning_rate), aux

    return step


class FitOutput(NamedTuple):
    """The result of :func:`fit_classifier`."""

    params: Any  # the trained parameters
    loss: Array  # [epochs] mean training cross-entropy per epoch


def _fit_core(
    apply_fn: ApplyFn,
    params: Any,
    x: Array,
    y: Array,
    mask: Array,
    learning_rate: Array,
    key: Array,
    epochs: int,
    batch_size: int,
) -> FitOutput:
    return _fit_state_core(
        apply_fn, params, x, y, mask, learning_rate, key,
        epochs=epochs, batch_size=batch_size,
    )[0]  # fmt: skip


class ForgetTerm(NamedTuple):
    """A negated forget loss in :func:`fit_state`: ``- alpha CE(B_f)``."""

    x: Array  # [m, ...] forget rows (cycled in batches)
    y: Array  # [m] their labels
    alpha: Array  # [] weight of the negated forget cross-entropy


def _fit_state_core(
    apply_fn: ApplyFn | ModuleModel,
    params: Any,
    *args: Any,
    **kw: Any,
) -> tuple[FitOutput, Any]:
    """:func:`fit_state` from fresh optimizer moments: ``(FitOutput, rest)``.

    ``args`` and ``kw`` are :func:`fit_state`'s after ``state``.
    """
    state = init_train_state(params, kw.get("optimizer", _ADAM_DESCENT))
    state, losses, rest = fit_state(apply_fn, state, *args, **kw)
    return FitOutput(state.params, losses), rest


def fit_state(
    apply_fn: ApplyFn | ModuleModel,
    state: TrainState,
    x: Array,
    y: Array,
    mask: Array,
    learning_rate: ArrayLike,
    key: Array,
    *,
    epochs: int,
    batch_size: int,
    optimizer: optax.GradientTransformation = _ADAM_DESCENT,
    forget: ForgetTerm | None = None,
    forget_batch_size: int = 16,
    rest: Any = None,
    callback: Callable[[EpochInfo], Any] | None = None,
) -> tuple[TrainState, Array, Any]:
    """``epochs`` epochs of :func:`fit_classifier`'s loop from ``state``.

    The kernel of :func:`fit_classifier` (no validation): resumes from a
    :class:`TrainState`, so a caller can run one epoch per call and keep
    the optimizer's moments. With ``forget``, every step also subtracts
    ``forget.alpha`` times the cross-entropy of a forget batch (NegGrad+).

    Args:
      apply_fn: pure forward pass (or a module model with state ``rest``).
      state: the :class:`TrainState` to resume from.
      x: training rows ``[n, ...]``.
      y: integer labels ``[n]``.
      mask: ``[n]`` row weights (0 = left out).
      learning_rate: the multiplier of ``optimizer``'s updates.
      key: PRNG key of the batch order.
      epochs: epochs (static).
      batch_size: rows per step (static).
      optimizer: the optax transformation ``state`` was made with.
      forget: optional :class:`ForgetTerm`.
      forget_batch_size: forget rows per step (static).
      rest: a module model's non-parameter state.
      callback: optional ``callback(EpochInfo)`` after every epoch.

    Returns:
      ``(state, losses [epochs], rest)``: the mean loss over each epoch's
      steps (the task loss when ``forget`` is None).
    """
    steps = math.ceil(x.shape[0] / batch_size)

    def loss_fn(p, r, xb, yb, mb, s):
        def loss(f):
            value = weighted_cross_entropy(f(p, xb), yb, mb)
            if forget is not None:
                rows = s * forget_batch_size + jnp.arange(forget_batch_size)
                rows = rows % forget.x.shape[0]
                ones = jnp.ones(rows.shape, mb.dtype)
                ce_f = weighted_cross_entropy(
                    f(p, forget.x[rows]), forget.y[rows], ones
                )
                value = value - forget.alpha * ce_f
            return value

        return with_state(apply_fn, r, loss)

    def step(carry, s, perms, e):
        state, r = carry
        rows, mb = pass_rows(perms[0], mask, s, batch_size)
        (loss, new_r), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            state.params, r, x[rows], y[rows], mb, s
        )
        new = _apply_update(optimizer, state, grads, learning_rate)
        keep = jnp.sum(mb) > 0
        state = jax.tree.map(lambda a, b: jnp.where(keep, a, b), new, state)
        return (state, select_state(keep, new_r, r)), loss

    def end_epoch(carry, losses, e):
        emit_epoch(callback, epochs, e, jnp.mean(losses))
        return carry, jnp.mean(losses)

    (state, rest), losses = masked_epochs(
        step,
        end_epoch,
        (state, rest),
        key=key,
        epochs=epochs,
        steps=steps,
        masks=(mask,),
        fold=False,
    )
    return state, losses, rest


class FitModelOutput(NamedTuple):
    """The result of :func:`fit_classifier` on an ``nnx.Module``."""

    model: Any  # the trained module (a new object; the input is unchanged)
    loss: Array  # [epochs] mean training cross-entropy per epoch


def resolve_model(
    apply_fn: Any, params: Any, data: tuple
) -> tuple[Any, Any, Any, tuple]:
    """``(model, params, rest, data)`` of a training entry point's call.

    A module call's positional arguments are shifted by one: for an
    ``nnx.Module`` ``m``, ``f(m, a, b)`` binds ``params=a`` and
    ``data=(b, None)``, and the result is ``(ModuleModel, Param state,
    other state, (a, b))``. For a callable: ``(apply_fn, params, None,
    data)``.

    Raises:
      TypeError: naming ``apply_fn`` when it is neither a module nor
        callable, or when a module call passes one positional too many.
    """
    if is_module(apply_fn):
        if data[-1] is not None:
            raise TypeError(
                "apply_fn: with an nnx.Module in place of (apply_fn, params),"
                " pass the data right after the module (one positional"
                f" argument fewer), got {len(data) + 1} after it"
            )
        model, module_params, rest = split_module(apply_fn)
        return model, module_params, rest, (params, *data[:-1])
    check_model("apply_fn", apply_fn)
    return apply_fn, params, None, data


def fit_classifier(
    apply_fn: ApplyFn | Any,
    params: Any,
    x: Float[ArrayLike, "n ..."],
    y: Int[ArrayLike, " n"] | None = None,
    *,
    epochs: int,
    batch_size: int = 64,
    learning_rate: float | None = None,
    key: Array,
    where: ArrayLike | None = None,
    optimizer: optax.GradientTransformation | None = None,
    callback: Callable[[EpochInfo], Any] | None = None,
) -> FitOutput | FitModelOutput:
    """Trains a classifier on cross-entropy in one jitted scan (Adam default).

    Minibatches are reshuffled every epoch; the last partial batch is
    masked. Used for the original model and for retraining from scratch.
    A Flax ``nnx.Module`` may stand in place of ``(apply_fn, params)``:
    ``fit_classifier(module, x, y, ...)`` trains its ``nnx.Param`` state,
    carries the rest (BatchNorm statistics, dropout RNG counts) through the
    training forward passes, and returns a :class:`FitModelOutput`.

    Args:
      apply_fn: pure forward pass ``apply_fn(params, x) -> logits [n, c]``,
        or an ``nnx.Module`` (then the arguments shift: ``params`` is ``x``
        and ``x`` is ``y``).
      params: the starting parameters (not modified).
      x: training inputs ``[n, ...]``.
      y: integer labels ``[n]`` in ``[0, c)``.
      epochs: the number of passes over the data (static).
      batch_size: rows per step (static).
      learning_rate: the default Adam's step size (1e-3 if None); leave
        None when ``optimizer`` is given.
      key: a PRNG key for the shuffling.
      where: optional ``[n]`` row mask (0 = excluded row); all rows by
        default.
      optimizer: any ``optax.GradientTransformation`` (e.g.
        ``optax.sgd(0.1)``), applied with ``optax.apply_updates``; Adam
        with step size ``learning_rate`` if None. Reuse one object across
        calls: a new one compiles anew.
      callback: optional ``callback(EpochInfo)`` called on the host after
        every epoch (``jax.debug.callback``), e.g. to drive a progress bar;
        None compiles nothing extra. Reuse one function across calls.

    Returns:
      A :class:`FitOutput` ``(params, loss)`` with the per-epoch mean loss;
      for a module, a :class:`FitModelOutput` ``(model, loss)``.

    Raises:
      ValueError: on bad sizes, labels out of range, a model/data shape
        mismatch, or both ``optimizer`` and ``learning_rate``.
      TypeError: when ``optimizer`` is not an optax transformation,
        ``apply_fn`` is neither callable nor a module, or ``callback`` is
        not callable.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxunlearn.datapoint import fit_classifier
      >>> f = lambda p, x: x @ p
      >>> x = jnp.eye(2); y = jnp.array([0, 1])
      >>> out = fit_classifier(f, jnp.zeros((2, 2)), x, y, epochs=50,
      ...                      batch_size=2, learning_rate=0.1,
      ...                      key=jax.random.key(0))
      >>> (f(out.params, x).argmax(1) == y).all().item()
      True
    """
    model, params, rest, (x, y) = resolve_model(apply_fn, params, (x, y))
    _checks.check_positive_int("epochs", epochs)
    _checks.check_positive_int("batch_size", batch_size)
    check_callback(callback)
    x = _checks.as_array("x", x)
    y = _checks.as_array("y", y)
    _checks.check_floating("x", x)
    _checks.check_integer("y", y)
    _checks.check_nonempty("x", x)
    _checks.check_shape("y", y, (x.shape[0],))
    c = _num_outputs(pure_apply(model, rest), params, x, "x")
    _check_labels("y", y, c)
    optimizer, learning_rate = resolve_optimizer(optimizer, learning_rate, 1e-3)
    mask = (
        jnp.ones((x.shape[0],), x.dtype)
        if where is None
        else _checks.as_array("where", where).astype(x.dtype)
    )
    _checks.check_shape("where", mask, (x.shape[0],))
    lr = jnp.asarray(learning_rate, x.dtype)
    out, rest = _fit_jit(
        model,
        params,
        x,
        y.astype(jnp.int32),
        mask,
        lr,
        key,
        epochs=epochs,
        batch_size=batch_size,
        optimizer=optimizer,
        rest=rest,
        callback=callback,
    )
    if isinstance(model, ModuleModel):
        return FitModelOutput(merge_module(model, out.params, rest), out.loss)
    return out


_fit_jit = jax.jit(
    _fit_state_core,
    static_argnums=(0,),
    static_argnames=("epochs", "batch_size", "optimizer", "callback"),
)


def _num_outputs(apply_fn: ApplyFn, params: Any, x: Array, name: str) -> int:
    """Number of logits; a ValueError names ``name`` on a shape mismatch."""
    try:
        out = jax.eval_shape(apply_fn, params, x[:1])
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"{name}: the model cannot take inputs of shape"
            f" {tuple(x.shape[1:])} per row (model/data shape mismatch): {err}"
        ) from err
    if len(out.shape) != 2 or out.shape[0] != 1:
        raise ValueError(
            f"apply_fn: expected logits of shape [n, c], got {out.shape} for"
            f" {name} of shape [1, ...]"
        )
    return int(out.shape[1])


def _check_labels(name: str, y: Array, num_classes: int) -> None:
    if _checks.is_concrete(y) and y.size:
        # On the host: no device dispatch per call for a concrete array
        # (np.asarray first: a jax array's own min would be staged when the
        # call is traced by an enclosing jit that closes over the labels).
        y_host = np.asarray(y)
        lo, hi = int(y_host.min()), int(y_host.max())
        if lo < 0 or hi >= num_classes:
            raise ValueError(
                f"{name}: expected labels in [0, {num_classes}), got values"
                f" in [{lo}, {hi}]"
            )
