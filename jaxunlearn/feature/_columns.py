r"""Mixed tabular columns: a column spec, encoding and decoding.

A repair of mixed data works in an encoded space where the squared
Euclidean cost makes sense: continuous and integer columns are centred and
divided by their pooled standard deviation (when ``standardize``), and a
categorical column with ``K`` categories becomes a one-hot block scaled by
:math:`1/\sqrt{2}`, so that two different categories lie at distance 1, the
scale of one standard deviation. Repaired points are convex combinations of
encoded rows, so a categorical block holds a probability vector; decoding
draws a category from it (``"sample"``, keyed: a partial repair then moves
the category law linearly in ``t``) or takes its mode (``"mode"``). Integer
columns are rounded stochastically (``"sample"``, unbiased) or to the
nearest integer (``"mode"``).
"""

from typing import Any, NamedTuple

import numpy as np
from jaxtyping import Array, ArrayLike, Float

import jax
import jax.numpy as jnp

from jaxunlearn import _checks

KINDS = ("continuous", "integer", "categorical")
_ONE_HOT_SCALE = 1.0 / np.sqrt(2.0)


class ColumnSpec(NamedTuple):
    """The kind of each column of a feature matrix.

    Attributes:
      kinds: one of ``"continuous"``, ``"integer"``, ``"categorical"`` per
        column. Categorical columns hold integer codes ``0..K-1``.
      num_categories: ``K`` per column (0 for non-categorical columns, and
        0 to infer ``K = max code + 1`` from the data at fit time).
    """

    kinds: tuple[str, ...]
    num_categories: tuple[int, ...] = ()


def _normalize_spec(spec: Any, p: int) -> ColumnSpec:
    """Validates a spec (or a sequence of kinds) against ``p`` columns."""
    if spec is None:
        return ColumnSpec(("continuous",) * p, (0,) * p)
    if not isinstance(spec, ColumnSpec):
        if isinstance(spec, str):
            raise TypeError(
                "spec: expected a ColumnSpec or a sequence of column kinds,"
                f" got the string {spec!r}"
            )
        spec = ColumnSpec(tuple(spec))
    kinds = tuple(spec.kinds)
    if len(kinds) != p:
        raise ValueError(
            f"spec: expected {p} column kinds (one per column of x), got"
            f" {len(kinds)}"
        )
    for i, kind in enumerate(kinds):
        _checks.check_choice(f"spec.kinds[{i}]", kind, KINDS)
    cats = tuple(spec.num_categories) or (0,) * p
    if len(cats) != p:
        raise ValueError(
            f"spec: expected {p} num_categories (one per column of x), got"
            f" {len(cats)}"
        )
    return ColumnSpec(kinds, tuple(int(c) for c in cats))


def infer_column_spec(frame: Any) -> tuple[np.ndarray, ColumnSpec, tuple]:
    """Reads a pandas DataFrame into codes and a :class:`ColumnSpec`.

    Category, object, string and bool columns are categorical (codes in the
    order of ``pandas.Categorical`` categories); integer columns are
    integer; float columns are continuous.

    Args:
      frame: a pandas DataFrame ``[n, p]`` with no missing values.

    Returns:
      A tuple ``(values, spec, categories)``: ``values`` a float64 array
      ``[n, p]`` (categorical columns as codes), the inferred spec, and per
      column the tuple of category labels (None for other columns), to map
      codes back.

    Raises:
      TypeError: ``frame`` is not a DataFrame.
      ValueError: missing values.

    Examples:
      >>> import pandas as pd
      >>> df = pd.DataFrame({"a": [1.5, 2.0], "b": ["x", "y"], "c": [1, 2]})
      >>> values, spec, cats = infer_column_spec(df)
      >>> spec.kinds, cats[1]
      (('continuous', 'categorical', 'integer'), ('x', 'y'))
    """
    import pandas as pd  # noqa: PLC0415 - optional (the `data` extra).

    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"frame: expected a pandas DataFrame, got {type(frame).__name__}"
        )
    if frame.isna().to_numpy().any():
        raise ValueError("frame: expected no missing values, got some NaN")
    kinds, ncat, cats, cols = [], [], [], []
    for name in frame.columns:
        col = frame[name]
        dtype = col.dtype
        if pd.api.types.is_bool_dtype(dtype) or not (
            pd.api.types.is_numeric_dtype(dtype)
        ):
            cat = pd.Categorical(col)
            kinds.append("categorical")
            ncat.append(len(cat.categories))
            cats.append(tuple(cat.categories.tolist()))
            cols.append(cat.codes.astype(np.float64))
        elif pd.api.types.is_integer_dtype(dtype):
            kinds.append("integer")
            ncat.append(0)
            cats.append(None)
            cols.append(col.to_numpy(np.float64))
        else:
            kinds.append("continuous")
            ncat.append(0)
            cats.append(None)
            cols.append(col.to_numpy(np.float64))
    values = np.stack(cols, axis=1) if cols else np.zeros((len(frame), 0))
    return values, ColumnSpec(tuple(kinds), tuple(ncat)), tuple(cats)


