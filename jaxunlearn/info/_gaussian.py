r"""Closed forms for Gaussian laws: entropy, KL divergence, block MI.

All log-determinants go through a Cholesky factor of the symmetrised
covariance, ``log det S = 2 sum_i log L_ii``; the covariances must be
symmetric positive definite (checked eagerly: a failed Cholesky raises
``ValueError``; under ``jit`` a non-SPD input gives NaN). Leading axes are
batch axes.

References:
  Cover & Thomas, "Elements of Information Theory", 2nd ed., Wiley, 2006,
  theorem 8.4.1 and section 8.5. https://doi.org/10.1002/047174882X

  Duchi, "Derivations for linear algebra and optimization", 2007, section 9
  (KL divergence between multivariate normals).
"""

import functools
from typing import Any

from jaxtyping import Array, ArrayLike, Float

import jax
import jax.numpy as jnp
import numpy as np

from jaxunlearn import _checks
from jaxunlearn.numerics import symmetrize


def _cov(name: str, cov: Any) -> Array:
    cov = _checks.as_array(name, cov)
    _checks.check_floating(name, cov)
    if cov.ndim < 2 or cov.shape[-1] != cov.shape[-2] or cov.shape[-1] == 0:
        raise ValueError(
            f"{name}: expected square covariance matrices [..., d, d] with"
            f" d >= 1, got shape {cov.shape}"
        )
    _checks.check_finite(name, cov)
    return symmetrize(cov)


def _spd_check(name: str, chol: Array) -> None:
    """Raises (eagerly) when a Cholesky factor holds NaN: input not SPD."""
    if _checks.is_concrete(chol) and not bool(jnp.all(jnp.isfinite(chol))):
        raise ValueError(
            f"{name}: expected symmetric positive definite matrices, got a"
            " matrix whose Cholesky factorisation fails"
        )


_cholesky = jax.jit(jnp.linalg.cholesky)


def _logdet(chol: Array) -> Array:
    diag = jnp.diagonal(chol, axis1=-2, axis2=-1)
    return 2 * jnp.sum(jnp.log(diag), axis=-1)


_logdet_jit = jax.jit(_logdet)


def gaussian_entropy(
    cov: Float[ArrayLike, "... d d"],
) -> Float[Array, "..."]:
    r"""Differential entropy of ``N(m, S)`` in nats (independent of ``m``).

    .. math:: h = \tfrac12 \log\det(2\pi e S)
       = \tfrac{d}{2}\log(2\pi e) + \tfrac12 \log\det S.

    Args:
      cov: SPD covariances ``[..., d, d]``.

    Returns:
      ``[...]``, the differential entropy (may be negative).

    Raises:
      TypeError: when ``cov`` is not floating.
      ValueError: when ``cov`` is not square, not finite or (eagerly) not
        positive definite.

    References:
      Cover & Thomas, "Elements of Information Theory", 2nd ed., 2006,
      theorem 8.4.1.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.info import gaussian_entropy
      >>> round(float(gaussian_entropy(jnp.eye(1))), 4)  # 0.5 log(2 pi e)
      1.4189
    """
    cov = _cov("cov", cov)
    d = cov.shape[-1]
    const = 0.5 * d * np.log(2 * np.pi * np.e)
    chol = _cholesky(cov)
    _spd_check("cov", chol)
    return const + 0.5 * _logdet_jit(chol)


