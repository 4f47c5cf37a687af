"""Logarithms that follow the ``0 log 0 = 0`` convention with finite gradients.

The naive expressions ``x * jnp.log(x)`` and ``jnp.log(x)`` produce ``nan``
values or ``nan`` gradients at ``x = 0``: the forward pass computes
``0 * -inf`` and the backward pass ``0 * inf``. The "double where" below feeds
the logarithm a harmless value where the result is fixed by convention, so
neither pass ever sees an infinity.
"""

from jaxtyping import Array, ArrayLike

import jax.numpy as jnp


def safe_log(x: ArrayLike) -> Array:
    """Natural log that maps ``x <= 0`` to ``log(tiny)`` with zero gradient.

    ``log(x)`` for positive ``x``; for ``x <= 0`` the logarithm of the
    smallest positive normal number of the dtype, a large negative but finite
    value. The gradient there is 0 rather than ``inf``.

    Args:
      x: array of non-negative values.

    Returns:
      An array of the same shape and dtype.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.numerics import safe_log
      >>> bool(jnp.isfinite(safe_log(jnp.float32(0.0))))
      True
    """
    x = jnp.asarray(x)
    tiny = jnp.finfo(x.dtype).tiny
    positive = x > 0
    return jnp.where(
        positive, jnp.log(jnp.where(positive, x, 1)), jnp.log(tiny)
    )


def xlogy(x: ArrayLike, y: ArrayLike) -> Array:
    """Computes ``x * log(y)`` with ``0 * log(y) = 0`` for every ``y >= 0``.

    The gradient is finite everywhere ``y > 0`` or ``x = 0``: at ``x = 0`` the
    result is constant 0 by convention, so both partial derivatives are 0
    there.

    Args:
      x: array.
      y: array of non-negative values, broadcastable with ``x``.

    Returns:
      ``x * log(y)`` elementwise.
    """
    x = jnp.asarray(x)
    y = jnp.asarray(y)
    nonzero = x != 0
    safe_y = jnp.where(nonzero, y, 1)
    return jnp.where(nonzero, x * jnp.log(safe_y), 0)


def xlogx(x: ArrayLike) -> Array:
    """Computes ``x * log(x)`` with ``0 log 0 = 0`` and a finite gradient.

    The derivative ``log(x) + 1`` diverges at 0; there it is set to 0, the
    value of the convention's constant extension.

    Args:
      x: array of non-negative values.

    Returns:
      ``x * log(x)`` elementwise.
    """
    return xlogy(x, x)


def safe_div(num: ArrayLike, den: ArrayLike) -> Array:
    """Computes ``num / den`` with 0 wherever ``den == 0``, finite gradients.

    Args:
      num: numerator.
      den: denominator, broadcastable with ``num``.

    Returns:
      The quotient, 0 where the denominator is 0.
    """
    num = jnp.asarray(num)
    den = jnp.asarray(den)
    nonzero = den != 0
    return jnp.where(nonzero, num / jnp.where(nonzero, den, 1), 0)
