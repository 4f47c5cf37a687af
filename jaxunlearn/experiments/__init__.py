"""End-to-end experiments shared by the CLI, notebooks and benchmarks."""

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
    "Objectives",
    "coarsened_outcome",
    "constant_outcome",
    "discrete_examples",
    "discrete_objectives",
    "discrete_outcomes",
    "gaussian_example",
    "gaussian_outcomes",
    "noisy_outcome",
    "quantile_barycenter_outcome",
    "rearrangement_outcome",
]
