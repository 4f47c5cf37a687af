"""Saving and loading pytrees of arrays (parameters, histories) safely.

A pytree is flattened into its leaves, which are written with
:func:`jaxunlearn._io.save_arrays` (versioned, checksummed ``.npz``, atomic,
no pickle) together with each leaf's key path. Loading needs a template
pytree of the same structure (``like``): the structure is never read from
the file, so loading runs no code from it, and a file whose key paths,
shapes or dtypes differ from the template's fails with a clear error.
"""

import os
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxunlearn import _io

_KIND = "pytree"


def _is_key(leaf: Any) -> bool:
    return isinstance(leaf, jax.Array) and jnp.issubdtype(
        leaf.dtype, jax.dtypes.prng_key
    )


def _flatten(tree: Any) -> tuple[list[str], list[Any], Any]:
    pairs, treedef = jax.tree_util.tree_flatten_with_path(tree)
    paths = [jax.tree_util.keystr(kp) for kp, _ in pairs]
    return paths, [leaf for _, leaf in pairs], treedef


def save_pytree(
    path: str | os.PathLike,
    tree: Any,
    *,
    meta: Mapping[str, Any] | None = None,
) -> None:
    """Saves a pytree of arrays to a versioned ``.npz`` file (atomic, safe).

    Each leaf is stored as an array with its key path (``"['w']"``,
    ``".history.loss"``, ...); typed PRNG keys are stored as their key data.
    The file carries a format version and a SHA-256 checksum; an
    interrupted save leaves the previous file intact.

    Args:
      path: destination file.
      tree: a pytree whose leaves are arrays or numbers (model parameters,
        an optimizer state, an :class:`~jaxunlearn.datapoint.UnlearnHistory`,
        a dict of metrics, ...).
      meta: JSON-serializable run metadata stored alongside (e.g. the
        settings and seed); read back with ``load_pytree(...,
        with_meta=True)``.

    Returns:
      None.

    Raises:
      TypeError: on a leaf that is not numeric or ``meta`` that is not JSON.

    Examples:
      >>> import tempfile, os, jax.numpy as jnp
      >>> import jaxunlearn as ju
      >>> params = {"w": jnp.ones((2, 2)), "b": jnp.zeros(2)}
      >>> path = os.path.join(tempfile.mkdtemp(), "params.npz")
      >>> ju.save_pytree(path, params, meta={"seed": 0})
      >>> ju.load_pytree(path, like=params)["w"].tolist()
      [[1.0, 1.0], [1.0, 1.0]]
    """
    paths, leaves, _ = _flatten(tree)
    arrays, impls = {}, []
    for i, leaf in enumerate(leaves):
        if _is_key(leaf):
            impls.append(str(jax.random.key_impl(leaf)))
            leaf = jax.random.key_data(leaf)
        else:
            impls.append(None)
        arr = np.asarray(leaf)
        if arr.dtype == object or not (
            np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_
        ):
            raise TypeError(
                f"tree{paths[i]}: expected a numeric array leaf, got"
                f" {type(leaf).__name__} of dtype {arr.dtype}"
            )
        arrays[f"leaf_{i:06d}"] = arr
    header = {"paths": paths, "key_impls": impls, "user": dict(meta or {})}
    _io.save_arrays(path, arrays, kind=_KIND, meta=header)


def load_pytree_meta(path: str | os.PathLike) -> dict[str, Any]:
    """The ``meta`` saved by :func:`save_pytree`, without a template.

    Args:
      path: the file.

    Returns:
      The ``meta`` mapping (empty when none was saved).

    Raises:
      ValueError: on a missing, unreadable, tampered or foreign file.
    """
    _, header = _io.load_arrays(path, kind=_KIND)
    return dict(header.get("user") or {})


def load_pytree(
    path: str | os.PathLike, like: Any, *, with_meta: bool = False
) -> Any:
    """Loads a pytree written by :func:`save_pytree` into ``like``'s shape.

    Args:
      path: the file.
      like: a template pytree with the structure, shapes and dtypes
        expected (e.g. freshly initialized parameters); its values are not
        used.
      with_meta: also return the ``meta`` saved with the tree.

    Returns:
      The loaded pytree (leaves as JAX arrays), or ``(tree, meta)`` with
      ``with_meta``.

    Raises:
      ValueError: on a missing, unreadable, tampered (checksum) or foreign
        file, an unknown format version, or key paths, shapes or dtypes
        that differ from ``like``'s.

    Examples:
      >>> import tempfile, os, jax.numpy as jnp
      >>> import jaxunlearn as ju
      >>> path = os.path.join(tempfile.mkdtemp(), "h.npz")
      >>> ju.save_pytree(path, {"loss": jnp.arange(3.0)}, meta={"gamma": 4})
      >>> tree, meta = ju.load_pytree(path, {"loss": jnp.zeros(3)},
      ...                             with_meta=True)
      >>> tree["loss"].tolist(), meta
      ([0.0, 1.0, 2.0], {'gamma': 4})
    """
    arrays, header = _io.load_arrays(path, kind=_KIND)
    paths, leaves, treedef = _flatten(like)
    saved = header.get("paths")
    impls = header.get("key_impls") or [None] * len(paths)
    if saved != paths:
        missing = sorted(set(paths) - set(saved or []))[:5]
        extra = sorted(set(saved or []) - set(paths))[:5]
        raise ValueError(
            f"path: {os.fspath(path)!r} holds another tree structure than"
            f" like (missing {missing}, unexpected {extra})"
        )
    out = []
    for i, (name, ref) in enumerate(zip(paths, leaves, strict=True)):
        arr = arrays.get(f"leaf_{i:06d}")
        if arr is None:
            raise ValueError(f"path: the file lacks the leaf like{name}")
        want = jax.random.key_data(ref) if _is_key(ref) else ref
        want_shape = tuple(np.shape(want))
        want_dtype = jnp.result_type(want)
        if arr.shape != want_shape or jnp.result_type(arr) != want_dtype:
            raise ValueError(
                f"path: leaf like{name} has shape {arr.shape} and dtype"
                f" {arr.dtype} in the file, expected {want_shape} and"
                f" {want_dtype}"
            )
        leaf = jnp.asarray(arr)
        if _is_key(ref):
            leaf = jax.random.wrap_key_data(leaf, impl=impls[i])
        out.append(leaf)
    tree = jax.tree_util.tree_unflatten(treedef, out)
    return (tree, header.get("user", {})) if with_meta else tree
