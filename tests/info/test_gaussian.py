import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from jax.test_util import check_grads

from jaxunlearn.info import (
    gaussian_entropy,
    gaussian_kl_divergence,
    gaussian_mutual_information,
)
from tests.conftest import random_spd, tolerance


def _np_kl(m0, s0, m1, s1):
    d = len(m0)
    s1i = np.linalg.inv(s1)
    dm = m1 - m0
    return 0.5 * (
        np.trace(s1i @ s0)
        + dm @ s1i @ dm
        - d
        + np.linalg.slogdet(s1)[1]
        - np.linalg.slogdet(s0)[1]
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_entropy_matches_scipy(dtype, jit):
    with jax.enable_x64(dtype == "float64"):
        s = random_spd(jax.random.key(0), 3, cond=5.0, dtype=dtype)
        out = jit(gaussian_entropy)(s)
        assert out.dtype == jnp.dtype(dtype)
        ref = scipy.stats.multivariate_normal(
            cov=np.asarray(s, np.float64)
        ).entropy()
        np.testing.assert_allclose(out, ref, **tolerance("closed", dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_kl_matches_numpy_formula(dtype, jit):
    with jax.enable_x64(dtype == "float64"):
        k = jax.random.split(jax.random.key(1), 4)
        s0 = random_spd(k[0], 3, cond=4.0, dtype=dtype)
        s1 = random_spd(k[1], 3, cond=4.0, dtype=dtype)
        m0 = jax.random.normal(k[2], (3,), dtype)
        m1 = jax.random.normal(k[3], (3,), dtype)
        out = jit(gaussian_kl_divergence)(m0, s0, m1, s1)
        assert out.dtype == jnp.dtype(dtype)
        ref = _np_kl(*(np.asarray(a, np.float64) for a in (m0, s0, m1, s1)))
        tol = {"rtol": 1e-4, "atol": 1e-5} if dtype == "float32" else {}
        np.testing.assert_allclose(
            out, ref, **(tol or tolerance("closed", dtype))
        )
        assert float(gaussian_kl_divergence(m0, s0, m0, s0)) == pytest.approx(
            0.0, abs=1e-5
        )


@pytest.mark.parametrize("rho", [0.0, 0.3, -0.8, 0.99])
def test_bivariate_mi_closed_form(rho, x64):
    s = jnp.array([[2.0, rho * np.sqrt(6.0)], [rho * np.sqrt(6.0), 3.0]])
    out = gaussian_mutual_information(s, 1)
    np.testing.assert_allclose(
        out, -0.5 * np.log(1 - rho**2), rtol=1e-10, atol=1e-12
    )


def test_block_mi_invariants(x64):
    s = random_spd(jax.random.key(2), 5, cond=8.0, dtype=jnp.float64)
    mi = gaussian_mutual_information(s, 2)
    # Symmetric: swap the blocks.
    perm = jnp.array([2, 3, 4, 0, 1])
    np.testing.assert_allclose(
        gaussian_mutual_information(s[perm][:, perm], 3), mi, rtol=1e-10
    )
    # I(A; B) = KL(joint || product of marginals).
    prod = s.at[:2, 2:].set(0.0).at[2:, :2].set(0.0)
    m = jnp.zeros(5)
    np.testing.assert_allclose(
        gaussian_kl_divergence(m, s, m, prod), mi, rtol=1e-9
    )
    np.testing.assert_allclose(gaussian_mutual_information(prod, 2), 0.0)


def test_batching_and_vmap():
    s = jax.vmap(lambda k: random_spd(k, 3))(
        jax.random.split(jax.random.key(3), 3)
    )
    ent = gaussian_entropy(s)
    assert ent.shape == (3,)
    one = jax.jit(gaussian_entropy)
    np.testing.assert_allclose(ent, [one(s[i]) for i in range(3)], rtol=1e-5)
    m = jnp.zeros((3, 3))
    kl = gaussian_kl_divergence(m, s, m + 1.0, s[::-1])
    np.testing.assert_allclose(
        jax.vmap(gaussian_kl_divergence)(m, s, m + 1.0, s[::-1]),
        kl,
        rtol=1e-5,
    )
    mi = jax.vmap(lambda c: gaussian_mutual_information(c, 1))(s)
    np.testing.assert_allclose(mi, gaussian_mutual_information(s, 1), rtol=1e-5)


@pytest.mark.slow
def test_gradients_match_finite_differences(x64):
    k = jax.random.split(jax.random.key(4), 2)
    s0 = random_spd(k[0], 2, cond=3.0, dtype=jnp.float64)
    s1 = random_spd(k[1], 2, cond=3.0, dtype=jnp.float64)
    m0, m1 = jnp.array([0.1, -0.2]), jnp.array([0.5, 0.3])
    kw = dict(order=1, modes=["rev"], **tolerance("grad", "float64"))
    check_grads(jax.jit(gaussian_entropy), (s0,), **kw)
    check_grads(jax.jit(gaussian_kl_divergence), (m0, s0, m1, s1), **kw)
    check_grads(
        jax.jit(lambda c: gaussian_mutual_information(c, 1)), (s0,), **kw
    )


def test_bad_input():
    with pytest.raises(ValueError, match="cov: expected square"):
        gaussian_entropy(jnp.ones((2, 3)))
    with pytest.raises(ValueError, match="cov: expected symmetric positive"):
        gaussian_entropy(jnp.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(TypeError, match="cov: expected a float"):
        gaussian_entropy(jnp.eye(2, dtype=jnp.int32))
    with pytest.raises(ValueError, match="split: expected an int in"):
        gaussian_mutual_information(jnp.eye(2), 2)
    with pytest.raises(TypeError, match="split: expected an integer"):
        gaussian_mutual_information(jnp.eye(2), 1.0)
    with pytest.raises(ValueError, match="mean1: expected shape"):
        gaussian_kl_divergence(
            jnp.zeros(2), jnp.eye(2), jnp.zeros(3), jnp.eye(2)
        )
    with pytest.raises(ValueError, match="cov1: expected shape"):
        gaussian_kl_divergence(
            jnp.zeros(2), jnp.eye(2), jnp.zeros(2), jnp.eye(3)
        )
