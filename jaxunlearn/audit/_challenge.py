r"""NeurIPS 2023 unlearning-challenge-style score over many models.

The strongest public audit: train many unlearned models and many models
retrained without the forget set (different seeds; a ``vmap`` over keys),
and ask, per forget example, how well *any* threshold attack on the model's
output tells the two populations apart, in the language of
``(epsilon, delta)``-indistinguishability.

Formula implemented (our reading of Triantafillou et al. 2024, section 3 and
the competition's evaluation document; parameters exposed where the
published description leaves room):

1. Per model and forget example, the **logit-scaled confidence** of the true
   class, :math:`s = \log p_y - \log(1 - p_y)
   = \ell_y - \operatorname{logsumexp}_{c \ne y} \ell_c`.
2. Per example, samples :math:`U` (``m`` unlearned models) and :math:`R`
   (``r`` retrained models). The attacks are the thresholds ``t`` at every
   pooled sample value, in both directions ("unlearned iff ``s >= t``" and
   "iff ``s < t``"). Each has a false positive rate ``FPR`` (retrained
   called unlearned) and false negative rate ``FNR``.
3. Per attack, :math:`\varepsilon = \max\{\log(1 - \delta - FPR) - \log FNR,
   \; \log(1 - \delta - FNR) - \log FPR\}`, a term counting only where its
   argument is positive and finite (an attack with a zero error rate on a
   finite sample gives no finite estimate and is skipped, so the largest
   measurable ``epsilon`` is about ``log(max(m, r))``).
   The example's :math:`\varepsilon_x` is the maximum over attacks,
   floored at 0.
4. Binning: :math:`n(\varepsilon) = \lfloor \varepsilon / w \rfloor + 1`
   (bin width ``w = 0.5``), per-example score
   :math:`H(\varepsilon) = 2 / 2^{n(\varepsilon)}` (1 in the first bin,
   halving per bin). Forgetting quality :math:`F` = mean of ``H`` over the
   forget set.
5. Final score
   :math:`F \cdot \frac{RA_U}{RA_R} \cdot \frac{TA_U}{TA_R}`, with ``RA``
   and ``TA`` the retain and test accuracies averaged over the unlearned
   (``U``) and retrained (``R``) models.

References:
  Triantafillou, Kairouz, Pedregosa, Hayes, Kurmanji, Zhao, Dumoulin,
  Jacques Junior, Mitliagkas, Wan, Sun Hosoya, Escalera, Dziugaite,
  Triantafillou & Guyon, "Are we making progress in unlearning? Findings
  from the first NeurIPS unlearning competition", arXiv:2406.09073, 2024.
  https://arxiv.org/abs/2406.09073

  Carlini, Chien, Nasr, Song, Terzis & Tramer, "Membership Inference Attacks
  From First Principles", IEEE S&P 2022 (logit scaling).
  https://arxiv.org/abs/2112.03570
"""

from typing import NamedTuple

from jaxtyping import Array, ArrayLike, Float, Int

import jax
import jax.numpy as jnp

from jaxunlearn import _checks
from jaxunlearn.audit._accuracy import AccuracyReport


class ChallengeOutput(NamedTuple):
    """Result of :func:`challenge_score`.

    Attributes:
      score: ``F * (RA_U / RA_R) * (TA_U / TA_R)`` (higher is better; an
        exact unlearner scores about 1 in expectation, less on finite
        samples).
      forgetting_quality: ``F``, the mean binned per-example score.
      epsilon: ``[n]`` per-example epsilon estimates.
      retain_ratio: ``RA_U / RA_R``.
      test_ratio: ``TA_U / TA_R``.
    """

    score: Array
    forgetting_quality: Array
    epsilon: Array
    retain_ratio: Array
    test_ratio: Array


