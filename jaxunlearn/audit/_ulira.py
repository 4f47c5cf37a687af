r"""A per-example membership audit of unlearning in the style of U-LiRA.

Can an attacker who sees a model's output on a forget example tell whether
the model was *unlearned* (trained on the example, then unlearned) or
*retrained* (never trained on it)? Exact unlearning makes the two
indistinguishable, so the attack's AUC is 0.5; an unlearning method that
leaves a trace lets the attack score above 0.5.

Formula implemented (our reading of Hayes et al. 2024, with the
per-example likelihood-ratio test of LiRA, Carlini et al. 2022):

1. **Shadow pairs.** For each of ``S`` keys, one *unlearned* model (init,
   train on the whole pool, apply ``unlearn_fn``) and one *retrained* model
   (a fresh init, trained on the pool without the forget rows). All ``S``
   pairs are one ``vmap`` over keys inside one compiled call.
2. **Scores.** Per model and forget example, the logit-scaled confidence
   of the true class, :math:`s = \log p_y - \log(1 - p_y)`
   (:func:`logit_scaled_confidence`).
3. **Per-example Gaussians, cross-fitted.** The ``S`` pairs are dealt
   into ``K`` folds (pair ``j`` to fold ``j mod K``). The targets of fold
   ``f`` are scored with Gaussians fit on the pairs of the *other* folds:
   per forget example ``i``,
   :math:`\mathcal N(\mu^{in}_i, \sigma^{in}_i)` on their unlearned
   scores and :math:`\mathcal N(\mu^{out}_i, \sigma^{out}_i)` on their
   retrained scores (sample deviations, floored at ``min_std``; with
   ``fix_variance`` one deviation per population pooled over the forget
   examples, as LiRA advises for few shadow models). A target never
   calibrates its own test, and every target of a fold meets the same
   fitted test, so exact unlearning gives an AUC of 0.5 in expectation.
4. **Test.** The statistic is the log likelihood ratio
   :math:`\Lambda = \log \mathcal N(s; \mu^{in}, \sigma^{in})
   - \log \mathcal N(s; \mu^{out}, \sigma^{out})`, high = "unlearned".
5. **AUC.** Per fold, the ROC AUC of :math:`\Lambda` separating the
   fold's unlearned target scores from its retrained ones, pooled over the
   forget examples, and per example; both averaged over the folds.
   (Comparing targets of different folds would mix tests fit on
   overlapping pairs, which biases the per-example AUC under the null.)

References:
  Hayes, Shumailov, Triantafillou, Khalifa & Papernot, "Inexact Unlearning
  Needs More Careful Evaluations to Avoid a False Sense of Privacy",
  arXiv:2403.01218, 2024. https://arxiv.org/abs/2403.01218

  Carlini, Chien, Nasr, Song, Terzis & Tramer, "Membership Inference
  Attacks From First Principles", IEEE S&P 2022.
  https://arxiv.org/abs/2112.03570
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int

from jaxunlearn import _checks
from jaxunlearn.audit._challenge import logit_scaled_confidence
from jaxunlearn.audit._mia import _auc_core
from jaxunlearn.datapoint import fit_classifier

ApplyFn = Callable[[Any, Array], Array]
# train_fn(params, x, y, where, key) -> params; where [n] row weights.
TrainFn = Callable[[Any, Array, Array, Array, Array], Any]
# unlearn_fn(params, key) -> params (the forget set is closed over).
UnlearnFn = Callable[[Any, Array], Any]


class ULiRAOutput(NamedTuple):
    """Result of :func:`ulira_attack` and :func:`ulira_audit`.

    Attributes:
      auc: the attack's ROC AUC on the unlearned against the retrained
        target scores of a fold (all forget examples pooled), averaged over
        the folds (0.5 = indistinguishable).
      per_example_auc: ``[n]`` the same per forget example.
      unlearned_statistic: ``[S, n]`` the log likelihood ratio of each
        unlearned target model on each forget example.
      retrained_statistic: ``[S, n]`` the same for the retrained models.
      unlearned_confidence: ``[S, n]`` logit-scaled confidences of the
        unlearned models.
      retrained_confidence: ``[S, n]`` the same for the retrained models.
    """

    auc: Array
    per_example_auc: Array
    unlearned_statistic: Array
    retrained_statistic: Array
    unlearned_confidence: Array
    retrained_confidence: Array


def _moments(s: Array, fix_variance: bool) -> tuple[Array, Array]:
    """Per-example mean and deviation over models, ``[n]`` each."""
    k = s.shape[0]
    mean = jnp.mean(s, axis=0)
    ss = jnp.sum((s - mean[None]) ** 2, axis=0)
    if fix_variance:
        var = jnp.broadcast_to(
            jnp.sum(ss) / max((k - 1) * s.shape[1], 1), ss.shape
        )
    else:
        var = ss / max(k - 1, 1)
    return mean, jnp.sqrt(var)


def _log_normal(s: Array, mean: Array, std: Array) -> Array:
    """``log N(s; mean, std)`` + const; ``s [k, n]``, the rest ``[n]``."""
    z = (s - mean[None]) / std[None]
    return -0.5 * z * z - jnp.log(std)[None]


def _attack_core(
    u: Array, r: Array, folds: int, fix_variance: bool, min_std: float
) -> tuple[Array, Array, Array, Array]:
    floor = jnp.asarray(min_std, u.dtype)
    fold_of = np.arange(u.shape[0]) % folds
    lam_u = jnp.zeros_like(u)
    lam_r = jnp.zeros_like(r)
    aucs, pers = [], []
    for f in range(folds):
        fit, tgt = np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)
        mu_in, sd_in = _moments(u[fit], fix_variance)
        mu_out, sd_out = _moments(r[fit], fix_variance)
        sd_in = jnp.maximum(sd_in, floor)
        sd_out = jnp.maximum(sd_out, floor)

        def stat(s, mu_in=mu_in, sd_in=sd_in, mu_out=mu_out, sd_out=sd_out):
            return _log_normal(s, mu_in, sd_in) - _log_normal(s, mu_out, sd_out)

        lu, lr = stat(u[tgt]), stat(r[tgt])
        lam_u = lam_u.at[tgt].set(lu)
        lam_r = lam_r.at[tgt].set(lr)
        scores = jnp.concatenate([lu, lr], axis=0)
        member = np.concatenate(
            [np.ones(lu.shape, bool), np.zeros(lr.shape, bool)], axis=0
        )
        aucs.append(_auc_core(scores.reshape(-1), jnp.asarray(member.ravel())))
        pers.append(
            jax.vmap(_auc_core, in_axes=(1, None))(
                scores, jnp.asarray(member[:, 0])
            )
        )
    auc = jnp.mean(jnp.stack(aucs))
    per = jnp.mean(jnp.stack(pers), axis=0)
    return auc, per, lam_u, lam_r


_attack_jit = jax.jit(_attack_core, static_argnums=(2, 3, 4))


def ulira_attack(
    unlearned_confidence: Float[ArrayLike, "S n"],
    retrained_confidence: Float[ArrayLike, "S n"],
    *,
    folds: int | None = None,
    fix_variance: bool = False,
    min_std: float = 1e-3,
) -> ULiRAOutput:
    """The per-example likelihood-ratio attack on paired shadow scores.

    Row ``j`` of both inputs is shadow pair ``j`` (an unlearned and a
    retrained model); each pair is scored with Gaussians fit on the pairs
    of the other folds (see the module docstring, steps 3-5).

    Args:
      unlearned_confidence: ``[S, n]`` scores (e.g.
        :func:`logit_scaled_confidence`) of ``S`` unlearned models on ``n``
        forget examples.
      retrained_confidence: ``[S, n]`` the same for ``S`` retrained models.
      folds: the number of folds ``K`` in ``[2, S]``; ``min(4, S)`` if None.
        With ``K = S`` the per-example AUC is the paired test's accuracy.
      fix_variance: one deviation per population (pooled over examples)
        instead of one per example.
      min_std: the floor of every fitted standard deviation (> 0).

    Returns:
      A :class:`ULiRAOutput`.

    Raises:
      ValueError: on fewer than 2 shadow pairs, ``folds`` outside
        ``[2, S]``, mismatched shapes, NaN scores or a non-positive
        ``min_std``.
      TypeError: on non-floating scores or mixed dtypes.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxunlearn.audit import ulira_attack
      >>> u = jax.random.normal(jax.random.key(0), (8, 5)) + 3.0
      >>> r = jax.random.normal(jax.random.key(1), (8, 5))
      >>> float(ulira_attack(u, r).auc) > 0.9
      True
    """
    u = _checks.as_array("unlearned_confidence", unlearned_confidence)
    r = _checks.as_array("retrained_confidence", retrained_confidence)
    _checks.check_floating("unlearned_confidence", u)
    _checks.check_floating("retrained_confidence", r)
    _checks.check_rank("unlearned_confidence", u, 2)
    _checks.check_shape("retrained_confidence", r, u.shape)
    _checks.check_same_dtype(unlearned_confidence=u, retrained_confidence=r)
    if u.shape[0] < 2:
        raise ValueError(
            "unlearned_confidence: expected at least 2 shadow pairs on axis"
            f" 0, got shape {u.shape}"
        )
    _checks.check_nonempty("unlearned_confidence", u, axis=1)
    _checks.check_not_nan("unlearned_confidence", u)
    _checks.check_not_nan("retrained_confidence", r)
    if not min_std > 0:
        raise ValueError(f"min_std: expected a value > 0, got {min_std!r}")
    k = min(4, u.shape[0]) if folds is None else folds
    _checks.check_positive_int("folds", k, minimum=2)
    if k > u.shape[0]:
        raise ValueError(
            f"folds: expected at most the {u.shape[0]} shadow pairs, got {k}"
        )
    auc, per, lam_u, lam_r = _attack_jit(
        u, r, int(k), bool(fix_variance), float(min_std)
    )
    return ULiRAOutput(auc, per, lam_u, lam_r, u, r)


def default_train_fn(
    apply_fn: ApplyFn,
    *,
    epochs: int,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
) -> TrainFn:
    """A ``train_fn(params, x, y, where, key) -> params`` by ``fit_classifier``.

    Args:
      apply_fn: pure forward pass ``apply_fn(params, x) -> logits [n, c]``.
      epochs: passes over the rows with ``where > 0`` (static).
      batch_size: rows per step.
      learning_rate: Adam's step size.

    Returns:
      The training function :func:`ulira_shadows` expects (traceable, so
      it runs under ``vmap``).
    """
    _checks.check_positive_int("epochs", epochs)
    _checks.check_positive_int("batch_size", batch_size)

    def train(params, x, y, where, key):
        return fit_classifier(
            apply_fn,
            params,
            x,
            y,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            key=key,
            where=where,
        ).params

    return train


def _check_forget(forget_indices: Any, n: int) -> np.ndarray:
    idx = np.asarray(forget_indices)
    if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(
            "forget_indices: expected a 1-D integer array, got shape"
            f" {idx.shape} and dtype {idx.dtype}"
        )
    if idx.size == 0 or idx.size >= n:
        raise ValueError(
            "forget_indices: expected between 1 and n - 1 ="
            f" {n - 1} rows of the pool (n = {n}), got {idx.size}"
        )
    if idx.min() < 0 or idx.max() >= n:
        raise ValueError(
            f"forget_indices: expected indices in [0, {n}), got values in"
            f" [{idx.min()}, {idx.max()}]"
        )
    if np.unique(idx).size != idx.size:
        raise ValueError("forget_indices: expected distinct indices")
    return idx.astype(np.int32)


def _one_shadow(apply_fn, init, unlearn_fn, train_fn, x, y, idx, key):
    """One (unlearned, retrained) pair's confidences, ``[n_f]`` each."""
    k_init_u, k_fit_u, k_unl, k_init_r, k_fit_r = jax.random.split(key, 5)

    def start(k):
        return init(k) if callable(init) else init

    every = jnp.ones((x.shape[0],), x.dtype)
    retain = every.at[idx].set(0)
    # Operations on constants only (e.g. an unlearn_fn's host-side checks of
    # the data it closes over) run eagerly instead of being staged.
    with jax.ensure_compile_time_eval():
        original = train_fn(start(k_init_u), x, y, every, k_fit_u)
        unlearned = unlearn_fn(original, k_unl)
        retrained = train_fn(start(k_init_r), x, y, retain, k_fit_r)
    xf, yf = x[idx], y[idx]
    cu = logit_scaled_confidence(apply_fn(unlearned, xf), yf)
    cr = logit_scaled_confidence(apply_fn(retrained, xf), yf)
    return cu, cr


