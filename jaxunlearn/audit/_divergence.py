r"""KL and Jensen-Shannon divergence between two models' predictions.

Row by row, between the predictive distributions of the model under audit
``p = softmax(logits)`` and of the reference (retrained) model ``q``:

.. math::
   \mathrm{KL}(p \| q) = \sum_c p_c (\log p_c - \log q_c), \qquad
   \mathrm{JS}(p, q) = \tfrac12 \mathrm{KL}(p \| m) + \tfrac12
   \mathrm{KL}(q \| m), \; m = \tfrac12 (p + q).

Computed from log-probabilities (``log_softmax``), so no epsilon enters a
logarithm. Per STYLE 2.4 the functions return per-row values; average them
(over the forget rows, say) yourself.

References:
  Cover & Thomas, "Elements of Information Theory", 2nd ed., Wiley, 2006,
  chapter 2.

  Lin, "Divergence measures based on the Shannon entropy", IEEE Trans.
  Inf. Theory 37(1), 1991. https://doi.org/10.1109/18.61115
"""

from jaxtyping import Array, ArrayLike, Float

import jax
import jax.numpy as jnp

from jaxunlearn import _checks


def _log_probs(logits, reference_logits) -> tuple[Array, Array]:
    logits = _checks.as_array("logits", logits)
    reference_logits = _checks.as_array("reference_logits", reference_logits)
    _checks.check_floating("logits", logits)
    _checks.check_floating("reference_logits", reference_logits)
    _checks.check_rank("logits", logits, 2)
    _checks.check_shape("reference_logits", reference_logits, logits.shape)
    _checks.check_same_dtype(logits=logits, reference_logits=reference_logits)
    return (
        jax.nn.log_softmax(logits, axis=-1),
        jax.nn.log_softmax(reference_logits, axis=-1),
    )


def _kl_from_log(logp: Array, logq: Array) -> Array:
    p = jnp.exp(logp)
    # p = 0 (underflow) contributes 0; the difference of finite logs is
    # finite, so no 0 * inf arises.
    return jnp.maximum(jnp.sum(p * (logp - logq), axis=-1), 0)


def prediction_kl(
    logits: Float[ArrayLike, "n c"], reference_logits: Float[ArrayLike, "n c"]
) -> Float[Array, " n"]:
    """Per-row ``KL(softmax(logits) || softmax(reference_logits))`` in nats.

    Args:
      logits: the audited model's logits ``[n, c]``.
      reference_logits: the reference model's logits ``[n, c]`` on the same
        rows (e.g. a model retrained without the forget set).

    Returns:
      ``[n]`` non-negative divergences; 0 where the predictions agree.

    Raises:
      ValueError: on rank or shape mismatch.
      TypeError: on non-floating or mixed dtypes.

    References:
      Cover & Thomas, "Elements of Information Theory", 2nd ed., 2006.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.audit import prediction_kl
      >>> float(prediction_kl(jnp.zeros((1, 3)), jnp.zeros((1, 3)))[0])
      0.0
    """
    logp, logq = _log_probs(logits, reference_logits)
    return _kl_from_log(logp, logq)


def prediction_js(
    logits: Float[ArrayLike, "n c"], reference_logits: Float[ArrayLike, "n c"]
) -> Float[Array, " n"]:
    """Per-row Jensen-Shannon divergence of two models' predictions (nats).

    Symmetric, bounded by ``log 2``, and 0 exactly where the predictions
    agree.

    Args:
      logits: the audited model's logits ``[n, c]``.
      reference_logits: the reference model's logits ``[n, c]``.

    Returns:
      ``[n]`` divergences in ``[0, log 2]``.

    Raises:
      ValueError: on rank or shape mismatch.
      TypeError: on non-floating or mixed dtypes.

    References:
      Lin, "Divergence measures based on the Shannon entropy", IEEE Trans.
      Inf. Theory, 1991. https://doi.org/10.1109/18.61115

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.audit import prediction_js
      >>> js = prediction_js(jnp.array([[50.0, 0.0]]), jnp.array([[0.0, 50.0]]))
      >>> round(float(js[0]), 4)  # log 2
      0.6931
    """
    logp, logq = _log_probs(logits, reference_logits)
    logm = jnp.logaddexp(logp, logq) - jnp.log(2.0).astype(logp.dtype)
    js = 0.5 * (_kl_from_log(logp, logm) + _kl_from_log(logq, logm))
    return jnp.minimum(js, jnp.log(2.0).astype(logp.dtype))
