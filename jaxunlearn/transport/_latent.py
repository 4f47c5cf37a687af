r"""A fast image baseline: Gaussian barycenter maps in a PCA latent space.

Samples are flattened, centred on the pooled mean and projected on the top
``k`` principal directions ``V`` (``[D, k]``). Each group's latent law is
summarized by its mean ``m_z`` and covariance ``S_z`` and sent to the
Gaussian Wasserstein-2 barycenter ``N(m_bar, S_bar)`` of the paper:

.. math::
   S \leftarrow S^{-1/2}\Big(\sum_z \lambda_z (S^{1/2} S_z S^{1/2})^{1/2}
   \Big)^2 S^{-1/2}, \qquad
   T_z(l) = m_{bar} + A_z (l - m_z),

   A_z = S_z^{-1/2} (S_z^{1/2} S_{bar} S_z^{1/2})^{1/2} S_z^{-1/2}.

The latent move is decoded back to pixel space and added to the sample,
``x_t = x + t (T_z(l) - l) V^T``, so the part of ``x`` orthogonal to the
latent space is kept as it is. Any number of groups is allowed. Groups then
agree in the first two moments of their top-``k`` PCA coordinates only (a
pseudo-barycenter), not in law.

References:
  Alvarez-Esteban, del Barrio, Cuesta-Albertos and Matran, "A fixed-point
  approach to barycenters in Wasserstein space", J. Math. Anal. Appl. 441,
  2016. https://doi.org/10.1016/j.jmaa.2016.04.045
"""

# TODO(h1-transport-feature): reuse jaxunlearn.transport's Gaussian
# barycenter and map once that branch lands; this file implements the same
# formulas with numerics.sqrtm so the baseline does not wait on it.

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int

from jaxunlearn import _checks
from jaxunlearn.numerics import fixed_point, sqrtm, sqrtm_and_inv_sqrtm


@functools.partial(
    jax.tree_util.register_dataclass,
    data_fields=["mean", "components", "maps", "offsets", "weights"],
    meta_fields=["sample_shape"],
)
@dataclasses.dataclass(frozen=True)
class PCAGaussianBarycenter:
    """Fitted PCA-Gaussian barycenter maps (a frozen pytree).

    Attributes:
      mean: pooled mean ``[D]`` of the flattened samples.
      components: orthonormal principal directions ``[D, k]``.
      maps: latent linear maps ``A_z``, ``[K, k, k]``.
      offsets: ``m_bar - A_z m_z``, ``[K, k]``, so ``T_z(l) = A_z l +
        offsets_z``.
      weights: group weights ``[K]`` (summing to one).
      sample_shape: per-sample shape (static).
    """

    mean: Array
    components: Array
    maps: Array
    offsets: Array
    weights: Array
    sample_shape: tuple[int, ...]


def _barycenter_cov(covs: Array, weights: Array, max_iter: int) -> Array:
    def step(s, params):
        c, w = params
        root, inv_root = sqrtm_and_inv_sqrtm(s)
        inner = sqrtm(root[None] @ c @ root[None])
        mid = jnp.einsum("k,kij->ij", w, inner)
        new = inv_root @ mid @ mid @ inv_root
        return 0.5 * (new + new.T)

    s0 = jnp.einsum("k,kij->ij", weights, covs)
    tol = 10 * float(jnp.finfo(covs.dtype).eps) ** 0.5
    out = fixed_point(step, s0, (covs, weights), tol=tol, max_iter=max_iter)
    return out.value


