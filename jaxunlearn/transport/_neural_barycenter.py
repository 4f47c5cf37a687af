r"""The two-group Wasserstein-2 barycenter from two neural OT maps.

For two groups with weights ``(w0, w1)`` the barycenter is the McCann point
of the optimal map: group 0 is sent to ``(1 - w1) x + w1 T01(x)`` and group
1 to ``(1 - w0) y + w0 T10(y)``, with ``T10`` the reverse map trained
separately; partial repair ``t`` moves a point the fraction ``t`` of the way
(Xu & Strohmer, arXiv:2502.05684, the barycenter and its McCann
interpolation).

References:
  McCann, "A convexity principle for interacting gases", Advances in
  Mathematics 128, 1997. https://doi.org/10.1006/aima.1997.1634
"""

import dataclasses
import functools
import os
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int

from jaxunlearn import _checks
from jaxunlearn.transport._neural import (
    DEFAULT_CONFIG,
    NeuralOTConfig,
    NeuralOTMap,
    NeuralOTMetrics,
    _apply,
    _check_matches,
    _validate_samples,
)
from jaxunlearn.transport._neural_fit import (
    _check_prior_components,
    _fit_stacked,
)
from jaxunlearn.transport._neural_prior import gaussian_priors


@functools.partial(
    jax.tree_util.register_dataclass,
    data_fields=["maps", "weights"],
    meta_fields=[],
)
@dataclasses.dataclass(frozen=True)
class NeuralBarycenter:
    """Two-group neural barycenter maps (a frozen pytree).

    Attributes:
      maps: ``(T01, T10)``: group 0 -> group 1 and group 1 -> group 0.
      weights: group weights ``[2]`` (summing to one).
    """

    maps: tuple[NeuralOTMap, NeuralOTMap]
    weights: Array


def _groups_of(x: Array, z: Any) -> Array:
    z = _checks.as_array("z", z)
    _checks.check_integer("z", z)
    _checks.check_shape("z", z, (x.shape[0],))
    zn = np.asarray(z)
    values = np.unique(zn)
    if values.size < 2:
        raise ValueError(
            "z: expected two groups (codes 0 and 1), got a single group"
            f" {values.tolist()}"
        )
    if not set(values.tolist()) <= {0, 1}:
        raise ValueError(
            "z: the neural barycenter handles two groups coded 0 and 1, got"
            f" codes {values.tolist()}; for more groups use"
            " fit_pca_gaussian_barycenter"
        )
    return zn


