r"""Entropy, divergences and table quantities for discrete distributions.

Every function follows ``0 log 0 = 0`` through :func:`numerics.xlogy` (the
"double where"), so values and gradients stay finite on the boundary of the
simplex; no ``+1e-10`` is ever added inside a logarithm. Distributions live
along ``axis`` (vectors) or the last two axes (joint tables ``[..., a, b]``);
leading axes are batch axes and the outputs are **unreduced** (one value per
distribution), so the caller averages (STYLE 2.4). An optional boolean
``where`` mask, broadcastable to the input, drops entries (treated as 0).

Bad input: in the eager API, probabilities that are negative or do not sum
to 1 (over the unmasked entries) beyond ``sqrt(eps)`` of the dtype raise
``ValueError``. Under ``jit`` the values cannot be inspected: the formula is
then applied to the values as given, without renormalisation (e.g.
``entropy`` returns ``-sum p log p`` of the unnormalised vector).

References:
  Cover & Thomas, "Elements of Information Theory", 2nd ed., Wiley, 2006,
  chapter 2. https://doi.org/10.1002/047174882X

  Lin, "Divergence measures based on the Shannon entropy", IEEE Trans.
  Inf. Theory 37(1), 1991. https://doi.org/10.1109/18.61115
"""

import functools
from typing import Any

from jaxtyping import Array, ArrayLike, Float

import jax
import jax.numpy as jnp
import numpy as np

from jaxunlearn import _checks
from jaxunlearn.info._simplex import check_probs
from jaxunlearn.numerics import safe_div, xlogy


def _prep(
    name: str, p: Any, min_rank: int, where: Any
) -> tuple[Array, Array | None]:
    p = _checks.as_array(name, p)
    _checks.check_floating(name, p)
    if p.ndim < min_rank:
        _checks.check_rank(name, p, tuple(range(min_rank, min_rank + 3)))
    if p.size == 0:
        raise ValueError(
            f"{name}: expected a non-empty array, got shape {p.shape}"
        )
    if where is None:
        return p, None
    where = _checks.as_array("where", where)
    try:
        shape = np.broadcast_shapes(where.shape, p.shape)
    except ValueError:
        shape = None
    if shape != p.shape:
        raise ValueError(
            f"where: expected a mask broadcastable to {p.shape}, got shape"
            f" {where.shape}"
        )
    return p, jnp.broadcast_to(where.astype(bool), p.shape)


def _masked(p: Array, where: Array | None) -> Array:
    return p if where is None else jnp.where(where, p, jnp.zeros_like(p))


def _axis(name: str, p: Array, axis: int) -> int:
    if not isinstance(axis, int | np.integer) or not -p.ndim <= axis < p.ndim:
        raise ValueError(
            f"axis: expected an int in [-{p.ndim}, {p.ndim}) for {name} of"
            f" shape {p.shape}, got {axis!r}"
        )
    return int(axis) % p.ndim


def entropy(
    probs: Float[ArrayLike, "... c"],
    axis: int = -1,
    *,
    where: ArrayLike | None = None,
) -> Float[Array, "..."]:
    r"""Shannon entropy ``H(p) = -sum_c p_c log p_c`` in nats.

    Args:
      probs: probabilities ``[..., c]`` (along ``axis``).
      axis: the axis holding one distribution.
      where: optional boolean mask broadcastable to ``probs``; masked entries
        count as 0. ``None`` keeps every entry.

    Returns:
      ``[...]``, one entropy per distribution (``axis`` removed).

    Raises:
      TypeError: when ``probs`` is not floating.
      ValueError: on empty input, a bad ``axis`` or ``where`` shape, or
        (eagerly) probabilities off the simplex.

    References:
      Cover & Thomas, "Elements of Information Theory", 2nd ed., 2006, eq. 2.1.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.info import entropy
      >>> round(float(entropy(jnp.array([0.5, 0.5, 0.0]))), 4)  # log 2
      0.6931
    """
    probs, where = _prep("probs", probs, 1, where)
    axis = _axis("probs", probs, axis)
    check_probs("probs", probs, axis, where)
    return _entropy(probs, where, axis)


