"""Bounded fuzzing of the file readers (hypothesis, a few seconds).

Random bytes and single-byte mutations / truncations of valid files are fed
to every reader of user files; the only acceptable failures are the
documented ``ValueError`` (and ``FileNotFoundError`` for a missing IDX
file). Any other exception, or a silent success on a damaged file, is a bug.
"""

import io
import os
import tempfile

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jaxunlearn import _io, datasets, feature

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def _valid_npz() -> bytes:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "a.npz")
        _io.save_arrays(
            path,
            {"x": np.arange(12.0).reshape(3, 4), "z": np.arange(3)},
            kind="fuzz.kind",
            meta={"n": 3},
        )
        with open(path, "rb") as f:
            return f.read()


VALID_NPZ = _valid_npz()


def _valid_idx() -> bytes:
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    header = bytes([0, 0, 0x08, 3]) + b"".join(
        int(s).to_bytes(4, "big") for s in arr.shape
    )
    return header + arr.tobytes()


VALID_IDX = _valid_idx()


def mutations(valid: bytes):
    """Random bytes, or the valid file with a byte changed / truncated."""
    flip = st.tuples(st.integers(0, len(valid) - 1), st.integers(1, 255)).map(
        lambda p: (
            valid[: p[0]] + bytes([valid[p[0]] ^ p[1]]) + valid[p[0] + 1 :]
        )
    )
    cut = st.integers(0, len(valid) - 1).map(lambda n: valid[:n])
    return st.one_of(st.binary(max_size=256), flip, cut)


def _write(data: bytes, suffix: str) -> str:
    fd, path = tempfile.mkstemp(suffix=suffix)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


@FUZZ
@given(mutations(VALID_NPZ))
def test_fuzz_load_arrays(data):
    path = _write(data, ".npz")
    try:
        arrays, meta = _io.load_arrays(path, kind="fuzz.kind")
    except ValueError:
        return
    finally:
        os.unlink(path)
    # A damaged file never loads silently: a success means the bytes that
    # matter were untouched (e.g. a flip in zip padding or a comment).
    np.testing.assert_array_equal(arrays["x"], np.arange(12.0).reshape(3, 4))
    np.testing.assert_array_equal(arrays["z"], np.arange(3))
    assert meta == {"n": 3}


@FUZZ
@given(mutations(VALID_NPZ))
def test_fuzz_feature_load(data):
    path = _write(data, ".npz")
    try:
        feature.load(path)
    except ValueError:
        pass
    finally:
        os.unlink(path)


@FUZZ
@given(mutations(VALID_IDX))
def test_fuzz_read_idx(data):
    path = _write(data, ".idx")
    try:
        out = datasets.read_idx(path)
    except ValueError:
        return
    finally:
        os.unlink(path)
    assert isinstance(out, np.ndarray)
    assert out.size == int(np.prod(out.shape))


def test_truncated_valid_files_never_load(tmp_path):
    # Exhaustively: every strict prefix of a valid .npz is rejected.
    for n in range(0, len(VALID_NPZ), max(1, len(VALID_NPZ) // 64)):
        p = tmp_path / "t.npz"
        p.write_bytes(VALID_NPZ[:n])
        try:
            _io.load_arrays(p, kind="fuzz.kind")
        except ValueError:
            continue
        raise AssertionError(f"a {n}-byte prefix loaded")
    assert io.BytesIO(VALID_NPZ).getbuffer().nbytes == len(VALID_NPZ)


# ---------------------------------------------- user files of the CLI runs
def _valid_csv() -> bytes:
    rows = ["age,income,sex,y"]
    rows += [
        f"{20 + i},{1000 * (i % 7)},{'mf'[i % 2]},{i % 3 == 0:d}"
        for i in range(12)
    ]
    return ("\n".join(rows) + "\n").encode()


VALID_CSV = _valid_csv()


def _valid_classification_npz() -> bytes:
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    np.savez(
        buf,
        x=rng.normal(size=(20, 3)).astype(np.float32),
        y=np.arange(20) % 2,
    )
    return buf.getvalue()


VALID_CLS_NPZ = _valid_classification_npz()


def csv_mutations():
    """Valid CSV with a byte changed, a line dropped, or random text."""
    lines = VALID_CSV.decode().splitlines()
    drop = st.integers(0, len(lines) - 1).map(
        lambda i: ("\n".join(lines[:i] + lines[i + 1 :]) + "\n").encode()
    )
    junk = st.text(
        alphabet=st.sampled_from(list('0123456789,.-\n"ab \tnaNINF')),
        max_size=200,
    ).map(str.encode)
    return st.one_of(mutations(VALID_CSV), drop, junk)


@FUZZ
@given(csv_mutations())
def test_fuzz_feature_csv(data):
    from jaxunlearn import experiments

    path = _write(data, ".csv")
    try:
        out = experiments.load_feature_data("csv:" + path, "sex")
    except ValueError:
        return
    finally:
        os.unlink(path)
    assert np.all(np.isfinite(out.x))
    assert out.x.shape[0] == out.z.shape[0]


@FUZZ
@given(mutations(VALID_CLS_NPZ))
def test_fuzz_classification_npz(data):
    from jaxunlearn import experiments

    path = _write(data, ".npz")
    try:
        out = experiments.load_classification("npz:" + path)
    except ValueError:
        return
    finally:
        os.unlink(path)
    assert np.all(np.isfinite(out.x))
    assert out.y.min() >= 0 and out.y.max() < out.num_classes


@FUZZ
@given(st.text(max_size=40))
def test_fuzz_parse_forget(spec):
    from jaxunlearn import cli

    try:
        out = cli.parse_forget(spec)
    except ValueError:
        return
    assert out[0] in ("class", "indices")
