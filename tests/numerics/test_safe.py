import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special

from jaxunlearn.numerics import safe_div, safe_log, xlogx, xlogy


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_xlogy_matches_scipy_and_preserves_dtype(dtype):
    with jax.enable_x64(dtype == "float64"):
        x = jnp.array([0.0, 0.5, 1.0, 2.0, 0.0], dtype=dtype)
        y = jnp.array([0.0, 0.25, 3.0, 1e-3, 5.0], dtype=dtype)
        out = xlogy(x, y)
        assert out.dtype == jnp.dtype(dtype)
        np.testing.assert_allclose(
            out, scipy.special.xlogy(np.asarray(x), np.asarray(y)), rtol=1e-6
        )


def test_xlogx_zero_convention_and_finite_gradient():
    assert float(xlogx(jnp.float32(0.0))) == 0.0
    g = jax.grad(lambda p: jnp.sum(xlogx(p)))(jnp.array([0.0, 0.5, 1.0]))
    assert bool(jnp.all(jnp.isfinite(g)))
    np.testing.assert_allclose(g[1:], np.log([0.5, 1.0]) + 1.0, rtol=1e-6)


def test_safe_log_finite_at_zero_with_zero_gradient():
    val, g = jax.value_and_grad(lambda v: safe_log(v))(jnp.float32(0.0))
    assert bool(jnp.isfinite(val)) and float(g) == 0.0
    np.testing.assert_allclose(
        safe_log(jnp.float32(2.0)), np.log(2.0), rtol=1e-6
    )


def test_safe_div_zero_denominator():
    out = safe_div(jnp.array([1.0, 2.0]), jnp.array([0.0, 4.0]))
    np.testing.assert_allclose(out, [0.0, 0.5])
    g = jax.grad(lambda d: jnp.sum(safe_div(jnp.ones(2), d)))(
        jnp.array([0.0, 2.0])
    )
    assert bool(jnp.all(jnp.isfinite(g)))


def test_xlogy_gradient_finite_differences(x64):
    from jax.test_util import check_grads

    x = jnp.array([0.3, 1.2])
    y = jnp.array([0.7, 2.5])
    check_grads(xlogy, (x, y), order=2, modes=["fwd", "rev"])
