r"""The built-in repair methods: ``"gaussian"`` and ``"quantile"``.

``"gaussian"`` models each group by its mean and (unbiased) covariance
(options: ``tol``, ``max_iter`` of the barycenter and ``ridge``, a multiple of
the average variance added to each covariance, 0 by default) and moves it
to the Gaussian barycenter with the affine maps
``T_z(x) = m_bar + A_z (x - m_z)`` (Xu & Strohmer). On non-Gaussian data this is
the pseudo-barycenter: the repaired groups share their first two moments.

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

import jax
import jax.numpy as jnp

from jaxunlearn.feature._repair import RepairMethod, register_method
from jaxunlearn.transport._gaussian import _barycenter as _gauss_barycenter
from jaxunlearn.transport._gaussian import _transport_matrix
from jaxunlearn.transport._quantile import (
    QuantileFunction,
    _barycenter,
    _empirical,
    map_grouped,
)

# ---------------------------------------------------------------- gaussian


def _gaussian_fit(
    x, index, num_groups, weights, *, tol=None, max_iter=200, ridge=0.0
):
    if tol is None:
        tol = -1.0  # gaussian_barycenter's default
    if not isinstance(ridge, int | float) or not ridge >= 0:
        raise ValueError(
            f"options['ridge']: expected a float >= 0, got {ridge!r}"
        )
    return _gaussian_fit_core(
        x,
        index,
        weights,
        jnp.asarray(tol, x.dtype),
        jnp.asarray(ridge, x.dtype),
        num_groups,
        max_iter,
    )


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
    bary = _gauss_barycenter(means, covs, weights, tol, max_iter)
    maps = jax.vmap(_transport_matrix, in_axes=(0, None))(covs, bary.cov)
    # The optimal map from the barycenter back to group z is A_z^{-1}.
    inv_maps = jax.vmap(_transport_matrix, in_axes=(None, 0))(bary.cov, covs)
    return {
        "means": means,
        "covs": covs,
        "bary_mean": bary.mean,
        "bary_cov": bary.cov,
        "maps": maps,
        "inv_maps": inv_maps,
        "converged": bary.converged,
        "n_iters": bary.n_iters,
        "error": bary.error,
        "min_eigenvalue_ratio": bary.min_eigenvalue_ratio,
        "near_singular": bary.near_singular,
    }


def _gaussian_transform(stats, weights, x, index, key, options):
    del weights, key, options
    a = stats["maps"][index]
    centered = x - stats["means"][index]
    return stats["bary_mean"][None, :] + jnp.einsum("nij,nj->ni", a, centered)


def _gaussian_inverse(stats, weights, x_hat, index, key, options):
    del weights, key, options
    a_inv = stats["inv_maps"][index]
    centered = x_hat - stats["bary_mean"][None, :]
    return stats["means"][index] + jnp.einsum("nij,nj->ni", a_inv, centered)


# ---------------------------------------------------------------- quantile


def _quantile_fit(x, index, num_groups, weights):
    n_max = int(jnp.max(jnp.bincount(index, length=num_groups)))
    return _quantile_fit_core(x, index, weights, num_groups, n_max)


@functools.partial(jax.jit, static_argnums=(3, 4))
def _quantile_fit_core(x, index, weights, num_groups, n_max):
    groups = jnp.arange(num_groups, dtype=index.dtype)

    def per_column(col):
        masks = index[None, :] == groups[:, None]  # [k, n]
        q = jax.vmap(lambda m: _empirical(col, m))(masks)
        q = QuantileFunction(
            q.values[:, :n_max], q.levels[:, : n_max + 1], q.count
        )
        return q, _barycenter(q, weights)

    groups_q, bary = jax.vmap(per_column, in_axes=1)(x)  # leading [d]
    return {
        "values": groups_q.values,  # [d, k, n_max]
        "levels": groups_q.levels,  # [d, k, n_max + 1]
        "count": groups_q.count,  # [d, k]
        "bary_values": bary.values,  # [d, K]
        "bary_levels": bary.levels,  # [d, K + 1]
        "bary_count": bary.count,  # [d]
    }


def _groups(stats):
    return QuantileFunction(stats["values"], stats["levels"], stats["count"])


def _bary(stats):
    return QuantileFunction(
        stats["bary_values"], stats["bary_levels"], stats["bary_count"]
    )


def _quantile_transform(stats, weights, x, index, key, options):
    del options
    n, d = x.shape
    v = jax.random.uniform(key, (d, n), dtype=x.dtype)
    row_w = jnp.broadcast_to(weights[None, :], (n, weights.shape[0]))

    def per_column(col, q, vc):
        return map_grouped(col, index, q, q, row_w, vc)

    out = jax.vmap(per_column, in_axes=(1, 0, 0))(x, _groups(stats), v)
    return out.T


def _quantile_inverse(stats, weights, x_hat, index, key, options):
    del options
    n, d = x_hat.shape
    v = jax.random.uniform(key, (d, n), dtype=x_hat.dtype)
    onehot = jax.nn.one_hot(index, weights.shape[0], dtype=x_hat.dtype)
    zeros = jnp.zeros_like(index)

    def per_column(col, q, bar, vc):
        bars = jax.tree.map(lambda a: a[None], bar)
        return map_grouped(col, zeros, bars, q, onehot, vc)

    out = jax.vmap(per_column, in_axes=(1, 0, 0, 0))(
        x_hat, _groups(stats), _bary(stats), v
    )
    return out.T


register_method(
    "gaussian",
    RepairMethod(
        fit=_gaussian_fit,
        transform=_gaussian_transform,
        inverse=_gaussian_inverse,
        min_group_size=2,
    ),
)
register_method(
    "quantile",
    RepairMethod(
        fit=_quantile_fit,
        transform=_quantile_transform,
        inverse=_quantile_inverse,
        min_group_size=1,
    ),
)
