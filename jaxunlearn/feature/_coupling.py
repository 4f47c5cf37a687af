r"""Joint feature repair through couplings of the groups' empirical laws.

Each group's empirical law :math:`\mu_z` (distinct encoded rows with their
counts) is coupled to a common target and every row draws, keyed, a partner
through its coupling row, so the repaired law is the same for every group:

* **two groups**: the optimal coupling :math:`\pi` between :math:`\mu_0` and
  :math:`\mu_1`; the pair :math:`(i, j)` goes to its McCann point
  :math:`\lambda_0 x_i + \lambda_1 y_j`. Row :math:`i` of group 0 draws
  :math:`j \sim \pi_{i\cdot} / a_i`, row :math:`j` of group 1 draws
  :math:`i \sim \pi_{\cdot j} / b_j`; both groups' repaired laws equal
  :math:`\sum_{ij} \pi_{ij} \delta_{\lambda_0 x_i + \lambda_1 y_j}`, the exact
  Wasserstein-2 barycenter of the two empirical laws.
* **k groups**: a free-support barycenter :math:`\nu` with an exact
  coupling :math:`\pi^z` from each group; row :math:`i` of group z draws an
  atom :math:`l \sim \pi^z_{i\cdot} / a_i`, and every group's repaired law
  is :math:`\nu`.

Partial repair is McCann's interpolation :math:`(1 - t) x + t T(x)`. Rows
not seen at fit time go through their nearest fitted neighbour in their own
group (``extension="nearest"``: :math:`T(x) := T(x_{nn})`, so repaired
values stay on the barycenter support) or through the entropic conditional
law of the partner, :math:`p(j \mid x) \propto \exp((g_j - \|x -
y_j\|^2)/\varepsilon)` with the Sinkhorn potential ``g`` of the partner side
(``extension="entropic"``). With ``coupling="entropic"`` every row (seen or
not) draws through that entropic law; memory stays :math:`O(n \cdot
\text{batch})` and the groups' repaired laws agree up to the Sinkhorn
marginal error and the blur :math:`\varepsilon`.

References:
  Xu & Strohmer, "Machine Unlearning via Information Theoretic
  Regularization", 2025. https://arxiv.org/abs/2502.05684
  Agueh & Carlier, "Barycenters in the Wasserstein space", SIAM J. Math.
  Anal. 2011. https://doi.org/10.1137/100805741
  Gordaliza, del Barrio, Gamboa & Loubes, "Obtaining fairness using optimal
  transport theory", ICML 2019. https://arxiv.org/abs/1806.03195
"""

from typing import NamedTuple

import numpy as np
from jaxtyping import ArrayLike, Float

import jax
import jax.numpy as jnp

from jaxunlearn import _checks
from jaxunlearn.feature import _columns, _repair
from jaxunlearn.feature._coupling_apply import (  # noqa: F401 - re-exported
    _apply,
    _exact_core,
    _nearest_host,
    _nearest_in_graph,
    transform_coupling,
)
from jaxunlearn.feature._coupling_build import (  # noqa: F401 - re-exported
    _build,
    _group_laws,
    _unique_rows,
)
from jaxunlearn.feature._coupling_state import (  # noqa: F401 - re-exported
    _OPTIONS,
    CouplingRepair,
    CouplingStats,
    _Config,
)


