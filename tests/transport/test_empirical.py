"""Exact and entropic couplings, projections, McCann points, barycenters."""

import warnings

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment, linprog

from jaxunlearn import transport
from tests.conftest import tolerance


def _cost(x, y):
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    return ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)


def _lp_cost(x, y, a, b):
    """Optimal transport cost by scipy's LP solver (independent reference)."""
    c = _cost(x, y)
    n, m = c.shape
    rows = np.kron(np.eye(n), np.ones(m))
    cols = np.kron(np.ones(n), np.eye(m))
    res = linprog(
        c.ravel(),
        A_eq=np.vstack([rows, cols]),
        b_eq=np.concatenate([a, b]),
        bounds=(0, None),
        method="highs",
    )
    return res.fun


def test_permutation_case_exact_map(rng):
    x = jax.random.normal(rng, (7, 3))
    perm = np.array([3, 0, 6, 1, 5, 2, 4])
    y = x[perm] + 1e-3
    pi = transport.exact_coupling(x, y)
    # Reference: the assignment problem (uniform, n = m).
    r, c = linear_sum_assignment(_cost(x, y))
    dense = transport.sparse_to_dense(pi, 7, 7)
    np.testing.assert_allclose(dense, np.eye(7)[c] / 7, atol=1e-7)
    inv = np.argsort(perm)
    np.testing.assert_array_equal(np.asarray(pi.cols), inv)
    proj = transport.barycentric_projection(pi, y, 7)
    np.testing.assert_allclose(proj, x + 1e-3, **tolerance("closed", "float32"))


def test_nonuniform_weights_against_linprog(x64):
    key = jax.random.key(1)
    kx, ky, ka, kb = jax.random.split(key, 4)
    x = jax.random.normal(kx, (5, 2), jnp.float64)
    y = jax.random.normal(ky, (4, 2), jnp.float64)
    a = jax.random.uniform(ka, (5,), jnp.float64) + 0.1
    b = jax.random.uniform(kb, (4,), jnp.float64) + 0.1
    pi = transport.exact_coupling(x, y, a, b)
    an, bn = np.asarray(a / a.sum()), np.asarray(b / b.sum())
    assert pi.mass.dtype == jnp.float64
    np.testing.assert_allclose(
        pi.cost, _lp_cost(x, y, an, bn), rtol=1e-9, atol=1e-12
    )
    dense = np.asarray(transport.sparse_to_dense(pi, 5, 4))
    np.testing.assert_allclose(dense.sum(1), an, atol=1e-12)
    np.testing.assert_allclose(dense.sum(0), bn, atol=1e-12)
    assert pi.mass.shape[0] <= 5 + 4 - 1
    assert np.all(np.diff(np.asarray(pi.rows)) >= 0)


def test_float32_preserved(rng):
    x = jax.random.normal(rng, (4, 2))
    pi = transport.exact_coupling(x, x + 1.0)
    assert pi.mass.dtype == jnp.float32 and pi.cost.dtype == jnp.float32


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"y": np.zeros((3, 3), np.float32)}, "columns like x"),
        ({"a": np.ones(5, np.float32)}, "expected 4 sample weights"),
        ({"a": -np.ones(4, np.float32)}, "non-negative"),
        ({"x": np.zeros(4, np.float32)}, "rank 2"),
    ],
)
def test_exact_bad_input(kwargs, match):
    args = {"x": np.zeros((4, 2), np.float32), "y": np.ones((3, 2), np.float32)}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        transport.exact_coupling(**args)


def test_exact_integer_points_rejected():
    with pytest.raises(TypeError, match="float"):
        transport.exact_coupling(np.zeros((2, 1), int), np.ones((2, 1), int))


def _dense_entropic(x, y, out):
    c = _cost(x, y)
    f, g = np.asarray(out.f, np.float64), np.asarray(out.g, np.float64)
    return np.exp((f[:, None] + g[None, :] - c) / float(out.epsilon))


def test_entropic_against_ott_and_marginals(x64):
    with warnings.catch_warnings():
        # OTT-JAX imports the unmaintained jaxopt, which warns on import.
        warnings.simplefilter("ignore", DeprecationWarning)
        from ott.geometry import pointcloud
        from ott.problems.linear import linear_problem
        from ott.solvers.linear import sinkhorn

    key = jax.random.key(2)
    kx, ky = jax.random.split(key)
    x = jax.random.normal(kx, (9, 2), jnp.float64)
    y = jax.random.normal(ky, (6, 2), jnp.float64) + 0.5
    b = jnp.linspace(1.0, 2.0, 6, dtype=jnp.float64)
    ours = transport.entropic_coupling(
        x, y, b=b, epsilon=0.1, batch_size=4, threshold=1e-10
    )
    assert bool(ours.converged)
    geom = pointcloud.PointCloud(x, y, epsilon=0.1)
    # OTT-JAX relies on implicit rank promotion, which the test config bans.
    with (
        jax.numpy_rank_promotion("allow"),
        jax.numpy_dtype_promotion("standard"),
    ):
        ref = sinkhorn.Sinkhorn(threshold=1e-10, max_iterations=5000)(
            linear_problem.LinearProblem(geom, b=b / b.sum())
        )
        ref_matrix = np.asarray(ref.matrix)
    plan = _dense_entropic(x, y, ours)
    np.testing.assert_allclose(plan, ref_matrix, atol=1e-8)
    np.testing.assert_allclose(plan.sum(1), np.full(9, 1 / 9), atol=1e-9)
    np.testing.assert_allclose(plan.sum(0), b / b.sum(), atol=1e-9)


