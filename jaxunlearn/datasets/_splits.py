"""Keyed, reproducible train / test and retain / forget splits.

Every builder takes a PRNG ``key`` (except :func:`forget_indices`, which is
given the rows), returns sorted index arrays into the training set together
with the gathered rows, and validates its inputs eagerly (splits are built
once, outside ``jit``, on the host; the outputs are JAX arrays on the default
device). The same key and inputs always give the same split.
"""

from typing import Any

from jaxtyping import ArrayLike

import jax
import jax.numpy as jnp
import numpy as np

from jaxunlearn import _checks
from jaxunlearn.datasets._types import TrainTestSplit, UnlearningSplit


def _check_key(key: Any) -> jax.Array:
    if isinstance(key, jax.Array) and (
        jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
        or (key.dtype == jnp.uint32 and key.shape == (2,))
    ):
        return key
    raise TypeError(
        "key: expected a PRNG key (jax.random.key(seed)), got"
        f" {type(key).__name__}"
    )


def _rows(name: str, x: Any) -> np.ndarray:
    """Host copy of the rows (splits are built once, on the host)."""
    arr = np.asarray(x)
    if arr.dtype == object:
        raise TypeError(f"{name}: expected a numeric array, got objects")
    return arr


def _gather(x: np.ndarray, idx: np.ndarray) -> jax.Array:
    # Gathering on the host avoids one XLA compilation per split shape.
    return jnp.asarray(np.take(x, idx, axis=0))


def _rows_and_labels(xname: str, x: Any, yname: str, y: Any):
    x = _rows(xname, x)
    y = np.asarray(y)
    if x.ndim < 1:
        raise ValueError(f"{xname}: expected an array of rows, got a scalar")
    _checks.check_rank(yname, y, 1)
    _checks.check_integer(yname, y)
    if y.shape[0] != x.shape[0]:
        raise ValueError(
            f"{yname}: expected {x.shape[0]} labels (one per row of {xname}),"
            f" got {y.shape[0]}"
        )
    if y.size and int(y.min()) < 0:
        raise ValueError(f"{yname}: expected labels >= 0, got {int(y.min())}")
    return x, y.astype(np.int32)


def _train_and_test(x, y, x_test, y_test, num_classes):
    x, y = _rows_and_labels("x", x, "y", y)
    _checks.check_nonempty("x", x)
    if (x_test is None) != (y_test is None):
        raise ValueError(
            "x_test, y_test: expected both or neither, got only one"
        )
    if x_test is None:
        x_test = np.zeros((0,) + x.shape[1:], x.dtype)
        y_test = np.zeros((0,), np.int32)
    x_test, y_test = _rows_and_labels("x_test", x_test, "y_test", y_test)
    if x_test.shape[1:] != x.shape[1:]:
        raise ValueError(
            f"x_test: expected rows of shape {x.shape[1:]} (as in x), got"
            f" {x_test.shape[1:]}"
        )
    seen = int(y.max()) + 1
    if y_test.size:
        seen = max(seen, int(y_test.max()) + 1)
    if num_classes is None:
        num_classes = seen
    _checks.check_positive_int("num_classes", num_classes)
    if seen > num_classes:
        raise ValueError(
            f"num_classes: expected more than the largest label ({seen - 1}),"
            f" got {num_classes}"
        )
    return x, y, jnp.asarray(x_test), jnp.asarray(y_test), int(num_classes)


def _split(x, y, x_test, y_test, num_classes, forget: np.ndarray):
    n = x.shape[0]
    mask = np.zeros(n, bool)
    mask[forget] = True
    forget_idx = np.flatnonzero(mask).astype(np.int32)
    retain_idx = np.flatnonzero(~mask).astype(np.int32)
    return UnlearningSplit(
        x_retain=_gather(x, retain_idx),
        y_retain=jnp.asarray(y[retain_idx]),
        x_forget=_gather(x, forget_idx),
        y_forget=jnp.asarray(y[forget_idx]),
        x_test=x_test,
        y_test=y_test,
        num_classes=num_classes,
        retain_indices=jnp.asarray(retain_idx),
        forget_indices=jnp.asarray(forget_idx),
    )


