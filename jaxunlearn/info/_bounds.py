r"""What a small ``I(Y_hat; Z)`` guarantees (Xu & Strohmer, arXiv:2502.05684).

With ``P_z`` the law of the model output given ``Z = z`` and ``pi_z`` the
group proportions, ``I(Y_hat; Z) = sum_z pi_z KL(P_z || P_bar)`` with
``P_bar = sum_z pi_z P_z``. For two groups, ``P_0 - P_bar = pi_1 (P_0 - P_1)``
so Pinsker's inequality ``KL >= 2 TV^2`` applied to both terms gives

.. math:: I \ge 2 (\pi_0 \pi_1^2 + \pi_1 \pi_0^2)\,\mathrm{TV}^2
   = 2 \pi_0 \pi_1 \mathrm{TV}^2
   \;\Rightarrow\; \mathrm{TV}(P_0, P_1) \le \sqrt{I / (2 \pi_0 \pi_1)}.

Any membership test ``A`` built on ``Y_hat`` has advantage
``P_0(A) - P_1(A) <= TV``. Fano's inequality bounds the error of any
estimator of ``Z`` from ``Y_hat`` from below.

References:
  Pinsker, "Information and information stability of random variables and
  processes", Holden-Day, 1964; Tsybakov, "Introduction to Nonparametric
  Estimation", Springer, 2009, lemma 2.5. https://doi.org/10.1007/b13794

  Yeom, Giacomelli, Fredrikson & Jha, "Privacy risk in machine learning:
  analyzing the connection to overfitting", IEEE CSF, 2018 (membership
  advantage). https://arxiv.org/abs/1709.01604

  Cover & Thomas, "Elements of Information Theory", 2nd ed., 2006,
  theorem 2.10.1 (Fano).
"""

import functools
from typing import Any

from jaxtyping import Array, ArrayLike, Float

import jax
import jax.numpy as jnp

from jaxunlearn import _checks
from jaxunlearn.info._simplex import check_probs
from jaxunlearn.numerics import xlogy


def _mi(mi: Any) -> Array:
    mi = _checks.as_array("mi", mi)
    _checks.check_floating("mi", mi)
    _checks.check_finite("mi", mi)
    return jnp.maximum(mi, 0)


def _pi0(pi0: Any, dtype: Any) -> Array:
    pi0 = _checks.as_array("pi0", pi0)
    _checks.check_floating("pi0", pi0)
    if _checks.is_concrete(pi0) and not bool(jnp.all((pi0 > 0) & (pi0 < 1))):
        raise ValueError(
            f"pi0: expected group proportions in (0, 1), got {pi0.tolist()!r}"
        )
    return pi0.astype(dtype)


def _safe_sqrt(x: Array) -> Array:
    pos = x > 0
    return jnp.where(pos, jnp.sqrt(jnp.where(pos, x, 1)), 0)


def tv_bound(
    mi: Float[ArrayLike, "..."], pi0: Float[ArrayLike, "..."]
) -> Float[Array, "..."]:
    r"""Upper bound on ``TV(law(Y_hat | Z=0), law(Y_hat | Z=1))`` from ``I``.

    .. math:: \mathrm{TV} \le \min\Big(1, \sqrt{\frac{I}{2 \pi_0 \pi_1}}\Big).

    Args:
      mi: ``I(Y_hat; Z)`` in nats, ``[...]`` (negative estimates count as 0).
      pi0: ``P(Z = 0)`` in ``(0, 1)``, broadcastable with ``mi``.

    Returns:
      ``[...]``, the bound in ``[0, 1]``.

    Raises:
      TypeError: on non-floating input.
      ValueError: (eagerly) when ``pi0`` is outside ``(0, 1)`` or ``mi`` is
        not finite.

    References:
      Tsybakov, "Introduction to Nonparametric Estimation", 2009, lemma 2.5
      (Pinsker).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.info import tv_bound
      >>> round(float(tv_bound(jnp.float32(0.02), jnp.float32(0.5))), 4)
      0.2
    """
    mi = _mi(mi)
    pi0 = _pi0(pi0, mi.dtype)
    return jnp.minimum(_safe_sqrt(mi / (2 * pi0 * (1 - pi0))), 1)


