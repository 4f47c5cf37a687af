r"""The MI audit: ``I(Y_hat; Z)`` with a bootstrap interval and its bounds.

``Z`` says which of two sets a row comes from (by default: 1 for the forget
rows, 0 for held-out rows of the same distribution, the membership question;
forget against retain gives the training regularizer of the paper). ``Y_hat``
is a label drawn from the model's soft prediction. The plug-in estimate is
:func:`jaxunlearn.info.prediction_mi` on the pooled rows; a stratified
bootstrap (rows resampled within each group, keyed, vmapped) gives a
percentile interval.

Standard consequences reported beside it (Xu & Strohmer, arXiv:2502.05684), with
``pi = P(Z = 1)``, the group laws ``P_k = law(Y_hat | Z = k)``:

* Pinsker on each group against the mixture gives
  :math:`I \ge 2 \pi_0 \pi_1 \mathrm{TV}(P_0, P_1)^2`, so
  :math:`\mathrm{TV} \le \sqrt{I / (2 \pi_0 \pi_1)}`.
* Any membership test that sees ``Y_hat`` has advantage
  ``TPR - FPR <= TV`` (so at most ``min(1, TV bound)``).
* Fano (binary ``Z``): :math:`h_b(P_{err}) \ge H(Z) - I`, so the error of
  any guess of ``Z`` from ``Y_hat`` is at least
  :math:`h_b^{-1}(\max(H(Z) - I, 0))` (inverse on ``[0, 1/2]``).

References:
  Xu & Strohmer, "Machine Unlearning via Information Theoretic
  Regularization", arXiv:2502.05684, 2025. https://arxiv.org/abs/2502.05684

  Cover & Thomas, "Elements of Information Theory", 2nd ed., Wiley, 2006,
  sections 2.10 (Fano) and 11.6 (Pinsker).

  Efron & Tibshirani, "An Introduction to the Bootstrap", Chapman & Hall,
  1993, chapter 13 (percentile intervals).
"""

import functools
from typing import NamedTuple

from jaxtyping import Array, ArrayLike, Float

import jax
import jax.numpy as jnp

from jaxunlearn import _checks
from jaxunlearn.info import (
    fano_bound,
    membership_advantage_bound,
    prediction_mi,
    tv_bound,
)
from jaxunlearn.info._simplex import check_probs


class MIBounds(NamedTuple):
    """Guarantees implied by a value of ``I(Y_hat; Z)`` (arXiv:2502.05684).

    Attributes:
      tv_bound: ``min(1, sqrt(I / (2 pi_0 pi_1)))``, bound on the total
        variation between the two groups' prediction laws.
      advantage_bound: ``min(1, tv_bound)``, bound on any membership test's
        ``TPR - FPR`` from ``Y_hat``.
      fano_error_bound: lower bound on the error probability of any guess of
        ``Z`` from ``Y_hat``.
    """

    tv_bound: Array
    advantage_bound: Array
    fano_error_bound: Array


class MIAuditOutput(NamedTuple):
    """Result of :func:`mi_audit`.

    Attributes:
      mi: plug-in ``I(Y_hat; Z)`` in nats on the given rows.
      lower: lower end of the bootstrap percentile interval.
      upper: upper end of the interval.
      tv: empirical total variation between the groups' mean predictions.
      bounds: :class:`MIBounds` computed from ``mi``.
      bounds_upper: :class:`MIBounds` from ``upper`` (the conservative
        reading: bounds that hold at the interval's top).
      pi: ``P(Z = 1)``, the share of rows in the second group.
      bootstrap: ``[num_bootstrap]`` resampled MI values.
    """

    mi: Array
    lower: Array
    upper: Array
    tv: Array
    bounds: MIBounds
    bounds_upper: MIBounds
    pi: Array
    bootstrap: Array


def mi_bounds(
    mi: Float[ArrayLike, "..."], pi: Float[ArrayLike, "..."]
) -> MIBounds:
    r"""TV, membership-advantage and Fano bounds implied by ``I(Y_hat; Z)``.

    .. math::
       \mathrm{TV} \le \min\Big(1, \sqrt{\frac{I}{2 \pi_0 \pi_1}}\Big), \quad
       \mathrm{Adv} \le \min(1, \mathrm{TV}), \quad
       P_{err} \ge h_b^{-1}\big(\max(h_b(\pi) - I, 0)\big).

    Args:
      mi: mutual information in nats (``>= 0``), any shape.
      pi: ``P(Z = 1)`` in ``(0, 1)``, broadcastable with ``mi``.

    Returns:
      An :class:`MIBounds` with arrays shaped like ``mi``; thin wrappers of
      :func:`jaxunlearn.info.tv_bound`,
      :func:`jaxunlearn.info.membership_advantage_bound` and
      :func:`jaxunlearn.info.fano_bound` with ``pi_0 = 1 - pi``.

    Raises:
      TypeError: when ``mi`` is not floating.
      ValueError: when a concrete ``mi`` is negative or ``pi`` outside
        ``(0, 1)``.

    References:
      Cover & Thomas, "Elements of Information Theory", 2nd ed., 2006,
      sections 2.10 and 11.6.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.audit import mi_bounds
      >>> b = mi_bounds(jnp.float32(0.0), jnp.float32(0.5))
      >>> float(b.tv_bound), round(float(b.fano_error_bound), 3)
      (0.0, 0.5)
    """
    mi = _checks.as_array("mi", mi)
    _checks.check_floating("mi", mi)
    _checks.check_nonnegative("mi", mi)
    pi = jnp.asarray(pi, mi.dtype)
    if _checks.is_concrete(pi) and not bool(jnp.all((pi > 0) & (pi < 1))):
        raise ValueError(f"pi: expected values in (0, 1), got {pi.tolist()!r}")
    tv = tv_bound(mi, 1 - pi)
    group_probs = jnp.stack(jnp.broadcast_arrays(1 - pi, pi), axis=-1)
    return MIBounds(
        tv_bound=tv,
        advantage_bound=membership_advantage_bound(mi, 1 - pi),
        fano_error_bound=fano_bound(mi, group_probs),
    )


