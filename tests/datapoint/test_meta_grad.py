import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import optax
import pytest

from jaxunlearn.datapoint import make_unlearn_fn, unlearn
from tests.datapoint._problems import tiny_model, tiny_split


def _metric_fn(dtype, remat=True):
    split, _ = tiny_split(n=40, n_forget=4, dtype=dtype)
    apply_fn, params = tiny_model(dtype=dtype)
    fn = make_unlearn_fn(
        apply_fn,
        split,
        epochs=2,
        batch_size=16,
        forget_batch_size=4,
        remat=remat,
    )
    key = jax.random.key(3)

    def metric(gamma, lr):
        out = fn(params, gamma, lr, key)
        logits = apply_fn(out.params, split.x_test)
        ce = optax.softmax_cross_entropy_with_integer_labels(
            logits, split.y_test
        )
        return jnp.mean(ce) + out.history.mi[-1]

    # Compiled: eager evaluation retraces the unrolled scan at every call.
    return jax.jit(metric), (apply_fn, params, split, key)


@pytest.mark.slow
def test_meta_gradient_matches_finite_differences(x64):
    metric, _ = _metric_fn(jnp.float64)
    args = (jnp.float64(2.0), jnp.float64(0.01))
    jax.test_util.check_grads(
        metric, args, order=1, modes=["rev"], eps=1e-5, atol=1e-6, rtol=1e-5
    )


@pytest.mark.slow
def test_remat_does_not_change_gradients(x64):
    m1, _ = _metric_fn(jnp.float64, remat=True)
    m2, _ = _metric_fn(jnp.float64, remat=False)
    g1 = jax.jit(jax.grad(m1, argnums=(0, 1)))(2.0, 0.01)
    g2 = jax.jit(jax.grad(m2, argnums=(0, 1)))(2.0, 0.01)
    np.testing.assert_allclose(g1, g2, rtol=1e-10)


def test_make_unlearn_fn_equals_unlearn():
    metric, (apply_fn, params, split, key) = _metric_fn(jnp.float32)
    fn = make_unlearn_fn(
        apply_fn, split, epochs=2, batch_size=16, forget_batch_size=4
    )
    a = jax.jit(fn)(params, 1.5, 0.01, key)
    b = unlearn(
        apply_fn,
        params,
        split,
        gamma=1.5,
        learning_rate=0.01,
        epochs=2,
        batch_size=16,
        forget_batch_size=4,
        key=key,
    )
    for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)


def test_make_unlearn_fn_bad_input():
    split, _ = tiny_split()
    apply_fn, _ = tiny_model()
    with pytest.raises(ValueError, match="epochs"):
        make_unlearn_fn(apply_fn, split, epochs=0)


def test_gradient_finite_with_dead_parameters():
    # A parameter with zero gradient has Adam second moment 0; the
    # derivative of sqrt there must not poison meta-gradients with NaN.
    split, _ = tiny_split(n=40, n_forget=4)
    apply_fn, params = tiny_model()
    params = {
        **params,
        "dead": jnp.zeros((2,), jnp.float32),
    }

    def f(p, x):
        return apply_fn({k: v for k, v in p.items() if k != "dead"}, x)

    fn = make_unlearn_fn(f, split, epochs=1, batch_size=16, forget_batch_size=4)

    def metric(gamma):
        out = fn(params, gamma, 0.01, jax.random.key(0))
        return jnp.sum(out.params["layers"][0]["kernel"]) + jnp.sum(
            out.params["dead"]
        )

    g = jax.jit(jax.grad(metric))(1.0)
    assert bool(jnp.isfinite(g))
