r"""Gaussian optimal transport: Bures-Wasserstein distance, maps, barycenter.

For ``mu_1 = N(m_1, S_1)`` and ``mu_2 = N(m_2, S_2)`` the squared
Wasserstein-2 distance has the closed form

.. math::
   W_2^2 = \|m_1 - m_2\|^2
         + \operatorname{tr}\big(S_1 + S_2 - 2 (S_1^{1/2} S_2 S_1^{1/2})^{1/2}
           \big),

the optimal map is affine, ``T(x) = m_2 + A (x - m_1)`` with the symmetric
positive definite

.. math:: A = S_1^{-1/2} (S_1^{1/2} S_2 S_1^{1/2})^{1/2} S_1^{-1/2},
   \qquad A S_1 A = S_2,

and the weighted barycenter of ``N(m_z, S_z)`` is ``N(sum w_z m_z, S)`` with
``S`` the unique SPD fixed point of the Alvarez-Esteban et al. iteration

.. math::
   S \leftarrow S^{-1/2} \Big(\sum_z w_z (S^{1/2} S_z S^{1/2})^{1/2}\Big)^2
   S^{-1/2}, \qquad S_0 = \sum_z w_z S_z.

References:
  Alvarez-Esteban, del Barrio, Cuesta-Albertos & Matran, "A fixed-point
  approach to barycenters in Wasserstein space", J. Math. Anal. Appl. 441,
  2016. https://arxiv.org/abs/1511.05355

  Takatsu, "Wasserstein geometry of Gaussian measures", Osaka J. Math. 48,
  2011. https://arxiv.org/abs/0801.2250
"""

import functools
from typing import NamedTuple

from jaxtyping import Array, ArrayLike, Float

import jax
import jax.numpy as jnp
import numpy as np

from jaxunlearn import _checks
from jaxunlearn.numerics import (
    fixed_point,
    min_eigenvalue_ratio,
    sqrtm,
    sqrtm_and_inv_sqrtm,
    symmetrize,
)


class GaussianBarycenterOutput(NamedTuple):
    """Result of :func:`gaussian_barycenter`.

    Attributes:
      mean: barycenter mean ``[d]``.
      cov: barycenter covariance ``[d, d]`` (symmetric positive definite).
      converged: whether the fixed point met ``tol``. ``[]`` bool.
      n_iters: fixed-point iterations run. ``[]`` int32.
      error: last largest absolute change of the covariance, relative to
        the covariance scale. ``[]``.
      min_eigenvalue_ratio: the smallest ``min(eig) / max(eig)`` over the
        input covariances and the barycenter covariance. ``[]``.
      near_singular: ``min_eigenvalue_ratio <= 100 * eps``: some covariance
        is (numerically) singular and the eigenvalue floor of
        :func:`jaxunlearn.numerics.sqrtm` was used. ``[]`` bool.
    """

    mean: Array
    cov: Array
    converged: Array
    n_iters: Array
    error: Array
    min_eigenvalue_ratio: Array
    near_singular: Array


def _check_cov(name: str, cov: Array, rank: int) -> None:
    _checks.check_floating(name, cov)
    _checks.check_rank(name, cov, rank)
    if cov.shape[-1] != cov.shape[-2]:
        raise ValueError(
            f"{name}: expected square matrices [..., d, d], got shape"
            f" {tuple(cov.shape)}"
        )
    _checks.check_finite(name, cov)
    if _checks.is_concrete(cov) and cov.size:
        c = np.asarray(cov, dtype=np.float64)
        scale = max(float(np.max(np.abs(c))), np.finfo(np.float64).tiny)
        asym = float(np.max(np.abs(c - np.swapaxes(c, -1, -2)))) / scale
        limit = float(np.sqrt(jnp.finfo(cov.dtype).eps))
        if asym > limit:
            raise ValueError(
                f"{name}: expected symmetric matrices, got a relative"
                f" asymmetry of {asym:.3g} (limit {limit:.3g})"
            )


