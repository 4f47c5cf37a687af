r"""The unified-solution claim of the paper, checked on known examples.

Feature unlearning looks for an outcome ``X_hat = f(X, Z, U)`` (``U`` an
optional independent randomisation) that is independent of ``Z`` and keeps as
much of ``X`` as possible. The paper's claim (Xu & Strohmer,
arXiv:2502.05684), as reconstructed here: the information utilities

* entropy ``H(X_hat)``,
* ``-H(X | X_hat)``,
* the KL form ``E_{X_hat} KL(P_{X | X_hat} || P_X) = I(X; X_hat)``,
* the energy ``E_{X_hat} sum_x P(X = x | X_hat)^2``,

all grow with the sigma-algebra of ``X_hat``, so an "extremal" outcome
(``X_hat`` independent of ``Z`` and ``X`` recoverable from ``(X_hat, Z)``)
optimises all of them at once, and the Wasserstein-2 barycenter outcome
``X_hat = T_Z(X)`` is the extremal outcome that also minimises the distortion
``E ||X - X_hat||^2``.

This module evaluates every objective on the barycenter outcome and on other
``Z``-independent outcomes, for discrete laws on the line (exact: the
barycenter is the quantile average, with mass splitting when the groups'
atoms do not line up) and for Gaussian groups with commuting covariances
(closed forms). The discrete barycenter outcome is
``jaxunlearn.transport.quantile_barycenter`` with the groups' monotone
couplings to it; the Gaussian one is the closed form of the commuting case.

**Findings** (tested in ``tests/experiments/test_unified.py``; see
``docs/info.md``):

1. Discrete groups with disjoint supports: every extremal outcome attains
   the optimum of ``-H(X|X_hat)`` (``= -H(Z)``), ``I(X; X_hat)``
   (``= H(X|Z)``) and the energy (``= sum_z lambda_z^2``); the barycenter is
   one of them and is the unique best on distortion. The claim holds.
2. Entropy ``H(X_hat)`` does not fit: splitting each barycenter atom in two
   with an independent fair coin keeps ``X_hat`` independent of ``Z`` and
   leaves ``I``, ``H(X|X_hat)`` and the energy unchanged, but adds ``log 2``
   to ``H(X_hat)``, without bound. Even among extremal outcomes, a
   non-monotone coupling of the groups can have more atoms, hence more
   entropy, than the barycenter.
3. Overlapping supports: extremal outcomes no longer tie. For
   ``X | Z=0 ~ Bernoulli(0.2)``, ``X | Z=1 ~ Bernoulli(0.8)``, the "flip"
   ``X_hat = X xor Z`` is extremal yet ``I(X; X_hat) = 0``, while the
   barycenter outcome keeps ``I = 0.4 log 2``; the barycenter was best in
   every random extremal outcome tried, so the claim survives for the
   barycenter but not for "any extremal outcome".
4. Gaussian (continuous) groups: ``I(X; X_hat)``, ``-h(X | X_hat)`` and the
   energy of the conditional density are ``+inf`` for every outcome with a
   continuous component that is a function of ``(X, Z)``, including a rank-1
   random projection of the barycenter outcome, so they cannot separate the
   barycenter from outcomes that discard dimensions; differential entropy is
   not invariant under bijections (``2 T_Z(X)`` has ``d log 2`` more), so no
   outcome maximises it. Only the distortion singles out the barycenter,
   which it does (tested against the constant, a sign quantisation, a
   random projection, the push to one group's law and a rescaling).

References:
  Xu & Strohmer, "Machine Unlearning via Information Theoretic
  Regularization", arXiv:2502.05684, 2025. https://arxiv.org/abs/2502.05684

  Agueh & Carlier, "Barycenters in the Wasserstein space", SIAM J. Math.
  Anal. 43(2), 2011. https://doi.org/10.1137/100805741
"""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxunlearn import _checks, transport
from jaxunlearn.info import (
    conditional_energy,
    conditional_entropy,
    entropy,
    gaussian_entropy,
    mutual_information,
)