def test_entropic_batch_invariant_and_map(rng):
    kx, ky = jax.random.split(rng)
    x = jax.random.normal(kx, (12, 3))
    y = jax.random.normal(ky, (10, 3))
    full = transport.entropic_coupling(x, y, epsilon=0.5, batch_size=None)
    blocked = transport.entropic_coupling(x, y, epsilon=0.5, batch_size=3)
    tol = tolerance("iterative", "float32")
    np.testing.assert_allclose(full.f, blocked.f, **tol)
    np.testing.assert_allclose(full.g, blocked.g, **tol)
    # At fitted points the entropic map is the barycentric projection.
    plan = _dense_entropic(x, y, full)
    proj = plan @ np.asarray(y, np.float64) / plan.sum(1, keepdims=True)
    mapped = transport.entropic_map(x, y, full, batch_size=5)
    np.testing.assert_allclose(mapped, proj, rtol=1e-4, atol=1e-4)


def test_entropic_small_epsilon_approaches_exact(rng):
    x = jax.random.normal(rng, (6, 2))
    y = x[::-1] + 0.01
    out = transport.entropic_coupling(
        x, y, epsilon=1e-3, batch_size=None, threshold=1e-5
    )
    mapped = transport.entropic_map(x, y, out)
    exact = transport.barycentric_projection(
        transport.exact_coupling(x, y), y, 6
    )
    np.testing.assert_allclose(mapped, exact, atol=1e-3)


def test_entropic_bad_epsilon():
    x = np.zeros((3, 1), np.float32)
    with pytest.raises(ValueError, match="epsilon"):
        transport.entropic_coupling(x, x, epsilon=-1.0)


def test_entropic_logits_no_retrace(rng):
    y = jax.random.normal(rng, (5, 2))
    fn = jax.jit(chex.assert_max_traces(transport.entropic_logits, n=1))
    for s in range(3):
        fn(jnp.full((2,), float(s)), y, jnp.zeros(5), jnp.float32(0.1))


def test_mccann_points(rng):
    x = jax.random.normal(rng, (4, 2))
    y = x[::-1] * 2.0
    pi = transport.exact_coupling(x, y)
    np.testing.assert_allclose(
        transport.mccann_points(x, y, pi, 0.0), x[pi.rows]
    )
    np.testing.assert_allclose(
        transport.mccann_points(x, y, pi, 1.0), y[pi.cols]
    )
    mid = transport.mccann_points(x, y, pi, 0.25)
    np.testing.assert_allclose(
        mid, 0.75 * x[pi.rows] + 0.25 * y[pi.cols], rtol=1e-6
    )
    with pytest.raises(ValueError, match=r"t: expected values in \[0, 1\]"):
        transport.mccann_points(x, y, pi, 1.5)


def test_free_support_barycenter_1d_quantiles(rng):
    keys = jax.random.split(rng, 3)
    xs = [
        jax.random.normal(k, (6, 1)) * (z + 1) + z for z, k in enumerate(keys)
    ]
    w = jnp.array([0.2, 0.3, 0.5])
    bary = transport.free_support_barycenter(
        xs, weights=w, num_atoms=6, key=jax.random.key(3)
    )
    # In 1-D the barycenter of equal-size uniform laws averages the sorted
    # samples (quantile averaging).
    expect = sum(
        float(w[z]) * np.sort(np.asarray(xs[z])[:, 0]) for z in range(3)
    )
    got = np.sort(np.asarray(bary.atoms)[:, 0])
    np.testing.assert_allclose(got, expect, rtol=1e-5, atol=1e-5)
    assert bary.converged
    for pi in bary.couplings:
        dense = np.asarray(transport.sparse_to_dense(pi, 6, 6))
        np.testing.assert_allclose(dense.sum(0), np.full(6, 1 / 6), atol=1e-6)


def test_free_support_barycenter_bad_input():
    xs = [np.zeros((3, 2), np.float32), np.zeros((3, 1), np.float32)]
    with pytest.raises(ValueError, match="columns like xs"):
        transport.free_support_barycenter(
            xs, num_atoms=2, key=jax.random.key(0)
        )
    with pytest.raises(ValueError, match="expected 2 weights"):
        transport.free_support_barycenter(
            [np.zeros((3, 2), np.float32)] * 2,
            weights=jnp.ones(3),
            num_atoms=2,
            key=jax.random.key(0),
        )
