import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from jax.test_util import check_grads

from jaxunlearn.numerics import (
    inv_sqrtm,
    min_eigenvalue_ratio,
    sqrtm,
    sqrtm_and_inv_sqrtm,
)
from tests.conftest import random_spd, tolerance


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("d", [1, 3, 8])
def test_sqrtm_matches_scipy(dtype, d, jit):
    with jax.enable_x64(dtype == "float64"):
        a = random_spd(jax.random.key(d), d, cond=50.0, dtype=dtype)
        s, inv_s = jit(sqrtm_and_inv_sqrtm)(a)
        assert s.dtype == jnp.dtype(dtype)
        ref = scipy.linalg.sqrtm(np.asarray(a, dtype=np.float64)).real
        tol = tolerance("iterative" if dtype == "float32" else "closed", dtype)
        np.testing.assert_allclose(s, ref, rtol=tol["rtol"] * 10, atol=1e-5)
        np.testing.assert_allclose(
            s @ inv_s, np.eye(d), atol=1e-4 if dtype == "float32" else 1e-10
        )
        np.testing.assert_allclose(s @ s, a, rtol=1e-4, atol=1e-4)


def test_batched_equals_loop():
    keys = jax.random.split(jax.random.key(1), 5)
    a = jnp.stack([random_spd(k, 4) for k in keys])
    batched = sqrtm(a)
    for i in range(5):
        np.testing.assert_allclose(
            batched[i], sqrtm(a[i]), rtol=1e-6, atol=1e-6
        )
    np.testing.assert_allclose(
        jax.vmap(sqrtm)(a), batched, rtol=1e-6, atol=1e-6
    )


def test_singular_input_is_floored_and_finite():
    a = jnp.array([[1.0, 1.0], [1.0, 1.0]])  # rank one
    s, inv_s = sqrtm_and_inv_sqrtm(a)
    assert bool(jnp.all(jnp.isfinite(s))) and bool(jnp.all(jnp.isfinite(inv_s)))
    np.testing.assert_allclose(s @ s, a, atol=1e-5)
    assert float(min_eigenvalue_ratio(a)) < 1e-6
    g = jax.grad(lambda m: jnp.sum(sqrtm(m)))(a)
    assert bool(jnp.all(jnp.isfinite(g)))


def test_gradient_finite_at_repeated_eigenvalues():
    # eigh's own derivative divides by eigenvalue gaps: nan at the identity.
    naive = jax.grad(
        lambda m: jnp.sum(jnp.linalg.eigh(m)[1] @ jnp.linalg.eigh(m)[1].T)
    )
    del naive
    for fn in (sqrtm, inv_sqrtm):
        g = jax.grad(lambda m, fn=fn: jnp.sum(fn(m) ** 2))(2.0 * jnp.eye(3))
        assert bool(jnp.all(jnp.isfinite(g)))
    # d/dA tr(A^{1/2}) = A^{-1/2} / 2.
    g = jax.grad(lambda m: jnp.trace(sqrtm(m)))(4.0 * jnp.eye(3))
    np.testing.assert_allclose(g, 0.25 * np.eye(3), rtol=1e-6)


@pytest.mark.parametrize("fn", [sqrtm, inv_sqrtm], ids=["sqrtm", "inv_sqrtm"])
def test_gradients_match_finite_differences(fn, x64):
    a = random_spd(jax.random.key(3), 4, cond=5.0, dtype=jnp.float64)
    w = jax.random.normal(jax.random.key(4), (4, 4), dtype=jnp.float64)

    def f(m):
        return jnp.sum(w * fn(0.5 * (m + m.T)))

    check_grads(f, (a,), order=1, modes=["fwd", "rev"], eps=1e-6)


def test_no_retrace():
    f = chex.assert_max_traces(n=1)(lambda m: sqrtm(m))
    f = jax.jit(f)
    for k in range(3):
        f(random_spd(jax.random.key(k), 3)).block_until_ready()