def ulira_shadows(
    apply_fn: ApplyFn,
    init: Any,
    x: Float[ArrayLike, "n ..."],
    y: Int[ArrayLike, " n"],
    forget_indices: Int[ArrayLike, " k"],
    *,
    unlearn_fn: UnlearnFn,
    train_fn: TrainFn,
    keys: Array,
    batched: bool = True,
) -> tuple[Float[Array, "S k"], Float[Array, "S k"]]:
    """Trains ``S`` shadow pairs and scores them on the forget rows.

    Per key: an original model trained on every pool row and unlearned by
    ``unlearn_fn``, and a model retrained without the forget rows; both from
    ``init`` (a fresh draw per model when ``init`` is a callable).

    Args:
      apply_fn: pure forward pass ``apply_fn(params, x) -> logits [n, c]``.
      init: ``init(key) -> params`` or a fixed parameter pytree.
      x: the pool's inputs ``[n, ...]``.
      y: the pool's integer labels ``[n]``.
      forget_indices: ``[k]`` distinct rows of the pool to forget,
        ``1 <= k < n``.
      unlearn_fn: ``unlearn_fn(params, key) -> params``, the method under
        audit (the forget set closed over); it must be traceable when
        ``batched`` (e.g. built from ``jaxunlearn.datapoint.make_unlearn_fn``
        or the ``jaxunlearn.baselines``).
      train_fn: ``train_fn(params, x, y, where, key) -> params`` trains on
        the rows with ``where > 0`` (e.g. :func:`default_train_fn`).
      keys: ``[S]`` PRNG keys, one per shadow pair.
      batched: one ``jax.vmap`` over the keys inside one ``jax.jit``; with
        False, the pairs are built one by one in Python (for an
        ``unlearn_fn`` that cannot be traced, e.g. one that stops early on
        the host).

    Returns:
      ``(unlearned, retrained)``: ``[S, k]`` logit-scaled confidences of
      the true labels of the forget rows.

    Raises:
      ValueError: on bad forget indices (an empty set, one as large as the
        pool, out of range or repeated), mismatched rows or no keys.
      TypeError: on non-floating ``x``, non-integer ``y`` or bad keys.
    """
    x = _checks.as_array("x", x)
    y = _checks.as_array("y", y)
    _checks.check_floating("x", x)
    _checks.check_integer("y", y)
    _checks.check_nonempty("x", x)
    _checks.check_shape("y", y, (x.shape[0],))
    idx = jnp.asarray(_check_forget(forget_indices, x.shape[0]))
    _checks.check_key("keys", keys)
    if keys.ndim != 1 and not (keys.dtype == jnp.uint32 and keys.ndim == 2):
        raise ValueError(
            f"keys: expected a 1-D batch of PRNG keys, got shape {keys.shape}"
        )
    if keys.shape[0] < 1:
        raise ValueError("keys: expected at least one key, got none")
    y = y.astype(jnp.int32)

    def one(key, x, y):
        return _one_shadow(apply_fn, init, unlearn_fn, train_fn, x, y, idx, key)

    if batched:
        # The data enter as arguments, not constants: value checks inside
        # train_fn then see tracers and defer to the eager checks above.
        return jax.jit(jax.vmap(one, in_axes=(0, None, None)))(keys, x, y)
    pairs = [one(k, x, y) for k in keys]
    return (
        jnp.stack([p[0] for p in pairs]),
        jnp.stack([p[1] for p in pairs]),
    )


