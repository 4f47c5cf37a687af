"""Persistence without loss or trust: round trips, atomicity, tampering.

Every public save goes through ``jaxunlearn._io`` (versioned, checksummed,
pickle-free ``.npz`` or atomic JSON); these tests check the round trips are
bitwise, an interrupted save keeps the previous file, and a file from
another version, of another structure or edited after writing is refused.
"""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxunlearn as ju
from jaxunlearn import _io, datapoint, experiments, feature
from tests.datapoint._problems import tiny_model, tiny_split
from tests.test_determinism import assert_bitwise_equal


@pytest.fixture(scope="module")
def unlearned():
    split, _ = tiny_split()
    apply_fn, params = tiny_model()
    out = datapoint.unlearn(
        apply_fn, params, split, epochs=2, key=jax.random.key(0)
    )
    return params, out


def test_unlearned_params_and_history_round_trip(tmp_path, unlearned):
    like, out = unlearned
    path = tmp_path / "run.npz"
    meta = {"gamma": 4.0, "seed": 0, "epochs": 2}
    ju.save_pytree(path, out, meta=meta)
    back, meta_back = ju.load_pytree(path, like=out, with_meta=True)
    assert_bitwise_equal(back, out)
    assert meta_back == meta
    assert isinstance(back.history, datapoint.UnlearnHistory)
    # Parameters alone, into a freshly initialized template.
    ju.save_pytree(tmp_path / "p.npz", out.params)
    assert_bitwise_equal(ju.load_pytree(tmp_path / "p.npz", like), out.params)


def test_files_are_plain_npz_without_pickle(tmp_path, unlearned):
    _, out = unlearned
    path = tmp_path / "p.npz"
    ju.save_pytree(path, out.params)
    with np.load(path, allow_pickle=False) as data:
        assert all(data[k].dtype != object for k in data.files)


def test_structure_shape_dtype_mismatch_refused(tmp_path):
    path = tmp_path / "t.npz"
    ju.save_pytree(path, {"w": jnp.ones((2, 3)), "b": jnp.zeros(3)})
    with pytest.raises(ValueError, match="another tree structure"):
        ju.load_pytree(path, {"w": jnp.ones((2, 3))})
    with pytest.raises(ValueError, match=r"leaf like\['w'\] has shape"):
        ju.load_pytree(path, {"w": jnp.ones((3, 2)), "b": jnp.zeros(3)})
    with pytest.raises(ValueError, match="dtype"):
        ju.load_pytree(
            path, {"w": jnp.ones((2, 3), jnp.int32), "b": jnp.zeros(3)}
        )
    rep = feature.fit(
        jnp.arange(4.0)[:, None], jnp.array([0, 0, 1, 1]), method="quantile"
    )
    feature.save(rep, tmp_path / "r.npz")
    with pytest.raises(ValueError, match="expected a 'pytree' file"):
        ju.load_pytree(tmp_path / "r.npz", {"w": jnp.ones(1)})


def test_non_numeric_leaf_refused(tmp_path):
    with pytest.raises(TypeError, match="expected a numeric array leaf"):
        ju.save_pytree(tmp_path / "x.npz", {"name": "adam"})


def test_keys_round_trip(tmp_path):
    tree = {"key": jax.random.key(7), "raw": jax.random.PRNGKey(3)}
    ju.save_pytree(tmp_path / "k.npz", tree)
    back = ju.load_pytree(tmp_path / "k.npz", tree)
    assert_bitwise_equal(back, tree)
    a = jax.random.normal(back["key"], (3,))
    np.testing.assert_array_equal(a, jax.random.normal(tree["key"], (3,)))


def _edit_npz(path, fn):
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: np.array(data[k]) for k in data.files}
    np.savez(path, **fn(arrays))


def test_tampered_and_foreign_version_refused(tmp_path, monkeypatch):
    path = tmp_path / "p.npz"
    ju.save_pytree(path, {"w": jnp.arange(4.0)})
    _edit_npz(path, lambda a: {**a, "leaf_000000": a["leaf_000000"] + 1})
    with pytest.raises(ValueError, match="fails its checksum"):
        ju.load_pytree(path, {"w": jnp.zeros(4)})
    monkeypatch.setattr(_io, "FORMAT_VERSION", 2)
    ju.save_pytree(path, {"w": jnp.arange(4.0)})
    monkeypatch.setattr(_io, "FORMAT_VERSION", 1)
    with pytest.raises(ValueError, match="format version 2"):
        ju.load_pytree(path, {"w": jnp.zeros(4)})


def test_tampered_metadata_refused(tmp_path):
    x = jax.random.normal(jax.random.key(0), (12, 2))
    z = jnp.arange(12) % 2
    path = tmp_path / "r.npz"
    feature.save(feature.fit(x, z, method="gaussian"), path)

    def edit(a):
        head = json.loads(a["__jaxunlearn_meta__"].tobytes())
        head["meta"]["n_features"] = 3
        a["__jaxunlearn_meta__"] = np.frombuffer(
            json.dumps(head).encode(), np.uint8
        )
        return a

    _edit_npz(path, edit)
    with pytest.raises(ValueError, match="fails its checksum"):
        feature.load(path)


def test_feature_repair_round_trip_is_exact(tmp_path):
    x = jax.random.normal(jax.random.key(0), (30, 3))
    z = jnp.arange(30) % 3
    for method in ("gaussian", "quantile", "coupling"):
        rep = feature.fit(x, z, method=method)
        path = tmp_path / f"{method}.npz"
        feature.save(rep, path)
        back = feature.load(path)
        assert_bitwise_equal(
            feature.transform(back, x, z, t=0.5),
            feature.transform(rep, x, z, t=0.5),
        )


def test_interrupted_save_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "p.npz"
    old = {"w": jnp.arange(3.0)}
    ju.save_pytree(path, old)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # as if the process were killed mid-save

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        ju.save_pytree(path, {"w": jnp.arange(3.0) + 1})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert_bitwise_equal(ju.load_pytree(path, old), old)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.npz"]


def test_checkpoint_round_trip_and_tampering(tmp_path):
    path = tmp_path / "ck.json"
    ck = experiments.Checkpoint(path, {"seed": 1, "gamma": 4.0})
    ck.put("seed0", {"acc": 0.1 + 0.2, "curve": np.linspace(0, 1, 3)})
    again = experiments.Checkpoint(path, {"seed": 1, "gamma": 4.0}, resume=True)
    assert again.get("seed0") == {"acc": 0.1 + 0.2, "curve": [0.0, 0.5, 1.0]}
    doc = json.loads(path.read_text())
    doc["units"]["seed0"]["acc"] = 0.99
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="fails its checksum"):
        experiments.Checkpoint(path, {"seed": 1, "gamma": 4.0}, resume=True)
