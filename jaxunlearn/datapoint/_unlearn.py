"""Public entry points: :func:`unlearn` and :func:`make_unlearn_fn`.

References:
  Xu & Strohmer, "Machine Unlearning via Information Theoretic
  Regularization", arXiv:2502.05684, 2025. https://arxiv.org/abs/2502.05684
"""

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxunlearn import _checks
from jaxunlearn.datapoint._config import (
    AutoGamma,
    Repair,
    Schedule,
    StopRule,
    UnlearnConfig,
    check_auto,
    controller,
    holdout_terms,
)
from jaxunlearn.datapoint._core import (
    UnlearnModelOutput,
    UnlearnOutput,
    mi_unlearning_run,
    model_output,
)
from jaxunlearn.datapoint._kernel import Pool, Request
from jaxunlearn.datapoint._membership import ApplyFn
from jaxunlearn.datapoint._model import (
    EpochInfo,
    check_callback,
    pure_apply,
)
from jaxunlearn.datapoint._pool_split import (
    num_outputs_cached,
    pool_from_split,
)
from jaxunlearn.datapoint._reference import (
    _class_shift,
    estimate_retrain_forget_acc,
)
from jaxunlearn.datapoint._train import (
    _ADAM_DESCENT,
    check_optimizer,
    resolve_model,
    resolve_optimizer,
)

_STOPS = (None, "holdout", "holdout_initial", "forget_acc", "mi", "probe")
# Retain-only fine-tuning steps after the MI phase under gamma="auto".
AUTO_REPAIR_STEPS = 0
# The stop rule of gamma="auto" in unlearn (unlearn_many: "holdout_initial").
AUTO_STOP = "probe"
# The default per-step stop check is planned adaptively once the rows it
# reads outnumber this many steps' batches (with_check_plan).
CHECK_ROWS_PER_STEP = 4
# fold_in constant of the probes' key under stop="probe".
_PROBE_KEY = 0x5EED


def mi_config(
    *,
    gamma: Any,
    learning_rate: Any,
    epochs: int,
    batch_size: int,
    forget_batch_size: int,
    utility: str,
    stop: str | None,
    stop_value: Any,
    auto: AutoGamma | None,
    gamma_schedule: Schedule | None,
    lr_schedule: Schedule | None,
    optimizer: Any,
    stop_each_step: bool | int | None = None,
    repair_steps: int | None = None,
    allow_probe: bool = False,
    remat: bool = False,
    callback: Any = None,
    epoch: str = "retain",
    evaluate: bool = True,
) -> UnlearnConfig:
    """The :class:`UnlearnConfig` of the flat keyword arguments, validated.

    ``stop="probe"`` stays the kind ``"probe"`` here (the caller fits the
    probes and turns it into ``"forget_acc"``).
    """
    _checks.check_positive_int("epochs", epochs)
    _checks.check_positive_int("batch_size", batch_size)
    _checks.check_positive_int("forget_batch_size", forget_batch_size)
    _checks.check_choice("utility", utility, ("retain", "all"))
    _checks.check_choice("stop", stop, _STOPS)
    _checks.check_choice("epoch", epoch, ("retain", "forget"))
    check_callback(callback)
    is_auto = isinstance(gamma, str)
    if is_auto:
        _checks.check_choice("gamma", gamma, ("auto",))
    else:
        _checks.check_nonnegative("gamma", gamma)
    if is_auto and stop is None:
        stop = AUTO_STOP if allow_probe else "holdout_initial"
    if stop == "probe" and not allow_probe:
        raise ValueError(
            "stop: 'probe' is supported by unlearn only (use"
            " 'holdout_initial' or 'forget_acc' with a stop_value)"
        )
    if not isinstance(evaluate, bool):
        raise TypeError(
            f"evaluate: expected a bool, got {type(evaluate).__name__}"
        )
    if not evaluate and stop not in (None, "mi"):
        why = " (gamma='auto' stops on accuracies)" if is_auto else ""
        raise ValueError(
            "evaluate: False measures no accuracies, so stop must be None or"
            f" 'mi'{why}; got stop={stop!r}"
        )
    interval = _check_each_step(stop_each_step)
    if stop_each_step is None:
        stop_each_step = is_auto or stop == "probe"
    if repair_steps is None:
        repair_steps = AUTO_REPAIR_STEPS if is_auto else 0
    _checks.check_positive_int("repair_steps", repair_steps, minimum=0)
    if learning_rate is not None:
        _checks.check_nonnegative("learning_rate", learning_rate)
    a = AutoGamma() if auto is None else auto
    check_auto(a)
    rule = None
    if stop is not None:
        rule = StopRule(
            stop, stop_value, a.stop_margin, bool(stop_each_step), interval
        )
    return UnlearnConfig(
        gamma=a.gamma_init if is_auto else gamma,
        learning_rate=learning_rate,
        epochs=epochs,
        batch_size=batch_size,
        forget_batch_size=forget_batch_size,
        utility=utility,
        optimizer=optimizer,
        epoch=epoch,
        controller=controller(a) if is_auto else None,
        stop=rule,
        holdout=None if auto is None else holdout_terms(a),
        repair=Repair(int(repair_steps), a.repair_lr) if repair_steps else None,
        gamma_schedule=gamma_schedule,
        lr_schedule=lr_schedule,
        remat=remat,
        callback=callback,
        evaluate=evaluate,
    )


