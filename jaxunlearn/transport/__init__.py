"""Optimal transport: Gaussian, one-dimensional, empirical and neural maps.

The neural OT building blocks a user rarely calls (the networks
``ConvTransport``, ``ConvPotential``, ``MLPTransport``, ``MLPPotential`` in
``jaxunlearn.transport._neural_nets``; the single phases
``neural_ot_t_step``, ``neural_ot_f_step`` and ``NeuralOTMetrics`` in
``jaxunlearn.transport._neural``) stay importable from their modules.

The ``*_kernel`` functions (and :func:`neural_ot_params_template`) are the
unchecked, jit-ready cores of the validated functions, for code that checks
its input once and then traces: each docstring states its preconditions.
"""

from jaxunlearn.transport._empirical import (
    EntropicCoupling,
    SparseCoupling,
    barycentric_projection,
    entropic_coupling,
    entropic_logits,
    entropic_map,
    exact_coupling,
    mccann_points,
    sparse_to_dense,
)
from jaxunlearn.transport._free_support import (
    FreeSupportBarycenter,
    free_support_barycenter,
)
from jaxunlearn.transport._gaussian import (
    GaussianBarycenterOutput,
    gaussian_barycenter,
    gaussian_barycenter_cost,
    gaussian_transport_map,
    gaussian_transport_matrix,
    gaussian_w2_squared,
)
from jaxunlearn.transport._kernels import (
    empirical_quantile_kernel,
    gaussian_barycenter_kernel,
    gaussian_transport_matrix_kernel,
    neural_ot_map_kernel,
    neural_ot_params_template,
    quantile_barycenter_kernel,
    quantile_map_grouped_kernel,
)
from jaxunlearn.transport._latent import (
    PCAGaussianBarycenter,
    fit_pca_gaussian_barycenter,
    pca_gaussian_transform,
)
from jaxunlearn.transport._neural import (
    NeuralOTConfig,
    NeuralOTMap,
    NeuralOTState,
    init_neural_ot,
    neural_ot_iteration,
)
from jaxunlearn.transport._neural_barycenter import (
    NeuralBarycenter,
    fit_neural_barycenter,
    neural_barycenter_transform,
)
from jaxunlearn.transport._neural_fit import (
    NeuralOTOutput,
    apply_neural_ot,
    fit_neural_ot,
    load_neural_ot_state,
    save_neural_ot_state,
)
from jaxunlearn.transport._neural_prior import NeuralOTPrior
from jaxunlearn.transport._semidiscrete import (
    SemidiscreteBarycenter,
    fit_semidiscrete_barycenter,
    laguerre_assign,
    laguerre_logits,
    refine_potential,
    semidiscrete_newton_step,
    semidiscrete_potential,
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
    "NeuralBarycenter",
    "NeuralOTConfig",
    "NeuralOTMap",
    "NeuralOTOutput",
    "NeuralOTPrior",
    "NeuralOTState",
    "PCAGaussianBarycenter",
    "ParetoPoint",
    "QuantileFunction",
    "SemidiscreteBarycenter",
    "SparseCoupling",
    "apply_neural_ot",
    "barycentric_projection",
    "empirical_quantile_function",
    "empirical_quantile_kernel",
    "entropic_coupling",
    "entropic_logits",
    "entropic_map",
    "exact_coupling",
    "fit_neural_barycenter",
    "fit_neural_ot",
    "fit_pca_gaussian_barycenter",
    "fit_semidiscrete_barycenter",
    "free_support_barycenter",
    "gaussian_barycenter",
    "gaussian_barycenter_cost",
    "gaussian_barycenter_kernel",
    "gaussian_transport_map",
    "gaussian_transport_matrix",
    "gaussian_transport_matrix_kernel",
    "gaussian_w2_squared",
    "init_neural_ot",
    "laguerre_assign",
    "laguerre_logits",
    "load_neural_ot_state",
    "mccann_interpolation",
    "mccann_points",
    "neural_barycenter_transform",
    "neural_ot_iteration",
    "neural_ot_map_kernel",
    "neural_ot_params_template",
    "pareto_frontier",
    "pca_gaussian_transform",
    "quantile_barycenter",
    "quantile_barycenter_kernel",
    "quantile_map_grouped_kernel",
    "quantile_transport_map",
    "refine_potential",
    "save_neural_ot_state",
    "semidiscrete_newton_step",
    "semidiscrete_potential",
    "sparse_to_dense",
]
