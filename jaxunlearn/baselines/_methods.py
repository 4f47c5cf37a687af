"""Gradient baselines: retrain, fine-tune, NegGrad(+), random labels, SCRUB.

All share the call shape of ``jaxunlearn.datapoint.unlearn``::

    baseline(apply_fn, params, split, *, epochs, ..., key) -> UnlearnOutput
    baseline(module, split, *, epochs, ..., key) -> UnlearnModelOutput

With a Flax ``nnx.Module`` the ``nnx.Param`` state is trained and the rest
(BatchNorm statistics, dropout RNG counts) is carried through the training
forward passes (accuracies in evaluation mode); the result holds a new
module (the input is unchanged).

and run in one jit-compiled scan (``_loop.py``) with Adam and the same
per-epoch history (task loss, ``I(Y_hat; Z)`` (docs/datapoint.md) on the step's
batches, retain / forget / test / held-out accuracy).

References:
  Golatkar, Achille & Soatto, "Eternal Sunshine of the Spotless Net:
  Selective Forgetting in Deep Networks", CVPR 2020 (fine-tune, NegGrad
  baselines). https://arxiv.org/abs/1911.04933

  Graves, Nagisetty & Ganesh, "Amnesiac Machine Learning", AAAI 2021
  (random relabelling). https://arxiv.org/abs/2010.10981

  Kurmanji, Triantafillou, Hayes & Triantafillou, "Towards Unbounded
  Machine Unlearning", NeurIPS 2023 (SCRUB, NegGrad+).
  https://arxiv.org/abs/2302.09880
"""

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from jaxunlearn import _checks
from jaxunlearn.baselines._loop import gradient_run, masked_kd, run_on_split
from jaxunlearn.datapoint import (
    Method,
    TrainConfig,
    UnlearnModelOutput,
    UnlearnOutput,
    resolve_optimizer,
    weighted_cross_entropy,
)
from jaxunlearn.datapoint._model import (
    ModuleModel,
    check_callback,
    is_module,
)
from jaxunlearn.numerics import lecun_reinit

ApplyFn = Callable[[Any, jax.Array], jax.Array]
_ce = weighted_cross_entropy


def _static(default: Any) -> Any:
    return dataclasses.field(default=default, metadata={"static": True})


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class NegGradPlusConfig:
    """The config of NegGrad+ (:data:`neggrad_plus_method`).

    Attributes:
      train: the loop settings.
      retain_weight: ``w`` in ``w * CE(retain) - (1 - w) * CE(forget)``.
    """

    train: TrainConfig = TrainConfig(epochs=5)
    retain_weight: Any = 0.95


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class ScrubConfig:
    """The config of SCRUB (:data:`scrub_method`; see :func:`scrub`).

    Attributes:
      train: the loop settings (Adam's default step size 5e-4).
      temperature: distillation temperature ``T > 0``.
      kd_weight: weight of the retain distillation term.
      ce_weight: weight of the retain cross-entropy.
      max_epochs: epochs that include max steps.
    """

    train: TrainConfig = TrainConfig(epochs=5, learning_rate=5e-4)
    temperature: Any = 4.0
    kd_weight: Any = 0.001
    ce_weight: Any = 0.99
    max_epochs: Any = 2


def _finetune_rule(take, state, b, h, teacher, key, epoch):
    return take(
        lambda f, p: _ce(f(p, b.x_retain), b.y_retain, b.retain_mask), state
    )


def _neggrad_rule(take, state, b, h, teacher, key, epoch):
    return take(
        lambda f, p: -_ce(f(p, b.x_forget), b.y_forget, b.forget_mask), state
    )


def _neggrad_plus_rule(take, state, b, h, teacher, key, epoch):
    def loss(f, p):
        keep = _ce(f(p, b.x_retain), b.y_retain, b.retain_mask)
        drop = _ce(f(p, b.x_forget), b.y_forget, b.forget_mask)
        return h.retain_weight * keep - (1 - h.retain_weight) * drop

    return take(loss, state)


def _random_label_rule(take, state, b, h, teacher, key, epoch):
    def loss(f, p):
        keep = _ce(f(p, b.x_retain), b.y_retain, b.retain_mask)
        logits = f(p, b.x_forget)
        c = logits.shape[-1]
        # A label drawn uniformly among the other classes.
        shift = jax.random.randint(key, b.y_forget.shape, 1, c)
        fake = (b.y_forget + shift) % c
        return keep + _ce(logits, fake, b.forget_mask)

    return take(loss, state)


