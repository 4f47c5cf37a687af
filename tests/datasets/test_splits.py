import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxunlearn.datasets import (
    forget_class_fraction,
    forget_indices,
    forget_random,
    train_test_split,
)


@pytest.fixture
def data():
    x = jnp.arange(60, dtype=jnp.float32).reshape(20, 3)
    y = jnp.arange(20, dtype=jnp.int32) % 4
    x_test = jnp.ones((5, 3), jnp.float32)
    y_test = jnp.array([0, 1, 2, 3, 0], jnp.int32)
    return x, y, x_test, y_test


def _check_partition(split, x, y):
    n = x.shape[0]
    r, f = np.asarray(split.retain_indices), np.asarray(split.forget_indices)
    assert r.dtype == np.int32 and f.dtype == np.int32
    assert np.all(np.diff(r) > 0) and np.all(np.diff(f) > 0)
    assert np.intersect1d(r, f).size == 0
    np.testing.assert_array_equal(np.union1d(r, f), np.arange(n))
    np.testing.assert_array_equal(split.x_retain, np.asarray(x)[r])
    np.testing.assert_array_equal(split.x_forget, np.asarray(x)[f])
    np.testing.assert_array_equal(split.y_retain, np.asarray(y)[r])
    np.testing.assert_array_equal(split.y_forget, np.asarray(y)[f])
    assert split.y_retain.dtype == jnp.int32
    assert split.x_retain.dtype == x.dtype


def test_forget_class_fraction(data, rng):
    x, y, x_test, y_test = data
    s = forget_class_fraction(rng, x, y, x_test, y_test, cls=3, fraction=0.6)
    _check_partition(s, x, y)
    assert s.num_classes == 4
    assert s.x_forget.shape == (3, 3)  # round(0.6 * 5)
    np.testing.assert_array_equal(s.y_forget, 3)
    assert int(jnp.sum(s.y_retain == 3)) == 2
    np.testing.assert_array_equal(s.x_test, x_test)
    s2 = forget_class_fraction(rng, x, y, x_test, y_test, cls=3, fraction=0.6)
    np.testing.assert_array_equal(s.forget_indices, s2.forget_indices)


def test_forget_class_fraction_spec4_count():
    # 75% of the 6,131 training threes of MNIST is 4,598.
    y = np.zeros(6200, np.int32)
    y[:6131] = 3
    s = forget_class_fraction(
        jax.random.key(1),
        np.zeros((6200, 1), np.float32),
        y,
        None,
        None,
        cls=3,
        fraction=0.75,
    )
    assert s.forget_indices.shape == (4598,)
    assert s.x_test.shape == (0, 1)


def test_keyed_determinism_and_variety(data):
    x, y, x_test, y_test = data
    splits = [
        forget_random(jax.random.key(k), x, y, x_test, y_test, 6)
        for k in (0, 0, 1)
    ]
    for s in splits:
        _check_partition(s, x, y)
    np.testing.assert_array_equal(
        splits[0].forget_indices, splits[1].forget_indices
    )
    assert not np.array_equal(
        splits[0].forget_indices, splits[2].forget_indices
    )


def test_forget_random_uniform():
    # Each row is forgotten with probability k / n; check the counts over
    # 400 keyed draws (binomial sd sqrt(400 * 0.3 * 0.7) = 9.2; 5 sd).
    x = np.zeros((10, 1), np.float32)
    y = np.zeros(10, np.int32)
    counts = np.zeros(10)
    for k in range(400):
        s = forget_random(jax.random.key(k), x, y, None, None, 3)
        counts[np.asarray(s.forget_indices)] += 1
    np.testing.assert_allclose(counts, 120, atol=5 * 9.2)


def test_forget_indices(data):
    x, y, x_test, y_test = data
    s = forget_indices(x, y, x_test, y_test, [7, 2])
    _check_partition(s, x, y)
    np.testing.assert_array_equal(s.forget_indices, [2, 7])
    single = forget_indices(x, y, None, None, jnp.array([5]))
    assert single.x_forget.shape == (1, 3)
    assert single.x_test.shape == (0, 3)


