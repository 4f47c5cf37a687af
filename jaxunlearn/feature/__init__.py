"""Feature unlearning: remove an attribute Z from features X by transport.

See :mod:`jaxunlearn.feature._repair` for the method registry (how other
modules add repair methods).
"""

from jaxunlearn.feature import _methods  # registers the built-in methods
from jaxunlearn.feature import _neural_method  # registers "neural"
from jaxunlearn.feature._repair import (
    FittedRepair,
    RepairMethod,
    available_methods,
    fit,
    inverse_transform,
    load,
    register_method,
    save,
    transform,
)
from jaxunlearn.feature._sklearn import BarycenterRepair

__all__ = [
    "BarycenterRepair",
    "FittedRepair",
    "RepairMethod",
    "available_methods",
    "fit",
    "inverse_transform",
    "load",
    "register_method",
    "save",
    "transform",
]