def membership_advantage_bound(
    mi: Float[ArrayLike, "..."], pi0: Float[ArrayLike, "..."]
) -> Float[Array, "..."]:
    r"""Upper bound on the advantage of any membership test on ``Y_hat``.

    The advantage ``TPR - FPR = P_0(A) - P_1(A)`` of a test ``A`` is at most
    ``TV(P_0, P_1)``, hence

    .. math:: \mathrm{Adv} \le \min\Big(1, \sqrt{\frac{I}{2\pi_0\pi_1}}\Big),

    and a balanced attack's accuracy is at most ``(1 + Adv) / 2``.

    Args:
      mi: ``I(Y_hat; Z)`` in nats, ``[...]``.
      pi0: ``P(Z = 0)`` in ``(0, 1)``, broadcastable with ``mi``.

    Returns:
      ``[...]``, the advantage bound in ``[0, 1]``.

    Raises:
      TypeError: on non-floating input.
      ValueError: (eagerly) when ``pi0`` is outside ``(0, 1)``.

    References:
      Yeom et al., "Privacy risk in machine learning: analyzing the
      connection to overfitting", IEEE CSF, 2018.
      https://arxiv.org/abs/1709.01604

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.info import membership_advantage_bound
      >>> float(membership_advantage_bound(jnp.float32(0.0), 0.3))
      0.0
    """
    return tv_bound(mi, pi0)


def _binary_entropy(p: Array) -> Array:
    return -xlogy(p, p) - xlogy(1 - p, 1 - p)


def fano_bound(
    mi: Float[ArrayLike, "..."],
    group_probs: Float[ArrayLike, "... k"],
    *,
    n_iter: int = 64,
) -> Float[Array, "..."]:
    r"""Fano lower bound on the error of any estimator of ``Z`` from ``Y_hat``.

    With ``K`` groups, every estimator has ``P_err = P(Z_hat != Z)`` with

    .. math:: h_b(P_{err}) + P_{err} \log(K - 1) \ge H(Z \mid \hat Y)
       = H(Z) - I(\hat Y; Z),

    so ``P_err`` is at least the root in ``[0, 1 - 1/K]`` of the (increasing)
    left side set equal to ``H(Z) - I`` (0 when ``I >= H(Z)``). For ``K = 2``
    this is ``h_b(P_err) >= H(Z) - I`` of the paper. Solved by bisection.

    Args:
      mi: ``I(Y_hat; Z)`` in nats, ``[...]``.
      group_probs: ``[..., k]`` marginal law of ``Z`` (``k >= 2``).
      n_iter: static number of bisection steps (64 reaches float64
        resolution).

    Returns:
      ``[...]``, the lower bound on the error probability.

    Raises:
      TypeError: on non-floating input.
      ValueError: when ``group_probs`` has fewer than 2 groups or (eagerly)
        is off the simplex.

    References:
      Cover & Thomas, "Elements of Information Theory", 2nd ed., 2006,
      theorem 2.10.1.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.info import fano_bound
      >>> round(float(fano_bound(jnp.float32(0.0), jnp.array([0.5, 0.5]))), 3)
      0.5
    """
    mi = _mi(mi)
    probs = _checks.as_array("group_probs", group_probs)
    _checks.check_floating("group_probs", probs)
    if probs.ndim < 1 or probs.shape[-1] < 2:
        raise ValueError(
            "group_probs: expected [..., k] with k >= 2 groups, got shape"
            f" {probs.shape}"
        )
    _checks.check_positive_int("n_iter", n_iter)
    check_probs("group_probs", probs, -1)
    return _fano(mi, probs, n_iter)


@functools.partial(jax.jit, static_argnums=2)
def _fano(mi: Array, probs: Array, n_iter: int) -> Array:
    k = probs.shape[-1]
    target = -jnp.sum(xlogy(probs, probs), axis=-1) - mi.astype(probs.dtype)
    lo = jnp.zeros_like(target)
    hi = jnp.full_like(target, 1 - 1 / k)

    def lhs(p: Array) -> Array:
        return _binary_entropy(p) + p * jnp.log(jnp.asarray(k - 1, p.dtype))

    def step(_: int, bounds: tuple[Array, Array]) -> tuple[Array, Array]:
        lo, hi = bounds
        mid = 0.5 * (lo + hi)
        below = lhs(mid) < target
        return jnp.where(below, mid, lo), jnp.where(below, hi, mid)

    lo, hi = jax.lax.fori_loop(0, n_iter, step, (lo, hi))
    return jnp.where(target > 0, 0.5 * (lo + hi), jnp.zeros_like(target))