@pytest.mark.parametrize(
    ("indices", "error", "match"),
    [
        ([], ValueError, "indices: expected at least one"),
        ([0, 20], ValueError, r"indices: expected indices in \[0, 20\)"),
        ([-1], ValueError, "indices: expected indices in"),
        ([3, 3], ValueError, "indices: expected distinct"),
        (list(range(20)), ValueError, "indices: forgetting all"),
        ([0.5], TypeError, "indices: expected integer"),
    ],
)
def test_forget_indices_errors(data, indices, error, match):
    x, y, x_test, y_test = data
    with pytest.raises(error, match=match):
        forget_indices(x, y, x_test, y_test, indices)


def test_input_errors(data, rng):
    x, y, x_test, y_test = data
    with pytest.raises(ValueError, match="y: expected 20 labels"):
        forget_random(rng, x, y[:5], x_test, y_test, 2)
    with pytest.raises(TypeError, match="y: expected an integer"):
        forget_random(rng, x, y.astype(jnp.float32), x_test, y_test, 2)
    with pytest.raises(ValueError, match="x_test: expected rows of shape"):
        forget_random(rng, x, y, jnp.ones((5, 2)), y_test, 2)
    with pytest.raises(ValueError, match="x_test, y_test: expected both"):
        forget_random(rng, x, y, x_test, None, 2)
    with pytest.raises(ValueError, match="n_forget: expected fewer"):
        forget_random(rng, x, y, x_test, y_test, 20)
    with pytest.raises(ValueError, match="n_forget: expected an integer >= 1"):
        forget_random(rng, x, y, x_test, y_test, 0)
    with pytest.raises(TypeError, match="key: expected a PRNG key"):
        forget_random(0, x, y, x_test, y_test, 2)
    with pytest.raises(ValueError, match="num_classes: expected more"):
        forget_random(rng, x, y, x_test, y_test, 2, num_classes=3)
    with pytest.raises(ValueError, match="y: expected labels >= 0"):
        forget_random(rng, x, y - 1, x_test, y_test, 2)
    with pytest.raises(ValueError, match="cls: class 7 has no"):
        forget_class_fraction(rng, x, y, x_test, y_test, 7, 0.5)
    with pytest.raises(ValueError, match=r"fraction: expected a value in \(0"):
        forget_class_fraction(rng, x, y, x_test, y_test, 1, 1.5)
    with pytest.raises(ValueError, match="rounds to no row"):
        forget_class_fraction(rng, x, y, x_test, y_test, 1, 0.01)


def test_num_classes_explicit(data, rng):
    x, y, x_test, y_test = data
    s = forget_random(rng, x, y, x_test, y_test, 2, num_classes=10)
    assert s.num_classes == 10


@pytest.mark.parametrize("stratify", [False, True])
def test_train_test_split(rng, stratify):
    x = jnp.arange(100, dtype=jnp.float32).reshape(50, 2)
    y = jnp.concatenate([jnp.zeros(40, jnp.int32), jnp.ones(10, jnp.int32)])
    s = train_test_split(rng, x, y, test_fraction=0.2, stratify=stratify)
    tr, te = np.asarray(s.train_indices), np.asarray(s.test_indices)
    assert te.size == 10 and tr.size == 40
    np.testing.assert_array_equal(np.union1d(tr, te), np.arange(50))
    np.testing.assert_array_equal(s.x_test, np.asarray(x)[te])
    np.testing.assert_array_equal(s.y_train, np.asarray(y)[tr])
    if stratify:
        assert int(s.y_test.sum()) == 2  # 20% of the 10 ones
    again = train_test_split(rng, x, y, test_fraction=0.2, stratify=stratify)
    np.testing.assert_array_equal(again.test_indices, s.test_indices)
    with pytest.raises(ValueError, match="test_fraction: expected a value"):
        train_test_split(rng, x, y, test_fraction=1.0)
    with pytest.raises(ValueError, match="leaves an empty"):
        train_test_split(rng, x, y, test_fraction=0.001)
