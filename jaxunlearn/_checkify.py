"""An opt-in checked mode: value errors surface under ``jit``.

Under ``jax.jit`` the library's value checks (NaN/Inf, ``t`` in ``[0, 1]``,
non-negative weights and tolerances) cannot run, because the values are
tracers. :func:`checked` traces a function under
``jax.experimental.checkify``: the library's value checks become checkify
checks, NaN generation and out-of-bounds indexing are checked too, and the
first failure is raised as a ``ValueError`` after the call.
"""

import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.extend.core as jax_core
from jax.experimental import checkify

from jaxunlearn import _checks


def checked(
    fn: Callable[..., Any],
    *,
    nan_checks: bool = True,
    static_argnames: Sequence[str] = (),
) -> Callable[..., Any]:
    """Wraps ``fn`` so that bad values raise under ``jit`` (checkify).

    The returned function is jitted. While it is traced, the library's
    value checks (finite inputs, ``t`` in ``[0, 1]``, non-negative weights
    and tolerances) become ``jax.experimental.checkify`` checks; with
    ``nan_checks`` any NaN produced by a primitive and any out-of-bounds
    index are checked too. After each call the first failed check is raised
    as a ``ValueError``. Checking costs a little run time; use it while
    debugging or on untrusted input. Pass the plain function, not an
    already jitted one (a jitted function traced before keeps its cached
    trace, without the library's checks). The library's value checks are
    emitted only for calls made directly in ``fn``'s own trace, not inside
    a ``jit``, ``vmap`` or loop nested in ``fn``: ``jit`` caches traces by
    argument shapes, and a check cached there would break later unchecked
    calls. ``nan_checks`` cover nested code too.

    Args:
      fn: the function to check (pure, traceable).
      nan_checks: also check every primitive for NaN output and indexing
        for out-of-bounds access.
      static_argnames: arguments of ``fn`` to treat as static under
        ``jit``.

    Returns:
      A function with ``fn``'s signature and outputs.

    Raises:
      ValueError: (from the returned function) naming the first failed
        check.

    Examples:
      >>> import jax.numpy as jnp
      >>> import jaxunlearn as ju
      >>> from jaxunlearn.transport import mccann_interpolation
      >>> f = ju.checked(mccann_interpolation)
      >>> f(jnp.zeros(2), jnp.ones(2), 0.5).tolist()
      [0.5, 0.5]
      >>> f(jnp.zeros(2), jnp.ones(2), 1.5)
      Traceback (most recent call last):
      ...
      ValueError: checked: t: expected values in [0, 1] ...
    """
    errors = checkify.user_checks
    if nan_checks:
        errors = errors | checkify.nan_checks | checkify.index_checks

    def traced(*args: Any, **kwargs: Any) -> Any:
        token = _checks.CHECKIFY_ACTIVE.set(jax_core.get_opaque_trace_state())
        try:
            return fn(*args, **kwargs)
        finally:
            _checks.CHECKIFY_ACTIVE.reset(token)

    inner = jax.jit(
        checkify.checkify(traced, errors=errors),
        static_argnames=tuple(static_argnames),
    )

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        err, out = inner(*args, **kwargs)
        message = err.get()
        if message is not None:
            raise ValueError(f"checked: {message}")
        return out

    return wrapper
