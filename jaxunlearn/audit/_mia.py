"""Membership-inference attacks: forget rows against held-out rows.

After exact unlearning the forget rows are, for the model, just unseen data:
an attacker who sees the model's outputs on a forget row and on a held-out
row of the same distribution cannot tell which is which (AUC 0.5, advantage
0). Two standard attacks:

* **Loss threshold** (Yeom et al. 2018): the score is ``-loss``; rows the
  model was trained on tend to have lower loss.
* **Logistic** (as in Kurmanji et al. 2023's MIA): a logistic regression on
  per-row features (loss, prediction entropy, max probability), trained on a
  class-balanced, keyed sample and scored out of fold (k-fold).

``roc_auc`` is the Mann-Whitney statistic with ties counted 1/2;
``attack_advantage`` is ``max_t TPR(t) - FPR(t)`` over thresholds ``t`` on
the oriented score (higher = member).

References:
  Yeom, Giacomelli, Fredrikson & Jha, "Privacy Risk in Machine Learning:
  Analyzing the Connection to Overfitting", IEEE CSF 2018.
  https://arxiv.org/abs/1709.01604

  Shokri, Stronati, Song & Shmatikov, "Membership Inference Attacks Against
  Machine Learning Models", IEEE S&P 2017. https://arxiv.org/abs/1610.05820

  Kurmanji, Triantafillou, Hayes & Triantafillou, "Towards Unbounded Machine
  Unlearning", NeurIPS 2023. https://arxiv.org/abs/2302.09880
"""

import functools
from typing import NamedTuple

from jaxtyping import Array, ArrayLike, Bool, Float, Int

import jax
import jax.numpy as jnp

from jaxunlearn import _checks
from jaxunlearn.audit._accuracy import _check_logits_labels
from jaxunlearn.numerics import xlogx


class AttackOutput(NamedTuple):
    """Result of a membership-inference attack.

    Attributes:
      auc: area under the ROC curve (0.5 = blind, 1 = perfect).
      advantage: ``max_t TPR - FPR`` (0 = blind, 1 = perfect).
      scores: ``[n_member + n_nonmember]`` attack scores (members first,
        higher = member); out-of-fold scores for the logistic attack, in the
        order of the balanced sample.
      is_member: ``[n]`` boolean labels aligned with ``scores``.
    """

    auc: Array
    advantage: Array
    scores: Array
    is_member: Array


def _split_scores(scores: Array, is_member: Array):
    scores = _checks.as_array("scores", scores)
    is_member = _checks.as_array("is_member", is_member)
    _checks.check_floating("scores", scores)
    _checks.check_rank("scores", scores, 1)
    _checks.check_shape("is_member", is_member, scores.shape)
    _checks.check_nonempty("scores", scores)
    _checks.check_not_nan("scores", scores)
    return scores, is_member.astype(bool)


@jax.jit
def _auc_core(scores: Array, member: Array) -> Array:
    dtype = scores.dtype
    # Non-members are pushed to +inf-equivalents in a sorted copy so one
    # static-shape sort serves under jit; members are counted against it.
    big = jnp.asarray(jnp.inf, dtype)
    neg_sorted = jnp.sort(jnp.where(member, big, scores))
    n_neg = jnp.sum(~member).astype(dtype)
    n_pos = jnp.sum(member).astype(dtype)
    below = jnp.searchsorted(neg_sorted, scores, side="left").astype(dtype)
    upto = jnp.searchsorted(neg_sorted, scores, side="right").astype(dtype)
    # ``upto`` counts the +inf placeholders only for a +inf score.
    upto = jnp.minimum(upto, n_neg)
    below = jnp.minimum(below, n_neg)
    wins = below + 0.5 * (upto - below)
    return jnp.sum(jnp.where(member, wins, 0)) / (n_pos * n_neg)


def roc_auc(
    scores: Float[ArrayLike, " n"], is_member: Bool[ArrayLike, " n"]
) -> Float[Array, ""]:
    r"""Area under the ROC curve of a score (Mann-Whitney form, exact ties).

    .. math:: \mathrm{AUC} = P(s^+ > s^-) + \tfrac12 P(s^+ = s^-),

    averaged over all positive/negative pairs; equals
    ``sklearn.metrics.roc_auc_score``. Computed in ``O(n log n)`` with one
    sort and two ``searchsorted`` calls, so it works under ``jit``.

    Args:
      scores: ``[n]`` scores, higher = more likely positive (member).
      is_member: ``[n]`` booleans (or 0/1), at least one of each.

    Returns:
      A scalar AUC in ``[0, 1]``, dtype of ``scores``.

    Raises:
      ValueError: on shape mismatch, empty input, or (when concrete) NaN
        scores or a single class.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.audit import roc_auc
      >>> float(roc_auc(jnp.array([0.9, 0.8, 0.1]), jnp.array([1, 0, 0])))
      1.0
    """
    scores, member = _split_scores(scores, is_member)
    if _checks.is_concrete(member):
        n_pos = int(jnp.sum(member))
        if n_pos in (0, member.shape[0]):
            raise ValueError(
                "is_member: expected both members and non-members, got"
                f" {n_pos} members of {member.shape[0]}"
            )
    return _auc_core(scores, member)


