"""Containers returned by the loaders and split builders."""

from typing import NamedTuple

import jax
import numpy as np


class Attribute(NamedTuple):
    """A discrete attribute: integer codes and the name of each code.

    Attributes:
      codes: ``[n]`` int32 codes in ``[0, len(names))``.
      names: the category name of each code (``names[codes[i]]``).
    """

    codes: np.ndarray
    names: tuple[str, ...]


class TabularData(NamedTuple):
    """A mixed-type table, one column per original feature.

    Categorical columns hold their integer codes as floats (``0.0, 1.0, ...``;
    the names are in ``categories``); integer and continuous columns hold the
    values. Build a numeric design matrix (one-hot blocks, dropped features,
    standardization) with :func:`jaxunlearn.datasets.tabular_design`.

    Attributes:
      x: ``[n, p]`` float32 feature table (read-only NumPy array).
      y: ``[n]`` int32 target codes (names in ``target_names``), or float32
        values for a regression target (``target_names`` empty).
      columns: the ``p`` feature names.
      kinds: the kind of each column: ``"categorical"``, ``"integer"`` or
        ``"continuous"``.
      categories: for each categorical column, the category name of each code.
      sensitive: candidate sensitive attributes, name -> :class:`Attribute`
        (e.g. ``"sex"``, ``"race"``); a sensitive attribute that is also a
        feature keeps its column in ``x``.
      target_names: the name of each target code.
      name: the data set's name.
    """

    x: np.ndarray
    y: np.ndarray
    columns: tuple[str, ...]
    kinds: tuple[str, ...]
    categories: dict[str, tuple[str, ...]]
    sensitive: dict[str, Attribute]
    target_names: tuple[str, ...]
    name: str


class TabularDesign(NamedTuple):
    """A numeric design matrix built from a :class:`TabularData`.

    Attributes:
      x: ``[n, m]`` float32 design matrix.
      columns: the ``m`` column names (``"feature"`` or
        ``"feature=category"`` for a one-hot column).
      kinds: the kind of each design column (``"categorical"`` for one-hot
        columns).
      groups: feature name -> the tuple of design columns it occupies (one
        column, or a one-hot block).
    """

    x: np.ndarray
    columns: tuple[str, ...]
    kinds: tuple[str, ...]
    groups: dict[str, tuple[int, ...]]


class ImageData(NamedTuple):
    """Grey-scale images with class labels.

    Attributes:
      images: ``[n, h, w]`` float32 pixels in ``[0, 1]`` (read-only NumPy).
      labels: ``[n]`` int32 class labels.
      class_names: the name of each class.
      name: the data set's name.
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    name: str

    @property
    def x(self) -> np.ndarray:
        """The flat view ``[n, h * w]`` of ``images`` (no copy)."""
        return self.images.reshape(self.images.shape[0], -1)

    @property
    def num_classes(self) -> int:
        """The number of classes."""
        return len(self.class_names)


class GMMToy(NamedTuple):
    """The two-component Gaussian mixture toy of the paper.

    Attributes:
      x: ``[n, d]`` training points.
      y: ``[n]`` int32 component labels (``n / 2`` of each).
      x_forget: ``[1, d]`` the point to forget.
      y_forget: ``[1]`` int32 its label (0).
      means: ``[2, d]`` the component means.
    """

    x: jax.Array
    y: jax.Array
    x_forget: jax.Array
    y_forget: jax.Array
    means: jax.Array


class UnlearningSplit(NamedTuple):
    """Retain / forget / test sets of an unlearning request.

    ``x_retain = x[retain_indices]`` and ``x_forget = x[forget_indices]``,
    where ``x`` is the training set the split was built from; the two index
    sets are disjoint, sorted, and together cover every training row.

    Attributes:
      x_retain: ``[n_retain, ...]`` rows kept.
      y_retain: ``[n_retain]`` int32 labels kept.
      x_forget: ``[n_forget, ...]`` rows to forget.
      y_forget: ``[n_forget]`` int32 labels to forget.
      x_test: ``[n_test, ...]`` held-out rows.
      y_test: ``[n_test]`` int32 held-out labels.
      num_classes: the number of classes (a Python int).
      retain_indices: ``[n_retain]`` int32 indices into the training set.
      forget_indices: ``[n_forget]`` int32 indices into the training set.
    """

    x_retain: jax.Array
    y_retain: jax.Array
    x_forget: jax.Array
    y_forget: jax.Array
    x_test: jax.Array
    y_test: jax.Array
    num_classes: int
    retain_indices: jax.Array
    forget_indices: jax.Array


class TrainTestSplit(NamedTuple):
    """A keyed train / test split.

    Attributes:
      x_train: ``[n_train, ...]`` training rows.
      y_train: ``[n_train]`` training labels.
      x_test: ``[n_test, ...]`` test rows.
      y_test: ``[n_test]`` test labels.
      train_indices: ``[n_train]`` int32 sorted indices into the input.
      test_indices: ``[n_test]`` int32 sorted indices into the input.
    """

    x_train: jax.Array
    y_train: jax.Array
    x_test: jax.Array
    y_test: jax.Array
    train_indices: jax.Array
    test_indices: jax.Array
