"""Static input validation shared by every sub-package.

Each helper raises ``ValueError`` or ``TypeError`` with a message that names
the argument, says what was expected and what was received. Shape and dtype
checks work on tracers (they are static); value checks (finiteness, ranges)
run only on concrete arrays and are skipped under ``jit``, where the caller
documents the precondition instead, unless the call is traced inside
:func:`jaxunlearn.checked`: then the value checks become
``jax.experimental.checkify`` checks and surface as a ``ValueError`` when
the checked function runs.
"""

import contextvars
from collections.abc import Sequence
from typing import Any

import jax
import jax.extend.core as jax_core
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

# While a function is traced inside ``jaxunlearn.checked``: the trace it is
# traced in (``jax.extend.core.get_opaque_trace_state``), else None.
CHECKIFY_ACTIVE = contextvars.ContextVar("jaxunlearn_checkify", default=None)


def _traced_check(ok: Any, message: str) -> None:
    """Emits a checkify check of ``ok()`` while traced inside ``checked``.

    ``ok`` is a thunk: outside ``checked`` nothing is computed or traced.
    Only calls made directly in the checked function's own trace emit a
    check. A call inside a nested ``jit`` (or ``vmap``, ``scan``, ...) does
    not: ``jit`` caches a function's trace by argument shapes alone, so a
    check traced into it would stay in the cache and break later calls of
    the same function outside ``checked``.
    """
    state = CHECKIFY_ACTIVE.get()
    if state is not None and state == jax_core.get_opaque_trace_state():
        message = message.replace("{", "(").replace("}", ")")
        checkify.check(jnp.all(ok()), message)


def _as_float(x: Any) -> jax.Array:
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.float32)
    return x


def is_concrete(x: Any) -> bool:
    """Returns whether ``x`` holds concrete values (not a tracer)."""
    return not isinstance(x, jax.core.Tracer)


def _describe(x: Any) -> str:
    shape = getattr(x, "shape", None)
    dtype = getattr(x, "dtype", None)
    if shape is None:
        return f"{type(x).__name__} {x!r}"
    return f"array of shape {tuple(shape)} and dtype {dtype}"


def as_array(name: str, x: Any) -> jax.Array:
    """Converts ``x`` to a JAX array, naming ``name`` on failure."""
    if isinstance(x, jax.Array):
        return x
    try:
        arr = np.asarray(x)
    except Exception as err:  # noqa: BLE001 - re-raised with context.
        raise TypeError(
            f"{name}: expected an array-like, got {type(x).__name__}"
        ) from err
    if arr.dtype == object:
        raise TypeError(
            f"{name}: expected a numeric array, got an object array"
            f" (ragged or mixed input of shape {arr.shape})"
        )
    return jnp.asarray(arr)


def check_floating(name: str, x: Any) -> None:
    """Raises TypeError unless ``x`` has a real floating dtype (not float16)."""
    dtype = jnp.result_type(x)
    if not jnp.issubdtype(dtype, jnp.floating) or dtype in (
        jnp.float16,
        jnp.bfloat16,
    ):
        raise TypeError(
            f"{name}: expected a float32 or float64 array, got dtype {dtype}"
        )


def check_integer(name: str, x: Any) -> None:
    """Raises TypeError unless ``x`` has an integer (or bool) dtype."""
    dtype = jnp.result_type(x)
    if not (
        jnp.issubdtype(dtype, jnp.integer) or jnp.issubdtype(dtype, jnp.bool_)
    ):
        raise TypeError(
            f"{name}: expected an integer array of codes, got dtype {dtype}"
        )


def check_rank(name: str, x: Any, rank: int | Sequence[int]) -> None:
    """Raises ValueError unless ``x.ndim`` is ``rank`` (or one of them)."""
    ranks = (rank,) if isinstance(rank, int) else tuple(rank)
    ndim = jnp.ndim(x)
    if ndim not in ranks:
        want = " or ".join(str(r) for r in ranks)
        raise ValueError(
            f"{name}: expected an array of rank {want}, got {_describe(x)}"
        )


def check_shape(name: str, x: Any, shape: Sequence[int | None]) -> None:
    """Raises ValueError unless ``x.shape`` matches ``shape`` (None = any)."""
    actual = tuple(jnp.shape(x))
    ok = len(actual) == len(shape) and all(
        s is None or s == a for s, a in zip(shape, actual, strict=True)
    )
    if not ok:
        want = "[" + ", ".join("*" if s is None else str(s) for s in shape)
        raise ValueError(f"{name}: expected shape {want}], got {_describe(x)}")


def check_nonempty(name: str, x: Any, axis: int = 0) -> None:
    """Raises ValueError when ``x`` has no entries along ``axis``."""
    if jnp.ndim(x) == 0 or jnp.shape(x)[axis] == 0:
        raise ValueError(
            f"{name}: expected a non-empty array, got {_describe(x)}"
        )


def check_finite(name: str, x: Any) -> None:
    """Raises ValueError when a concrete ``x`` holds NaN or Inf."""
    if not is_concrete(x):
        _traced_check(
            lambda: jnp.isfinite(_as_float(x)),
            f"{name}: expected finite values",
        )
        return
    arr = np.asarray(x)
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(
            f"{name}: expected finite values, got {bad} NaN/Inf entries"
            f" in an {_describe(x)}"
        )


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> None:
    """Raises ValueError unless ``value`` is one of ``choices``."""
    if value not in choices:
        opts = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name}: expected one of {opts}, got {value!r}")


