"""Typed fitted statistics of the repair methods, and how they are saved.

A method's fitted statistics are a :func:`repair_state` class: a frozen
dataclass registered with :func:`jax.tree_util.register_dataclass`, whose
fields are arrays, tuples of arrays (e.g. a network's parameter leaves) or
``None`` (an absent optional part). Every field is a pytree child, so the
state passes through ``jit`` and ``vmap``. On disk each array field is one
named array, and a tuple field ``f`` the arrays ``f_00000``, ``f_00001``,
..., which :func:`state_from_arrays` reads back without pickle.
"""

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

import jax


def repair_state(cls: type) -> type:
    """Makes ``cls`` a frozen, pytree-registered state dataclass.

    Fields with a default (``None``) are optional: they may be missing from
    a saved file (e.g. a diagnostic added later) and load as the default.
    ``state["name"]`` reads a field, as the untyped dicts of earlier
    versions did.

    Args:
      cls: a class with annotated fields.

    Returns:
      The frozen dataclass, registered as a pytree.
    """
    cls.__getitem__ = _getitem
    cls = dataclasses.dataclass(frozen=True)(cls)
    return jax.tree_util.register_dataclass(cls)


def _getitem(self, name: str) -> Any:
    if not isinstance(name, str) or name not in _field_names(type(self)):
        raise KeyError(name)
    return getattr(self, name)


def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def state_to_arrays(stats: Any) -> dict[str, Any]:
    """The named arrays of a state (or of a legacy flat dict) for saving.

    Args:
      stats: a :func:`repair_state` instance or a ``dict`` of arrays.

    Returns:
      A flat ``dict[str, array]``.

    Raises:
      TypeError: on anything else.
    """
    if isinstance(stats, Mapping):
        return dict(stats)
    if not dataclasses.is_dataclass(stats):
        raise TypeError(
            "stats: expected a repair_state dataclass or a dict of arrays,"
            f" got {type(stats).__name__}"
        )
    out = {}
    for f in dataclasses.fields(stats):
        value = getattr(stats, f.name)
        if value is None:
            continue
        if isinstance(value, tuple | list):
            for i, leaf in enumerate(value):
                out[f"{f.name}_{i:05d}"] = leaf
        else:
            out[f.name] = value
    return out


def state_from_arrays(cls: type | None, arrays: Mapping[str, Any]) -> Any:
    """Rebuilds a state of class ``cls`` from :func:`state_to_arrays` output.

    Args:
      cls: the method's state class, or ``None`` for a legacy dict.
      arrays: the named arrays.

    Returns:
      The state (or the dict when ``cls`` is None).

    Raises:
      KeyError: a required field is missing.
    """
    if cls is None:
        return dict(arrays)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in arrays:
            kwargs[f.name] = arrays[f.name]
            continue
        pattern = re.compile(re.escape(f.name) + r"_\d{5}")
        parts = sorted(k for k in arrays if pattern.fullmatch(k))
        if parts:
            kwargs[f.name] = tuple(arrays[k] for k in parts)
        elif f.default is dataclasses.MISSING:
            raise KeyError(f.name)
    return cls(**kwargs)
