"""Optimal transport: couplings, maps and barycenters."""

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

__all__ = [
    "EntropicCoupling",
    "FreeSupportBarycenter",
    "SparseCoupling",
    "barycentric_projection",
    "entropic_coupling",
    "entropic_logits",
    "entropic_map",
    "exact_coupling",
    "free_support_barycenter",
    "mccann_points",
    "sparse_to_dense",
]