def check_unit_interval(name: str, t: Any) -> None:
    """Raises ValueError when a concrete ``t`` lies outside ``[0, 1]``."""
    if not is_concrete(t):
        _traced_check(
            lambda: (_as_float(t) >= 0) & (_as_float(t) <= 1),
            f"{name}: expected values in [0, 1]",
        )
        return
    arr = np.asarray(t, dtype=float)
    if not np.all(np.isfinite(arr)) or np.any((arr < 0) | (arr > 1)):
        raise ValueError(
            f"{name}: expected values in [0, 1], got {arr.tolist()!r}"
        )


def check_positive_int(name: str, value: Any, minimum: int = 1) -> None:
    """Raises TypeError/ValueError unless ``value`` is an int >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name}: expected an integer, got {value!r}")
    if value < minimum:
        raise ValueError(
            f"{name}: expected an integer >= {minimum}, got {value}"
        )


def check_nonnegative(name: str, value: Any) -> None:
    """Raises ValueError when a concrete scalar ``value`` is negative or NaN."""
    if not is_concrete(value):
        _traced_check(
            lambda: jnp.isfinite(_as_float(value)) & (_as_float(value) >= 0),
            f"{name}: expected a finite value >= 0",
        )
        return
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(
            f"{name}: expected a finite value >= 0, got {arr.tolist()!r}"
        )


def check_weights(name: str, weights: Any, k: int) -> None:
    """Validates barycentric weights ``[k]``: non-negative, not all zero."""
    check_rank(name, weights, 1)
    if jnp.shape(weights)[0] != k:
        raise ValueError(
            f"{name}: expected {k} weights (one per group), got"
            f" {jnp.shape(weights)[0]}"
        )
    check_floating(name, weights)
    if not is_concrete(weights):
        _traced_check(
            lambda: jnp.isfinite(weights) & (weights >= 0),
            f"{name}: expected finite non-negative weights",
        )
        _traced_check(
            lambda: jnp.any(weights > 0), f"{name}: expected a positive sum"
        )
        return
    w = np.asarray(weights, dtype=float)
    if not np.all(np.isfinite(w)):
        raise ValueError(f"{name}: expected finite weights, got {w.tolist()}")
    if np.any(w < 0):
        raise ValueError(
            f"{name}: expected non-negative weights, got {w.tolist()}"
        )
    if not np.any(w > 0):
        raise ValueError(
            f"{name}: expected weights with a positive sum, got all zeros"
        )


def check_same_dtype(**arrays: Any) -> None:
    """Raises TypeError when the named arrays have different dtypes."""
    dtypes = {k: jnp.result_type(v) for k, v in arrays.items()}
    if len(set(dtypes.values())) > 1:
        desc = ", ".join(f"{k}: {v}" for k, v in dtypes.items())
        raise TypeError(f"expected arrays of one floating dtype, got {desc}")


def check_square_symmetric(name: str, a: Any) -> None:
    """Checks square symmetric matrices ``[..., d, d]`` (floating, finite).

    Dtype and shape checks are static; finiteness and a relative asymmetry
    above ``sqrt(eps)`` of the dtype are checked only on concrete input.
    """
    check_floating(name, a)
    if jnp.ndim(a) < 2 or jnp.shape(a)[-1] != jnp.shape(a)[-2]:
        raise ValueError(
            f"{name}: expected square matrices [..., d, d], got {_describe(a)}"
        )
    check_finite(name, a)
    if not is_concrete(a) or not np.size(a):
        return
    c = np.asarray(a, dtype=np.float64)
    scale = max(float(np.max(np.abs(c))), np.finfo(np.float64).tiny)
    asym = float(np.max(np.abs(c - np.swapaxes(c, -1, -2)))) / scale
    limit = float(np.sqrt(jnp.finfo(jnp.result_type(a)).eps))
    if asym > limit:
        raise ValueError(
            f"{name}: expected symmetric matrices, got a relative asymmetry"
            f" of {asym:.3g} (limit {limit:.3g})"
        )


def check_key(name: str, key: Any) -> None:
    """Raises TypeError unless ``key`` is a PRNG key (typed or raw uint32)."""
    if isinstance(key, jax.Array) and (
        jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
        or (key.dtype == jnp.uint32 and key.shape[-1:] == (2,))
    ):
        return
    raise TypeError(
        f"{name}: expected a PRNG key (jax.random.key(seed)), got"
        f" {_describe(key)}"
    )


def check_not_nan(name: str, x: Any) -> None:
    """Raises ValueError when a concrete ``x`` holds NaN (Inf is allowed)."""
    if not is_concrete(x):
        _traced_check(
            lambda: ~jnp.isnan(_as_float(x)), f"{name}: expected no NaN"
        )
        return
    n_nan = int(np.count_nonzero(np.isnan(np.asarray(x))))
    if n_nan:
        raise ValueError(
            f"{name}: expected no NaN, got {n_nan} NaN entries in an"
            f" {_describe(x)}"
        )
