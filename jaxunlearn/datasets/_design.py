"""Design matrices from tables, and tables from pandas DataFrames."""

from collections.abc import Sequence

import numpy as np

from jaxunlearn.datasets._locate import readonly
from jaxunlearn.datasets._tabular import _encode, _table
from jaxunlearn.datasets._types import Attribute, TabularData, TabularDesign


def tabular_design(
    data: TabularData,
    *,
    drop: Sequence[str] = (),
    one_hot: bool = True,
    standardize: bool = False,
) -> TabularDesign:
    """Numeric design matrix: categorical columns one-hot, others as values.

    For the reference figures of ``docs/datasets.md`` (predicting sex from
    Adult), drop
    ``("sex", "relationship", "fnlwgt")``. Standardization rescales every
    design column to mean 0 and standard deviation 1 (constant columns are
    only centred).

    Args:
      data: a :class:`TabularData`.
      drop: feature names to leave out (e.g. the sensitive attribute).
      one_hot: expand categorical columns into one-hot blocks (columns
        ``"feature=category"``); if False they stay as integer codes.
      standardize: standardize the design columns.

    Returns:
      A :class:`TabularDesign` (float32 ``x``, names, kinds, and for each
      kept feature the tuple of its design columns).

    Raises:
      ValueError: when ``drop`` names a feature that is not a column.

    Examples:
      >>> import numpy as np
      >>> from jaxunlearn.datasets import Attribute, TabularData
      >>> t = TabularData(np.array([[0.0, 1.5], [1.0, 2.5]], np.float32),
      ...     np.array([0, 1], np.int32), ("c", "v"),
      ...     ("categorical", "continuous"), {"c": ("a", "b")}, {}, ("n", "y"),
      ...     "toy")
      >>> tabular_design(t).columns
      ('c=a', 'c=b', 'v')
    """
    if isinstance(drop, str):
        drop = (drop,)
    unknown = [d for d in drop if d not in data.columns]
    if unknown:
        raise ValueError(
            f"drop: expected feature names among {list(data.columns)}, got"
            f" unknown {unknown}"
        )
    blocks, columns, kinds, groups = [], [], [], {}
    for j, (name, kind) in enumerate(
        zip(data.columns, data.kinds, strict=True)
    ):
        if name in drop:
            continue
        values = np.asarray(data.x[:, j])
        if kind == "categorical" and one_hot:
            cats = data.categories[name]
            block = (
                values[:, None].astype(np.int64) == np.arange(len(cats))[None]
            )
            names = [f"{name}={c}" for c in cats]
        else:
            block, names = values[:, None], [name]
        start = len(columns)
        groups[name] = tuple(range(start, start + len(names)))
        blocks.append(block.astype(np.float64))
        columns.extend(names)
        kinds.extend([kind] * len(names))
    n = data.x.shape[0]
    x = np.concatenate(blocks, axis=1) if blocks else np.zeros((n, 0))
    x = x.astype(np.float64)
    if standardize:
        mean = np.nanmean(x, axis=0) if n else np.zeros(x.shape[1])
        std = np.nanstd(x, axis=0) if n else np.ones(x.shape[1])
        x = (x - mean) / np.where(std > 0, std, 1.0)
    x = x.astype(np.float32)
    return TabularDesign(x, tuple(columns), tuple(kinds), groups)


