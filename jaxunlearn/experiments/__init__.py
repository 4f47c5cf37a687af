"""End-to-end reproductions shared by the CLI, notebooks and benchmarks."""

from jaxunlearn.experiments._common import ReproductionResult, format_table
from jaxunlearn.experiments._gmm import gmm_reproduction
from jaxunlearn.experiments._mnist import mnist_reproduction

__all__ = [
    "ReproductionResult",
    "format_table",
    "gmm_reproduction",
    "mnist_reproduction",
]
