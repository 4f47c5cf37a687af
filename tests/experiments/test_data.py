"""Data specs of the end-to-end runs: a Fashion-MNIST copy named by path."""

import gzip

import numpy as np
import pytest

from jaxunlearn import experiments


def _write_idx(path, array):
    header = (
        bytes([0, 0, 0x08, array.ndim])
        + np.asarray(array.shape, ">i4").tobytes()
    )
    path.write_bytes(gzip.compress(header + array.tobytes()))


def _fashion_copy(folder):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 12), ("t10k", 4)):
        images = rng.integers(0, 256, size=(n, 28, 28)).astype(np.uint8)
        labels = (np.arange(n) % 3).astype(np.uint8)
        _write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        _write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)


def test_fashion_mnist_path(tmp_path):
    _fashion_copy(tmp_path)
    data = experiments.load_classification(f"fashion-mnist:{tmp_path}")
    assert data.x.shape == (12, 28, 28) and data.x_test.shape == (4, 28, 28)
    assert data.name == "fashion-mnist"
    feat = experiments.load_feature_data(f"fashion-mnist:{tmp_path}", "ink")
    assert feat.x.shape == (12, 784) and feat.image_shape == (28, 28)
    with pytest.raises(ValueError, match="needs a path"):
        experiments.load_classification("fashion-mnist:")