def fit_neural_barycenter(
    x: Float[ArrayLike, "n ..."],
    z: Int[ArrayLike, " n"],
    *,
    key: Array,
    weights: Float[ArrayLike, " 2"] | None = None,
    config: NeuralOTConfig = DEFAULT_CONFIG,
    checkpoint_dir: str | os.PathLike | None = None,
    checkpoint_every: int = 100,
    callback: Callable[[int, int, NeuralOTMetrics], None] | None = None,
) -> NeuralBarycenter:
    r"""Fits the two-group Wasserstein-2 barycenter with two neural OT maps.

    Trains ``T01: mu_0 -> mu_1`` and ``T10: mu_1 -> mu_0`` with
    :func:`fit_neural_ot`; :func:`neural_barycenter_transform` then sends
    group 0 to :math:`(1 - w_1) x + w_1 T_{01}(x)` and group 1 to
    :math:`(1 - w_0) x + w_0 T_{10}(x)`.

    With ``config.prior_components = k > 0`` both maps start at the Gaussian
    OT maps between the groups' top-``k`` PCA coordinates (pooled PCA,
    weights ``w``), so the untrained barycenter equals the PCA-Gaussian
    repair (:func:`jaxunlearn.transport.pca_gaussian_transform`) and
    training learns the non-Gaussian residual.

    Args:
      x: samples ``[n, d]``, ``[n, h, w]`` or ``[n, h, w, c]``.
      z: group codes ``[n]`` in ``{0, 1}``; both groups must be present.
      key: PRNG key.
      weights: group weights ``[2]``; default the group proportions.
      config: static settings of both maps.
      checkpoint_dir: optional folder for ``t01.npz`` and ``t10.npz``
        (resumable).
      checkpoint_every: iterations between checkpoints.
      callback: called as ``callback(direction, step, metrics)``,
        ``direction`` 0 for ``T01`` and 1 for ``T10``.

    Returns:
      A :class:`NeuralBarycenter`.

    Raises:
      ValueError, TypeError: on bad samples, a single group, codes other than
        0 and 1, or bad weights.
    """
    x = _validate_samples("x", x)
    zn = _groups_of(x, z)
    if weights is None:
        w1 = float(np.mean(zn == 1))
        w = jnp.asarray([1.0 - w1, w1], dtype=x.dtype)
    else:
        w = _checks.as_array("weights", weights)
        _checks.check_weights("weights", w, 2)
        w = (w / jnp.sum(w)).astype(x.dtype)
    order = np.argsort(zn, kind="stable")
    data = x[order]
    n0 = int(np.sum(zn == 0))
    n1 = x.shape[0] - n0
    directions = (
        jnp.asarray([0, n0, n0, n1], jnp.int32),
        jnp.asarray([n0, n1, 0, n0], jnp.int32),
    )
    _checks.check_positive_int("checkpoint_every", checkpoint_every)
    priors = (None, None)
    if _check_prior_components(config):
        priors = gaussian_priors(x, zn, w, config.prior_components)
    maps = []
    for d, (bounds, k) in enumerate(
        zip(directions, jax.random.split(key), strict=True)
    ):
        path = None
        if checkpoint_dir is not None:
            path = os.path.join(os.fspath(checkpoint_dir), f"t{d}{1 - d}.npz")
        cb = None
        if callback is not None:
            cb = functools.partial(callback, d)
        out = _fit_stacked(
            data, bounds, key=k, config=config, checkpoint_path=path,
            checkpoint_every=checkpoint_every, stop_after=None, callback=cb,
            prior=priors[d],
        )  # fmt: skip
        maps.append(out.ot_map)
    return NeuralBarycenter(tuple(maps), w)


def neural_barycenter_transform(
    model: NeuralBarycenter,
    x: Float[ArrayLike, "n ..."],
    z: Int[ArrayLike, " n"],
    *,
    t: float | Float[ArrayLike, ""] = 1.0,
) -> Float[Array, "n ..."]:
    r"""Moves each sample toward the barycenter; ``t`` = 1 is full repair.

    .. math::
       x_t = x + t\, w_{1-z} \big(T_{z \to 1-z}(x) - x\big)

    (McCann interpolation between ``x`` and its barycenter image; Xu &
    Strohmer, arXiv:2502.05684).

    Args:
      model: from :func:`fit_neural_barycenter`.
      x: samples ``[n, ...]`` of the fitted shape and dtype.
      z: group codes ``[n]`` in ``{0, 1}`` (one group alone is fine here).
      t: repair strength in ``[0, 1]``.

    Returns:
      Repaired samples, same shape and dtype as ``x``.

    Raises:
      ValueError, TypeError: on bad samples, codes or ``t``.
    """
    x = _validate_samples("x", x)
    m0 = model.maps[0]
    _check_matches("x", x, m0.sample_shape, m0.dtype_name)
    z = _checks.as_array("z", z)
    _checks.check_integer("z", z)
    _checks.check_shape("z", z, (x.shape[0],))
    if _checks.is_concrete(z) and not np.all(np.isin(np.asarray(z), [0, 1])):
        raise ValueError("z: expected codes 0 and 1")
    _checks.check_unit_interval("t", t)
    t = jnp.asarray(t, dtype=x.dtype)
    return _barycenter_jit(model, x, z, t)


@jax.jit
def _barycenter_jit(model, x, z, t):
    t01 = _apply(model.maps[0], x)
    t10 = _apply(model.maps[1], x)
    extra = (1,) * (x.ndim - 1)
    is1 = (z == 1).reshape((-1,) + extra)
    moved = jnp.where(is1, t10, t01)
    w = jnp.where(is1, model.weights[0], model.weights[1])
    return x + (t * w) * (moved - x)
