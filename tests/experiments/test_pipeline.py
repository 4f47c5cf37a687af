"""The "forget a fraction of a class" pipeline shared by every run."""

import jax
import numpy as np
import pytest

from jaxunlearn import datasets, experiments


def _rows(n=60, c=3):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    x[:, 0] = np.arange(n)  # column 0 names the row
    return x, np.arange(n) % c


def test_pipeline_is_split_then_forget_draw():
    # The documented tables were made by these two calls; the pipeline
    # must give the same rows (same keys, same order).
    x, y = _rows()
    k_split, k_forget = jax.random.split(jax.random.key(4))
    data = experiments.classification_data(x, y, key=k_split, num_classes=3)
    got = experiments.make_split(data, ("class", 1, 0.75), k_forget)
    tt = datasets.train_test_split(
        k_split, x, y, test_fraction=0.2, stratify=True
    )
    want = datasets.forget_class_fraction(
        k_forget, tt.x_train, tt.y_train, tt.x_test, tt.y_test, 1, 0.75,
        num_classes=3,
    )  # fmt: skip
    for a, b in zip(got[:6], want[:6], strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert got.num_classes == 3
    # rows / test_rows name the rows of x, stratified 80/20 by class.
    np.testing.assert_array_equal(data.x[:, 0], data.rows)
    np.testing.assert_array_equal(data.x_test[:, 0], data.test_rows)
    assert np.bincount(data.y_test).tolist() == [4, 4, 4]


def test_classification_data_checks_labels():
    x, y = _rows()
    assert experiments.classification_data(
        x, y, key=jax.random.key(0)
    ).num_classes == 3  # fmt: skip
    with pytest.raises(ValueError, match=r"num_classes: labels must be in"):
        experiments.classification_data(
            x, y, key=jax.random.key(0), num_classes=2
        )
    with pytest.raises(TypeError, match="num_classes"):
        experiments.classification_data(
            x, y, key=jax.random.key(0), num_classes=2.5
        )
    with pytest.raises(ValueError, match="test_fraction"):
        experiments.classification_data(
            x, y, key=jax.random.key(0), test_fraction=1.0
        )


def test_split_holdout_partitions_the_test_rows():
    x, y = _rows()
    k_split, k_forget = jax.random.split(jax.random.key(4))
    data = experiments.classification_data(x, y, key=k_split, num_classes=3)
    split = experiments.make_split(data, ("class", 1, 0.75), k_forget)
    split = split._replace(x_test=split.x_test[1:], y_test=split.y_test[1:])
    m = split.x_test.shape[0]  # 11: an odd count
    for key in (None, jax.random.key(3)):
        scored, (x_hold, y_hold) = experiments.split_holdout(split, key=key)
        assert x_hold.shape[0] == m // 2 == y_hold.shape[0]
        assert scored.x_test.shape[0] == m - m // 2
        ids = np.concatenate([x_hold[:, 0], scored.x_test[:, 0]])
        assert sorted(ids.tolist()) == sorted(split.x_test[:, 0].tolist())
        np.testing.assert_array_equal(y_hold, y[x_hold[:, 0].astype(int)])
        np.testing.assert_array_equal(scored.x_retain, split.x_retain)
    # Without a key the first half, in order; with one, a shuffled half.
    first = experiments.split_holdout(split)[1][0]
    np.testing.assert_array_equal(first, split.x_test[: m // 2])
    assert not np.array_equal(x_hold, first)


def test_split_holdout_needs_two_test_rows():
    split = datasets.forget_indices(
        np.zeros((4, 2)), np.arange(4) % 2, np.ones((1, 2)), [0], [0]
    )
    with pytest.raises(ValueError, match="at least 2 test rows"):
        experiments.split_holdout(split)


def test_image_subset_checks_before_loading():
    with pytest.raises(ValueError, match="dataset"):
        experiments.image_subset("cifar")
    with pytest.raises(ValueError, match="size"):
        experiments.image_subset("mnist5k", size=0)
