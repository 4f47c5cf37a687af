"""Resumable runs: finished units saved atomically, one JSON file per run.

A run is a sequence of named units (a seed, a repair level ``t``, ...).
After each unit finishes, its JSON-serializable result is added to the
checkpoint file with an atomic write (temporary file + rename, via
``jaxunlearn._io``), so an interruption at any moment leaves either the
previous or the new checkpoint, never a torn one. With ``resume=True`` a
later run with the same settings skips the finished units and returns their
saved results; floats round-trip exactly through JSON, so the resumed run's
output equals an uninterrupted one's.
"""

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from jaxunlearn import _io

_FORMAT = "jaxunlearn.checkpoint"
_VERSION = 1


def _digest(config: Any, units: Any) -> str:
    """SHA-256 of the canonical JSON of the settings and finished units."""
    doc = json.dumps({"config": config, "units": units}, sort_keys=True)
    return hashlib.sha256(doc.encode("utf-8")).hexdigest()


def jsonable(value: Any) -> Any:
    """Converts arrays and NumPy scalars in a nested value to JSON types.

    Args:
      value: nested dicts / lists / tuples of numbers, strings and arrays.

    Returns:
      The same structure made of dicts, lists, floats, ints and strings.
    """
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray) or hasattr(value, "__array__"):
        arr = np.asarray(value)
        return arr.tolist() if arr.ndim else arr.item()
    if isinstance(value, np.generic):
        return value.item()
    return value


class Checkpoint:
    """Finished units of a run, persisted atomically.

    Args:
      path: the checkpoint file, or ``None`` for no persistence.
      config: the run's settings; a resumed run must have equal settings.
      resume: load the finished units of an earlier run from ``path``.

    Raises:
      ValueError: when resuming from an unreadable, damaged or tampered
        file (SHA-256 mismatch), one of another version, or one written
        with other settings.
    """

    def __init__(
        self,
        path: str | os.PathLike | None,
        config: Mapping[str, Any],
        *,
        resume: bool = False,
    ):
        self.path = None if path is None else os.fspath(path)
        self.config = jsonable(dict(config))
        self.units: dict[str, Any] = {}
        self.after_put: Callable[[str], None] | None = None
        if resume and self.path is not None and os.path.exists(self.path):
            try:
                with open(self.path, encoding="utf-8") as f:
                    data = json.load(f)
            except (OSError, ValueError) as err:
                raise ValueError(
                    f"resume: cannot read checkpoint {self.path!r} ({err})"
                ) from err
            if not isinstance(data, dict) or data.get("format") != _FORMAT:
                raise ValueError(
                    f"resume: {self.path!r} is not a jaxunlearn checkpoint"
                )
            if data.get("version") != _VERSION:
                raise ValueError(
                    f"resume: {self.path!r} has checkpoint version"
                    f" {data.get('version')!r}; this jaxunlearn reads version"
                    f" {_VERSION}"
                )
            if not isinstance(data.get("config"), dict) or not isinstance(
                data.get("units", {}), dict
            ):
                raise ValueError(
                    f"resume: {self.path!r} is a damaged checkpoint (config"
                    " and units must be objects)"
                )
            if data.get("sha256") != _digest(
                data["config"], data.get("units", {})
            ):
                raise ValueError(
                    f"resume: {self.path!r} fails its checksum: the"
                    " checkpoint was modified after it was written"
                )
            if data.get("config") != self.config:
                diff = sorted(
                    k
                    for k in set(self.config) | set(data.get("config", {}))
                    if self.config.get(k) != data["config"].get(k)
                )
                raise ValueError(
                    f"resume: checkpoint {self.path!r} was written with"
                    f" other settings (differing: {', '.join(diff)}); rerun"
                    " with the same settings or without resuming"
                )
            self.units = dict(data.get("units", {}))

    def get(self, unit: str) -> Any:
        """Returns a finished unit's saved result, or ``None``.

        Args:
          unit: the unit's name.

        Returns:
          The saved JSON value, or ``None`` when the unit has not finished.
        """
        return self.units.get(unit)

    def put(self, unit: str, value: Any) -> Any:
        """Records a finished unit and writes the checkpoint atomically.

        Args:
          unit: the unit's name.
          value: its result (converted with :func:`jsonable`).

        Returns:
          The stored JSON value (what a resumed run would read back).
        """
        stored = json.loads(json.dumps(jsonable(value)))
        self.units[unit] = stored
        if self.path is not None:
            doc = {
                "format": _FORMAT,
                "version": _VERSION,
                "config": self.config,
                "units": self.units,
                "sha256": _digest(self.config, self.units),
            }
            _io.atomic_write_text(self.path, json.dumps(doc) + "\n")
        if self.after_put is not None:
            self.after_put(unit)
        return stored
