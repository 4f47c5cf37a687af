"""What the commands print and write besides the report."""

import io
import math
import os
import sys
from typing import Any


def json_clean(value: Any) -> Any:
    """Makes a result JSON-safe: string keys, lists, NaN / Inf as null.

    Args:
      value: nested dicts, lists, tuples, scalars and 0-d arrays.

    Returns:
      The same structure with plain Python values.
    """
    if isinstance(value, dict):
        return {str(k): json_clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return json_clean(value.item())
    return value


def progress(args):
    """A ``tqdm`` factory ``progress(total, desc)`` on stderr, or ``None``.

    The training loops advance the bars through the library's per-epoch
    ``callback`` (``jax.debug.callback``); with no factory no callback is
    compiled.

    Args:
      args: the parsed command line (``--quiet`` and ``--json`` turn bars
        off).

    Returns:
      The factory, or ``None`` under ``--quiet`` or ``--json``.
    """
    if args.quiet or getattr(args, "json", False):
        return None
    from tqdm.auto import tqdm  # noqa: PLC0415

    def factory(total, desc):
        return tqdm(total=total, desc=desc, file=sys.stderr, leave=False)

    return factory


def say(args, text: str) -> None:
    """Prints ``text`` unless ``--quiet`` or ``--json``.

    Args:
      args: the parsed command line.
      text: the message.
    """
    if not args.quiet and not args.json:
        print(text)


def plots_available(args) -> bool:
    """Whether to draw figures: matplotlib is installed, not ``--json``.

    A ``--json`` run never imports matplotlib (its report has no figures).

    Args:
      args: the parsed command line.

    Returns:
      True when figures can and should be drawn.
    """
    return not args.json and matplotlib_installed()


def matplotlib_installed() -> bool:
    """Whether matplotlib can be imported (the ``plots`` extra).

    Returns:
      True when ``import matplotlib`` succeeds.
    """
    try:
        import matplotlib  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


def datapoint_json(result: dict) -> dict:
    """The ``--json`` object of a data-point run: model -> mean metrics.

    Args:
      result: :func:`jaxunlearn.experiments.run_datapoint`'s result.

    Returns:
      model name -> metrics (means, ``std``, ``n_seeds``).
    """
    return {name: dict(m) for name, m in result.summary.items()}


def feature_json(result: dict, data, attribute: str) -> dict:
    """The ``--json`` object of a feature run.

    Args:
      result: :func:`jaxunlearn.experiments.run_feature`'s result.
      data: the loaded ``FeatureData``.
      attribute: the removed attribute's name.

    Returns:
      ``{"data", "attribute", "groups", "method", "levels"}``.
    """
    return {
        "data": data.name,
        "attribute": attribute,
        "groups": list(data.group_names),
        "method": result.method,
        "levels": [dict(p) for p in result.path],
    }


def summary_rows(result: dict) -> list[dict]:
    """The on-screen table of a data-point run, one row per model.

    Args:
      result: :func:`jaxunlearn.experiments.run_datapoint`'s result.

    Returns:
      Rows with the model, accuracies, MI, attack AUC and seconds.
    """
    return [
        {"model": name}
        | {k: m[k] for k in ("retain_acc", "forget_acc", "test_acc", "mi")}
        | {"mia_auc": m["mia_auc"], "seconds": m["seconds"]}
        for name, m in result.summary.items()
    ]


def feature_rows(result: dict) -> list[dict]:
    """The on-screen table of a feature run, one row per repair level.

    Args:
      result: :func:`jaxunlearn.experiments.run_feature`'s result.

    Returns:
      The path entries with ``mi`` moved last.
    """
    return [
        {k: v for k, v in p.items() if k != "mi"} | {"mi": p["mi"]}
        for p in result.path
    ]


def write_repaired(out: str, result: dict, data, attribute: str) -> str:
    """Writes the rows of both splits, original and repaired at every ``t``.

    ``repaired.npz`` holds ``t`` and, for ``s`` in ``train`` / ``test``,
    ``x_s`` (images keep their shape), ``x_s_repaired`` ``[len(t), n, ...]``,
    ``z_s`` and ``y_s`` (with a target). Tables go through
    :func:`write_repaired_table` instead.

    Args:
      out: the output folder.
      result: :func:`jaxunlearn.experiments.run_feature`'s result.
      data: the loaded ``FeatureData``.
      attribute: the attribute's name.

    Returns:
      The written file's path (``repaired.npz``).
    """
    import numpy as np  # noqa: PLC0415

    from jaxunlearn import _io  # noqa: PLC0415

    del attribute
    split = result.split
    # Both splits, images in their shape: x_s [n, ...], x_s_repaired
    # [len(t), n, ...] (a user can train on the repaired training rows).
    shape = tuple(data.image_shape or split.x_test.shape[1:])
    arrays = {"t": np.asarray(result.ts)}
    for s, x, x_hat, z, y in (
        ("train", split.x_train, result.repaired_train, split.z_train,
         split.y_train),
        ("test", split.x_test, result.repaired_test, split.z_test,
         split.y_test),
    ):  # fmt: skip
        arrays[f"x_{s}"] = x.reshape(x.shape[0], *shape)
        arrays[f"x_{s}_repaired"] = x_hat.reshape(*x_hat.shape[:2], *shape)
        arrays[f"z_{s}"] = z
        if y is not None:
            arrays[f"y_{s}"] = y
    path = os.path.join(out, "repaired.npz")
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    _io.atomic_write_bytes(path, buf.getvalue())
    return path


ROW_COLUMNS = ("row", "split")


def check_table_columns(table) -> None:
    """Rejects an input table with a column named ``row`` or ``split``.

    Args:
      table: the input DataFrame.

    Raises:
      ValueError: naming the clashing columns.
    """
    taken = [c for c in ROW_COLUMNS if c in table.columns]
    if taken:
        raise ValueError(
            f"spec: the input has columns {taken}, which repaired.csv adds"
            " (the row's index and its split); rename them"
        )


def repaired_table(table, repaired, rows=None, split=None):
    """The input table with its feature columns repaired.

    Args:
      table: the input DataFrame (every column).
      repaired: the repaired feature columns (a DataFrame indexed by row
        position in ``table``).
      rows: the rows to keep (``None``: every row of ``repaired``, in the
        order of ``table``).
      split: per kept row, ``"train"`` / ``"test"``, or ``None``.

    Returns:
      The DataFrame: ``row`` (the row's index in the input), ``split``
      (when given), then the input's columns, features repaired, the other
      columns as read.
    """
    import numpy as np  # noqa: PLC0415

    rows = np.sort(np.asarray(repaired.index)) if rows is None else rows
    out = table.iloc[rows].copy()
    for col in repaired.columns:  # each with its dtype (integers stay)
        out[col] = repaired.loc[rows, col].to_numpy()
    if split is not None:
        out.insert(0, "split", split)
    out.insert(0, "row", np.asarray(rows, np.int64))
    return out


def write_repaired_table(
    out: str, result, data, t: float, seed: int = 0
) -> str:
    """Writes ``OUT/repaired.csv``: every row of the table, repaired at ``t``.

    Rows that ``--max-rows`` left out of the run are repaired too (split
    ``unused``; their draws from ``fold_in(key(seed), 2)``).

    Args:
      out: the output folder.
      result: :func:`jaxunlearn.experiments.run_feature`'s result on a
        table (``result.tables`` set).
      data: the loaded ``FeatureData``.
      t: the level, one of ``result.ts``.
      seed: the run's seed.

    Returns:
      The written file's path.
    """
    import jax  # noqa: PLC0415
    import numpy as np  # noqa: PLC0415
    import pandas as pd  # noqa: PLC0415

    from jaxunlearn import _io, experiments, feature  # noqa: PLC0415

    parts = list(result.tables[list(result.ts).index(t)])
    rest = np.setdiff1d(
        np.arange(len(data.table)),
        np.concatenate([result.split.rows_train, result.split.rows_test]),
    )
    if rest.size:
        names = np.asarray(data.group_names, dtype=object)
        parts.append(
            feature.transform(
                result.repair,
                experiments.feature_frame(data.codec, data.table, rest),
                names[data.z[rest]],
                t=t,
                key=jax.random.fold_in(jax.random.key(seed), 2),
            )
        )
    repaired = pd.concat(parts)
    split = np.where(
        np.isin(repaired.index, result.split.rows_train),
        "train",
        np.where(
            np.isin(repaired.index, result.split.rows_test), "test", "unused"
        ),
    )
    order = np.argsort(np.asarray(repaired.index), kind="stable")
    frame = repaired_table(
        data.table,
        repaired,
        np.asarray(repaired.index)[order],
        split[order],
    )
    path = os.path.join(out, "repaired.csv")
    _io.atomic_write_text(path, frame.to_csv(index=False))
    return path


def write_split(out: str, data, result: dict) -> str:
    """Writes the rows a data-point run used to ``OUT/split.npz``.

    Row numbers refer to the source: the rows of the ``--data`` file's
    ``x`` (or of the bundled data set); ``test_rows`` index the file's
    ``x_test`` when it has one (``test_source``).

    Args:
      out: the output folder.
      data: the loaded ``ClassificationData``.
      result: :func:`jaxunlearn.experiments.run_datapoint`'s result.

    Returns:
      The written file's path.
    """
    import numpy as np  # noqa: PLC0415

    from jaxunlearn import _io  # noqa: PLC0415

    def rows(value, n):
        return np.arange(n) if value is None else np.asarray(value)

    arrays = {
        "train_rows": rows(data.rows, len(data.x)),
        "test_rows": rows(data.test_rows, len(data.x_test)),
        "test_source": np.asarray(data.test_source),
        "seeds": np.asarray([u.seed for u in result.units]),
    }
    for unit in result.units:
        if unit.forget_rows is not None:  # absent in older checkpoints
            arrays[f"forget_rows_seed{unit.seed}"] = np.asarray(
                unit.forget_rows, np.int64
            )
    path = os.path.join(out, "split.npz")
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    _io.atomic_write_bytes(path, buf.getvalue())
    return path