def _scrub_rule(take, state, b, h, teacher, key, epoch):
    t = h.temperature
    xr, xf = b.x_retain, b.x_forget

    def max_loss(f, p):
        return -masked_kd(f(p, xf), teacher(xf), b.forget_mask, t)

    def min_loss(f, p):
        logits = f(p, xr)
        kd = masked_kd(logits, teacher(xr), b.retain_mask, t)
        ce = _ce(logits, b.y_retain, b.retain_mask)
        return h.ce_weight * ce + h.kd_weight * kd

    # Max step (forget) only during the first ``max_epochs`` epochs.
    state = jax.lax.cond(
        epoch.astype(jnp.result_type(h.max_epochs)) < h.max_epochs,
        lambda st: take(max_loss, st)[0],
        lambda st: st,
        state,
    )
    return take(min_loss, state)


def _retrain_run(model, params, pool, request, cfg, key, rest=None):
    k_init, k_run = jax.random.split(key)
    start = lecun_reinit(params, key=k_init)
    if isinstance(model, ModuleModel):
        start, rest = model.reset_norms(start, rest)
    return gradient_run(
        _finetune_rule, "retain", model, start, pool, request, cfg, k_run, rest
    )


def _scrub_run(model, params, pool, request, cfg, key, rest=None):
    return gradient_run(
        _scrub_rule, "retain", model, params, pool, request, cfg, key, rest,
        teacher=params,
    )  # fmt: skip


def _rule_run(rule: Callable, drive: str = "retain") -> Callable:
    return functools.partial(gradient_run, rule, drive)


finetune_method = Method(
    "finetune", _rule_run(_finetune_rule), TrainConfig(epochs=5)
)
retrain_method = Method("retrain", _retrain_run, TrainConfig(epochs=20))
neggrad_method = Method(
    "neggrad",
    _rule_run(_neggrad_rule, "forget"),
    TrainConfig(epochs=1, learning_rate=1e-4),
)
neggrad_plus_method = Method(
    "neggrad_plus", _rule_run(_neggrad_plus_rule), NegGradPlusConfig()
)
random_labels_method = Method(
    "random_labels", _rule_run(_random_label_rule), TrainConfig(epochs=5)
)
scrub_method = Method("scrub", _scrub_run, ScrubConfig())


def _train(default_lr: float, args: dict) -> TrainConfig:
    """The :class:`TrainConfig` of a wrapper's keyword arguments, checked."""
    for name in ("epochs", "batch_size", "forget_batch_size"):
        _checks.check_positive_int(name, args[name])
    optimizer, lr = resolve_optimizer(
        args["optimizer"], args["learning_rate"], default_lr
    )
    return TrainConfig(
        epochs=args["epochs"],
        batch_size=args["batch_size"],
        forget_batch_size=args["forget_batch_size"],
        learning_rate=lr,
        optimizer=optimizer,
        callback=check_callback(args["callback"]),
    )


def reinitialize(params: Any, *, key: jax.Array) -> Any:
    """Fresh parameters shaped like ``params``: ``numerics.lecun_reinit``.

    Args:
      params: a pytree of arrays (not modified).
      key: PRNG key.

    Returns:
      LeCun-normal kernels (fan-in over all but the last axis), zero biases.

    Raises:
      TypeError: when ``key`` is not a PRNG key.
    """
    _checks.check_key("key", key)
    return lecun_reinit(params, key=key)


