"""The ``"neural"`` repair method: two neural OT maps to the barycenter.

Registers ``feature.fit(x, z, method="neural", options=...)``: rows ``[n, d]``
(images flattened; pass ``options={"image_shape": [h, w]}`` to train the
convolutional networks on ``[h, w]`` images) of exactly two groups are sent to
their Wasserstein-2 barycenter with
:func:`jaxunlearn.transport.fit_neural_barycenter`: group 0 to
``(1 - w1) x + w1 T01(x)``, group 1 to ``(1 - w0) x + w0 T10(x)``.

Options (all JSON): ``image_shape`` (``None`` for vectors), ``seed`` (the
training key, default 0) and any field of
:class:`jaxunlearn.transport.NeuralOTConfig` (``num_iterations``, ``k_t``,
``batch_size``, ``learning_rate_t``, ``learning_rate_f``, ``width``,
``hidden``, ``depth``, ``prior_components``). The fitted statistics are a
:class:`NeuralState`: the trained parameter leaves of both maps (saved as
``t01_00000 ...`` and ``t10_00000 ...``), the fixed Gaussian prior when
``prior_components > 0`` and the convergence diagnostic ``mean_gap``, so
``feature.save`` / ``feature.load`` keep them.

Convergence: after training, the repaired training rows of the two groups
should share their law, so ``fit`` compares their column means: the
largest gap, in pooled standard deviations, is ``mean_gap``, and above
0.1 (the usual balance threshold of a standardized mean difference) or
when the output is not finite ``fit`` warns (``RuntimeWarning``) that the
maps did not converge, naming ``num_iterations`` and ``prior_components``.

References:
  Korotin, Selikhanovych and Burnaev, "Neural Optimal Transport",
  ICLR 2023. https://arxiv.org/abs/2201.12220
"""

import warnings

from jaxtyping import Array

import jax
import jax.numpy as jnp

from jaxunlearn.feature._repair import RepairMethod, register_method
from jaxunlearn.feature._state import repair_state
from jaxunlearn.transport import (
    NeuralOTConfig,
    NeuralOTMap,
    NeuralOTPrior,
    fit_neural_barycenter,
    neural_ot_map_kernel,
    neural_ot_params_template,
)

_CONFIG_FIELDS = frozenset(NeuralOTConfig._fields)
_PRIOR = NeuralOTPrior._fields
# Largest standardized mean difference between the repaired groups that
# counts as converged (the common balance threshold of SMDs).
MAX_MEAN_GAP = 0.1


@repair_state
class NeuralState:
    """Fitted statistics of the ``"neural"`` method.

    Attributes:
      t01: the parameter leaves of the map group 0 -> group 1.
      t10: the parameter leaves of the map group 1 -> group 0.
      mean_gap: the largest gap between the repaired groups' column means
        on the training rows, in pooled standard deviations ``[]``.
      t01_prior_mean, ...: the fixed Gaussian prior of each map
        (:class:`jaxunlearn.transport.NeuralOTPrior` fields), or ``None``.
    """

    t01: tuple[Array, ...]
    t10: tuple[Array, ...]
    mean_gap: Array | None = None
    t01_prior_mean: Array | None = None
    t01_prior_basis: Array | None = None
    t01_prior_matrix: Array | None = None
    t01_prior_offset: Array | None = None
    t01_prior_potential_matrix: Array | None = None
    t01_prior_potential_offset: Array | None = None
    t10_prior_mean: Array | None = None
    t10_prior_basis: Array | None = None
    t10_prior_matrix: Array | None = None
    t10_prior_offset: Array | None = None
    t10_prior_potential_matrix: Array | None = None
    t10_prior_potential_offset: Array | None = None

    def prior(self, name: str) -> NeuralOTPrior | None:
        """The prior of map ``name`` (``"t01"`` or ``"t10"``), or None."""
        parts = [getattr(self, f"{name}_prior_{f}") for f in _PRIOR]
        return None if parts[0] is None else NeuralOTPrior(*parts)


