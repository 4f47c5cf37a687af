"""End-to-end experiments shared by the CLI, notebooks and benchmarks."""

from jaxunlearn.experiments._common import ReproductionResult, format_table
from jaxunlearn.experiments._gmm import gmm_reproduction
from jaxunlearn.experiments._images import (
    ImageAuditConfig,
    ImageAuditResult,
    ImageAuditRow,
    audit_table,
    image_feature_audit,
    mnist_thickness_audit,
    save_image_grid,
)
from jaxunlearn.experiments._mnist import mnist_reproduction
from jaxunlearn.experiments._unified import (
    DiscreteOutcome,
    GaussianObjectives,
    GaussianProblem,
    Objectives,
    coarsened_outcome,
    constant_outcome,
    discrete_examples,
    discrete_objectives,
    discrete_outcomes,
    gaussian_example,
    gaussian_outcomes,
    noisy_outcome,
    quantile_barycenter_outcome,
    rearrangement_outcome,
)

__all__ = [
    "DiscreteOutcome",
    "GaussianObjectives",
    "GaussianProblem",
    "ImageAuditConfig",
    "ImageAuditResult",
    "ImageAuditRow",
    "Objectives",
    "ReproductionResult",
    "audit_table",
    "coarsened_outcome",
    "constant_outcome",
    "discrete_examples",
    "discrete_objectives",
    "discrete_outcomes",
    "format_table",
    "gaussian_example",
    "gaussian_outcomes",
    "gmm_reproduction",
    "image_feature_audit",
    "mnist_reproduction",
    "mnist_thickness_audit",
    "noisy_outcome",
    "quantile_barycenter_outcome",
    "rearrangement_outcome",
    "save_image_grid",
]
