r"""Plug-in mutual information between soft predictions and a group label.

With soft predictions ``q [N, C]``, a discrete label ``z [N]`` and row
weights ``m [N]`` (1 by default, 0 for padded rows), the joint table of
``(Y_hat, Z)`` is

.. math::
   J_{ck} = \frac{1}{\sum_i m_i} \sum_i m_i \, q_{ic} [z_i = k],

with marginals ``P_c = sum_k J_ck`` and ``pi_k = sum_c J_ck``, and

.. math::
   I(\hat Y; Z) = \sum_{c,k} J_{ck} \log \frac{J_{ck}}{P_c \pi_k}
               = \sum J \log J - \sum_c P_c \log P_c - \sum_k \pi_k \log \pi_k.

It equals the ``pi``-weighted Jensen-Shannon divergence between the mean
predictions of the groups, so it is 0 exactly when every group has the same
mean predicted class distribution.

References:
  Xu & Strohmer, "Machine Unlearning via Information Theoretic
  Regularization", arXiv:2502.05684, 2025. https://arxiv.org/abs/2502.05684

  Cover & Thomas, "Elements of Information Theory", 2nd ed., Wiley, 2006,
  chapter 2.
"""

import functools
from typing import Any

from jaxtyping import Array, ArrayLike, Float, Int

import jax
import jax.numpy as jnp
import numpy as np

from jaxunlearn import _checks
from jaxunlearn.info._simplex import check_probs
from jaxunlearn.numerics import safe_div, xlogy


def _joint_table(
    probs: Array, z: Array, num_groups: int, where: Array | None
) -> Array:
    m = jnp.ones(probs.shape[:1], probs.dtype) if where is None else where
    m = m.astype(probs.dtype)
    # Row weights folded into the one-hot codes: one [c, n] x [n, k] matmul
    # (slightly faster on CPU than a three-operand einsum).
    onehot = jax.nn.one_hot(z, num_groups, dtype=probs.dtype) * m[:, None]
    total = jnp.sum(m)
    total = jnp.where(total > 0, total, jnp.ones_like(total))
    return probs.T @ onehot / total


def _infer_groups(z: Array, num_groups: int | None) -> int:
    if num_groups is not None:
        _checks.check_positive_int("num_groups", num_groups, minimum=1)
        if _checks.is_concrete(z) and z.size:
            zmax, zmin = int(np.max(np.asarray(z))), int(np.min(np.asarray(z)))
            if zmin < 0 or zmax >= num_groups:
                raise ValueError(
                    f"z: expected codes in [0, {num_groups}), got values in"
                    f" [{zmin}, {zmax}]"
                )
        return num_groups
    if not _checks.is_concrete(z):
        raise ValueError(
            "num_groups: required under jit (z is traced), got None"
        )
    zmin = int(np.min(np.asarray(z)))
    if zmin < 0:
        raise ValueError(f"z: expected non-negative codes, got minimum {zmin}")
    return max(int(np.max(np.asarray(z))) + 1, 2)


def _validate(
    probs: Any, z: Any, num_groups: int | None, where: Any
) -> tuple[Array, Array, Array | None, int]:
    probs = _checks.as_array("probs", probs)
    z = _checks.as_array("z", z)
    _checks.check_floating("probs", probs)
    _checks.check_rank("probs", probs, 2)
    _checks.check_integer("z", z)
    _checks.check_shape("z", z, (probs.shape[0],))
    _checks.check_nonempty("probs", probs)
    _checks.check_nonempty("probs", probs, axis=1)
    row_mask = None
    if where is not None:
        where = _checks.as_array("where", where)
        _checks.check_shape("where", where, (probs.shape[0],))
        _checks.check_nonnegative("where", where)
        row_mask = where.astype(probs.dtype)[:, None] > 0
    check_probs("probs", probs, -1, row_mask)
    return probs, z, where, _infer_groups(z, num_groups)


def prediction_mi(
    probs: Float[ArrayLike, "n c"],
    z: Int[ArrayLike, " n"],
    *,
    num_groups: int | None = None,
    where: ArrayLike | None = None,
) -> Float[Array, ""]:
    r"""Plug-in mutual information ``I(Y_hat; Z)`` in nats.

    .. math:: I = \sum_{c,k} J_{ck} \log \frac{J_{ck}}{P_c \pi_k},
       \quad J_{ck} = \tfrac{1}{N} \textstyle\sum_i q_{ic} [z_i = k].

    ``0 log 0 = 0`` throughout; the gradient with respect to ``probs`` is
    finite on the boundary of the simplex.

    Args:
      probs: soft predictions ``[n, c]``, rows on the probability simplex
        (e.g. ``jax.nn.softmax(logits)``).
      z: integer group codes ``[n]`` in ``[0, num_groups)``.
      num_groups: the number of groups ``k`` (static). ``None`` infers
        ``max(z) + 1`` (at least 2) from a concrete ``z``; required under jit.
      where: optional ``[n]`` mask or non-negative row weights; rows with 0
        count for nothing (padding). ``None`` weighs every row by 1.

    Returns:
      A scalar, the mutual information in nats (``>= 0`` up to rounding).

    Under ``jit`` the values of ``probs`` and ``z`` cannot be checked: rows
    off the simplex are used as given (the table is then not a probability
    table and the value is not a mutual information), and out-of-range codes
    contribute nothing (``one_hot`` gives a zero row).

    Raises:
      ValueError: on shape mismatches, empty input, negative ``where``,
        (eagerly) out-of-range codes or rows of ``probs`` that are negative
        or do not sum to 1 beyond ``sqrt(eps)``.
      TypeError: when ``probs`` is not floating or ``z`` is not integer.

    References:
      Xu & Strohmer, "Machine Unlearning via Information Theoretic
      Regularization", arXiv:2502.05684, 2025.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.info import prediction_mi
      >>> q = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> round(float(prediction_mi(q, jnp.array([0, 1]))), 4)  # log 2
      0.6931
    """
    probs, z, where, k = _validate(probs, z, num_groups, where)
    return _prediction_mi(probs, z, where, k)


