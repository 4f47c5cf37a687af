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
``hidden``, ``depth``, ``prior_components``). The trained parameters are
stored as the flat arrays ``t01_00000 ...`` and ``t10_00000 ...`` of the
fitted repair (and the fixed Gaussian prior as ``t01_prior_mean`` ... when
``prior_components > 0``), so ``feature.save`` / ``feature.load`` keep them.

References:
  Korotin, Selikhanovych and Burnaev, "Neural Optimal Transport",
  ICLR 2023. https://arxiv.org/abs/2201.12220
"""

import jax
import jax.numpy as jnp

from jaxunlearn.feature._repair import RepairMethod, register_method
from jaxunlearn.transport import (
    NeuralOTConfig,
    NeuralOTPrior,
    fit_neural_barycenter,
)
from jaxunlearn.transport._neural import NeuralOTMap, _apply, _build

_CONFIG_FIELDS = frozenset(NeuralOTConfig._fields)


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
    stats = {}
    for name, m in zip(("t01", "t10"), model.maps, strict=True):
        for i, leaf in enumerate(jax.tree.leaves(m.t_params)):
            stats[f"{name}_{i:05d}"] = leaf
        if m.prior is not None:
            for field, leaf in m.prior._asdict().items():
                stats[f"{name}_prior_{field}"] = leaf
    return stats


def _neural_transform(stats, weights, x, index, key, options):
    del key
    shape, config, _ = _split_options(x.shape[1], dict(options))
    template = _build(config, shape, x.dtype.name).t_params
    treedef = jax.tree.structure(template)
    n_leaves = treedef.num_leaves
    imgs = x.reshape((x.shape[0],) + shape)
    moved = []
    for name in ("t01", "t10"):
        leaves = [stats[f"{name}_{i:05d}"] for i in range(n_leaves)]
        params = jax.tree.unflatten(treedef, leaves)
        prior = None
        if config.prior_components > 0:
            prior = NeuralOTPrior(
                *(stats[f"{name}_prior_{f}"] for f in NeuralOTPrior._fields)
            )
        ot_map = NeuralOTMap(params, config, shape, x.dtype.name, prior)
        moved.append(_apply(ot_map, imgs).reshape(x.shape))
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
    ),
)
