"""Information-theoretic objectives, estimators and guarantee bounds."""

from jaxunlearn.info._prediction import prediction_mi

__all__ = [
    "prediction_mi",
]
