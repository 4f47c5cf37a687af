"""Applying the coupling repair: in-sample draws and the extension to new rows.

Rows seen at fit time draw a partner through their coupling row; other rows
go through their nearest fitted neighbour (``extension="nearest"``) or the
entropic conditional law (``extension="entropic"``), in chunks of rows. See
:mod:`jaxunlearn.feature._coupling` for the construction.
"""

import functools

import numpy as np
from jaxtyping import Array, ArrayLike, Float

import jax
import jax.numpy as jnp

from jaxunlearn import _checks, transport
from jaxunlearn.feature import _columns
from jaxunlearn.feature._coupling_state import _CHUNK, CouplingRepair, _Config


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
      >>> from jaxunlearn.feature import fit_coupling, transform_coupling
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