def _check_mean_cov(mname: str, mean: Array, cname: str, cov: Array) -> None:
    _checks.check_floating(mname, mean)
    _checks.check_rank(mname, mean, 1)
    _check_cov(cname, cov, 2)
    _checks.check_finite(mname, mean)
    if cov.shape[-1] != mean.shape[0]:
        raise ValueError(
            f"{cname}: expected shape [{mean.shape[0]}, {mean.shape[0]}] to"
            f" match {mname} [{mean.shape[0]}], got {tuple(cov.shape)}"
        )
    _checks.check_same_dtype(**{mname: mean, cname: cov})


def gaussian_w2_squared(
    mean1: Float[ArrayLike, " d"],
    cov1: Float[ArrayLike, "d d"],
    mean2: Float[ArrayLike, " d"],
    cov2: Float[ArrayLike, "d d"],
) -> Float[Array, ""]:
    r"""Squared Wasserstein-2 (Bures-Wasserstein) distance of two Gaussians.

    .. math::
       W_2^2 = \|m_1 - m_2\|^2 + \operatorname{tr}(S_1 + S_2
               - 2 (S_1^{1/2} S_2 S_1^{1/2})^{1/2})

    Args:
      mean1: mean of the first Gaussian ``[d]``.
      cov1: its covariance ``[d, d]`` (symmetric PSD).
      mean2: mean of the second Gaussian ``[d]``.
      cov2: its covariance ``[d, d]`` (symmetric PSD).

    Returns:
      ``W_2^2 >= 0``, a scalar of the inputs' dtype.

    Raises:
      ValueError: on mismatched shapes, non-square or non-symmetric
        covariances, NaN/Inf.
      TypeError: on non-floating or mixed dtypes.

    References:
      Takatsu, "Wasserstein geometry of Gaussian measures", Osaka J. Math.
      48, 2011. https://arxiv.org/abs/0801.2250

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.transport import gaussian_w2_squared
      >>> m, s = jnp.zeros(1), jnp.eye(1)
      >>> float(gaussian_w2_squared(m, s, m + 1.0, 4.0 * s))  # 1 + (2-1)^2
      2.0
    """
    mean1, cov1 = (
        _checks.as_array("mean1", mean1),
        _checks.as_array("cov1", cov1),
    )
    mean2, cov2 = (
        _checks.as_array("mean2", mean2),
        _checks.as_array("cov2", cov2),
    )
    _check_mean_cov("mean1", mean1, "cov1", cov1)
    _check_mean_cov("mean2", mean2, "cov2", cov2)
    _checks.check_shape("mean2", mean2, mean1.shape)
    _checks.check_same_dtype(cov1=cov1, cov2=cov2)
    return _w2_squared(mean1, cov1, mean2, cov2)


@jax.jit
def _w2_squared(mean1, cov1, mean2, cov2):
    r1 = sqrtm(cov1)
    cross = sqrtm(r1 @ cov2 @ r1)
    bures = jnp.trace(cov1) + jnp.trace(cov2) - 2.0 * jnp.trace(cross)
    out = jnp.sum((mean1 - mean2) ** 2) + bures
    return jnp.maximum(out, jnp.zeros_like(out))


def gaussian_transport_matrix(
    cov_source: Float[ArrayLike, "d d"], cov_target: Float[ArrayLike, "d d"]
) -> Float[Array, "d d"]:
    r"""The linear part ``A`` of the optimal map between two Gaussians.

    .. math:: A = S_1^{-1/2} (S_1^{1/2} S_2 S_1^{1/2})^{1/2} S_1^{-1/2}

    ``A`` is symmetric positive definite and ``A S_1 A = S_2``. A singular
    ``S_1`` is regularized by the eigenvalue floor of
    :func:`jaxunlearn.numerics.inv_sqrtm` (the map is then large along the
    null directions, which carry no mass).

    Args:
      cov_source: source covariance ``S_1`` ``[d, d]`` (SPD).
      cov_target: target covariance ``S_2`` ``[d, d]`` (symmetric PSD).

    Returns:
      ``A`` ``[d, d]``.

    Raises:
      ValueError: on non-square, non-symmetric or mismatched matrices.
      TypeError: on non-floating or mixed dtypes.

    References:
      Knott & Smith, "On the optimal mapping of distributions", J. Optim.
      Theory Appl. 43, 1984. https://doi.org/10.1007/BF00934745

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.transport import gaussian_transport_matrix
      >>> a = gaussian_transport_matrix(jnp.eye(2), 4.0 * jnp.eye(2))
      >>> a.round(4).tolist()
      [[2.0, 0.0], [0.0, 2.0]]
    """
    s1 = _checks.as_array("cov_source", cov_source)
    s2 = _checks.as_array("cov_target", cov_target)
    _check_cov("cov_source", s1, 2)
    _check_cov("cov_target", s2, 2)
    _checks.check_shape("cov_target", s2, s1.shape)
    _checks.check_same_dtype(cov_source=s1, cov_target=s2)
    return _transport_matrix(s1, s2)


