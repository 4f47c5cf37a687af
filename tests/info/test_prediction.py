import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxunlearn.info import prediction_mi
from jaxunlearn.info._prediction import _numpy_reference
from tests.conftest import tolerance


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matches_numpy_reference(dtype, jit):
    with jax.enable_x64(dtype == "float64"):
        k1, k2 = jax.random.split(jax.random.key(0))
        probs = jax.nn.softmax(jax.random.normal(k1, (50, 4), dtype=dtype))
        z = jax.random.randint(k2, (50,), 0, 3)
        out = jit(lambda p, z: prediction_mi(p, z, num_groups=3))(probs, z)
        assert out.dtype == jnp.dtype(dtype)
        np.testing.assert_allclose(
            out, _numpy_reference(probs, z, 3), **tolerance("closed", dtype)
        )


def test_zero_iff_group_means_agree():
    probs = jnp.array([[0.9, 0.1], [0.1, 0.9], [0.5, 0.5], [0.5, 0.5]])
    z = jnp.array([0, 0, 1, 1])  # both groups average to (0.5, 0.5)
    assert float(prediction_mi(probs, z)) == pytest.approx(0.0, abs=1e-7)
    z2 = jnp.array([0, 1, 0, 1])
    assert float(prediction_mi(probs, z2)) > 1e-3


def test_mask_equals_dropping_rows():
    k1, k2 = jax.random.split(jax.random.key(3))
    probs = jax.nn.softmax(jax.random.normal(k1, (20, 3)))
    z = jax.random.randint(k2, (20,), 0, 2)
    mask = jnp.arange(20) < 13
    np.testing.assert_allclose(
        prediction_mi(probs, z, num_groups=2, where=mask),
        prediction_mi(probs[:13], z[:13], num_groups=2),
        rtol=1e-6,
    )


def test_gradient_finite_at_simplex_boundary():
    probs = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    g = jax.grad(
        lambda p: prediction_mi(p, jnp.array([0, 1, 1]), num_groups=2)
    )(probs)
    assert bool(jnp.all(jnp.isfinite(g)))


def test_bad_input():
    with pytest.raises(TypeError, match="z"):
        prediction_mi(jnp.ones((2, 2)) / 2, jnp.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="z"):
        prediction_mi(jnp.ones((2, 2)) / 2, jnp.array([0, 1, 1]))
    with pytest.raises(ValueError, match="z: expected codes"):
        prediction_mi(jnp.ones((2, 2)) / 2, jnp.array([0, 2]), num_groups=2)
    with pytest.raises(ValueError, match="num_groups"):
        jax.jit(lambda p, z: prediction_mi(p, z))(
            jnp.ones((2, 2)) / 2, jnp.array([0, 1])
        )
