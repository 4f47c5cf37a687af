r"""Certified data removal by one Newton step (Guo et al., ICML 2020).

For an L2-regularized, linear-in-parameters binary classifier (logistic
regression), with the retained objective

.. math::
   L'(\theta) = \frac{1}{n'} \sum_{i \in \text{retain}}
   \ell(z_i(\theta), y_i) + \frac{\lambda}{2} \|\theta\|^2,
   \qquad z_i(\theta) = a_i^\top \theta + b_i

(``z_i`` the logit margin ``logit_1 - logit_0``, ``a_i`` its constant
gradient), removal replaces the trained parameters :math:`\theta` by one
Newton step on :math:`L'`:

.. math:: \theta^- = \theta - H'^{-1} \nabla L'(\theta), \quad
   H' = \nabla^2 L'(\theta).

**Residual bound** (the data-dependent bound of Guo et al., derived here for
the mean-form objective). With :math:`v = \theta^- - \theta`,
:math:`\nabla L'(\theta^-) = \int_0^1 (H'(\theta + t v) - H'(\theta)) v\,dt`;
the data part of :math:`H'` is :math:`\frac{1}{n'} A^\top
\mathrm{diag}(\ell''(z)) A` and :math:`\ell''` is
:math:`\gamma`-Lipschitz (:math:`\gamma = 1/(6\sqrt3)` for the logistic
loss; Guo et al. quote the looser 1/4), so

.. math:: \|\nabla L'(\theta^-)\|_2 \le \frac{\gamma}{2 n'} \|A\|_2
   \, \|A v\|_4^2 .

Since :math:`L'` is :math:`\lambda`-strongly convex, the exact retrained
minimizer :math:`\theta^\star_r` satisfies :math:`\|\theta^- -
\theta^\star_r\| \le \|\nabla L'(\theta^-)\| / \lambda`.

References:
  Guo, Goldstein, Hannun & van der Maaten, "Certified Data Removal from
  Machine Learning Models", ICML 2020. https://arxiv.org/abs/1911.03030

  Koh & Liang, "Understanding Black-box Predictions via Influence
  Functions", ICML 2017. https://arxiv.org/abs/1703.04730
"""

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

from jaxtyping import Array, ArrayLike, Float, Int

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from jaxunlearn import _checks

# Lipschitz constant of sigma(z) (1 - sigma(z)): max |sigma''(z)| at
# sigma = 1/2 +- 1/(2 sqrt 3).
LOGISTIC_GAMMA = 1.0 / (6.0 * np.sqrt(3.0))


class CertifiedRemovalOutput(NamedTuple):
    """Result of :func:`certified_removal`.

    Attributes:
      params: the parameters after the Newton removal step.
      gradient_residual: ``||grad L'(params)||_2``, computed exactly.
      residual_bound: the a-priori data-dependent bound on it (module
        docstring).
      distance_bound: ``residual_bound / l2``, a bound on the distance to
        the exact minimizer of the retained objective.
      newton_step: ``||theta^- - theta||_2``, the size of the update.
    """

    params: Any
    gradient_residual: Array
    residual_bound: Array
    distance_bound: Array
    newton_step: Array


def _objective(apply_fn, unravel, x, y, w, l2):
    def loss(theta):
        logits = apply_fn(unravel(theta), x)
        logp = jax.nn.log_softmax(logits, axis=-1)
        ce = -jnp.take_along_axis(logp, y[:, None], axis=-1)[:, 0]
        return jnp.sum(w * ce) / jnp.sum(w) + 0.5 * l2 * jnp.sum(theta**2)

    return loss


def _check_data(apply_fn, params, x, y, name):
    x = _checks.as_array(f"x_{name}", x)
    y = _checks.as_array(f"y_{name}", y)
    _checks.check_floating(f"x_{name}", x)
    _checks.check_integer(f"y_{name}", y)
    _checks.check_nonempty(f"x_{name}", x)
    _checks.check_shape(f"y_{name}", y, (x.shape[0],))
    try:
        out = jax.eval_shape(apply_fn, params, x)
    except Exception as err:  # noqa: BLE001 - re-raised with context.
        raise ValueError(
            f"x_{name}: the model cannot be applied to an array of shape"
            f" {x.shape}: {err}"
        ) from err
    if len(out.shape) != 2 or out.shape[0] != x.shape[0]:
        raise ValueError(
            f"params: expected the model to return logits [{x.shape[0]}, c],"
            f" got shape {out.shape}"
        )
    c = out.shape[1]
    if _checks.is_concrete(y):
        arr = np.asarray(y)
        if arr.min() < 0 or arr.max() >= c:
            raise ValueError(
                f"y_{name}: expected classes in [0, {c}), got values in"
                f" [{arr.min()}, {arr.max()}]"
            )
    return x, y.astype(jnp.int32), c


@functools.partial(jax.jit, static_argnums=(0, 1, 6))
def _newton_fit(apply_fn, unravel, theta, x, y, l2, num_steps):
    loss = _objective(
        apply_fn, unravel, x, y, jnp.ones_like(y, theta.dtype), l2
    )

    def step(_, th):
        g = jax.grad(loss)(th)
        h = jax.hessian(loss)(th)
        return th - jnp.linalg.solve(h, g)

    theta = jax.lax.fori_loop(0, num_steps, step, theta)
    return theta, jnp.linalg.norm(jax.grad(loss)(theta))


