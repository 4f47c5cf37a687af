r"""The ``"semidiscrete"`` repair: Laguerre cells onto a discrete barycenter.

Columns are encoded (numeric columns standardized with the pooled training
mean and std; with ``kinds`` given, categorical columns as one-hot blocks
scaled by :math:`1/\sqrt 2`, as the ``"coupling"`` method does); a
barycenter with ``num_atoms`` atoms and one dual vector per group is fitted
by :func:`jaxunlearn.transport.fit_semidiscrete_barycenter`; a row of group
z goes to the atom of its cell (``sample=False``) or to an atom drawn from
its entropic cell law (``sample=True``, the default, keyed per row). With
categorical columns the atom is decoded back to valid codes (a category
drawn from the atom's one-hot block, integers rounded stochastically).
Because the cells are fixed regions whose masses were balanced on many rows
each, the repaired law is the barycenter's on rows the fit never saw too
(see ``docs/feature_coupling.md`` for why a nearest-fitted-row extension is
not).

Every row's draws come from ``fold_in(key, row)`` with ``row`` the row's
position, so a chunked or sharded transform draws what one call draws.
"""

from jaxtyping import Array

import jax
import jax.numpy as jnp
import numpy as np

from jaxunlearn import transport
from jaxunlearn.feature import _columns, _repair
from jaxunlearn.feature._state import repair_state

_MIN_ROWS_PER_ATOM = 20
_MAX_ATOMS = 256


@repair_state
class SemidiscreteState:
    """Fitted statistics of the ``"semidiscrete"`` method.

    Attributes:
      mean: centre of each encoded column ``[e]``.
      std: scale of each encoded column ``[e]`` (rows are standardized
        as ``(encoded - mean) / std`` before the cells are read).
      atoms: the barycenter's atoms, standardized ``[m, e]``.
      atom_weights: their masses ``[m]`` (sum 1).
      potentials: one dual vector per group ``[k, m]`` (the Laguerre
        cells of group z: ``argmin_j |s - atoms[j]|^2 / 2 - g_z[j]``).
      epsilon: the entropic blur of the sampled cells ``[]``.
      enc_mean: with column kinds, the centres of the columns before the
        one-hot encoding ``[p]``; else ``None``.
      enc_scale: with column kinds, their scales ``[p]``; else ``None``.
    """

    mean: Array
    std: Array
    atoms: Array
    atom_weights: Array
    potentials: Array
    epsilon: Array
    enc_mean: Array | None = None
    enc_scale: Array | None = None


def default_num_atoms(counts) -> int:
    """Atoms such that the smallest group has 20 rows per atom (2..256)."""
    return int(
        np.clip(int(np.min(counts)) // _MIN_ROWS_PER_ATOM, 2, _MAX_ATOMS)
    )


def check_num_atoms(num_atoms, counts) -> int:
    """The atom count (default for None); ValueError naming the option."""
    counts = np.asarray(counts)
    if num_atoms is None:
        num_atoms = default_num_atoms(counts)
    if (
        isinstance(num_atoms, bool)
        or not isinstance(num_atoms, int | np.integer)
        or num_atoms < 1
    ):
        raise ValueError(
            f"options['num_atoms']: expected a positive int, got {num_atoms!r}"
        )
    if num_atoms > counts.min():
        raise ValueError(
            f"options['num_atoms']: expected at most the smallest group's"
            f" {int(counts.min())} rows, got {num_atoms}"
        )
    return int(num_atoms)


def check_relative_epsilon(relative_epsilon) -> float:
    if not relative_epsilon > 0:
        raise ValueError(
            "options['relative_epsilon']: expected a positive number, got"
            f" {relative_epsilon!r}"
        )
    return float(relative_epsilon)


def column_spec(kinds, num_categories, p: int) -> _columns.ColumnSpec | None:
    """The spec of the options ``kinds`` / ``num_categories`` (None: none).

    Every categorical column needs its number of categories (as
    :func:`jaxunlearn.feature.infer_column_spec` returns it): the one-hot
    width is part of the compiled transform.
    """
    if kinds is None:
        if num_categories is not None:
            raise ValueError(
                "options['num_categories']: given without options['kinds']"
            )
        return None
    if isinstance(kinds, str):
        raise TypeError(
            "options['kinds']: expected a list of column kinds, got the"
            f" string {kinds!r}"
        )
    spec = _columns._normalize_spec(
        _columns.ColumnSpec(tuple(kinds), tuple(num_categories or ())), p
    )
    for i, (kind, k) in enumerate(
        zip(spec.kinds, spec.num_categories, strict=True)
    ):
        if kind == "categorical" and k < 1:
            raise ValueError(
                f"options['num_categories'][{i}]: expected the number of"
                f" categories of categorical column {i}, got {k}"
            )
    return spec


def blur(relative_epsilon: float, d_eff: float) -> float:
    """Absolute blur: relative to the mean squared distance ``2 d_eff``."""
    return float(relative_epsilon) * 2.0 * max(float(d_eff), 1e-12)


def fit_encoded(e, index, num_groups, weights, *, num_atoms, epsilon, **kw):
    """Barycenter and potentials of standardized encoded rows ``e``."""
    bary = transport.fit_semidiscrete_barycenter(
        jax.random.key(int(kw.pop("seed"))),
        e,
        index,
        num_groups,
        weights,
        num_atoms=num_atoms,
        epsilon=epsilon,
        fixed_point_steps=int(kw["fixed_point_steps"]),
        num_iterations=int(kw["num_iterations"]),
        batch_size=int(kw["batch_size"]),
        refine_steps=int(kw["refine_steps"]),
    )
    return {
        "atoms": bary.atoms,
        "atom_weights": bary.weights,
        "potentials": bary.potentials,
        "epsilon": bary.epsilon,
    }


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
    kinds=None,
    num_categories=None,
):
    del sample  # used at transform time
    counts = np.bincount(np.asarray(index), minlength=num_groups)
    num_atoms = check_num_atoms(num_atoms, counts)
    relative_epsilon = check_relative_epsilon(relative_epsilon)
    spec = column_spec(kinds, num_categories, x.shape[1])
    extra = {}
    if spec is not None:
        x64 = np.asarray(x, np.float64)
        _columns.check_codes(x64, spec)
        _, emean, escale = _columns.fit_encoder(x64, spec, standardize=True)
        e = jnp.asarray(_columns.encode_host(x64, spec, emean, escale, x.dtype))
        extra = {
            "enc_mean": jnp.asarray(emean, x.dtype),
            "enc_scale": jnp.asarray(escale, x.dtype),
        }
        mean = jnp.zeros(e.shape[1], x.dtype)
        std = jnp.ones(e.shape[1], x.dtype)
    else:
        mean = jnp.mean(x, axis=0)
        std = jnp.std(x, axis=0)
        std = jnp.where(std > 0, std, 1.0)
        e = (x - mean[None, :]) / std[None, :]
    d_eff = float(jnp.sum(jnp.std(e, axis=0) ** 2))
    stats = fit_encoded(
        e,
        index,
        num_groups,
        weights,
        num_atoms=num_atoms,
        epsilon=blur(relative_epsilon, d_eff),
        seed=seed,
        fixed_point_steps=fixed_point_steps,
        num_iterations=num_iterations,
        batch_size=batch_size,
        refine_steps=refine_steps,
    )
    return SemidiscreteState(mean=mean, std=std, **stats, **extra)


