"""Unlearning baselines with the call shape of ``datapoint.unlearn``.

``baseline(apply_fn, params, split, *, ..., key) -> UnlearnOutput``:
retrain from scratch (the gold reference), fine-tune, NegGrad, NegGrad+,
random relabelling, SCRUB, SSD, and certified Newton removal for L2
logistic regression.
"""

from jaxunlearn.baselines._certified import (
    CertifiedRemovalOutput,
    certified_removal,
    fit_l2_regularized,
)
from jaxunlearn.baselines._methods import (
    finetune,
    neggrad,
    neggrad_plus,
    random_labels,
    reinitialize,
    retrain,
    scrub,
)
from jaxunlearn.baselines._ssd import ssd

__all__ = [
    "CertifiedRemovalOutput",
    "certified_removal",
    "finetune",
    "fit_l2_regularized",
    "neggrad",
    "neggrad_plus",
    "random_labels",
    "reinitialize",
    "retrain",
    "scrub",
    "ssd",
]
