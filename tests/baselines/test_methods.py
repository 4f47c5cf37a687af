from typing import NamedTuple

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxunlearn.baselines import (
    finetune,
    neggrad,
    neggrad_plus,
    random_labels,
    reinitialize,
    retrain,
    scrub,
    ssd,
)


class _Split(NamedTuple):
    x_retain: jax.Array
    y_retain: jax.Array
    x_forget: jax.Array
    y_forget: jax.Array
    x_test: jax.Array
    y_test: jax.Array


def _apply(p, x):
    h = jax.nn.relu(x @ p["w1"] + p["b1"][None, :])
    return h @ p["w2"] + p["b2"][None, :]


@pytest.fixture(scope="module")
def problem():
    key = jax.random.key(0)
    k1, k2, k3, k4 = jax.random.split(key, 4)
    means = 2.0 * jax.random.normal(k1, (3, 5))
    y = jax.random.randint(k2, (240,), 0, 3)
    x = means[y] + 1.5 * jax.random.normal(k3, (240, 5))
    params = reinitialize(
        {
            "w1": jnp.zeros((5, 16)),
            "b1": jnp.zeros(16),
            "w2": jnp.zeros((16, 3)),
            "b2": jnp.zeros(3),
        },
        key=k4,
    )
    split = _Split(x[20:180], y[20:180], x[:20], y[:20], x[180:], y[180:])
    # "Original": trained on retain and forget.
    full = _Split(x[:180], y[:180], x[:20], y[:20], x[180:], y[180:])
    trained = finetune(
        _apply, params, full, epochs=30, learning_rate=1e-2, key=key
    ).params
    return split, trained


def _loss(params, x, y):
    logp = jax.nn.log_softmax(_apply(params, x))
    return float(-jnp.mean(logp[jnp.arange(y.shape[0]), y]))


def test_neggrad_raises_forget_loss(problem):
    split, params = problem
    out = neggrad(_apply, params, split, epochs=2, key=jax.random.key(1))
    before = _loss(params, split.x_forget, split.y_forget)
    after = _loss(out.params, split.x_forget, split.y_forget)
    assert after > before
    assert out.history.forget_acc.shape == (2,)
    # NegGrad+ ends with a higher forget loss than plain fine-tuning.
    plus = neggrad_plus(_apply, params, split, epochs=2, key=jax.random.key(1))
    ft = finetune(_apply, params, split, epochs=2, key=jax.random.key(1))
    assert _loss(plus.params, split.x_forget, split.y_forget) > _loss(
        ft.params, split.x_forget, split.y_forget
    )


def test_finetune_and_retrain_learn_retain(problem):
    split, params = problem
    ft = finetune(_apply, params, split, epochs=2, key=jax.random.key(2))
    rt = retrain(
        _apply,
        params,
        split,
        epochs=15,
        learning_rate=1e-2,
        key=jax.random.key(2),
    )
    assert float(ft.history.retain_acc[-1]) > 0.8
    assert float(rt.history.retain_acc[-1]) > 0.8
    # The history is measured: it matches a direct evaluation.
    # (on the odd-numbered test rows: the even ones are held out)
    pred = jnp.argmax(_apply(rt.params, split.x_test[1::2]), -1)
    np.testing.assert_allclose(
        rt.history.test_acc[-1],
        jnp.mean(pred == split.y_test[1::2]),
        rtol=1e-6,
    )
    assert int(rt.epochs_run) == 15


def test_random_labels_and_scrub_lower_forget_fit(problem):
    split, params = problem
    before = _loss(params, split.x_forget, split.y_forget)
    rl = random_labels(_apply, params, split, epochs=3, key=jax.random.key(3))
    assert _loss(rl.params, split.x_forget, split.y_forget) > before
    sc = scrub(
        _apply,
        params,
        split,
        epochs=3,
        max_epochs=3,
        learning_rate=1e-2,
        key=jax.random.key(3),
    )
    assert _loss(sc.params, split.x_forget, split.y_forget) > before
    assert float(sc.history.retain_acc[-1]) > 0.7


def test_ssd_dampens_and_is_deterministic(problem):
    split, params = problem
    out = ssd(_apply, params, split, alpha=1.0)
    again = ssd(_apply, params, split, alpha=1.0)
    chex.assert_trees_all_equal(out.params, again.params)
    # Only shrinks, never grows or flips a parameter.
    for a, b in zip(
        jax.tree.leaves(out.params), jax.tree.leaves(params), strict=True
    ):
        assert bool(jnp.all(jnp.abs(a) <= jnp.abs(b) + 1e-7))
        assert bool(jnp.all(a * b >= 0))
    assert any(
        bool(jnp.any(a != b))
        for a, b in zip(
            jax.tree.leaves(out.params), jax.tree.leaves(params), strict=True
        )
    )
    # A huge threshold selects nothing.
    none = ssd(_apply, params, split, alpha=1e12)
    chex.assert_trees_all_close(none.params, params)


def test_inputs_not_mutated_and_traced_once(problem):
    split, params = problem
    copy = jax.tree.map(jnp.array, params)
    finetune(_apply, params, split, epochs=1, key=jax.random.key(4))
    chex.assert_trees_all_equal(copy, params)
    a = finetune(
        _apply,
        params,
        split,
        epochs=1,
        learning_rate=1e-3,
        key=jax.random.key(4),
    )
    b = finetune(
        _apply,
        params,
        split,
        epochs=1,
        learning_rate=1e-3,
        key=jax.random.key(4),
    )
    chex.assert_trees_all_equal(a.params, b.params)


def test_bad_input(problem):
    split, params = problem
    k = jax.random.key(0)
    with pytest.raises(ValueError, match="y_forget"):
        finetune(
            _apply, params, split._replace(y_forget=split.y_forget + 3), key=k
        )
    with pytest.raises(ValueError, match="x_forget"):
        finetune(
            _apply, params, split._replace(x_forget=split.x_forget[:0]), key=k
        )
    with pytest.raises(ValueError, match="epochs"):
        finetune(_apply, params, split, epochs=0, key=k)
    with pytest.raises(ValueError, match="retain_weight"):
        neggrad_plus(_apply, params, split, retain_weight=2.0, key=k)
    with pytest.raises(ValueError, match="alpha"):
        ssd(_apply, params, split, alpha=0.0)
    with pytest.raises(ValueError, match="x_test"):
        finetune(
            _apply, params, split._replace(x_test=split.x_test[:, :2]), key=k
        )