@functools.partial(jax.jit, static_argnums=3)
def _prediction_mi(
    probs: Array, z: Array, where: Array | None, k: int
) -> Array:
    joint = _joint_table(probs, z.astype(jnp.int32), k, where)
    pred_marginal = jnp.sum(joint, axis=1)
    group_marginal = jnp.sum(joint, axis=0)
    # J log(J / (P pi)) rather than the difference of three entropies: the
    # ratio form avoids cancellation when I is small (near independence).
    outer = pred_marginal[:, None] * group_marginal[None, :]
    mi = jnp.sum(xlogy(joint, safe_div(joint, outer)))
    return jnp.maximum(mi, jnp.zeros_like(mi))


def prediction_mi_direct(
    probs: Float[ArrayLike, "n c"],
    z: Int[ArrayLike, " n"],
    *,
    num_groups: int | None = None,
    where: ArrayLike | None = None,
) -> Float[Array, ""]:
    r"""The authors' GMM-notebook "direct" estimator, for reproduction only.

    Not a mutual information between ``Y_hat`` and ``Z``: ``z`` enters only
    through the group proportions ``pi_k``, and class ``c`` is paired with
    group ``k = c`` (so ``C`` must equal the number of groups). Per sample,

    .. math:: D = rac1N \sum_i \sum_c \pi_c q_{ic}
       \log rac{q_{ic}}{s_i}, \quad s_i = \sum_{c'} \pi_{c'} q_{ic'},

    i.e. ``(1/N) sum_i s_i KL(r_i || pi)`` with ``r_ic = pi_c q_ic / s_i``.
    It is 0 when ``q_i`` is uniform and grows as predictions become
    confident, whichever sample carries which ``z``: a confidence penalty
    (Xu & Strohmer, arXiv:2502.05684). The notebook clamps ``q`` to
    ``[1e-10, 1 - 1e-10]`` and adds
    ``1e-10`` inside the logarithm; here ``0 log 0 = 0`` is exact instead, so
    values differ from the notebook's by O(1e-10). Use :func:`prediction_mi`
    for the regulariser of the paper.

    Args:
      probs: soft predictions ``[n, c]`` on the simplex.
      z: integer group codes ``[n]``; only their proportions are used.
      num_groups: static number of groups; must equal ``c``. ``None`` infers
        it from a concrete ``z`` (at least 2).
      where: optional ``[n]`` mask or non-negative row weights.

    Returns:
      A scalar in nats.

    Raises:
      ValueError: as :func:`prediction_mi`, and when ``c != num_groups``.
      TypeError: when ``probs`` is not floating or ``z`` is not integer.

    References:
      Xu & Strohmer, public notebook ``Data_Unlearning_GMM.ipynb``
      (``compute_mutual_information_direct``),
      https://github.com/xushizhou/Machine_Unlearn_via_Info_Reg

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.info import prediction_mi_direct
      >>> q = jnp.full((4, 2), 0.5)  # uniform predictions: no penalty
      >>> float(prediction_mi_direct(q, jnp.array([0, 0, 1, 1])))
      0.0
    """
    probs, z, where, k = _validate(probs, z, num_groups, where)
    if probs.shape[1] != k:
        raise ValueError(
            f"probs: the direct estimator pairs class c with group c, so it"
            f" needs {k} classes (num_groups), got {probs.shape[1]}"
        )
    return _prediction_mi_direct(probs, z, where, k)


@functools.partial(jax.jit, static_argnums=3)
def _prediction_mi_direct(
    probs: Array, z: Array, where: Array | None, k: int
) -> Array:
    m = jnp.ones(probs.shape[:1], probs.dtype) if where is None else where
    m = m.astype(probs.dtype)
    total = jnp.sum(m)
    total = jnp.where(total > 0, total, jnp.ones_like(total))
    onehot = jax.nn.one_hot(z.astype(jnp.int32), k, dtype=probs.dtype)
    pi = jnp.einsum("n,nk->k", m, onehot) / total
    weighted = probs * pi[None, :]
    s = jnp.sum(weighted, axis=1, keepdims=True)
    per_sample = jnp.sum(xlogy(weighted, safe_div(probs, s)), axis=1)
    return jnp.sum(m * per_sample) / total


def _direct_numpy_reference(probs, z, num_groups):
    """The notebook's formula in float64 NumPy (clamp and 1e-10 removed)."""
    q = np.asarray(probs, np.float64)
    pi = np.bincount(np.asarray(z), minlength=num_groups) / len(z)
    w = q * pi[None, :]
    s = w.sum(1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(w > 0, w * np.log(q / s), 0.0)
    return float(t.sum(1).mean())


def _numpy_reference(probs, z, num_groups, where=None):
    """Float64 NumPy reference used by tests and benchmarks."""
    probs = np.asarray(probs, dtype=np.float64)
    m = np.ones(len(z)) if where is None else np.asarray(where, np.float64)
    onehot = np.eye(num_groups)[np.asarray(z)]
    joint = np.einsum("n,nc,nk->ck", m, probs, onehot) / m.sum()
    outer = joint.sum(1, keepdims=True) * joint.sum(0, keepdims=True)
    mask = joint > 0
    return float(np.sum(joint[mask] * np.log(joint[mask] / outer[mask])))