def _split_options(d: int, options: dict):
    unknown = set(options) - _CONFIG_FIELDS - {"image_shape", "seed"}
    if unknown:
        allowed = ", ".join(("image_shape", "seed", *NeuralOTConfig._fields))
        raise ValueError(
            f"options: unknown keys {sorted(unknown)} for method 'neural'"
            f" (allowed: {allowed})"
        )
    shape = options.get("image_shape")
    if shape is None:
        shape = (d,)
    else:
        shape = tuple(int(s) for s in shape)
        size = 1
        for s in shape:
            size *= s
        if size != d:
            raise ValueError(
                f"options['image_shape']: {list(shape)} has {size} pixels,"
                f" the rows have {d} features"
            )
    config = NeuralOTConfig(
        **{k: v for k, v in options.items() if k in _CONFIG_FIELDS}
    )
    return shape, config, int(options.get("seed", 0))


def _neural_fit(x, index, num_groups, weights, **options):
    if num_groups != 2:
        raise ValueError(
            f"z: method 'neural' needs exactly two groups, got {num_groups}"
            " (use method 'gaussian' or transport.fit_pca_gaussian_barycenter"
            " for more)"
        )
    shape, config, seed = _split_options(x.shape[1], options)
    model = fit_neural_barycenter(
        x.reshape((x.shape[0],) + shape),
        index,
        key=jax.random.key(seed),
        weights=weights,
        config=config,
    )
    fields = {}
    for name, m in zip(("t01", "t10"), model.maps, strict=True):
        fields[name] = tuple(jax.tree.leaves(m.t_params))
        if m.prior is not None:
            for field, leaf in m.prior._asdict().items():
                fields[f"{name}_prior_{field}"] = leaf
    state = NeuralState(**fields)
    repaired = _neural_transform(state, weights, x, index, None, options)
    gap = _mean_gap(repaired, index)
    _warn_unconverged(float(gap), options, config)
    return NeuralState(**fields, mean_gap=gap)


def _mean_gap(repaired, index):
    """Largest |mean_0 - mean_1| over columns, in pooled standard deviations."""
    is1 = (index == 1)[:, None]
    n1 = jnp.sum(is1).astype(repaired.dtype)
    m1 = jnp.sum(jnp.where(is1, repaired, 0), axis=0) / n1
    m0 = jnp.sum(jnp.where(is1, 0, repaired), axis=0) / (index.shape[0] - n1)
    std = jnp.std(repaired, axis=0)
    gap = jnp.abs(m1 - m0) / jnp.where(std > 0, std, 1.0)
    return jnp.where(jnp.all(jnp.isfinite(repaired)), jnp.max(gap), jnp.inf)


def _warn_unconverged(gap: float, options: dict, config) -> None:
    if gap <= MAX_MEAN_GAP:
        return
    warnings.warn(
        "method 'neural' did not converge: the repaired training rows of the"
        f" two groups still differ by {gap:.3g} pooled standard deviations"
        f" in some column's mean (converged: at most {MAX_MEAN_GAP}); raise"
        f" options['num_iterations'] (now {config.num_iterations}) or set"
        " options['prior_components'] (now"
        f" {options.get('prior_components', config.prior_components)}; > 0"
        " starts from the PCA-Gaussian repair), or use method 'gaussian'",
        RuntimeWarning,
        stacklevel=3,
    )


def _neural_transform(stats, weights, x, index, key, options):
    del key
    shape, config, _ = _split_options(x.shape[1], dict(options))
    template = neural_ot_params_template(config, shape, x.dtype.name)
    treedef = jax.tree.structure(template)
    imgs = x.reshape((x.shape[0],) + shape)
    moved = []
    for name in ("t01", "t10"):
        params = jax.tree.unflatten(treedef, list(getattr(stats, name)))
        prior = stats.prior(name) if config.prior_components > 0 else None
        ot_map = NeuralOTMap(params, config, shape, x.dtype.name, prior)
        moved.append(neural_ot_map_kernel(ot_map, imgs).reshape(x.shape))
    is1 = (index == 1)[:, None]
    target = jnp.where(is1, moved[1], moved[0])
    w = jnp.where(is1, weights[0], weights[1])
    return x + w * (target - x)


register_method(
    "neural",
    RepairMethod(
        fit=_neural_fit,
        transform=_neural_transform,
        inverse=None,
        min_group_size=1,
        state=NeuralState,
    ),
)
