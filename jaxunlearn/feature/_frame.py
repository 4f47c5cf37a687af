"""Tables and group labels at the edge of :func:`fit` / :func:`transform`.

A pandas DataFrame is read with :func:`infer_column_spec`: text, category
and bool columns become categorical, integer columns integer, float columns
continuous. Categorical columns are repaired as one-hot blocks (scaled by
``1/sqrt(2)``, so two categories lie at distance 1) and decoded back to
their labels (a category drawn from the repaired block, keyed), integer
columns are rounded stochastically, and the output is a DataFrame with the
input's column names and index. Group labels ``z`` may be any sortable
hashable values (strings such as ``"Female"`` / ``"Male"``); they are kept
as a static tuple and mapped to group indices at transform time.
"""

import sys
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxunlearn.feature import _columns


class FrameSpec(NamedTuple):
    """How a DataFrame's columns map to the repaired (encoded) space.

    Attributes:
      columns: the column names, in order.
      spec: the inferred :class:`ColumnSpec` (categories counted).
      categories: per column, the category labels (``None`` otherwise).
    """

    columns: tuple[Any, ...]
    spec: _columns.ColumnSpec
    categories: tuple[tuple[Any, ...] | None, ...]


def is_frame(x: Any) -> bool:
    """Whether ``x`` is a pandas DataFrame (without importing pandas)."""
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(x, pd.DataFrame)


def _python(v: Any) -> Any:
    """A NumPy scalar as the matching Python scalar (JSON and hashing)."""
    return v.item() if isinstance(v, np.generic) else v


def fit_frame(frame: Any) -> tuple[np.ndarray, FrameSpec]:
    """Reads a DataFrame at fit time.

    Args:
      frame: a pandas DataFrame ``[n, p]`` without missing values.

    Returns:
      ``(values, frame_spec)``: float64 values ``[n, p]`` (categories as
      codes) and the :class:`FrameSpec`.

    Raises:
      ValueError: missing values or no columns.
    """
    if frame.shape[1] == 0:
        raise ValueError("x: expected a DataFrame with columns, got none")
    try:
        values, spec, cats = _columns.infer_column_spec(frame)
    except ValueError as err:
        raise ValueError(f"x: {err}") from err
    cats = tuple(
        None if c is None else tuple(_python(v) for v in c) for c in cats
    )
    columns = tuple(_python(c) for c in frame.columns)
    return values, FrameSpec(columns, spec, cats)


def frame_values(frame: Any, fs: FrameSpec) -> np.ndarray:
    """Reads a DataFrame at transform time, in the fitted layout.

    Args:
      frame: a DataFrame with the fitted columns.
      fs: the fitted :class:`FrameSpec`.

    Returns:
      float64 values ``[n, p]`` (categories as the fitted codes).

    Raises:
      ValueError: other columns, missing values, unseen categories.
      TypeError: a numeric column holding text.
    """
    columns = tuple(_python(c) for c in frame.columns)
    if columns != fs.columns:
        raise ValueError(
            f"x: expected the columns seen at fit time {list(fs.columns)},"
            f" got {list(columns)}"
        )
    if frame.isna().to_numpy().any():
        raise ValueError("x: expected no missing values, got some NaN")
    cols = []
    for name, kind, cats in zip(
        fs.columns, fs.spec.kinds, fs.categories, strict=True
    ):
        col = frame[name].to_numpy()
        if kind == "categorical":
            lookup = {c: i for i, c in enumerate(cats)}
            codes = np.array([lookup.get(_python(v), -1) for v in col])
            if np.any(codes < 0):
                bad = sorted({str(v) for v in col[codes < 0]})[:10]
                raise ValueError(
                    f"x[{name!r}]: categories {bad} were not seen at fit time"
                    f" (known: {list(cats)[:20]})"
                )
            cols.append(codes.astype(np.float64))
        else:
            try:
                cols.append(col.astype(np.float64))
            except (TypeError, ValueError) as err:
                raise TypeError(
                    f"x[{name!r}]: expected numbers (as at fit time), got"
                    f" {col.dtype} values"
                ) from err
    return np.stack(cols, axis=1)


def frame_to_meta(fs: FrameSpec) -> dict[str, Any]:
    """A :class:`FrameSpec` as JSON metadata (for ``feature.save``)."""
    return {
        "columns": list(fs.columns),
        "kinds": list(fs.spec.kinds),
        "num_categories": list(fs.spec.num_categories),
        "categories": [None if c is None else list(c) for c in fs.categories],
    }


def frame_from_meta(meta: Any) -> FrameSpec | None:
    """Inverse of :func:`frame_to_meta` (``None`` stays ``None``)."""
    if meta is None:
        return None
    return FrameSpec(
        columns=tuple(meta["columns"]),
        spec=_columns.ColumnSpec(
            tuple(meta["kinds"]),
            tuple(int(k) for k in meta["num_categories"]),
        ),
        categories=tuple(
            None if c is None else tuple(c) for c in meta["categories"]
        ),
    )


