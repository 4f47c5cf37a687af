"""Numerics: safe logarithms, SPD square roots, bounded fixed points."""

from jaxunlearn.numerics._fixed_point import FixedPointOutput, fixed_point
from jaxunlearn.numerics._init import lecun_reinit
from jaxunlearn.numerics._safe import safe_div, safe_log, xlogx, xlogy
from jaxunlearn.numerics._sqrtm import (
    inv_sqrtm,
    min_eigenvalue_ratio,
    sqrtm,
    sqrtm_and_inv_sqrtm,
    symmetrize,
)

__all__ = [
    "FixedPointOutput",
    "fixed_point",
    "inv_sqrtm",
    "lecun_reinit",
    "min_eigenvalue_ratio",
    "safe_div",
    "safe_log",
    "sqrtm",
    "sqrtm_and_inv_sqrtm",
    "symmetrize",
    "xlogx",
    "xlogy",
]