def fit_encoder(
    x: np.ndarray, spec: ColumnSpec, *, standardize: bool
) -> tuple[ColumnSpec, np.ndarray, np.ndarray]:
    """Completes the spec and fits column centres and scales (host side)."""
    cats = list(spec.num_categories)
    mean = np.zeros(x.shape[1])
    scale = np.ones(x.shape[1])
    for i, kind in enumerate(spec.kinds):
        col = x[:, i]
        if kind == "categorical":
            _check_codes(f"x[:, {i}]", col, cats[i] or None)
            cats[i] = cats[i] or int(col.max()) + 1
        elif kind == "integer" and np.any(col != np.round(col)):
            raise ValueError(
                f"x[:, {i}]: spec says 'integer' but the column holds"
                " non-integral values"
            )
        if kind != "categorical" and standardize:
            mean[i] = col.mean()
            sd = col.std()
            scale[i] = sd if sd > 0 else 1.0
    return ColumnSpec(spec.kinds, tuple(cats)), mean, scale


def _check_codes(name: str, col: np.ndarray, k: int | None) -> None:
    if np.any(col < 0) or np.any(col != np.round(col)):
        raise ValueError(
            f"{name}: spec says 'categorical' but the column holds values"
            " that are not codes 0, 1, 2, ..."
        )
    if k is not None and col.size and col.max() >= k:
        raise ValueError(
            f"{name}: expected category codes below {k} (seen at fit time),"
            f" got {int(col.max())}"
        )


def check_codes(x: np.ndarray, spec: ColumnSpec) -> None:
    """Checks categorical codes of a concrete ``x`` against the spec."""
    for i, kind in enumerate(spec.kinds):
        if kind == "categorical":
            _check_codes(f"x[:, {i}]", x[:, i], spec.num_categories[i])


def encoded_dim(spec: ColumnSpec) -> int:
    """Width of the encoded space."""
    return sum(
        k if kind == "categorical" else 1
        for kind, k in zip(spec.kinds, spec.num_categories, strict=True)
    )


def encode(
    x: Float[ArrayLike, "n p"],
    spec: ColumnSpec,
    mean: Float[ArrayLike, " p"],
    scale: Float[ArrayLike, " p"],
) -> Float[Array, "n D"]:
    """Encodes columns: scaled numbers and scaled one-hot blocks."""
    x = jnp.asarray(x)
    parts = []
    for i, (kind, k) in enumerate(
        zip(spec.kinds, spec.num_categories, strict=True)
    ):
        col = x[:, i]
        if kind == "categorical":
            codes = col.astype(jnp.int32)
            parts.append(jax.nn.one_hot(codes, k, dtype=x.dtype) * _scale(x))
        else:
            parts.append(((col - mean[i]) / scale[i])[:, None])
    return jnp.concatenate(parts, axis=1)


def _scale(x: Array) -> Array:
    return jnp.asarray(_ONE_HOT_SCALE, x.dtype)


def encode_host(
    x: np.ndarray,
    spec: ColumnSpec,
    mean: np.ndarray,
    scale: np.ndarray,
    dtype: Any,
) -> np.ndarray:
    """Host-side :func:`encode` (NumPy), rounded to ``dtype``.

    Computed in float64 from the ``dtype`` centres and scales, then rounded
    once, so fit and transform produce bitwise the same encoded rows (the
    transform finds a fitted row by an exact match of its bytes).
    """
    mean = np.asarray(np.asarray(mean, dtype), np.float64)
    scale = np.asarray(np.asarray(scale, dtype), np.float64)
    x = np.asarray(x, np.float64)
    one = float(np.asarray(_ONE_HOT_SCALE, dtype))
    parts = []
    for i, (kind, k) in enumerate(
        zip(spec.kinds, spec.num_categories, strict=True)
    ):
        col = x[:, i]
        if kind == "categorical":
            block = np.zeros((x.shape[0], k))
            block[np.arange(x.shape[0]), col.astype(np.int64)] = one
            parts.append(block)
        else:
            parts.append(((col - mean[i]) / scale[i])[:, None])
    return np.concatenate(parts, axis=1).astype(dtype)


def decode(
    e: Float[ArrayLike, "n D"],
    spec: ColumnSpec,
    mean: Float[ArrayLike, " p"],
    scale: Float[ArrayLike, " p"],
    *,
    mode: str,
    key: jax.Array,
) -> Float[Array, "n p"]:
    """Decodes encoded rows back to valid codes and values (see module).

    One uniform per row and column drives every random choice: a category
    by inverse CDF within its block, an integer's stochastic rounding.
    """
    e = jnp.asarray(e)
    n = e.shape[0]
    dtype = e.dtype
    u = jax.random.uniform(
        key,
        (n, max(len(spec.kinds), 1)),
        dtype,
        minval=jnp.finfo(dtype).tiny,
        maxval=1.0,
    )
    cols, offset = [], 0
    for i, (kind, k) in enumerate(
        zip(spec.kinds, spec.num_categories, strict=True)
    ):
        if kind == "categorical":
            probs = jnp.maximum(e[:, offset : offset + k], 0.0)
            if mode == "mode":
                code = jnp.argmax(probs, axis=1)
            else:
                cum = jnp.cumsum(probs, axis=1)
                below = cum < u[:, i : i + 1] * cum[:, -1:]
                code = jnp.minimum(jnp.sum(below, axis=1), k - 1)
            cols.append(code.astype(dtype))
            offset += k
        else:
            val = e[:, offset] * scale[i] + mean[i]
            if kind == "integer":
                if mode == "mode":
                    val = jnp.round(val)
                else:
                    low = jnp.floor(val)
                    val = low + (u[:, i] < val - low).astype(dtype)
            cols.append(val)
            offset += 1
    return jnp.stack(cols, axis=1)
