r"""One-dimensional optimal transport by quantile functions (exact, any law).

In one dimension the Wasserstein-2 barycenter of laws ``mu_z`` with weights
``w_z`` has quantile function ``F_bar^{-1}(u) = sum_z w_z F_z^{-1}(u)`` and the
optimal map of group ``z`` onto it is ``T_z(x) = F_bar^{-1}(F_z(x))``.

An empirical law is stored as a :class:`QuantileFunction`: sorted atoms
``values [n]`` and cumulative levels ``levels [n + 1]`` (``levels[0] = 0``,
``levels[j + 1] = P(X <= values[j])``, ``levels[n] = 1``), padded at the end
with ``+inf`` values and levels equal to 1 so that groups of different
sizes stack into ``[k, n]`` arrays. The quantile function is the
left-continuous inverse ``F^{-1}(u) = values[min{j : levels[j + 1] >= u}]``.

Ties and discrete values. A deterministic map sends all the rows of one atom
to one place, and different groups' atoms to different places, so the group
stays identifiable. The randomized probability integral transform draws
``u ~ Uniform[F_z(x-), F_z(x)]`` (keyed): then ``u`` is exactly uniform on
``[0, 1]`` for every group and ``F_bar^{-1}(u)`` has the barycenter's law
whatever the group. Values not seen at fit time that fall strictly between
two atoms get ``F_z(x-) = F_z(x)`` and the map interpolates linearly between
the two one-sided limits of ``F_bar^{-1}`` at that level (the interpolated
quantile function); beyond the smallest or largest atom it continues with
slope 1 (a translation).

References:
  Villani, "Topics in Optimal Transportation", AMS GSM 58, 2003, section
  2.2 (one-dimensional transport).

  Brockwell, "Universal residuals: a multivariate transformation",
  Statistics & Probability Letters 77, 2007 (randomized probability integral
  transform). https://doi.org/10.1016/j.spl.2007.02.008
"""

from typing import NamedTuple

from jaxtyping import Array, ArrayLike, Float

import jax
import jax.numpy as jnp

from jaxunlearn import _checks

_DEFAULT_SEED = 0


class QuantileFunction(NamedTuple):
    """An empirical law on the line as sorted atoms and cumulative levels.

    Attributes:
      values: sorted atoms ``[..., n]``, padded at the end with ``+inf``.
      levels: cumulative probabilities ``[..., n + 1]``: ``levels[0] = 0``,
        ``levels[j + 1] = P(X <= values[j])``, padded with 1.
      count: the number of real (unpadded) atoms ``[...]`` int32.
    """

    values: Array
    levels: Array
    count: Array


def empirical_quantile_function(
    samples: Float[ArrayLike, " n"], where: ArrayLike | None = None
) -> QuantileFunction:
    r"""The empirical law of samples, as a :class:`QuantileFunction`.

    Each kept sample is an atom of mass ``1 / m`` (``m`` kept samples); tied
    samples stay separate atoms with equal values, which the randomized map
    treats as one atom of the summed mass.

    Args:
      samples: values ``[n]``.
      where: optional boolean mask ``[n]``; ``False`` entries are dropped
        (padding), which keeps shapes static under ``jit`` / ``vmap``.
        ``None`` keeps every sample.

    Returns:
      The :class:`QuantileFunction` (``values [n]``, ``levels [n + 1]``).

    Raises:
      ValueError: on a wrong rank, an empty array or NaN/Inf.
      TypeError: on a non-floating dtype.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.transport import empirical_quantile_function
      >>> q = empirical_quantile_function(jnp.array([3.0, 1.0]))
      >>> q.values.tolist(), q.levels.tolist()
      ([1.0, 3.0], [0.0, 0.5, 1.0])
    """
    samples = _checks.as_array("samples", samples)
    _checks.check_floating("samples", samples)
    _checks.check_rank("samples", samples, 1)
    _checks.check_nonempty("samples", samples)
    _checks.check_finite("samples", samples)
    if where is not None:
        where = _checks.as_array("where", where)
        _checks.check_shape("where", where, samples.shape)
        where = where.astype(bool)
    return _empirical(samples, where)


def _empirical(samples: Array, where: Array | None) -> QuantileFunction:
    n = samples.shape[0]
    if where is None:
        count = jnp.asarray(n, jnp.int32)
        values = jnp.sort(samples)
    else:
        count = jnp.sum(where).astype(jnp.int32)
        inf = jnp.asarray(jnp.inf, samples.dtype)
        values = jnp.sort(jnp.where(where, samples, inf))
    j = jnp.arange(n + 1, dtype=jnp.int32)
    # j / m rounded once: equal fractions of different groups compare equal.
    safe = jnp.maximum(count, 1)
    levels = jnp.minimum(j, safe).astype(samples.dtype) / safe.astype(
        samples.dtype
    )
    return QuantileFunction(values, levels, count)


