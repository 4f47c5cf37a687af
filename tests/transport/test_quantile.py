import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxunlearn.transport import (
    QuantileFunction,
    empirical_quantile_function,
    quantile_barycenter,
    quantile_transport_map,
)


def _stack(rows, where=None):
    rows = jnp.asarray(rows)
    if where is None:
        return jax.vmap(empirical_quantile_function)(rows)
    return jax.vmap(empirical_quantile_function)(rows, jnp.asarray(where))


def _atoms(q):
    mass = np.diff(np.asarray(q.levels))
    keep = mass > 0
    return np.asarray(q.values)[keep], mass[keep]


def test_empirical_quantile_function_masked():
    q = empirical_quantile_function(
        jnp.array([3.0, 1.0, 7.0, 2.0]), jnp.array([1, 1, 0, 1])
    )
    assert int(q.count) == 3
    np.testing.assert_allclose(q.values[:3], [1.0, 2.0, 3.0])
    assert np.isinf(q.values[3])
    np.testing.assert_allclose(q.levels, [0, 1 / 3, 2 / 3, 1, 1])


def test_barycenter_equal_sizes_is_weighted_sorted_average():
    a = jnp.array([[3.0, 0.0, 1.0], [10.0, 30.0, 20.0]])
    w = jnp.array([0.25, 0.75])
    values, mass = _atoms(quantile_barycenter(_stack(a), w))
    want = 0.25 * np.sort(a[0]) + 0.75 * np.sort(a[1])
    np.testing.assert_allclose(values, want, rtol=1e-6)
    np.testing.assert_allclose(mass, [1 / 3] * 3, rtol=1e-6)


def test_barycenter_unequal_sizes_minimizes_cost_pot(x64):
    # Exact 1-D barycenter: sum_z w_z W2^2(mu_z, nu) is minimal at nu = bar,
    # with W2 computed independently by POT.
    ot = pytest.importorskip("ot")
    rs = np.random.RandomState(0)
    g0, g1 = rs.randn(5), rs.randn(7) * 2 + 1
    rows = np.zeros((2, 7))
    rows[0, :5], rows[1] = g0, g1
    where = np.zeros((2, 7), bool)
    where[0, :5], where[1] = True, True
    w = np.array([0.3, 0.7])
    bar = quantile_barycenter(_stack(rows, where), jnp.asarray(w))
    values, mass = _atoms(bar)
    np.testing.assert_allclose(mass.sum(), 1.0, rtol=1e-12)

    def cost(v, m):
        return sum(
            wz
            * ot.wasserstein_1d(
                g, v, u_weights=np.full(len(g), 1 / len(g)), v_weights=m, p=2
            )
            for wz, g in zip(w, (g0, g1), strict=True)
        )

    best = cost(values, mass)
    # Closed form of the optimum: sum_z w_z int |F_z^-1 - F_bar^-1|^2 du.
    for shift in (np.full(len(values), 1e-2), rs.randn(len(values)) * 1e-2):
        assert cost(np.sort(values + shift), mass) > best


def test_map_identity_for_identical_groups_and_to_barycenter(rng):
    x = jnp.array([[0.0, 1.0, 5.0, 2.0], [0.0, 1.0, 5.0, 2.0]])
    q = _stack(x)
    src = jax.tree.map(lambda a: a[0], q)
    out = quantile_transport_map(x[0], src, q, jnp.array([0.4, 0.6]), key=rng)
    np.testing.assert_allclose(out, x[0])


def test_map_pushes_group_onto_exact_barycenter():
    # Continuous data, different sizes: the randomized transform maps each
    # group's atoms onto barycenter atoms, in the barycenter's proportions.
    g0 = jnp.arange(4.0)  # n = 4
    g1 = 10.0 + jnp.arange(2.0)  # n = 2
    rows = jnp.stack([g0, jnp.pad(g1, (0, 2))])
    where = jnp.array([[1, 1, 1, 1], [1, 1, 0, 0]], bool)
    q = _stack(rows, where)
    bar = quantile_barycenter(q)
    src = jax.tree.map(lambda a: a[0], q)
    reps = 4000
    x = jnp.tile(g0, reps)
    out = quantile_transport_map(x, src, q, key=jax.random.key(1))
    values, mass = _atoms(bar)
    got_vals, got_counts = np.unique(np.asarray(out), return_counts=True)
    np.testing.assert_allclose(got_vals, values, rtol=1e-6)
    # Binomial proportions: atol = 4 sigma with sigma <= 0.5 / sqrt(n).
    np.testing.assert_allclose(
        got_counts / len(x), mass, atol=4 * 0.5 / np.sqrt(len(x))
    )