def fit_l2_regularized(
    apply_fn: Callable[[Any, Array], Array],
    params: Any,
    x: Float[ArrayLike, "n ..."],
    y: Int[ArrayLike, " n"],
    *,
    l2: float,
    num_steps: int = 25,
) -> tuple[Any, Array]:
    r"""Minimizes mean cross-entropy ``+ (l2 / 2) ||theta||^2`` by Newton.

    Exact (to rounding) for convex models with few parameters, e.g.
    logistic regression: the "retrain from scratch" of the convex setting.
    Every leaf of ``params`` is penalized (bias included).

    Args:
      apply_fn: ``apply_fn(params, x) -> logits [n, c]``.
      params: starting parameters (a pytree; not modified).
      x: inputs ``[n, ...]``.
      y: labels ``[n]`` in ``[0, c)``.
      l2: the ridge strength ``lambda > 0``.
      num_steps: Newton steps (static).

    Returns:
      ``(params, grad_norm)``: the minimizer and ``||grad||_2`` there.

    Raises:
      ValueError: on a model/data shape mismatch, labels out of range or
        ``l2 <= 0``.
      TypeError: on non-floating ``x`` or non-integer ``y``.
    """
    x, y, _ = _check_data(apply_fn, params, x, y, "train")
    if not l2 > 0:
        raise ValueError(f"l2: expected a positive ridge strength, got {l2!r}")
    _checks.check_positive_int("num_steps", num_steps)
    theta, unravel = ravel_pytree(params)
    theta, gnorm = _newton_fit(apply_fn, unravel, theta, x, y, l2, num_steps)
    return unravel(theta), gnorm


@functools.partial(jax.jit, static_argnums=(0, 1))
def _removal_core(apply_fn, unravel, theta, x, y, l2):
    n = x.shape[0]
    loss = _objective(apply_fn, unravel, x, y, jnp.ones((n,), theta.dtype), l2)
    g = jax.grad(loss)(theta)
    h = jax.hessian(loss)(theta)
    v = -jnp.linalg.solve(h, g)
    new = theta + v

    def margin(th):
        logits = apply_fn(unravel(th), x)
        return logits[:, 1] - logits[:, 0]

    a = jax.jacfwd(margin)(theta)  # [n, p], constant for linear models
    av = a @ v
    gamma = jnp.asarray(LOGISTIC_GAMMA, theta.dtype)
    bound = gamma / (2 * n) * jnp.linalg.norm(a, ord=2) * jnp.sum(av**4) ** 0.5
    residual = jnp.linalg.norm(jax.grad(loss)(new))
    return new, residual, bound, jnp.linalg.norm(v)


def certified_removal(
    apply_fn: Callable[[Any, Array], Array],
    params: Any,
    split: Any,
    *,
    l2: float,
    key: Array | None = None,
) -> CertifiedRemovalOutput:
    """One Newton step from ``params`` to the retain-only L2 optimum.

    ``params`` should minimize the full-data objective (see
    :func:`fit_l2_regularized` with the same ``l2``); the step then removes
    the forget rows' influence up to a residual with the bound of Guo et
    al. (module docstring). ``apply_fn`` must be linear in ``params`` with
    two outputs (binary logistic regression, e.g.
    ``jaxunlearn.models.LogisticRegression(d, 2)``) for the bound to hold.

    Args:
      apply_fn: ``apply_fn(params, x) -> logits [n, 2]``, linear in params.
      params: trained parameters (not modified).
      split: an unlearning split with ``x_retain, y_retain`` (the forget
        rows enter only through ``params``).
      l2: the ridge strength ``lambda > 0`` used in training.
      key: unused (the step is deterministic); accepted for the common
        call shape of the baselines.

    Returns:
      A :class:`CertifiedRemovalOutput` with the new parameters and the
      residual, its bound, and the distance bound to exact retraining.

    Raises:
      ValueError: on ``l2 <= 0``, a model that does not return 2 logits,
        shape mismatches or labels out of range.
      TypeError: on non-floating inputs or non-integer labels.

    References:
      Guo, Goldstein, Hannun & van der Maaten, "Certified Data Removal from
      Machine Learning Models", ICML 2020. https://arxiv.org/abs/1911.03030
    """
    del key
    if not l2 > 0:
        raise ValueError(f"l2: expected a positive ridge strength, got {l2!r}")
    x, y, c = _check_data(
        apply_fn, params, split.x_retain, split.y_retain, "retain"
    )
    if c != 2:
        raise ValueError(
            "params: the certified bound is derived for binary logistic"
            f" regression (2 logits), got a model with {c} outputs"
        )
    theta, unravel = ravel_pytree(params)
    new, residual, bound, step = _removal_core(
        apply_fn, unravel, theta, x, y, l2
    )
    return CertifiedRemovalOutput(
        params=unravel(new),
        gradient_residual=residual,
        residual_bound=bound,
        distance_bound=bound / l2,
        newton_step=step,
    )
