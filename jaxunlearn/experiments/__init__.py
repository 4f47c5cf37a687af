"""End-to-end experiments shared by the CLI, notebooks and benchmarks."""

from jaxunlearn.experiments._images import (
    ImageAuditConfig,
    ImageAuditResult,
    ImageAuditRow,
    audit_table,
    image_feature_audit,
    mnist_thickness_audit,
    save_image_grid,
)

__all__ = [
    "ImageAuditConfig",
    "ImageAuditResult",
    "ImageAuditRow",
    "audit_table",
    "image_feature_audit",
    "mnist_thickness_audit",
    "save_image_grid",
]
