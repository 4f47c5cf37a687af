import gzip
import os

import numpy as np
import pytest

from jaxunlearn import datasets
from jaxunlearn.datasets import ImageData, MissingDataError, read_idx

FASHION = "/usr/share/datasets/fashion-mnist"
needs_fashion = pytest.mark.skipif(
    not os.path.isdir(FASHION), reason="dataset-fashion-mnist not installed"
)


def _check_images(data: ImageData, n, side):
    assert data.images.shape == (n, side, side)
    assert data.images.dtype == np.float32
    assert data.labels.shape == (n,) and data.labels.dtype == np.int32
    assert data.x.shape == (n, side * side)
    assert np.shares_memory(data.x, data.images)
    assert data.images.min() >= 0.0 and data.images.max() <= 1.0
    assert data.images.max() == 1.0  # the full range is used
    assert not data.images.flags.writeable
    assert data.num_classes == 10
    np.testing.assert_array_equal(np.unique(data.labels), np.arange(10))


def test_digits():
    data = datasets.load_digits()
    _check_images(data, 1797, 8)
    # Reference: scikit-learn's own loader (test-only import).
    from sklearn.datasets import load_digits as sk_digits

    ref = sk_digits()
    np.testing.assert_allclose(data.x * 16.0, ref.data, atol=1e-5)
    np.testing.assert_array_equal(data.labels, ref.target)


def test_mnist5k():
    data = datasets.load_mnist5k()
    _check_images(data, 5000, 28)
    np.testing.assert_array_equal(np.bincount(data.labels), [500] * 10)
    # A digit's ink sits in the middle of the 28x28 frame (row-major file).
    mean = data.images.mean(axis=0)
    assert mean[10:18, 10:18].mean() > 5 * mean[:4, :].mean()
    assert datasets.load_mnist5k() is data  # cached


def _write_idx(path, array, code):
    header = (
        bytes([0, 0, code, array.ndim])
        + np.asarray(array.shape, ">i4").tobytes()
    )
    big = array.astype(array.dtype.newbyteorder(">"))
    raw = header + big.tobytes()
    if path.suffix == ".gz":
        raw = gzip.compress(raw)
    path.write_bytes(raw)


@pytest.mark.parametrize(
    ("dtype", "code"),
    [(np.uint8, 0x08), (np.int16, 0x0B), (np.int32, 0x0C), (np.float64, 0x0E)],
)
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_read_idx_roundtrip(tmp_path, dtype, code, suffix):
    arr = (np.arange(24).reshape(2, 3, 4) * 3).astype(dtype)
    path = tmp_path / f"a-idx3{suffix}"
    _write_idx(path, arr, code)
    out = read_idx(path)
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out, arr)


def test_read_idx_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="path: no IDX file"):
        read_idx(tmp_path / "missing")
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(bad)
    short = tmp_path / "short"
    _write_idx(short, np.zeros((2, 3), np.uint8), 0x08)
    short.write_bytes(short.read_bytes()[:-1])
    with pytest.raises(ValueError, match="data bytes"):
        read_idx(short)


def test_fashion_from_directory(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 28, 28)).astype(np.uint8)
    labels = np.array([0, 3, 9, 3, 1], np.uint8)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images, 0x08)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels, 0x08)
    data = datasets.load_fashion_mnist(tmp_path, subset="test")
    np.testing.assert_allclose(data.images, images / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(data.labels, labels)
    assert data.labels.dtype == np.int32
    assert data.class_names[9] == "Ankle boot"


def test_fashion_from_env_var(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(3, 28, 28)).astype(np.uint8)
    labels = np.array([2, 7, 5], np.uint8)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", images, 0x08)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels, 0x08)
    monkeypatch.setenv("JAXUNLEARN_DATA", str(tmp_path))
    data = datasets.load_fashion_mnist(subset="test")
    np.testing.assert_array_equal(data.labels, labels)
    by_name = datasets.load_images("fashion_mnist", subset="test")
    np.testing.assert_array_equal(by_name.images, data.images)
    # An explicit path wins over the variable.
    with pytest.raises(MissingDataError, match="JAXUNLEARN_DATA"):
        datasets.load_fashion_mnist(tmp_path / "nowhere", subset="test")


def test_fashion_env_var_pointing_nowhere(tmp_path, monkeypatch):
    monkeypatch.setenv("JAXUNLEARN_DATA", str(tmp_path / "missing"))
    with pytest.raises(MissingDataError, match="missing"):
        datasets.load_fashion_mnist(subset="test")


def test_fashion_missing(tmp_path):
    with pytest.raises(
        MissingDataError, match="apt-get install dataset-fashion-mnist"
    ):
        datasets.load_fashion_mnist(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError):  # MissingDataError subclasses it
        datasets.load_fashion_mnist(tmp_path)
    with pytest.raises(ValueError, match="subset"):
        datasets.load_fashion_mnist(tmp_path, subset="val")


@needs_fashion
def test_fashion_debian_test_subset():
    data = datasets.load_fashion_mnist(subset="test")
    _check_images(data, 10000, 28)
    np.testing.assert_array_equal(np.bincount(data.labels), [1000] * 10)


@needs_fashion
@pytest.mark.slow
def test_fashion_debian_train_subset():
    data = datasets.load_fashion_mnist()
    _check_images(data, 60000, 28)
    np.testing.assert_array_equal(np.bincount(data.labels), [6000] * 10)


def test_load_images_by_name(tmp_path):
    assert datasets.load_images("digits") is datasets.load_digits()
    assert datasets.load_images("mnist5k") is datasets.load_mnist5k()
    with pytest.raises(ValueError, match="name: expected one of"):
        datasets.load_images("cifar10")
    with pytest.raises(ValueError, match="path: only 'fashion_mnist'"):
        datasets.load_images("digits", path=tmp_path)
    with pytest.raises(ValueError, match="subset: 'mnist5k' has no"):
        datasets.load_images("mnist5k", subset="test")
    with pytest.raises(MissingDataError, match="dataset-fashion-mnist"):
        datasets.load_images("fashion_mnist", path=tmp_path)