@functools.partial(jax.jit, static_argnums=2)
def _entropy(probs: Array, where: Array | None, axis: int) -> Array:
    p = _masked(probs, where)
    return -jnp.sum(xlogy(p, p), axis=axis)


def entropy_from_logits(
    logits: Float[ArrayLike, "... c"],
    axis: int = -1,
    *,
    where: ArrayLike | None = None,
) -> Float[Array, "..."]:
    r"""Entropy of ``softmax(logits)``, computed in log space.

    .. math:: H = -\sum_c p_c \log p_c, \quad
       \log p = \mathrm{log\_softmax}(\ell).

    ``-inf`` logits (impossible classes) are allowed and contribute 0.

    Args:
      logits: unnormalised log-probabilities ``[..., c]``.
      axis: the class axis.
      where: optional boolean mask broadcastable to ``logits``; masked
        classes are excluded from the softmax.

    Returns:
      ``[...]``, the entropy in nats of each softmax distribution.

    Raises:
      TypeError: when ``logits`` is not floating.
      ValueError: on empty input or a bad ``axis``/``where``.

    References:
      Cover & Thomas, "Elements of Information Theory", 2nd ed., 2006, eq. 2.1.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.info import entropy_from_logits
      >>> round(float(entropy_from_logits(jnp.zeros(4))), 4)  # log 4
      1.3863
    """
    logits, where = _prep("logits", logits, 1, where)
    axis = _axis("logits", logits, axis)
    return _entropy_from_logits(logits, where, axis)


@functools.partial(jax.jit, static_argnums=2)
def _entropy_from_logits(
    logits: Array, where: Array | None, axis: int
) -> Array:
    log_p = jax.nn.log_softmax(logits, axis=axis, where=where)
    p = jnp.exp(log_p)
    keep = p > 0 if where is None else (p > 0) & where
    # Double where: -inf log-probabilities never meet the multiplication.
    terms = jnp.where(keep, p * jnp.where(keep, log_p, 0), 0)
    return -jnp.sum(terms, axis=axis)


def kl_divergence(
    p: Float[ArrayLike, "... c"],
    q: Float[ArrayLike, "... c"],
    axis: int = -1,
    *,
    where: ArrayLike | None = None,
) -> Float[Array, "..."]:
    r"""Kullback-Leibler divergence ``KL(p || q) = sum_c p_c log(p_c / q_c)``.

    Terms with ``p_c = 0`` are 0; a term with ``p_c > 0 = q_c`` is ``+inf``
    (as in ``scipy.special.rel_entr``).

    Args:
      p: probabilities ``[..., c]``.
      q: probabilities with the same shape as ``p``.
      axis: the axis holding one distribution.
      where: optional boolean mask broadcastable to ``p``.

    Returns:
      ``[...]``, the divergence in nats (``>= 0``).

    Raises:
      TypeError: when ``p`` or ``q`` is not floating or their dtypes differ.
      ValueError: on mismatched shapes, empty input or (eagerly) arguments
        off the simplex.

    References:
      Kullback & Leibler, "On information and sufficiency", Ann. Math.
      Statist. 22(1), 1951. https://doi.org/10.1214/aoms/1177729694

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.info import kl_divergence
      >>> p = jnp.array([0.5, 0.5])
      >>> float(kl_divergence(p, p))
      0.0
    """
    p, where = _prep("p", p, 1, where)
    q = _checks.as_array("q", q)
    _checks.check_floating("q", q)
    _checks.check_shape("q", q, p.shape)
    _checks.check_same_dtype(p=p, q=q)
    axis = _axis("p", p, axis)
    check_probs("p", p, axis, where)
    check_probs("q", q, axis, where)
    return _kl(p, q, where, axis)


@functools.partial(jax.jit, static_argnums=3)
def _kl(p: Array, q: Array, where: Array | None, axis: int) -> Array:
    p, q = _masked(p, where), _masked(q, where)
    finite = xlogy(p, safe_div(p, q))
    terms = jnp.where(
        (q > 0) | (p <= 0), finite, jnp.full_like(finite, jnp.inf)
    )
    return jnp.sum(terms, axis=axis)