def ulira_audit(
    apply_fn: ApplyFn,
    init: Any,
    x: Float[ArrayLike, "n ..."],
    y: Int[ArrayLike, " n"],
    forget_indices: Int[ArrayLike, " k"],
    *,
    unlearn_fn: UnlearnFn,
    key: Array,
    num_shadows: int = 16,
    train_fn: TrainFn | None = None,
    epochs: int = 20,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    batched: bool = True,
    folds: int | None = None,
    fix_variance: bool = False,
    min_std: float = 1e-3,
) -> ULiRAOutput:
    """U-LiRA-style audit: the AUC of unlearned against retrained models.

    Trains ``num_shadows`` shadow pairs (:func:`ulira_shadows`, one compiled
    ``vmap`` by default) and runs :func:`ulira_attack` on them. An AUC near
    0.5 means the attack cannot tell the method's models from retrained
    ones on the forget examples; near 1 means it can.

    Args:
      apply_fn: pure forward pass ``apply_fn(params, x) -> logits [n, c]``.
      init: ``init(key) -> params`` or a fixed parameter pytree.
      x: the pool's inputs ``[n, ...]``.
      y: the pool's integer labels ``[n]``.
      forget_indices: ``[k]`` distinct pool rows to forget, ``1 <= k < n``.
      unlearn_fn: ``unlearn_fn(params, key) -> params``, the method audited.
      key: a PRNG key; shadow pair ``j`` uses ``fold_in(key, j)``.
      num_shadows: the number of shadow pairs ``S >= 2``.
      train_fn: ``train_fn(params, x, y, where, key) -> params``; by default
        ``default_train_fn(apply_fn, epochs=..., batch_size=...,
        learning_rate=...)`` (``jaxunlearn.datapoint.fit_classifier``).
      epochs: epochs of the default ``train_fn``.
      batch_size: rows per step of the default ``train_fn``.
      learning_rate: Adam's step size of the default ``train_fn``.
      batched: vmap the shadow pairs (see :func:`ulira_shadows`).
      folds: cross-fitting folds (see :func:`ulira_attack`).
      fix_variance: pooled deviations (see :func:`ulira_attack`).
      min_std: floor of the fitted deviations.

    Returns:
      A :class:`ULiRAOutput`.

    Raises:
      ValueError: on ``num_shadows < 2``, a forget set as large as the pool
        or other bad input (see :func:`ulira_shadows`).
      TypeError: on a bad key or non-integer ``num_shadows``.

    References:
      Hayes et al., arXiv:2403.01218, 2024.
      https://arxiv.org/abs/2403.01218
    """
    _checks.check_positive_int("num_shadows", num_shadows, minimum=2)
    _checks.check_key("key", key)
    if train_fn is None:
        train_fn = default_train_fn(
            apply_fn,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
        )
    keys = jax.vmap(lambda j: jax.random.fold_in(key, j))(
        jnp.arange(num_shadows)
    )
    cu, cr = ulira_shadows(
        apply_fn,
        init,
        x,
        y,
        forget_indices,
        unlearn_fn=unlearn_fn,
        train_fn=train_fn,
        keys=keys,
        batched=batched,
    )
    return ulira_attack(
        cu, cr, folds=folds, fix_variance=fix_variance, min_std=min_std
    )
