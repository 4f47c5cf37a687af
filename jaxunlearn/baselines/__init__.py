"""Unlearning baselines with the call shape of ``datapoint.unlearn``."""

from jaxunlearn.baselines._certified import (
    CertifiedRemovalOutput,
    certified_removal,
    fit_l2_regularized,
)

__all__ = [
    "CertifiedRemovalOutput",
    "certified_removal",
    "fit_l2_regularized",
]
