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
    ]:
        rep = feature.fit(x, z, method=method)
        assert isinstance(rep.stats, cls), method


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
