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

import dataclasses
import functools

import numpy as np
from jaxtyping import Array, ArrayLike, Float

import jax
import jax.numpy as jnp

from jaxunlearn import _checks
from jaxunlearn.feature import _columns
from jaxunlearn.transport import _empirical

_static = functools.partial(dataclasses.field, metadata={"static": True})
_CHUNK = 4096


@functools.partial(jax.tree_util.register_dataclass)
@dataclasses.dataclass(frozen=True)
class CouplingRepair:
    """A fitted coupling repair (a frozen pytree).

    Per group ``z`` (tuples of length ``k``): ``support[z]`` its distinct
    encoded rows ``[u_z, D]``; the sparse coupling rows as segments
    ``seg_start[z]``, ``seg_count[z]`` ``[u_z]`` into ``entry_cum[z]`` (the
    cumulative conditional mass within a row) and ``entry_partner[z]``
    ``[e_z]``; ``partners[z]`` the partner points ``[m_z, D]`` (the other
    group's support for two groups, the barycenter atoms otherwise) and
    ``potential[z]`` their Sinkhorn potential ``[m_z]`` (zeros when no
    entropic coupling was fitted). A row of group z with partner ``p`` goes
    to ``alpha[z] * x + (1 - alpha[z]) * p``.

    Attributes:
      codes: group labels ``[k]``.
      weights: barycentric weights ``[k]``.
      alpha: own weight in the repaired point ``[k]``.
      support: per-group distinct encoded rows.
      seg_start: per-group start of each row's entries.
      seg_count: per-group number of entries of each row.
      entry_cum: per-group cumulative conditional masses.
      entry_partner: per-group partner index of each entry.
      partners: per-group partner points.
      potential: per-group partner potentials.
      epsilon: entropic regularization ``[]`` (0 when unused).
      mean: column centres ``[p]``.
      scale: column scales ``[p]``.
      spec: the completed :class:`ColumnSpec` (static).
      max_seg: per-group longest coupling row (static).
      coupling: ``"exact"`` or ``"entropic"`` (static).
      extension: ``"nearest"`` or ``"entropic"`` (static).
      decode: ``"sample"`` or ``"mode"`` (static).
      batch_size: rows per block in transforms (static).
    """

    codes: Array
    weights: Array
    alpha: Array
    support: tuple
    seg_start: tuple
    seg_count: tuple
    entry_cum: tuple
    entry_partner: tuple
    partners: tuple
    potential: tuple
    epsilon: Array
    mean: Array
    scale: Array
    spec: _columns.ColumnSpec = _static()
    max_seg: tuple = _static()
    coupling: str = _static()
    extension: str = _static()
    decode: str = _static()
    batch_size: int = _static()


