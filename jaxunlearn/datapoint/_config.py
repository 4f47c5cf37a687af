"""Configs of MI unlearning: small frozen pytrees, one per part.

Numbers are leaves (traced: changing them does not recompile); fields that
shape the computation are static. A part that is off is ``None`` and is not
compiled: no controller means a fixed ``gamma``, no stop rule runs every
epoch, no :class:`HoldoutTerms` runs no held-out forward pass in the steps.

References:
  Xu & Strohmer, "Machine Unlearning via Information Theoretic
  Regularization", arXiv:2502.05684, 2025. https://arxiv.org/abs/2502.05684

  Boyd & Vandenberghe, "Convex Optimization", Cambridge University Press,
  2004, chapter 5 (Lagrange duality, dual ascent).
"""

import dataclasses
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import numpy as np

from jaxunlearn import _checks

Schedule = Callable[[Any], Any]
STOP_KINDS = ("holdout", "holdout_initial", "forget_acc", "mi")


def _static(default: Any = dataclasses.MISSING) -> Any:
    return dataclasses.field(default=default, metadata={"static": True})


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """The loop settings every gradient method shares.

    Attributes:
      epochs: epochs (static).
      batch_size: retain rows per step (static).
      forget_batch_size: forget rows per step (static).
      learning_rate: multiplier of the optimizer's updates: Adam's step
        size for the default optimizer (1e-3 if None), 1 if None with an
        ``optimizer``.
      optimizer: an ``optax.GradientTransformation``; Adam without a step
        size if None (static).
      callback: ``callback(EpochInfo)`` after every epoch (static).
    """

    epochs: int = _static(5)
    batch_size: int = _static(64)
    forget_batch_size: int = _static(16)
    learning_rate: Any = None
    optimizer: Any = _static(None)
    callback: Callable | None = _static(None)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Controller:
    """The ``gamma="auto"`` controller: the config's ``gamma`` is adapted.

    Attributes:
      dual_lr: step of the projected dual ascent on ``gamma``
        (``gamma <- max(0, gamma + dual_lr * (I_f - (1 + slack) I_h))``,
        ``I_h`` the membership MI of a batch of held-out rows of the forget
        set's classes against the retain batch). None: ``gamma`` stays at
        its start and no held-out pass is compiled.
      slack: relative slack of the constraint ``I_f <= (1 + slack) I_h``.
      lr_scale: the step size is ``learning_rate * lr_scale``.
    """

    dual_lr: Any = None
    slack: Any = 0.0
    lr_scale: Any = 0.3


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class StopRule:
    """When to stop: checked after every epoch (or every step).

    Attributes:
      kind: ``"holdout"`` (forget accuracy ``<`` held-out accuracy of the
        forget classes ``+ margin``), ``"holdout_initial"`` (``<=`` that
        accuracy under the starting model ``+ margin``), ``"forget_acc"``
        (forget accuracy ``<= value``) or ``"mi"`` (the epoch's mean
        ``I(Y_hat; Z) <= value``). Static.
      value: the threshold of ``"forget_acc"`` / ``"mi"``.
      margin: the margin of the held-out rules.
      each_step: also check the accuracy rules between epochs, every
        ``interval`` steps (one forward pass over the forget set, and for
        ``"holdout"`` the held-out rows, per check). Static.
      interval: the steps between two such checks (``each_step`` only;
        1: after every step); with ``adaptive``, the most steps between
        two. Static.
      adaptive: plan each check from the last two: after half the steps
        the forget accuracy's last fall rate needs to reach the threshold,
        at least 1 and at most ``interval``. Static.
    """

    kind: str = _static("holdout_initial")
    value: Any = 0.0
    margin: Any = 0.0
    each_step: bool = _static(False)
    interval: int = _static(1)
    adaptive: bool = _static(False)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class HoldoutTerms:
    """Experimental terms on held-out rows of the forget set's classes.

    Attributes:
      holdout_gamma: weight of ``I(Y_hat; Z_h)`` (:func:`holdout_membership_mi`
        of a forget batch against a held-out batch); None: off.
      anchor: weight of ``KL(q_ref || q)`` on a held-out batch, ``q_ref`` the
        starting model's predictions with the forget classes' logits lowered
        by ``anchor_shift``; None: off.
      anchor_shift: the logit offset of the anchor's reference.
      anchor_lr: step of a projected dual ascent on the anchor's weight
        toward the stop rule's ``value`` on held-out accuracy; None: off.
      class_weight: weight of the retain rows of the forget set's classes
        in the task loss (other rows weigh 1).
    """

    holdout_gamma: Any = None
    anchor: Any = None
    anchor_shift: Any = 0.0
    anchor_lr: Any = None
    class_weight: Any = 1.0

    @property
    def in_steps(self) -> bool:
        """Whether the steps run a held-out batch (a static property)."""
        terms = (self.holdout_gamma, self.anchor, self.anchor_lr)
        return any(w is not None for w in terms)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Repair:
    """Retain-only fine-tuning after the MI phase (fresh Adam).

    Attributes:
      steps: the number of steps (static).
      learning_rate: Adam's step size.
    """

    steps: int = _static(0)
    learning_rate: Any = 1e-4


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class UnlearnConfig:
    """The config of MI unlearning (:data:`mi_unlearning`).

    Attributes:
      gamma: the MI weight (the controller's start when ``controller`` is
        set).
      learning_rate: multiplier of the optimizer's updates: Adam's step
        size for the default optimizer (1e-3 if None), 1 if None with an
        ``optimizer``.
      epochs: epochs (static).
      batch_size: retain rows per step (static).
      forget_batch_size: forget rows per step (static).
      utility: task loss on ``"retain"`` or ``"all"`` rows (static).
      optimizer: an ``optax.GradientTransformation``; Adam without a step
        size if None (static).
      epoch: ``"retain"`` (an epoch is one pass over the retain set, the
        forget batches cycle) or ``"forget"`` (the authors' loaders: a
        retain loader zipped with a forget loader, stopping at the shorter,
        ``ceil(n_forget / forget_batch_size)`` steps when the forget set is
        the shorter) (static).
      controller: a :class:`Controller` or None (fixed ``gamma``).
      stop: a :class:`StopRule` or None (every epoch runs).
      holdout: :class:`HoldoutTerms` or None.
      repair: a :class:`Repair` or None.
      gamma_schedule: ``step -> multiplier`` of a fixed ``gamma`` (static).
      lr_schedule: ``step -> multiplier`` of the step size (static).
      remat: rematerialize the scan bodies in the backward pass (static).
      callback: ``callback(EpochInfo)`` after every epoch (static).
      evaluate: measure the accuracies of the history after every epoch
        (one forward pass over the pool's rows, the test and the held-out
        rows); False skips them (the history's accuracies are None; only
        ``stop`` None or ``"mi"`` then) (static).
    """

    gamma: Any = 4.0
    learning_rate: Any = None
    epochs: int = _static(5)
    batch_size: int = _static(64)
    forget_batch_size: int = _static(16)
    utility: str = _static("retain")
    optimizer: Any = _static(None)
    epoch: str = _static("retain")
    controller: Controller | None = None
    stop: StopRule | None = None
    holdout: HoldoutTerms | None = None
    repair: Repair | None = None
    gamma_schedule: Schedule | None = _static(None)
    lr_schedule: Schedule | None = _static(None)
    remat: bool = _static(False)
    callback: Callable | None = _static(None)
    evaluate: bool = _static(True)


