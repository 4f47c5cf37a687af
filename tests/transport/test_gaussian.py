import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from jax.test_util import check_grads

from jaxunlearn.transport import (
    gaussian_barycenter,
    gaussian_barycenter_cost,
    gaussian_transport_map,
    gaussian_transport_matrix,
    gaussian_w2_squared,
)
from tests.conftest import random_spd, tolerance


def _problem(key, k, d, dtype, cond=10.0):
    keys = jax.random.split(key, k + 2)
    covs = jnp.stack(
        [random_spd(kk, d, cond=cond, dtype=dtype) for kk in keys[:k]]
    )
    means = jax.random.normal(keys[k], (k, d), dtype=dtype)
    weights = jax.random.uniform(keys[k + 1], (k,), dtype=dtype) + 0.1
    return means, covs, weights


def _np_w2(m1, s1, m2, s2):
    r = scipy.linalg.sqrtm(s1)
    cross = np.real(scipy.linalg.sqrtm(r @ s2 @ r))
    return np.sum((m1 - m2) ** 2) + np.trace(s1 + s2 - 2 * cross)


# ------------------------------------------------------------- distance


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_w2_matches_scipy_and_dtype(dtype, rng):
    with jax.enable_x64(dtype == "float64"):
        means, covs, _ = _problem(rng, 2, 4, dtype)
        got = gaussian_w2_squared(means[0], covs[0], means[1], covs[1])
        assert got.dtype == jnp.dtype(dtype)
        want = _np_w2(
            *(
                np.asarray(a, np.float64)
                for a in (means[0], covs[0], means[1], covs[1])
            )
        )
        np.testing.assert_allclose(
            got,
            want,
            **tolerance("closed", dtype)
            if dtype == "float64"
            else {"rtol": 1e-4},
        )
        # Invariants: symmetric, zero on the diagonal.
        back = gaussian_w2_squared(means[1], covs[1], means[0], covs[0])
        np.testing.assert_allclose(
            got, back, rtol=1e-4 if dtype == "float32" else 1e-10
        )
        same = gaussian_w2_squared(means[0], covs[0], means[0], covs[0])
        assert float(same) <= (1e-4 if dtype == "float32" else 1e-10)


def test_w2_commuting_closed_form(x64):
    s1, s2 = jnp.diag(jnp.array([1.0, 4.0])), jnp.diag(jnp.array([9.0, 1.0]))
    m = jnp.zeros(2)
    # sum (sqrt a - sqrt b)^2 = (1-3)^2 + (2-1)^2
    np.testing.assert_allclose(
        gaussian_w2_squared(m, s1, m + 1.0, s2), 2.0 + 5.0, rtol=1e-12
    )


# ------------------------------------------------------------- maps


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_transport_matrix_pushes_forward(dtype, rng, jit):
    with jax.enable_x64(dtype == "float64"):
        _, covs, _ = _problem(rng, 2, 5, dtype)
        a = jit(gaussian_transport_matrix)(covs[0], covs[1])
        assert a.dtype == jnp.dtype(dtype)
        tol = (
            tolerance("closed", dtype)
            if dtype == "float64"
            else {"rtol": 1e-4, "atol": 1e-4}
        )
        np.testing.assert_allclose(a @ covs[0] @ a, covs[1], **tol)
        np.testing.assert_allclose(a, a.T, **tol)
        assert float(jnp.min(jnp.linalg.eigvalsh(a))) > 0
        eye = jit(gaussian_transport_matrix)(covs[0], covs[0])
        np.testing.assert_allclose(
            eye, np.eye(5), atol=1e-4 if dtype == "float32" else 1e-10
        )


def test_transport_map_cost_equals_w2(x64, rng):
    # E||X - T(X)||^2 = W2^2 for X ~ N(m1, S1), computed in closed form:
    # ||m1 - m2||^2 + tr((I - A) S1 (I - A)).
    means, covs, _ = _problem(rng, 2, 4, "float64")
    a = gaussian_transport_matrix(covs[0], covs[1])
    eye = jnp.eye(4)
    cost = jnp.sum((means[0] - means[1]) ** 2) + jnp.trace(
        (eye - a) @ covs[0] @ (eye - a)
    )
    np.testing.assert_allclose(
        cost,
        gaussian_w2_squared(means[0], covs[0], means[1], covs[1]),
        rtol=1e-10,
    )
    x = jax.random.normal(rng, (7, 4), dtype=jnp.float64)
    y = gaussian_transport_map(x, means[0], covs[0], means[1], covs[1])
    np.testing.assert_allclose(
        y, means[1][None, :] + (x - means[0][None, :]) @ a, rtol=1e-12
    )
    # vmap over points == batch call.
    yv = jax.vmap(
        lambda p: gaussian_transport_map(
            p, means[0], covs[0], means[1], covs[1]
        )
    )(x)
    np.testing.assert_allclose(yv, y, rtol=1e-12)


