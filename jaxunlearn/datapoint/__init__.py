"""Data-point unlearning: MI-regularized fine-tuning under one ``lax.scan``."""

from jaxunlearn.datapoint._core import (
    AutoGamma,
    UnlearnHistory,
    UnlearnModelOutput,
    UnlearnOutput,
)
from jaxunlearn.datapoint._many import (
    ForgetRequests,
    pad_forget_sets,
    unlearn_many,
)
from jaxunlearn.datapoint._membership import (
    LossAux,
    MembershipBatch,
    holdout_membership_mi,
    membership_mi,
    pooled_membership,
    unlearning_loss,
    weighted_cross_entropy,
)
from jaxunlearn.datapoint._model import EpochInfo
from jaxunlearn.datapoint._reference import estimate_retrain_forget_acc
from jaxunlearn.datapoint._train import (
    FitModelOutput,
    FitOutput,
    TrainState,
    check_optimizer,
    default_optimizer,
    fit_classifier,
    init_train_state,
    make_train_step,
    masked_permutation,
    optimizer_step,
    resolve_optimizer,
)
from jaxunlearn.datapoint._unlearn import make_unlearn_fn, unlearn

__all__ = [
    "AutoGamma",
    "EpochInfo",
    "FitModelOutput",
    "FitOutput",
    "ForgetRequests",
    "LossAux",
    "MembershipBatch",
    "TrainState",
    "UnlearnHistory",
    "UnlearnModelOutput",
    "UnlearnOutput",
    "check_optimizer",
    "default_optimizer",
    "estimate_retrain_forget_acc",
    "fit_classifier",
    "holdout_membership_mi",
    "init_train_state",
    "make_train_step",
    "make_unlearn_fn",
    "masked_permutation",
    "membership_mi",
    "optimizer_step",
    "pad_forget_sets",
    "pooled_membership",
    "resolve_optimizer",
    "unlearn",
    "unlearn_many",
    "unlearning_loss",
    "weighted_cross_entropy",
]