def tabular_from_frame(
    frame,
    *,
    target: str,
    sensitive: Sequence[str] = (),
    name: str = "frame",
) -> TabularData:
    """Builds a :class:`TabularData` from a pandas DataFrame.

    Column kinds come from the dtypes: bool, object, string and category
    columns are categorical (codes in sorted order, or the category order of
    an ordered ``category`` column), integer columns integer, float columns
    continuous. The target is encoded the same way (categorical or integer:
    int32 codes; float: a float32 regression target). The sensitive columns
    stay in ``x`` and are also returned as :class:`Attribute` codes.

    Args:
      frame: a ``pandas.DataFrame`` with no missing values.
      target: the target column.
      sensitive: columns to return as sensitive attributes (categorical or
        integer columns).
      name: the data set's name.

    Returns:
      A :class:`TabularData` (float32 ``x``; read-only arrays).

    Raises:
      ValueError: for a missing column, missing values, or a continuous
        sensitive column.
      TypeError: when ``frame`` is not a DataFrame.

    Examples:
      >>> import pandas as pd
      >>> df = pd.DataFrame({"a": [1.5, 2.0, 0.5], "g": ["x", "y", "x"],
      ...                    "t": [0, 1, 1]})
      >>> d = tabular_from_frame(df, target="t", sensitive=["g"])
      >>> d.kinds, d.sensitive["g"].codes.tolist()
      (('continuous', 'categorical'), [0, 1, 0])
    """
    if not (hasattr(frame, "columns") and hasattr(frame, "dtypes")):
        raise TypeError(
            f"frame: expected a pandas DataFrame, got {type(frame).__name__}"
        )
    if isinstance(sensitive, str):
        sensitive = (sensitive,)
    columns = [str(c) for c in frame.columns]
    for label, wanted in [("target", [target]), ("sensitive", sensitive)]:
        missing = [c for c in wanted if c not in columns]
        if missing:
            raise ValueError(
                f"{label}: expected column names among {columns}, got {missing}"
            )
    nulls = [c for c in columns if bool(frame[c].isna().any())]
    if nulls:
        raise ValueError(
            f"frame: expected no missing values, got some in columns {nulls}"
            " (drop or impute them first)"
        )

    def kind_of(series) -> str:
        kind = series.dtype.kind
        if kind in "iu":
            return "integer"
        if kind == "f":
            return "continuous"
        return "categorical"

    def encode(series):
        dtype = series.dtype
        if dtype.kind in "iu":  # numeric order, not string order
            values, inverse = np.unique(series.to_numpy(), return_inverse=True)
            return inverse.astype(np.int32), tuple(str(v) for v in values)
        if getattr(dtype, "ordered", False):
            order = [str(c) for c in dtype.categories]
            return _encode(series.astype(str).tolist(), order)
        return _encode(series.astype(str).tolist())

    features = [c for c in columns if c != target]
    spec = [(c, kind_of(frame[c])) for c in features]
    rows = {
        c: (
            frame[c].astype(str).tolist()
            if k == "categorical"
            else frame[c].to_numpy(np.float64)
        )
        for c, k in spec
        if not getattr(frame[c].dtype, "ordered", False)
    }
    orders = {
        c: [str(v) for v in frame[c].dtype.categories]
        for c, _ in spec
        if getattr(frame[c].dtype, "ordered", False)
    }
    for c in orders:
        rows[c] = frame[c].astype(str).tolist()
    x, categories, codes = _table(rows, spec, orders)
    attrs = {}
    for c in sensitive:
        kind = dict(spec)[c] if c != target else kind_of(frame[c])
        if kind == "continuous":
            raise ValueError(
                f"sensitive: column {c!r} is continuous; pass a discrete"
                " (categorical or integer) column"
            )
        if kind == "categorical":
            attrs[c] = Attribute(readonly(codes[c].copy()), categories[c])
        else:
            c_codes, c_names = encode(frame[c])
            attrs[c] = Attribute(readonly(c_codes), c_names)
    target_kind = kind_of(frame[target])
    if target_kind == "continuous":
        y = frame[target].to_numpy(np.float32)
        target_names: tuple[str, ...] = ()
    else:
        y, target_names = encode(frame[target])
    return TabularData(
        x=readonly(x),
        y=readonly(np.asarray(y)),
        columns=tuple(features),
        kinds=tuple(k for _, k in spec),
        categories=categories,
        sensitive=attrs,
        target_names=target_names,
        name=name,
    )
