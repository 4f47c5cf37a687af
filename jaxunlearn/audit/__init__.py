"""Audits of unlearning: feature leakage (Z AUC, MI bound), utility."""

from jaxunlearn.audit._feature import (
    FeatureAudit,
    downstream_accuracy,
    feature_audit,
    feature_audit_path,
    leakage_auc,
    leakage_mi,
    repair_distortion,
)

__all__ = [
    "FeatureAudit",
    "downstream_accuracy",
    "feature_audit",
    "feature_audit_path",
    "leakage_auc",
    "leakage_mi",
    "repair_distortion",
]