# ------------------------------------------------------------- barycenter


def test_barycenter_1d_closed_form(x64):
    sig = jnp.array([1.0, 3.0, 0.5])
    w = jnp.array([0.2, 0.5, 0.3])
    means = jnp.array([[1.0], [-2.0], [4.0]])
    out = gaussian_barycenter(means, (sig**2)[:, None, None], w)
    assert bool(out.converged)
    np.testing.assert_allclose(jnp.sqrt(out.cov[0, 0]), w @ sig, rtol=1e-10)
    np.testing.assert_allclose(out.mean, w @ means, rtol=1e-12)


def test_barycenter_commuting_closed_form(x64, rng):
    q, _ = jnp.linalg.qr(jax.random.normal(rng, (4, 4), dtype=jnp.float64))
    eigs = jnp.array(
        [[1.0, 2.0, 3.0, 4.0], [9.0, 0.5, 1.0, 2.0], [0.1, 5.0, 2.0, 1.0]]
    )
    covs = jnp.einsum("ij,kj,lj->kil", q, eigs, q)
    w = jnp.array([0.5, 0.3, 0.2])
    out = gaussian_barycenter(jnp.zeros((3, 4)), covs, w)
    sqrt_bar = jnp.einsum("ij,j,lj->il", q, w @ jnp.sqrt(eigs), q)
    np.testing.assert_allclose(
        out.cov, sqrt_bar @ sqrt_bar, rtol=1e-9, atol=1e-10
    )


def test_barycenter_identical_groups_identity(x64, rng):
    cov = random_spd(rng, 3, dtype=jnp.float64)
    out = gaussian_barycenter(
        jnp.ones((3, 3)), jnp.stack([cov] * 3), jnp.array([1.0, 2.0, 3.0])
    )
    np.testing.assert_allclose(out.cov, cov, rtol=1e-10, atol=1e-12)
    a = gaussian_transport_matrix(cov, out.cov)
    np.testing.assert_allclose(a, np.eye(3), atol=1e-9)
    assert int(out.n_iters) <= 2


def test_barycenter_fixed_point_equation_and_maps(x64, rng):
    means, covs, w = _problem(rng, 3, 5, "float64")
    out = gaussian_barycenter(means, covs, w)
    w = w / w.sum()
    r = scipy.linalg.sqrtm(np.asarray(out.cov))
    rhs = sum(
        wz * np.real(scipy.linalg.sqrtm(r @ np.asarray(s) @ r))
        for wz, s in zip(w, covs, strict=True)
    )
    np.testing.assert_allclose(out.cov, rhs, rtol=1e-9, atol=1e-10)
    # A_z S_z A_z = S_bar for every group.
    for s in covs:
        a = gaussian_transport_matrix(s, out.cov)
        np.testing.assert_allclose(a @ s @ a, out.cov, rtol=1e-9, atol=1e-10)
    # The barycenter minimizes the barycentric cost.
    v = gaussian_barycenter_cost(means, covs, out.mean, out.cov, w)
    for eps in (1e-3, -1e-3):
        worse = gaussian_barycenter_cost(
            means, covs, out.mean + eps, out.cov * (1 + eps), w
        )
        assert float(worse) > float(v)