def forget_indices(
    x: ArrayLike,
    y: ArrayLike,
    x_test: ArrayLike | None,
    y_test: ArrayLike | None,
    indices: ArrayLike,
    *,
    num_classes: int | None = None,
) -> UnlearningSplit:
    """Forget the given training rows; retain the others.

    A single point is ``indices=[i]``.

    Args:
      x: ``[n, ...]`` training rows.
      y: ``[n]`` integer training labels.
      x_test: ``[n_test, ...]`` held-out rows, or ``None`` (empty test set).
      y_test: ``[n_test]`` held-out labels, or ``None``.
      indices: ``[k]`` distinct integer indices into ``x`` (``1 <= k < n``).
      num_classes: the number of classes; by default one more than the
        largest label in ``y`` and ``y_test``.

    Returns:
      An :class:`UnlearningSplit` (forget rows in increasing index order).

    Raises:
      ValueError: when ``indices`` is empty, out of range, duplicated or
        covers every row; on shape mismatches or bad labels.
      TypeError: when ``indices`` or the labels are not integers.

    Examples:
      >>> import jax.numpy as jnp
      >>> s = forget_indices(jnp.zeros((4, 2)), jnp.array([0, 1, 0, 1]),
      ...                    None, None, [2])
      >>> s.retain_indices.tolist(), s.forget_indices.tolist()
      ([0, 1, 3], [2])
    """
    x, y, x_test, y_test, num_classes = _train_and_test(
        x, y, x_test, y_test, num_classes
    )
    idx = np.asarray(indices)
    if idx.dtype == object or not (
        np.issubdtype(idx.dtype, np.integer) or idx.size == 0
    ):
        raise TypeError(
            f"indices: expected integer indices, got dtype {idx.dtype}"
        )
    idx = idx.reshape(-1).astype(np.int64)
    n = x.shape[0]
    if idx.size == 0:
        raise ValueError("indices: expected at least one index, got none")
    if idx.min() < 0 or idx.max() >= n:
        raise ValueError(
            f"indices: expected indices in [0, {n}), got values in"
            f" [{idx.min()}, {idx.max()}]"
        )
    uniq, counts = np.unique(idx, return_counts=True)
    if np.any(counts > 1):
        raise ValueError(
            f"indices: expected distinct indices, got duplicates"
            f" {uniq[counts > 1][:10].tolist()}"
        )
    if idx.size == n:
        raise ValueError(
            f"indices: forgetting all {n} rows leaves an empty retain set"
        )
    return _split(x, y, x_test, y_test, num_classes, idx)


def forget_random(
    key: jax.Array,
    x: ArrayLike,
    y: ArrayLike,
    x_test: ArrayLike | None,
    y_test: ArrayLike | None,
    n_forget: int,
    *,
    num_classes: int | None = None,
) -> UnlearningSplit:
    """Forget ``n_forget`` training rows drawn uniformly without replacement.

    Args:
      key: a PRNG key.
      x: ``[n, ...]`` training rows.
      y: ``[n]`` integer training labels.
      x_test: ``[n_test, ...]`` held-out rows, or ``None``.
      y_test: ``[n_test]`` held-out labels, or ``None``.
      n_forget: how many rows to forget, ``1 <= n_forget < n``.
      num_classes: the number of classes (default: inferred from labels).

    Returns:
      An :class:`UnlearningSplit`.

    Raises:
      ValueError: when ``n_forget`` is out of range; on bad inputs.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> s = forget_random(jax.random.key(0), jnp.zeros((10, 3)),
      ...                   jnp.arange(10) % 2, None, None, 3)
      >>> s.x_forget.shape, s.x_retain.shape
      ((3, 3), (7, 3))
    """
    key = _check_key(key)
    x, y, x_test, y_test, num_classes = _train_and_test(
        x, y, x_test, y_test, num_classes
    )
    n = x.shape[0]
    _checks.check_positive_int("n_forget", n_forget)
    if n_forget >= n:
        raise ValueError(
            f"n_forget: expected fewer than the {n} training rows, got"
            f" {n_forget}"
        )
    perm = np.asarray(jax.random.permutation(key, n))
    return _split(x, y, x_test, y_test, num_classes, perm[:n_forget])


