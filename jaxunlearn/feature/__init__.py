"""Feature unlearning: remove an attribute Z from features X by transport.

See :mod:`jaxunlearn.feature._repair` for the method registry (how other
modules add repair methods) and :mod:`jaxunlearn.feature._coupling` for the
joint ``"coupling"`` method on mixed tabular columns.
"""

from typing import TYPE_CHECKING

from jaxunlearn.feature import _methods  # registers built-in methods
from jaxunlearn.feature import _image_methods, _neural_method
from jaxunlearn.feature import _semidiscrete_method
from jaxunlearn.feature._columns import (
    ColumnSpec,
    infer_column_spec,
)
from jaxunlearn.feature._coupling import (
    CouplingMarginals,
    CouplingRepair,
    CouplingStats,
    coupling_marginals,
    fit_coupling,
    transform_coupling,
)
from jaxunlearn.feature._frame import FrameSpec
from jaxunlearn.feature._methods import GaussianState, QuantileState
from jaxunlearn.feature._neural_method import NeuralState
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
from jaxunlearn.feature._semidiscrete_method import SemidiscreteState
from jaxunlearn.feature._semidiscrete_stream import (
    fit_semidiscrete,
    transform_semidiscrete,
)
from jaxunlearn.feature._state import repair_state

if TYPE_CHECKING:  # for type checkers and the API docs; lazy at run time
    from jaxunlearn.feature._sklearn import BarycenterRepair


def __getattr__(name: str):
    # BarycenterRepair needs scikit-learn (the `data` extra): import it on
    # first use so that the rest of the package works without it.
    if name == "BarycenterRepair":
        from jaxunlearn.feature._sklearn import (  # noqa: PLC0415
            BarycenterRepair,
        )

        return BarycenterRepair
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BarycenterRepair",
    "ColumnSpec",
    "CouplingMarginals",
    "CouplingRepair",
    "CouplingStats",
    "FittedRepair",
    "FrameSpec",
    "GaussianState",
    "NeuralState",
    "QuantileState",
    "RepairMethod",
    "SemidiscreteState",
    "available_methods",
    "coupling_marginals",
    "fit",
    "fit_coupling",
    "fit_semidiscrete",
    "infer_column_spec",
    "inverse_transform",
    "load",
    "register_method",
    "repair_state",
    "save",
    "transform",
    "transform_coupling",
    "transform_semidiscrete",
]
