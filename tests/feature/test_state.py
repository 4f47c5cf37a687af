"""Typed fitted states: pytrees, saved per field, no private imports."""

import ast
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxunlearn
from jaxunlearn import feature
from jaxunlearn.feature import _state


@feature.repair_state
class _Toy:
    mean: jax.Array
    leaves: tuple
    extra: jax.Array | None = None


def test_state_is_a_pytree_and_round_trips_through_arrays():
    s = _Toy(mean=jnp.ones(3), leaves=(jnp.zeros(2), jnp.arange(4.0)))
    assert len(jax.tree.leaves(s)) == 3
    doubled = jax.jit(lambda t: jax.tree.map(lambda a: 2 * a, t))(s)
    np.testing.assert_array_equal(doubled.leaves[1], 2 * np.arange(4.0))
    arrays = _state.state_to_arrays(s)
    assert sorted(arrays) == ["leaves_00000", "leaves_00001", "mean"]
    back = _state.state_from_arrays(_Toy, arrays)
    assert back.extra is None and len(back.leaves) == 2
    assert back["mean"] is arrays["mean"]
    with pytest.raises(KeyError):
        _state.state_from_arrays(_Toy, {"leaves_00000": arrays["mean"]})
    with pytest.raises(KeyError):
        s["nope"]
    with pytest.raises(TypeError, match="stats"):
        _state.state_to_arrays(3)


def test_builtin_methods_fit_typed_states():
    rs = np.random.RandomState(0)
    x = rs.randn(24, 2).astype(np.float32)
    z = np.arange(24) % 2
    for method, cls in [
        ("gaussian", feature.GaussianState),
        ("quantile", feature.QuantileState),
        ("coupling", feature.CouplingStats),
        ("semidiscrete", feature.SemidiscreteState),
    ]:
        rep = feature.fit(x, z, method=method)
        assert isinstance(rep.stats, cls), method


def test_semidiscrete_state_saves_and_loads_typed(tmp_path):
    rs = np.random.RandomState(1)
    x = np.c_[rs.randn(60), rs.randint(0, 3, 60)].astype(np.float32)
    z = np.arange(60) % 2
    opts = {"kinds": ["continuous", "categorical"], "num_categories": [0, 3]}
    in_memory = feature.fit(x, z, method="semidiscrete", options=opts)
    streamed = feature.fit_semidiscrete(x, z, num_atoms=3, **opts)
    for rep in (in_memory, streamed):
        assert isinstance(rep.stats, feature.SemidiscreteState)
        assert rep.stats.enc_mean is not None
        assert len(jax.tree.leaves(rep.stats)) == 8
        feature.save(rep, tmp_path / "r.npz")
        back = feature.load(tmp_path / "r.npz")
        assert isinstance(back.stats, feature.SemidiscreteState)
        jax.tree.map(np.testing.assert_array_equal, back.stats, rep.stats)
        np.testing.assert_array_equal(
            feature.transform(back, x, z, t=0.5),
            feature.transform(rep, x, z, t=0.5),
        )
    plain = feature.fit(x[:, :1], z)  # the default method
    assert plain.method == "semidiscrete"
    assert plain.stats.enc_mean is None
    assert len(jax.tree.leaves(plain.stats)) == 6


def test_feature_imports_no_private_module_of_another_subpackage():
    root = pathlib.Path(jaxunlearn.__file__).parent / "feature"
    bad = []
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                parts = node.module.split(".")
                other = len(parts) > 1 and parts[1] != "feature"
                private = any(p.startswith("_") for p in parts[2:]) or any(
                    a.name.startswith("_") and len(parts) == 2
                    for a in node.names
                )
                if parts[0] == "jaxunlearn" and other and private:
                    bad.append(f"{path.name}: {node.module}")
    assert not bad, bad