def encode(values: np.ndarray, fs: FrameSpec, dtype: Any) -> jax.Array:
    """Codes to the repaired space: numbers as they are, one-hot blocks."""
    p = values.shape[1]
    enc = _columns.encode_host(values, fs.spec, np.zeros(p), np.ones(p), dtype)
    return jnp.asarray(enc)


def decode(out: jax.Array, fs: FrameSpec, key: jax.Array, index: Any) -> Any:
    """Repaired encoded rows back to a DataFrame of the fitted columns.

    Args:
      out: encoded rows ``[n, D]``.
      fs: the fitted :class:`FrameSpec`.
      key: PRNG key of the category draws and integer rounding.
      index: the input frame's index.

    Returns:
      A pandas DataFrame with the fitted columns: categorical columns hold
      their labels, integer columns int64, the others floats of ``out``'s
      dtype.
    """
    import pandas as pd  # noqa: PLC0415 - only reached with a DataFrame.

    p = len(fs.columns)
    zeros = jnp.zeros((p,), out.dtype)
    vals = _columns.decode(
        out, fs.spec, zeros, zeros + 1, mode="sample", key=key
    )
    vals = np.asarray(vals)
    data = {}
    for i, (name, kind, cats) in enumerate(
        zip(fs.columns, fs.spec.kinds, fs.categories, strict=True)
    ):
        if kind == "categorical":
            labels = np.empty(len(cats), dtype=object)
            labels[:] = list(cats)
            data[name] = labels[vals[:, i].astype(np.int64)]
        elif kind == "integer":
            data[name] = np.round(vals[:, i]).astype(np.int64)
        else:
            data[name] = vals[:, i]
    return pd.DataFrame(data, index=index, columns=list(fs.columns))


def numeric_frame(frame: Any, name: str) -> np.ndarray:
    """A DataFrame of numbers as an array (repairs fitted on arrays).

    Args:
      frame: a DataFrame.
      name: the argument's name for errors.

    Returns:
      ``frame.to_numpy()`` (float).

    Raises:
      TypeError: a non-numeric column.
    """
    import pandas as pd  # noqa: PLC0415 - only reached with a DataFrame.

    bad = [
        c
        for c in frame.columns
        if not pd.api.types.is_numeric_dtype(frame[c].dtype)
        or pd.api.types.is_bool_dtype(frame[c].dtype)
    ]
    if bad:
        raise TypeError(
            f"{name}: this repair was fitted on an array, so it takes numbers"
            f" only; columns {bad[:10]} are not numeric (fit on the"
            " DataFrame to repair text columns)"
        )
    values = frame.to_numpy()
    if not np.issubdtype(values.dtype, np.floating):
        values = values.astype(np.float64)
    return values


# ------------------------------------------------------------ group labels


def fit_labels(z: Any) -> tuple[Any, tuple[Any, ...] | None]:
    """Reads group values at fit time.

    Integer (and float) arrays stay codes (``labels`` is None, the path of
    earlier versions, which rejects floats); any other values (strings,
    bools, a pandas Series or Categorical of them) become indices into
    their sorted distinct values.

    Args:
      z: one group value per row.

    Returns:
      ``(z_or_index, labels)``.

    Raises:
      TypeError: values that cannot be sorted (mixed types).
    """
    if isinstance(z, jax.Array):
        return z, None
    arr = _host(z)
    if arr.dtype.kind in "iuf" or arr.ndim != 1:
        return z, None  # codes; shape and dtype errors come downstream
    try:
        labels = tuple(sorted({_python(v) for v in arr}))
    except TypeError as err:
        raise TypeError(
            "z: expected group values of one sortable type (e.g. all"
            f" strings), got a mix ({err})"
        ) from err
    return label_index(arr, labels), labels


def _host(z: Any) -> np.ndarray:
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(z, pd.Series | pd.Categorical | pd.Index):
        z = np.asarray(z)
        return z if z.dtype.kind in "iuf" else z.astype(object)
    if isinstance(z, Sequence) and not isinstance(z, str | bytes):
        arr = np.asarray(list(z))
        return arr if arr.dtype.kind in "iufb" else arr.astype(object)
    return np.asarray(z)


def label_index(z: Any, labels: tuple[Any, ...]) -> np.ndarray:
    """Maps group values to indices of ``labels``.

    Args:
      z: one group value per row ``[n]``.
      labels: the fitted labels.

    Returns:
      int32 indices ``[n]``.

    Raises:
      ValueError: a value not seen at fit time, or not one per row.
    """
    arr = _host(z)
    if arr.ndim != 1:
        raise ValueError(
            f"z: expected one group value per row (rank 1), got shape"
            f" {arr.shape}"
        )
    lookup = {v: i for i, v in enumerate(labels)}
    index = np.array([lookup.get(_python(v), -1) for v in arr], dtype=np.int32)
    if np.any(index < 0):
        unseen = sorted({str(v) for v in arr[index < 0]})[:10]
        raise ValueError(
            f"z: values {unseen} were not seen at fit time (known:"
            f" {list(labels)[:20]})"
        )
    return index