class Objectives(NamedTuple):
    """Every utility of the paper for one outcome (larger is better).

    Attributes:
      entropy: ``H(X_hat)`` (discrete) or differential ``h(X_hat)``
        (Gaussian; ``-inf`` for degenerate or discrete outcomes).
      neg_conditional_entropy: ``-H(X | X_hat)``.
      kl_form: ``E_{X_hat} KL(P_{X|X_hat} || P_X) = I(X; X_hat)``.
      conditional_energy: ``E_{X_hat} sum_x P(X = x | X_hat)^2``.
      neg_distortion: ``-E ||X - X_hat||^2``.
      dependence: ``I(X_hat; Z)`` for discrete outcomes (0 when
        ``Z``-independent); for Gaussian outcomes the largest gap between
        the groups' outcome means and covariances.
    """

    entropy: float
    neg_conditional_entropy: float
    kl_form: float
    conditional_energy: float
    neg_distortion: float
    dependence: float


class DiscreteOutcome(NamedTuple):
    """A randomised outcome of discrete ``X`` on the line.

    Attributes:
      support: ``[m]`` values of ``X_hat``.
      kernel: ``[k, n, m]`` with ``kernel[z, i, j] = P(X_hat = support[j] |
        X = x_i, Z = z)``.
    """

    support: np.ndarray
    kernel: np.ndarray


def _problem(weights: Any, group_probs: Any, x_support: Any) -> tuple:
    w = np.asarray(weights, np.float64)
    mu = np.asarray(group_probs, np.float64)
    x = np.asarray(x_support, np.float64)
    _checks.check_rank("group_probs", mu, 2)
    _checks.check_weights("weights", jnp.asarray(w), mu.shape[0])
    _checks.check_shape("x_support", x, (mu.shape[1],))
    if np.any(mu < 0) or not np.allclose(mu.sum(1), 1.0, atol=1e-9):
        raise ValueError("group_probs: expected rows on the simplex")
    return w / w.sum(), mu, x


def _coupled_outcome(
    w: np.ndarray, mu: np.ndarray, x: np.ndarray, orders: list[np.ndarray]
) -> DiscreteOutcome:
    """Couples all groups through one uniform ``U`` (north-west corner).

    Group ``z`` lists its atoms in ``orders[z]`` and sends ``U`` in
    ``(F_z(a-), F_z(a)]`` to atom ``a``; the outcome is the cell of ``U`` in
    the common refinement of all groups' breakpoints, placed at the
    ``lambda``-average of the matched atoms. ``U`` is independent of ``Z``,
    so ``X_hat`` is; ``X`` is recoverable from ``(X_hat, Z)``.
    """
    k, n = mu.shape
    cuts = [np.cumsum(mu[z, orders[z]]) for z in range(k)]
    grid = np.unique(np.concatenate([[0.0, 1.0], *cuts]).round(12))
    lo, hi = grid[:-1], grid[1:]
    mid = 0.5 * (lo + hi)
    keep = hi - lo > 1e-12
    lo, hi, mid = lo[keep], hi[keep], mid[keep]
    mass = hi - lo
    atom = np.stack(
        [
            orders[z][
                np.minimum(np.searchsorted(cuts[z], mid), len(orders[z]) - 1)
            ]
            for z in range(k)
        ]
    )  # [k, m]: the atom of group z matched to each cell
    support = np.einsum("z,zm->m", w, x[atom])
    return DiscreteOutcome(support, _kernel(mu, atom, mass))