def repair_rows(stats, spec, x, index, rows, key, t, sample: bool):
    """Repairs rows ``x`` of groups ``index`` (pure, traceable).

    Args:
      stats: the fitted arrays.
      spec: the column spec (static) or None.
      x: rows ``[n, p]``.
      index: group index per row ``[n]``.
      rows: each row's position ``[n]`` (its draws use ``fold_in(key,
        row)``).
      key: PRNG key.
      t: repair amount (scalar); interpolation happens in the encoded
        space, then categorical columns are decoded to valid codes.
      sample: draw the atom from the entropic cell law (else hard cells).

    Returns:
      The repaired rows ``[n, p]``.
    """
    if spec is not None:
        e = _columns.encode(x, spec, stats["enc_mean"], stats["enc_scale"])
    else:
        e = x
    mean, std = stats["mean"], stats["std"]
    s = (e - mean[None, :]) / std[None, :]
    eps = stats["epsilon"] if sample else jnp.zeros_like(stats["epsilon"])
    atoms, b = stats["atoms"], stats["atom_weights"]
    pots = stats["potentials"][index]
    keys = jax.vmap(lambda r: jax.random.fold_in(key, r))(rows)
    k_atom, k_dec = jnp.moveaxis(jax.vmap(jax.random.split)(keys), 1, 0)

    def one(k, q, g):
        return transport.laguerre_assign(k, q[None], atoms, g, b, eps)[0]

    j = jax.vmap(one)(k_atom, s, pots)
    target = atoms[j] * std[None, :] + mean[None, :]
    t = jnp.asarray(t, e.dtype)
    mixed = jnp.where(t == 1, target, (1 - t) * e + t * target)
    if spec is None:
        return mixed

    def dec(row, k):
        return _columns.decode(
            row[None],
            spec,
            stats["enc_mean"],
            stats["enc_scale"],
            mode="sample",
            key=k,
        )[0]

    return jax.vmap(dec)(mixed, k_dec)


def spec_of(options: dict, p: int):
    return column_spec(options.get("kinds"), options.get("num_categories"), p)


def _transform(stats, weights, x, index, key, options):
    del weights
    rows = jnp.arange(x.shape[0], dtype=jnp.uint32)
    return repair_rows(
        stats,
        spec_of(options, x.shape[1]),
        x,
        index,
        rows,
        key,
        1.0,
        bool(options.get("sample", True)),
    )


def _register():
    _repair.register_method(
        "semidiscrete",
        _repair.RepairMethod(
            fit=_fit,
            transform=_transform,
            inverse=None,
            min_group_size=2,
            state=SemidiscreteState,
        ),
    )


_register()