def _quantile(q: QuantileFunction, u: Array, side: str) -> Array:
    """Left-continuous inverse (``side="left"``) or its right limit."""
    idx = jnp.searchsorted(q.levels[1:], u, side=side).astype(jnp.int32)
    idx = jnp.clip(idx, 0, q.count.astype(jnp.int32) - 1)
    return q.values[idx]


def _weighted_quantile(
    targets: QuantileFunction, weights: Array, u: Array, side: str
) -> Array:
    per = jax.vmap(lambda t: _quantile(t, u, side))(targets)  # [k, ...]
    return jnp.tensordot(weights, per, axes=1)


def quantile_barycenter(
    targets: QuantileFunction, weights: Float[ArrayLike, " k"] | None = None
) -> QuantileFunction:
    r"""Exact weighted Wasserstein-2 barycenter of ``k`` laws on the line.

    .. math:: F_{\bar\mu}^{-1}(u) = \sum_z w_z F_z^{-1}(u)

    The barycenter of empirical laws is again discrete: its atoms sit on the
    intervals between the union of all groups' levels, so it is exact (no
    grid). Intervals of zero width give atoms of zero mass.

    Args:
      targets: a stacked :class:`QuantileFunction` (``values [k, n]``,
        ``levels [k, n + 1]``, ``count [k]``), e.g. from
        ``jax.vmap(empirical_quantile_function)`` with masks.
      weights: barycentric weights ``[k]``; renormalized; ``None`` means
        uniform.

    Returns:
      The barycenter, a :class:`QuantileFunction` with
      ``k (n + 1) - 1`` atoms.

    Raises:
      ValueError: on inconsistent shapes or bad weights.

    References:
      Agueh & Carlier, "Barycenters in the Wasserstein space", SIAM J.
      Math. Anal. 43, 2011. https://doi.org/10.1137/100805741

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxunlearn.transport import (empirical_quantile_function,
      ...                                   quantile_barycenter)
      >>> qs = jax.vmap(empirical_quantile_function)(
      ...     jnp.array([[0.0, 2.0], [2.0, 4.0]]))
      >>> bar = quantile_barycenter(qs)
      >>> mass = jnp.diff(bar.levels)
      >>> bar.values[mass > 0].tolist()
      [1.0, 3.0]
    """
    targets = _check_stacked("targets", targets)
    weights = _weights("weights", weights, targets)
    return _barycenter(targets, weights)


def _check_stacked(name: str, q: QuantileFunction) -> QuantileFunction:
    if not isinstance(q, QuantileFunction):
        raise TypeError(
            f"{name}: expected a QuantileFunction, got {type(q).__name__}"
        )
    values = _checks.as_array(f"{name}.values", q.values)
    levels = _checks.as_array(f"{name}.levels", q.levels)
    count = _checks.as_array(f"{name}.count", q.count)
    _checks.check_floating(f"{name}.values", values)
    _checks.check_rank(f"{name}.values", values, 2)
    k, n = values.shape
    _checks.check_shape(f"{name}.levels", levels, (k, n + 1))
    _checks.check_shape(f"{name}.count", count, (k,))
    return QuantileFunction(values, levels.astype(values.dtype), count)


def _weights(name, weights, targets):
    k = targets.values.shape[0]
    dtype = targets.values.dtype
    if weights is None:
        return jnp.full((k,), 1.0 / k, dtype=dtype)
    weights = _checks.as_array(name, weights)
    _checks.check_weights(name, weights, k)
    weights = weights.astype(dtype)
    return weights / jnp.sum(weights)


def _barycenter(targets: QuantileFunction, weights: Array) -> QuantileFunction:
    levels = jnp.sort(jnp.ravel(targets.levels))  # [k (n + 1)], 0 ... 1
    mids = 0.5 * (levels[1:] + levels[:-1])
    values = _weighted_quantile(targets, weights, mids, "left")
    count = jnp.asarray(values.shape[0], jnp.int32)
    return QuantileFunction(values, levels, count)


