import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxunlearn.datapoint import (
    MembershipBatch,
    fit_classifier,
    init_train_state,
    make_train_step,
    masked_permutation,
    unlearning_loss,
)
from tests.datapoint._problems import blobs, tiny_model


def _batch(x, y):
    one = jnp.ones((x.shape[0],), x.dtype)
    return MembershipBatch(x[:8], y[:8], one[:8], x[8:12], y[8:12], one[8:12])


def test_step_decreases_loss_and_no_retrace(rng):
    apply_fn, params = tiny_model()
    x, y = blobs(rng, n=12)
    batch = _batch(x, y)
    step = jax.jit(chex.assert_max_traces(make_train_step(apply_fn), n=1))
    state = init_train_state(params)
    l0 = unlearning_loss(apply_fn, params, batch, 0.5)[0]
    for _ in range(5):
        state, aux = step(state, batch, 0.5, 0.05)
    assert int(state.step) == 5
    l1 = unlearning_loss(apply_fn, state.params, batch, 0.5)[0]
    assert float(l1) < float(l0)
    # Inputs untouched (fresh arrays).
    l0b = unlearning_loss(apply_fn, params, batch, 0.5)[0]
    assert float(l0b) == float(l0)


def test_step_matches_optax_adam(rng):
    import optax

    apply_fn, params = tiny_model()
    x, y = blobs(rng, n=12)
    batch = _batch(x, y)
    g = jax.grad(lambda p: unlearning_loss(apply_fn, p, batch, 1.0)[0])(params)
    # optax's Adam needs standard promotion (float ** int32 count).
    with jax.numpy_dtype_promotion("standard"):
        opt = optax.adam(0.01)
        ref = params
        s = opt.init(params)
        for _ in range(2):
            upd, s = opt.update(g, s, ref)
            ref = optax.apply_updates(ref, upd)
    state = init_train_state(params)
    for _ in range(2):
        state = _fixed_grad_step(state, g)
    chex.assert_trees_all_close(state.params, ref, rtol=1e-5, atol=1e-7)


def _fixed_grad_step(state, g):
    from jaxunlearn.datapoint._train import _ADAM_DESCENT, _apply_update

    return _apply_update(_ADAM_DESCENT, state, g, jnp.float32(0.01))


def test_masked_permutation_padding_invariant(rng):
    mask = jnp.array([1, 1, 1, 1, 1], jnp.float32)
    padded = jnp.array([1, 1, 1, 1, 1, 0, 0, 0], jnp.float32)
    a = masked_permutation(rng, mask)
    b = masked_permutation(rng, padded)
    np.testing.assert_array_equal(a, b[:5])
    assert sorted(np.asarray(a).tolist()) == [0, 1, 2, 3, 4]


def test_fit_classifier_learns(rng):
    apply_fn, params = tiny_model()
    x, y = blobs(rng, n=60)
    out = fit_classifier(
        apply_fn,
        params,
        x,
        y,
        epochs=20,
        batch_size=16,
        learning_rate=0.05,
        key=rng,
    )
    acc = jnp.mean(jnp.argmax(apply_fn(out.params, x), -1) == y)
    assert float(acc) > 0.9
    assert out.loss.shape == (20,)
    assert float(out.loss[-1]) < float(out.loss[0])


def test_fit_classifier_mask_equals_subset(rng):
    apply_fn, params = tiny_model()
    x, y = blobs(rng, n=30)
    w = (jnp.arange(30) < 20).astype(jnp.float32)
    a = fit_classifier(
        apply_fn, params, x, y, epochs=2, batch_size=8, key=rng, where=w
    )
    b = fit_classifier(
        apply_fn, params, x[:20], y[:20], epochs=2, batch_size=8, key=rng
    )
    chex.assert_trees_all_close(a.params, b.params, rtol=1e-5, atol=1e-6)


def test_fit_bad_input(rng):
    apply_fn, params = tiny_model()
    x, y = blobs(rng, n=10)
    kw = {"epochs": 1, "batch_size": 4, "key": rng}
    with pytest.raises(ValueError, match="epochs"):
        fit_classifier(apply_fn, params, x, y, **{**kw, "epochs": 0})
    with pytest.raises(ValueError, match="y: expected labels"):
        fit_classifier(apply_fn, params, x, y + 5, **kw)
    with pytest.raises(ValueError, match="x: the model cannot take"):
        fit_classifier(apply_fn, params, x[:, :3], y, **kw)
    with pytest.raises(ValueError, match="y: expected shape"):
        fit_classifier(apply_fn, params, x, y[:5], **kw)


def _argsort_permutation(key, mask):
    # The definition: a stable argsort of per-row draws, padding keyed 2.0.
    u = jax.vmap(lambda i: jax.random.uniform(jax.random.fold_in(key, i)))(
        jnp.arange(mask.shape[0])
    )
    return jnp.argsort(jnp.where(mask > 0, u, 2.0)).astype(jnp.int32)


def test_masked_permutation_equals_argsort_definition(rng):
    # masked_permutation (shared draws, one scatter per mask) must equal the
    # sort definition, alone and vmapped over requests and seeds.
    masks = (jax.random.uniform(rng, (3, 4, 40)) < 0.7).astype(jnp.float32)
    masks = masks.at[0, 0].set(1.0).at[1, 0].set(0.0)
    keys = jax.random.split(jax.random.fold_in(rng, 1), 4)
    for m in masks[:, 0]:
        np.testing.assert_array_equal(
            masked_permutation(keys[0], m), _argsort_permutation(keys[0], m)
        )

    def both(fn):
        return jax.vmap(lambda m: jax.vmap(fn)(keys, m))(masks)

    np.testing.assert_array_equal(
        both(masked_permutation), both(_argsort_permutation)
    )


def test_fit_classifier_traced_inside_jit_with_closed_over_labels():
    # The label check runs on the host; a jax array's own min would be
    # staged (and fail to concretize) when an enclosing jit closes over y.
    x, y = blobs(jax.random.key(0))
    apply_fn, params = tiny_model()

    @jax.jit
    def fit(p):
        out = fit_classifier(
            apply_fn, p, x, y, epochs=1, batch_size=16, key=jax.random.key(1)
        )
        return out.loss

    loss = fit(params)
    assert np.all(np.isfinite(np.asarray(loss)))
