"""The GMM toy reproduction of the paper (Xu & Strohmer's first experiment).

Two Gaussian components in ``R^10`` (2,500 points each, variance 10), one
extra point ``x ~ N(m_0, 20 I)`` with label 0 to forget; an MLP 10-64-32-2
trained full batch with Adam (lr 0.01, 100 epochs). Reported: accuracy on
the 5,000 points ``X`` and the model's ``P(y = 0 | x)`` at the forgotten
point, for the original model (trained with ``x``), a model retrained from
scratch without ``x``, MI unlearning (``gamma = 4.2``, 5 epochs, utility on
all data as in the authors' notebook) with the library's regularizer (the
plug-in ``I(Y_hat; Z)`` of ``jaxunlearn.info.prediction_mi``, ``Z`` = forget
membership), the same recipe with the authors' notebook estimator
(``jaxunlearn.info.prediction_mi_direct``, their
``compute_mutual_information_direct``) as the regularizer, and the gradient
baselines, over repetitions vmapped over seeds. Every model also reports
both estimators on ``X`` plus ``x`` with ``Z`` = membership.

References:
  Xu & Strohmer, "Machine Unlearning via Information Theoretic
  Regularization", arXiv:2502.05684, 2025. https://arxiv.org/abs/2502.05684
"""

from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from jaxunlearn import _checks
from jaxunlearn.datapoint import optimizer_step, unlearn
from jaxunlearn.datasets import UnlearningSplit, gmm_toy
from jaxunlearn.experiments._common import (
    ReproductionResult,
    fit_original_and_retrain,
    run_baselines,
    summarize,
)
from jaxunlearn.info import prediction_mi, prediction_mi_direct
from jaxunlearn.models import MLP, functional

#: The authors' saved outputs: accuracy on X, P(y = 0 | x).
GMM_PAPER = {
    "original": (0.933, 0.968),
    "retrain": (0.933, 0.785),
    "mi_unlearning": (0.924, 0.781),
    "mi_unlearning_direct": (0.924, 0.781),
}

_BASELINES = ("finetune", "neggrad", "neggrad_plus", "random_labels", "scrub")


# Per model: accuracy on X, P(y = 0 | x), and on X plus x with Z =
# membership the plug-in I(Y_hat; Z) and the authors' direct estimate.
_METRICS = ("accuracy", "p_forget", "mi", "mi_direct")


def _direct_unlearn(apply_fn, params, x, y, z, *, gamma, epochs, lr):
    """The authors' GMM unlearning: full-batch Adam on ``CE + gamma * D``.

    ``D`` is :func:`jaxunlearn.info.prediction_mi_direct` of the softmax
    predictions on every row (``z`` = forget membership); one step per
    epoch, as their notebook's full batch.
    """
    opt = optax.adam(lr)

    def loss(p):
        logits = apply_fn(p, x)
        ce = optax.softmax_cross_entropy_with_integer_labels(logits, y)
        probs = jax.nn.softmax(logits)
        return jnp.mean(ce) + gamma * prediction_mi_direct(
            probs, z, num_groups=2
        )

    def step(carry, _):
        p, state = carry
        return optimizer_step(opt, p, state, jax.grad(loss)(p)), None

    carry = (params, opt.init(params))
    return jax.lax.scan(step, carry, None, length=epochs)[0][0]


