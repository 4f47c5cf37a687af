"""Tables of a feature run: the raw columns beside the numeric design.

A tabular :class:`~jaxunlearn.experiments.FeatureData` keeps its input
table (every column, values as read) and a :class:`TableCodec` that turns
the feature columns into the numeric design the auditors read (one-hot
blocks for text columns, numbers as they are, then optionally standardized
with the whole table's column means and standard deviations). The repair is
fitted on the raw feature columns (``feature.fit`` on a DataFrame), so its
output decodes back to the input's values; the design of a repaired table
is what the audit scores.
"""

from typing import Any, NamedTuple

import numpy as np


class TableCodec(NamedTuple):
    """How the feature columns of a table become the numeric design.

    Attributes:
      columns: the feature columns, in order.
      categories: per column, its category labels as text (one-hot block
        in this order), or ``None`` for a numeric column.
      mean: ``[d]`` centre of each design column.
      scale: ``[d]`` scale of each design column.
    """

    columns: tuple[str, ...]
    categories: tuple[tuple[str, ...] | None, ...]
    mean: np.ndarray
    scale: np.ndarray


def design_names(codec: TableCodec) -> tuple[str, ...]:
    """The design column names: ``"col"`` or ``"col=category"``.

    Args:
      codec: the table's :class:`TableCodec`.

    Returns:
      One name per design column.
    """
    names = []
    for name, cats in zip(codec.columns, codec.categories, strict=True):
        if cats is None:
            names.append(str(name))
        else:
            names.extend(f"{name}={c}" for c in cats)
    return tuple(names)


def _raw_design(
    columns, categories, frame: Any, name: str = "table"
) -> np.ndarray:
    blocks = []
    for col, cats in zip(columns, categories, strict=True):
        values = frame[col].to_numpy()
        if cats is None:
            blocks.append(values.astype(np.float64)[:, None])
            continue
        lookup = {c: i for i, c in enumerate(cats)}
        codes = np.array([lookup.get(str(v), -1) for v in values], np.int64)
        if np.any(codes < 0):
            bad = sorted({str(v) for v in values[codes < 0]})[:10]
            raise ValueError(
                f"{name}[{col!r}]: categories {bad} are not among the"
                f" table's {list(cats)[:20]}"
            )
        blocks.append(
            (codes[:, None] == np.arange(len(cats))[None]).astype(np.float64)
        )
    return np.concatenate(blocks, axis=1)


def fit_codec(
    frame: Any,
    columns: tuple[str, ...],
    *,
    categories: dict[str, tuple[str, ...]] | None = None,
    standardize: bool = False,
) -> tuple[TableCodec, np.ndarray]:
    """Fits the codec of a table and returns its design.

    Args:
      frame: a pandas DataFrame holding ``columns``.
      columns: the feature columns.
      categories: category labels per text column in the order of their
        one-hot block; columns not named get their sorted distinct values
        when they are not numeric.
      standardize: centre and scale every design column (constant columns
        are only centred).

    Returns:
      ``(codec, x)`` with ``x`` the float32 design ``[n, d]``.
    """
    categories = dict(categories or {})
    cats = []
    for col in columns:
        if col in categories:
            cats.append(tuple(str(c) for c in categories[col]))
        elif frame[col].dtype.kind in "iuf":
            cats.append(None)
        else:
            cats.append(tuple(np.unique(frame[col].astype(str))))
    raw = _raw_design(columns, cats, frame)
    d = raw.shape[1]
    mean, scale = np.zeros(d), np.ones(d)
    if standardize:
        mean = np.nanmean(raw, axis=0)
        std = np.nanstd(raw, axis=0)
        scale = np.where(std > 0, std, 1.0)
    codec = TableCodec(tuple(columns), tuple(cats), mean, scale)
    return codec, ((raw - mean) / scale).astype(np.float32)


def encode_table(codec: TableCodec, frame: Any) -> np.ndarray:
    """The float32 design ``[n, d]`` of a table's feature columns.

    Args:
      codec: the table's :class:`TableCodec`.
      frame: a DataFrame with the codec's columns (e.g. a repaired table).

    Returns:
      The design rows.

    Raises:
      ValueError: a category the codec does not know.
    """
    raw = _raw_design(codec.columns, codec.categories, frame, "x")
    return ((raw - codec.mean) / codec.scale).astype(np.float32)


def table_frame(table: Any, attribute: str, target: str) -> Any:
    """A loaded :class:`~jaxunlearn.datasets.TabularData` as a DataFrame.

    Categorical columns hold their labels, integer columns int64, the
    others float64; the attribute (when not a feature column) and the
    target (as its labels) are appended as columns.

    Args:
      table: the loaded table.
      attribute: the sensitive attribute's name.
      target: the name of the target column.

    Returns:
      A pandas DataFrame with one row per row of the table.
    """
    import pandas as pd  # noqa: PLC0415 - optional (data extra)

    data = {}
    for j, (name, kind) in enumerate(
        zip(table.columns, table.kinds, strict=True)
    ):
        values = np.asarray(table.x[:, j])
        if kind == "categorical":
            labels = np.asarray(table.categories[name], dtype=object)
            data[name] = labels[values.astype(np.int64)]
        elif kind == "integer":
            data[name] = values.astype(np.int64)
        else:
            data[name] = values.astype(np.float64)
    if attribute not in data:
        att = table.sensitive[attribute]
        data[attribute] = np.asarray(att.names, dtype=object)[att.codes]
    if target not in data and table.target_names:
        names = np.asarray(table.target_names, dtype=object)
        data[target] = names[np.asarray(table.y, np.int64)]
    return pd.DataFrame(data)


def feature_frame(codec: TableCodec, table: Any, rows: Any = None) -> Any:
    """The feature columns of (some rows of) a table, as a repair reads them.

    Text columns become ``pandas.Categorical`` with every category of the
    codec (the whole table's), so a repair fitted on some rows knows the
    categories that only other rows hold.

    Args:
      codec: the table's :class:`TableCodec`.
      table: the DataFrame.
      rows: positions of the rows to take (``None``: all).

    Returns:
      A DataFrame of the codec's columns, indexed like ``table``.
    """
    import pandas as pd  # noqa: PLC0415 - optional (data extra)

    part = table if rows is None else table.iloc[rows]
    out = part[list(codec.columns)].copy()
    for col, cats in zip(codec.columns, codec.categories, strict=True):
        if cats is not None:
            out[col] = pd.Categorical(out[col].astype(str), categories=cats)
    return out
