r"""The built-in repair methods: ``"gaussian"`` and ``"quantile"``.

``"gaussian"`` models each group by its mean and (unbiased) covariance
(options: ``tol``, ``max_iter`` of the barycenter and ``ridge``, a multiple of
the average variance added to each covariance, 0 by default) and moves it
to the Gaussian barycenter with the affine maps
``T_z(x) = m_bar + A_z (x - m_z)`` (Xu & Strohmer). On non-Gaussian data this is
the pseudo-barycenter: the repaired groups share their first two moments.
When a group's covariance is (near) singular along a direction in which
the pooled data vary (a one-hot category absent from one group, columns
collinear within a group), ``A_z`` stretches that direction by a huge
factor and rows unlike the fitted ones land far away: ``fit`` then warns
(``RuntimeWarning``, the largest stretch in ``stats.max_stretch``) and
names the ``ridge`` option that bounds it.

``"quantile"`` works column by column: each column's groups go to their
exact one-dimensional Wasserstein barycenter through the quantile maps
``T_z(x) = sum_z' w_z' F_z'^{-1}(u)``, ``u ~ U[F_z(x-), F_z(x)]``
(randomized at ties, so discrete columns are repaired too). Each column's
marginal becomes independent of ``Z``; dependence between columns is not
repaired.

References:
  Alvarez-Esteban, del Barrio, Cuesta-Albertos & Matran, "A fixed-point
  approach to barycenters in Wasserstein space", J. Math. Anal. Appl. 441,
  2016. https://arxiv.org/abs/1511.05355

  Feldman, Friedler, Moeller, Scheidegger & Venkatasubramanian,
  "Certifying and removing disparate impact", KDD 2015.
  https://arxiv.org/abs/1412.3756
"""

import functools
import warnings

from jaxtyping import Array

import jax
import jax.numpy as jnp

from jaxunlearn.feature._repair import RepairMethod, register_method
from jaxunlearn.feature._state import repair_state
from jaxunlearn.transport import (
    QuantileFunction,
    empirical_quantile_kernel,
    gaussian_barycenter_kernel,
    gaussian_transport_matrix_kernel,
    quantile_barycenter_kernel,
    quantile_map_grouped_kernel,
)

# A map that stretches a direction the data vary in by more than this sends
# a new row one (thin) standard deviation off its group's fitted range a
# hundred of them away: the output is no longer a repair of that row.
MAX_STRETCH = 100.0

# ---------------------------------------------------------------- gaussian


@repair_state
class GaussianState:
    """Fitted statistics of the ``"gaussian"`` method.

    Attributes:
      means: group means ``[k, d]``.
      covs: group covariances ``[k, d, d]`` (ridge included).
      bary_mean: barycenter mean ``[d]``.
      bary_cov: barycenter covariance ``[d, d]``.
      maps: ``A_z`` ``[k, d, d]`` (group z to the barycenter).
      inv_maps: ``A_z^{-1}`` ``[k, d, d]`` (the barycenter to group z).
      converged: whether the barycenter's fixed point converged ``[]``.
      n_iters: its iterations ``[]``.
      error: its last relative change ``[]``.
      min_eigenvalue_ratio: smallest ``min(eig) / max(eig)`` of the
        covariances ``[]``.
      near_singular: some covariance is numerically singular ``[]``.
      max_stretch: the largest factor by which a map ``A_z`` stretches a
        direction the pooled data vary in ``[]`` (``None`` in files saved
        before it was recorded).
    """

    means: Array
    covs: Array
    bary_mean: Array
    bary_cov: Array
    maps: Array
    inv_maps: Array
    converged: Array
    n_iters: Array
    error: Array
    min_eigenvalue_ratio: Array
    near_singular: Array
    max_stretch: Array | None = None


