import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from jaxunlearn.info import js_divergence, prediction_mi, prediction_mi_direct
from jaxunlearn.info._prediction import (
    _direct_numpy_reference,
    _numpy_reference,
)
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


def test_equals_weighted_js_of_group_means(x64):
    # I = pi-weighted JS divergence between the group means (arXiv:2502.05684).
    k1, k2 = jax.random.split(jax.random.key(5))
    probs = jax.nn.softmax(jax.random.normal(k1, (40, 3), jnp.float64))
    z = jax.random.randint(k2, (40,), 0, 2)
    pi1 = jnp.mean(z.astype(jnp.float64))
    mean0 = jnp.sum(jnp.where(z[:, None] == 0, probs, 0), 0) / (40 * (1 - pi1))
    mean1 = jnp.sum(jnp.where(z[:, None] == 1, probs, 0), 0) / (40 * pi1)
    js = js_divergence(mean0, mean1, jnp.stack([1 - pi1, pi1]))
    np.testing.assert_allclose(
        prediction_mi(probs, z, num_groups=2), js, rtol=1e-10
    )


@pytest.mark.slow
def test_gradient_matches_finite_differences(x64):
    k1, k2 = jax.random.split(jax.random.key(6))
    probs = jax.nn.softmax(jax.random.normal(k1, (8, 3), dtype=jnp.float64))
    z = jax.random.randint(k2, (8,), 0, 2)
    check_grads(
        jax.jit(lambda p: prediction_mi(p, z, num_groups=2)),
        (probs,),
        order=1,
        modes=["rev"],
        **tolerance("grad", "float64"),
    )
    check_grads(
        jax.jit(lambda p: prediction_mi_direct(p[:, :2], z, num_groups=2)),
        (probs,),
        order=1,
        modes=["rev"],
        **tolerance("grad", "float64"),
    )


def test_vmap_over_padded_forget_sets():
    k1, k2 = jax.random.split(jax.random.key(7))
    probs = jax.nn.softmax(jax.random.normal(k1, (3, 12, 4)))
    z = jax.random.randint(k2, (3, 12), 0, 2)
    mask = jnp.arange(12)[None, :] < jnp.array([12, 9, 5])[:, None]
    f = jax.vmap(lambda p, zz, m: prediction_mi(p, zz, num_groups=2, where=m))
    out = f(probs, z, mask)
    loop = [
        prediction_mi(probs[i, :n], z[i, :n], num_groups=2)
        for i, n in enumerate([12, 9, 5])
    ]
    np.testing.assert_allclose(out, loop, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_direct_variant_matches_notebook_formula(dtype, jit):
    with jax.enable_x64(dtype == "float64"):
        k1, k2 = jax.random.split(jax.random.key(8))
        probs = jax.nn.softmax(jax.random.normal(k1, (30, 2), dtype=dtype))
        z = jax.random.randint(k2, (30,), 0, 2)
        out = jit(lambda p, zz: prediction_mi_direct(p, zz, num_groups=2))(
            probs, z
        )
        assert out.dtype == jnp.dtype(dtype)
        np.testing.assert_allclose(
            out,
            _direct_numpy_reference(probs, z, 2),
            **tolerance("closed", dtype),
        )


def test_direct_variant_ignores_which_sample_has_which_z():
    k1, k2 = jax.random.split(jax.random.key(9))
    probs = jax.nn.softmax(3 * jax.random.normal(k1, (20, 2)))
    z = jax.random.randint(k2, (20,), 0, 2)
    perm = jax.random.permutation(jax.random.key(10), 20)
    np.testing.assert_allclose(
        prediction_mi_direct(probs, z),
        prediction_mi_direct(probs, z[perm]),
        rtol=1e-6,
    )
    # A confidence penalty: sharper predictions, larger value.
    sharper = jax.nn.softmax(2 * jnp.log(probs))
    assert float(prediction_mi_direct(sharper, z)) > float(
        prediction_mi_direct(probs, z)
    )
    with pytest.raises(ValueError, match="probs: the direct estimator"):
        prediction_mi_direct(jnp.full((4, 3), 1 / 3), jnp.array([0, 1, 0, 1]))


def test_bad_probabilities():
    z = jnp.array([0, 1, 1])
    with pytest.raises(ValueError, match="probs: expected probabilities summ"):
        prediction_mi(jnp.array([[0.5, 0.6], [0.5, 0.5], [1.0, 0.0]]), z)
    with pytest.raises(ValueError, match="probs: expected non-negative"):
        prediction_mi(jnp.array([[1.5, -0.5], [0.5, 0.5], [1.0, 0.0]]), z)
    with pytest.raises(ValueError, match="probs: expected a non-empty"):
        prediction_mi(jnp.zeros((0, 2)), jnp.zeros((0,), jnp.int32))
    with pytest.raises(ValueError, match="where: expected a finite value"):
        prediction_mi(jnp.full((3, 2), 0.5), z, where=jnp.array([1.0, -1, 1]))
    with pytest.raises(ValueError, match="z: expected non-negative codes"):
        prediction_mi(jnp.full((3, 2), 0.5), jnp.array([0, -1, 1]))
    # Padded rows (where = 0) may hold anything.
    bad_row = jnp.array([[0.5, 0.5], [0.5, 0.5], [7.0, 7.0]])
    out = prediction_mi(bad_row, z, where=jnp.array([1.0, 1.0, 0.0]))
    assert bool(jnp.isfinite(out))
    # Under jit the values are not checked (documented): no error.
    jax.jit(lambda p: prediction_mi(p, z, num_groups=2))(bad_row)


def test_no_retracing_across_calls():
    import chex

    @jax.jit
    @chex.assert_max_traces(n=1)
    def step(p, zz):
        return prediction_mi(p, zz, num_groups=2)

    for seed in range(3):
        k1, k2 = jax.random.split(jax.random.key(seed))
        step(
            jax.nn.softmax(jax.random.normal(k1, (16, 3))),
            jax.random.randint(k2, (16,), 0, 2),
        )
