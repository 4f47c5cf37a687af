"""Shared test configuration: strict promotion, keys, x64 and jit fixtures."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

# Strict dtype and rank promotion are set in the root conftest.py, so that
# they apply to the doctests too.


@pytest.fixture
def rng() -> jax.Array:
    """A fixed PRNG key."""
    return jax.random.key(0)


@pytest.fixture
def x64():
    """Enables float64 for the duration of a test."""
    with jax.enable_x64(True):
        yield


@pytest.fixture(params=["nojit", "jit"])
def jit(request):
    """Runs a test with and without ``jax.jit``."""
    if request.param == "jit":
        return jax.jit
    return lambda f, **_: f


TOLERANCES = {
    ("closed", "float32"): {"rtol": 1e-5, "atol": 1e-6},
    ("closed", "float64"): {"rtol": 1e-10, "atol": 1e-12},
    ("iterative", "float32"): {"rtol": 1e-4, "atol": 1e-4},
    ("iterative", "float64"): {"rtol": 1e-8, "atol": 1e-10},
    ("grad", "float64"): {"rtol": 1e-5, "atol": 1e-7},
}


def tolerance(kind: str, dtype) -> dict:
    """Tolerances keyed by the kind of check and the dtype (STYLE 2.8)."""
    return TOLERANCES[(kind, jnp.dtype(dtype).name)]


def random_spd(key, d: int, *, cond: float = 10.0, dtype=jnp.float32):
    """A random SPD matrix with condition number ``cond``."""
    q, _ = jnp.linalg.qr(jax.random.normal(key, (d, d), dtype=dtype))
    eig = jnp.logspace(0.0, np.log10(cond), d, dtype=dtype)
    return (q * eig[None, :]) @ q.T