def fit_pca_gaussian_barycenter(
    x: Float[ArrayLike, "n ..."],
    z: Int[ArrayLike, " n"],
    *,
    num_groups: int | None = None,
    num_components: int | None = None,
    weights: Float[ArrayLike, " k"] | None = None,
    ridge: float = 1e-4,
    max_iter: int = 200,
) -> PCAGaussianBarycenter:
    """Fits Gaussian barycenter maps in a PCA latent space.

    Args:
      x: samples ``[n, ...]`` (vectors or images of any shape).
      z: group codes ``[n]`` in ``0 .. num_groups - 1``; at least two groups
        must be present.
      num_groups: number of groups ``K``; default ``max(z) + 1``.
      num_components: latent dimension ``k`` (at most ``min(n, D)``);
        default ``min(32, n, D)``.
      weights: group weights ``[K]``; default the group proportions.
      ridge: added to each latent covariance's diagonal, relative to the
        mean latent variance (keeps small groups well posed).
      max_iter: iterations of the barycenter fixed point.

    Returns:
      A :class:`PCAGaussianBarycenter`.

    Raises:
      ValueError, TypeError: non-floating or non-finite samples, bad codes,
        fewer than two groups, an empty group, bad weights or sizes.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxunlearn.transport import (
      ...     fit_pca_gaussian_barycenter, pca_gaussian_transform)
      >>> x = jax.random.normal(jax.random.key(0), (40, 3, 3))
      >>> z = jnp.arange(40) % 2
      >>> m = fit_pca_gaussian_barycenter(x, z, num_components=4)
      >>> pca_gaussian_transform(m, x, z).shape
      (40, 3, 3)
    """
    x = _checks.as_array("x", x)
    _checks.check_floating("x", x)
    _checks.check_nonempty("x", x)
    if x.ndim < 2:
        raise ValueError(
            f"x: expected samples [n, ...] of rank >= 2, got rank {x.ndim}"
        )
    _checks.check_finite("x", x)
    z = _checks.as_array("z", z)
    _checks.check_integer("z", z)
    _checks.check_shape("z", z, (x.shape[0],))
    zn = np.asarray(z).astype(np.int64)
    if np.unique(zn).size < 2:
        raise ValueError(
            "z: expected at least two groups, got a single group"
            f" {np.unique(zn).tolist()}"
        )
    if num_groups is None:
        num_groups = int(zn.max()) + 1
    _checks.check_positive_int("num_groups", num_groups, minimum=2)
    if zn.min() < 0 or zn.max() >= num_groups:
        raise ValueError(
            f"z: expected codes in 0..{num_groups - 1}, got"
            f" {np.unique(zn).tolist()}"
        )
    counts = np.bincount(zn, minlength=num_groups)
    if np.any(counts == 0):
        raise ValueError(f"z: group sizes {counts.tolist()} include an empty")
    n = x.shape[0]
    flat = x.reshape(n, -1)
    d = flat.shape[1]
    if num_components is None:
        num_components = min(32, n, d)
    _checks.check_positive_int("num_components", num_components)
    if num_components > min(n, d):
        raise ValueError(
            f"num_components: expected at most min(n, D) = {min(n, d)}, got"
            f" {num_components}"
        )
    dtype = x.dtype
    if weights is None:
        w = jnp.asarray(counts / counts.sum(), dtype=dtype)
    else:
        w = _checks.as_array("weights", weights)
        _checks.check_weights("weights", w, num_groups)
        w = (w / jnp.sum(w)).astype(dtype)
    return _fit(
        flat, jnp.asarray(zn, jnp.int32), w, num_components, num_groups,
        ridge, max_iter, tuple(x.shape[1:]),
    )  # fmt: skip


