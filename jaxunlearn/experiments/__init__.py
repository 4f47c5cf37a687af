"""End-to-end runs shared by the command line, notebooks and benchmarks."""

from jaxunlearn.experiments._checkpoint import Checkpoint, jsonable
from jaxunlearn.experiments._data import (
    ClassificationData,
    FeatureData,
    load_classification,
    load_feature_data,
)
from jaxunlearn.experiments._datapoint_run import (
    DatapointConfig,
    audit_model,
    make_split,
    parse_forget,
    run_datapoint,
    run_datapoint_seed,
    summarize,
    validate_config,
)
from jaxunlearn.experiments._training import train_epochs

__all__ = [
    "Checkpoint",
    "ClassificationData",
    "DatapointConfig",
    "FeatureData",
    "audit_model",
    "jsonable",
    "load_classification",
    "load_feature_data",
    "make_split",
    "parse_forget",
    "run_datapoint",
    "run_datapoint_seed",
    "summarize",
    "train_epochs",
    "validate_config",
]
