"""The forget requests and models of the data-point runs.

The retain / forget / test split of a forget request, whose row indices
refer to the user's own rows (``make_split``), the held-out rows a
calibrated method may read (``split_holdout``), and the MLP of a run (one
forward pass per architecture, so compilations are shared across seeds)
with its parameters saved pickle-free beside their architecture.
"""

import functools
import os
from collections.abc import Callable
from typing import Any

import jax
import numpy as np
from flax import nnx

from jaxunlearn import datasets, models
from jaxunlearn._pytree_io import load_pytree, load_pytree_meta, save_pytree
from jaxunlearn.experiments._data import ClassificationData


def make_split(
    data: ClassificationData, forget: tuple, key: jax.Array
) -> datasets.UnlearningSplit:
    """Builds the retain / forget / test split of a forget spec.

    Args:
      data: the training and held-out rows.
      forget: ``("class", c, fraction)`` (a random fraction of class
        ``c``'s training rows) or ``("indices", [i, ...])`` (rows of the
        source: see :func:`training_positions`).
      key: PRNG key for the class-fraction draw.

    Returns:
      A ``jaxunlearn.datasets.UnlearningSplit``.

    Raises:
      ValueError: when the spec does not fit the data.
    """
    if forget[0] == "class":
        c = int(forget[1])
        if not 0 <= c < data.num_classes:
            raise ValueError(
                f"forget: class {c} is not in [0, {data.num_classes})"
            )
        return datasets.forget_class_fraction(
            key,
            data.x,
            data.y,
            data.x_test,
            data.y_test,
            c,
            float(forget[2]),
            num_classes=data.num_classes,
        )
    positions = training_positions(data, forget[1])
    try:
        return datasets.forget_indices(
            data.x,
            data.y,
            data.x_test,
            data.y_test,
            positions,
            num_classes=data.num_classes,
        )
    except (ValueError, TypeError) as err:
        raise ValueError(f"forget: {err}") from None


