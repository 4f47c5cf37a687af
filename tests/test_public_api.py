"""Every public name resolves and carries a Google-style docstring."""

import ast
import importlib
import inspect
import pathlib

import pytest

import jaxunlearn

ROOT = pathlib.Path(jaxunlearn.__file__).parent
SUBPACKAGES = sorted(
    p.parent.name
    for p in ROOT.glob("*/__init__.py")
    if not p.parent.name.startswith("_")
)

# Data flows left to right; a module imports only from its left (or its own
# layer's earlier members as listed in the same tuple position).
LAYERS = [
    {"numerics", "models", "datasets"},
    {"info", "transport"},
    {"feature", "datapoint"},
    {"baselines"},
    {"audit"},
    {"experiments"},
    {"report"},
    {"cli"},
]


def _layer(name: str) -> int:
    for i, layer in enumerate(LAYERS):
        if name in layer:
            return i
    raise AssertionError(f"sub-package {name!r} has no layer in LAYERS")


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_subpackage_exports_documented(name):
    mod = importlib.import_module(f"jaxunlearn.{name}")
    assert hasattr(mod, "__all__"), f"jaxunlearn.{name} lacks __all__"
    assert list(mod.__all__) == sorted(mod.__all__, key=str.lower) or list(
        mod.__all__
    ) == sorted(mod.__all__)
    for attr in mod.__all__:
        obj = getattr(mod, attr)
        doc = inspect.getdoc(obj)
        assert doc, f"jaxunlearn.{name}.{attr} has no docstring"
        if inspect.isfunction(obj):
            assert "Args:" in doc or not inspect.signature(obj).parameters, (
                f"jaxunlearn.{name}.{attr}: docstring lacks Args:"
            )
            assert "Returns:" in doc or "Yields:" in doc, (
                f"jaxunlearn.{name}.{attr}: docstring lacks Returns:"
            )


def _imported_subpackages(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            parts = node.module.split(".")
            if parts[0] == "jaxunlearn" and len(parts) > 1:
                found.add(parts[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "jaxunlearn" and len(parts) > 1:
                    found.add(parts[1])
    return found


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_layering(name):
    path = ROOT / name
    files = list(path.rglob("*.py")) if path.is_dir() else [ROOT / f"{name}.py"]
    files = [f for f in files if f.exists()]
    own = _layer(name)
    for f in files:
        for dep in _imported_subpackages(f):
            if dep.startswith("_") or dep == name:
                continue
            assert _layer(dep) < own, (
                f"{f.relative_to(ROOT)} imports jaxunlearn.{dep}, which is not"
                f" to the left of {name}"
            )


def test_version():
    assert isinstance(jaxunlearn.__version__, str)


def test_transport_keeps_neural_internals_out_of_its_namespace():
    from jaxunlearn import transport
    from jaxunlearn.transport import _neural, _neural_nets

    internals = {
        _neural_nets: ("ConvPotential", "ConvTransport", "MLPPotential",
                       "MLPTransport"),
        _neural: ("NeuralOTMetrics", "neural_ot_f_step", "neural_ot_t_step"),
    }  # fmt: skip
    for module, names in internals.items():
        for attr in names:
            assert attr not in transport.__all__
            assert callable(getattr(module, attr))
    for attr in ("fit_neural_ot", "apply_neural_ot", "fit_neural_barycenter",
                 "neural_barycenter_transform", "NeuralOTConfig"):  # fmt: skip
        assert attr in transport.__all__