def fit_coupling(
    x: Float[ArrayLike, "n p"],
    z: ArrayLike,
    *,
    weights: Float[ArrayLike, " k"] | None = None,
    spec: _columns.ColumnSpec | None = None,
    coupling: str = "auto",
    extension: str = "nearest",
    decode: str = "sample",
    standardize: bool = True,
    num_atoms: int | None = None,
    epsilon: float | None = None,
    relative_epsilon: float = 0.01,
    max_exact_size: int = 25_000_000,
    batch_size: int = 256,
    key: jax.Array | None = None,
) -> CouplingRepair:
    r"""Fits the coupling repair: a joint barycenter of the groups' laws.

    See the module docstring for the construction. Rows are encoded
    (:mod:`~jaxunlearn.feature._columns`) and deduplicated per group, so a
    group's empirical law is a weighted law on its distinct rows. Eager
    only (exact couplings are solved on the host). Also available as
    ``feature.fit(x, z, method="coupling", options=...)`` for continuous
    columns.

    Args:
      x: features ``[n, p]`` (float; categorical columns as codes).
      z: group label per row ``[n]`` (integer codes, any values).
      weights: barycentric weights ``[k]`` in the order of the sorted
        labels; None means the group proportions.
      spec: a :class:`ColumnSpec` (or a sequence of kinds); None means all
        continuous.
      coupling: ``"exact"`` (network simplex), ``"entropic"`` (online
        Sinkhorn) or ``"auto"`` (exact when every coupling has at most
        ``max_exact_size`` entries).
      extension: how unseen rows are repaired: ``"nearest"`` or
        ``"entropic"``.
      decode: ``"sample"`` or ``"mode"`` for categorical and integer columns.
      standardize: divide continuous and integer columns by their std.
      num_atoms: barycenter support size for ``k > 2`` groups; None means
        the largest group's number of distinct rows (at most 2000).
      epsilon: absolute entropic regularization; None means
        ``relative_epsilon`` times the mean cost.
      relative_epsilon: see ``epsilon``.
      max_exact_size: the ``"auto"`` threshold on ``u_z * m_z``.
      batch_size: rows per block for online costs and transforms.
      key: PRNG key for the barycenter's initial atoms; None means key 0.

    Returns:
      A :class:`CouplingRepair`.

    Raises:
      ValueError: bad shapes, a spec that does not match ``x``, fewer than
        two groups, a group with fewer than two rows, bad options.
      TypeError: non-floating ``x`` or non-integer ``z``.

    Examples:
      >>> import jax.numpy as jnp
      >>> x = jnp.array([[0.0], [1.0], [2.0], [3.0]])
      >>> z = jnp.array([0, 0, 1, 1])
      >>> repair = fit_coupling(x, z, standardize=False)
      >>> transform_coupling(repair, x, z)[:, 0].tolist()
      [1.0, 2.0, 1.0, 2.0]
    """
    _checks.check_choice("decode", decode, ("sample", "mode"))
    spec, mean, scale, enc, codes, index, counts = _encode_groups(
        x, z, spec, standardize
    )
    dtype = enc.dtype
    if weights is None:
        lam = counts / counts.sum()
    else:
        weights = _checks.as_array("weights", weights)
        _checks.check_weights("weights", weights, codes.size)
        lam = np.asarray(weights, np.float64)
        lam = lam / lam.sum()
    mean_j, scale_j = jnp.asarray(mean, dtype), jnp.asarray(scale, dtype)
    enc = enc.astype(np.float64)
    stats = _build(
        enc,
        index,
        lam,
        dtype,
        coupling=coupling,
        extension=extension,
        num_atoms=num_atoms,
        epsilon=epsilon,
        relative_epsilon=relative_epsilon,
        max_exact_size=max_exact_size,
        batch_size=batch_size,
        key=key,
    )
    return CouplingRepair(
        codes=jnp.asarray(codes),
        weights=jnp.asarray(lam, dtype),
        stats=CouplingStats(**stats, mean=mean_j, scale=scale_j),
        spec=spec,
        extension=extension,
        decode=decode,
        batch_size=batch_size,
    )


def _encode_groups(x, z, spec, standardize):
    # Checked rows encoded (in x's dtype) and grouped by their label.
    x = _checks.as_array("x", x)
    _checks.check_rank("x", x, 2)
    _checks.check_nonempty("x", x)
    _checks.check_floating("x", x)
    _checks.check_finite("x", x)
    z = _checks.as_array("z", z)
    _checks.check_integer("z", z)
    _checks.check_shape("z", z, (x.shape[0],))
    spec = _columns._normalize_spec(spec, x.shape[1])
    spec, mean, scale = _columns.fit_encoder(
        np.asarray(x, np.float64), spec, standardize=standardize
    )
    codes, index, counts = np.unique(
        np.asarray(z), return_inverse=True, return_counts=True
    )
    _check_groups(codes, counts)
    enc = _columns.encode_host(np.asarray(x), spec, mean, scale, x.dtype)
    return spec, mean, scale, enc, codes, index.reshape(-1), counts