@jax.jit
def _transport_matrix(s1: Array, s2: Array) -> Array:
    r, r_inv = sqrtm_and_inv_sqrtm(s1)
    middle = sqrtm(r @ s2 @ r)
    return symmetrize(r_inv @ middle @ r_inv)


def gaussian_transport_map(
    x: Float[ArrayLike, "n d"],
    mean_source: Float[ArrayLike, " d"],
    cov_source: Float[ArrayLike, "d d"],
    mean_target: Float[ArrayLike, " d"],
    cov_target: Float[ArrayLike, "d d"],
) -> Float[Array, "n d"]:
    r"""Applies the optimal map ``N(m_1, S_1) -> N(m_2, S_2)`` to points.

    .. math:: T(x) = m_2 + A (x - m_1)

    with ``A`` from :func:`gaussian_transport_matrix`. On non-Gaussian data
    with empirical moments it matches the first two moments.

    Args:
      x: points ``[n, d]`` (or one point ``[d]``).
      mean_source: ``m_1`` ``[d]``.
      cov_source: ``S_1`` ``[d, d]``.
      mean_target: ``m_2`` ``[d]``.
      cov_target: ``S_2`` ``[d, d]``.

    Returns:
      ``T(x)``, shaped like ``x``.

    Raises:
      ValueError: on mismatched shapes or bad covariances.
      TypeError: on non-floating or mixed dtypes.

    References:
      Knott & Smith, "On the optimal mapping of distributions", J. Optim.
      Theory Appl. 43, 1984. https://doi.org/10.1007/BF00934745

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.transport import gaussian_transport_map
      >>> m, s = jnp.zeros(1), jnp.eye(1)
      >>> gaussian_transport_map(jnp.array([[1.0]]), m, s, m + 3.0, 4.0 * s)
      Array([[5.]], dtype=float32)
    """
    x = _checks.as_array("x", x)
    m1 = _checks.as_array("mean_source", mean_source)
    m2 = _checks.as_array("mean_target", mean_target)
    s1 = _checks.as_array("cov_source", cov_source)
    s2 = _checks.as_array("cov_target", cov_target)
    _checks.check_floating("x", x)
    _checks.check_rank("x", x, (1, 2))
    _check_mean_cov("mean_source", m1, "cov_source", s1)
    _check_mean_cov("mean_target", m2, "cov_target", s2)
    _checks.check_shape("mean_target", m2, m1.shape)
    if x.shape[-1] != m1.shape[0]:
        raise ValueError(
            f"x: expected {m1.shape[0]} features (the means' length), got"
            f" shape {tuple(x.shape)}"
        )
    _checks.check_finite("x", x)
    _checks.check_same_dtype(x=x, mean_source=m1, mean_target=m2)
    a = _transport_matrix(s1, s2)
    lead = (1,) * (x.ndim - 1)
    return m2.reshape(lead + m2.shape) + (x - m1.reshape(lead + m1.shape)) @ a


def _bary_step(cov: Array, params: tuple[Array, Array]) -> Array:
    covs, weights = params
    r, r_inv = sqrtm_and_inv_sqrtm(cov)
    # (S^{1/2} S_z S^{1/2})^{1/2} for every z at once (one batched eigh).
    inner = sqrtm(jnp.einsum("ij,kjl,lm->kim", r, covs, r))
    m = jnp.einsum("k,kij->ij", weights, inner)
    return symmetrize(r_inv @ (m @ m) @ r_inv)