def forget_class_fraction(
    key: jax.Array,
    x: ArrayLike,
    y: ArrayLike,
    x_test: ArrayLike | None,
    y_test: ArrayLike | None,
    cls: int,
    fraction: float,
    *,
    num_classes: int | None = None,
) -> UnlearningSplit:
    """Forget a random fraction of the training rows of one class.

    The forget set has ``round(fraction * n_cls)`` rows of class ``cls``
    (75% of the 6,131 MNIST threes is 4,598), drawn without
    replacement; everything else is retained.

    Args:
      key: a PRNG key.
      x: ``[n, ...]`` training rows.
      y: ``[n]`` integer training labels.
      x_test: ``[n_test, ...]`` held-out rows, or ``None``.
      y_test: ``[n_test]`` held-out labels, or ``None``.
      cls: the class to forget part of.
      fraction: the share of that class to forget, in ``(0, 1]``.
      num_classes: the number of classes (default: inferred from labels).

    Returns:
      An :class:`UnlearningSplit`.

    Raises:
      ValueError: when ``cls`` has no rows, ``fraction`` is outside
        ``(0, 1]`` or rounds to no row; on bad inputs.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> y = jnp.array([0, 1, 1, 1, 1, 0])
      >>> s = forget_class_fraction(jax.random.key(0), jnp.zeros((6, 2)), y,
      ...                           None, None, cls=1, fraction=0.5)
      >>> s.y_forget.tolist()
      [1, 1]
    """
    key = _check_key(key)
    x, y, x_test, y_test, num_classes = _train_and_test(
        x, y, x_test, y_test, num_classes
    )
    if isinstance(cls, bool) or not isinstance(cls, int | np.integer):
        raise TypeError(f"cls: expected an integer class, got {cls!r}")
    members = np.flatnonzero(y == cls)
    if members.size == 0:
        raise ValueError(f"cls: class {cls} has no training rows")
    frac = float(fraction)
    if not 0.0 < frac <= 1.0:
        raise ValueError(f"fraction: expected a value in (0, 1], got {frac}")
    k = int(np.floor(frac * members.size + 0.5))
    if k == 0:
        raise ValueError(
            f"fraction: {frac} of the {members.size} rows of class {cls}"
            " rounds to no row"
        )
    if k == x.shape[0]:
        raise ValueError(
            "fraction: forgetting every training row leaves an empty retain set"
        )
    perm = np.asarray(jax.random.permutation(key, members.size))
    return _split(x, y, x_test, y_test, num_classes, members[perm[:k]])


def train_test_split(
    key: jax.Array,
    x: ArrayLike,
    y: ArrayLike,
    *,
    test_fraction: float = 0.2,
    stratify: bool = False,
) -> TrainTestSplit:
    """Keyed random train / test split.

    The test set has ``round(test_fraction * n)`` rows (per class, rounded,
    when ``stratify``), at least one, and leaves at least one training row.

    Args:
      key: a PRNG key.
      x: ``[n, ...]`` rows.
      y: ``[n]`` integer labels.
      test_fraction: the share of rows held out, in ``(0, 1)``.
      stratify: keep each class's share equal in both parts.

    Returns:
      A :class:`TrainTestSplit` (index arrays sorted, rows in index order).

    Raises:
      ValueError: when ``test_fraction`` is outside ``(0, 1)`` or leaves a
        part empty; on bad inputs.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> s = train_test_split(jax.random.key(0), jnp.zeros((10, 2)),
      ...                      jnp.arange(10) % 2, test_fraction=0.3)
      >>> s.x_train.shape, s.x_test.shape
      ((7, 2), (3, 2))
    """
    key = _check_key(key)
    x, y = _rows_and_labels("x", x, "y", y)
    _checks.check_nonempty("x", x)
    frac = float(test_fraction)
    if not 0.0 < frac < 1.0:
        raise ValueError(
            f"test_fraction: expected a value in (0, 1), got {frac}"
        )
    n = x.shape[0]
    perm = np.asarray(jax.random.permutation(key, n))
    if stratify:
        # The first round(frac * n_c) rows of each class in one random order.
        ordered = y[perm]
        test = np.concatenate(
            [
                perm[ordered == c][: int(np.floor(frac * count + 0.5))]
                for c, count in zip(
                    *np.unique(y, return_counts=True), strict=True
                )
            ]
        )
    else:
        test = perm[: int(np.floor(frac * n + 0.5))]
    if test.size == 0 or test.size == n:
        raise ValueError(
            f"test_fraction: {frac} of {n} rows leaves an empty train or test"
            " set"
        )
    mask = np.zeros(n, bool)
    mask[test] = True
    test_idx = np.flatnonzero(mask).astype(np.int32)
    train_idx = np.flatnonzero(~mask).astype(np.int32)
    return TrainTestSplit(
        x_train=_gather(x, train_idx),
        y_train=jnp.asarray(y[train_idx]),
        x_test=_gather(x, test_idx),
        y_test=jnp.asarray(y[test_idx]),
        train_indices=jnp.asarray(train_idx),
        test_indices=jnp.asarray(test_idx),
    )
