"""The Gaussian prior of neural OT: a fixed affine map and its potential.

With ``NeuralOTConfig(prior_components=k)`` the transport network starts at
the Gaussian OT map between the groups' top-``k`` PCA codes (the
PCA-Gaussian baseline of :mod:`jaxunlearn.transport._latent`) and the
potential at the matching quadratic, a stationary pair of the saddle
problem; the networks learn the residual.
"""

import math
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from jaxunlearn.transport._latent import fit_pca_gaussian_barycenter


class NeuralOTPrior(NamedTuple):
    r"""Fixed low-rank affine part of a transport map.

    .. math::
       m(x) = \big(((x - \mu) V) M + b\big) V^\top

    on flattened samples, so ``T(x) = x + m(x) + g(x)`` with ``g`` the
    network (zero at initialization), and the matching quadratic part of the
    potential, ``f(y) = f_net(y) + (u Q u^T / 2 + u q) / D`` with
    ``u = (y - mu) V``, ``Q = I - A^{-1}``, ``q = b A^{-1}``,
    ``A = I + M``: then ``grad_y [c(x, y) - f(y)] = 0`` at ``y = x + m(x)``,
    so the prior pair is a stationary point of the saddle problem.

    Attributes:
      mean: ``mu``, ``[D]``.
      basis: orthonormal columns ``V``, ``[D, k]``.
      matrix: ``M``, ``[k, k]`` (row-vector convention, symmetric).
      offset: ``b``, ``[k]``.
      potential_matrix: ``Q``, ``[k, k]``.
      potential_offset: ``q``, ``[k]``.
    """

    mean: Array
    basis: Array
    matrix: Array
    offset: Array
    potential_matrix: Array
    potential_offset: Array


def prior_potential(prior: NeuralOTPrior | None, y: Array) -> Array:
    """Quadratic prior part of ``f`` at ``y`` (any layout), ``[b]``."""
    flat = y.reshape(y.shape[0], -1)
    if prior is None:
        return jnp.zeros(y.shape[:1], y.dtype)
    u = (flat - prior.mean[None, :]) @ prior.basis
    quad = 0.5 * jnp.sum((u @ prior.potential_matrix) * u, axis=1)
    lin = u @ prior.potential_offset
    return (quad + lin) / jnp.asarray(flat.shape[1], y.dtype)


def prior_move(prior: NeuralOTPrior | None, x: Array) -> Array:
    """``m(x)`` of :class:`NeuralOTPrior` (zeros for ``None``), ``x``-shaped."""
    if prior is None:
        return jnp.zeros_like(x)
    flat = x.reshape(x.shape[0], -1)
    lat = (flat - prior.mean[None, :]) @ prior.basis
    move = (lat @ prior.matrix + prior.offset[None, :]) @ prior.basis.T
    return move.reshape(x.shape)


def gaussian_priors(
    x: Array, z: np.ndarray, weights: Array, num_components: int
) -> tuple[NeuralOTPrior, NeuralOTPrior]:
    r"""Priors ``(0 -> 1, 1 -> 0)``: the Gaussian maps in a PCA latent space.

    With the PCA-Gaussian barycenter maps ``B_z`` of
    :func:`jaxunlearn.transport.fit_pca_gaussian_barycenter` (pooled PCA,
    weights ``w``), the Gaussian OT map from group ``z`` to the other group
    is ``T_z(l) = l + (B_z(l) - l) / w_{1-z}`` (for two Gaussians the McCann
    point ``w_z l + w_{1-z} T_z(l)`` is the barycenter), so the neural
    barycenter at initialization is exactly the PCA-Gaussian repair.
    """
    k = min(num_components, x.shape[0], math.prod(x.shape[1:]))
    model = fit_pca_gaussian_barycenter(
        x, z, num_groups=2, num_components=k, weights=weights
    )
    eye = jnp.eye(k, dtype=x.dtype)
    out = []
    for g in (0, 1):
        scale = model.weights[1 - g]
        matrix = (model.maps[g].T - eye) / scale
        offset = model.offsets[g] / scale
        a_inv = jnp.linalg.inv(eye + matrix)
        q_mat = eye - a_inv
        out.append(
            NeuralOTPrior(
                mean=model.mean,
                basis=model.components,
                matrix=matrix,
                offset=offset,
                potential_matrix=0.5 * (q_mat + q_mat.T),
                potential_offset=offset @ a_inv,
            )
        )
    return out[0], out[1]
