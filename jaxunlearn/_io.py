"""Safe persistence: atomic writes and versioned, pickle-free ``.npz`` files.

Every file the library writes goes through :func:`atomic_write_bytes`: the
bytes land in a temporary file in the target directory, are flushed to disk,
and replace the target with one ``os.replace``. An interrupted save leaves the
previous file intact. Array bundles are ``.npz`` archives read with
``allow_pickle=False``; their metadata is a JSON document stored as bytes, with
a ``kind`` and a ``format_version`` checked on load, and a SHA-256
checksum of the arrays (names, dtypes, shapes and bytes) and of the header
itself, so a file edited after it was written (tampered with, or damaged in
a way the zip CRCs miss) fails to load with a clear error. The checksum
guards against accidents and casual edits, not against an adversary who
recomputes it.
"""

import hashlib
import io
import json
import os
import tempfile
from collections.abc import Mapping
from typing import Any

import numpy as np

FORMAT_VERSION = 1
_META_KEY = "__jaxunlearn_meta__"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Writes ``data`` to ``path`` atomically (temporary file + rename)."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=directory, prefix=".tmp-" + os.path.basename(path) + "-"
    )
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates the file 0600; give it the usual mode (0666 less
        # the process umask), as a plain open() would.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Writes UTF-8 ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def _checksum(arrays: Mapping[str, np.ndarray], header: Mapping) -> str:
    """SHA-256 over the header (without its checksum) and every array."""
    h = hashlib.sha256()
    head = {k: v for k, v in header.items() if k != "sha256"}
    h.update(json.dumps(head, sort_keys=True).encode("utf-8"))
    for name in sorted(arrays):
        arr = np.ascontiguousarray(arrays[name])
        h.update(f"\0{name}\0{arr.dtype.str}\0{arr.shape}\0".encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def save_arrays(
    path: str | os.PathLike,
    arrays: Mapping[str, Any],
    *,
    kind: str,
    meta: Mapping[str, Any] | None = None,
) -> None:
    """Saves named arrays and JSON metadata to a versioned ``.npz`` file.

    Args:
      path: destination file.
      arrays: name -> array (numeric dtypes only; no objects).
      kind: what the file holds, checked on load (e.g. ``"feature.repair"``).
      meta: JSON-serializable metadata.

    Raises:
      TypeError: when an array has an object dtype or meta is not JSON.
    """
    header = {
        "kind": kind,
        "format_version": FORMAT_VERSION,
        "meta": dict(meta or {}),
    }
    payload = {}
    for name, value in arrays.items():
        arr = np.asarray(value)
        if arr.dtype == object:
            raise TypeError(f"arrays[{name!r}]: object arrays cannot be saved")
        payload[name] = arr
    try:
        header["sha256"] = _checksum(payload, header)
        header_bytes = json.dumps(header, sort_keys=True).encode("utf-8")
    except TypeError as err:
        raise TypeError(
            f"meta: expected JSON-serializable values ({err})"
        ) from err
    payload[_META_KEY] = np.frombuffer(header_bytes, dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **payload)
    atomic_write_bytes(path, buf.getvalue())


def load_arrays(
    path: str | os.PathLike, *, kind: str
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Loads a file written by :func:`save_arrays`, checking kind and version.

    Args:
      path: the file.
      kind: the expected kind.

    Returns:
      ``(arrays, meta)``.

    Raises:
      ValueError: unreadable, tampered (checksum mismatch), of another kind
        or of an unknown format version.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"path: no such file {path!r}")
    try:
        # Open the file ourselves: np.load leaks its handle when the zip
        # directory is unreadable.
        with open(path, "rb") as f:
            data = np.load(f, allow_pickle=False)
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise ValueError("not an .npz archive")
            with data:
                arrays = {k: np.array(data[k]) for k in data.files}
    except Exception as err:  # noqa: BLE001 - any parse failure is bad data.
        raise ValueError(
            f"path: {path!r} is not a readable jaxunlearn file ({err})"
        ) from err
    raw = arrays.pop(_META_KEY, None)
    if raw is None:
        raise ValueError(f"path: {path!r} has no jaxunlearn header")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"path: {path!r} has a corrupt header") from err
    if not isinstance(header, dict) or "format_version" not in header:
        raise ValueError(f"path: {path!r} has a corrupt header")
    if header.get("kind") != kind:
        raise ValueError(
            f"path: expected a {kind!r} file, got {header.get('kind')!r}"
        )
    if header["format_version"] != FORMAT_VERSION:
        raise ValueError(
            f"path: {path!r} has format version {header['format_version']!r};"
            f" this jaxunlearn reads version {FORMAT_VERSION}"
        )
    if header.get("sha256") != _checksum(arrays, header):
        raise ValueError(
            f"path: {path!r} fails its checksum: the file was modified after"
            " it was written (tampered or damaged)"
        )
    return arrays, header.get("meta", {})
