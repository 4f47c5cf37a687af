"""Optimal transport: Gaussian (Bures-Wasserstein) and one-dimensional."""

from jaxunlearn.transport._gaussian import (
    GaussianBarycenterOutput,
    gaussian_barycenter,
    gaussian_barycenter_cost,
    gaussian_transport_map,
    gaussian_transport_matrix,
    gaussian_w2_squared,
)
from jaxunlearn.transport._latent import (
    PCAGaussianBarycenter,
    fit_pca_gaussian_barycenter,
    pca_gaussian_transform,
)
from jaxunlearn.transport._neural import (
    NeuralBarycenter,
    NeuralOTConfig,
    NeuralOTMap,
    NeuralOTMetrics,
    NeuralOTOutput,
    NeuralOTState,
    apply_neural_ot,
    fit_neural_barycenter,
    fit_neural_ot,
    init_neural_ot,
    load_neural_ot_state,
    neural_barycenter_transform,
    neural_ot_f_step,
    neural_ot_iteration,
    neural_ot_t_step,
    save_neural_ot_state,
)
from jaxunlearn.transport._neural_nets import (
    ConvPotential,
    ConvTransport,
    MLPPotential,
    MLPTransport,
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
    "ConvPotential",
    "ConvTransport",
    "GaussianBarycenterOutput",
    "MLPPotential",
    "MLPTransport",
    "NeuralBarycenter",
    "NeuralOTConfig",
    "NeuralOTMap",
    "NeuralOTMetrics",
    "NeuralOTOutput",
    "NeuralOTState",
    "PCAGaussianBarycenter",
    "ParetoPoint",
    "QuantileFunction",
    "apply_neural_ot",
    "empirical_quantile_function",
    "fit_neural_barycenter",
    "fit_neural_ot",
    "fit_pca_gaussian_barycenter",
    "gaussian_barycenter",
    "gaussian_barycenter_cost",
    "gaussian_transport_map",
    "gaussian_transport_matrix",
    "gaussian_w2_squared",
    "init_neural_ot",
    "load_neural_ot_state",
    "mccann_interpolation",
    "neural_barycenter_transform",
    "neural_ot_f_step",
    "neural_ot_iteration",
    "neural_ot_t_step",
    "pareto_frontier",
    "pca_gaussian_transform",
    "quantile_barycenter",
    "quantile_transport_map",
    "save_neural_ot_state",
]