def js_divergence(
    p: Float[ArrayLike, "... c"],
    q: Float[ArrayLike, "... c"],
    weights: Float[ArrayLike, "2"] | None = None,
    axis: int = -1,
    *,
    where: ArrayLike | None = None,
) -> Float[Array, "..."]:
    r"""Weighted Jensen-Shannon divergence between two distributions.

    .. math:: \mathrm{JS}_w(p, q) = w_0 \mathrm{KL}(p \| m)
       + w_1 \mathrm{KL}(q \| m) = H(m) - w_0 H(p) - w_1 H(q),
       \quad m = w_0 p + w_1 q.

    It is the mutual information between a draw from the mixture ``m`` and
    the label of its component, so ``0 <= JS <= H(w) <= log 2``.

    Args:
      p: probabilities ``[..., c]``.
      q: probabilities with the same shape as ``p``.
      weights: ``[2]`` non-negative mixture weights, renormalised to sum to
        1. ``None`` means ``(1/2, 1/2)``.
      axis: the axis holding one distribution.
      where: optional boolean mask broadcastable to ``p``.

    Returns:
      ``[...]``, the divergence in nats.

    Raises:
      TypeError: on non-floating or mixed-dtype inputs.
      ValueError: on mismatched shapes, bad weights or (eagerly) arguments
        off the simplex.

    References:
      Lin, "Divergence measures based on the Shannon entropy", IEEE Trans.
      Inf. Theory 37(1), 1991. https://doi.org/10.1109/18.61115

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.info import js_divergence
      >>> p, q = jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0])
      >>> round(float(js_divergence(p, q)), 4)  # log 2
      0.6931
    """
    p, where = _prep("p", p, 1, where)
    q = _checks.as_array("q", q)
    _checks.check_floating("q", q)
    _checks.check_shape("q", q, p.shape)
    _checks.check_same_dtype(p=p, q=q)
    axis = _axis("p", p, axis)
    if weights is None:
        w = jnp.full((2,), 0.5, p.dtype)
    else:
        w = _checks.as_array("weights", weights)
        _checks.check_weights("weights", w, 2)
        w = w.astype(p.dtype)
        w = w / jnp.sum(w)
    check_probs("p", p, axis, where)
    check_probs("q", q, axis, where)
    return _js(p, q, w, where, axis)


@functools.partial(jax.jit, static_argnums=4)
def _js(p: Array, q: Array, w: Array, where: Array | None, axis: int) -> Array:
    p, q = _masked(p, where), _masked(q, where)
    m = w[0] * p + w[1] * q
    terms = w[0] * xlogy(p, safe_div(p, m)) + w[1] * xlogy(q, safe_div(q, m))
    return jnp.maximum(jnp.sum(terms, axis=axis), 0)


def _table(joint: Any, where: Any) -> tuple[Array, Array | None]:
    joint, where = _prep("joint", joint, 2, where)
    check_probs("joint", joint, (-2, -1), where)
    return joint, where


def _marginals(joint: Array, where: Array | None) -> tuple[Array, ...]:
    j = _masked(joint, where)
    return j, jnp.sum(j, axis=-1, keepdims=True), jnp.sum(j, -2, keepdims=True)


@jax.jit
def _mi_table(joint: Array, where: Array | None) -> Array:
    j, pa, pb = _marginals(joint, where)
    mi = jnp.sum(xlogy(j, safe_div(j, pa * pb)), axis=(-2, -1))
    return jnp.maximum(mi, 0)


@jax.jit
def _cond_entropy_table(joint: Array, where: Array | None) -> Array:
    j, _, pb = _marginals(joint, where)
    return jnp.maximum(-jnp.sum(xlogy(j, safe_div(j, pb)), axis=(-2, -1)), 0)


@jax.jit
def _energy_table(joint: Array, where: Array | None) -> Array:
    j, _, pb = _marginals(joint, where)
    return jnp.sum(safe_div(j * j, pb), axis=(-2, -1))


