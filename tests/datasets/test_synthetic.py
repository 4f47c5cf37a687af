import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxunlearn.datasets import gmm_toy

# Few distinct shapes: each one costs an XLA compilation.
N, D = 20, 3


def test_spec4_defaults_and_moments(rng):
    toy = gmm_toy(rng)
    assert toy.x.shape == (5000, 10) and toy.x.dtype == jnp.float32
    assert toy.y.dtype == jnp.int32
    assert toy.x_forget.shape == (1, 10) and toy.y_forget.tolist() == [0]
    assert toy.means.shape == (2, 10)
    assert float(toy.means.min()) >= 0.0 and float(toy.means.max()) <= 10.0
    x, y = np.asarray(toy.x, np.float64), np.asarray(toy.y)
    np.testing.assert_array_equal(np.bincount(y), [2500, 2500])
    # 2500 points per component, variance 10: the sample mean's sd is
    # sqrt(10 / 2500) = 0.063 (atol 5 sd); the variance's sd is
    # 10 sqrt(2 / 2500) = 0.28 per coordinate, 0.09 over d = 10 (atol 5 sd).
    for k in range(2):
        xk = x[y == k]
        np.testing.assert_allclose(xk.mean(0), toy.means[k], atol=0.32)
        assert abs(xk.var(0).mean() - 10.0) < 0.45


def test_deterministic_keyed_and_fixed_means():
    # Default sizes: reuses the compilation of the test above.
    a = gmm_toy(jax.random.key(3))
    b = gmm_toy(jax.random.key(3))
    c = gmm_toy(jax.random.key(4))
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    assert not np.allclose(a.x, c.x)
    again = gmm_toy(jax.random.key(3), means=a.means)
    for u, v in zip(a, again, strict=True):
        np.testing.assert_array_equal(u, v)


def test_float64(rng, x64):
    toy = gmm_toy(rng, n=N, d=D, dtype=jnp.float64)
    assert toy.x.dtype == jnp.float64 and toy.means.dtype == jnp.float64


def test_errors(rng):
    with pytest.raises(ValueError, match="n: expected an even"):
        gmm_toy(rng, n=11)
    with pytest.raises(ValueError, match="n: expected an integer >= 2"):
        gmm_toy(rng, n=0)
    with pytest.raises(ValueError, match="variance"):
        gmm_toy(rng, n=10, variance=-1.0)
    with pytest.raises(TypeError, match="dtype"):
        gmm_toy(rng, n=10, dtype=jnp.int32)
    with pytest.raises(ValueError, match="means: expected shape"):
        gmm_toy(rng, n=10, means=jnp.zeros((3, 2)))
    with pytest.raises(ValueError, match="mean_low, mean_high"):
        gmm_toy(rng, n=10, mean_low=5.0, mean_high=1.0)
