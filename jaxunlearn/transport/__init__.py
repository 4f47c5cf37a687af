"""Optimal transport: Gaussian, one-dimensional and empirical couplings."""

from jaxunlearn.transport._empirical import (
    EntropicCoupling,
    FreeSupportBarycenter,
    SparseCoupling,
    barycentric_projection,
    entropic_coupling,
    entropic_logits,
    entropic_map,
    exact_coupling,
    free_support_barycenter,
    mccann_points,
    sparse_to_dense,
)
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
    "EntropicCoupling",
    "FreeSupportBarycenter",
    "GaussianBarycenterOutput",
    "ParetoPoint",
    "QuantileFunction",
    "SparseCoupling",
    "barycentric_projection",
    "empirical_quantile_function",
    "entropic_coupling",
    "entropic_logits",
    "entropic_map",
    "exact_coupling",
    "free_support_barycenter",
    "gaussian_barycenter",
    "gaussian_barycenter_cost",
    "gaussian_transport_map",
    "gaussian_transport_matrix",
    "gaussian_w2_squared",
    "mccann_interpolation",
    "mccann_points",
    "pareto_frontier",
    "quantile_barycenter",
    "quantile_transport_map",
    "sparse_to_dense",
]