@pytest.mark.parametrize(("k", "d"), [(4, 6)])
def test_barycenter_matches_pot_nonuniform(x64, rng, k, d):
    ot = pytest.importorskip("ot")
    means, covs, w = _problem(rng, k, d, "float64", cond=20.0)
    w = w / w.sum()
    out = gaussian_barycenter(means, covs, w)
    mb, cb = ot.gaussian.bures_wasserstein_barycenter(
        np.asarray(means),
        np.asarray(covs),
        np.asarray(w),
        num_iter=5000,
        eps=1e-13,
    )
    np.testing.assert_allclose(out.mean, mb, atol=1e-9)
    np.testing.assert_allclose(out.cov, cb, atol=1e-9)
    # Weights are renormalized.
    scaled = gaussian_barycenter(means, covs, 7.0 * w)
    np.testing.assert_allclose(scaled.cov, out.cov, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_barycenter_dtype_and_jit(dtype, rng, jit):
    with jax.enable_x64(dtype == "float64"):
        means, covs, w = _problem(rng, 3, 4, dtype)
        out = jit(gaussian_barycenter)(means, covs, w)
        ref = gaussian_barycenter(means, covs, w)
        assert out.cov.dtype == jnp.dtype(
            dtype
        ) and out.mean.dtype == jnp.dtype(dtype)
        assert bool(out.converged)
        np.testing.assert_allclose(
            out.cov, ref.cov, **tolerance("iterative", dtype)
        )
        assert not bool(out.near_singular)


def test_barycenter_vmap_matches_loop(x64, rng):
    keys = jax.random.split(rng, 4)
    probs = [_problem(kk, 3, 3, "float64") for kk in keys]
    means, covs, w = (jnp.stack(p) for p in zip(*probs, strict=True))
    batched = jax.vmap(gaussian_barycenter)(means, covs, w)
    assert batched.cov.shape == (4, 3, 3) and batched.converged.shape == (4,)
    for i in range(4):
        single = gaussian_barycenter(means[i], covs[i], w[i])
        np.testing.assert_allclose(
            batched.cov[i], single.cov, rtol=1e-10, atol=1e-12
        )


def test_barycenter_no_recompilation(rng):
    means, covs, w = _problem(rng, 2, 3, "float32")

    @jax.jit
    @chex.assert_max_traces(n=1)
    def solve(means, covs, w, tol):
        return gaussian_barycenter(means, covs, w, tol=tol).cov

    solve(means, covs, w, 1e-5)
    solve(means + 1.0, covs * 2.0, w[::-1], 1e-4)  # new values, new tol
    chex.clear_trace_counter()


@pytest.mark.slow
def test_barycenter_gradients_implicit(x64, rng):
    means, covs, w = _problem(rng, 2, 3, "float64")

    def f(means, covs, w):
        covs = 0.5 * (covs + jnp.swapaxes(covs, -1, -2))
        out = gaussian_barycenter(means, covs, w, tol=1e-14)
        return jnp.sum(out.cov * jnp.arange(9.0).reshape(3, 3)) + jnp.sum(
            out.mean**2
        )

    check_grads(
        f,
        (means, covs, w),
        order=1,
        modes=["rev"],
        **{"atol": 1e-6, "rtol": 1e-5},
    )
    g = jax.grad(lambda c: gaussian_w2_squared(means[0], c, means[1], covs[1]))(
        covs[0]
    )
    assert np.all(np.isfinite(g))


def test_barycenter_singular_works_and_flagged(x64, rng):
    v = jax.random.normal(rng, (3, 4), dtype=jnp.float64)
    singular = v.T @ v  # rank 3 in d = 4
    cov2 = random_spd(jax.random.key(1), 4, dtype=jnp.float64)
    out = gaussian_barycenter(jnp.zeros((2, 4)), jnp.stack([singular, cov2]))
    assert bool(out.near_singular)
    assert float(out.min_eigenvalue_ratio) < 1e-12
    assert np.all(np.isfinite(out.cov)) and bool(out.converged)


def test_barycenter_reports_non_convergence(rng):
    means, covs, w = _problem(rng, 3, 4, "float32", cond=100.0)
    out = gaussian_barycenter(means, covs, w, tol=0.0, max_iter=2)
    assert not bool(out.converged) and int(out.n_iters) == 2


# ------------------------------------------------------------- bad input


def test_bad_inputs():
    m, s = jnp.zeros((2, 3)), jnp.stack([jnp.eye(3)] * 2)
    with pytest.raises(ValueError, match="covs"):
        gaussian_barycenter(m, s[:, :, :2])  # non-square
    with pytest.raises(ValueError, match="covs"):
        gaussian_barycenter(m, jnp.stack([jnp.eye(4)] * 2))  # mismatched d
    with pytest.raises(ValueError, match="covs"):
        gaussian_barycenter(m, s.at[0, 0, 1].set(1.0))  # non-symmetric
    with pytest.raises(TypeError, match="means"):
        gaussian_barycenter(jnp.zeros((2, 3), jnp.int32), s)
    with pytest.raises(ValueError, match="weights"):
        gaussian_barycenter(m, s, jnp.ones(3))
    with pytest.raises(ValueError, match="weights"):
        gaussian_barycenter(m, s, jnp.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="weights"):
        gaussian_barycenter(m, s, jnp.zeros(2))
    with pytest.raises(ValueError, match="means"):
        gaussian_barycenter(m.at[0, 0].set(jnp.nan), s)
    with pytest.raises(ValueError, match="max_iter"):
        gaussian_barycenter(m, s, max_iter=0)
    with pytest.raises(ValueError, match="cov2"):
        gaussian_w2_squared(m[0], s[0], m[1], jnp.eye(2))
    with pytest.raises(ValueError, match="x"):
        gaussian_transport_map(jnp.zeros((5, 2)), m[0], s[0], m[1], s[1])
    with pytest.raises(ValueError, match="cov_source"):
        gaussian_transport_matrix(jnp.ones((2, 3)), jnp.eye(2))