class AutoGamma(NamedTuple):
    """Settings of ``gamma="auto"`` in one flat tuple (the older spelling).

    :func:`unlearn` and :func:`unlearn_many` turn it into a
    :class:`Controller`, :class:`StopRule` margin, :class:`HoldoutTerms`
    and :class:`Repair` (:func:`auto_config`); a weight of 0 turns its part
    off. New code can pass an :class:`UnlearnConfig` to the kernel instead.

    Attributes:
      gamma_init: the starting multiplier.
      dual_lr: :attr:`Controller.dual_lr` (0: off).
      slack: :attr:`Controller.slack`.
      stop_margin: :attr:`StopRule.margin`, also added to the threshold of
        ``stop="probe"``.
      repair_lr: :attr:`Repair.learning_rate`.
      lr_scale: :attr:`Controller.lr_scale`.
      holdout_gamma: :attr:`HoldoutTerms.holdout_gamma` (0: off).
      class_weight: :attr:`HoldoutTerms.class_weight`.
      anchor: :attr:`HoldoutTerms.anchor` (0: off).
      anchor_shift: :attr:`HoldoutTerms.anchor_shift`; None: under
        ``stop="probe"``, the smallest offset that brings the starting
        model's held-out accuracy of the forget classes down to the probe
        estimate; otherwise 0.
      probe_repeats: the number of probe pairs ``stop="probe"`` averages
        (see :func:`estimate_retrain_forget_acc`).
      anchor_lr: :attr:`HoldoutTerms.anchor_lr` (0: off).
      lr_decay: no longer used; a nonzero value warns and is ignored.
      probe_solver: the probes' ``solver`` in
        :func:`estimate_retrain_forget_acc`: ``"sgd"`` (mini-batch, 20
        epochs) or ``"full"`` (20 deterministic full-batch steps on 64
        random projections of the inputs, several times cheaper).

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
    probe_solver: str = "sgd"

    @classmethod
    def fast(cls) -> "AutoGamma":
        """Cheaper settings: gamma 1, step x0.5, one probe pair.

        They stop in 1-5 epochs instead of 9-18, at 2.5-5x less time than
        the default, but land near retraining less often on MNIST-5k
        (docs/datapoint.md, "A cheaper preset"); the default stays the
        better-landing one.

        Returns:
          ``AutoGamma(gamma_init=1.0, lr_scale=0.5, probe_repeats=1)``.
        """
        return cls(gamma_init=1.0, lr_scale=0.5, probe_repeats=1)


def _off_if_zero(value: Any) -> Any:
    """None for a concrete 0 (the part is off), else ``value``."""
    if _checks.is_concrete(value) and not np.any(np.asarray(value)):
        return None
    return value


def check_auto(auto: AutoGamma) -> None:
    """Raises ValueError naming the first out-of-range field of ``auto``."""
    for name in (
        "gamma_init",
        "dual_lr",
        "repair_lr",
        "lr_scale",
        "holdout_gamma",
        "anchor",
        "anchor_lr",
        "class_weight",
    ):
        _checks.check_nonnegative(f"auto.{name}", getattr(auto, name))
    _checks.check_positive_int("auto.probe_repeats", auto.probe_repeats)
    _checks.check_choice(
        "auto.probe_solver", auto.probe_solver, ("sgd", "full")
    )
    if auto.anchor_shift is not None:
        _checks.check_nonnegative("auto.anchor_shift", auto.anchor_shift)
    cw = auto.class_weight
    if _checks.is_concrete(cw) and not np.all(np.asarray(cw, float) > 0):
        raise ValueError(f"auto.class_weight: expected a value > 0, got {cw!r}")
    if _checks.is_concrete(auto.lr_decay) and np.any(np.asarray(auto.lr_decay)):
        warnings.warn(
            "auto.lr_decay is no longer used and is ignored",
            DeprecationWarning,
            stacklevel=3,
        )


def holdout_terms(auto: AutoGamma) -> HoldoutTerms | None:
    """The :class:`HoldoutTerms` of ``auto``; None when every part is off."""
    terms = HoldoutTerms(
        holdout_gamma=_off_if_zero(auto.holdout_gamma),
        anchor=_off_if_zero(auto.anchor),
        anchor_shift=0.0 if auto.anchor_shift is None else auto.anchor_shift,
        anchor_lr=_off_if_zero(auto.anchor_lr),
        class_weight=auto.class_weight,
    )
    cw = auto.class_weight
    unit = _checks.is_concrete(cw) and bool(np.all(np.asarray(cw) == 1))
    if not terms.in_steps and unit:
        return None
    return terms


def controller(auto: AutoGamma) -> Controller:
    """The :class:`Controller` of ``auto``."""
    return Controller(_off_if_zero(auto.dual_lr), auto.slack, auto.lr_scale)