def mutual_information(
    joint: Float[ArrayLike, "... a b"],
    *,
    where: ArrayLike | None = None,
) -> Float[Array, "..."]:
    r"""Mutual information ``I(A; B)`` of a joint probability table.

    .. math:: I(A; B) = \sum_{a,b} J_{ab} \log \frac{J_{ab}}{P_a P_b},
       \quad P_a = \sum_b J_{ab}, \; P_b = \sum_a J_{ab}.

    Computed in ratio form (no cancellation of three entropies near
    independence).

    Args:
      joint: ``[..., a, b]`` with ``joint[..., i, j] = P(A = i, B = j)``.
      where: optional boolean mask broadcastable to ``joint``; masked cells
        count as probability 0.

    Returns:
      ``[...]``, the mutual information in nats (symmetric in ``A, B``).

    Raises:
      TypeError: when ``joint`` is not floating.
      ValueError: on rank < 2, empty input or (eagerly) a table that is not
        a probability table.

    References:
      Cover & Thomas, "Elements of Information Theory", 2nd ed., 2006,
      eq. 2.28.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.info import mutual_information
      >>> round(float(mutual_information(jnp.eye(2) / 2)), 4)  # log 2
      0.6931
    """
    return _mi_table(*_table(joint, where))


def conditional_entropy(
    joint: Float[ArrayLike, "... a b"],
    *,
    where: ArrayLike | None = None,
) -> Float[Array, "..."]:
    r"""Conditional entropy ``H(A | B)`` of a joint probability table.

    .. math:: H(A \mid B) = -\sum_{a,b} J_{ab} \log \frac{J_{ab}}{P_b}
       = H(A, B) - H(B).

    In the feature-unlearning notation of the paper, with ``A = X`` and
    ``B = X_hat``, the utility is ``-H(X | X_hat)``.

    Args:
      joint: ``[..., a, b]`` with ``joint[..., i, j] = P(A = i, B = j)``.
      where: optional boolean mask broadcastable to ``joint``.

    Returns:
      ``[...]``, ``H(A | B)`` in nats (``0 <= H(A | B) <= H(A)``).

    Raises:
      TypeError: when ``joint`` is not floating.
      ValueError: on rank < 2, empty input or (eagerly) a table that is not
        a probability table.

    References:
      Cover & Thomas, "Elements of Information Theory", 2nd ed., 2006,
      eq. 2.10.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.info import conditional_entropy
      >>> round(float(conditional_entropy(jnp.full((2, 2), 0.25))), 4)
      0.6931
    """
    return _cond_entropy_table(*_table(joint, where))


def conditional_energy(
    joint: Float[ArrayLike, "... a b"],
    *,
    where: ArrayLike | None = None,
) -> Float[Array, "..."]:
    r"""Energy of the conditional probability ``E_B[sum_a P(A = a | B)^2]``.

    .. math:: \mathcal{E}(A \mid B) = \sum_b P_b \sum_a
       \Big(\frac{J_{ab}}{P_b}\Big)^2 = \sum_{a,b} \frac{J_{ab}^2}{P_b}.

    The expected collision probability of ``A`` given ``B`` (Xu & Strohmer,
    arXiv:2502.05684); it lies in ``[sum_a P_a^2, 1]`` and is 1 exactly when
    ``A`` is a function of ``B``. Terms with ``P_b = 0`` are 0.

    Args:
      joint: ``[..., a, b]`` with ``joint[..., i, j] = P(A = i, B = j)``.
      where: optional boolean mask broadcastable to ``joint``.

    Returns:
      ``[...]``, the energy (dimensionless).

    Raises:
      TypeError: when ``joint`` is not floating.
      ValueError: on rank < 2, empty input or (eagerly) a table that is not
        a probability table.

    References:
      Xu & Strohmer, "Machine Unlearning via Information Theoretic
      Regularization", arXiv:2502.05684, 2025.
      https://arxiv.org/abs/2502.05684

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.info import conditional_energy
      >>> round(float(conditional_energy(jnp.eye(3) / 3)), 6)  # A = B
      1.0
    """
    return _energy_table(*_table(joint, where))