def quantile_barycenter_outcome(
    weights: Any, group_probs: Any, x_support: Any
) -> DiscreteOutcome:
    r"""The W2 barycenter outcome for discrete laws on the line (exact).

    ``F_bar^{-1}(u) = sum_z lambda_z F_z^{-1}(u)`` (Xu & Strohmer,
    arXiv:2502.05684) with the monotone coupling; atoms are split when the
    groups' CDF breakpoints differ.

    Args:
      weights: ``[k]`` group weights ``lambda_z`` (renormalised).
      group_probs: ``[k, n]`` laws of ``X`` given ``Z = z`` on ``x_support``.
      x_support: ``[n]`` the values of ``X``.

    Returns:
      The :class:`DiscreteOutcome`.
    """
    w, mu, x = _problem(weights, group_probs, x_support)
    k, n = mu.shape
    order = np.argsort(x, kind="stable")
    cuts = np.cumsum(mu[:, order], axis=1)
    with jax.enable_x64(True):
        groups = transport.QuantileFunction(
            jnp.broadcast_to(jnp.asarray(x[order]), (k, n)),
            jnp.concatenate([jnp.zeros((k, 1)), jnp.asarray(cuts)], axis=1),
            jnp.full((k,), n, jnp.int32),
        )
        bar = transport.quantile_barycenter(groups, jnp.asarray(w))
        levels, values = np.asarray(bar.levels), np.asarray(bar.values)
    # Cells of positive mass between the groups' merged CDF levels; the
    # barycenter's atom on a cell is the weighted average of the groups'
    # quantiles there, and group z sends its atom at that level to it.
    mass = np.diff(levels)
    keep = mass > 1e-12
    mid = (0.5 * (levels[1:] + levels[:-1]))[keep]
    atom = order[
        np.minimum(np.stack([np.searchsorted(c, mid) for c in cuts]), n - 1)
    ]  # [k, m]
    return DiscreteOutcome(values[keep], _kernel(mu, atom, mass[keep]))


def _kernel(mu: np.ndarray, atom: np.ndarray, mass: np.ndarray) -> np.ndarray:
    # kernel[z, i, j] = P(cell j | X = x_i, Z = z) for the matched atoms.
    k, n = mu.shape
    kernel = np.zeros((k, n, len(mass)))
    for z in range(k):
        np.add.at(kernel[z], (atom[z], np.arange(len(mass))), mass)
        with np.errstate(divide="ignore", invalid="ignore"):
            kernel[z] = np.where(
                mu[z][:, None] > 0, kernel[z] / mu[z][:, None], 0.0
            )
    return kernel


def rearrangement_outcome(
    weights: Any, group_probs: Any, x_support: Any, orders: Any
) -> DiscreteOutcome:
    """An extremal outcome from arbitrary orderings of each group's atoms.

    Sorted orders give :func:`quantile_barycenter_outcome`; other orders give
    other ``Z``-independent outcomes from which ``X`` is recoverable given
    ``Z`` (e.g. reversing one group of two Bernoulli laws gives the "flip").

    Args:
      weights: ``[k]`` group weights.
      group_probs: ``[k, n]`` group laws.
      x_support: ``[n]`` values of ``X``.
      orders: ``k`` permutations of ``range(n)``.

    Returns:
      The :class:`DiscreteOutcome`.
    """
    w, mu, x = _problem(weights, group_probs, x_support)
    return _coupled_outcome(w, mu, x, [np.asarray(o) for o in orders])


def constant_outcome(
    weights: Any, group_probs: Any, x_support: Any
) -> DiscreteOutcome:
    """``X_hat = E[X]``, the best constant for the distortion.

    Args:
      weights: ``[k]`` group weights.
      group_probs: ``[k, n]`` group laws.
      x_support: ``[n]`` values of ``X``.

    Returns:
      The :class:`DiscreteOutcome` with one atom.
    """
    w, mu, x = _problem(weights, group_probs, x_support)
    mean = float(np.einsum("z,zn,n->", w, mu, x))
    return DiscreteOutcome(np.array([mean]), np.ones(mu.shape + (1,)))


def coarsened_outcome(
    weights: Any,
    group_probs: Any,
    x_support: Any,
    outcome: DiscreteOutcome,
    labels: Any,
) -> DiscreteOutcome:
    """Merges the atoms of ``outcome`` by ``labels``, a function of ``X_hat``.

    A function of a ``Z``-independent outcome is ``Z``-independent. Each
    merged cell is placed at ``E[X | cell]``, the best value for the
    distortion, so the comparison is as kind to the coarsening as possible.
    Coarse quantisation (``labels = floor(support / step)``) and a random
    coarsening are both of this form.

    Args:
      weights: ``[k]`` group weights.
      group_probs: ``[k, n]`` group laws.
      x_support: ``[n]`` values of ``X``.
      outcome: the outcome to coarsen.
      labels: ``[m]`` integer cell of each atom.

    Returns:
      The coarsened :class:`DiscreteOutcome`.
    """
    w, mu, x = _problem(weights, group_probs, x_support)
    _, cells = np.unique(np.asarray(labels), return_inverse=True)
    merge = np.eye(cells.max() + 1)[cells]  # [m, c]
    kernel = outcome.kernel @ merge
    joint = np.einsum("z,zn,znc->nc", w, mu, kernel)
    mass = joint.sum(0)
    support = np.where(mass > 0, x @ joint / np.maximum(mass, 1e-300), 0.0)
    return DiscreteOutcome(support, kernel)