def logit_scaled_confidence(
    logits: Float[ArrayLike, "... n c"], labels: Int[ArrayLike, " n"]
) -> Float[Array, "... n"]:
    r"""``log(p_y / (1 - p_y))`` of the true class, computed stably.

    .. math:: s = \ell_y - \operatorname{logsumexp}_{c \ne y} \ell_c.

    Args:
      logits: ``[..., n, c]`` logits (leading axes: models / seeds).
      labels: ``[n]`` true classes in ``[0, c)``.

    Returns:
      ``[..., n]`` logit-scaled confidences.

    Raises:
      ValueError: on shape mismatch or fewer than 2 classes.
      TypeError: on non-floating logits or non-integer labels.

    References:
      Carlini et al., "Membership Inference Attacks From First Principles",
      IEEE S&P 2022. https://arxiv.org/abs/2112.03570

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.audit import logit_scaled_confidence
      >>> s = logit_scaled_confidence(jnp.array([[1.0, 1.0]]), jnp.array([0]))
      >>> float(s[0])
      0.0
    """
    logits = _checks.as_array("logits", logits)
    labels = _checks.as_array("labels", labels)
    _checks.check_floating("logits", logits)
    _checks.check_integer("labels", labels)
    if logits.ndim < 2 or logits.shape[-1] < 2:
        raise ValueError(
            "logits: expected shape [..., n, c] with c >= 2, got shape"
            f" {logits.shape}"
        )
    _checks.check_shape("labels", labels, (logits.shape[-2],))
    onehot = jax.nn.one_hot(labels, logits.shape[-1], dtype=bool)
    true = jnp.sum(jnp.where(onehot, logits, 0), axis=-1)
    neg_inf = jnp.asarray(-jnp.inf, logits.dtype)
    rest = jax.nn.logsumexp(jnp.where(onehot, neg_inf, logits), axis=-1)
    return true - rest


def _epsilon_one(u: Array, r: Array, delta: float) -> Array:
    dtype = u.dtype
    t = jnp.concatenate([u, r])
    m, k = u.shape[0], r.shape[0]
    # "unlearned iff s >= t": FNR = P_U(s < t), FPR = P_R(s >= t).
    fnr = jnp.sum(u[None, :] < t[:, None], axis=1).astype(dtype) / m
    fpr = jnp.sum(r[None, :] >= t[:, None], axis=1).astype(dtype) / k
    # The opposite direction flips both rates.
    fnr = jnp.concatenate([fnr, 1 - fnr])
    fpr = jnp.concatenate([fpr, 1 - fpr])
    neg_inf = jnp.asarray(-jnp.inf, dtype)

    def term(num, den):
        ok = (num > 0) & (den > 0)
        val = jnp.log(jnp.where(ok, num, 1)) - jnp.log(jnp.where(ok, den, 1))
        return jnp.where(ok, val, neg_inf)

    eps = jnp.maximum(term(1 - delta - fpr, fnr), term(1 - delta - fnr, fpr))
    return jnp.maximum(jnp.max(eps), jnp.zeros((), dtype))


def per_example_epsilon(
    unlearned_scores: Float[ArrayLike, "m n"],
    retrained_scores: Float[ArrayLike, "r n"],
    *,
    delta: float = 0.01,
) -> Float[Array, " n"]:
    """Per-example ``epsilon`` of the best threshold attack (challenge-style).

    See the module docstring, steps 2-3, for the formula.

    Args:
      unlearned_scores: ``[m, n]`` per-model, per-example scores (e.g.
        :func:`logit_scaled_confidence`) of ``m`` unlearned models.
      retrained_scores: ``[r, n]`` the same for ``r`` retrained models.
      delta: the ``delta`` of ``(epsilon, delta)``, in ``[0, 1)``.

    Returns:
      ``[n]`` non-negative estimates; about 0 when the two populations are
      indistinguishable, up to about ``log(max(m, r))`` when they separate.

    Raises:
      ValueError: on rank or example-count mismatch, fewer than 2 models,
        ``delta`` outside ``[0, 1)``.
      TypeError: on non-floating input or mixed dtypes.

    References:
      Triantafillou et al., arXiv:2406.09073, 2024.
    """
    u = _checks.as_array("unlearned_scores", unlearned_scores)
    r = _checks.as_array("retrained_scores", retrained_scores)
    _checks.check_floating("unlearned_scores", u)
    _checks.check_floating("retrained_scores", r)
    _checks.check_rank("unlearned_scores", u, 2)
    _checks.check_shape("retrained_scores", r, (None, u.shape[1]))
    _checks.check_same_dtype(unlearned_scores=u, retrained_scores=r)
    for name, arr in (("unlearned_scores", u), ("retrained_scores", r)):
        if arr.shape[0] < 2:
            raise ValueError(
                f"{name}: expected at least 2 models on axis 0, got shape"
                f" {arr.shape}"
            )
    if not 0 <= delta < 1:
        raise ValueError(f"delta: expected a value in [0, 1), got {delta!r}")
    return jax.vmap(_epsilon_one, in_axes=(1, 1, None))(u, r, delta)


