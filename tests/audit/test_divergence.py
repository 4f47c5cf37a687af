import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads
from scipy.spatial.distance import jensenshannon
from scipy.special import rel_entr, softmax

from jaxunlearn.audit import prediction_js, prediction_kl
from tests.conftest import tolerance


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_against_scipy(rng, dtype, jit):
    with jax.enable_x64(dtype == "float64"):
        k1, k2 = jax.random.split(rng)
        a = jax.random.normal(k1, (9, 4), dtype) * 3
        b = jax.random.normal(k2, (9, 4), dtype) * 3
        p = softmax(np.asarray(a, np.float64), axis=1)
        q = softmax(np.asarray(b, np.float64), axis=1)
        kl = jit(prediction_kl)(a, b)
        js = jit(prediction_js)(a, b)
        assert kl.dtype == js.dtype == jnp.dtype(dtype)
        tol = tolerance("iterative", dtype)
        np.testing.assert_allclose(kl, rel_entr(p, q).sum(1), **tol)
        np.testing.assert_allclose(js, jensenshannon(p, q, axis=1) ** 2, **tol)


def test_invariants(rng):
    a = jax.random.normal(rng, (5, 3))
    assert float(jnp.max(prediction_kl(a, a))) == 0.0
    assert float(jnp.max(prediction_js(a, a))) == 0.0
    b = a[::-1]
    np.testing.assert_allclose(prediction_js(a, b), prediction_js(b, a))
    assert float(jnp.max(prediction_js(a * 100, b * 100))) <= np.float32(
        np.log(2)
    )
    # Shift invariance of softmax.
    np.testing.assert_allclose(
        prediction_kl(a + 5.0, b), prediction_kl(a, b), rtol=1e-4, atol=1e-6
    )


def test_grads(x64, rng):
    a = jax.random.normal(rng, (3, 3), jnp.float64)
    b = a[::-1]
    check_grads(lambda a: jnp.sum(prediction_kl(a, b)), (a,), 1, modes="rev")
    check_grads(lambda a: jnp.sum(prediction_js(a, b)), (a,), 1, modes="rev")


def test_bad_input():
    with pytest.raises(ValueError, match="reference_logits"):
        prediction_kl(jnp.zeros((2, 3)), jnp.zeros((2, 2)))
    with pytest.raises(TypeError, match="reference_logits"):
        prediction_js(jnp.zeros((2, 3)), jnp.zeros((2, 3), jnp.int32))