def noisy_outcome(outcome: DiscreteOutcome, spread: float) -> DiscreteOutcome:
    """Splits every atom ``s`` into ``s - spread`` and ``s + spread`` by a coin.

    The coin is independent of everything, so ``Z``-independence, ``I``,
    ``H(X | X_hat)`` and the energy are unchanged; ``H(X_hat)`` gains
    ``log 2`` (with ``spread`` below half the atom gap) and the distortion
    gains ``spread^2``. The counterexample for the entropy objective.

    Args:
      outcome: the outcome to randomise.
      spread: half the distance between the two new atoms.

    Returns:
      The randomised :class:`DiscreteOutcome` with twice the atoms.
    """
    support = np.concatenate(
        [outcome.support - spread, outcome.support + spread]
    )
    kernel = 0.5 * np.concatenate([outcome.kernel, outcome.kernel], axis=-1)
    return DiscreteOutcome(support, kernel)


def _bucket(n: int) -> int:
    return max(8, 1 << (n - 1).bit_length())


def _pad(a: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return np.pad(a, [(0, shape[0] - a.shape[0]), (0, shape[1] - a.shape[1])])


def discrete_objectives(
    weights: Any, group_probs: Any, x_support: Any, outcome: DiscreteOutcome
) -> Objectives:
    r"""Evaluates every objective of the paper on a discrete outcome (float64).

    With ``J[x, j] = sum_z lambda_z mu_z(x) K[z, x, j]`` the joint table of
    ``(X, X_hat)``, the information objectives are
    :func:`jaxunlearn.info.entropy` of the column sums,
    :func:`~jaxunlearn.info.conditional_entropy`,
    :func:`~jaxunlearn.info.mutual_information` (the KL form) and
    :func:`~jaxunlearn.info.conditional_energy` of ``J``; the distortion is
    ``sum J[x, j] (x - s_j)^2`` and the dependence ``I(X_hat; Z)``.

    Args:
      weights: ``[k]`` group weights.
      group_probs: ``[k, n]`` group laws.
      x_support: ``[n]`` values of ``X``.
      outcome: the :class:`DiscreteOutcome`.

    Returns:
      The :class:`Objectives` as Python floats.
    """
    w, mu, x = _problem(weights, group_probs, x_support)
    joint = np.einsum("z,zn,znm->nm", w, mu, outcome.kernel)
    zx = np.einsum("z,zn,znm->mz", w, mu, outcome.kernel)
    dist = float(np.sum(joint * (x[:, None] - outcome.support[None, :]) ** 2))
    # Zero rows and columns change none of the objectives; padding to a
    # power of two keeps the number of distinct compiled shapes small.
    joint = _pad(joint, (_bucket(joint.shape[0]), _bucket(joint.shape[1])))
    zx = _pad(zx, (_bucket(zx.shape[0]), zx.shape[1]))
    with jax.enable_x64(True):
        j = jnp.asarray(joint, jnp.float64)
        return Objectives(
            entropy=float(entropy(jnp.sum(j, axis=0))),
            neg_conditional_entropy=-float(conditional_entropy(j)),
            kl_form=float(mutual_information(j)),
            conditional_energy=float(conditional_energy(j)),
            neg_distortion=-dist,
            dependence=float(mutual_information(jnp.asarray(zx, jnp.float64))),
        )


# ---------------------------------------------------------------- Gaussian


class GaussianProblem(NamedTuple):
    """Gaussian groups ``N(m_z, Q diag(s_z) Q^T)`` with a shared eigenbasis.

    Attributes:
      weights: ``[k]`` group weights (sum to 1).
      means: ``[k, d]`` group means.
      eigvals: ``[k, d]`` positive covariance eigenvalues ``s_z``.
      basis: ``[d, d]`` orthogonal eigenbasis ``Q``.
    """

    weights: np.ndarray
    means: np.ndarray
    eigvals: np.ndarray
    basis: np.ndarray


class GaussianObjectives(NamedTuple):
    """The objectives that are finite or decidable for Gaussian outcomes.

    Attributes:
      differential_entropy: ``h(X_hat)``; ``-inf`` for a degenerate or
        discrete outcome.
      information_is_infinite: whether ``I(X; X_hat)``, ``-h(X | X_hat)``
        and the conditional-density energy are ``+inf``: true for every
        outcome with a continuous component that is a function of
        ``(X, Z)`` (given ``X`` it takes at most ``k`` values, so
        ``h(X_hat | X) = -inf``); false for the constant and quantisations
        (``I <= H(X_hat) < inf``).
      neg_distortion: ``-E ||X - X_hat||^2`` (closed form).
      dependence: largest entry-wise gap between the groups' outcome
        covariances and means (0 when ``Z``-independent).
    """

    differential_entropy: float
    information_is_infinite: bool
    neg_distortion: float
    dependence: float


def _affine_objectives(
    p: "GaussianProblem", a: np.ndarray, b: np.ndarray
) -> GaussianObjectives:
    """Objectives of ``X_hat = b + A_z (X - m_z)`` (``a [k, d, d]``)."""
    covs = np.einsum("ij,zj,kj->zik", p.basis, p.eigvals, p.basis)
    out_cov = np.einsum("zij,zjk,zlk->zil", a, covs, a)
    eye = np.eye(p.means.shape[1])[None]
    resid = np.einsum("zij,zjk,zlk->zil", eye - a, covs, eye - a)
    dist = p.weights @ np.sum((p.means - b) ** 2, 1) + np.einsum(
        "z,zii->", p.weights, resid
    )
    ev = np.linalg.eigvalsh(out_cov[0])
    full = ev.min() > 1e-12 * max(ev.max(), 1e-300)
    if full:
        with jax.enable_x64(True):
            h = float(gaussian_entropy(jnp.asarray(out_cov[0], jnp.float64)))
    else:
        h = -np.inf
    return GaussianObjectives(
        differential_entropy=h,
        information_is_infinite=bool(ev.max() > 1e-12),
        neg_distortion=-float(dist),
        dependence=float(np.max(np.abs(out_cov - out_cov[:1]))),
    )


def gaussian_outcomes(
    problem: GaussianProblem, *, key: jax.Array, scale: float = 2.0
) -> dict[str, GaussianObjectives]:
    r"""Objectives of the barycenter and other outcomes for Gaussian groups.

    The barycenter has ``sqrt(s_bar) = sum_z lambda_z sqrt(s_z)`` in the shared
    basis (commuting case; Xu & Strohmer, arXiv:2502.05684) and map ``A_z = Q
    diag(sqrt(s_bar / s_z)) Q^T``, ``b = m_bar``. Comparators: the constant
    ``E[X]``; coordinate-wise sign quantisation of the barycenter outcome in the
    basis ``Q`` (cells placed at their conditional means); a random rank-1
    orthogonal projection of it; the optimal push of every group to group 0's
    law (another extremal outcome); and ``scale`` times the centred barycenter
    outcome (extremal, more differential entropy).

    Args:
      problem: the :class:`GaussianProblem`.
      key: PRNG key for the random projection direction.
      scale: the factor of the rescaled outcome.

    Returns:
      A dict from outcome name to :class:`GaussianObjectives`.
    """
    p = problem
    w, s = p.weights, p.eigvals
    q = p.basis
    k, d = p.means.shape
    m_bar = w @ p.means
    sbar = (w @ np.sqrt(s)) ** 2
    a_bar = np.einsum("ij,zj,kj->zik", q, np.sqrt(sbar[None] / s), q)
    a_push = np.einsum("ij,zj,kj->zik", q, np.sqrt(s[:1] / s), q)
    u = np.asarray(jax.random.normal(key, (d,)), np.float64)
    u = u / np.linalg.norm(u)
    proj = np.outer(u, u)
    out = {
        "barycenter": _affine_objectives(p, a_bar, m_bar),
        "constant": _affine_objectives(p, np.zeros((k, d, d)), m_bar),
        "random_projection": _affine_objectives(
            p, np.einsum("ij,zjk->zik", proj, a_bar), m_bar
        ),
        "push_to_group_0": _affine_objectives(p, a_push, p.means[0]),
        "rescaled_barycenter": _affine_objectives(p, scale * a_bar, m_bar),
    }
    # Sign quantisation per eigen-coordinate j of T = m_bar + A_z (X - m_z):
    # cell values m_bar_j +- c sqrt(sbar_j), c = E|N(0,1)| = sqrt(2/pi). With
    # W = T_j - m_bar_j ~ N(0, sbar_j) and X_j - m_z_j = sqrt(s_zj/sbar_j) W,
    # E(X_j - q_j)^2 = (m_zj - m_bar_j)^2 + s_zj + c^2 sbar_j
    #                  - 2 c^2 sqrt(s_zj sbar_j).
    c2 = 2 / np.pi
    mq = (p.means - m_bar) @ q
    per = mq**2 + s + c2 * sbar[None] - 2 * c2 * np.sqrt(s * sbar[None])
    out["sign_quantisation"] = GaussianObjectives(
        differential_entropy=-np.inf,  # a discrete outcome
        information_is_infinite=False,  # I <= H(X_hat) = d log 2
        neg_distortion=-float(w @ per.sum(1)),
        dependence=0.0,  # a function of the Z-independent T_Z(X)
    )
    return out


def discrete_outcomes(
    weights: Any,
    group_probs: Any,
    x_support: Any,
    *,
    key: jax.Array,
    n_random: int = 20,
    step: float = 1.0,
) -> dict[str, Objectives]:
    """Objectives of the barycenter and of other ``Z``-independent outcomes.

    Outcomes: ``barycenter``; ``constant``; ``quantised`` (barycenter atoms
    merged by ``floor(s / step)``); ``random_coarsening`` (atoms merged by
    random labels); ``noisy_barycenter`` (:func:`noisy_outcome`);
    ``reversed`` (group 0's atoms in decreasing order: another extremal
    outcome); and ``random_extremal_<i>`` for ``n_random`` random orderings
    of every group's atoms.

    Args:
      weights: ``[k]`` group weights.
      group_probs: ``[k, n]`` group laws.
      x_support: ``[n]`` values of ``X``.
      key: PRNG key for the random outcomes.
      n_random: number of random extremal outcomes.
      step: quantisation step.

    Returns:
      A dict from outcome name to :class:`Objectives`.
    """
    w, mu, x = _problem(weights, group_probs, x_support)
    k, n = mu.shape
    bary = quantile_barycenter_outcome(w, mu, x)
    m = len(bary.support)
    k_lab, k_ord = jax.random.split(key)
    labels = np.asarray(jax.random.randint(k_lab, (m,), 0, max(m // 2, 1)))
    gaps = np.diff(np.sort(bary.support))
    spread = 0.25 * (gaps.min() if len(gaps) else 1.0)
    order = np.argsort(x, kind="stable")
    outcomes = {
        "barycenter": bary,
        "constant": constant_outcome(w, mu, x),
        "quantised": coarsened_outcome(
            w, mu, x, bary, np.floor(bary.support / step)
        ),
        "random_coarsening": coarsened_outcome(w, mu, x, bary, labels),
        "noisy_barycenter": noisy_outcome(bary, spread),
        "reversed": rearrangement_outcome(
            w, mu, x, [order[::-1]] + [order] * (k - 1)
        ),
    }
    for i in range(n_random):
        # fold_in keeps outcome i the same whatever n_random is.
        keys = jax.random.split(jax.random.fold_in(k_ord, i), k)
        orders = [np.asarray(jax.random.permutation(kz, n)) for kz in keys]
        outcomes[f"random_extremal_{i}"] = rearrangement_outcome(
            w, mu, x, orders
        )
    return {
        name: discrete_objectives(w, mu, x, o) for name, o in outcomes.items()
    }
