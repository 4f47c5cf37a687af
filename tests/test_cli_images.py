"""The ``feature`` command on images: default method and ``repaired.npz``."""

import json

import numpy as np
import pytest

from jaxunlearn import cli, experiments
from jaxunlearn.cli import _output
from jaxunlearn.experiments import FeatureResult, FeatureSplit


@pytest.fixture(scope="module")
def image_npz(tmp_path_factory):
    """8x8 noise; ``grp`` lights the top-left pixel, ``y`` a left bar."""
    rng = np.random.default_rng(0)
    n = 160
    grp = rng.integers(0, 2, n)
    y = rng.integers(0, 2, n)
    x = 0.1 * rng.random((n, 8, 8)).astype(np.float32)
    x[y == 1, 2:6, 1] += 0.8
    x[grp == 1, 0, 0] += 0.9
    path = tmp_path_factory.mktemp("img") / "img.npz"
    np.savez(path, x=x, grp=grp, y=y)
    return str(path), x, grp, y


def test_write_repaired_round_trips_both_splits(tmp_path, image_npz):
    path, x, grp, y = image_npz
    data = experiments.load_feature_data(f"npz:{path}", "grp")
    assert data.image_shape == (8, 8)
    assert experiments.default_method(data) == "latent_semidiscrete"
    flat = x.reshape(len(x), 64)
    tr, te = np.arange(100), np.arange(100, 160)
    split = FeatureSplit(flat[tr], grp[tr], y[tr], flat[te], grp[te], y[te])
    ts = (0.0, 0.5, 1.0)
    rep_tr = np.stack([flat[tr] + t for t in ts])
    rep_te = np.stack([flat[te] - t for t in ts])
    result = FeatureResult("m", ts, [], None, split, rep_tr, rep_te)
    written = _output.write_repaired(str(tmp_path), result, data, "grp")
    with np.load(written, allow_pickle=False) as f:
        arrays = dict(f)
    assert set(arrays) == {"t", "x_train", "x_train_repaired", "z_train",
                           "y_train", "x_test", "x_test_repaired", "z_test",
                           "y_test"}  # fmt: skip
    np.testing.assert_array_equal(arrays["t"], ts)
    np.testing.assert_array_equal(arrays["x_train"], x[tr])
    np.testing.assert_array_equal(arrays["x_test"], x[te])
    np.testing.assert_array_equal(
        arrays["x_train_repaired"], rep_tr.reshape(3, 100, 8, 8)
    )
    np.testing.assert_array_equal(
        arrays["x_test_repaired"], rep_te.reshape(3, 60, 8, 8)
    )
    for s, i in (("train", tr), ("test", te)):
        np.testing.assert_array_equal(arrays[f"z_{s}"], grp[i])
        np.testing.assert_array_equal(arrays[f"y_{s}"], y[i])
    # Tabular rows keep their shape; without a target there is no y.
    tab = data._replace(image_shape=None)
    result = result._replace(split=split._replace(y_train=None, y_test=None))
    written = _output.write_repaired(str(tmp_path), result, tab, "grp")
    with np.load(written, allow_pickle=False) as f:
        assert f["x_test_repaired"].shape == (3, 60, 64)
        assert "y_train" not in f and "y_test" not in f


@pytest.mark.slow
def test_feature_images_writes_both_splits(capsys, tmp_path, image_npz):
    path, x, grp, y = image_npz
    out = tmp_path / "out"
    argv = ["feature", "--data", f"npz:{path}", "--attribute", "grp",
            "--t", "0,0.5,1", "--auditors", "logistic", "--out", str(out),
            "--json", "--quiet"]  # fmt: skip
    assert cli.main(argv) == 0
    reply = json.loads(capsys.readouterr().out)
    assert reply["method"] == "latent_semidiscrete"  # the image default
    with np.load(out / "repaired.npz", allow_pickle=False) as f:
        arrays = dict(f)
    np.testing.assert_array_equal(arrays["t"], [0.0, 0.5, 1.0])
    n = {}
    for s in ("train", "test"):
        xs, rep = arrays[f"x_{s}"], arrays[f"x_{s}_repaired"]
        n[s] = xs.shape[0]
        assert xs.shape == (n[s], 8, 8) and rep.shape == (3, n[s], 8, 8)
        assert arrays[f"z_{s}"].shape == arrays[f"y_{s}"].shape == (n[s],)
        np.testing.assert_allclose(rep[0], xs, atol=1e-6)  # t = 0
        # t = 1: each row is one atom image, so the rows repeat.
        flat = rep[2].reshape(n[s], -1)
        assert np.unique(flat, axis=0).shape[0] < n[s] // 4
    assert n["train"] + n["test"] == x.shape[0]
    # The rows written are the data's rows, with their own z and y.
    row = {a.tobytes(): i for i, a in enumerate(x)}
    for s in ("train", "test"):
        idx = [row[a.tobytes()] for a in arrays[f"x_{s}"]]
        np.testing.assert_array_equal(arrays[f"z_{s}"], grp[idx])
        np.testing.assert_array_equal(arrays[f"y_{s}"], y[idx])
    # The corner pixel no longer tells the groups apart in new rows.
    te = arrays["x_test_repaired"][2, :, 0, 0]
    z_te = arrays["z_test"]
    assert abs(te[z_te == 1].mean() - te[z_te == 0].mean()) < 0.15
