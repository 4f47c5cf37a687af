"""Audits of data-point and feature unlearning.

Accuracies and gaps, membership inference, divergences, the MI audit,
feature leakage (Z AUC, MI bound), utility and a per-example
U-LiRA-style membership audit on shadow models.

Pure functions of logits, probabilities and labels wherever possible, so
they vmap over seeds and run under ``jit``.
"""

from jaxunlearn.audit._accuracy import (
    AccuracyReport,
    MeanStd,
    accuracy,
    accuracy_gap,
    mean_std,
    per_example_loss,
    split_accuracy,
)
from jaxunlearn.audit._challenge import (
    ChallengeOutput,
    challenge_score,
    logit_scaled_confidence,
    per_example_epsilon,
)
from jaxunlearn.audit._divergence import (
    prediction_js,
    prediction_kl,
)
from jaxunlearn.audit._feature import (
    downstream_accuracy,
    leakage_auc,
    leakage_mi,
    repair_distortion,
    strict_leakage_auc,
    strict_leakage_mi,
)
from jaxunlearn.audit._feature_audit import (
    FeatureAudit,
    feature_audit,
    feature_audit_path,
)
from jaxunlearn.audit._mi_audit import (
    MIAuditOutput,
    MIBounds,
    mi_audit,
    mi_bounds,
)
from jaxunlearn.audit._mia import (
    AttackOutput,
    attack_advantage,
    logistic_attack,
    loss_threshold_attack,
    roc_auc,
)
from jaxunlearn.audit._ulira import (
    ULiRAOutput,
    default_train_fn,
    ulira_attack,
    ulira_audit,
    ulira_shadows,
)

__all__ = [
    "AccuracyReport",
    "AttackOutput",
    "ChallengeOutput",
    "FeatureAudit",
    "MIAuditOutput",
    "MIBounds",
    "MeanStd",
    "ULiRAOutput",
    "accuracy",
    "accuracy_gap",
    "attack_advantage",
    "challenge_score",
    "default_train_fn",
    "downstream_accuracy",
    "feature_audit",
    "feature_audit_path",
    "leakage_auc",
    "leakage_mi",
    "logistic_attack",
    "logit_scaled_confidence",
    "loss_threshold_attack",
    "mean_std",
    "mi_audit",
    "mi_bounds",
    "per_example_epsilon",
    "per_example_loss",
    "prediction_js",
    "prediction_kl",
    "repair_distortion",
    "roc_auc",
    "strict_leakage_auc",
    "strict_leakage_mi",
    "ulira_attack",
    "ulira_audit",
    "ulira_shadows",
]
