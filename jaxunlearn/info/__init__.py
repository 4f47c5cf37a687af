"""Information-theoretic objectives, estimators and guarantee bounds."""

from jaxunlearn.info._bounds import (
    fano_bound,
    membership_advantage_bound,
    tv_bound,
)
from jaxunlearn.info._discrete import (
    conditional_energy,
    conditional_entropy,
    entropy,
    entropy_from_logits,
    js_divergence,
    kl_divergence,
    mutual_information,
)
from jaxunlearn.info._gaussian import (
    gaussian_entropy,
    gaussian_kl_divergence,
    gaussian_mutual_information,
)
from jaxunlearn.info._knn import kl_entropy, ksg_mutual_information
from jaxunlearn.info._prediction import prediction_mi, prediction_mi_direct

__all__ = [
    "conditional_energy",
    "conditional_entropy",
    "entropy",
    "entropy_from_logits",
    "fano_bound",
    "gaussian_entropy",
    "gaussian_kl_divergence",
    "gaussian_mutual_information",
    "js_divergence",
    "kl_divergence",
    "kl_entropy",
    "ksg_mutual_information",
    "membership_advantage_bound",
    "mutual_information",
    "prediction_mi",
    "prediction_mi_direct",
    "tv_bound",
]