def finetune(
    apply_fn: ApplyFn | Any,
    params: Any,
    split: Any = None,
    *,
    epochs: int = 5,
    batch_size: int = 64,
    forget_batch_size: int = 16,
    learning_rate: float | None = None,
    key: jax.Array,
    optimizer: optax.GradientTransformation | None = None,
    callback: Callable | None = None,
) -> UnlearnOutput | UnlearnModelOutput:
    """Fine-tunes on the retain set only (catastrophic forgetting).

    Args:
      apply_fn: pure forward pass ``apply_fn(params, x) -> logits [n, c]``,
        or an ``nnx.Module`` (then ``params`` is the split).
      params: the trained parameters (a pytree; never modified).
      split: an object with ``x_retain, y_retain, x_forget, y_forget,
        x_test, y_test`` (e.g. ``jaxunlearn.datasets.UnlearningSplit``).
      epochs: passes over the retain set (static).
      batch_size: retain rows per step (static).
      forget_batch_size: forget rows per step, used only for the logged MI.
      learning_rate: Adam's step size (1e-3 if None); None when
        ``optimizer`` is given.
      key: PRNG key (shuffling).
      optimizer: any ``optax.GradientTransformation``, applied with
        ``optax.apply_updates``; Adam with ``learning_rate`` if None.
      callback: optional ``callback(EpochInfo)`` after every epoch (host;
        the fields of ``UnlearnHistory`` in ``metrics``).

    Returns:
      An ``UnlearnOutput(params, history, epochs_run)``; for a module an
      ``UnlearnModelOutput(model, history, epochs_run)``.

    Raises:
      ValueError: on empty sets, labels out of range, shape mismatches or
        non-positive sizes.

    References:
      Golatkar et al., "Eternal Sunshine of the Spotless Net", CVPR 2020.
    """
    cfg = _train(1e-3, locals())
    return run_on_split(finetune_method, apply_fn, params, split, cfg, key)


def retrain(
    apply_fn: ApplyFn | Any,
    params: Any,
    split: Any = None,
    *,
    epochs: int = 20,
    batch_size: int = 64,
    forget_batch_size: int = 16,
    learning_rate: float | None = None,
    init_params: Any = None,
    key: jax.Array,
    optimizer: optax.GradientTransformation | None = None,
    callback: Callable | None = None,
) -> UnlearnOutput | UnlearnModelOutput:
    """Retrains from scratch on the retain set: the gold reference.

    Args:
      apply_fn: pure forward pass ``apply_fn(params, x) -> logits [n, c]``,
        or an ``nnx.Module`` (then ``params`` is the split).
      params: the trained parameters; only their structure is used.
      split: an object with ``x_retain, y_retain, x_forget, y_forget,
        x_test, y_test``.
      epochs: passes over the retain set (static).
      batch_size: retain rows per step (static).
      forget_batch_size: forget rows per step, used only for the logged MI.
      learning_rate: Adam's step size (1e-3 if None); None when
        ``optimizer`` is given.
      init_params: starting parameters (for a module, a freshly built
        ``nnx.Module``); ``None`` draws fresh ones with :func:`reinitialize`
        from ``key`` (for a module also resetting its normalization layers
        and BatchNorm statistics).
      key: PRNG key (initialization and shuffling).
      optimizer: any ``optax.GradientTransformation``, applied with
        ``optax.apply_updates``; Adam with ``learning_rate`` if None.
      callback: optional ``callback(EpochInfo)`` after every epoch (host;
        the fields of ``UnlearnHistory`` in ``metrics``).

    Returns:
      An ``UnlearnOutput`` (``UnlearnModelOutput`` for a module) whose
      history tracks training from scratch.

    Raises:
      ValueError: on empty sets, labels out of range or shape mismatches.
    """
    cfg = _train(1e-3, locals())
    if init_params is None:
        return run_on_split(retrain_method, apply_fn, params, split, cfg, key)
    _checks.check_key("key", key)
    k_run = jax.random.split(key)[1]
    if is_module(apply_fn):  # start from the module init_params
        if not is_module(init_params):
            raise TypeError(
                "init_params: expected an nnx.Module when apply_fn is one,"
                f" got {type(init_params).__name__}"
            )
        apply_fn, init_params, split = init_params, params, None
    return run_on_split(
        finetune_method, apply_fn, init_params, split, cfg, k_run
    )


