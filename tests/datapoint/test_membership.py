import jax
import jax.flatten_util
import jax.test_util
import jax.numpy as jnp
import numpy as np
import pytest

from jaxunlearn.datapoint import (
    MembershipBatch,
    holdout_membership_mi,
    membership_mi,
    pooled_membership,
    unlearning_loss,
)
from jaxunlearn.datapoint._membership import (
    _anchor_kl,
    _controller_loss,
    _HoldTerms,
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


def test_holdout_mi_equals_pooled_formula(rng, jit):
    k1, k2 = jax.random.split(rng)
    lf = jax.random.normal(k1, (5, 3))
    lh = jax.random.normal(k2, (4, 3)) + jnp.array([[1.0, 0.0, 0.0]])
    got = jit(lambda a, b: holdout_membership_mi(a, b))(lf, lh)
    probs = jax.nn.softmax(jnp.concatenate([lf, lh]))
    z = jnp.array([0] * 5 + [1] * 4, jnp.int32)
    np.testing.assert_allclose(
        got,
        prediction_mi(probs, z, num_groups=2),
        **tolerance("closed", "float32"),
    )
    ref = _numpy_reference(np.asarray(probs), np.asarray(z), 2)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-6)
    # Masks equal dropping rows; identical groups give 0.
    masked = holdout_membership_mi(
        lf,
        lh,
        forget_mask=jnp.array([1, 1, 1, 0, 0], jnp.float32),
        holdout_mask=jnp.array([1, 1, 0, 0], jnp.float32),
    )
    np.testing.assert_allclose(
        masked,
        holdout_membership_mi(lf[:3], lh[:2]),
        **tolerance("closed", "float32"),
    )
    assert float(holdout_membership_mi(lf, lf)) == pytest.approx(0, abs=1e-6)
    assert got.dtype == jnp.float32


def test_controller_loss_explicit_formula(x64, rng):
    apply_fn, params = tiny_model(dtype=jnp.float64)
    b = _batch(rng, dtype=jnp.float64)
    xh = jax.random.normal(jax.random.key(3), (4, 4), jnp.float64)
    lh = apply_fn(params, xh)
    l0 = jax.random.normal(jax.random.key(4), (4, 3), jnp.float64)
    hmask = jnp.array([1.0, 1.0, 1.0, 0.0])
    tw = jnp.where(b.y_retain == 0, 3.0, 1.0)
    hold = _HoldTerms(0.7, 0.3, xh, l0, hmask)
    loss, (aux, _, _) = _controller_loss(
        apply_fn, params, b, 2.0, "retain", tw, hold
    )
    lr, lf = apply_fn(params, b.x_retain), apply_fn(params, b.x_forget)
    ce = -jax.nn.log_softmax(lr)[jnp.arange(7), b.y_retain]
    task = jnp.sum(tw * ce) / jnp.sum(tw)
    mi = membership_mi(lr, lf)  # unweighted retain rows
    mi_h = holdout_membership_mi(lf, lh[:3])
    p0, p = jax.nn.softmax(l0[:3]), jax.nn.softmax(lh[:3])
    kl = np.mean(np.sum(p0 * np.log(p0 / p), axis=1))
    np.testing.assert_allclose(
        loss, task + 2.0 * mi + 0.7 * mi_h + 0.3 * kl, rtol=1e-12
    )
    np.testing.assert_allclose(aux.task_loss, task, rtol=1e-12)
    # Unit weights and no held-out terms: the loss of the paper.
    plain, _ = unlearning_loss(apply_fn, params, b, 2.0)
    for h in (None, _HoldTerms(0.0, 0.0, xh, l0, hmask)):
        base, _ = _controller_loss(
            apply_fn, params, b, 2.0, "retain", jnp.ones((7,)), h
        )
        np.testing.assert_allclose(base, plain, rtol=1e-12)
    # The anchor is 0 at the starting predictions, with zero gradient.
    g = jax.grad(lambda v: _anchor_kl(lh, v, hmask))(lh)
    assert float(_anchor_kl(lh, lh, hmask)) == pytest.approx(0, abs=1e-12)
    assert float(jnp.max(jnp.abs(g))) < 1e-12

    def f(v):
        lf_ = v.reshape(lf.shape)
        return holdout_membership_mi(lf_, lh, holdout_mask=hmask)

    jax.test_util.check_grads(
        f, (lf.ravel(),), order=1, modes=["rev"], eps=1e-6
    )


def test_holdout_mi_bad_input():
    with pytest.raises(ValueError, match="logits_holdout"):
        holdout_membership_mi(jnp.zeros((3, 2)), jnp.zeros((2, 3)))
    with pytest.raises(ValueError, match="holdout_mask"):
        holdout_membership_mi(
            jnp.zeros((3, 2)), jnp.zeros((2, 2)), holdout_mask=[1]
        )
    with pytest.raises(TypeError, match="logits_forget"):
        holdout_membership_mi(jnp.zeros((3, 2), jnp.int32), jnp.zeros((2, 2)))
