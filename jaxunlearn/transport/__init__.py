"""Optimal transport: Gaussian (Bures-Wasserstein) and one-dimensional."""

from jaxunlearn.transport._gaussian import (
    GaussianBarycenterOutput,
    gaussian_barycenter,
    gaussian_barycenter_cost,
    gaussian_transport_map,
    gaussian_transport_matrix,
    gaussian_w2_squared,
)
from jaxunlearn.transport._pareto import (
    ParetoPoint,
    mccann_interpolation,
    pareto_frontier,
)
from jaxunlearn.transport._quantile import (
    QuantileFunction,
    empirical_quantile_function,
    quantile_barycenter,
    quantile_transport_map,
)

__all__ = [
    "GaussianBarycenterOutput",
    "ParetoPoint",
    "QuantileFunction",
    "empirical_quantile_function",
    "gaussian_barycenter",
    "gaussian_barycenter_cost",
    "gaussian_transport_map",
    "gaussian_transport_matrix",
    "gaussian_w2_squared",
    "mccann_interpolation",
    "pareto_frontier",
    "quantile_barycenter",
    "quantile_transport_map",
]