def gaussian_barycenter(
    means: Float[ArrayLike, "k d"],
    covs: Float[ArrayLike, "k d d"],
    weights: Float[ArrayLike, " k"] | None = None,
    *,
    tol: ArrayLike | None = None,
    max_iter: int = 200,
) -> GaussianBarycenterOutput:
    r"""Weighted Wasserstein-2 barycenter of ``k`` Gaussians.

    Mean ``sum_z w_z m_z``; covariance the SPD solution of
    ``S = sum_z w_z (S^{1/2} S_z S^{1/2})^{1/2}``, computed with the
    provably convergent fixed point of Alvarez-Esteban et al. (2016)
    started at ``sum_z w_z S_z``:

    .. math::
       S \leftarrow S^{-1/2} \Big(\sum_z w_z (S^{1/2} S_z S^{1/2})^{1/2}
       \Big)^2 S^{-1/2}.

    The covariances are divided by their largest mean eigenvalue before
    iterating (the barycenter is 1-homogeneous in them), so ``tol`` is a
    relative tolerance. Works under ``jit`` and ``vmap`` (batches of
    problems); gradients with respect to means, covariances and weights use
    implicit differentiation of the fixed point (no unrolling). Weights are
    renormalized to sum to 1. Singular covariances are regularized by the
    eigenvalue floor of :func:`jaxunlearn.numerics.sqrtm` and flagged in
    ``near_singular``.

    Args:
      means: group means ``[k, d]``.
      covs: group covariances ``[k, d, d]`` (symmetric PSD).
      weights: barycentric weights ``[k]``, non-negative with a positive
        sum; ``None`` means uniform.
      tol: relative tolerance on the largest change of the covariance
        between iterations; ``None`` uses ``eps ** 0.75`` of the dtype
        (about 1.8e-12 in float64, 6.4e-6 in float32), loosened for
        ill-conditioned input to the attainable ``10 eps / r`` (``r`` the
        smallest eigenvalue ratio of the inputs), at most ``eps ** 0.375``.
        A traced value (no recompilation).
      max_iter: the largest number of iterations (static).

    Returns:
      A :class:`GaussianBarycenterOutput` (mean, cov and diagnostics).

    Raises:
      ValueError: on mismatched shapes, non-square or non-symmetric
        covariances, NaN/Inf, weights of the wrong length, negative or all
        zero, or a bad ``max_iter``.
      TypeError: on non-floating or mixed dtypes.

    References:
      Alvarez-Esteban, del Barrio, Cuesta-Albertos & Matran, "A fixed-point
      approach to barycenters in Wasserstein space", J. Math. Anal. Appl.
      441, 2016. https://arxiv.org/abs/1511.05355

      Agueh & Carlier, "Barycenters in the Wasserstein space", SIAM J.
      Math. Anal. 43, 2011. https://doi.org/10.1137/100805741

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.transport import gaussian_barycenter
      >>> covs = jnp.array([[[1.0]], [[9.0]]])  # sigma 1 and 3
      >>> out = gaussian_barycenter(jnp.zeros((2, 1)), covs)
      >>> round(float(out.cov[0, 0]), 4), bool(out.converged)  # (1+3)^2/4
      (4.0, True)
    """
    means = _checks.as_array("means", means)
    covs = _checks.as_array("covs", covs)
    _checks.check_floating("means", means)
    _checks.check_rank("means", means, 2)
    _checks.check_nonempty("means", means)
    _check_cov("covs", covs, 3)
    _checks.check_finite("means", means)
    k, d = means.shape
    _checks.check_shape("covs", covs, (k, d, d))
    _checks.check_same_dtype(means=means, covs=covs)
    _checks.check_positive_int("max_iter", max_iter)
    if weights is None:
        weights = jnp.full((k,), 1.0 / k, dtype=covs.dtype)
    else:
        weights = _checks.as_array("weights", weights)
        _checks.check_weights("weights", weights, k)
        weights = weights.astype(covs.dtype)
    if tol is None:
        tol = -1.0  # computed from the conditioning inside the solver
    else:
        _checks.check_nonnegative("tol", tol)
    return _barycenter(
        means, covs, weights, jnp.asarray(tol, covs.dtype), max_iter
    )