def quantile_transport_map(
    x: Float[ArrayLike, " m"],
    source: QuantileFunction,
    targets: QuantileFunction,
    weights: Float[ArrayLike, " k"] | None = None,
    *,
    key: jax.Array | None = None,
) -> Float[Array, " m"]:
    r"""Maps values from a source law to a weighted quantile average.

    .. math::
       T(x) = \sum_z w_z F_z^{-1}(u), \qquad
       u \sim \mathrm{Uniform}[F(x-), F(x)]

    with ``F`` the source CDF. With ``targets`` the groups and ``weights``
    their barycentric weights this is the map ``T_z`` of a group onto the
    barycenter; with one target it is the map between two laws (e.g. the
    inverse map from the barycenter back to a group). Values strictly
    between atoms interpolate linearly between the one-sided limits of the
    target quantile function; values outside the source's range are
    translated (slope 1).

    Args:
      x: values ``[m]`` to map (seen or unseen).
      source: the source law, a :class:`QuantileFunction` (``[n]``).
      targets: stacked target laws (``values [k, n']``).
      weights: ``[k]``, renormalized; ``None`` means uniform.
      key: PRNG key for the randomized transform at atoms; ``None`` uses a
        fixed default key (reproducible).

    Returns:
      ``T(x)`` ``[m]``.

    Raises:
      ValueError: on bad shapes, weights or NaN/Inf in ``x``.
      TypeError: on non-floating input.

    References:
      Villani, "Topics in Optimal Transportation", AMS GSM 58, 2003,
      section 2.2.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxunlearn.transport import (empirical_quantile_function,
      ...                                   quantile_transport_map)
      >>> src = empirical_quantile_function(jnp.array([0.0, 1.0]))
      >>> tgt = jax.vmap(empirical_quantile_function)(jnp.array([[5.0, 7.0]]))
      >>> quantile_transport_map(jnp.array([0.0, 0.5, 1.0]), src, tgt).tolist()
      [5.0, 6.0, 7.0]
    """
    x = _checks.as_array("x", x)
    _checks.check_floating("x", x)
    _checks.check_rank("x", x, 1)
    _checks.check_finite("x", x)
    if not isinstance(source, QuantileFunction):
        raise TypeError(
            f"source: expected a QuantileFunction, got {type(source).__name__}"
        )
    _checks.check_rank("source.values", source.values, 1)
    targets = _check_stacked("targets", targets)
    _checks.check_same_dtype(x=x, source=source.values, targets=targets.values)
    weights = _weights("weights", weights, targets)
    u01 = _uniforms(key, x.shape, x.dtype)
    row_weights = jnp.broadcast_to(weights[None, :], x.shape + weights.shape)
    return jax.vmap(_map_one, in_axes=(0, None, None, 0, 0))(
        x, source, targets, row_weights, u01
    )


def _uniforms(key, shape, dtype) -> Array:
    if key is None:
        key = jax.random.key(_DEFAULT_SEED)
    return jax.random.uniform(key, shape, dtype=dtype)


def _map_one(
    x: Array,
    source: QuantileFunction,
    targets: QuantileFunction,
    weights: Array,
    v: Array,
) -> Array:
    """Maps one value; ``v`` is a Uniform(0, 1) draw for atoms."""
    lo = jnp.searchsorted(source.values, x, side="left").astype(jnp.int32)
    hi = jnp.searchsorted(source.values, x, side="right").astype(jnp.int32)
    f_lo, f_hi = source.levels[lo], source.levels[hi]
    # At an atom: the randomized probability integral transform.
    u = f_lo + v * (f_hi - f_lo)
    at_atom = _weighted_quantile(targets, weights, u, "left")
    # Strictly between atoms lo - 1 and lo: F(x-) = F(x) = f_lo; interpolate
    # between the left and right limits of the target quantile at f_lo.
    last = source.count.astype(jnp.int32) - 1
    below = jnp.clip(lo - 1, 0, last)
    above = jnp.clip(lo, 0, last)
    x0, x1 = source.values[below], source.values[above]
    width = x1 - x0
    frac = jnp.where(width > 0, (x - x0) / jnp.where(width > 0, width, 1), 0)
    q_left = _weighted_quantile(targets, weights, f_lo, "left")
    q_right = _weighted_quantile(targets, weights, f_lo, "right")
    in_gap = q_left + frac * (q_right - q_left)
    # Outside the source's range: continue with slope 1.
    first_t = jnp.tensordot(weights, targets.values[:, 0], axes=1)
    last_idx = targets.count.astype(jnp.int32) - 1
    last_t = jnp.tensordot(
        weights,
        jnp.take_along_axis(targets.values, last_idx[:, None], axis=1)[:, 0],
        axes=1,
    )
    left_tail = first_t + (x - source.values[0])
    right_tail = last_t + (x - source.values[last])
    return jnp.where(
        hi > lo,
        at_atom,
        jnp.where(lo == 0, left_tail, jnp.where(lo > last, right_tail, in_gap)),
    )


def map_grouped(
    x: Array,
    group: Array,
    sources: QuantileFunction,
    targets: QuantileFunction,
    weights: Array,
    v: Array,
) -> Array:
    """Maps each value from its own group's law (internal, unchecked).

    ``x [m]``, ``group [m]`` indices into ``sources [g, n]``, ``targets
    [k, n']``, per-value target weights ``[m, k]`` and Uniform(0, 1) draws
    ``v [m]``. Runs one pass per source group, then selects.
    """
    per_source = jax.vmap(
        lambda s: jax.vmap(_map_one, in_axes=(0, None, None, 0, 0))(
            x, s, targets, weights, v
        )
    )(sources)  # [g, m]
    return jnp.take_along_axis(per_source, group[None, :], axis=0)[0]
