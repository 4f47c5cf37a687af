"""Unlearning baselines with the call shape of ``datapoint.unlearn``.

``baseline(apply_fn, params, split, *, ..., key) -> UnlearnOutput``:
retrain from scratch (the gold reference), fine-tune, NegGrad, NegGrad+,
random relabelling, SCRUB, SSD, and certified Newton removal for L2
logistic regression. Each iterative baseline is also a
``jaxunlearn.datapoint.Method`` on the kernel's signature
(``retrain_method``, ..., ``ssd_method``), which
``jaxunlearn.datapoint.unlearn_many`` vmaps over requests and seeds;
``tune`` chooses a gradient baseline's learning rate and epochs on
validation rows.
"""

from jaxunlearn.baselines._certified import (
    CertifiedRemovalOutput,
    certified_removal,
    fit_l2_regularized,
)
from jaxunlearn.baselines._methods import (
    NegGradPlusConfig,
    ScrubConfig,
    finetune,
    finetune_method,
    neggrad,
    neggrad_method,
    neggrad_plus,
    neggrad_plus_method,
    random_labels,
    random_labels_method,
    reinitialize,
    retrain,
    retrain_method,
    scrub,
    scrub_method,
)
from jaxunlearn.baselines._ssd import SSDConfig, ssd, ssd_method
from jaxunlearn.baselines._tune import (
    TuneResult,
    gradient_steps,
    tune,
    validation_loss,
)

__all__ = [
    "CertifiedRemovalOutput",
    "NegGradPlusConfig",
    "SSDConfig",
    "ScrubConfig",
    "TuneResult",
    "certified_removal",
    "finetune",
    "finetune_method",
    "fit_l2_regularized",
    "gradient_steps",
    "neggrad",
    "neggrad_method",
    "neggrad_plus",
    "neggrad_plus_method",
    "random_labels",
    "random_labels_method",
    "reinitialize",
    "retrain",
    "retrain_method",
    "scrub",
    "scrub_method",
    "ssd",
    "ssd_method",
    "tune",
    "validation_loss",
]
