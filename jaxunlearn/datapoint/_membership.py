r"""The membership variable of data-point unlearning and the regularized loss.

Per step, with a retain batch ``B_r`` and a forget batch ``B_f``, the
"with forget set" sample ``X_0 = B_r + B_f`` gets ``Z = 0`` and the
"without" sample ``X_1 = B_r`` gets ``Z = 1``; the pooled set has
``2 |B_r| + |B_f|`` rows and ``P(Z = 1) = |B_r| / (2 |B_r| + |B_f|)``.
Without dropout or batch norm a forward pass on the pooled set equals one
forward pass on ``B_r`` and one on ``B_f`` with the retain predictions
counted twice (once per group), which is what :func:`membership_mi` does:

.. math::
   I(\hat Y; Z) = \sum_{c,k} J_{ck} \log \frac{J_{ck}}{P_c \pi_k},\quad
   J_{c0} = \frac{\sum_{B_r} q_c + \sum_{B_f} q_c}{2|B_r| + |B_f|},\quad
   J_{c1} = \frac{\sum_{B_r} q_c}{2|B_r| + |B_f|}.

The unlearning loss is ``task(B_r) + gamma * I`` (docs/datapoint.md).

References:
  Xu & Strohmer, "Machine Unlearning via Information Theoretic
  Regularization", arXiv:2502.05684, 2025. https://arxiv.org/abs/2502.05684
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, ArrayLike, Float, Int

from jaxunlearn import _checks
from jaxunlearn.info import prediction_mi

ApplyFn = Callable[[Any, Array], Array]


class MembershipBatch(NamedTuple):
    """One step's data: a retain and a forget batch with row masks.

    Masks hold 1 for real rows and 0 for padding, so one compiled step serves
    every batch size up to the static shapes.
    """

    x_retain: Array  # [b, ...] float
    y_retain: Array  # [b] int
    retain_mask: Array  # [b] float, 1 = real row
    x_forget: Array  # [f, ...] float
    y_forget: Array  # [f] int
    forget_mask: Array  # [f] float, 1 = real row


class LossAux(NamedTuple):
    """Diagnostics of :func:`unlearning_loss` (scalars)."""

    task_loss: Array  # [] weighted cross-entropy
    mi: Array  # [] I(Y_hat; Z) in nats


def _mask(name: str, mask: Any, n: int, dtype: Any) -> Array:
    if mask is None:
        return jnp.ones((n,), dtype)
    mask = _checks.as_array(name, mask)
    _checks.check_shape(name, mask, (n,))
    return mask.astype(dtype)


def _logit_pair(names: tuple[str, str], a: Any, b: Any) -> tuple:
    """``(a, b, dtype)``: two floating ``[n, c]`` logit arrays, same ``c``.

    Raises:
      TypeError: naming ``names[i]`` on non-floating logits.
      ValueError: naming ``names[i]`` on a bad rank or shape.
    """
    la = _checks.as_array(names[0], a)
    lb = _checks.as_array(names[1], b)
    _checks.check_floating(names[0], la)
    _checks.check_floating(names[1], lb)
    _checks.check_rank(names[0], la, 2)
    _checks.check_shape(names[1], lb, (None, la.shape[1]))
    return la, lb, jnp.result_type(la, lb)


def membership_mi(
    logits_retain: Float[ArrayLike, "b c"],
    logits_forget: Float[ArrayLike, "f c"],
    *,
    retain_mask: ArrayLike | None = None,
    forget_mask: ArrayLike | None = None,
) -> Float[Array, ""]:
    r"""``I(Y_hat; Z)`` from one retain and one forget forward pass.

    Equal to ``prediction_mi`` on the pooled sample ``[B_r; B_f; B_r]``
    with ``z = [0, 0, 1]`` per block, without a second forward pass on
    ``B_r``: the retain predictions are used twice.

    Args:
      logits_retain: logits ``[b, c]`` on the retain batch.
      logits_forget: logits ``[f, c]`` on the forget batch.
      retain_mask: optional ``[b]`` row weights (0 = padding); all ones by
        default.
      forget_mask: optional ``[f]`` row weights (0 = padding); all ones by
        default.

    Returns:
      A scalar, the plug-in mutual information in nats.

    Raises:
      ValueError: on mismatched shapes.
      TypeError: on non-floating logits.

    References:
      Xu & Strohmer, "Machine Unlearning via Information Theoretic
      Regularization", arXiv:2502.05684, 2025.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.datapoint import membership_mi
      >>> lr = jnp.zeros((4, 3))
      >>> float(membership_mi(lr, lr[:2]))  # same predictions: I = 0
      0.0
    """
    lr, lf, dtype = _logit_pair(
        ("logits_retain", "logits_forget"), logits_retain, logits_forget
    )
    mr = _mask("retain_mask", retain_mask, lr.shape[0], dtype)
    mf = _mask("forget_mask", forget_mask, lf.shape[0], dtype)
    qr = jax.nn.softmax(lr.astype(dtype), axis=-1)
    qf = jax.nn.softmax(lf.astype(dtype), axis=-1)
    probs = jnp.concatenate([qr, qf, qr])
    z = jnp.concatenate(
        [
            jnp.zeros((lr.shape[0] + lf.shape[0],), jnp.int32),
            jnp.ones((lr.shape[0],), jnp.int32),
        ]
    )
    where = jnp.concatenate([mr, mf, mr])
    return prediction_mi(probs, z, num_groups=2, where=where)


def holdout_membership_mi(
    logits_forget: Float[ArrayLike, "f c"],
    logits_holdout: Float[ArrayLike, "h c"],
    *,
    forget_mask: ArrayLike | None = None,
    holdout_mask: ArrayLike | None = None,
) -> Float[Array, ""]:
    r"""``I(Y_hat; Z_h)`` between forget rows and held-out rows of their class.

    The pooled sample is ``[B_f; B_h]`` with ``Z_h = 0`` on the forget batch
    and ``Z_h = 1`` on a batch of held-out rows (never trained on) of the
    forget set's classes; with ``q`` the softmax predictions and masks ``m``,

    .. math::
       I = \sum_{c,k} J_{ck} \log \frac{J_{ck}}{P_c \pi_k},\quad
       J_{c0} = \frac{\sum_{B_f} m q_c}{\sum m},\quad
       J_{c1} = \frac{\sum_{B_h} m q_c}{\sum m}.

    After retraining, forget rows are unseen rows of their classes, so this
    is near 0; used as a penalty with the held-out logits under
    ``stop_gradient`` it pulls the forget rows' predictions toward the
    model's predictions on unseen rows of the class (instead of toward the
    retain batch's class marginal, as :func:`membership_mi` does).

    Args:
      logits_forget: logits ``[f, c]`` on the forget batch.
      logits_holdout: logits ``[h, c]`` on the held-out batch.
      forget_mask: optional ``[f]`` row weights (0 = padding).
      holdout_mask: optional ``[h]`` row weights (0 = padding).

    Returns:
      A scalar, the plug-in mutual information in nats (0 when either
      group has no weight).

    Raises:
      ValueError: on mismatched shapes.
      TypeError: on non-floating logits.

    References:
      Xu & Strohmer, "Machine Unlearning via Information Theoretic
      Regularization", arXiv:2502.05684, 2025 (the membership MI; the
      held-out reference is this library's variant, docs/datapoint.md).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.datapoint import holdout_membership_mi
      >>> lf = jnp.array([[5.0, 0.0], [5.0, 0.0]])
      >>> float(holdout_membership_mi(lf, lf))  # same predictions: I = 0
      0.0
    """
    lf, lh, dtype = _logit_pair(
        ("logits_forget", "logits_holdout"), logits_forget, logits_holdout
    )
    mf = _mask("forget_mask", forget_mask, lf.shape[0], dtype)
    mh = _mask("holdout_mask", holdout_mask, lh.shape[0], dtype)
    probs = jnp.concatenate(
        [
            jax.nn.softmax(lf.astype(dtype), axis=-1),
            jax.nn.softmax(lh.astype(dtype), axis=-1),
        ]
    )
    z = jnp.concatenate(
        [
            jnp.zeros((lf.shape[0],), jnp.int32),
            jnp.ones((lh.shape[0],), jnp.int32),
        ]
    )
    return prediction_mi(
        probs, z, num_groups=2, where=jnp.concatenate([mf, mh])
    )


def pooled_membership(
    x_retain: Float[ArrayLike, "b ..."],
    x_forget: Float[ArrayLike, "f ..."],
) -> tuple[Float[Array, "n ..."], Int[Array, " n"]]:
    """The explicit pooled sample of Xu & Strohmer (the reference construction).

    ``X_0 = B_r + B_f`` with ``Z = 0`` stacked on ``X_1 = B_r`` with
    ``Z = 1``; ``n = 2 b + f``. :func:`membership_mi` computes the same
    ``I`` without the second pass on ``B_r``.

    Args:
      x_retain: the retain batch ``[b, ...]``.
      x_forget: the forget batch ``[f, ...]``.

    Returns:
      A tuple ``(x, z)``: the pooled rows ``[2 b + f, ...]`` and the
      membership codes ``[2 b + f]``.

    Raises:
      ValueError: when the trailing shapes differ.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.datapoint import pooled_membership
      >>> x, z = pooled_membership(jnp.zeros((2, 3)), jnp.ones((1, 3)))
      >>> x.shape, z.tolist()
      ((5, 3), [0, 0, 0, 1, 1])
    """
    xr = _checks.as_array("x_retain", x_retain)
    xf = _checks.as_array("x_forget", x_forget)
    _checks.check_shape("x_forget", xf, (None, *xr.shape[1:]))
    x = jnp.concatenate([xr, xf, xr])
    z = jnp.concatenate(
        [
            jnp.zeros((xr.shape[0] + xf.shape[0],), jnp.int32),
            jnp.ones((xr.shape[0],), jnp.int32),
        ]
    )
    return x, z


def masked_mean(values: Array, weights: Array) -> Array:
    """The weighted mean of ``values``; 0 when every weight is 0.

    Args:
      values: ``[n]`` values.
      weights: ``[n]`` row weights (0 = padding).

    Returns:
      A scalar: ``sum(w * v) / sum(w)`` (``/ 1`` when ``sum(w) = 0``).
    """
    total = jnp.sum(weights)
    total = jnp.where(total > 0, total, jnp.ones_like(total))
    return jnp.sum(weights * values) / total


def weighted_cross_entropy(logits: Array, y: Array, mask: Array) -> Array:
    """Mean cross-entropy over the rows with positive mask.

    Args:
      logits: ``[n, c]`` logits.
      y: ``[n]`` integer labels.
      mask: ``[n]`` row weights (0 = padding).

    Returns:
      A scalar: ``sum(mask * ce) / max(sum(mask), 1)``.
    """
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, y)
    return masked_mean(ce, mask.astype(ce.dtype))


def _loss_and_logits(
    apply_fn: ApplyFn,
    params: Any,
    batch: MembershipBatch,
    gamma: Array,
    utility: str,
    mi_mask: Array | None = None,
) -> tuple[Array, tuple[LossAux, Array, Array]]:
    # mi_mask: the retain rows' weights in I (batch.retain_mask by default;
    # the task may weigh rows differently, e.g. AutoGamma.class_weight).
    logits_r = apply_fn(params, batch.x_retain)
    logits_f = apply_fn(params, batch.x_forget)
    if utility == "retain":
        task = weighted_cross_entropy(
            logits_r, batch.y_retain, batch.retain_mask
        )
    else:  # "all": the retain and the forget rows together (GMM toy).
        task = weighted_cross_entropy(
            jnp.concatenate([logits_r, logits_f]),
            jnp.concatenate([batch.y_retain, batch.y_forget]),
            jnp.concatenate([batch.retain_mask, batch.forget_mask]),
        )
    mi = membership_mi(
        logits_r,
        logits_f,
        retain_mask=batch.retain_mask if mi_mask is None else mi_mask,
        forget_mask=batch.forget_mask,
    )
    gamma = jnp.asarray(gamma, task.dtype)
    return task + gamma * mi, (LossAux(task, mi), logits_r, logits_f)


def _anchor_kl(logits_ref: Array, logits: Array, mask: Array) -> Array:
    """Masked mean of ``KL(softmax(logits_ref) || softmax(logits))``."""
    logp_ref = jax.nn.log_softmax(logits_ref, axis=-1)
    logp = jax.nn.log_softmax(logits, axis=-1)
    kl = jnp.sum(jnp.exp(logp_ref) * (logp_ref - logp), axis=-1)
    return masked_mean(kl, mask.astype(kl.dtype))


class _HoldTerms(NamedTuple):
    """The held-out terms of :func:`_controller_loss` for one step."""

    holdout_gamma: Array  # [] weight of I(Y_hat; Z_h)
    anchor: Array  # [] weight of the KL anchor on the held-out rows
    x_holdout: Array  # [h, ...] a batch of held-out rows
    logits_start: Array  # [h, c] the starting model's logits on them
    mask: Array  # [h] row weights (0 = padding)


def _controller_loss(
    apply_fn: ApplyFn,
    params: Any,
    batch: MembershipBatch,
    gamma: Array,
    utility: str,
    task_weight: Array,
    hold: _HoldTerms | None,
) -> tuple[Array, tuple[LossAux, Array, Array]]:
    """One step's loss under the controller's options.

    ``CE_w(B_u) + gamma I(Y_hat; Z) + holdout_gamma I(Y_hat; Z_h) + anchor
    KL(q_start(B_h) || q(B_h))``: the task's retain rows weigh
    ``retain_mask * task_weight`` (``[b]``; the class weights), ``I`` is
    :func:`membership_mi` with the unweighted masks, ``I(Y_hat; Z_h)`` is
    :func:`holdout_membership_mi` with the held-out logits under
    ``stop_gradient``, and the anchor is the mean KL divergence from the
    starting model's predictions on the held-out batch to the current ones
    (``hold=None``: neither held-out term).
    """
    weighted = batch._replace(retain_mask=batch.retain_mask * task_weight)
    loss, (aux, logits_r, logits_f) = _loss_and_logits(
        apply_fn, params, weighted, gamma, utility, mi_mask=batch.retain_mask
    )
    if hold is not None:
        logits_h = apply_fn(params, hold.x_holdout)
        mi_h = holdout_membership_mi(
            logits_f,
            jax.lax.stop_gradient(logits_h),
            forget_mask=batch.forget_mask,
            holdout_mask=hold.mask,
        )
        kl = _anchor_kl(hold.logits_start, logits_h, hold.mask)
        dt = loss.dtype
        loss = (
            loss
            + jnp.asarray(hold.holdout_gamma, dt) * mi_h
            + jnp.asarray(hold.anchor, dt) * kl
        )
    return loss, (aux, logits_r, logits_f)


def unlearning_loss(
    apply_fn: ApplyFn,
    params: Any,
    batch: MembershipBatch,
    gamma: Float[ArrayLike, ""],
    *,
    utility: str = "retain",
) -> tuple[Float[Array, ""], LossAux]:
    r"""The MI-regularized loss ``task + gamma * I(Y_hat; Z)``.

    .. math:: L(\theta) = \mathrm{CE}_\theta(B_u) + \gamma\, I(\hat Y; Z)

    with ``B_u = B_r`` (``utility="retain"``) or ``B_r + B_f``
    (``utility="all"``, the GMM toy's variant).

    Args:
      apply_fn: pure forward pass ``apply_fn(params, x) -> logits [n, c]``.
      params: the model parameters (a pytree).
      batch: a :class:`MembershipBatch`.
      gamma: the weight ``gamma >= 0`` of the MI term.
      utility: ``"retain"`` or ``"all"``.

    Returns:
      A tuple ``(loss, aux)``: the scalar loss and a :class:`LossAux`.

    Raises:
      ValueError: on an unknown ``utility``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.datapoint import MembershipBatch, unlearning_loss
      >>> f = lambda p, x: x @ p
      >>> one = jnp.ones((2,))
      >>> b = MembershipBatch(jnp.eye(2), jnp.array([0, 1]), one,
      ...                     jnp.eye(2), jnp.array([0, 1]), one)
      >>> loss, aux = unlearning_loss(f, jnp.zeros((2, 2)), b, 1.0)
      >>> round(float(aux.task_loss), 4), float(aux.mi)  # log 2, 0
      (0.6931, 0.0)
    """
    _checks.check_choice("utility", utility, ("retain", "all"))
    loss, (aux, _, _) = _loss_and_logits(
        apply_fn, params, batch, gamma, utility
    )
    return loss, aux
