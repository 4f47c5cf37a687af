"""Eager checks that probability arrays lie on the simplex.

Under ``jit`` the values are tracers and cannot be inspected: the checks are
skipped and the functions compute their formula on the values as given (no
renormalisation, no clipping). Callers that need checked behaviour under
``jit`` can wrap the call in ``jax.experimental.checkify``.
"""

from typing import Any

import jax.numpy as jnp
import numpy as np

from jaxunlearn import _checks


def simplex_atol(dtype: Any) -> float:
    """Tolerance for ``|sum(p) - 1|`` and ``min(p) >= -atol``: ``sqrt(eps)``.

    Args:
      dtype: a floating dtype.

    Returns:
      ``sqrt(finfo(dtype).eps)`` (about 3.5e-4 in float32, 1.5e-8 in float64).
    """
    return float(np.sqrt(jnp.finfo(dtype).eps))


def check_probs(
    name: str,
    p: Any,
    axes: int | tuple[int, ...] = -1,
    where: Any = None,
) -> None:
    """Raises ValueError when a concrete ``p`` is off the simplex.

    Entries are checked only where ``where`` is true; each slice along
    ``axes`` must be non-negative and sum to 1, both up to
    :func:`simplex_atol`. NaN or Inf entries are rejected too. Tracers pass.

    Args:
      name: argument name used in the message.
      p: probabilities.
      axes: the axis or axes that hold one distribution.
      where: optional boolean mask broadcastable to ``p``.

    Returns:
      None.

    Raises:
      ValueError: on negative entries, sums off 1 or non-finite values.
    """
    if not (_checks.is_concrete(p) and _checks.is_concrete(where)):
        return
    arr = np.asarray(p, dtype=np.float64)
    mask = (
        np.ones(arr.shape, bool)
        if where is None
        else np.broadcast_to(np.asarray(where, bool), arr.shape)
    )
    atol = simplex_atol(jnp.result_type(p))
    if not np.all(np.isfinite(arr[mask])):
        raise ValueError(f"{name}: expected finite probabilities, got NaN/Inf")
    if arr[mask].size and float(np.min(arr[mask])) < -atol:
        raise ValueError(
            f"{name}: expected non-negative probabilities, got minimum"
            f" {float(np.min(arr[mask])):.3g}"
        )
    sums = np.sum(np.where(mask, arr, 0.0), axis=axes)
    # Fully masked slices (padding) are exempt.
    live = np.any(mask, axis=axes)
    err = np.abs(sums - 1.0)[live]
    if err.size and float(np.max(err)) > atol:
        raise ValueError(
            f"{name}: expected probabilities summing to 1 along axis {axes}"
            f" (tolerance {atol:.1e}), got sums off by up to"
            f" {float(np.max(err)):.3g}"
        )
