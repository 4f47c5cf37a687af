"""Flax nnx classifiers (MLP, small CNN, logistic regression)."""

from jaxunlearn.models._nets import (
    CNN,
    MLP,
    LogisticRegression,
    functional,
)

__all__ = [
    "CNN",
    "LogisticRegression",
    "MLP",
    "functional",
]