def neggrad(
    apply_fn: ApplyFn | Any,
    params: Any,
    split: Any = None,
    *,
    epochs: int = 1,
    batch_size: int = 64,
    forget_batch_size: int = 16,
    learning_rate: float | None = None,
    key: jax.Array,
    optimizer: optax.GradientTransformation | None = None,
    callback: Callable | None = None,
) -> UnlearnOutput | UnlearnModelOutput:
    """Gradient ascent on the forget set's cross-entropy (NegGrad).

    An epoch is one pass over the forget set. Unbounded: the forget loss
    grows without limit, so stop early (few epochs, small learning rate).

    Args:
      apply_fn: pure forward pass ``apply_fn(params, x) -> logits [n, c]``,
        or an ``nnx.Module`` (then ``params`` is the split).
      params: the trained parameters (never modified).
      split: an object with ``x_retain, y_retain, x_forget, y_forget,
        x_test, y_test``.
      epochs: passes over the forget set (static).
      batch_size: retain rows per step, used only for the logged MI.
      forget_batch_size: forget rows per step (static).
      learning_rate: Adam's step size (1e-4 if None: a deliberate
        deviation from the library's 1e-3, since the ascent is unbounded);
        None when ``optimizer`` is given.
      key: PRNG key (shuffling).
      optimizer: any ``optax.GradientTransformation``, applied with
        ``optax.apply_updates``; Adam with ``learning_rate`` if None.
      callback: optional ``callback(EpochInfo)`` after every epoch (host;
        the fields of ``UnlearnHistory`` in ``metrics``).

    Returns:
      An ``UnlearnOutput`` (``UnlearnModelOutput`` for a module);
      ``history.task_loss`` is ``-CE(forget)``.

    Raises:
      ValueError: on empty sets, labels out of range or shape mismatches.

    References:
      Golatkar et al., "Eternal Sunshine of the Spotless Net", CVPR 2020.
    """
    cfg = _train(1e-4, locals())
    return run_on_split(neggrad_method, apply_fn, params, split, cfg, key)


def neggrad_plus(
    apply_fn: ApplyFn | Any,
    params: Any,
    split: Any = None,
    *,
    epochs: int = 5,
    retain_weight: float = 0.95,
    batch_size: int = 64,
    forget_batch_size: int = 16,
    learning_rate: float | None = None,
    key: jax.Array,
    optimizer: optax.GradientTransformation | None = None,
    callback: Callable | None = None,
) -> UnlearnOutput | UnlearnModelOutput:
    """NegGrad+: ``w * CE(retain) - (1 - w) * CE(forget)`` per step.

    Args:
      apply_fn: pure forward pass ``apply_fn(params, x) -> logits [n, c]``,
        or an ``nnx.Module`` (then ``params`` is the split).
      params: the trained parameters (never modified).
      split: an object with ``x_retain, y_retain, x_forget, y_forget,
        x_test, y_test``.
      epochs: passes over the retain set (static).
      retain_weight: ``w`` in ``[0, 1]``.
      batch_size: retain rows per step (static).
      forget_batch_size: forget rows per step (static).
      learning_rate: Adam's step size (1e-3 if None); None when
        ``optimizer`` is given.
      key: PRNG key (shuffling).
      optimizer: any ``optax.GradientTransformation``, applied with
        ``optax.apply_updates``; Adam with ``learning_rate`` if None.
      callback: optional ``callback(EpochInfo)`` after every epoch (host;
        the fields of ``UnlearnHistory`` in ``metrics``).

    Returns:
      An ``UnlearnOutput`` (``UnlearnModelOutput`` for a module).

    Raises:
      ValueError: on ``retain_weight`` outside ``[0, 1]``, empty sets,
        labels out of range or shape mismatches.

    References:
      Kurmanji et al., "Towards Unbounded Machine Unlearning", NeurIPS 2023.
      https://arxiv.org/abs/2302.09880
    """
    _checks.check_unit_interval("retain_weight", retain_weight)
    cfg = NegGradPlusConfig(_train(1e-3, locals()), retain_weight)
    return run_on_split(neggrad_plus_method, apply_fn, params, split, cfg, key)


def random_labels(
    apply_fn: ApplyFn | Any,
    params: Any,
    split: Any = None,
    *,
    epochs: int = 5,
    batch_size: int = 64,
    forget_batch_size: int = 16,
    learning_rate: float | None = None,
    key: jax.Array,
    optimizer: optax.GradientTransformation | None = None,
    callback: Callable | None = None,
) -> UnlearnOutput | UnlearnModelOutput:
    """Fine-tunes on retain plus forget rows relabelled at random.

    Each step draws, for every forget row, a label uniformly among the
    *other* classes, and minimizes ``CE(retain) + CE(forget, fake labels)``.

    Args:
      apply_fn: pure forward pass ``apply_fn(params, x) -> logits [n, c]``,
        or an ``nnx.Module`` (then ``params`` is the split).
      params: the trained parameters (never modified).
      split: an object with ``x_retain, y_retain, x_forget, y_forget,
        x_test, y_test``.
      epochs: passes over the retain set (static).
      batch_size: retain rows per step (static).
      forget_batch_size: forget rows per step (static).
      learning_rate: Adam's step size (1e-3 if None); None when
        ``optimizer`` is given.
      key: PRNG key (shuffling and fake labels).
      optimizer: any ``optax.GradientTransformation``, applied with
        ``optax.apply_updates``; Adam with ``learning_rate`` if None.
      callback: optional ``callback(EpochInfo)`` after every epoch (host;
        the fields of ``UnlearnHistory`` in ``metrics``).

    Returns:
      An ``UnlearnOutput`` (``UnlearnModelOutput`` for a module).

    Raises:
      ValueError: on empty sets, labels out of range or shape mismatches.

    References:
      Graves, Nagisetty & Ganesh, "Amnesiac Machine Learning", AAAI 2021.
      https://arxiv.org/abs/2010.10981
    """
    cfg = _train(1e-3, locals())
    return run_on_split(random_labels_method, apply_fn, params, split, cfg, key)