def gmm_reproduction(
    *,
    key: jax.Array,
    n: int = 5000,
    d: int = 10,
    seeds: int = 100,
    epochs: int = 100,
    learning_rate: float = 0.01,
    gamma: float = 4.2,
    unlearn_epochs: int = 5,
    baselines: bool = True,
    fixed_means: bool = True,
) -> ReproductionResult:
    """Runs the GMM toy table over ``seeds`` repetitions (vmapped).

    Args:
      key: PRNG key for everything (means, samples, inits, shuffles).
      n: points in ``X`` (even; 5000 in the paper).
      d: dimension (10 in the paper).
      seeds: repetitions, vmapped (100 in the paper).
      epochs: full-batch Adam epochs of the original and retrained models.
      learning_rate: Adam's step size for every protocol (0.01).
      gamma: the MI weight of MI unlearning (4.2).
      unlearn_epochs: epochs of MI unlearning and of each baseline (5).
      baselines: also run fine-tune, NegGrad, NegGrad+, random labels,
        SCRUB and SSD for ``unlearn_epochs`` epochs each.
      fixed_means: draw the component means once (the paper's small spread
        over repetitions suggests a fixed draw) instead of once per seed.

    Returns:
      A :class:`ReproductionResult` with metrics ``accuracy`` (on ``X``)
      and ``p_forget`` (``P(y = 0 | x)``), ours and the paper's, and
      ``mi`` (the plug-in ``I(Y_hat; Z)``) and ``mi_direct`` (the authors'
      estimator), both on ``X`` plus ``x`` with ``Z`` = membership. Rows
      ``mi_unlearning`` (regularized by ``mi``) and
      ``mi_unlearning_direct`` (by ``mi_direct``) both sit beside the
      paper's MI-unlearning numbers.

    Raises:
      ValueError: on non-positive sizes or an odd ``n``.

    References:
      Xu & Strohmer, arXiv:2502.05684, 2025.
    """
    for name, v in (("n", n), ("d", d), ("seeds", seeds), ("epochs", epochs)):
        _checks.check_positive_int(name, v)
    _checks.check_positive_int("unlearn_epochs", unlearn_epochs)
    k_means, k_model, k_seeds = jax.random.split(key, 3)
    means = gmm_toy(k_means, 2, d).means if fixed_means else None
    apply_fn, p0 = functional(MLP(d, (64, 32), 2, rngs=nnx.Rngs(0)))
    del k_model
    common = {
        "batch_size": n,
        "forget_batch_size": 1,
        "learning_rate": learning_rate,
    }

    def one(k: jax.Array) -> dict[str, Any]:
        kd, ki, kr, kt, kt2, ku, kb = jax.random.split(k, 7)
        g = gmm_toy(kd, n, d, means=means)
        split = UnlearningSplit(
            g.x,
            g.y,
            g.x_forget,
            g.y_forget,
            g.x,
            g.y,
            2,
            jnp.arange(n, dtype=jnp.int32),
            jnp.array([n], jnp.int32),
        )
        original, retrained = fit_original_and_retrain(
            apply_fn, p0, split, (ki, kr, kt, kt2), epochs=(epochs, epochs),
            batch_sizes=(n + 1, n), learning_rate=learning_rate,
        )  # fmt: skip
        models = {"original": original, "retrain": retrained}
        curves = {}
        mi = unlearn(
            apply_fn,
            original,
            split,
            gamma=gamma,
            epochs=unlearn_epochs,
            utility="all",
            key=ku,
            **common,
        )
        models["mi_unlearning"] = mi.params
        curves["mi_unlearning"] = mi.history
        x_all = jnp.concatenate([g.x, g.x_forget])
        y_all = jnp.concatenate([g.y, g.y_forget])
        z_all = jnp.concatenate(
            [jnp.zeros(n, jnp.int32), jnp.ones(1, jnp.int32)]
        )
        models["mi_unlearning_direct"] = _direct_unlearn(
            apply_fn, original, x_all, y_all, z_all,
            gamma=gamma, epochs=unlearn_epochs, lr=learning_rate,
        )  # fmt: skip
        if baselines:
            base, base_curves = run_baselines(
                apply_fn, original, split, _BASELINES, kb,
                epochs=lambda name: unlearn_epochs, **common,
            )  # fmt: skip
            models.update(base)
            curves.update(base_curves)

        def metrics(p):
            acc = jnp.mean(jnp.argmax(apply_fn(p, g.x), -1) == g.y)
            probs = jax.nn.softmax(apply_fn(p, x_all))
            prob = probs[-1, 0]  # P(y = 0 | x) at the forgotten point
            return (
                acc.astype(prob.dtype),
                prob,
                prediction_mi(probs, z_all, num_groups=2),
                prediction_mi_direct(probs, z_all, num_groups=2),
            )

        return {k: metrics(p) for k, p in models.items()}, curves

    out, curves = jax.vmap(one)(jax.random.split(k_seeds, seeds))
    rows = {}
    order = [
        "original", "retrain", "mi_unlearning", "mi_unlearning_direct",
        *_BASELINES, "ssd",
    ]  # fmt: skip
    for name in [k for k in order if k in out]:
        paper = GMM_PAPER.get(name, (None, None))
        rows[name] = {}
        for metric, values in zip(_METRICS, out[name], strict=True):
            m, sd = summarize(values)
            rows[name][f"{metric}_mean"] = m
            rows[name][f"{metric}_std"] = sd
            if metric in ("accuracy", "p_forget"):
                rows[name][f"{metric}_paper"] = paper[metric == "p_forget"]
    curve_means = {
        name: {
            f: [float(v) for v in jnp.mean(getattr(h, f), axis=0)]
            for f in ("task_loss", "mi", "forget_acc", "test_acc")
        }
        for name, h in sorted(curves.items(), key=lambda kv: order.index(kv[0]))
    }
    config = {
        "n": n,
        "d": d,
        "seeds": seeds,
        "epochs": epochs,
        "learning_rate": learning_rate,
        "gamma": gamma,
        "unlearn_epochs": unlearn_epochs,
        "fixed_means": fixed_means,
    }
    return ReproductionResult(rows, curve_means, config)