def challenge_score(
    unlearned_forget_logits: Float[ArrayLike, "m n c"],
    retrained_forget_logits: Float[ArrayLike, "r n c"],
    forget_labels: Int[ArrayLike, " n"],
    *,
    unlearned_accuracy: AccuracyReport,
    retrained_accuracy: AccuracyReport,
    delta: float = 0.01,
    bin_width: float = 0.5,
) -> ChallengeOutput:
    """NeurIPS 2023 unlearning challenge-style score (see module docstring).

    Args:
      unlearned_forget_logits: ``[m, n, c]`` logits of ``m`` unlearned
        models (e.g. vmapped over seeds) on the ``n`` forget rows.
      retrained_forget_logits: ``[r, n, c]`` logits of ``r`` models
        retrained without the forget rows.
      forget_labels: ``[n]`` labels of the forget rows.
      unlearned_accuracy: :class:`AccuracyReport` of the unlearned models
        (any shape per field; averaged).
      retrained_accuracy: :class:`AccuracyReport` of the retrained models.
      delta: the ``delta`` of the indistinguishability notion.
      bin_width: width of the epsilon bins (0.5 in the challenge).

    Returns:
      A :class:`ChallengeOutput`.

    Raises:
      ValueError: on shape mismatches, fewer than 2 models, ``delta``
        outside ``[0, 1)`` or a non-positive ``bin_width``.
      TypeError: on non-floating logits or non-integer labels.

    References:
      Triantafillou et al., "Are we making progress in unlearning? Findings
      from the first NeurIPS unlearning competition", arXiv:2406.09073,
      2024. https://arxiv.org/abs/2406.09073
    """
    if not bin_width > 0:
        raise ValueError(
            f"bin_width: expected a positive value, got {bin_width!r}"
        )
    su = logit_scaled_confidence(unlearned_forget_logits, forget_labels)
    sr = logit_scaled_confidence(retrained_forget_logits, forget_labels)
    if su.ndim != 2 or sr.ndim != 2:
        raise ValueError(
            "unlearned_forget_logits: expected [models, n, c] logits, got"
            f" shapes {jnp.shape(unlearned_forget_logits)} and"
            f" {jnp.shape(retrained_forget_logits)}"
        )
    eps = per_example_epsilon(su, sr, delta=delta)
    dtype = eps.dtype
    bins = jnp.floor(eps / bin_width) + 1
    quality = jnp.mean(2.0 / jnp.exp2(bins))
    ra = jnp.mean(jnp.asarray(unlearned_accuracy.retain, dtype)) / jnp.mean(
        jnp.asarray(retrained_accuracy.retain, dtype)
    )
    ta = jnp.mean(jnp.asarray(unlearned_accuracy.test, dtype)) / jnp.mean(
        jnp.asarray(retrained_accuracy.test, dtype)
    )
    return ChallengeOutput(
        score=quality * ra * ta,
        forgetting_quality=quality,
        epsilon=eps,
        retain_ratio=ra,
        test_ratio=ta,
    )
