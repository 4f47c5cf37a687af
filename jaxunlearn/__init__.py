"""jaxunlearn: machine unlearning by information-theoretic regularization.

Feature unlearning maps each group ``X | Z = z`` to the Wasserstein-2
barycenter of the groups; data-point unlearning fine-tunes a model with
``task loss + gamma * I(Y_hat; Z)``. See Xu & Strohmer, "Machine Unlearning
via Information Theoretic Regularization", arXiv:2502.05684.

The sub-packages ``experiments``, ``report`` and ``cli`` are not imported
here (they pull in matplotlib and the end-to-end runs); import them
explicitly.
"""

from jaxunlearn import (
    audit,
    baselines,
    datapoint,
    datasets,
    feature,
    info,
    models,
    numerics,
    transport,
)
from jaxunlearn._checkify import checked
from jaxunlearn._pytree_io import load_pytree, save_pytree

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "audit",
    "baselines",
    "checked",
    "datapoint",
    "datasets",
    "feature",
    "info",
    "load_pytree",
    "models",
    "numerics",
    "save_pytree",
    "transport",
]
