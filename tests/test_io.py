import os

import numpy as np
import pytest

from jaxunlearn import _io


def test_roundtrip(tmp_path):
    p = tmp_path / "a.npz"
    _io.save_arrays(p, {"x": np.arange(3.0)}, kind="test.kind", meta={"n": 3})
    arrays, meta = _io.load_arrays(p, kind="test.kind")
    np.testing.assert_array_equal(arrays["x"], np.arange(3.0))
    assert meta == {"n": 3}


def test_wrong_kind_version_and_tampering(tmp_path):
    p = tmp_path / "a.npz"
    _io.save_arrays(p, {"x": np.zeros(2)}, kind="k1")
    with pytest.raises(ValueError, match="expected a 'k2' file"):
        _io.load_arrays(p, kind="k2")
    q = tmp_path / "bad.npz"
    q.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="not a readable"):
        _io.load_arrays(q, kind="k1")
    with pytest.raises(ValueError, match="no such file"):
        _io.load_arrays(tmp_path / "missing.npz", kind="k1")
    np.savez(tmp_path / "plain.npz", x=np.zeros(1))
    with pytest.raises(ValueError, match="no jaxunlearn header"):
        _io.load_arrays(tmp_path / "plain.npz", kind="k1")


def test_unknown_version(tmp_path, monkeypatch):
    p = tmp_path / "v.npz"
    monkeypatch.setattr(_io, "FORMAT_VERSION", 99)
    _io.save_arrays(p, {"x": np.zeros(1)}, kind="k")
    monkeypatch.setattr(_io, "FORMAT_VERSION", 1)
    with pytest.raises(ValueError, match="format version 99"):
        _io.load_arrays(p, kind="k")


def test_atomic_write_keeps_old_file_on_failure(tmp_path, monkeypatch):
    p = tmp_path / "f.txt"
    _io.atomic_write_text(p, "old")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        _io.atomic_write_text(p, "new")
    assert p.read_text() == "old"
    assert [f.name for f in tmp_path.iterdir()] == ["f.txt"]


def test_object_arrays_rejected(tmp_path):
    with pytest.raises(TypeError, match="object arrays"):
        _io.save_arrays(
            tmp_path / "o.npz",
            {"x": np.array([1, "a"], dtype=object)},
            kind="k",
        )


def test_written_files_get_the_usual_mode(tmp_path):
    p = tmp_path / "m.txt"
    _io.atomic_write_text(p, "x")
    mask = os.umask(0)
    os.umask(mask)
    assert (p.stat().st_mode & 0o777) == (0o666 & ~mask)
