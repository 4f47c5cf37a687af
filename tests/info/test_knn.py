import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.feature_selection import mutual_info_regression
from sklearn.preprocessing import scale

from jaxunlearn.info import kl_entropy, ksg_mutual_information
from tests.conftest import tolerance


def _pair(n, rho, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    y = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    return x, y


def test_ksg_matches_sklearn(x64):
    # Same estimator (KSG algorithm 1, k = 3). sklearn rescales to unit
    # variance and adds 1e-10 jitter; we feed it pre-scaled data so both see
    # (almost) the same points; the jitter only matters at exact ties.
    x, y = _pair(400, 0.7)
    xs = scale(x.reshape(-1, 1))[:, 0]
    ys = scale(y, with_mean=False)
    ref = mutual_info_regression(
        xs.reshape(-1, 1), ys, n_neighbors=3, random_state=0
    )[0]
    ours = ksg_mutual_information(jnp.asarray(xs), jnp.asarray(ys), k=3)
    np.testing.assert_allclose(ours, ref, rtol=1e-6)


def test_ksg_gaussian_closed_form(jit):
    # Monte-Carlo check: at n = 2000 the KSG estimate of a bivariate normal
    # has a standard deviation of about 0.012 nats (Kraskov et al. 2004,
    # fig. 4) and a bias below 0.01 for k = 3; atol = 0.05 is > 4 sigma.
    rho = 0.6
    x, y = _pair(2000, rho, seed=1)
    f = jit(lambda a, b: ksg_mutual_information(a, b))
    out = f(jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32))
    assert out.dtype == jnp.float32
    np.testing.assert_allclose(out, -0.5 * np.log(1 - rho**2), atol=0.05)
    indep = f(
        jnp.asarray(x, jnp.float32),
        jnp.asarray(_pair(2000, 0.0, seed=2)[1], jnp.float32),
    )
    assert abs(float(indep)) < 0.03


def test_ksg_multivariate_blocks():
    # I(X; Y) for X = (g1, g2), Y = g1 + noise: depends only on g1.
    rng = np.random.default_rng(3)
    g = rng.standard_normal((1500, 2))
    y = g[:, :1] + rng.standard_normal((1500, 1))
    out = ksg_mutual_information(jnp.asarray(g), jnp.asarray(y))
    # rho^2 = 1/2: I = log(2) / 2 = 0.347; bias grows with dimension.
    np.testing.assert_allclose(out, 0.5 * np.log(2), atol=0.06)


def test_kl_entropy_gaussian_closed_form(jit):
    # d = 2, n = 2000, k = 3: sd about 0.03 nats; atol 0.12 > 4 sigma.
    cov = np.array([[1.0, 0.5], [0.5, 2.0]])
    x = np.random.default_rng(4).multivariate_normal([0, 0], cov, size=2000)
    out = jit(lambda a: kl_entropy(a))(jnp.asarray(x, jnp.float32))
    h = 0.5 * np.log(np.linalg.det(2 * np.pi * np.e * cov))
    np.testing.assert_allclose(out, h, atol=0.12)


def test_block_size_does_not_change_result():
    x, y = _pair(103, 0.5, seed=5)
    x, y = jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32)
    a = ksg_mutual_information(x, y, block_size=7)
    b = ksg_mutual_information(x, y, block_size=512)
    assert float(a) == float(b)
    np.testing.assert_allclose(
        kl_entropy(x, block_size=10), kl_entropy(x, block_size=200), rtol=1e-6
    )


def test_ties_are_exact():
    # Duplicated x values: counts use strict inequality with exact ties.
    x = jnp.array([0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0])
    y = jnp.arange(8.0)
    assert bool(jnp.isfinite(ksg_mutual_information(x, y, k=2)))


def test_vmap_over_datasets():
    xs = jax.random.normal(jax.random.key(6), (3, 200, 1))
    ys = xs + jax.random.normal(jax.random.key(7), (3, 200, 1))
    batched = jax.vmap(ksg_mutual_information)(xs, ys)
    one = jax.jit(ksg_mutual_information)
    np.testing.assert_allclose(
        batched,
        [one(xs[i], ys[i]) for i in range(3)],
        **tolerance("closed", "float32"),
    )


