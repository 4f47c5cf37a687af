r"""Unchecked, jit-ready transport kernels (the cores of the checked API).

Each ``*_kernel`` function is the computation behind a validated public
function of :mod:`jaxunlearn.transport`, without the validation: no shape,
dtype or value checks, no conversion of Python input, no defaults filled in.
They are pure and traceable (``jit``, ``vmap``), so code that validates its
input once (as :mod:`jaxunlearn.feature` does at ``fit`` time) can call them
inside its own compiled functions. Their preconditions are stated in each
docstring; input that breaks them gives unspecified (not necessarily
erroneous-looking) output.

References:
  Alvarez-Esteban, del Barrio, Cuesta-Albertos & Matran, "A fixed-point
  approach to barycenters in Wasserstein space", J. Math. Anal. Appl. 441,
  2016. https://arxiv.org/abs/1511.05355
"""

from typing import Any

from jaxtyping import Array, Bool, Float, Int

from jaxunlearn.transport import _gaussian, _neural, _quantile
from jaxunlearn.transport._gaussian import GaussianBarycenterOutput
from jaxunlearn.transport._neural import NeuralOTConfig, NeuralOTMap
from jaxunlearn.transport._quantile import QuantileFunction


def gaussian_barycenter_kernel(
    means: Float[Array, "k d"],
    covs: Float[Array, "k d d"],
    weights: Float[Array, " k"],
    tol: Float[Array, ""],
    max_iter: int,
) -> GaussianBarycenterOutput:
    """The fixed point of :func:`gaussian_barycenter`, unchecked.

    Preconditions: ``means [k, d]``, ``covs [k, d, d]`` symmetric PSD and
    finite, ``weights [k]`` non-negative with a positive sum (renormalized
    here), all of one floating dtype; ``tol`` a scalar array of that dtype
    (a negative value selects the conditioning-aware default of
    :func:`gaussian_barycenter`); ``max_iter`` a positive Python int
    (static: a new value recompiles).

    Args:
      means: group means ``[k, d]``.
      covs: group covariances ``[k, d, d]``.
      weights: barycentric weights ``[k]``.
      tol: relative tolerance ``[]`` (negative: the default).
      max_iter: the largest number of iterations (static).

    Returns:
      A :class:`GaussianBarycenterOutput` (mean, cov and diagnostics).
    """
    return _gaussian._barycenter(means, covs, weights, tol, max_iter)


def gaussian_transport_matrix_kernel(
    cov_source: Float[Array, "d d"], cov_target: Float[Array, "d d"]
) -> Float[Array, "d d"]:
    """The linear part of the Gaussian OT map, unchecked.

    Preconditions: two symmetric PSD ``[d, d]`` matrices of one floating
    dtype (see :func:`gaussian_transport_matrix` for the formula and how a
    singular source is floored). ``jax.vmap`` over a leading axis gives one
    matrix per group.

    Args:
      cov_source: source covariance ``[d, d]``.
      cov_target: target covariance ``[d, d]``.

    Returns:
      ``A`` ``[d, d]`` with ``A cov_source A = cov_target``.
    """
    return _gaussian._transport_matrix(cov_source, cov_target)


def empirical_quantile_kernel(
    samples: Float[Array, " n"], where: Bool[Array, " n"] | None
) -> QuantileFunction:
    """The empirical law of samples, unchecked.

    Preconditions: ``samples [n]`` finite, floating, ``n >= 1``; ``where``
    a boolean mask ``[n]`` (or ``None``) with at least one ``True``.
    ``jax.vmap`` over masks gives one law per group with one static shape.

    Args:
      samples: values ``[n]``.
      where: kept entries ``[n]``; ``None`` keeps all.

    Returns:
      A :class:`QuantileFunction` (``values [n]`` padded with ``+inf``,
      ``levels [n + 1]``).
    """
    return _quantile._empirical(samples, where)


def quantile_barycenter_kernel(
    targets: QuantileFunction, weights: Float[Array, " k"]
) -> QuantileFunction:
    """The exact 1-d Wasserstein barycenter of stacked laws, unchecked.

    Preconditions: ``targets`` a stacked :class:`QuantileFunction`
    (``values [k, n]``, ``levels [k, n + 1]``, ``count [k]`` >= 1) and
    ``weights [k]`` non-negative summing to 1 (not renormalized here).

    Args:
      targets: the ``k`` laws.
      weights: barycentric weights ``[k]``.

    Returns:
      The barycenter's :class:`QuantileFunction` (``k (n + 1) - 1`` atoms).
    """
    return _quantile._barycenter(targets, weights)


def quantile_map_grouped_kernel(
    x: Float[Array, " m"],
    group: Int[Array, " m"],
    sources: QuantileFunction,
    targets: QuantileFunction,
    weights: Float[Array, "m k"],
    v: Float[Array, " m"],
) -> Float[Array, " m"]:
    """Maps each value from its own group's law onto a weighted target.

    The randomized quantile map of :func:`quantile_transport_map`, for many
    source groups at once: value ``i`` goes from ``sources[group[i]]`` to
    the law with quantile ``sum_j weights[i, j] F_j^{-1}``.

    Preconditions: ``group [m]`` indices in ``[0, g)`` for ``sources``
    stacked ``[g, n]``; ``targets`` stacked ``[k, n']``; ``weights [m, k]``
    rows summing to 1; ``v [m]`` Uniform(0, 1) draws (used at atoms).

    Args:
      x: values ``[m]``.
      group: source group index per value ``[m]``.
      sources: the ``g`` source laws.
      targets: the ``k`` target laws.
      weights: target weights per value ``[m, k]``.
      v: uniform draws ``[m]``.

    Returns:
      The mapped values ``[m]``.
    """
    return _quantile.map_grouped(x, group, sources, targets, weights, v)


def neural_ot_params_template(
    config: NeuralOTConfig, sample_shape: tuple[int, ...], dtype_name: str
) -> Any:
    """The parameter pytree of a transport network (for unflattening).

    Its structure (not its values) is what :class:`NeuralOTMap` holds in
    ``t_params`` for this config, so saved leaves can be put back with
    ``jax.tree.unflatten(jax.tree.structure(template), leaves)``.

    Preconditions: ``config`` a :class:`NeuralOTConfig`, ``sample_shape`` a
    tuple of ints (``(d,)`` for vectors, ``(h, w)`` or ``(h, w, c)`` for
    images), ``dtype_name`` a floating dtype's name. Cached per arguments.

    Args:
      config: the network settings.
      sample_shape: the per-sample shape.
      dtype_name: e.g. ``"float32"``.

    Returns:
      The template parameter pytree.
    """
    return _neural._build(config, tuple(sample_shape), dtype_name).t_params


def neural_ot_map_kernel(
    ot_map: NeuralOTMap, x: Float[Array, "n ..."]
) -> Float[Array, "n ..."]:
    """Applies a trained transport network, unchecked (traceable).

    Preconditions: ``x [n, *ot_map.sample_shape]`` finite, of dtype
    ``ot_map.dtype_name`` (:func:`apply_neural_ot` checks this).

    Args:
      ot_map: a :class:`NeuralOTMap`.
      x: samples ``[n, ...]``.

    Returns:
      ``T(x)``, shaped like ``x``.
    """
    return _neural._apply(ot_map, x)