def _gaussian_fit(
    x, index, num_groups, weights, *, tol=None, max_iter=200, ridge=0.0
):
    if tol is None:
        tol = -1.0  # gaussian_barycenter's default
    if not isinstance(ridge, int | float) or not ridge >= 0:
        raise ValueError(
            f"options['ridge']: expected a float >= 0, got {ridge!r}"
        )
    state = _gaussian_fit_core(
        x,
        index,
        weights,
        jnp.asarray(tol, x.dtype),
        jnp.asarray(ridge, x.dtype),
        num_groups,
        max_iter,
    )
    stretch = float(state.max_stretch)
    if not stretch <= MAX_STRETCH:
        warnings.warn(
            f"method 'gaussian': a group's map stretches a direction the data"
            f" vary in by a factor of {stretch:.3g} (a near-singular"
            " covariance: a category absent from one group, or columns"
            " collinear within a group), so new rows can be sent far away;"
            " pass options={'ridge': 1e-3} (or larger: a multiple of the"
            f" average variance added to each covariance; now {ridge}) and"
            " standardize the columns",
            RuntimeWarning,
            stacklevel=3,
        )
    return state


def _max_stretch(x, maps):
    """Largest eigenvalue of ``A_z`` on the directions the pooled data span.

    Directions in which no row varies (e.g. the sum of a one-hot block)
    carry no mass at fit or transform time: the eigenvalue floor makes
    ``A_z`` arbitrary there, harmlessly, so they are projected out.
    """
    # In standardized coordinates (the eigenvalues of A_z are the same, the
    # floor below is then relative to unit variances, not to the largest
    # column's).
    std = jnp.std(x, axis=0)
    std = jnp.where(std > 0, std, 1.0)
    centered = (x - jnp.mean(x, axis=0)[None, :]) / std[None, :]
    pooled = centered.T @ centered / x.shape[0]
    vals, vecs = jnp.linalg.eigh(pooled)
    floor = 100 * jnp.finfo(x.dtype).eps * jnp.maximum(vals[-1], 0.0)
    keep = (vals > floor).astype(x.dtype)
    proj = (vecs * keep[None, :]) @ vecs.T
    scaled = maps / std[None, :, None] * std[None, None, :]
    restricted = jnp.einsum("ij,kjl,lm->kim", proj, scaled, proj)
    eig = jnp.linalg.eigvalsh(restricted)
    return jnp.max(jnp.abs(eig))


@functools.partial(jax.jit, static_argnums=(5, 6))
def _gaussian_fit_core(x, index, weights, tol, ridge, num_groups, max_iter):
    dtype = x.dtype
    counts = jax.ops.segment_sum(
        jnp.ones(x.shape[:1], dtype), index, num_segments=num_groups
    )
    means = jax.ops.segment_sum(x, index, num_segments=num_groups)
    means = means / counts[:, None]
    centered = x - means[index]
    outer = centered[:, :, None] * centered[:, None, :]
    covs = jax.ops.segment_sum(outer, index, num_segments=num_groups)
    covs = covs / (counts - 1)[:, None, None]
    # Optional ridge, relative to the average variance: keeps the maps
    # bounded when a group is (near) constant along some direction.
    level = jnp.mean(jnp.trace(covs, axis1=-2, axis2=-1)) / x.shape[1]
    eye = jnp.eye(x.shape[1], dtype=dtype)
    covs = covs + (ridge * level) * eye[None]
    bary = gaussian_barycenter_kernel(means, covs, weights, tol, max_iter)
    matrix = gaussian_transport_matrix_kernel
    maps = jax.vmap(matrix, in_axes=(0, None))(covs, bary.cov)
    # The optimal map from the barycenter back to group z is A_z^{-1}.
    inv_maps = jax.vmap(matrix, in_axes=(None, 0))(bary.cov, covs)
    return GaussianState(
        means=means,
        covs=covs,
        bary_mean=bary.mean,
        bary_cov=bary.cov,
        maps=maps,
        inv_maps=inv_maps,
        converged=bary.converged,
        n_iters=bary.n_iters,
        error=bary.error,
        min_eigenvalue_ratio=bary.min_eigenvalue_ratio,
        near_singular=bary.near_singular,
        max_stretch=_max_stretch(x, maps),
    )


def _gaussian_transform(stats, weights, x, index, key, options):
    del weights, key, options
    a = stats.maps[index]
    centered = x - stats.means[index]
    return stats.bary_mean[None, :] + jnp.einsum("nij,nj->ni", a, centered)