def scrub(
    apply_fn: ApplyFn | Any,
    params: Any,
    split: Any = None,
    *,
    epochs: int = 5,
    max_epochs: int = 2,
    temperature: float = 4.0,
    kd_weight: float = 0.001,
    ce_weight: float = 0.99,
    batch_size: int = 64,
    forget_batch_size: int = 16,
    learning_rate: float | None = None,
    key: jax.Array,
    optimizer: optax.GradientTransformation | None = None,
    callback: Callable | None = None,
) -> UnlearnOutput | UnlearnModelOutput:
    r"""SCRUB: a student moves away from the teacher on forget, stays on retain.

    The teacher is the original model (``params``, frozen). Each step of the
    first ``max_epochs`` epochs takes a *max* step,
    :math:`\max_\theta \mathrm{KD}_T(\text{teacher} \| \theta)` on the forget
    batch; every step then takes a *min* step on the retain batch,
    :math:`\min_\theta w_{ce} \mathrm{CE} + w_{kd} \mathrm{KD}_T`, with
    :math:`\mathrm{KD}_T = T^2 \, \mathrm{KL}(\mathrm{softmax}(t/T) \|
    \mathrm{softmax}(s/T))` (defaults as in the authors' code: ``T = 4``,
    ``w_kd = 0.001``, ``w_ce = 0.99``).

    Args:
      apply_fn: pure forward pass ``apply_fn(params, x) -> logits [n, c]``,
        or an ``nnx.Module`` (then ``params`` is the split).
      params: the trained parameters: the teacher and the student's start.
      split: an object with ``x_retain, y_retain, x_forget, y_forget,
        x_test, y_test``.
      epochs: passes over the retain set (static).
      max_epochs: epochs that include max steps (``<= epochs``).
      temperature: distillation temperature ``T > 0``.
      kd_weight: weight of the retain distillation term.
      ce_weight: weight of the retain cross-entropy.
      batch_size: retain rows per step (static).
      forget_batch_size: forget rows per step (static).
      learning_rate: Adam's step size (5e-4 if None: the authors' value,
        a deliberate deviation from the library's 1e-3); None when
        ``optimizer`` is given.
      key: PRNG key (shuffling).
      optimizer: any ``optax.GradientTransformation``, applied with
        ``optax.apply_updates``; Adam with ``learning_rate`` if None.
      callback: optional ``callback(EpochInfo)`` after every epoch (host;
        the fields of ``UnlearnHistory`` in ``metrics``).

    Returns:
      An ``UnlearnOutput`` (``UnlearnModelOutput`` for a module);
      ``history.task_loss`` is the min-step loss.

    Raises:
      ValueError: on a non-positive temperature, negative weights or
        ``max_epochs``, empty sets, labels out of range, shape mismatches.

    References:
      Kurmanji, Triantafillou, Hayes & Triantafillou, "Towards Unbounded
      Machine Unlearning", NeurIPS 2023. https://arxiv.org/abs/2302.09880
    """
    if not temperature > 0:
        raise ValueError(f"temperature: expected > 0, got {temperature!r}")
    _checks.check_nonnegative("kd_weight", kd_weight)
    _checks.check_nonnegative("ce_weight", ce_weight)
    _checks.check_positive_int("max_epochs", max_epochs, minimum=0)
    cfg = ScrubConfig(
        _train(5e-4, locals()),
        temperature,
        kd_weight,
        ce_weight,
        max_epochs,
    )
    return run_on_split(scrub_method, apply_fn, params, split, cfg, key)
