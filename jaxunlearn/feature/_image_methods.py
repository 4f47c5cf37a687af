r"""The ``"latent_semidiscrete"`` repair: fixed atoms in a PCA code space.

Made for images (rows are flattened pixels). Fit, on the pooled training
rows:

1. a PCA code :math:`c(x) = (x - \mu) V` with ``num_components`` principal
   directions :math:`V`;
2. a discrete barycenter of the groups' code laws with ``num_atoms``
   atoms and one Laguerre potential per group
   (:func:`jaxunlearn.transport.fit_semidiscrete_barycenter`): the cells
   :math:`\operatorname{argmin}_j \|c - a_j\|^2 - g_z[j]` (entropic, blur
   ``relative_epsilon`` times the mean squared distance between codes) give
   every group the same atom weights :math:`b_j`;
3. a balance check: where the groups' cell masses on the training rows
   differ by more than 0.01 in total variation (a fit stopped early, few
   ``refine_steps`` for many rows), their weighted mean becomes the atom
   weights and every group's potential is refined to hold them, in
   doubling rounds; a gap left after the last round is a RuntimeWarning
   naming ``options['refine_steps']``;
4. one output image per atom, :math:`\bar x_j = \sum_z w_z
   E[X \mid Z = z, \text{cell } j]` (the group-weighted mean of the pixels
   of the cell's training rows, full resolution, not only the top-``k``
   part).

A row of group ``z`` draws its atom ``J`` from its entropic cell law
(``sample=True``, keyed) or takes its Laguerre cell (``sample=False``) and
becomes :math:`\bar x_J`. The output is a function of ``J`` alone, and ``J``
has law :math:`b` in every group: the repaired image carries no trace of
``Z`` on images the fit never saw, up to the sampling error of the cell
masses (few atoms, many rows per cell). Nothing of the input image is kept
beyond its atom, which is why distortion is higher than that of an
affine map; ``t < 1`` interpolates :math:`(1 - t) x + t \bar x_J`.

References:
  Genevay, Cuturi, Peyre & Bach, "Stochastic Optimization for Large-scale
  Optimal Transport", NeurIPS 2016. https://arxiv.org/abs/1605.08527
  Xu & Strohmer, "Machine Unlearning via Information Theoretic
  Regularization", arXiv:2502.05684, 2025.
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np

from jaxunlearn import transport
from jaxunlearn.feature import _repair

METHOD = "latent_semidiscrete"
_MIN_ROWS_PER_ATOM = 20
# Largest total variation between a group's cell masses and the groups'
# weighted mean on the training rows that the fit accepts.
_MASS_TOLERANCE = 0.01
_BALANCE_ROUNDS = 6


def _check_options(counts, num_components, num_atoms, relative_epsilon, d):
    if not isinstance(num_components, int) or not 1 <= num_components <= d:
        raise ValueError(
            f"options['num_components']: expected an int in [1, {d}], got"
            f" {num_components!r}"
        )
    smallest = int(np.min(counts))
    if num_atoms is None:
        num_atoms = int(np.clip(smallest // _MIN_ROWS_PER_ATOM, 2, 128))
    if not isinstance(num_atoms, int) or not 2 <= num_atoms <= smallest:
        raise ValueError(
            "options['num_atoms']: expected an int between 2 and the smallest"
            f" group's {smallest} rows, got {num_atoms!r}"
        )
    if not (isinstance(relative_epsilon, int | float) and relative_epsilon > 0):
        raise ValueError(
            "options['relative_epsilon']: expected a positive number, got"
            f" {relative_epsilon!r}"
        )
    return num_atoms


def _fit(
    x,
    index,
    num_groups,
    weights,
    num_components=32,
    num_atoms=None,
    relative_epsilon=0.02,
    fixed_point_steps=5,
    refine_steps=100,
    seed=0,
    sample=True,
):
    del sample  # used at transform time
    counts = np.bincount(np.asarray(index), minlength=num_groups)
    m = _check_options(
        counts, num_components, num_atoms, relative_epsilon, x.shape[1]
    )
    k = min(num_components, x.shape[0])
    mean = jnp.mean(x, axis=0)
    _, _, vt = jnp.linalg.svd(x - mean[None, :], full_matrices=False)
    components = vt[:k].T  # [d, k]
    codes = (x - mean[None, :]) @ components
    # Blur relative to the mean squared distance between two codes.
    spread = 2.0 * float(jnp.sum(jnp.var(codes, axis=0)))
    epsilon = float(relative_epsilon) * max(spread, 1e-12)
    bary = transport.fit_semidiscrete_barycenter(
        jax.random.key(int(seed)),
        codes,
        index,
        num_groups,
        weights,
        num_atoms=m,
        epsilon=epsilon,
        fixed_point_steps=int(fixed_point_steps),
        refine_steps=int(refine_steps),
    )
    index_np = np.asarray(index)
    rows = [np.flatnonzero(index_np == z) for z in range(num_groups)]
    pots, b = _balance(codes, rows, bary, weights, int(refine_steps))
    images = jnp.zeros((m, x.shape[1]), x.dtype)
    for z in range(num_groups):
        p = _cell_law(codes[rows[z]], bary.atoms, pots[z], b, bary.epsilon)
        cell_mean = (p.T @ x[rows[z]]) / jnp.maximum(p.sum(0), 1e-12)[:, None]
        images = images + weights[z] * cell_mean
    return {
        "mean": mean,
        "components": components,
        "atoms": bary.atoms,
        "atom_weights": b,
        "potentials": pots,
        "epsilon": bary.epsilon,
        "atom_images": images,
    }


def _cell_law(codes, atoms, potential, weights, epsilon):
    logits = transport.laguerre_logits(
        codes, atoms, potential, weights, epsilon
    )
    return jax.nn.softmax(logits, axis=1)


def _balance(codes, rows, bary, group_weights, refine_steps):
    """Potentials and atom weights under which every group has one atom law.

    The repaired output is independent of ``Z`` only where every group's
    cells hold the same masses. A barycenter fit stopped early (few
    ``refine_steps`` for many rows, or a small blur) leaves the groups'
    masses apart, and an auditor reads ``Z`` from the atoms. While a group's
    masses differ from the groups' weighted mean by more than the tolerance
    (total variation), that mean becomes the atom weights and every
    group's potential is refined to hold them (free weights: the mass the
    groups agree on stays where it is, so no cell is pushed across classes
    that the atoms separate). Round ``k`` takes ``refine_steps * 2**k``
    steps (the fixed point converges linearly, slowly where the blur is
    small); a gap left after the last round is a warning.

    Returns:
      ``(potentials [k, m], weights [m])``.
    """
    pots, b = list(bary.potentials), bary.weights
    eps, atoms = bary.epsilon, bary.atoms
    gw = jnp.asarray(group_weights, b.dtype)
    for k in range(_BALANCE_ROUNDS + 1):
        masses = [
            _cell_law(codes[r], atoms, g, b, eps).mean(0)
            for r, g in zip(rows, pots, strict=True)
        ]
        mean = sum(w * mz for w, mz in zip(gw, masses, strict=True))
        gap = max(0.5 * float(jnp.sum(jnp.abs(mz - mean))) for mz in masses)
        if gap <= _MASS_TOLERANCE or k == _BALANCE_ROUNDS:
            break
        # An atom no row reaches keeps a tiny weight (no log of zero).
        b = jnp.maximum(mean, 1e-12)
        b = b / jnp.sum(b)
        pots = [
            transport.refine_potential(
                codes[r], atoms, g, b, eps, max(refine_steps, 1) * 2**k
            )
            for r, g in zip(rows, pots, strict=True)
        ]
    if gap > _MASS_TOLERANCE:
        warnings.warn(
            f"options['refine_steps']: after {2**_BALANCE_ROUNDS - 1} times"
            f" {refine_steps} more steps the groups' cell masses still"
            f" differ by {gap:.3f} in total variation (tolerance"
            f" {_MASS_TOLERANCE}); Z stays readable from the repaired rows:"
            " raise refine_steps or relative_epsilon",
            RuntimeWarning,
            stacklevel=4,
        )
    return jnp.stack(pots), b


def atom_index(stats, x, index, key, sample=True):
    """Each row's atom: drawn from its entropic cell law, or its cell.

    Args:
      stats: the fitted statistics of the method.
      x: rows ``[n, d]``.
      index: group index per row ``[n]`` (0-based, as fitted).
      key: PRNG key of the draws.
      sample: draw (True) or take the Laguerre cell (False).

    Returns:
      Atom indices ``[n]``.
    """
    codes = (x - stats["mean"][None, :]) @ stats["components"]
    eps = jnp.where(sample, stats["epsilon"], 0.0)
    atoms, pots, b = stats["atoms"], stats["potentials"], stats["atom_weights"]

    def one(q, z, k):
        return transport.laguerre_assign(k, q[None], atoms, pots[z], b, eps)[0]

    keys = jax.random.split(key, x.shape[0])
    return jax.vmap(one)(codes, index, keys)


def _transform(stats, weights, x, index, key, options):
    del weights
    j = atom_index(stats, x, index, key, options.get("sample", True))
    return stats["atom_images"][j].astype(x.dtype)


def _register():
    _repair.register_method(
        METHOD,
        _repair.RepairMethod(
            fit=_fit, transform=_transform, inverse=None, min_group_size=2
        ),
    )


_register()