def gaussian_kl_divergence(
    mean0: Float[ArrayLike, "... d"],
    cov0: Float[ArrayLike, "... d d"],
    mean1: Float[ArrayLike, "... d"],
    cov1: Float[ArrayLike, "... d d"],
) -> Float[Array, "..."]:
    r"""``KL(N(m0, S0) || N(m1, S1))`` in nats.

    .. math:: \mathrm{KL} = \tfrac12 \big[\operatorname{tr}(S_1^{-1} S_0)
       + (m_1 - m_0)^\top S_1^{-1} (m_1 - m_0) - d
       + \log\det S_1 - \log\det S_0\big].

    Args:
      mean0: ``[..., d]`` mean of the first law.
      cov0: ``[..., d, d]`` SPD covariance of the first law.
      mean1: ``[..., d]`` mean of the second law.
      cov1: ``[..., d, d]`` SPD covariance of the second law.

    Returns:
      ``[...]``, the divergence (``>= 0``, 0 iff the laws agree).

    Raises:
      TypeError: on non-floating or mixed-dtype inputs.
      ValueError: on inconsistent shapes or (eagerly) non-SPD covariances.

    References:
      Duchi, "Derivations for linear algebra and optimization", 2007,
      section 9. https://web.stanford.edu/~jduchi/projects/general_notes.pdf

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.info import gaussian_kl_divergence
      >>> m, s = jnp.zeros(2), jnp.eye(2)
      >>> float(gaussian_kl_divergence(m, s, m + 1.0, s))  # |dm|^2 / 2
      1.0
    """
    cov0, cov1 = _cov("cov0", cov0), _cov("cov1", cov1)
    mean0 = _checks.as_array("mean0", mean0)
    mean1 = _checks.as_array("mean1", mean1)
    _checks.check_floating("mean0", mean0)
    _checks.check_floating("mean1", mean1)
    _checks.check_same_dtype(mean0=mean0, cov0=cov0, mean1=mean1, cov1=cov1)
    _checks.check_shape("cov1", cov1, cov0.shape)
    _checks.check_shape("mean0", mean0, cov0.shape[:-1])
    _checks.check_shape("mean1", mean1, cov0.shape[:-1])
    l0, l1 = _cholesky(cov0), _cholesky(cov1)
    _spd_check("cov0", l0)
    _spd_check("cov1", l1)
    return _kl_from_chol(mean0, l0, mean1, l1)


@jax.jit
def _kl_from_chol(mean0: Array, l0: Array, mean1: Array, l1: Array) -> Array:
    d = l0.shape[-1]
    # tr(S1^-1 S0) = ||L1^-1 L0||_F^2 and the Mahalanobis term via L1^-1 dm.
    w = jnp.linalg.solve(l1, l0)
    v = jnp.linalg.solve(l1, (mean1 - mean0)[..., None])[..., 0]
    trace = jnp.sum(w * w, axis=(-2, -1))
    maha = jnp.sum(v * v, axis=-1)
    kl = 0.5 * (trace + maha - d + _logdet(l1) - _logdet(l0))
    return jnp.maximum(kl, 0)


def gaussian_mutual_information(
    cov: Float[ArrayLike, "... d d"],
    split: int,
) -> Float[Array, "..."]:
    r"""``I(A; B)`` between two blocks of a joint Gaussian vector.

    With ``A`` the first ``split`` coordinates and ``B`` the rest,

    .. math:: I(A; B) = \tfrac12 \big[\log\det S_{AA} + \log\det S_{BB}
       - \log\det S\big];

    for a bivariate normal with correlation ``rho`` this is
    ``-1/2 log(1 - rho^2)``.

    Args:
      cov: joint SPD covariance ``[..., d, d]``.
      split: static int in ``[1, d)``, the size of the first block.

    Returns:
      ``[...]``, the mutual information in nats.

    Raises:
      TypeError: when ``cov`` is not floating or ``split`` is not an int.
      ValueError: when ``split`` is out of range or ``cov`` is not SPD.

    References:
      Cover & Thomas, "Elements of Information Theory", 2nd ed., 2006,
      section 8.5 and problem 8.9.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.info import gaussian_mutual_information
      >>> s = jnp.array([[1.0, 0.6], [0.6, 1.0]])
      >>> round(float(gaussian_mutual_information(s, 1)), 4)
      0.2231
    """
    cov = _cov("cov", cov)
    d = cov.shape[-1]
    _checks.check_positive_int("split", split, minimum=1)
    if split >= d:
        raise ValueError(
            f"split: expected an int in [1, {d}) for d = {d}, got {split}"
        )
    chol = _cholesky(cov)
    _spd_check("cov", chol)
    return _block_mi(cov, split)


@functools.partial(jax.jit, static_argnums=1)
def _block_mi(cov: Array, split: int) -> Array:
    full = _logdet(jnp.linalg.cholesky(cov))
    a = _logdet(jnp.linalg.cholesky(cov[..., :split, :split]))
    b = _logdet(jnp.linalg.cholesky(cov[..., split:, split:]))
    return jnp.maximum(0.5 * (a + b - full), 0)