def _check_each_step(value: Any) -> int:
    """The check interval of a ``stop_each_step`` argument.

    1 unless it is an int; raises on another type or a non-positive int.
    """
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, (int, np.integer)):
        _checks.check_positive_int("stop_each_step", int(value))
        return int(value)
    raise TypeError(
        "stop_each_step: expected None, a bool or a positive int, got"
        f" {type(value).__name__}"
    )


def with_check_plan(
    cfg: UnlearnConfig, stop_each_step: Any, pool: Pool, req: Request
) -> UnlearnConfig:
    """``cfg`` with the default plan of the per-step stop check.

    Only where ``stop_each_step`` was None (the default of ``gamma="auto"``
    and ``stop="probe"``): a check reads the forget set (and for
    ``"holdout"`` the held-out rows), ``rows`` rows, so on a forget set
    larger than ``CHECK_ROWS_PER_STEP`` steps' batches the checks are
    planned adaptively (:class:`StopRule` ``adaptive``), at most
    ``ceil(rows / (CHECK_ROWS_PER_STEP * (batch_size +
    forget_batch_size)))`` steps apart; smaller forget sets are checked
    after every step.
    """
    rule = cfg.stop
    if stop_each_step is not None or rule is None or not rule.each_step:
        return cfg
    rows = req.forget_idx.shape[-1]
    if rule.kind == "holdout":
        rows += pool.x_hold.shape[0]
    per_step = CHECK_ROWS_PER_STEP * (cfg.batch_size + cfg.forget_batch_size)
    cap = -(-int(rows) // per_step)
    if cap <= 1:
        return cfg
    rule = dataclasses.replace(rule, interval=cap, adaptive=True)
    return dataclasses.replace(cfg, stop=rule)


def mi_config_of(args: dict, **overrides: Any) -> UnlearnConfig:
    """:func:`mi_config` of an entry point's ``locals()``.

    The arguments :func:`mi_config` takes are read from ``args`` by name;
    ``overrides`` replace or add to them.
    """
    names = inspect.signature(mi_config).parameters
    kw = {k: v for k, v in args.items() if k in names}
    return mi_config(**{**kw, **overrides})


def _run_core(model, params, pool, request, cfg, key, rest):
    cfg = cast_leaves(cfg, jax.tree.leaves(params)[0].dtype)
    return mi_unlearning_run(model, params, pool, request, cfg, key, rest)


_core_jit = jax.jit(_run_core, static_argnums=(0,))


def _run(
    model: Any,
    params: Any,
    pool: Pool,
    req: Request,
    cfg: Any,
    key: Any,
    rest: Any,
) -> UnlearnOutput | UnlearnModelOutput:
    """The compiled core; a module model's state comes back as a module."""
    out, rest = _core_jit(model, params, pool, req, cfg, key, rest)
    return model_output(model, out, rest)


def unlearn(
    apply_fn: ApplyFn | Any,
    params: Any,
    split: Any = None,
    *,
    gamma: float | str = 4.0,
    epochs: int = 5,
    batch_size: int = 64,
    forget_batch_size: int = 16,
    learning_rate: float | None = None,
    utility: str = "retain",
    gamma_schedule: Schedule | None = None,
    lr_schedule: Schedule | None = None,
    stop: str | None = None,
    stop_value: float = 0.0,
    auto: AutoGamma | None = None,
    holdout: tuple[Any, Any] | None = None,
    stop_each_step: bool | int | None = None,
    repair_steps: int | None = None,
    key: jax.Array,
    optimizer: optax.GradientTransformation | None = None,
    callback: Callable[[EpochInfo], Any] | None = None,
    epoch: str = "retain",
    evaluate: bool = True,
) -> UnlearnOutput | UnlearnModelOutput:
    r"""Unlearns a forget set by MI-regularized fine-tuning.

    From the trained ``params`` and a fresh optimizer (Adam by default),
    every step minimizes
    ``task(B_r) + gamma_t * I(Y_hat; Z)`` on a retain batch and a forget
    batch, inside one jit-compiled ``lax.scan`` over epochs and steps.
    An epoch is one pass over the retain set (``ceil(n_r / batch_size)``
    steps); forget batches cycle through the forget set.

    A Flax ``nnx.Module`` may stand in place of ``(apply_fn, params)``:
    ``unlearn(module, split, ...)`` trains its ``nnx.Param`` state, carries
    the rest (BatchNorm statistics, dropout RNG counts) through the training
    forward passes (accuracies use evaluation mode) and returns an
    :class:`UnlearnModelOutput`.

    Args:
      apply_fn: pure forward pass ``apply_fn(params, x) -> logits [n, c]``
        (see ``jaxunlearn.models.functional``), or an ``nnx.Module`` (then
        the arguments shift: ``params`` is ``split``).
      params: the trained parameters (a pytree; never modified).
      split: an object with ``x_retain, y_retain, x_forget, y_forget, x_test,
        y_test`` (and optionally ``num_classes``), e.g.
        ``jaxunlearn.datasets.UnlearningSplit``.
      gamma: the MI weight ``>= 0``, or ``"auto"`` for the controller of
        :class:`AutoGamma` (dual ascent on ``I_f <= (1 + slack) I_h`` with
        held-out rows, step size ``learning_rate * auto.lr_scale``, and by
        default the stop rule ``AUTO_STOP`` checked after every step).
      epochs: the maximal number of epochs (static).
      batch_size: retain rows per step (static).
      forget_batch_size: forget rows per step (static).
      learning_rate: the default Adam's step size (1e-3 if None); leave
        None when ``optimizer`` is given.
      utility: task loss on ``"retain"`` rows or on ``"all"`` rows of the
        step (the GMM toy's variant).
      gamma_schedule: optional ``step -> multiplier`` of ``gamma`` (e.g. an
        optax schedule); ignored by ``"auto"``.
      lr_schedule: optional ``step -> multiplier`` of the learning rate
        (of the optimizer's updates, when ``optimizer`` is given).
      stop: None (run every epoch), ``"holdout"`` (stop once the forget
        accuracy falls below the held-out accuracy of the forget classes
        plus ``auto.stop_margin``), ``"holdout_initial"`` (stop once it is
        ``<=`` the held-out accuracy under the starting model plus
        ``auto.stop_margin``), ``"forget_acc"`` (stop once it is
        ``<= stop_value``), ``"mi"`` (stop once the epoch's mean ``I`` is
        ``<= stop_value``) or ``"probe"`` (stop once the forget accuracy is
        ``<=`` :func:`estimate_retrain_forget_acc` plus
        ``auto.stop_margin``: two softmax-regression probes on the inputs
        are fit first, from ``fold_in(key, _PROBE_KEY)``; ``unlearn`` only).
        Checked after every epoch, or every step (``stop_each_step``).
      stop_value: the threshold of ``"forget_acc"`` / ``"mi"``.
      auto: the :class:`AutoGamma` settings (defaults if None).
      holdout: optional ``(x, y)`` rows never trained on, standing in for the
        forget set (the controller, the probes and ``"holdout"`` use the
        rows of the forget set's classes). None: the even-numbered test
        rows, and the history's ``test_acc`` is then measured on the
        odd-numbered test rows only (:func:`pool_from_split`), so the rows
        that decide when to stop are never the reported test rows.
      stop_each_step: check the ``"holdout*"`` / ``"forget_acc"`` rule
        between epochs too, not only after each: True after every step, an
        int ``k`` after every ``k``-th step of an epoch. Each check is one
        forward pass on the whole forget set (and for ``"holdout"`` the
        held-out rows), which on a large forget set costs several steps; a
        ``k`` above 1 is cheaper but overshoots where the forget accuracy
        falls by points per step. None means on for ``gamma="auto"`` or
        ``stop="probe"`` (off otherwise): after every step while the rows
        a check reads fit in 4 steps' batches, else adaptively planned
        (each check after half the steps the last fall rate needs to reach
        the threshold, at most
        ``ceil(rows / (4 * (batch_size + forget_batch_size)))`` apart).
      repair_steps: after the MI phase, this many Adam steps (a fresh
        optimizer, step size ``auto.repair_lr``) of the task loss on retain
        batches only, to recover the utility the MI term cost (static;
        ``history`` describes the MI phase only). None means
        ``AUTO_REPAIR_STEPS`` for ``gamma="auto"`` and 0 otherwise.
      key: PRNG key for the batch order.
      optimizer: any ``optax.GradientTransformation`` for the MI phase
        (e.g. ``optax.sgd(0.1)``), applied with ``optax.apply_updates``;
        Adam with step size ``learning_rate`` if None. Under
        ``gamma="auto"`` its updates are scaled by ``auto.lr_scale``. Reuse
        one object across calls: a new one compiles anew.
      callback: optional ``callback(EpochInfo)`` called on the host after
        every epoch (``jax.debug.callback``) with the epoch's task loss and
        the other :class:`UnlearnHistory` fields in ``metrics``; None
        compiles nothing extra. Reuse one function across calls.
      epoch: ``"retain"`` (default: an epoch is one pass over the retain
        set) or ``"forget"`` (the authors' zipped loaders: an epoch ends
        with the shorter of the retain and forget passes,
        ``ceil(n_forget / forget_batch_size)`` steps for a forget set
        smaller than the retain set).
      evaluate: measure the history's accuracies after every epoch (default;
        one forward pass over the retain, forget, test and held-out rows per
        epoch); False skips that pass, for callers who need the parameters
        only: the history's four accuracy fields are then None (and absent
        from the callback's ``metrics``), and ``stop`` must be None or
        ``"mi"`` (so not with ``gamma="auto"``).

    Returns:
      An :class:`UnlearnOutput` ``(params, history, epochs_run,
      target_reached)``; for a module, an :class:`UnlearnModelOutput`
      ``(model, history, epochs_run, target_reached)``. ``target_reached``
      (``gamma="auto"`` only, else None) says whether the stop rule fired
      before the ``epochs`` cap: False means the run ended at its cap
      without reaching its target.

    Raises:
      ValueError: on empty sets, NaN/Inf rows, labels out of range,
        ``gamma < 0``, ``epochs < 1``, unknown options (``stop``,
        ``utility``, ``epoch``), a model/data shape
        mismatch, both ``optimizer`` and ``learning_rate``, or
        ``evaluate=False`` with a stop rule on accuracies.
      TypeError: on non-floating inputs, non-integer labels, a ``key``
        that is not a PRNG key, an ``optimizer`` that is not an optax
        transformation, an ``apply_fn`` that is neither callable nor a
        module, a ``callback`` that is not callable, or an ``evaluate``
        that is not a bool.

    References:
      Xu & Strohmer, "Machine Unlearning via Information Theoretic
      Regularization", arXiv:2502.05684, 2025.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from types import SimpleNamespace
      >>> from jaxunlearn.datapoint import unlearn
      >>> f = lambda p, x: x @ p
      >>> x = jax.random.normal(jax.random.key(0), (40, 3))
      >>> y = (x[:, 0] > 0).astype(jnp.int32)
      >>> s = SimpleNamespace(x_retain=x[:30], y_retain=y[:30],
      ...     x_forget=x[30:34], y_forget=y[30:34], x_test=x[34:],
      ...     y_test=y[34:])
      >>> out = unlearn(f, jnp.zeros((3, 2)), s, gamma=1.0, epochs=2,
      ...               batch_size=8, forget_batch_size=2,
      ...               key=jax.random.key(1))
      >>> out.history.forget_acc.shape
      (2,)
    """
    model, params, rest, (split,) = resolve_model(apply_fn, params, (split,))
    apply_fn = pure_apply(model, rest)
    optimizer, learning_rate = resolve_optimizer(optimizer, learning_rate, 1e-3)
    cfg = mi_config_of(locals(), allow_probe=True)
    _checks.check_key("key", key)
    pool, req = pool_from_split(apply_fn, params, split, holdout)
    cfg = with_check_plan(cfg, stop_each_step, pool, req)
    if cfg.stop is not None and cfg.stop.kind == "probe":
        cfg = _probe_stop(apply_fn, params, pool, req, cfg, auto, key)
    return _run(model, params, pool, req, cfg, key, rest)


def cast_leaves(cfg: Any, dtype: Any) -> Any:
    """``cfg`` with every numeric leaf an array of ``dtype``."""
    return jax.tree.map(lambda v: jnp.asarray(v, dtype), cfg)


def _probe_stop(
    apply_fn: ApplyFn,
    params: Any,
    pool: Pool,
    req: Request,
    cfg: UnlearnConfig,
    auto: AutoGamma | None,
    key: Any,
) -> UnlearnConfig:
    """``cfg`` with ``stop="probe"`` turned into ``"forget_acc"``.

    The probe transfer estimate of retraining's forget accuracy (plus the
    margin) becomes the threshold (:func:`estimate_retrain_forget_acc`).
    """
    auto = AutoGamma() if auto is None else auto
    n_r = req.retain_idx.shape[0]
    num_classes = num_outputs_cached(apply_fn, params, pool.x)
    est = estimate_retrain_forget_acc(
        apply_fn,
        params,
        pool.x[:n_r],
        pool.y[:n_r],
        pool.x[n_r:],
        pool.y[n_r:],
        pool.x_hold,
        pool.y_hold,
        num_classes=num_classes,
        key=jax.random.fold_in(key, _PROBE_KEY),
        repeats=auto.probe_repeats,
        solver=auto.probe_solver,
    )
    value = est + auto.stop_margin
    cfg = dataclasses.replace(
        cfg, stop=dataclasses.replace(cfg.stop, kind="forget_acc", value=value)
    )
    terms = cfg.holdout
    if terms is not None and terms.in_steps and auto.anchor_shift is None:
        # Anchor the held-out rows of the forget classes to the starting
        # model lowered to the estimate on them (its class accuracy).
        classes = np.zeros((int(num_classes),), bool)
        classes[np.asarray(pool.y[n_r:])] = True
        shift = _class_shift(
            apply_fn(params, pool.x_hold), pool.y_hold, classes, float(value)
        )
        cfg = dataclasses.replace(
            cfg, holdout=dataclasses.replace(terms, anchor_shift=shift)
        )
    return cfg


def make_unlearn_fn(
    apply_fn: ApplyFn,
    split: Any,
    *,
    epochs: int,
    batch_size: int = 64,
    forget_batch_size: int = 16,
    utility: str = "retain",
    gamma_schedule: Schedule | None = None,
    lr_schedule: Schedule | None = None,
    holdout: tuple[Any, Any] | None = None,
    remat: bool = True,
    optimizer: optax.GradientTransformation | None = None,
) -> Any:
    r"""A pure, differentiable ``(params, gamma, learning_rate, key) -> out``.

    The same computation as :func:`unlearn` with a fixed ``gamma`` and no
    stopping rule, as a function of traced ``gamma`` and ``learning_rate``:
    ``jax.grad`` of any metric of the result flows through the whole scan
    (meta-gradients for tuning ``gamma``). With ``remat=True`` the step and
    epoch bodies are rematerialized (``jax.checkpoint``), so the backward
    pass stores one carry per epoch and per step of one epoch instead of
    every step's activations.

    Args:
      apply_fn: pure forward pass ``apply_fn(params, x) -> logits [n, c]``.
      split: the data (fields as in :func:`unlearn`); validated here once.
      epochs: the number of epochs (static).
      batch_size: retain rows per step (static).
      forget_batch_size: forget rows per step (static).
      utility: ``"retain"`` or ``"all"``.
      gamma_schedule: optional ``step -> multiplier`` of ``gamma``.
      lr_schedule: optional ``step -> multiplier`` of the learning rate.
      holdout: optional ``(x, y)`` held-out rows (for ``holdout_acc``);
        None carves them from the test rows as :func:`pool_from_split`.
      remat: rematerialize the scan bodies in the backward pass.
      optimizer: any ``optax.GradientTransformation``, whose updates ``fn``
        multiplies by its traced ``learning_rate`` (pass 1.0 to apply the
        optimizer as given); Adam without a step size if None, so that
        ``learning_rate`` is Adam's traced step size.

    Returns:
      ``fn(params, gamma, learning_rate, key) -> UnlearnOutput``, pure and
      not jitted (wrap it in ``jax.jit`` / ``jax.grad``).

    Raises:
      ValueError: on bad sizes or options (checked here; ``fn`` does not
        re-check the model against the data).
      TypeError: when ``optimizer`` is not an optax transformation.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from types import SimpleNamespace
      >>> from jaxunlearn.datapoint import make_unlearn_fn
      >>> f = lambda p, x: x @ p
      >>> x = jax.random.normal(jax.random.key(0), (40, 3))
      >>> y = (x[:, 0] > 0).astype(jnp.int32)
      >>> s = SimpleNamespace(x_retain=x[:30], y_retain=y[:30],
      ...     x_forget=x[30:34], y_forget=y[30:34], x_test=x[34:],
      ...     y_test=y[34:])
      >>> fn = make_unlearn_fn(f, s, epochs=1, batch_size=8,
      ...                      forget_batch_size=2)
      >>> def final_mi(gamma):
      ...     out = fn(jnp.ones((3, 2)), gamma, 0.01, jax.random.key(1))
      ...     return out.history.mi[-1]
      >>> jax.grad(final_mi)(1.0).shape
      ()
    """
    cfg = mi_config_of(
        locals(),
        gamma=0.0,
        learning_rate=None,
        stop=None,
        stop_value=0.0,
        auto=None,
        optimizer=(
            _ADAM_DESCENT if check_optimizer(optimizer) is None else optimizer
        ),
    )
    pool, req = pool_from_split(None, None, split, holdout)

    def fn(params, gamma, learning_rate, key):
        dtype = jax.tree.leaves(params)[0].dtype
        c = dataclasses.replace(
            cfg,
            gamma=jnp.asarray(gamma, dtype),
            learning_rate=jnp.asarray(learning_rate, dtype),
        )
        return mi_unlearning_run(apply_fn, params, pool, req, c, key)[0]

    return fn
