import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special
import scipy.stats
from jax.test_util import check_grads

from jaxunlearn.info import (
    conditional_energy,
    conditional_entropy,
    entropy,
    entropy_from_logits,
    js_divergence,
    kl_divergence,
    mutual_information,
)
from tests.conftest import tolerance


def _probs(key, shape, dtype="float32"):
    return jax.nn.softmax(jax.random.normal(key, shape, dtype=dtype) * 2)


def _joint(key, shape=(3, 4), dtype="float32"):
    j = jax.random.uniform(key, shape, dtype=dtype)
    return j / jnp.sum(j, axis=(-2, -1), keepdims=True)


# ---------------------------------------------------------------- values


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_entropy_matches_scipy(dtype, jit):
    with jax.enable_x64(dtype == "float64"):
        p = _probs(jax.random.key(0), (5, 7), dtype)
        p = p.at[0, 0].set(0.0)
        p = p / jnp.sum(p, axis=-1, keepdims=True)
        out = jit(entropy)(p)
        assert out.dtype == jnp.dtype(dtype)
        ref = scipy.stats.entropy(np.asarray(p, np.float64), axis=-1)
        np.testing.assert_allclose(out, ref, **tolerance("closed", dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_entropy_from_logits_matches_probs(dtype, jit):
    with jax.enable_x64(dtype == "float64"):
        logits = jax.random.normal(jax.random.key(1), (4, 6), dtype=dtype)
        out = jit(entropy_from_logits)(logits)
        assert out.dtype == jnp.dtype(dtype)
        ref = scipy.stats.entropy(
            scipy.special.softmax(np.asarray(logits, np.float64), -1), axis=-1
        )
        np.testing.assert_allclose(out, ref, **tolerance("closed", dtype))


def test_entropy_from_logits_neg_inf_and_mask():
    logits = jnp.array([0.0, 0.0, -jnp.inf])
    assert float(entropy_from_logits(logits)) == pytest.approx(np.log(2))
    g = jax.grad(lambda v: entropy_from_logits(v))(logits)
    assert bool(jnp.all(jnp.isfinite(g)))
    masked = entropy_from_logits(
        jnp.array([0.0, 0.0, 5.0]), where=jnp.array([True, True, False])
    )
    assert float(masked) == pytest.approx(np.log(2), rel=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_kl_matches_rel_entr(dtype, jit):
    with jax.enable_x64(dtype == "float64"):
        k1, k2 = jax.random.split(jax.random.key(2))
        p, q = _probs(k1, (3, 5), dtype), _probs(k2, (3, 5), dtype)
        out = jit(kl_divergence)(p, q)
        assert out.dtype == jnp.dtype(dtype)
        ref = scipy.special.rel_entr(
            np.asarray(p, np.float64), np.asarray(q, np.float64)
        ).sum(-1)
        np.testing.assert_allclose(out, ref, **tolerance("closed", dtype))
        np.testing.assert_allclose(
            out,
            scipy.stats.entropy(np.asarray(p), np.asarray(q), axis=-1),
            **tolerance("closed", dtype),
        )


def test_kl_support_conventions():
    p = jnp.array([0.5, 0.5, 0.0])
    q = jnp.array([0.5, 0.0, 0.5])
    assert float(kl_divergence(p, q)) == np.inf
    assert float(kl_divergence(q[::-1], jnp.array([0.25, 0.25, 0.5]))) >= 0
    # p = 0 where q = 0: finite, as in rel_entr.
    np.testing.assert_allclose(
        kl_divergence(jnp.array([1.0, 0.0]), jnp.array([0.5, 0.5])),
        np.log(2),
        rtol=1e-6,
    )


def test_kl_invariants():
    k1, k2 = jax.random.split(jax.random.key(3))
    p, q = _probs(k1, (20, 4)), _probs(k2, (20, 4))
    assert bool(jnp.all(kl_divergence(p, q) >= 0))
    np.testing.assert_allclose(kl_divergence(p, p), 0.0, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_js_matches_entropy_form(dtype, jit):
    with jax.enable_x64(dtype == "float64"):
        k1, k2 = jax.random.split(jax.random.key(4))
        p, q = _probs(k1, (6, 5), dtype), _probs(k2, (6, 5), dtype)
        w = np.array([0.3, 0.7])
        out = jit(js_divergence)(p, q, jnp.asarray(w, dtype))
        assert out.dtype == jnp.dtype(dtype)
        pn, qn = np.asarray(p, np.float64), np.asarray(q, np.float64)
        m = w[0] * pn + w[1] * qn
        H = lambda a: scipy.stats.entropy(a, axis=-1)  # noqa: N806
        ref = H(m) - w[0] * H(pn) - w[1] * H(qn)
        np.testing.assert_allclose(out, ref, **tolerance("closed", dtype))
        assert bool(jnp.all(out <= scipy.stats.entropy(w) + 1e-6))


def test_js_symmetric_with_equal_weights_and_extremes():
    k1, k2 = jax.random.split(jax.random.key(5))
    p, q = _probs(k1, (4, 3)), _probs(k2, (4, 3))
    np.testing.assert_allclose(
        js_divergence(p, q), js_divergence(q, p), rtol=1e-6
    )
    disjoint = js_divergence(jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0]))
    assert float(disjoint) == pytest.approx(np.log(2), rel=1e-6)
    np.testing.assert_allclose(js_divergence(p, p), 0.0, atol=1e-7)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_table_quantities_against_numpy(dtype, jit):
    with jax.enable_x64(dtype == "float64"):
        j = _joint(jax.random.key(6), (3, 4), dtype).at[0, 1].set(0.0)
        j = j / jnp.sum(j)
        jn = np.asarray(j, np.float64)
        pa, pb = jn.sum(1), jn.sum(0)
        H = lambda a: scipy.stats.entropy(a.ravel())  # noqa: N806
        tol = tolerance("closed", dtype)
        mi = jit(mutual_information)(j)
        ce = jit(conditional_entropy)(j)
        en = jit(conditional_energy)(j)
        for out in (mi, ce, en):
            assert out.dtype == jnp.dtype(dtype)
        np.testing.assert_allclose(mi, H(pa) + H(pb) - H(jn), **tol)
        np.testing.assert_allclose(ce, H(jn) - H(pb), **tol)
        cond = jn / pb[None, :]  # P(a | b), columns sum to 1
        np.testing.assert_allclose(en, pb @ np.sum(cond**2, axis=0), **tol)


def test_table_invariants():
    j = _joint(jax.random.key(7), (4, 3))
    np.testing.assert_allclose(
        mutual_information(j), mutual_information(j.T), rtol=1e-5
    )
    indep = jnp.outer(jnp.array([0.2, 0.8]), jnp.array([0.1, 0.6, 0.3]))
    np.testing.assert_allclose(mutual_information(indep), 0.0, atol=1e-6)
    # H(A|B) = H(A) under independence; energy = sum P_a^2.
    np.testing.assert_allclose(
        conditional_entropy(indep), entropy(jnp.array([0.2, 0.8])), rtol=1e-5
    )
    np.testing.assert_allclose(conditional_energy(indep), 0.68, rtol=1e-5)
    # A a function of B: H(A|B) = 0, energy 1; I = H(A).
    func = jnp.array([[0.3, 0.0, 0.2], [0.0, 0.5, 0.0]])
    np.testing.assert_allclose(conditional_entropy(func), 0.0, atol=1e-7)
    np.testing.assert_allclose(conditional_energy(func), 1.0, rtol=1e-6)
    np.testing.assert_allclose(
        mutual_information(func), entropy(jnp.array([0.5, 0.5])), rtol=1e-5
    )
    # Energy bounds: sum P_a^2 <= E <= 1.
    e = conditional_energy(j)
    pa = jnp.sum(j, axis=1)
    assert float(jnp.sum(pa**2)) - 1e-6 <= float(e) <= 1 + 1e-6


# ------------------------------------------------- batching, masks, grads


def test_vmap_equals_loop():
    j = jax.vmap(lambda k: _joint(k))(jax.random.split(jax.random.key(8), 3))
    for fn in (mutual_information, conditional_entropy, conditional_energy):
        one = jax.jit(fn)
        loop = [one(j[i]) for i in range(3)]
        np.testing.assert_allclose(jax.vmap(fn)(j), loop, rtol=1e-6)
        np.testing.assert_allclose(fn(j), loop, rtol=1e-6)  # batch axes
    p = _probs(jax.random.key(9), (3, 4))
    one = jax.jit(entropy)
    np.testing.assert_allclose(
        jax.vmap(entropy)(p), [one(p[i]) for i in range(3)], rtol=1e-6
    )


def test_axis_argument():
    p = _probs(jax.random.key(10), (4, 3))
    np.testing.assert_allclose(entropy(p.T, axis=0), entropy(p), rtol=1e-6)
    q = _probs(jax.random.key(11), (4, 3))
    np.testing.assert_allclose(
        kl_divergence(p.T, q.T, axis=0), kl_divergence(p, q), rtol=1e-6
    )


def test_where_mask_equals_dropping_entries():
    p = jnp.array([[0.2, 0.3, 0.5, 0.9], [0.1, 0.1, 0.8, 0.4]])
    q = jnp.array([[0.5, 0.25, 0.25, 0.0], [0.3, 0.3, 0.4, 0.7]])
    mask = jnp.array([True, True, True, False])
    np.testing.assert_allclose(
        entropy(p, where=mask), entropy(p[:, :3]), rtol=1e-6
    )
    np.testing.assert_allclose(
        kl_divergence(p, q, where=mask),
        kl_divergence(p[:, :3], q[:, :3]),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        js_divergence(p, q, where=mask),
        js_divergence(p[:, :3], q[:, :3]),
        rtol=1e-6,
    )
    j = jnp.array([[0.3, 0.2, 9.0], [0.1, 0.4, 9.0]])
    jm = jnp.array([[True, True, False], [True, True, False]])
    for fn in (mutual_information, conditional_entropy, conditional_energy):
        np.testing.assert_allclose(fn(j, where=jm), fn(j[:, :2]), rtol=1e-6)


@pytest.mark.slow
def test_gradients_match_finite_differences(x64):
    k1, k2 = jax.random.split(jax.random.key(12))
    p = _probs(k1, (3,), "float64")
    q = _probs(k2, (3,), "float64")
    j = _joint(k1, (2, 3), "float64")
    kw = dict(order=1, modes=["rev"], **tolerance("grad", "float64"))
    # Finite differences step off the simplex: under jit the value checks
    # are skipped (documented), so wrap each function in jax.jit.
    check_grads(jax.jit(entropy), (p,), **kw)
    check_grads(jax.jit(entropy_from_logits), (jnp.log(p),), **kw)
    check_grads(jax.jit(kl_divergence), (p, q), **kw)
    check_grads(jax.jit(js_divergence), (p, q), **kw)
    for fn in (mutual_information, conditional_entropy, conditional_energy):
        check_grads(jax.jit(fn), (j,), **kw)


def test_gradients_finite_at_boundary():
    p = jnp.array([1.0, 0.0, 0.0])
    q = jnp.array([0.5, 0.5, 0.0])
    j = jnp.array([[0.5, 0.0], [0.0, 0.5]])
    for g in (
        jax.grad(entropy)(p),
        jax.grad(kl_divergence, argnums=(0, 1))(p, q),
        jax.grad(js_divergence, argnums=(0, 1))(p, q),
        jax.grad(mutual_information)(j),
        jax.grad(conditional_entropy)(j),
        jax.grad(conditional_energy)(j),
    ):
        for leaf in jax.tree.leaves(g):
            assert bool(jnp.all(jnp.isfinite(leaf)))


# --------------------------------------------------------------- bad input


def test_bad_input():
    good = jnp.array([0.5, 0.5])
    with pytest.raises(
        ValueError, match="probs: expected probabilities summing"
    ):
        entropy(jnp.array([0.5, 0.6]))
    with pytest.raises(ValueError, match="probs: expected non-negative"):
        entropy(jnp.array([1.5, -0.5]))
    with pytest.raises(ValueError, match="probs: expected finite"):
        entropy(jnp.array([jnp.nan, 1.0]))
    with pytest.raises(ValueError, match="probs: expected a non-empty"):
        entropy(jnp.zeros((0,)))
    with pytest.raises(TypeError, match="probs: expected a float"):
        entropy(jnp.array([1, 0]))
    with pytest.raises(ValueError, match="axis"):
        entropy(good, axis=3)
    with pytest.raises(ValueError, match="where: expected a mask"):
        entropy(good, where=jnp.array([True, False, True]))
    with pytest.raises(ValueError, match="q: expected shape"):
        kl_divergence(good, jnp.array([0.2, 0.3, 0.5]))
    with pytest.raises(ValueError, match="q: expected probabilities"):
        kl_divergence(good, jnp.array([0.2, 0.3]))
    with (
        pytest.raises(TypeError, match="expected arrays of one floating"),
        jax.enable_x64(True),
    ):
        kl_divergence(good, jnp.array([0.5, 0.5], jnp.float64))
    with pytest.raises(ValueError, match="weights: expected 2 weights"):
        js_divergence(good, good, jnp.array([0.2, 0.3, 0.5]))
    with pytest.raises(ValueError, match="weights: expected non-negative"):
        js_divergence(good, good, jnp.array([-0.2, 1.2]))
    with pytest.raises(ValueError, match="joint: expected an array of rank"):
        mutual_information(good)
    with pytest.raises(ValueError, match="joint: expected probabilities"):
        conditional_entropy(jnp.ones((2, 2)))


def test_jit_skips_value_checks_and_uses_values_as_given():
    # Documented behaviour: no renormalisation under jit.
    p = jnp.array([0.5, 0.6])
    out = jax.jit(entropy)(p)
    expected = -(0.5 * np.log(0.5) + 0.6 * np.log(0.6))
    assert float(out) == pytest.approx(expected, rel=1e-6)