def test_bad_input():
    x = jnp.zeros((10, 1))
    with pytest.raises(ValueError, match="k: expected k < n"):
        kl_entropy(x, k=10)
    with pytest.raises(TypeError, match="k: expected an integer"):
        kl_entropy(x, k=2.0)
    with pytest.raises(ValueError, match="y: expected 10 samples"):
        ksg_mutual_information(x, jnp.zeros((9, 1)))
    with pytest.raises(TypeError, match="x: expected a float"):
        ksg_mutual_information(jnp.zeros((10, 1), jnp.int32), x)
    with pytest.raises(ValueError, match="x: expected an array of rank"):
        kl_entropy(jnp.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="x: expected finite"):
        kl_entropy(jnp.full((10, 1), jnp.nan))


def test_dtype_preserved(x64):
    x, y = _pair(50, 0.5, seed=8)
    out = ksg_mutual_information(jnp.asarray(x), jnp.asarray(y))
    assert out.dtype == jnp.float64
    assert kl_entropy(jnp.asarray(x)).dtype == jnp.float64


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_tree_path_matches_brute_force(dtype):
    # The host k-d tree and the blocked brute force are the same estimator;
    # ties in the data (rounded values) exercise the multiplicity rules. The
    # tree measures distances in float64, so the reference for float32 input
    # is brute force in float64 on the same (float32-rounded) points.
    rng = np.random.default_rng(3)
    x = rng.standard_normal((600, 2))
    y = x[:, :1] * 0.5 + rng.standard_normal((600, 1))
    x[::7] = np.round(x[::7], 1)
    x = x.astype(dtype).astype(np.float64)
    y = y.astype(dtype).astype(np.float64)
    # Same neighbour counts; float32 only rounds the final digamma means.
    rtol = 1e-9 if dtype == jnp.float64 else 3e-5
    with jax.enable_x64(True):
        a, b = jnp.asarray(x, dtype), jnp.asarray(y, dtype)
        a64, b64 = jnp.asarray(x), jnp.asarray(y)
        for k in (1, 3, 5):
            tree = ksg_mutual_information(a, b, k=k, method="tree")
            brute = ksg_mutual_information(a64, b64, k=k, method="brute")
            assert tree.dtype == dtype
            np.testing.assert_allclose(float(tree), float(brute), rtol=rtol)
            np.testing.assert_allclose(
                float(kl_entropy(a, k=k, method="tree")),
                float(kl_entropy(a64, k=k, method="brute")),
                rtol=rtol,
            )


def test_tree_path_matches_sklearn(x64):
    x, y = _pair(3000, 0.6, seed=5)
    xs = scale(x.reshape(-1, 1))[:, 0]
    ys = scale(y, with_mean=False)
    ref = mutual_info_regression(
        xs.reshape(-1, 1), ys, n_neighbors=3, random_state=0
    )[0]
    ours = ksg_mutual_information(jnp.asarray(xs), jnp.asarray(ys))
    np.testing.assert_allclose(ours, ref, rtol=1e-6)


def test_auto_uses_brute_force_under_transformations():
    # Under jit / grad the tree is not reachable; "auto" must still work and
    # agree with the eager (tree) call.
    x, y = _pair(300, 0.5, seed=2)
    a, b = jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32)
    eager = ksg_mutual_information(a, b)
    jitted = jax.jit(ksg_mutual_information)(a, b)
    np.testing.assert_allclose(eager, jitted, rtol=1e-5)
    g = jax.grad(lambda v: kl_entropy(v[:, None]))(a)
    assert bool(jnp.all(jnp.isfinite(g)))


def test_bad_method():
    x = jnp.zeros((10, 1))
    with pytest.raises(ValueError, match="method"):
        kl_entropy(x, method="kdtree")
    with pytest.raises(ValueError, match="method"):
        jax.jit(lambda v: ksg_mutual_information(v, v, method="tree"))(x)
