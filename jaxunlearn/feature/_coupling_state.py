"""Types of the coupling repair: fitted arrays and the fitted pytree.

See :mod:`jaxunlearn.feature._coupling` for the construction.
"""

import dataclasses
import functools
from typing import NamedTuple

from jaxtyping import Array

import jax

from jaxunlearn.feature import _columns
from jaxunlearn.feature._state import repair_state

_static = functools.partial(dataclasses.field, metadata={"static": True})
_CHUNK = 4096


_OPTIONS = (
    "coupling",
    "extension",
    "num_atoms",
    "epsilon",
    "relative_epsilon",
    "max_exact_size",
    "batch_size",
    "standardize",
    "seed",
)


@repair_state
class CouplingStats:
    """Fitted arrays of a coupling repair (see :class:`CouplingRepair`).

    Attributes:
      alpha: ``[k]``; a row with partner ``p`` goes to ``alpha x + beta p``.
      beta: ``[k]``.
      support: distinct encoded rows per group ``[k, U, D]``.
      support_count: real rows of ``support`` ``[k]``.
      seg_count: coupling entries per row ``[k, U]``.
      entry_cum: cumulative conditional mass of each entry ``[k, U, L]``.
      entry_atom: index of each entry's repaired point in ``atoms``
        ``[k, U, L]``.
      atoms: the repaired points ``[E, D]``.
      partners: the other side of each coupling ``[k, M, D]``.
      partner_count: real rows of ``partners`` ``[k]``.
      potential: Sinkhorn potential of the partners ``[k, M]``.
      epsilon: entropic regularization ``[]``.
      mean: column centres ``[p]``.
      scale: column scales ``[p]``.
    """

    alpha: Array
    beta: Array
    support: Array
    support_count: Array
    seg_count: Array
    entry_cum: Array
    entry_atom: Array
    atoms: Array
    partners: Array
    partner_count: Array
    potential: Array
    epsilon: Array
    mean: Array
    scale: Array


class _Config(NamedTuple):
    """Static configuration of a fitted coupling repair."""

    spec: _columns.ColumnSpec
    extension: str
    decode: str
    batch_size: int


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class CouplingRepair:
    """A fitted coupling repair (a frozen pytree; pass it through ``jit``).

    ``stats`` holds padded per-group arrays (``k`` groups, at most ``U``
    distinct rows and ``M`` partners per group, at most ``L`` coupling
    entries per row): ``support`` ``[k, U, D]`` and ``support_count``
    ``[k]`` (the distinct encoded rows), ``seg_count`` ``[k, U]``,
    ``entry_cum`` and ``entry_atom`` ``[k, U, L]`` (each row's coupling
    entries: cumulative conditional mass and the index of the entry's
    repaired point in ``atoms`` ``[E, D]``, computed once at fit time; for
    two groups one atom per coupled pair, for k groups the barycenter's
    atoms; ``L = 0`` for an entropic coupling), ``partners`` ``[k, M, D]`` and
    ``partner_count`` ``[k]`` (the other group's rows for two groups, the
    barycenter atoms otherwise), ``potential`` ``[k, M]`` (Sinkhorn
    potential of the partners; zeros when unused), ``alpha`` and ``beta``
    ``[k]`` (a row with partner ``p`` goes to ``alpha x + beta p``; for two
    groups ``beta`` holds the *same* floats as the other group's ``alpha``,
    so both members of a pair land on bitwise the same point: otherwise
    ``1 - lambda_1 != lambda_0`` in floating point and a histogram auditor
    reads Z from the last bit of columns with few distinct values),
    ``epsilon`` ``[]``, and the column centres and scales ``mean``,
    ``scale`` ``[p]``.

    Attributes:
      codes: group labels ``[k]`` (sorted).
      weights: barycentric weights ``[k]``.
      stats: the arrays above, a :class:`CouplingStats`.
      spec: the completed :class:`ColumnSpec` (static).
      extension: ``"nearest"`` or ``"entropic"`` (static).
      decode: ``"sample"`` or ``"mode"`` (static).
      batch_size: rows per block in transforms (static).
    """

    codes: Array
    weights: Array
    stats: CouplingStats
    spec: _columns.ColumnSpec = _static()
    extension: str = _static()
    decode: str = _static()
    batch_size: int = _static()

    @property
    def coupling(self) -> str:
        """``"exact"`` or ``"entropic"``: how the in-sample rows draw."""
        return "exact" if self.stats.entry_cum.shape[2] else "entropic"