class CouplingMarginals(NamedTuple):
    """The groups' empirical laws that the coupling repair transports.

    Attributes:
      codes: the group labels ``[k]`` (sorted).
      support: per group, its distinct encoded rows ``[u_z, D]`` (float64,
        in the order of ``codes``).
      mass: per group, the share of the group's rows at each distinct row
        ``[u_z]`` (sums to 1).
    """

    codes: np.ndarray
    support: tuple[np.ndarray, ...]
    mass: tuple[np.ndarray, ...]


def coupling_marginals(
    x: Float[ArrayLike, "n p"],
    z: ArrayLike,
    *,
    spec: _columns.ColumnSpec | None = None,
    standardize: bool = True,
) -> CouplingMarginals:
    """The transport problem of :func:`fit_coupling`, without solving it.

    Rows are encoded and deduplicated per group exactly as
    :func:`fit_coupling` does, so the laws returned are the marginals of
    the couplings it solves (for two groups, the exact coupling between
    ``support[0]`` and ``support[1]`` with masses ``mass``). Use it to
    time or compare OT solvers on the repair's own problem.

    Args:
      x: features ``[n, p]`` (float; categorical columns as codes).
      z: group label per row ``[n]`` (integer codes, any values).
      spec: a :class:`ColumnSpec` (or a sequence of kinds); None means all
        continuous.
      standardize: divide continuous and integer columns by their std.

    Returns:
      A :class:`CouplingMarginals`.

    Raises:
      ValueError: bad shapes, a spec that does not match ``x``, fewer than
        two groups or a group with fewer than two rows.
      TypeError: non-floating ``x`` or non-integer ``z``.

    Examples:
      >>> import numpy as np
      >>> x = np.array([[0.0], [0.0], [1.0], [2.0], [2.0], [2.0]])
      >>> m = coupling_marginals(x, np.array([0, 0, 0, 1, 1, 1]),
      ...                        standardize=False)
      >>> m.support[0][:, 0].tolist(), m.mass[0].tolist()
      ([0.0, 1.0], [0.6666666666666666, 0.3333333333333333])
    """
    _, _, _, enc, codes, index, _ = _encode_groups(x, z, spec, standardize)
    support, mass = _group_laws(enc.astype(np.float64), index, codes.size)
    return CouplingMarginals(codes, tuple(support), tuple(mass))


def _check_groups(codes: np.ndarray, counts: np.ndarray) -> None:
    if codes.size < 2:
        raise ValueError(
            f"z: expected at least two groups, got only {codes.tolist()}"
        )
    if np.any(counts < 2):
        small = codes[counts < 2].tolist()
        raise ValueError(
            f"z: method 'coupling' needs at least two rows per group; groups"
            f" {small} have fewer"
        )


def _registry_options(options: dict) -> dict:
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise ValueError(
            f"options: unknown option(s) {unknown} for method 'coupling'"
            f" (known: {list(_OPTIONS)})"
        )
    return dict(options)


def _registry_fit(x, index, num_groups, weights, **options):
    options = _registry_options(options)
    index = np.asarray(index)
    codes, counts = np.unique(index, return_counts=True)
    _check_groups(codes, counts)
    seed = options.pop("seed", 0)
    standardize = options.pop("standardize", True)
    x64 = np.asarray(x, np.float64)
    spec = _columns._normalize_spec(None, x.shape[1])
    _, mean, scale = _columns.fit_encoder(x64, spec, standardize=standardize)
    enc = _columns.encode_host(x64, spec, mean, scale, x.dtype)
    stats = _build(
        enc.astype(np.float64),
        index,
        np.asarray(weights, np.float64),
        x.dtype,
        key=jax.random.key(seed),
        **options,
    )
    return CouplingStats(
        **stats,
        mean=jnp.asarray(mean, x.dtype),
        scale=jnp.asarray(scale, x.dtype),
    )


def _registry_transform(stats, weights, x, index, key, options):
    del weights
    cfg = _Config(
        _columns._normalize_spec(None, x.shape[1]),
        options.get("extension", "nearest"),
        "mode",
        options.get("batch_size", 256),
    )
    one = jnp.ones((), x.dtype)
    return _apply(stats, cfg, x, index, one, key)


_repair.register_method(
    "coupling",
    _repair.RepairMethod(
        fit=_registry_fit,
        transform=_registry_transform,
        inverse=None,
        min_group_size=2,
        state=CouplingStats,
    ),
)
