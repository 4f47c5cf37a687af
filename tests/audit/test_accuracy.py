from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxunlearn.audit import (
    AccuracyReport,
    accuracy,
    accuracy_gap,
    mean_std,
    per_example_loss,
    split_accuracy,
)


class _Split(NamedTuple):
    x_retain: jax.Array
    y_retain: jax.Array
    x_forget: jax.Array
    y_forget: jax.Array
    x_test: jax.Array
    y_test: jax.Array


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_accuracy_known_values_and_dtype(dtype, jit):
    with jax.enable_x64(dtype == "float64"):
        logits = jnp.array([[2.0, 0.0], [0.0, 1.0], [3.0, 1.0]], dtype)
        labels = jnp.array([0, 0, 0])
        out = jit(accuracy)(logits, labels)
        assert out.dtype == jnp.dtype(dtype)
        assert float(out) == pytest.approx(2 / 3)
        w = jnp.array([1.0, 1.0, 0.0], dtype)
        assert float(accuracy(logits, labels, where=w)) == pytest.approx(0.5)


def test_per_example_loss_matches_numpy(rng):
    logits = jax.random.normal(rng, (7, 4))
    labels = jnp.array([0, 1, 2, 3, 0, 1, 2])
    lp = np.asarray(logits, np.float64)
    lp = lp - np.log(np.exp(lp).sum(1, keepdims=True))
    np.testing.assert_allclose(
        per_example_loss(logits, labels),
        -lp[np.arange(7), np.asarray(labels)],
        rtol=1e-5,
    )


def test_split_accuracy_and_gap():
    x = jnp.array([[1.0, 0.0], [0.0, 1.0]])
    split = _Split(
        x, jnp.array([0, 1]), x, jnp.array([1, 1]), x, jnp.array([0, 0])
    )
    rep = split_accuracy(lambda p, x: x * p, jnp.float32(1.0), split)
    assert [float(v) for v in rep] == [1.0, 0.5, 0.5]
    gap = accuracy_gap(rep, AccuracyReport(*(jnp.float32(0.5),) * 3))
    assert [float(v) for v in gap] == [0.5, 0.0, 0.0]


def test_mean_std_matches_numpy(rng):
    v = jax.random.normal(rng, (5, 3))
    m = mean_std({"a": v}, ddof=1)
    np.testing.assert_allclose(m.mean["a"], np.mean(v, 0), rtol=1e-6)
    np.testing.assert_allclose(m.std["a"], np.std(v, 0, ddof=1), rtol=1e-5)


def test_bad_input():
    with pytest.raises(ValueError, match="labels: expected classes"):
        accuracy(jnp.zeros((2, 2)), jnp.array([0, 2]))
    with pytest.raises(TypeError, match="labels"):
        accuracy(jnp.zeros((2, 2)), jnp.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="labels"):
        accuracy(jnp.zeros((2, 2)), jnp.array([0, 1, 1]))
    with pytest.raises(TypeError, match="logits"):
        accuracy(jnp.zeros((2, 2), jnp.int32), jnp.array([0, 1]))
    with pytest.raises(ValueError, match="values"):
        mean_std(jnp.ones((1,)), ddof=1)