@jax.jit
def _advantage_core(scores: Array, member: Array) -> Array:
    dtype = scores.dtype
    big = jnp.asarray(jnp.inf, dtype)
    pos_sorted = jnp.sort(jnp.where(member, scores, -big))
    neg_sorted = jnp.sort(jnp.where(member, -big, scores))
    n = scores.shape[0]
    n_pos = jnp.maximum(jnp.sum(member), 1).astype(dtype)
    n_neg = jnp.maximum(jnp.sum(~member), 1).astype(dtype)
    # Rows >= t = n - (rows < t); the -inf placeholders are always < t.
    pos_ge = n - jnp.searchsorted(pos_sorted, scores, side="left")
    neg_ge = n - jnp.searchsorted(neg_sorted, scores, side="left")
    gap = pos_ge.astype(dtype) / n_pos - neg_ge.astype(dtype) / n_neg
    return jnp.maximum(jnp.max(gap), jnp.zeros((), dtype))


def attack_advantage(
    scores: Float[ArrayLike, " n"], is_member: Bool[ArrayLike, " n"]
) -> Float[Array, ""]:
    r"""Best membership advantage of a threshold on the score.

    .. math:: \mathrm{Adv} = \max_t \; P(s^+ \ge t) - P(s^- \ge t),

    over every observed score ``t`` (and ``t = +inf``, giving 0), i.e. the
    Kolmogorov-Smirnov distance oriented towards members (Yeom et al. 2018).

    Args:
      scores: ``[n]`` scores, higher = more likely a member.
      is_member: ``[n]`` booleans (or 0/1).

    Returns:
      A scalar in ``[0, 1]``.

    Raises:
      ValueError: on shape mismatch or empty input.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.audit import attack_advantage
      >>> s, m = jnp.array([0.9, 0.8, 0.1]), jnp.array([1, 0, 0])
      >>> float(attack_advantage(s, m))
      1.0
    """
    scores, member = _split_scores(scores, is_member)
    return _advantage_core(scores, member)


def _pair_logits(member_logits, member_labels, other_logits, other_labels):
    ml, my = _check_logits_labels(member_logits, member_labels)
    ol, oy = _check_logits_labels(other_logits, other_labels)
    if ml.shape[1] != ol.shape[1]:
        raise ValueError(
            "nonmember_logits: expected the members' number of classes"
            f" {ml.shape[1]}, got {ol.shape[1]}"
        )
    _checks.check_same_dtype(member_logits=ml, nonmember_logits=ol)
    return ml, my, ol, oy


def _features(logits: Array, labels: Array) -> Array:
    logp = jax.nn.log_softmax(logits, axis=-1)
    loss = -jnp.take_along_axis(logp, labels[:, None], axis=-1)[:, 0]
    p = jnp.exp(logp)
    entropy = -jnp.sum(xlogx(p), axis=-1)
    return jnp.stack([loss, entropy, jnp.max(p, axis=-1)], axis=-1)


@jax.jit
def _neg_losses(ml, my, ol, oy):
    return -jnp.concatenate([_features(ml, my)[:, 0], _features(ol, oy)[:, 0]])


def loss_threshold_attack(
    member_logits: Float[ArrayLike, "m c"],
    member_labels: Int[ArrayLike, " m"],
    nonmember_logits: Float[ArrayLike, "k c"],
    nonmember_labels: Int[ArrayLike, " k"],
) -> AttackOutput:
    """Loss-threshold membership inference: score ``-cross_entropy``.

    Members are the forget rows (were they learned?), non-members held-out
    rows. After good unlearning the AUC is near 0.5 and the advantage near 0
    (more precisely, near the values of a model retrained without them).

    Args:
      member_logits: the model's logits ``[m, c]`` on the forget rows.
      member_labels: their labels ``[m]``.
      nonmember_logits: logits ``[k, c]`` on held-out rows.
      nonmember_labels: their labels ``[k]``.

    Returns:
      An :class:`AttackOutput` (members first in ``scores``).

    Raises:
      ValueError: on shape mismatches, empty sets or labels out of range.
      TypeError: on non-floating logits, mixed dtypes or non-integer labels.

    References:
      Yeom et al., "Privacy Risk in Machine Learning: Analyzing the
      Connection to Overfitting", IEEE CSF 2018.
      https://arxiv.org/abs/1709.01604
    """
    ml, my, ol, oy = _pair_logits(
        member_logits, member_labels, nonmember_logits, nonmember_labels
    )
    scores = _neg_losses(ml, my, ol, oy)
    member = jnp.arange(scores.shape[0]) < ml.shape[0]
    return AttackOutput(
        auc=roc_auc(scores, member),
        advantage=attack_advantage(scores, member),
        scores=scores,
        is_member=member,
    )


