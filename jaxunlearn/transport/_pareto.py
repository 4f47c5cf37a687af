r"""McCann interpolation and the Pareto frontier of partial repair.

Partial repair moves each point a fraction ``t`` of the way along its
optimal map, ``X_t = (1 - t) X + t T_Z(X)`` (McCann's displacement
interpolation). With ``V = sum_z w_z W_2^2(mu_z, mu_bar)``:

.. math::
   \mathbb{E}\|X - X_t\|^2 = t^2 V, \qquad
   \sum_z w_z W_2^2(\mathrm{law}(X_t \mid z), \bar\mu) = (1 - t)^2 V,

so ``sqrt(distortion) + sqrt(disparity) = sqrt(V)``: a straight line in the
square-root scale, and no point off it is better in both.

References:
  McCann, "A convexity principle for interacting gases", Advances in
  Mathematics 128, 1997. https://doi.org/10.1006/aima.1997.1634

  Xu & Strohmer, "Fair data representation for machine learning at the
  Pareto frontier", JMLR 24, 2023. https://arxiv.org/abs/2201.00292
"""

from typing import NamedTuple

from jaxtyping import Array, ArrayLike, Float

import jax.numpy as jnp

from jaxunlearn import _checks


class ParetoPoint(NamedTuple):
    """One point of the distortion / disparity frontier.

    Attributes:
      distortion: ``E||X - X_t||^2 = t^2 V``. ``[...]``.
      disparity: ``sum_z w_z W_2^2(law(X_t | z), mu_bar) = (1 - t)^2 V``.
        ``[...]``.
    """

    distortion: Array
    disparity: Array


def mccann_interpolation(
    x: Float[ArrayLike, "... d"],
    y: Float[ArrayLike, "... d"],
    t: ArrayLike,
) -> Float[Array, "... d"]:
    r"""Displacement interpolation ``(1 - t) x + t y`` between points.

    With ``y = T(x)`` an optimal map, the law of the result is the point at
    time ``t`` of the Wasserstein-2 geodesic from ``law(x)`` to ``law(y)``.

    Args:
      x: source points ``[..., d]``.
      y: their images ``[..., d]`` (same shape).
      t: time in ``[0, 1]`` (a scalar; ``vmap`` over it for a path).

    Returns:
      The interpolated points, shaped like ``x``.

    Raises:
      ValueError: on mismatched shapes or ``t`` outside ``[0, 1]``.
      TypeError: on non-floating input.

    References:
      McCann, "A convexity principle for interacting gases", Advances in
      Mathematics 128, 1997. https://doi.org/10.1006/aima.1997.1634

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.transport import mccann_interpolation
      >>> mccann_interpolation(jnp.zeros(2), jnp.ones(2), 0.25).tolist()
      [0.25, 0.25]
    """
    x = _checks.as_array("x", x)
    y = _checks.as_array("y", y)
    _checks.check_floating("x", x)
    _checks.check_shape("y", y, x.shape)
    _checks.check_same_dtype(x=x, y=y)
    _checks.check_unit_interval("t", t)
    t = jnp.asarray(t, dtype=x.dtype)
    _checks.check_rank("t", t, 0)
    return (1 - t) * x + t * y


def pareto_frontier(v: ArrayLike, t: ArrayLike) -> ParetoPoint:
    r"""Distortion ``t^2 V`` and disparity ``(1 - t)^2 V`` of partial repair.

    Args:
      v: the barycentric cost ``V = sum_z w_z W_2^2(mu_z, mu_bar)`` ``[...]``
        (e.g. :func:`gaussian_barycenter_cost`).
      t: repair amount(s) in ``[0, 1]`` ``[...]`` (broadcast against ``v``).

    Returns:
      A :class:`ParetoPoint`.

    Raises:
      ValueError: on ``t`` outside ``[0, 1]`` or a negative ``v``.

    References:
      Xu & Strohmer, "Fair data representation for machine learning at the
      Pareto frontier", JMLR 24, 2023. https://arxiv.org/abs/2201.00292

    Examples:
      >>> from jaxunlearn.transport import pareto_frontier
      >>> p = pareto_frontier(4.0, 0.5)
      >>> float(p.distortion), float(p.disparity)
      (1.0, 1.0)
    """
    v = jnp.asarray(v)
    _checks.check_unit_interval("t", t)
    _checks.check_nonnegative("v", v)
    if not jnp.issubdtype(v.dtype, jnp.floating):
        v = v.astype(jnp.result_type(float))
    t = jnp.asarray(t, dtype=v.dtype)
    return ParetoPoint(distortion=t**2 * v, disparity=(1 - t) ** 2 * v)