def split_holdout(
    split: datasets.UnlearningSplit, *, key: jax.Array | None = None
) -> tuple[datasets.UnlearningSplit, tuple[jax.Array, jax.Array]]:
    """Sets half of the held-out rows aside for a method that reads them.

    A calibrated method (``datapoint.unlearn(gamma="auto", holdout=...)``)
    looks at held-out rows; scoring it on the same rows would flatter it.
    The held-out rows are cut in two: ``m // 2`` rows for the method, the
    other rows stay in the split as its test rows, the only rows it is
    scored on.

    Args:
      split: an ``UnlearningSplit`` with ``m >= 2`` test rows.
      key: ``None`` sets the first ``m // 2`` test rows aside; a PRNG key
        sets a random half aside (a random permutation's first half).

    Returns:
      ``(scored, (x_holdout, y_holdout))``: the split with the other half
      as its test rows, and the rows set aside.

    Raises:
      ValueError: when the split has fewer than two test rows.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxunlearn import datasets
      >>> s = datasets.forget_indices(jnp.zeros((4, 2)), jnp.arange(4) % 2,
      ...     jnp.ones((5, 2)), jnp.arange(5) % 2, [0])
      >>> scored, (x_hold, y_hold) = split_holdout(s)
      >>> scored.x_test.shape, x_hold.shape
      ((3, 2), (2, 2))
    """
    m = 0 if split.x_test is None else int(split.x_test.shape[0])
    if m < 2:
        raise ValueError(
            f"split: expected at least 2 test rows to cut in two, got {m}"
        )
    if key is None:
        hold, score = slice(0, m // 2), slice(m // 2, m)
    else:
        perm = np.asarray(jax.random.permutation(key, m))
        hold, score = perm[: m // 2], perm[m // 2 :]
    scored = split._replace(
        x_test=split.x_test[score], y_test=split.y_test[score]
    )
    return scored, (split.x_test[hold], split.y_test[hold])


def training_positions(data: ClassificationData, rows: Any) -> np.ndarray:
    """Positions in ``data.x`` of source rows (the user's file's rows).

    Args:
      data: the loaded data; ``data.rows`` maps training rows to source
        rows (``None``: the identity).
      rows: ``[k]`` integer rows of the source (the file's ``x``).

    Returns:
      ``[k]`` int64 positions into ``data.x``.

    Raises:
      ValueError: for a row outside the source or one that was held out
        for testing.
    """
    rows = np.asarray(rows)
    if rows.dtype.kind not in "iu":
        raise ValueError(f"forget: expected integer rows, got {rows.dtype}")
    rows = rows.astype(np.int64).ravel()
    if data.rows is None:
        return rows
    n_source = len(data.rows) + (
        len(data.x_test) if data.test_source == "x" else 0
    )
    bad = rows[(rows < 0) | (rows >= n_source)]
    if bad.size:
        raise ValueError(
            f"forget: rows must be in [0, {n_source}) (the rows of"
            f" {data.name}), got {bad[:5].tolist()}"
        )
    where = np.full(n_source, -1, np.int64)
    where[np.asarray(data.rows)] = np.arange(len(data.rows))
    pos = where[rows]
    held = rows[pos < 0]
    if held.size:
        raise ValueError(
            f"forget: rows {held[:5].tolist()} (of {held.size}) are held out"
            f" for testing (20% of {data.name}'s rows, stratified by class),"
            " not training rows; an npz file with 'x_test' / 'y_test' arrays"
            " chooses the held-out rows itself"
        )
    return pos


def _holdout_rows(split) -> tuple[jax.Array, jax.Array]:
    # Non-members for the attacks: held-out rows of the forget classes.
    classes = np.unique(np.asarray(split.y_forget))
    keep = np.isin(np.asarray(split.y_test), classes)
    if keep.sum() < 2:
        keep = np.ones_like(keep)
    idx = np.flatnonzero(keep)
    return split.x_test[idx], split.y_test[idx]


@functools.lru_cache(maxsize=8)
def _apply_fn(d: int, hidden: tuple[int, ...], num_classes: int):
    # One forward pass per architecture, so jit caches keyed on it (static
    # argument) are reused across seeds and runs in one process.
    return models.functional(
        models.MLP(d, hidden, num_classes, rngs=nnx.Rngs(0))
    )[0]


def _model(data: ClassificationData, hidden, seed: int):
    d = int(np.prod(data.x.shape[1:]))
    hidden = tuple(int(h) for h in hidden)
    params = models.functional(
        models.MLP(d, hidden, data.num_classes, rngs=nnx.Rngs(seed))
    )[1]
    return _apply_fn(d, hidden, data.num_classes), params


def _source_rows(data: ClassificationData, positions) -> list[int]:
    pos = np.asarray(positions, np.int64)
    rows = pos if data.rows is None else np.asarray(data.rows)[pos]
    return [int(r) for r in rows]


def _save_model(model_dir, seed, name, params, data, config) -> None:
    meta = {
        "model": name,
        "seed": int(seed),
        "data": data.name,
        "input_dim": int(np.prod(data.x.shape[1:])),
        "hidden": [int(h) for h in config.hidden],
        "num_classes": int(data.num_classes),
    }
    folder = os.path.join(os.fspath(model_dir), f"seed-{seed}")
    os.makedirs(folder, exist_ok=True)
    save_pytree(os.path.join(folder, f"{name}.npz"), params, meta=meta)


def load_model(path: str | os.PathLike) -> tuple[Callable, Any, dict]:
    """Loads a model saved by a data-point run (``OUT/models/...``).

    The architecture (an MLP, ``jaxunlearn.models.MLP``) is rebuilt from
    the metadata saved with the parameters; the file holds arrays only (no
    pickle) and is checked against its SHA-256 checksum.

    Args:
      path: a ``NAME.npz`` written by :func:`run_datapoint` with
        ``model_dir``.

    Returns:
      ``(apply_fn, params, meta)``: ``apply_fn(params, x) -> logits`` on
      rows ``x`` of shape ``[n, input_dim]`` or images ``[n, h, w]``, and the
      metadata (``model``, ``seed``, ``data``, ``input_dim``, ``hidden``,
      ``num_classes``).

    Raises:
      ValueError: on a missing, damaged or foreign file.

    Examples:
      >>> from jaxunlearn import experiments  # doctest: +SKIP
      >>> apply_fn, params, meta = experiments.load_model(
      ...     "reports/datapoint/models/seed-0/unlearned.npz")  # doctest: +SKIP
      >>> logits = apply_fn(params, x.reshape(len(x), -1))  # doctest: +SKIP
    """
    meta = load_pytree_meta(path)
    try:
        d, hidden = int(meta["input_dim"]), tuple(meta["hidden"])
        c = int(meta["num_classes"])
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            f"path: {os.fspath(path)!r} is not a model saved by a data-point"
            " run (no input_dim / hidden / num_classes metadata)"
        ) from None
    like = models.functional(models.MLP(d, hidden, c, rngs=nnx.Rngs(0)))[1]
    params = load_pytree(path, like)
    return _apply_fn(d, hidden, c), params, meta
