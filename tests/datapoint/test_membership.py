import jax
import jax.flatten_util
import jax.test_util
import jax.numpy as jnp
import numpy as np
import pytest

from jaxunlearn.datapoint import (
    MembershipBatch,
    membership_mi,
    pooled_membership,
    unlearning_loss,
)
from jaxunlearn.info import prediction_mi
from jaxunlearn.info._prediction import _numpy_reference
from tests.conftest import tolerance
from tests.datapoint._problems import tiny_model


def _batch(key, b=7, f=3, d=4, dtype=jnp.float32):
    k1, k2 = jax.random.split(key)
    xr = jax.random.normal(k1, (b, d), dtype)
    xf = jax.random.normal(k2, (f, d), dtype) + 1.0
    return MembershipBatch(
        xr,
        jnp.arange(b, dtype=jnp.int32) % 3,
        jnp.ones((b,), dtype),
        xf,
        jnp.zeros((f,), jnp.int32),
        jnp.ones((f,), dtype),
    )


def test_cheap_form_equals_pooled_batch(rng, jit):
    apply_fn, params = tiny_model()
    batch = _batch(rng)
    cheap = jit(
        lambda p: membership_mi(
            apply_fn(p, batch.x_retain), apply_fn(p, batch.x_forget)
        )
    )(params)
    x, z = pooled_membership(batch.x_retain, batch.x_forget)
    probs = jax.nn.softmax(apply_fn(params, x))
    pooled = prediction_mi(probs, z, num_groups=2)
    np.testing.assert_allclose(cheap, pooled, **tolerance("closed", "float32"))
    # pi_1 = b / (2b + f)
    assert float(jnp.mean(z)) == pytest.approx(7 / 17)
    ref = _numpy_reference(np.asarray(probs), np.asarray(z), 2)
    # float32 against a float64 reference: a few float32 ulps of the table.
    np.testing.assert_allclose(cheap, ref, rtol=1e-4, atol=1e-6)


def test_masks_equal_dropping_rows(rng):
    apply_fn, params = tiny_model()
    b = _batch(rng)
    lr, lf = apply_fn(params, b.x_retain), apply_fn(params, b.x_forget)
    mr = jnp.array([1, 1, 1, 1, 1, 0, 0], jnp.float32)
    mf = jnp.array([1, 1, 0], jnp.float32)
    masked = membership_mi(lr, lf, retain_mask=mr, forget_mask=mf)
    dropped = membership_mi(lr[:5], lf[:2])
    np.testing.assert_allclose(
        masked, dropped, **tolerance("closed", "float32")
    )


def test_invariants(rng):
    apply_fn, params = tiny_model()
    b = _batch(rng)
    lr = apply_fn(params, b.x_retain)
    # Same mean prediction on forget and retain: zero.
    assert float(membership_mi(lr, lr)) == pytest.approx(0.0, abs=1e-6)
    mi = membership_mi(lr, apply_fn(params, b.x_forget))
    assert float(mi) > 0
    # Upper bound H(Z) = binary entropy of pi.
    pi = 7 / 17
    assert float(mi) <= -(pi * np.log(pi) + (1 - pi) * np.log(1 - pi))


def test_loss_and_grad_x64(x64, rng):
    apply_fn, params = tiny_model(dtype=jnp.float64)
    b = _batch(rng, dtype=jnp.float64)
    loss, aux = unlearning_loss(apply_fn, params, b, 2.0)
    assert loss.dtype == jnp.float64
    np.testing.assert_allclose(loss, aux.task_loss + 2.0 * aux.mi, rtol=1e-12)
    flat, unravel = jax.flatten_util.ravel_pytree(params)

    @jax.jit
    def f(v):
        return unlearning_loss(apply_fn, unravel(v), b, 2.0)[0]

    jax.test_util.check_grads(f, (flat,), order=1, modes=["rev"], eps=1e-6)


def test_utility_all_includes_forget(rng):
    apply_fn, params = tiny_model()
    b = _batch(rng)
    _, r = unlearning_loss(apply_fn, params, b, 0.0, utility="retain")
    _, a = unlearning_loss(apply_fn, params, b, 0.0, utility="all")
    lr, lf = apply_fn(params, b.x_retain), apply_fn(params, b.x_forget)
    import optax

    ce = optax.softmax_cross_entropy_with_integer_labels
    ref = jnp.mean(jnp.concatenate([ce(lr, b.y_retain), ce(lf, b.y_forget)]))
    np.testing.assert_allclose(a.task_loss, ref, rtol=1e-5)
    assert float(r.task_loss) != pytest.approx(float(a.task_loss))


def test_float32_stays_float32(rng):
    apply_fn, params = tiny_model()
    b = _batch(rng)
    assert (
        membership_mi(
            apply_fn(params, b.x_retain), apply_fn(params, b.x_forget)
        ).dtype
        == jnp.float32
    )


def test_bad_input():
    with pytest.raises(ValueError, match="logits_forget"):
        membership_mi(jnp.zeros((3, 2)), jnp.zeros((2, 3)))
    with pytest.raises(ValueError, match="retain_mask"):
        membership_mi(jnp.zeros((3, 2)), jnp.zeros((2, 2)), retain_mask=[1])
    with pytest.raises(TypeError, match="logits_retain"):
        membership_mi(jnp.zeros((3, 2), jnp.int32), jnp.zeros((2, 2)))
    with pytest.raises(ValueError, match="utility"):
        unlearning_loss(
            lambda p, x: x,
            None,
            _batch(jax.random.key(0)),
            1.0,
            utility="forget",
        )
    with pytest.raises(ValueError, match="x_forget"):
        pooled_membership(jnp.zeros((2, 3)), jnp.zeros((2, 4)))
