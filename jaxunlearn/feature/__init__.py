"""Feature unlearning: repair features so that they carry no trace of Z."""

from jaxunlearn.feature._columns import ColumnSpec, infer_column_spec
from jaxunlearn.feature._coupling import (
    CouplingRepair,
    fit_coupling,
    transform_coupling,
)

__all__ = [
    "ColumnSpec",
    "CouplingRepair",
    "fit_coupling",
    "infer_column_spec",
    "transform_coupling",
]