def _unique_rows(e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows and their counts."""
    uniq, counts = np.unique(e, axis=0, return_counts=True)
    return uniq, counts.astype(np.float64)


def _segments(rows, partner, mass, u):
    """Sorts entries by row; returns starts, counts, cum masses, partners."""
    order = np.lexsort((partner, rows))
    rows, partner, mass = rows[order], partner[order], mass[order]
    count = np.bincount(rows, minlength=u)
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    row_mass = np.bincount(rows, weights=mass, minlength=u)
    cum = np.zeros_like(mass)
    for_seg = np.cumsum(mass) - np.repeat(np.cumsum(row_mass) - row_mass, count)
    cum = for_seg / np.repeat(np.where(row_mass > 0, row_mass, 1.0), count)
    # The last entry of each row closes at exactly 1.
    cum[start + count - 1] = 1.0
    return start, count, cum, partner


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
    only (exact couplings are solved on the host).

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
    x = _checks.as_array("x", x)
    _checks.check_rank("x", x, 2)
    _checks.check_nonempty("x", x)
    _checks.check_floating("x", x)
    _checks.check_finite("x", x)
    z = _checks.as_array("z", z)
    _checks.check_integer("z", z)
    _checks.check_shape("z", z, (x.shape[0],))
    _checks.check_choice("coupling", coupling, ("auto", "exact", "entropic"))
    _checks.check_choice("extension", extension, ("nearest", "entropic"))
    _checks.check_choice("decode", decode, ("sample", "mode"))
    _checks.check_positive_int("batch_size", batch_size)
    dtype = x.dtype
    spec = _columns._normalize_spec(spec, x.shape[1])
    x_np = np.asarray(x, np.float64)
    spec, mean, scale = _columns.fit_encoder(
        x_np, spec, standardize=standardize
    )
    z_np = np.asarray(z)
    codes, counts = np.unique(z_np, return_counts=True)
    k = codes.size
    if k < 2:
        raise ValueError(
            f"z: expected at least two groups, got only {codes.tolist()}"
        )
    if np.any(counts < 2):
        small = codes[counts < 2].tolist()
        raise ValueError(
            f"z: method 'coupling' needs at least two rows per group; groups"
            f" {small} have fewer"
        )
    if weights is None:
        lam = counts / counts.sum()
    else:
        weights = _checks.as_array("weights", weights)
        _checks.check_weights("weights", weights, k)
        lam = np.asarray(weights, np.float64)
        lam = lam / lam.sum()
    mean_j, scale_j = jnp.asarray(mean, dtype), jnp.asarray(scale, dtype)
    enc = np.asarray(_columns.encode(x, spec, mean_j, scale_j), np.float64)
    supports, masses = [], []
    for c in codes:
        u, m = _unique_rows(enc[z_np == c])
        supports.append(u)
        masses.append(m / m.sum())

    if k == 2:
        partners = [supports[1], supports[0]]
        partner_mass = [masses[1], masses[0]]
        alpha = lam.copy()
    else:
        if num_atoms is None:
            num_atoms = min(max(s.shape[0] for s in supports), 2000)
        _checks.check_positive_int("num_atoms", num_atoms)
        key = jax.random.key(0) if key is None else key
        bary = _empirical.free_support_barycenter(
            [jnp.asarray(s, dtype) for s in supports],
            [jnp.asarray(m, dtype) for m in masses],
            jnp.asarray(lam, dtype),
            num_atoms=num_atoms,
            key=key,
        )
        atoms = np.asarray(bary.atoms, np.float64)
        partners = [atoms] * k
        partner_mass = [np.asarray(bary.atom_weights, np.float64)] * k
        alpha = np.zeros(k)
    sizes = [
        s.shape[0] * q.shape[0] for s, q in zip(supports, partners, strict=True)
    ]
    if coupling == "auto":
        coupling = "exact" if max(sizes) <= max_exact_size else "entropic"

    seg = []
    if coupling == "exact":
        if k == 2:
            pi = _empirical.exact_coupling(
                jnp.asarray(supports[0], dtype),
                jnp.asarray(supports[1], dtype),
                jnp.asarray(masses[0], dtype),
                jnp.asarray(masses[1], dtype),
            )
            r, c = np.asarray(pi.rows), np.asarray(pi.cols)
            w = np.asarray(pi.mass, np.float64)
            entries = [(r, c, w), (c, r, w)]
        else:
            entries = [
                (np.asarray(p.rows), np.asarray(p.cols), np.asarray(p.mass))
                for p in bary.couplings
            ]
        for zi, (r, c, w) in enumerate(entries):
            seg.append(_segments(r, c, w.astype(np.float64), len(masses[zi])))
    else:
        for zi in range(k):
            seg.append(
                (
                    np.zeros(len(masses[zi]), np.int64),
                    np.zeros(len(masses[zi]), np.int64),
                    np.ones(1),
                    np.zeros(1, np.int64),
                )
            )

    potentials = [np.zeros(p.shape[0]) for p in partners]
    eps = 0.0
    if coupling == "entropic" or extension == "entropic":
        for zi in range(k):
            out = _empirical.entropic_coupling(
                jnp.asarray(supports[zi], dtype),
                jnp.asarray(partners[zi], dtype),
                jnp.asarray(masses[zi], dtype),
                jnp.asarray(partner_mass[zi], dtype),
                epsilon=epsilon,
                relative_epsilon=relative_epsilon,
                batch_size=batch_size,
            )
            potentials[zi] = np.asarray(out.g, np.float64)
            eps = float(out.epsilon)

    def arr(a, dt=dtype):
        return jnp.asarray(a, dt)

    return CouplingRepair(
        codes=jnp.asarray(codes),
        weights=arr(lam),
        alpha=arr(alpha),
        support=tuple(arr(s) for s in supports),
        seg_start=tuple(arr(s[0], jnp.int32) for s in seg),
        seg_count=tuple(arr(s[1], jnp.int32) for s in seg),
        entry_cum=tuple(arr(s[2]) for s in seg),
        entry_partner=tuple(arr(s[3], jnp.int32) for s in seg),
        partners=tuple(arr(p) for p in partners),
        potential=tuple(arr(g) for g in potentials),
        epsilon=arr(eps),
        mean=mean_j,
        scale=scale_j,
        spec=spec,
        max_seg=tuple(max(int(np.max(s[1])), 1) for s in seg),
        coupling=coupling,
        extension=extension,
        decode=decode,
        batch_size=batch_size,
    )


def _draw_sparse(repair: CouplingRepair, zi: int, row: Array, u: Array):
    """Partner index drawn through a fitted coupling row (inverse CDF)."""
    start = repair.seg_start[zi][row]
    count = repair.seg_count[zi][row]
    cum_all = repair.entry_cum[zi]
    offs = jnp.arange(repair.max_seg[zi])
    idx = jnp.clip(start + offs, 0, cum_all.shape[0] - 1)
    below = (offs < count) & (cum_all[idx] < u)
    pos = start + jnp.minimum(jnp.sum(below), count - 1)
    return repair.entry_partner[zi][pos]


def _draw_entropic(repair: CouplingRepair, zi: int, q: Array, key: Array):
    """Partner index drawn from the entropic conditional law at ``q``."""
    logits = _empirical.entropic_logits(
        q, repair.partners[zi], repair.potential[zi], repair.epsilon
    )
    return jax.random.categorical(key, logits)


def _repair_group(repair: CouplingRepair, zi: int, e, t, key):
    """Repairs every row of ``e`` as if it belonged to group ``zi``."""
    support = repair.support[zi]
    partners = repair.partners[zi]
    alpha = repair.alpha[zi]
    sq_norms = jnp.sum(support * support, axis=1)
    dtype = e.dtype
    tiny = jnp.finfo(dtype).eps

    def one(args):
        q, k_row = args
        k_u, k_e = jax.random.split(k_row)
        # Nearest fitted row: argmin via the expansion, exact check after.
        d2 = sq_norms - 2.0 * (support @ q)
        nn = jnp.argmin(d2)
        own = support[nn]
        gap = jnp.sum((q - own) ** 2)
        hit = gap <= tiny * (1.0 + jnp.sum(q * q))
        if repair.coupling == "exact":
            u = jax.random.uniform(k_u, (), dtype, minval=tiny, maxval=1.0)
            p_fit = _draw_sparse(repair, zi, nn, u)
        else:
            p_fit = _draw_entropic(repair, zi, own, k_u)
        if repair.extension == "nearest":
            partner, base = p_fit, own
        else:
            p_new = _draw_entropic(repair, zi, q, k_e)
            partner = jnp.where(hit, p_fit, p_new)
            base = jnp.where(hit, own, q)
        target = alpha * base + (1 - alpha) * partners[partner]
        return (1 - t) * q + t * target

    keys = jax.random.split(key, e.shape[0])
    return jax.lax.map(one, (e, keys), batch_size=repair.batch_size)


@jax.jit
def _transform_core(repair, x, gidx, t, key):
    spec = repair.spec
    e = _columns.encode(x, spec, repair.mean, repair.scale)
    k = len(repair.support)
    keys = jax.random.split(key, k + 1)
    out = e
    for zi in range(k):
        rep = _repair_group(repair, zi, e, t, keys[zi])
        out = jnp.where((gidx == zi)[:, None], rep, out)
    return _columns.decode(
        out, spec, repair.mean, repair.scale, mode=repair.decode, key=keys[k]
    )


def transform_coupling(
    repair: CouplingRepair,
    x: Float[ArrayLike, "n p"],
    z: ArrayLike,
    *,
    t: float | ArrayLike = 1.0,
    key: jax.Array | None = None,
) -> Float[Array, "n p"]:
    r"""Applies a fitted coupling repair to any rows, seen or unseen.

    Each row of group z draws (keyed) a partner through its coupling row and
    moves to :math:`(1 - t) x + t\,(\alpha_z x + (1 - \alpha_z) p)`; unseen
    rows follow ``repair.extension``. Categorical columns come back as
    valid codes, integer columns as integers.

    Args:
      repair: a :class:`CouplingRepair` from :func:`fit_coupling`.
      x: features ``[n, p]`` in the layout used at fit time.
      z: group label per row ``[n]`` (labels seen at fit time).
      t: repair strength ``[]`` in ``[0, 1]``.
      key: PRNG key for the draws; None means key 0 (reproducible).

    Returns:
      Repaired features ``[n, p]`` in the dtype of ``x``.

    Raises:
      ValueError: bad shapes, a label unseen at fit time, category codes
        outside the fitted range, ``t`` outside ``[0, 1]``.
      TypeError: non-floating ``x`` or non-integer ``z``.

    Examples:
      >>> import jax.numpy as jnp
      >>> x = jnp.array([[0.0], [1.0], [2.0], [3.0]])
      >>> z = jnp.array([0, 0, 1, 1])
      >>> repair = fit_coupling(x, z, standardize=False)
      >>> transform_coupling(repair, x, z, t=0.5)[:, 0].tolist()
      [0.5, 1.5, 1.5, 2.5]
    """
    x = _checks.as_array("x", x)
    _checks.check_rank("x", x, 2)
    _checks.check_floating("x", x)
    _checks.check_finite("x", x)
    p = len(repair.spec.kinds)
    if x.shape[1] != p:
        raise ValueError(
            f"x: expected {p} columns (as at fit time), got shape {x.shape}"
        )
    z = _checks.as_array("z", z)
    _checks.check_integer("z", z)
    _checks.check_shape("z", z, (x.shape[0],))
    _checks.check_unit_interval("t", t)
    codes = repair.codes
    if _checks.is_concrete(z):
        seen = np.isin(np.asarray(z), np.asarray(codes))
        if not np.all(seen):
            bad = np.unique(np.asarray(z)[~seen]).tolist()
            raise ValueError(
                f"z: labels {bad} were not seen at fit time (fitted groups:"
                f" {np.asarray(codes).tolist()})"
            )
    if _checks.is_concrete(x):
        _columns.check_codes(np.asarray(x), repair.spec)
    gidx = jnp.argmax(z[:, None] == codes[None, :], axis=1)
    key = jax.random.key(0) if key is None else key
    t = jnp.asarray(t, x.dtype)
    n = x.shape[0]
    if n == 0:
        return jnp.zeros_like(x)
    # Fixed-size row chunks (padded): every eager call with rows of this
    # width reuses one compiled program whatever ``n`` is, and a jitted call
    # draws exactly what the eager one draws.
    chunk = min(_CHUNK, max(256, 1 << (n - 1).bit_length()))
    outs = []
    for c, lo in enumerate(range(0, n, chunk)):
        xs, gs = x[lo : lo + chunk], gidx[lo : lo + chunk]
        pad = chunk - xs.shape[0]
        if pad:
            xs = jnp.concatenate([xs, jnp.repeat(xs[-1:], pad, axis=0)])
            gs = jnp.concatenate([gs, jnp.repeat(gs[-1:], pad)])
        out = _transform_core(repair, xs, gs, t, jax.random.fold_in(key, c))
        outs.append(out[: chunk - pad])
    return jnp.concatenate(outs, axis=0)