@functools.partial(jax.jit, static_argnums=(3, 4, 6, 7))
def _fit(flat, z, w, k, num_groups, ridge, max_iter, sample_shape):
    dtype = flat.dtype
    mean = jnp.mean(flat, axis=0)
    centred = flat - mean[None, :]
    _, _, vt = jnp.linalg.svd(centred, full_matrices=False)
    comps = vt[:k].T
    lat = centred @ comps
    onehot = (
        z[:, None] == jnp.arange(num_groups, dtype=jnp.int32)[None, :]
    ).astype(dtype)
    cnt = jnp.sum(onehot, axis=0)
    means = (onehot.T @ lat) / cnt[:, None]
    dev = lat[None, :, :] - means[:, None, :]
    covs = jnp.einsum("nk,kni,knj->kij", onehot, dev, dev) / cnt[:, None, None]
    scale = jnp.trace(jnp.mean(covs, axis=0)) / k
    eye = jnp.eye(k, dtype=dtype)
    covs = covs + (jnp.asarray(ridge, dtype) * scale) * eye[None]
    s_bar = _barycenter_cov(covs, w, max_iter)
    m_bar = w @ means
    root, inv_root = sqrtm_and_inv_sqrtm(covs)
    inner = sqrtm(root @ s_bar[None] @ root)
    maps = inv_root @ inner @ inv_root
    offsets = m_bar[None, :] - jnp.einsum("kij,kj->ki", maps, means)
    return PCAGaussianBarycenter(mean, comps, maps, offsets, w, sample_shape)


def pca_gaussian_transform(
    model: PCAGaussianBarycenter,
    x: Float[ArrayLike, "n ..."],
    z: Int[ArrayLike, " n"],
    *,
    t: float | Float[ArrayLike, ""] = 1.0,
    keep_residual: bool = True,
) -> Float[Array, "n ..."]:
    r"""Moves each sample toward the latent Gaussian barycenter.

    .. math:: x_t = x + t\,(T_z(l) - l) V^\top, \qquad l = (x - \bar x) V

    With ``keep_residual=False`` the full repair is the decoded latent image
    alone, ``x_1 = \bar x + T_z(l) V^T`` (the part of ``x`` orthogonal to
    the latent space, and any ``Z`` information in it, is dropped), and
    ``x_t = (1 - t) x + t x_1``.

    Args:
      model: from :func:`fit_pca_gaussian_barycenter`.
      x: samples ``[n, ...]`` of the fitted per-sample shape.
      z: group codes ``[n]``.
      t: repair strength in ``[0, 1]``.
      keep_residual: keep the out-of-latent part of ``x`` (default) or
        replace ``x`` by its decoded repaired latent code.

    Returns:
      Repaired samples, same shape and dtype as ``x``.

    Raises:
      ValueError, TypeError: on a shape or dtype other than the fitted one,
        non-finite samples, bad codes or ``t``.
    """
    x = _checks.as_array("x", x)
    _checks.check_floating("x", x)
    _checks.check_finite("x", x)
    if tuple(x.shape[1:]) != model.sample_shape:
        raise ValueError(
            f"x: expected samples of shape {model.sample_shape} (as fitted),"
            f" got {tuple(x.shape[1:])}"
        )
    if x.dtype != model.mean.dtype:
        raise TypeError(
            f"x: expected dtype {model.mean.dtype} (as fitted), got {x.dtype}"
        )
    z = _checks.as_array("z", z)
    _checks.check_integer("z", z)
    _checks.check_shape("z", z, (x.shape[0],))
    k = model.maps.shape[0]
    if _checks.is_concrete(z) and x.shape[0]:
        zn = np.asarray(z)
        if zn.min() < 0 or zn.max() >= k:
            raise ValueError(f"z: expected codes in 0..{k - 1}")
    _checks.check_unit_interval("t", t)
    return _transform(
        model, x, z, jnp.asarray(t, dtype=x.dtype), bool(keep_residual)
    )


@functools.partial(jax.jit, static_argnums=(4,))
def _transform(model, x, z, t, keep_residual):
    n = x.shape[0]
    flat = x.reshape(n, -1)
    lat = (flat - model.mean[None, :]) @ model.components
    a = model.maps[z]
    moved = jnp.einsum("nij,nj->ni", a, lat) + model.offsets[z]
    if keep_residual:
        delta = (moved - lat) @ model.components.T
    else:
        delta = model.mean[None, :] + moved @ model.components.T - flat
    return (flat + t * delta).reshape(x.shape)
