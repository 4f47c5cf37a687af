r"""The ``"semidiscrete"`` repair: Laguerre cells onto a discrete barycenter.

Columns are standardized with the pooled training mean and std; a
barycenter with ``num_atoms`` atoms and one dual vector per group is fitted
by :func:`jaxunlearn.transport.fit_semidiscrete_barycenter`; a row of group
z goes to the atom of its cell (``sample=False``) or to an atom drawn from
its entropic cell law (``sample=True``, the default, keyed). Because the
cells are fixed regions whose masses were balanced on many rows each, the
repaired law is the barycenter's on rows the fit never saw too (see
``docs/feature_coupling.md`` for why a nearest-fitted-row extension is
not).
"""

import jax
import jax.numpy as jnp
import numpy as np

from jaxunlearn import transport
from jaxunlearn.feature import _repair

_MIN_ROWS_PER_ATOM = 20
_MAX_ATOMS = 256


def default_num_atoms(counts) -> int:
    """Atoms such that the smallest group has 20 rows per atom (2..256)."""
    return int(
        np.clip(int(np.min(counts)) // _MIN_ROWS_PER_ATOM, 2, _MAX_ATOMS)
    )


def _fit(
    x,
    index,
    num_groups,
    weights,
    num_atoms=None,
    relative_epsilon=0.02,
    fixed_point_steps=5,
    num_iterations=0,
    batch_size=512,
    refine_steps=100,
    seed=0,
    sample=True,
):
    del sample  # used at transform time
    counts = np.bincount(np.asarray(index), minlength=num_groups)
    if num_atoms is None:
        num_atoms = default_num_atoms(counts)
    if not isinstance(num_atoms, int) or num_atoms < 1:
        raise ValueError(
            f"options['num_atoms']: expected a positive int, got {num_atoms!r}"
        )
    if num_atoms > counts.min():
        raise ValueError(
            f"options['num_atoms']: expected at most the smallest group's"
            f" {int(counts.min())} rows, got {num_atoms}"
        )
    if not relative_epsilon > 0:
        raise ValueError(
            "options['relative_epsilon']: expected a positive number, got"
            f" {relative_epsilon!r}"
        )
    mean = jnp.mean(x, axis=0)
    std = jnp.std(x, axis=0)
    std = jnp.where(std > 0, std, 1.0)
    e = (x - mean[None, :]) / std[None, :]
    # The blur is relative to the mean squared distance between rows: 2 d
    # for standardized columns of positive variance.
    d_eff = float(jnp.sum(jnp.std(e, axis=0) ** 2))
    epsilon = float(relative_epsilon) * 2.0 * max(d_eff, 1e-12)
    bary = transport.fit_semidiscrete_barycenter(
        jax.random.key(int(seed)),
        e,
        index,
        num_groups,
        weights,
        num_atoms=num_atoms,
        epsilon=epsilon,
        fixed_point_steps=int(fixed_point_steps),
        num_iterations=int(num_iterations),
        batch_size=int(batch_size),
        refine_steps=int(refine_steps),
    )
    return {
        "mean": mean,
        "std": std,
        "atoms": bary.atoms,
        "atom_weights": bary.weights,
        "potentials": bary.potentials,
        "epsilon": bary.epsilon,
    }


def _transform(stats, weights, x, index, key, options):
    del weights
    e = (x - stats["mean"][None, :]) / stats["std"][None, :]
    eps = jnp.where(options.get("sample", True), stats["epsilon"], 0.0)
    atoms, pots = stats["atoms"], stats["potentials"]
    b = stats["atom_weights"]

    def one(q, z, k):
        j = transport.laguerre_assign(k, q[None], atoms, pots[z], b, eps)[0]
        return atoms[j]

    keys = jax.random.split(key, x.shape[0])
    out = jax.lax.map(lambda a: one(*a), (e, index, keys), batch_size=1024)
    return out * stats["std"][None, :] + stats["mean"][None, :]


def _register():
    _repair.register_method(
        "semidiscrete",
        _repair.RepairMethod(
            fit=_fit, transform=_transform, inverse=None, min_group_size=2
        ),
    )


_register()
