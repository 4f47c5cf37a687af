"""End-to-end experiments shared by the CLI, notebooks and benchmarks."""

from jaxunlearn.experiments._checkpoint import (
    Checkpoint,
    jsonable,
)
from jaxunlearn.experiments._common import (
    ReproductionResult,
    fit_original_and_retrain,
    format_table,
)
from jaxunlearn.experiments._data import (
    ClassificationData,
    FeatureData,
    classification_data,
    image_subset,
    load_classification,
    load_feature_data,
)
from jaxunlearn.experiments._datapoint_run import (
    DatapointConfig,
    DatapointResult,
    DatapointUnit,
    audit_model,
    run_datapoint,
    run_datapoint_seed,
    summarize,
    validate_config,
)
from jaxunlearn.experiments._datapoint_setup import (
    load_model,
    make_split,
    split_holdout,
    training_positions,
)
from jaxunlearn.experiments._feature_run import (
    FeatureResult,
    FeatureSplit,
    default_method,
    run_feature,
    split_feature_data,
)
from jaxunlearn.experiments._gmm import gmm_reproduction
from jaxunlearn.experiments._images import (
    ImageAuditConfig,
    ImageAuditResult,
    ImageAuditRow,
    ImageCandidate,
    audit_table,
    image_feature_audit,
    mnist_thickness_audit,
    reference_data,
    save_image_grid,
)
from jaxunlearn.experiments._image_cnn import train_cnn
from jaxunlearn.experiments._mnist import mnist_reproduction
from jaxunlearn.experiments._tables import (
    TableCodec,
    encode_table,
    feature_frame,
)
from jaxunlearn.experiments._training import train_epochs
from jaxunlearn.experiments._unified import (
    DiscreteOutcome,
    GaussianObjectives,
    GaussianProblem,
    Objectives,
    coarsened_outcome,
    constant_outcome,
    discrete_objectives,
    discrete_outcomes,
    gaussian_outcomes,
    noisy_outcome,
    quantile_barycenter_outcome,
    rearrangement_outcome,
)
from jaxunlearn.experiments._unified_examples import (
    discrete_examples,
    gaussian_example,
)

__all__ = [
    "Checkpoint",
    "ClassificationData",
    "DatapointConfig",
    "DatapointResult",
    "DatapointUnit",
    "DiscreteOutcome",
    "FeatureData",
    "FeatureResult",
    "FeatureSplit",
    "GaussianObjectives",
    "GaussianProblem",
    "ImageAuditConfig",
    "ImageAuditResult",
    "ImageAuditRow",
    "ImageCandidate",
    "Objectives",
    "ReproductionResult",
    "TableCodec",
    "audit_model",
    "audit_table",
    "classification_data",
    "coarsened_outcome",
    "constant_outcome",
    "default_method",
    "discrete_examples",
    "discrete_objectives",
    "discrete_outcomes",
    "encode_table",
    "feature_frame",
    "fit_original_and_retrain",
    "format_table",
    "gaussian_example",
    "gaussian_outcomes",
    "gmm_reproduction",
    "image_feature_audit",
    "image_subset",
    "jsonable",
    "load_classification",
    "load_feature_data",
    "load_model",
    "make_split",
    "mnist_reproduction",
    "mnist_thickness_audit",
    "noisy_outcome",
    "quantile_barycenter_outcome",
    "rearrangement_outcome",
    "reference_data",
    "run_datapoint",
    "run_datapoint_seed",
    "run_feature",
    "save_image_grid",
    "split_feature_data",
    "split_holdout",
    "summarize",
    "train_cnn",
    "train_epochs",
    "training_positions",
    "validate_config",
]