def _fit_logistic(x: Array, y: Array, w: Array, l2: float, iters: int):
    """Weighted L2 logistic regression by Newton's method (small ``f``)."""
    xb = jnp.concatenate([x, jnp.ones_like(x[:, :1])], axis=-1)
    f = xb.shape[1]
    total = jnp.sum(w)
    eye = jnp.eye(f, dtype=x.dtype)

    def step(_, theta):
        p = jax.nn.sigmoid(xb @ theta)
        grad = xb.T @ (w * (p - y)) / total + l2 * theta
        hess = (xb.T * (w * p * (1 - p))[None, :]) @ xb / total + l2 * eye
        return theta - jnp.linalg.solve(hess, grad)

    theta = jax.lax.fori_loop(0, iters, step, jnp.zeros((f,), x.dtype))
    return xb @ theta


@functools.partial(jax.jit, static_argnums=(5, 7))
def _logistic_core(ml, my, ol, oy, key, num_folds, l2, n):
    k_m, k_o, k_fold = jax.random.split(key, 3)
    im = jax.random.permutation(k_m, ml.shape[0])[:n]
    io = jax.random.permutation(k_o, ol.shape[0])[:n]
    feats = jnp.concatenate(
        [_features(ml[im], my[im]), _features(ol[io], oy[io])]
    )
    mu = jnp.mean(feats, axis=0)
    sd = jnp.std(feats, axis=0)
    feats = (feats - mu[None, :]) / jnp.where(sd > 0, sd, 1)[None, :]
    member = jnp.arange(2 * n) < n
    y = member.astype(feats.dtype)
    # Stratified folds: each fold holds the same number of members and
    # non-members (up to one), so a constant score stays at AUC 0.5.
    kf_m, kf_o = jax.random.split(k_fold)
    codes = jnp.arange(n, dtype=jnp.int32) % num_folds
    fold = jnp.concatenate(
        [
            jnp.zeros((n,), jnp.int32)
            .at[jax.random.permutation(kf_m, n)]
            .set(codes),
            jnp.zeros((n,), jnp.int32)
            .at[jax.random.permutation(kf_o, n)]
            .set(codes),
        ]
    )

    def fold_scores(k):
        w = (fold != k).astype(feats.dtype)
        return _fit_logistic(feats, y, w, l2, 25)

    all_scores = jax.vmap(fold_scores)(jnp.arange(num_folds))
    scores = jnp.take_along_axis(all_scores, fold[None, :], axis=0)[0]
    return scores, member


def logistic_attack(
    member_logits: Float[ArrayLike, "m c"],
    member_labels: Int[ArrayLike, " m"],
    nonmember_logits: Float[ArrayLike, "k c"],
    nonmember_labels: Int[ArrayLike, " k"],
    *,
    key: Array,
    num_folds: int = 5,
    l2: float = 1e-2,
) -> AttackOutput:
    """Logistic-regression membership inference with out-of-fold scores.

    Features per row: cross-entropy loss, prediction entropy and maximum
    probability, standardized. The larger group is subsampled (keyed) to the
    size of the smaller, so 0.5 AUC is chance; rows are shuffled into
    ``num_folds`` folds; each fold is scored by a model fitted (Newton's
    method, 25 steps, L2 ``l2``) on the other folds. The AUC and advantage
    of the pooled out-of-fold scores are reported.

    Args:
      member_logits: the model's logits ``[m, c]`` on the forget rows.
      member_labels: their labels ``[m]``.
      nonmember_logits: logits ``[k, c]`` on held-out rows.
      nonmember_labels: their labels ``[k]``.
      key: PRNG key for the balancing subsample and the folds.
      num_folds: number of cross-validation folds (>= 2, static).
      l2: ridge penalty of the attack model (keeps separable data finite).

    Returns:
      An :class:`AttackOutput` over the ``2 * min(m, k)`` balanced rows.

    Raises:
      ValueError: on shape mismatches, empty sets, too few rows for the
        folds, labels out of range.
      TypeError: on non-floating logits, mixed dtypes or non-integer labels.

    References:
      Kurmanji et al., "Towards Unbounded Machine Unlearning", NeurIPS 2023.
      https://arxiv.org/abs/2302.09880
    """
    ml, my, ol, oy = _pair_logits(
        member_logits, member_labels, nonmember_logits, nonmember_labels
    )
    _checks.check_positive_int("num_folds", num_folds, minimum=2)
    n = min(ml.shape[0], ol.shape[0])
    if n < num_folds:
        raise ValueError(
            f"num_folds: expected at most {n} folds for {n} rows per group,"
            f" got {num_folds}"
        )
    scores, member = _logistic_core(ml, my, ol, oy, key, num_folds, l2, n)
    return AttackOutput(
        auc=roc_auc(scores, member),
        advantage=attack_advantage(scores, member),
        scores=scores,
        is_member=member,
    )
