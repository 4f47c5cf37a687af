"""Forget requests on the user's rows; models saved and reloaded."""

import jax
import numpy as np
import pytest

from jaxunlearn import experiments
from jaxunlearn.experiments import _datapoint_setup


def _data(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype(np.float32)
    x[:, 0] = np.arange(40)  # column 0 names the file row
    y = np.arange(40) % 2
    path = tmp_path / "d.npz"
    np.savez(path, x=x, y=y)
    return experiments.load_classification(f"npz:{path}", seed=3), x


def test_indices_name_rows_of_the_file(tmp_path):
    data, x = _data(tmp_path)
    assert data.test_source == "x"
    train = np.asarray(data.rows)
    assert sorted([*train, *data.test_rows]) == list(range(40))
    wanted = train[[5, 1, 7]]  # file rows that are training rows
    split = experiments.make_split(
        data, ("indices", wanted.tolist()), jax.random.key(0)
    )
    got = np.asarray(split.x_forget)[:, 0]
    assert sorted(got.tolist()) == sorted(x[wanted, 0].tolist())
    held = int(data.test_rows[0])
    with pytest.raises(ValueError, match=r"forget: rows \[\d+\] .* held out"):
        experiments.make_split(data, ("indices", [held]), jax.random.key(0))
    with pytest.raises(ValueError, match=r"must be in \[0, 40\)"):
        experiments.training_positions(data, [40])


def test_source_rows_inverts_training_positions(tmp_path):
    data, _ = _data(tmp_path)
    rows = [int(r) for r in data.rows[[0, 9, 3]]]
    pos = experiments.training_positions(data, rows)
    assert _datapoint_setup._source_rows(data, pos) == rows


def test_saved_model_reloads_with_its_architecture(tmp_path):
    data, _ = _data(tmp_path)
    config = experiments.DatapointConfig(forget=("class", 1, 0.5), hidden=(5,))
    apply_fn, params = _datapoint_setup._model(data, config.hidden, seed=2)
    _datapoint_setup._save_model(tmp_path, 2, "unlearned", params, data, config)
    fn, loaded, meta = experiments.load_model(
        tmp_path / "seed-2" / "unlearned.npz"
    )
    assert meta["hidden"] == [5] and meta["model"] == "unlearned"
    np.testing.assert_array_equal(
        fn(loaded, data.x_test), apply_fn(params, data.x_test)
    )
    bad = tmp_path / "other.npz"
    import jaxunlearn as ju  # noqa: PLC0415

    ju.save_pytree(bad, params)
    with pytest.raises(ValueError, match="not a model saved"):
        experiments.load_model(bad)