@functools.partial(jax.jit, static_argnames=("max_iter",))
def _barycenter(means, covs, weights, tol, max_iter):
    dtype = covs.dtype
    weights = weights / jnp.sum(weights)
    covs = symmetrize(covs)
    mean = weights @ means
    # Scale to unit size: S_bar(c S_z) = c S_bar(S_z), so the tolerance is
    # relative and the iteration is insensitive to the data's units.
    d = covs.shape[-1]
    scale = jnp.max(jnp.trace(covs, axis1=-2, axis2=-1)) / d
    scale = jnp.maximum(scale, jnp.finfo(dtype).tiny)
    scaled = covs / scale
    s0 = jnp.einsum("k,kij->ij", weights, scaled)
    # Default tolerance: eps^(3/4), loosened for ill-conditioned input to
    # the attainable ~10 eps cond (the update multiplies by S^{-1/2} twice),
    # capped at eps^(3/8). A negative tol means "use the default".
    eps = jnp.finfo(dtype).eps
    cond_ratio = jax.lax.stop_gradient(
        jnp.min(min_eigenvalue_ratio(jnp.concatenate([scaled, s0[None]])))
    )
    attainable = 10 * eps / jnp.maximum(cond_ratio, jnp.finfo(dtype).tiny)
    default = jnp.clip(attainable, eps**0.75, eps**0.375).astype(dtype)
    tol = jnp.where(tol < 0, default, tol)
    out = fixed_point(
        _bary_step, s0, (scaled, weights), tol=tol, max_iter=max_iter
    )
    cov = out.value * scale
    ratios = min_eigenvalue_ratio(jnp.concatenate([scaled, out.value[None]]))
    ratio = jax.lax.stop_gradient(jnp.min(ratios))
    near_singular = ratio <= 100 * jnp.finfo(dtype).eps
    return GaussianBarycenterOutput(
        mean=mean,
        cov=cov,
        converged=out.converged,
        n_iters=out.n_iters,
        error=out.error,
        min_eigenvalue_ratio=ratio,
        near_singular=near_singular,
    )


def gaussian_barycenter_cost(
    means: Float[ArrayLike, "k d"],
    covs: Float[ArrayLike, "k d d"],
    mean: Float[ArrayLike, " d"],
    cov: Float[ArrayLike, "d d"],
    weights: Float[ArrayLike, " k"] | None = None,
) -> Float[Array, ""]:
    r"""The barycentric cost ``V = sum_z w_z W_2^2(N(m_z, S_z), N(m, S))``.

    At the barycenter this is the ``V`` of the frontier (docs/feature.md):
    full repair costs distortion ``V``.

    Args:
      means: group means ``[k, d]``.
      covs: group covariances ``[k, d, d]``.
      mean: candidate barycenter mean ``[d]``.
      cov: candidate barycenter covariance ``[d, d]``.
      weights: ``[k]``, renormalized; ``None`` means uniform.

    Returns:
      ``V``, a scalar.

    Raises:
      ValueError: on mismatched shapes or bad weights.
      TypeError: on non-floating or mixed dtypes.

    References:
      Agueh & Carlier, "Barycenters in the Wasserstein space", SIAM J.
      Math. Anal. 43, 2011. https://doi.org/10.1137/100805741

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.transport import gaussian_barycenter_cost
      >>> means = jnp.array([[-1.0], [1.0]])
      >>> covs = jnp.ones((2, 1, 1))
      >>> float(gaussian_barycenter_cost(means, covs, jnp.zeros(1),
      ...                                jnp.eye(1)))
      1.0
    """
    means = _checks.as_array("means", means)
    covs = _checks.as_array("covs", covs)
    mean = _checks.as_array("mean", mean)
    cov = _checks.as_array("cov", cov)
    _checks.check_rank("means", means, 2)
    _check_cov("covs", covs, 3)
    _check_mean_cov("mean", mean, "cov", cov)
    k, d = means.shape
    _checks.check_shape("covs", covs, (k, d, d))
    _checks.check_shape("mean", mean, (d,))
    _checks.check_same_dtype(means=means, covs=covs, mean=mean)
    if weights is None:
        weights = jnp.full((k,), 1.0 / k, dtype=covs.dtype)
    else:
        weights = _checks.as_array("weights", weights)
        _checks.check_weights("weights", weights, k)
        weights = weights.astype(covs.dtype)
    weights = weights / jnp.sum(weights)
    costs = jax.vmap(_w2_squared, in_axes=(0, 0, None, None))(
        means, covs, mean, cov
    )
    return weights @ costs