def test_ties_randomized_make_groups_indistinguishable():
    # Binary column, different rates: a deterministic map would send all
    # zeros of group 0 to one value and of group 1 to another.
    rs = np.random.RandomState(0)
    g0 = (rs.rand(300) < 0.2).astype(np.float32)
    g1 = (rs.rand(300) < 0.7).astype(np.float32)
    q = _stack(np.stack([g0, g1]))
    outs = []
    for i, g in enumerate((g0, g1)):
        src = jax.tree.map(lambda a, i=i: a[i], q)
        outs.append(
            np.asarray(
                quantile_transport_map(
                    jnp.asarray(g), src, q, key=jax.random.key(i)
                )
            )
        )
    vals, mass = _atoms(quantile_barycenter(q))
    # The barycenter's atoms sit on a level grid: merge equal values.
    bar_vals = np.unique(vals)
    bar_mass = np.array([mass[vals == v].sum() for v in bar_vals])
    assert len(bar_vals) == 3  # 0, 1/2 and 1
    for o in outs:
        for v, m in zip(bar_vals, bar_mass, strict=True):
            # Monte-Carlo: atol = 4 sqrt(m (1-m) / n).
            assert (
                abs(np.mean(o == v) - m)
                < 4 * np.sqrt(m * (1 - m) / len(o)) + 1e-6
            )


def test_map_unseen_values_interpolate_and_extrapolate():
    src = empirical_quantile_function(jnp.array([0.0, 1.0]))
    tgt = _stack(jnp.array([[10.0, 20.0]]))
    out = quantile_transport_map(jnp.array([0.5, 0.25, -1.0, 3.0]), src, tgt)
    np.testing.assert_allclose(out, [15.0, 12.5, 9.0, 22.0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_map_dtype_jit_reproducible(dtype, jit):
    with jax.enable_x64(dtype == "float64"):
        rows = jnp.array(
            [[0.0, 1.0, 1.0, 3.0], [2.0, 2.0, 5.0, 6.0]], dtype=dtype
        )
        q = _stack(rows)
        src = jax.tree.map(lambda a: a[0], q)
        x = jnp.array([1.0, 1.0, 0.5, 7.0], dtype=dtype)
        out = jit(quantile_transport_map)(
            x, src, q, jnp.array([1.0, 3.0], dtype=dtype)
        )
        again = quantile_transport_map(
            x, src, q, jnp.array([1.0, 3.0], dtype=dtype)
        )
        assert out.dtype == jnp.dtype(dtype)
        np.testing.assert_allclose(out, again)  # key None = fixed default
        bar = jit(quantile_barycenter)(q)
        assert bar.values.dtype == jnp.dtype(dtype)


def test_vmap_matches_loop():
    rows = jnp.array(
        [[[0.0, 1.0, 2.0], [1.0, 3.0, 4.0]], [[5.0, 1.0, 0.0], [2.0, 2.0, 9.0]]]
    )
    qs = jax.vmap(_stack)(rows)
    bars = jax.vmap(quantile_barycenter)(qs)
    for i in range(2):
        single = quantile_barycenter(_stack(rows[i]))
        np.testing.assert_allclose(bars.values[i], single.values)


def test_no_recompilation():
    @jax.jit
    @chex.assert_max_traces(n=1)
    def f(rows, x):
        q = jax.vmap(empirical_quantile_function)(rows)
        src = jax.tree.map(lambda a: a[0], q)
        return quantile_transport_map(x, src, q)

    f(jnp.ones((2, 3)), jnp.zeros(4))
    f(jnp.arange(6.0).reshape(2, 3), jnp.ones(4))
    chex.clear_trace_counter()


def test_bad_inputs():
    with pytest.raises(TypeError, match="samples"):
        empirical_quantile_function(jnp.array([1, 2]))
    with pytest.raises(ValueError, match="samples"):
        empirical_quantile_function(jnp.array([1.0, jnp.nan]))
    with pytest.raises(ValueError, match="samples"):
        empirical_quantile_function(jnp.zeros((0,)))
    q = _stack(jnp.ones((2, 3)))
    with pytest.raises(ValueError, match="weights"):
        quantile_barycenter(q, jnp.ones(3))
    with pytest.raises(ValueError, match="weights"):
        quantile_barycenter(q, jnp.array([-1.0, 2.0]))
    with pytest.raises(TypeError, match="targets"):
        quantile_barycenter((q.values, q.levels))
    src = jax.tree.map(lambda a: a[0], q)
    with pytest.raises(ValueError, match="x"):
        quantile_transport_map(jnp.array([jnp.inf]), src, q)
    assert isinstance(src, QuantileFunction)
