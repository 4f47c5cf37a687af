r"""Free-support Wasserstein-2 barycenters of empirical laws.

The fixed point of Cuturi & Doucet (2014): couple each group's empirical
law to the barycenter's atoms exactly (:func:`exact_coupling`), then move
every atom to the weighted barycentric projection of its mass. Each step
cannot increase :math:`\sum_z \lambda_z W_2^2(\mu_z, \nu)`.

References:
  Cuturi & Doucet, "Fast computation of Wasserstein barycenters", ICML 2014.
  https://arxiv.org/abs/1310.4375
  Agueh & Carlier, "Barycenters in the Wasserstein space", SIAM J. Math.
  Anal. 2011. https://doi.org/10.1137/100805741
"""

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from jaxtyping import Array, ArrayLike, Float

import jax
import jax.numpy as jnp

from jaxunlearn import _checks
from jaxunlearn.transport._empirical import (
    SparseCoupling,
    _check_cloud,
    _check_masses,
    exact_coupling,
)


class FreeSupportBarycenter(NamedTuple):
    """A free-support barycenter with a coupling from each group.

    Attributes:
      atoms: barycenter atoms. ``[m, d]``.
      atom_weights: their masses (uniform). ``[m]``.
      couplings: one :class:`SparseCoupling` per group, from the group's
        points (rows) to the atoms (cols).
      converged: whether the largest atom move fell below ``tol``. bool.
      n_iters: fixed-point iterations run. int.
      errors: the largest atom move at each iteration. ``[n_iters]``.
    """

    atoms: Float[Array, "m d"]
    atom_weights: Float[Array, " m"]
    couplings: tuple[SparseCoupling, ...]
    converged: bool
    n_iters: int
    errors: Float[Array, " n_iters"]


def _couple(xs, masses, atoms, beta, dtype) -> list[SparseCoupling]:
    """Each group's exact coupling to the atoms (masses ``beta``)."""
    return [
        exact_coupling(
            x,
            jnp.asarray(atoms, dtype),
            jnp.asarray(a, dtype),
            jnp.asarray(beta, dtype),
        )
        for x, a in zip(xs, masses, strict=True)
    ]


def free_support_barycenter(
    xs: Sequence[Float[ArrayLike, "n_z d"]],
    a_s: Sequence[Float[ArrayLike, " n_z"] | None] | None = None,
    weights: Float[ArrayLike, " k"] | None = None,
    *,
    num_atoms: int,
    key: jax.Array,
    max_iter: int = 20,
    tol: float = 1e-6,
) -> FreeSupportBarycenter:
    r"""Free-support Wasserstein-2 barycenter with exact couplings.

    Fixed point of Cuturi & Doucet (2014) with uniform atom weights
    :math:`\beta = 1/m`: couple each group to the atoms exactly, then move
    every atom to the weighted barycentric projection

    .. math::
       b_l \leftarrow \sum_z \lambda_z \frac{1}{\beta_l}
       \sum_i \pi^z_{il} x^z_i .

    Each step cannot increase :math:`\sum_z \lambda_z W_2^2(\mu_z, \nu)`.
    Atoms start at ``num_atoms`` draws (keyed) from the mixture
    :math:`\sum_z \lambda_z \mu_z`. OTT-JAX's free-support barycenter also
    keeps uniform atom weights (its solver has a TODO for non-uniform
    ones); the weights here are uniform too, but every returned coupling
    has exactly these atom masses as its second marginal, so pushing each
    group through its coupling gives the same law. Eager only.

    Args:
      xs: the k groups' points, each ``[n_z, d]``.
      a_s: the groups' sample weights (each ``[n_z]`` or None = uniform);
        None means all uniform.
      weights: barycentric weights ``[k]``; None means uniform.
      num_atoms: support size ``m`` of the barycenter.
      key: PRNG key for the initial atoms.
      max_iter: fixed-point iteration cap.
      tol: stop when no atom moves more than this (max abs change).

    Returns:
      A :class:`FreeSupportBarycenter`.

    Raises:
      ValueError: fewer than one group, mismatched columns, bad weights.

    References:
      Cuturi & Doucet, "Fast computation of Wasserstein barycenters",
      ICML 2014. https://arxiv.org/abs/1310.4375
    """
    k = len(xs)
    if k < 1:
        raise ValueError("xs: expected at least one group, got none")
    xs = [_check_cloud(f"xs[{z}]", x) for z, x in enumerate(xs)]
    d = xs[0].shape[1]
    for z, x in enumerate(xs):
        if x.shape[1] != d:
            raise ValueError(
                f"xs[{z}]: expected {d} columns like xs[0], got {x.shape}"
            )
    if a_s is None:
        a_s = [None] * k
    if len(a_s) != k:
        raise ValueError(f"a_s: expected {k} entries, got {len(a_s)}")
    masses = [
        _check_masses(f"a_s[{z}]", a, x.shape[0])
        for z, (x, a) in enumerate(zip(xs, a_s, strict=True))
    ]
    if weights is None:
        lam = np.full(k, 1.0 / k)
    else:
        weights = _checks.as_array("weights", weights)
        _checks.check_weights("weights", weights, k)
        lam = np.asarray(weights, np.float64)
        lam = lam / lam.sum()
    _checks.check_positive_int("num_atoms", num_atoms)
    _checks.check_positive_int("max_iter", max_iter)
    dtype = xs[0].dtype
    # Initial atoms: draws from the mixture sum_z lambda_z mu_z.
    k_group, k_row = jax.random.split(key)
    g = np.asarray(
        jax.random.choice(k_group, k, (num_atoms,), p=jnp.asarray(lam))
    )
    row_keys = jax.random.split(k_row, k)
    atoms = np.zeros((num_atoms, d), np.float64)
    for z in range(k):
        sel = np.nonzero(g == z)[0]
        if sel.size:
            idx = np.asarray(
                jax.random.choice(
                    row_keys[z],
                    xs[z].shape[0],
                    (sel.size,),
                    p=jnp.asarray(masses[z]),
                )
            )
            atoms[sel] = np.asarray(xs[z], np.float64)[idx]
    beta = np.full(num_atoms, 1.0 / num_atoms)
    errors = []
    couplings: list[SparseCoupling] = []
    converged = False
    for _ in range(max_iter):
        couplings = _couple(xs, masses, atoms, beta, dtype)
        new = np.zeros_like(atoms)
        for z, (x, pi) in enumerate(zip(xs, couplings, strict=True)):
            proj = np.zeros_like(atoms)
            np.add.at(
                proj,
                np.asarray(pi.cols),
                np.asarray(pi.mass, np.float64)[:, None]
                * np.asarray(x, np.float64)[np.asarray(pi.rows)],
            )
            new += lam[z] * proj / beta[:, None]
        err = float(np.max(np.abs(new - atoms)))
        atoms = new
        errors.append(err)
        if err <= tol:
            converged = True
            break
    # Couplings to the final atoms (the last update moved them).
    if not converged:
        couplings = _couple(xs, masses, atoms, beta, dtype)
    return FreeSupportBarycenter(
        atoms=jnp.asarray(atoms, dtype),
        atom_weights=jnp.asarray(beta, dtype),
        couplings=tuple(couplings),
        converged=converged,
        n_iters=len(errors),
        errors=jnp.asarray(errors, dtype),
    )
