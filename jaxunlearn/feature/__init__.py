"""Feature unlearning: remove an attribute Z from features X by transport.

See :mod:`jaxunlearn.feature._repair` for the method registry (how other
modules add repair methods) and :mod:`jaxunlearn.feature._coupling` for the
joint ``"coupling"`` method on mixed tabular columns.
"""

from jaxunlearn.feature import _methods  # registers built-in methods
from jaxunlearn.feature import _neural_method, _semidiscrete_method
from jaxunlearn.feature._columns import (
    ColumnSpec,
    infer_column_spec,
)
from jaxunlearn.feature._coupling import (
    CouplingRepair,
    fit_coupling,
    transform_coupling,
)
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
from jaxunlearn.feature._semidiscrete_stream import (
    fit_semidiscrete,
    transform_semidiscrete,
)
from jaxunlearn.feature._sklearn import BarycenterRepair

__all__ = [
    "BarycenterRepair",
    "ColumnSpec",
    "CouplingRepair",
    "FittedRepair",
    "RepairMethod",
    "available_methods",
    "fit",
    "fit_coupling",
    "fit_semidiscrete",
    "infer_column_spec",
    "inverse_transform",
    "load",
    "register_method",
    "save",
    "transform",
    "transform_coupling",
    "transform_semidiscrete",
]