def _gaussian_inverse(stats, weights, x_hat, index, key, options):
    del weights, key, options
    a_inv = stats.inv_maps[index]
    centered = x_hat - stats.bary_mean[None, :]
    return stats.means[index] + jnp.einsum("nij,nj->ni", a_inv, centered)


# ---------------------------------------------------------------- quantile


@repair_state
class QuantileState:
    """Fitted statistics of the ``"quantile"`` method (one law per column).

    Attributes:
      values: the groups' sorted atoms ``[d, k, n_max]`` (padded ``+inf``).
      levels: their cumulative levels ``[d, k, n_max + 1]``.
      count: their atom counts ``[d, k]``.
      bary_values: the barycenter's atoms ``[d, K]``.
      bary_levels: its levels ``[d, K + 1]``.
      bary_count: its atom count ``[d]``.
    """

    values: Array
    levels: Array
    count: Array
    bary_values: Array
    bary_levels: Array
    bary_count: Array

    @property
    def groups(self) -> QuantileFunction:
        """The groups' laws, stacked ``[d, k, ...]``."""
        return QuantileFunction(self.values, self.levels, self.count)

    @property
    def barycenter(self) -> QuantileFunction:
        """The barycenter's laws, stacked ``[d, ...]``."""
        return QuantileFunction(
            self.bary_values, self.bary_levels, self.bary_count
        )


def _quantile_fit(x, index, num_groups, weights):
    n_max = int(jnp.max(jnp.bincount(index, length=num_groups)))
    return _quantile_fit_core(x, index, weights, num_groups, n_max)


@functools.partial(jax.jit, static_argnums=(3, 4))
def _quantile_fit_core(x, index, weights, num_groups, n_max):
    groups = jnp.arange(num_groups, dtype=index.dtype)

    def per_column(col):
        masks = index[None, :] == groups[:, None]  # [k, n]
        q = jax.vmap(lambda m: empirical_quantile_kernel(col, m))(masks)
        q = QuantileFunction(
            q.values[:, :n_max], q.levels[:, : n_max + 1], q.count
        )
        return q, quantile_barycenter_kernel(q, weights)

    groups_q, bary = jax.vmap(per_column, in_axes=1)(x)  # leading [d]
    return QuantileState(
        values=groups_q.values,
        levels=groups_q.levels,
        count=groups_q.count,
        bary_values=bary.values,
        bary_levels=bary.levels,
        bary_count=bary.count,
    )


def _quantile_transform(stats, weights, x, index, key, options):
    del options
    n, d = x.shape
    v = jax.random.uniform(key, (d, n), dtype=x.dtype)
    row_w = jnp.broadcast_to(weights[None, :], (n, weights.shape[0]))

    def per_column(col, q, vc):
        return quantile_map_grouped_kernel(col, index, q, q, row_w, vc)

    out = jax.vmap(per_column, in_axes=(1, 0, 0))(x, stats.groups, v)
    return out.T


def _quantile_inverse(stats, weights, x_hat, index, key, options):
    del options
    n, d = x_hat.shape
    v = jax.random.uniform(key, (d, n), dtype=x_hat.dtype)
    onehot = jax.nn.one_hot(index, weights.shape[0], dtype=x_hat.dtype)
    zeros = jnp.zeros_like(index)

    def per_column(col, q, bar, vc):
        bars = jax.tree.map(lambda a: a[None], bar)
        return quantile_map_grouped_kernel(col, zeros, bars, q, onehot, vc)

    out = jax.vmap(per_column, in_axes=(1, 0, 0, 0))(
        x_hat, stats.groups, stats.barycenter, v
    )
    return out.T


register_method(
    "gaussian",
    RepairMethod(
        fit=_gaussian_fit,
        transform=_gaussian_transform,
        inverse=_gaussian_inverse,
        min_group_size=2,
        state=GaussianState,
    ),
)
register_method(
    "quantile",
    RepairMethod(
        fit=_quantile_fit,
        transform=_quantile_transform,
        inverse=_quantile_inverse,
        min_group_size=1,
        state=QuantileState,
    ),
)
