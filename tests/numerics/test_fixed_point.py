import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from jaxunlearn.numerics import fixed_point


def _babylon(x, a):
    return 0.5 * (x + a / x)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_converges_to_closed_form(dtype, jit):
    with jax.enable_x64(dtype == "float64"):
        a = jnp.array([2.0, 9.0], dtype=dtype)
        tol = 1e-6 if dtype == "float32" else 1e-12
        out = jit(
            lambda a: fixed_point(
                _babylon, jnp.ones_like(a), a, tol=tol, max_iter=50
            )
        )(a)
        assert out.value.dtype == jnp.dtype(dtype)
        assert bool(out.converged)
        np.testing.assert_allclose(
            out.value, np.sqrt([2.0, 9.0]), rtol=10 * tol
        )
        assert 1 <= int(out.n_iters) < 50


def test_bounded_and_reports_non_convergence():
    # x -> x + 1 has no fixed point: the loop must stop and say so.
    out = fixed_point(
        lambda x, p: x + p,
        jnp.float32(0.0),
        jnp.float32(1.0),
        tol=1e-6,
        max_iter=7,
    )
    assert not bool(out.converged)
    assert int(out.n_iters) == 7
    assert float(out.error) == pytest.approx(1.0)


def test_implicit_gradient_matches_closed_form(x64):
    # x* = sqrt(a) so dx*/da = 1 / (2 sqrt(a)).
    def f(a):
        return fixed_point(
            _babylon, jnp.ones_like(a), a, tol=1e-14, max_iter=100
        ).value

    a = jnp.array([2.0, 5.0])
    g = jax.jacobian(f)(a)
    np.testing.assert_allclose(
        np.diag(g), 0.5 / np.sqrt([2.0, 5.0]), rtol=1e-10
    )
    check_grads(lambda a: jnp.sum(f(a) ** 3), (a,), order=1, modes=["rev"])


def test_pytree_params_and_iterates(x64):
    def fn(x, p):
        return {"u": 0.5 * x["u"] + p["b"], "v": 0.25 * x["v"] + p["c"]}

    x0 = {"u": jnp.zeros(2), "v": jnp.zeros(())}
    p = {"b": jnp.array([1.0, 2.0]), "c": jnp.array(3.0)}
    out = fixed_point(fn, x0, p, tol=1e-12, max_iter=200)
    np.testing.assert_allclose(out.value["u"], [2.0, 4.0])
    np.testing.assert_allclose(out.value["v"], 4.0)
    g = jax.grad(
        lambda p: fixed_point(fn, x0, p, tol=1e-12, max_iter=200).value["v"]
    )(p)
    np.testing.assert_allclose(g["c"], 4.0 / 3.0, rtol=1e-8)
    np.testing.assert_allclose(g["b"], 0.0)


def test_bad_max_iter():
    with pytest.raises(ValueError, match="max_iter"):
        fixed_point(
            _babylon, jnp.float32(1.0), jnp.float32(2.0), tol=1e-6, max_iter=0
        )


def test_no_retrace_across_tolerances():
    @jax.jit
    @chex.assert_max_traces(n=1)
    def solve(a, tol):
        return fixed_point(_babylon, jnp.ones_like(a), a, tol=tol, max_iter=50)

    for tol in (1e-2, 1e-4, 1e-6):
        solve(jnp.array([2.0]), jnp.float32(tol)).value.block_until_ready()
