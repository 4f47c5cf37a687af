r"""A bounded fixed-point loop with diagnostics and implicit differentiation.

``fixed_point(fn, x0, params)`` iterates ``x <- fn(x, params)`` inside one
``lax.while_loop`` until the largest absolute change falls below ``tol`` or
``max_iter`` iterations have run. It never hangs and always reports whether
it converged.

Gradients with respect to ``params`` use the implicit function theorem at
the fixed point ``x* = fn(x*, params)`` instead of unrolling the loop:

.. math::
   \bar p = \partial_p fn(x^*, p)^\top u, \qquad
   u = \bar x + \partial_x fn(x^*, p)^\top u,

and the adjoint equation for ``u`` is itself solved by fixed-point iteration
(it converges at the rate of the forward iteration, since both are governed
by the spectrum of ``partial_x fn`` at ``x*``). Memory is that of a single
step, whatever the number of iterations.

References:
  Blondel et al., "Efficient and Modular Implicit Differentiation",
  NeurIPS 2022. https://arxiv.org/abs/2105.15183
"""

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

from jaxtyping import Array, ArrayLike

import jax
import jax.numpy as jnp

from jaxunlearn import _checks


class FixedPointOutput(NamedTuple):
    """Result of :func:`fixed_point`.

    Attributes:
      value: the last iterate (a pytree shaped like ``x0``).
      converged: whether the last change was below ``tol``. ``[]`` bool.
      n_iters: iterations run. ``[]`` int32.
      error: the largest absolute change of the last iteration. ``[]``.
    """

    value: Any
    converged: Array
    n_iters: Array
    error: Array


def _max_abs_diff(a: Any, b: Any) -> Array:
    diffs = jax.tree.map(lambda u, v: jnp.max(jnp.abs(u - v)), a, b)
    return functools.reduce(jnp.maximum, jax.tree.leaves(diffs))


def _iterate(step, x0, tol, max_iter):
    """Runs ``x <- step(x)`` up to ``max_iter`` times; returns diagnostics."""
    leaves = jax.tree.leaves(x0)
    dtype = jnp.result_type(*leaves)
    inf = jnp.asarray(jnp.inf, dtype=dtype)

    def cond(carry):
        _, it, err = carry
        return jnp.logical_and(it < max_iter, err > tol)

    def body(carry):
        x, it, _ = carry
        x_new = step(x)
        return x_new, it + 1, _max_abs_diff(x_new, x).astype(dtype)

    x, n_iters, err = jax.lax.while_loop(
        cond, body, (x0, jnp.asarray(0, jnp.int32), inf)
    )
    return x, n_iters, err


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 4))
def _solve(fn, x0, params, tol, max_iter):
    x, n_iters, err = _iterate(lambda x: fn(x, params), x0, tol, max_iter)
    return x, err <= tol, n_iters, err


def _solve_fwd(fn, x0, params, tol, max_iter):
    out = _solve(fn, x0, params, tol, max_iter)
    return out, (out[0], params, tol)


def _solve_bwd(fn, max_iter, residuals, cotangents):
    x_star, params, tol = residuals
    x_bar = cotangents[0]
    _, vjp = jax.vjp(fn, x_star, params)
    # Adjoint equation u = x_bar + (d fn / dx)^T u, iterated to tolerance.
    u0 = jax.tree.map(jnp.zeros_like, x_bar)
    step = lambda u: jax.tree.map(jnp.add, x_bar, vjp(u)[0])  # noqa: E731
    u, _, _ = _iterate(step, u0, tol, max_iter)
    params_bar = vjp(u)[1]
    x0_bar = jax.tree.map(jnp.zeros_like, x_star)
    return x0_bar, params_bar, jnp.zeros_like(tol)


_solve.defvjp(_solve_fwd, _solve_bwd)


def fixed_point(
    fn: Callable[[Any, Any], Any],
    x0: Any,
    params: Any,
    *,
    tol: ArrayLike,
    max_iter: int,
) -> FixedPointOutput:
    """Iterates ``x <- fn(x, params)`` to a fixed point, within a bound.

    Stops when the largest absolute change of any leaf is at most ``tol`` or
    after ``max_iter`` iterations. Differentiable with respect to ``params``
    by implicit differentiation (not by unrolling); ``x0`` receives a zero
    gradient. ``tol`` is a traced value (changing it does not recompile);
    ``max_iter`` is static.

    Args:
      fn: a pure function ``fn(x, params) -> x_new`` with ``x_new`` shaped
        like ``x``.
      x0: initial iterate (a pytree of floating arrays).
      params: pytree of parameters of ``fn``.
      tol: absolute tolerance on the change between iterates.
      max_iter: the largest number of iterations (a Python int >= 1).

    Returns:
      A :class:`FixedPointOutput` with the iterate and diagnostics.

    Raises:
      ValueError: when ``max_iter`` is not a positive integer or (eagerly)
        ``tol`` is negative or NaN.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.numerics import fixed_point
      >>> out = fixed_point(lambda x, a: 0.5 * x + a, jnp.float32(0.0),
      ...                   jnp.float32(1.0), tol=1e-6, max_iter=100)
      >>> round(float(out.value), 4), bool(out.converged)
      (2.0, True)
    """
    if (
        isinstance(max_iter, bool)
        or not isinstance(max_iter, int)
        or (max_iter < 1)
    ):
        raise ValueError(
            f"max_iter: expected an integer >= 1, got {max_iter!r}"
        )
    _checks.check_nonnegative("tol", tol)
    dtype = jnp.result_type(*jax.tree.leaves(x0))
    tol = jnp.asarray(tol, dtype=dtype)
    value, converged, n_iters, error = _solve(fn, x0, params, tol, max_iter)
    return FixedPointOutput(value, converged, n_iters, error)
