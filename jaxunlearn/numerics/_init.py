"""LeCun-normal re-initialization of a parameter pytree.

References:
  LeCun, Bottou, Orr & Müller, "Efficient BackProp", Neural Networks:
  Tricks of the Trade, Springer, 1998.
"""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array


def lecun_reinit(params: Any, *, key: Array, keep_zero: bool = False) -> Any:
    """Fresh parameters shaped like ``params`` (LeCun-normal, zero biases).

    Leaves of rank >= 2 (dense ``[in, out]`` or conv ``[h, w, in, out]``
    kernels) get truncated-normal entries (at two standard deviations) with
    variance ``1 / fan_in``, ``fan_in = prod(shape[:-1])`` (flax nnx's
    default for ``Linear`` and ``Conv``); other leaves (biases) are zeros.

    Args:
      params: a pytree of arrays (not modified).
      key: PRNG key.
      keep_zero: leave a concrete all-zero kernel at zero (a layer that
        starts at zero by design).

    Returns:
      A new pytree with the same structure, shapes and dtypes.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxunlearn.numerics import lecun_reinit
      >>> p = lecun_reinit({"w": jnp.ones((3, 2)), "b": jnp.ones(2)},
      ...                  key=jax.random.key(0))
      >>> p["w"].shape, float(p["b"].sum())
      ((3, 2), 0.0)
    """
    leaves, treedef = jax.tree.flatten(params)
    keys = jax.random.split(key, max(len(leaves), 1))
    out = []
    for leaf, k in zip(leaves, keys, strict=False):
        leaf = jnp.asarray(leaf)
        zero = keep_zero and not isinstance(leaf, jax.core.Tracer)
        if leaf.ndim < 2 or (zero and not np.any(np.asarray(leaf))):
            out.append(jnp.zeros_like(leaf))
            continue
        init = jax.nn.initializers.lecun_normal(
            in_axis=tuple(range(leaf.ndim - 1)), out_axis=-1
        )
        out.append(init(k, leaf.shape, leaf.dtype))
    return jax.tree.unflatten(treedef, out)
