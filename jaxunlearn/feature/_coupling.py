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
from typing import NamedTuple

import numpy as np
from jaxtyping import Array, ArrayLike, Float

import jax
import jax.numpy as jnp

from jaxunlearn import _checks, transport
from jaxunlearn.feature import _columns, _repair
from jaxunlearn.feature._state import repair_state

_static = functools.partial(dataclasses.field, metadata={"static": True})
_CHUNK = 4096


_OPTIONS = (
    "coupling",
    "extension",
    "num_atoms",
    "epsilon",
    "relative_epsilon",
    "max_exact_size",
    "batch_size",
    "standardize",
    "seed",
)


@repair_state
class CouplingStats:
    """Fitted arrays of a coupling repair (see :class:`CouplingRepair`).

    Attributes:
      alpha: ``[k]``; a row with partner ``p`` goes to ``alpha x + beta p``.
      beta: ``[k]``.
      support: distinct encoded rows per group ``[k, U, D]``.
      support_count: real rows of ``support`` ``[k]``.
      seg_count: coupling entries per row ``[k, U]``.
      entry_cum: cumulative conditional mass of each entry ``[k, U, L]``.
      entry_atom: index of each entry's repaired point in ``atoms``
        ``[k, U, L]``.
      atoms: the repaired points ``[E, D]``.
      partners: the other side of each coupling ``[k, M, D]``.
      partner_count: real rows of ``partners`` ``[k]``.
      potential: Sinkhorn potential of the partners ``[k, M]``.
      epsilon: entropic regularization ``[]``.
      mean: column centres ``[p]``.
      scale: column scales ``[p]``.
    """

    alpha: Array
    beta: Array
    support: Array
    support_count: Array
    seg_count: Array
    entry_cum: Array
    entry_atom: Array
    atoms: Array
    partners: Array
    partner_count: Array
    potential: Array
    epsilon: Array
    mean: Array
    scale: Array


class _Config(NamedTuple):
    """Static configuration of a fitted coupling repair."""

    spec: _columns.ColumnSpec
    extension: str
    decode: str
    batch_size: int


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class CouplingRepair:
    """A fitted coupling repair (a frozen pytree; pass it through ``jit``).

    ``stats`` holds padded per-group arrays (``k`` groups, at most ``U``
    distinct rows and ``M`` partners per group, at most ``L`` coupling
    entries per row): ``support`` ``[k, U, D]`` and ``support_count``
    ``[k]`` (the distinct encoded rows), ``seg_count`` ``[k, U]``,
    ``entry_cum`` and ``entry_atom`` ``[k, U, L]`` (each row's coupling
    entries: cumulative conditional mass and the index of the entry's
    repaired point in ``atoms`` ``[E, D]``, computed once at fit time; for
    two groups one atom per coupled pair, for k groups the barycenter's
    atoms; ``L = 0`` for an entropic coupling), ``partners`` ``[k, M, D]`` and
    ``partner_count`` ``[k]`` (the other group's rows for two groups, the
    barycenter atoms otherwise), ``potential`` ``[k, M]`` (Sinkhorn
    potential of the partners; zeros when unused), ``alpha`` and ``beta``
    ``[k]`` (a row with partner ``p`` goes to ``alpha x + beta p``; for two
    groups ``beta`` holds the *same* floats as the other group's ``alpha``,
    so both members of a pair land on bitwise the same point: otherwise
    ``1 - lambda_1 != lambda_0`` in floating point and a histogram auditor
    reads Z from the last bit of columns with few distinct values),
    ``epsilon`` ``[]``, and the column centres and scales ``mean``,
    ``scale`` ``[p]``.

    Attributes:
      codes: group labels ``[k]`` (sorted).
      weights: barycentric weights ``[k]``.
      stats: the arrays above, a :class:`CouplingStats`.
      spec: the completed :class:`ColumnSpec` (static).
      extension: ``"nearest"`` or ``"entropic"`` (static).
      decode: ``"sample"`` or ``"mode"`` (static).
      batch_size: rows per block in transforms (static).
    """

    codes: Array
    weights: Array
    stats: CouplingStats
    spec: _columns.ColumnSpec = _static()
    extension: str = _static()
    decode: str = _static()
    batch_size: int = _static()

    @property
    def coupling(self) -> str:
        """``"exact"`` or ``"entropic"``: how the in-sample rows draw."""
        return "exact" if self.stats.entry_cum.shape[2] else "entropic"