def _pooled_mi(p0: Array, p1: Array) -> Array:
    probs = jnp.concatenate([p0, p1])
    z = jnp.concatenate(
        [jnp.zeros(p0.shape[0], jnp.int32), jnp.ones(p1.shape[0], jnp.int32)]
    )
    return prediction_mi(probs, z, num_groups=2)


@functools.partial(jax.jit, static_argnums=(3, 4))
def _audit_core(p0, p1, key, num_bootstrap, confidence):
    m, k = p0.shape[0], p1.shape[0]

    def resample(kk):
        k0, k1 = jax.random.split(kk)
        i0 = jax.random.randint(k0, (m,), 0, m)
        i1 = jax.random.randint(k1, (k,), 0, k)
        return _pooled_mi(p0[i0], p1[i1])

    boot = jax.vmap(resample)(jax.random.split(key, num_bootstrap))
    alpha = (1 - confidence) / 2
    qs = jnp.array([alpha, 1 - alpha], p0.dtype)
    lower, upper = jnp.quantile(boot, qs)
    return _pooled_mi(p0, p1), boot, lower, upper


def mi_audit(
    probs_0: Float[ArrayLike, "m c"],
    probs_1: Float[ArrayLike, "k c"],
    *,
    key: Array,
    num_bootstrap: int = 200,
    confidence: float = 0.95,
) -> MIAuditOutput:
    """Plug-in ``I(Y_hat; Z)`` between two groups, bootstrap CI and bounds.

    Args:
      probs_0: soft predictions ``[m, c]`` on the ``Z = 0`` rows (e.g.
        held-out rows), rows on the simplex.
      probs_1: soft predictions ``[k, c]`` on the ``Z = 1`` rows (e.g. the
        forget rows).
      key: PRNG key for the bootstrap.
      num_bootstrap: number of stratified bootstrap resamples (static).
      confidence: level of the two-sided percentile interval, in ``(0, 1)``.

    Returns:
      An :class:`MIAuditOutput`. The plug-in estimator is biased upwards on
      small samples (about ``(c - 1) / (2 n)`` nats), so an audit of an
      exactly unlearned model shows a small positive ``mi``; compare with a
      retrained model's audit on the same rows.

    Raises:
      ValueError: on rank or class-count mismatch, empty groups, rows off
        the probability simplex, a confidence outside ``(0, 1)``.
      TypeError: on non-floating input, mixed dtypes or a non-key ``key``.

    References:
      Xu & Strohmer, arXiv:2502.05684, 2025; Efron & Tibshirani, 1993.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxunlearn.audit import mi_audit
      >>> p = jnp.array([[0.5, 0.5], [0.5, 0.5]])
      >>> out = mi_audit(p, p, key=jax.random.key(0), num_bootstrap=8)
      >>> float(out.mi), float(out.bounds.tv_bound)
      (0.0, 0.0)
    """
    p0 = _checks.as_array("probs_0", probs_0)
    p1 = _checks.as_array("probs_1", probs_1)
    for name, p in (("probs_0", p0), ("probs_1", p1)):
        _checks.check_floating(name, p)
        _checks.check_rank(name, p, 2)
        _checks.check_nonempty(name, p)
    _checks.check_shape("probs_1", p1, (None, p0.shape[1]))
    _checks.check_same_dtype(probs_0=p0, probs_1=p1)
    check_probs("probs_0", p0, -1)
    check_probs("probs_1", p1, -1)
    _checks.check_key("key", key)
    _checks.check_positive_int("num_bootstrap", num_bootstrap, minimum=2)
    if not 0 < confidence < 1:
        raise ValueError(
            f"confidence: expected a value in (0, 1), got {confidence!r}"
        )
    mi, boot, lower, upper = _audit_core(
        p0, p1, key, num_bootstrap, float(confidence)
    )
    dtype = p0.dtype
    m, k = p0.shape[0], p1.shape[0]
    pi = jnp.asarray(k / (m + k), dtype)
    tv = 0.5 * jnp.sum(jnp.abs(jnp.mean(p0, axis=0) - jnp.mean(p1, axis=0)))
    return MIAuditOutput(
        mi=mi,
        lower=lower,
        upper=upper,
        tv=tv,
        bounds=mi_bounds(mi, pi),
        bounds_upper=mi_bounds(upper, pi),
        pi=pi,
        bootstrap=boot,
    )