def _unique_rows(e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows and their counts."""
    uniq, counts = np.unique(e, axis=0, return_counts=True)
    return uniq, counts.astype(np.float64)


def _segments(rows, partner, mass, u):
    """Entries sorted by row: counts, cumulative masses, partners."""
    order = np.lexsort((partner, rows))
    rows, partner, mass = rows[order], partner[order], mass[order]
    count = np.bincount(rows, minlength=u)
    row_mass = np.bincount(rows, weights=mass, minlength=u)
    start = np.cumsum(count) - count
    within = np.cumsum(mass) - np.repeat(np.cumsum(row_mass) - row_mass, count)
    cum = within / np.repeat(np.where(row_mass > 0, row_mass, 1.0), count)
    cum[start[count > 0] + count[count > 0] - 1] = 1.0  # rows close at 1
    slot = np.arange(rows.size) - np.repeat(start, count)
    return count, rows, slot, cum, partner


def _pad(arrays, shape_tail, fill=0.0):
    size = max(a.shape[0] for a in arrays)
    out = np.full((len(arrays), size, *shape_tail), fill)
    for i, a in enumerate(arrays):
        out[i, : a.shape[0]] = a
    return out


def _build(
    enc: np.ndarray,
    index: np.ndarray,
    lam: np.ndarray,
    dtype,
    *,
    coupling: str = "auto",
    extension: str = "nearest",
    num_atoms: int | None = None,
    epsilon: float | None = None,
    relative_epsilon: float = 0.01,
    max_exact_size: int = 25_000_000,
    batch_size: int = 256,
    key: jax.Array | None = None,
) -> dict:
    """Fits the couplings on encoded rows; returns the padded stats (NumPy)."""
    _checks.check_choice("coupling", coupling, ("auto", "exact", "entropic"))
    _checks.check_choice("extension", extension, ("nearest", "entropic"))
    _checks.check_positive_int("batch_size", batch_size)
    k = lam.shape[0]
    supports, masses = [], []
    for zi in range(k):
        u, m = _unique_rows(enc[index == zi])
        supports.append(u)
        masses.append(m / m.sum())
    bary = None
    if k == 2:
        partners = [supports[1], supports[0]]
        partner_mass = [masses[1], masses[0]]
        alpha = lam.copy()
        beta = lam[::-1].copy()
    else:
        if num_atoms is None:
            num_atoms = min(max(s.shape[0] for s in supports), 2000)
        _checks.check_positive_int("num_atoms", num_atoms)
        key = jax.random.key(0) if key is None else key
        bary = transport.free_support_barycenter(
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
        beta = np.ones(k)
    sizes = [
        s.shape[0] * q.shape[0] for s, q in zip(supports, partners, strict=True)
    ]
    if coupling == "auto":
        coupling = "exact" if max(sizes) <= max_exact_size else "entropic"
    big_u = max(s.shape[0] for s in supports)
    if coupling == "exact":
        if k == 2:
            pi = transport.exact_coupling(
                jnp.asarray(supports[0], dtype),
                jnp.asarray(supports[1], dtype),
                jnp.asarray(masses[0], dtype),
                jnp.asarray(masses[1], dtype),
            )
            r, c = np.asarray(pi.rows), np.asarray(pi.cols)
            w = np.asarray(pi.mass, np.float64)
            # One atom per coupled pair, computed once (float64, on the
            # host) and shared by both members: the two groups' repaired
            # points are then bitwise equal, where recomputing them per
            # group differs in the last bit and a histogram auditor reads Z
            # from it.
            atom_table = lam[0] * supports[0][r] + lam[1] * supports[1][c]
            ids = np.arange(r.size)
            entries = [(r, ids, w), (c, ids, w)]
        else:
            atom_table = atoms
            entries = [
                (np.asarray(p.rows), np.asarray(p.cols), np.asarray(p.mass))
                for p in bary.couplings
            ]
        segs = [
            _segments(r, c, w.astype(np.float64), supports[zi].shape[0])
            for zi, (r, c, w) in enumerate(entries)
        ]
        big_l = max(int(s[0].max()) for s in segs)
        seg_count = np.zeros((k, big_u), np.int64)
        entry_cum = np.ones((k, big_u, big_l))
        entry_atom = np.zeros((k, big_u, big_l), np.int64)
        for zi, (count, rows, slot, cum, atom_id) in enumerate(segs):
            seg_count[zi, : count.size] = count
            entry_cum[zi, rows, slot] = cum
            entry_atom[zi, rows, slot] = atom_id
    else:
        seg_count = np.zeros((k, big_u), np.int64)
        entry_cum = np.ones((k, big_u, 0))
        entry_atom = np.zeros((k, big_u, 0), np.int64)
        atom_table = np.zeros((1, enc.shape[1]))
    potential = [np.zeros(q.shape[0]) for q in partners]
    eps = 0.0
    if coupling == "entropic" or extension == "entropic":
        # Two groups: group 1's coupling is the transpose of group 0's,
        # whose source potential f is group 1's partner potential (one
        # Sinkhorn solve instead of two).
        for zi in range(1 if k == 2 else k):
            out = transport.entropic_coupling(
                jnp.asarray(supports[zi], dtype),
                jnp.asarray(partners[zi], dtype),
                jnp.asarray(masses[zi], dtype),
                jnp.asarray(partner_mass[zi], dtype),
                epsilon=epsilon,
                relative_epsilon=relative_epsilon,
                batch_size=batch_size,
            )
            potential[zi] = np.asarray(out.g, np.float64)
            if k == 2:
                potential[1] = np.asarray(out.f, np.float64)
            eps = float(out.epsilon)
    d = enc.shape[1]
    return {
        "alpha": jnp.asarray(alpha, dtype),
        "beta": jnp.asarray(beta, dtype),
        "support": jnp.asarray(_pad(supports, (d,)), dtype),
        "support_count": jnp.asarray([s.shape[0] for s in supports]),
        "seg_count": jnp.asarray(seg_count, jnp.int32),
        "entry_cum": jnp.asarray(entry_cum, dtype),
        "entry_atom": jnp.asarray(entry_atom, jnp.int32),
        "atoms": jnp.asarray(atom_table, dtype),
        "partners": jnp.asarray(_pad(partners, (d,)), dtype),
        "partner_count": jnp.asarray([q.shape[0] for q in partners]),
        "potential": jnp.asarray(_pad(potential, ()), dtype),
        "epsilon": jnp.asarray(eps, dtype),
    }


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
    x = _checks.as_array("x", x)
    _checks.check_rank("x", x, 2)
    _checks.check_nonempty("x", x)
    _checks.check_floating("x", x)
    _checks.check_finite("x", x)
    z = _checks.as_array("z", z)
    _checks.check_integer("z", z)
    _checks.check_shape("z", z, (x.shape[0],))
    _checks.check_choice("decode", decode, ("sample", "mode"))
    dtype = x.dtype
    spec = _columns._normalize_spec(spec, x.shape[1])
    spec, mean, scale = _columns.fit_encoder(
        np.asarray(x, np.float64), spec, standardize=standardize
    )
    codes, index, counts = np.unique(
        np.asarray(z), return_inverse=True, return_counts=True
    )
    _check_groups(codes, counts)
    if weights is None:
        lam = counts / counts.sum()
    else:
        weights = _checks.as_array("weights", weights)
        _checks.check_weights("weights", weights, codes.size)
        lam = np.asarray(weights, np.float64)
        lam = lam / lam.sum()
    mean_j, scale_j = jnp.asarray(mean, dtype), jnp.asarray(scale, dtype)
    enc = _columns.encode_host(np.asarray(x), spec, mean, scale, dtype)
    enc = enc.astype(np.float64)
    stats = _build(
        enc,
        index.reshape(-1),
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


def _repair_group(stats, cfg: _Config, zi: int, e, t, key):
    """Repairs every row of ``e`` as if it belonged to group ``zi``."""
    support = stats.support[zi]
    partners = stats.partners[zi]
    alpha = stats.alpha[zi]
    beta = stats.beta[zi]
    dtype = e.dtype
    tiny = jnp.finfo(dtype).eps
    valid = jnp.arange(support.shape[0]) < stats.support_count[zi]
    sq_norms = jnp.where(valid, jnp.sum(support * support, axis=1), jnp.inf)
    p_valid = jnp.arange(partners.shape[0]) < stats.partner_count[zi]
    exact = stats.entry_cum.shape[2] > 0

    def draw_entropic(q, k):
        logits = transport.entropic_logits(
            q, partners, stats.potential[zi], stats.epsilon
        )
        return jax.random.categorical(k, jnp.where(p_valid, logits, -jnp.inf))

    def combine(base, partner):
        return alpha * base + beta * partners[partner]

    def one(args):
        q, k_row = args
        k_u, k_e = jax.random.split(k_row)
        # Nearest fitted row: argmin via the expansion, exact check after.
        nn = jnp.argmin(sq_norms - 2.0 * (support @ q))
        own = support[nn]
        hit = jnp.sum((q - own) ** 2) <= tiny * (1.0 + jnp.sum(q * q))
        if exact:
            # Inverse CDF within the row's entries.
            u = jax.random.uniform(k_u, (), dtype, minval=tiny, maxval=1.0)
            count = stats.seg_count[zi, nn]
            cum = stats.entry_cum[zi, nn]
            slots = jnp.arange(cum.shape[0])
            pos = jnp.minimum(jnp.sum((slots < count) & (cum < u)), count - 1)
            fitted = stats.atoms[stats.entry_atom[zi, nn, pos]]
        else:
            fitted = combine(own, draw_entropic(own, k_u))
        if cfg.extension == "nearest":
            target = fitted
        else:
            target = jnp.where(hit, fitted, combine(q, draw_entropic(q, k_e)))
        # At t = 1 return the target itself: (1 - t) q + t target may be
        # evaluated as q + t (target - q), whose rounding depends on q.
        return jnp.where(t == 1, target, (1 - t) * q + t * target)

    keys = jax.random.split(key, e.shape[0])
    return jax.lax.map(one, (e, keys), batch_size=cfg.batch_size)


@functools.partial(jax.jit, static_argnames="cfg")
def _transform_core(stats, cfg: _Config, x, gidx, t, key):
    e = _columns.encode(x, cfg.spec, stats.mean, stats.scale)
    k = stats.alpha.shape[0]
    keys = jax.random.split(key, k + 1)
    out = e
    for zi in range(k):
        rep = _repair_group(stats, cfg, zi, e, t, keys[zi])
        out = jnp.where((gidx == zi)[:, None], rep, out)
    return _columns.decode(
        out,
        cfg.spec,
        stats.mean,
        stats.scale,
        mode=cfg.decode,
        key=keys[k],
    )


def _chunked(stats, cfg: _Config, x, gidx, t, key):
    """Fixed-size row chunks (padded): one compiled program per width.

    Every eager call with rows of this width reuses it whatever ``n`` is,
    and a jitted call draws exactly what the eager one draws.
    """
    n = x.shape[0]
    if n == 0:
        return jnp.zeros_like(x)
    chunk = min(_CHUNK, max(256, 1 << (n - 1).bit_length()))
    outs = []
    for c, lo in enumerate(range(0, n, chunk)):
        xs, gs = x[lo : lo + chunk], gidx[lo : lo + chunk]
        pad = chunk - xs.shape[0]
        if pad:
            xs = jnp.concatenate([xs, jnp.repeat(xs[-1:], pad, axis=0)])
            gs = jnp.concatenate([gs, jnp.repeat(gs[-1:], pad)])
        out = _transform_core(stats, cfg, xs, gs, t, jax.random.fold_in(key, c))
        outs.append(out[: chunk - pad])
    return jnp.concatenate(outs, axis=0)


def _nearest_in_graph(stats, e, gidx, batch_size):
    """Index of each row's nearest fitted row of its own group (in dtype)."""
    nn = jnp.zeros(e.shape[0], jnp.int32)
    for zi in range(stats.alpha.shape[0]):
        support = stats.support[zi]
        valid = jnp.arange(support.shape[0]) < stats.support_count[zi]
        sq = jnp.where(valid, jnp.sum(support * support, axis=1), jnp.inf)

        def one(q, support=support, sq=sq):
            return jnp.argmin(sq - 2.0 * (support @ q)).astype(jnp.int32)

        idx = jax.lax.map(one, e, batch_size=batch_size)
        nn = jnp.where(gidx == zi, idx, nn)
    return nn


def _nearest_host(stats, cfg: _Config, x, gidx) -> np.ndarray:
    """Nearest fitted row of the own group, on the host (concrete input).

    Rows identical to a fitted row (every in-sample row) are found by an
    exact match of their encoded bytes; the others by a float64 nearest
    neighbour search in blocks (BLAS). Only the own group is searched.
    """
    dtype = np.dtype(x.dtype)
    e = _columns.encode_host(
        np.asarray(x), cfg.spec, stats.mean, stats.scale, dtype
    )
    gidx = np.asarray(gidx)
    nn = np.zeros(e.shape[0], np.int32)
    support_all = np.asarray(stats.support)
    counts = np.asarray(stats.support_count)
    for zi in range(support_all.shape[0]):
        rows = np.flatnonzero(gidx == zi)
        if rows.size == 0:
            continue
        support = support_all[zi, : int(counts[zi])]
        index = {r.tobytes(): i for i, r in enumerate(support)}
        found = np.array([index.get(e[r].tobytes(), -1) for r in rows])
        nn[rows] = found
        miss = rows[found < 0]
        if miss.size:
            s64 = support.astype(np.float64)
            sq = np.sum(s64 * s64, axis=1)
            for lo in range(0, miss.size, 1024):
                block = miss[lo : lo + 1024]
                q = e[block].astype(np.float64)
                nn[block] = np.argmin(sq[None, :] - 2.0 * (q @ s64.T), axis=1)
    return nn


@functools.partial(jax.jit, static_argnames=("cfg", "with_nn"))
def _exact_core(stats, cfg: _Config, x, gidx, nn, t, key, with_nn):
    """Exact coupling, nearest extension: gather the drawn fitted atom.

    Row ``r`` of group ``g`` with fitted row ``nn`` draws one uniform and
    picks its coupling entry by inverse CDF over ``entry_cum[g, nn]``.
    """
    e = _columns.encode(x, cfg.spec, stats.mean, stats.scale)
    dtype = e.dtype
    if not with_nn:
        nn = _nearest_in_graph(stats, e, gidx, cfg.batch_size)
    k_row, k_dec = jax.random.split(key)
    tiny = jnp.finfo(dtype).eps
    u = jax.random.uniform(k_row, (e.shape[0],), dtype, minval=tiny)
    count = stats.seg_count[gidx, nn]
    cum = stats.entry_cum[gidx, nn]
    slots = jnp.arange(cum.shape[1])
    below = (slots[None, :] < count[:, None]) & (cum < u[:, None])
    pos = jnp.minimum(jnp.sum(below, axis=1), count - 1)
    target = stats.atoms[stats.entry_atom[gidx, nn, pos]]
    out = jnp.where(t == 1, target, (1 - t) * e + t * target)
    return _columns.decode(
        out,
        cfg.spec,
        stats.mean,
        stats.scale,
        mode=cfg.decode,
        key=k_dec,
    )


def _apply(stats, cfg: _Config, x, gidx, t, key):
    """Routes to the fast exact path or the general path, in chunks.

    Exact couplings with the nearest extension only gather fitted atoms;
    for concrete input the nearest fitted rows are found on the host (an
    exact byte match for in-sample rows), under tracing in the graph. Both
    feed the same compiled core, so they draw the same values.
    """
    exact = stats.entry_cum.shape[2] > 0
    if not (exact and cfg.extension == "nearest"):
        return _chunked(stats, cfg, x, gidx, t, key)
    with_nn = _checks.is_concrete(x) and _checks.is_concrete(gidx)
    if with_nn:
        nn = jnp.asarray(_nearest_host(stats, cfg, x, gidx))
    else:
        nn = jnp.zeros(x.shape[0], jnp.int32)

    def core(xs, gs, ns, k):
        return _exact_core(stats, cfg, xs, gs, ns, t, k, with_nn)

    return _in_chunks(core, key, x, gidx, nn)


def _in_chunks(core, key, x, *rest):
    """Calls ``core(x, *rest, key_c)`` on fixed-size padded row chunks."""
    n = x.shape[0]
    if n == 0:
        return jnp.zeros_like(x)
    chunk = min(_CHUNK, max(256, 1 << (n - 1).bit_length()))
    outs = []
    for c, lo in enumerate(range(0, n, chunk)):
        parts = [a[lo : lo + chunk] for a in (x, *rest)]
        pad = chunk - parts[0].shape[0]
        if pad:
            parts = [
                jnp.concatenate([a, jnp.repeat(a[-1:], pad, axis=0)])
                for a in parts
            ]
        out = core(*parts, jax.random.fold_in(key, c))
        outs.append(out[: chunk - pad])
    return jnp.concatenate(outs, axis=0)


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
    cfg = _Config(
        repair.spec, repair.extension, repair.decode, repair.batch_size
    )
    return _apply(repair.stats, cfg, x, gidx, t, key)


# ------------------------------------------------- the registry's "coupling"


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
