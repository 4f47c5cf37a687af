r"""Estimating retraining's forget accuracy without retraining the model.

A retrained model's forget rows are unseen rows, but of a class it saw far
fewer of; the held-out accuracy of the original model overestimates it
(docs/datapoint.md). The estimate here retrains a *cheap* model instead: a
softmax-regression probe on the flattened inputs, fit once on the retain rows
only (``R``) and once on every training row (``A``). The retain probe's
accuracy on the forget rows is a real unseen-row accuracy under the request's
class sizes, on all the forget rows; the gap between the model and the probe
is measured on the held-out rows (every class, so many rows) and transferred
as a shift of the probit (the ``d'`` of signal detection theory: each
accuracy is read as ``Phi(d')`` and the model is taken to be a fixed
``d'`` better than the probe):

.. math::

   \widehat{acc} = \Phi\big(\Phi^{-1}(acc_R(forget))
       + \Phi^{-1}(acc_{model}(held))
       - \Phi^{-1}(acc_A(held))\big).

Accuracies are clipped to ``[1 / (2 n), 1 - 1 / (2 n)]`` before
``Phi^{-1}``.

References:
  Alain & Bengio, "Understanding intermediate layers using linear classifier
  probes", ICLR workshop, 2017. https://arxiv.org/abs/1610.01644

  Macmillan & Creelman, "Detection Theory: A User's Guide", 2nd ed.,
  Lawrence Erlbaum, 2005 (``d' = Phi^{-1}(hit rate) - Phi^{-1}(false
  alarms)``; accuracies compared on the probit scale).
"""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.scipy.special import ndtr, ndtri
from jaxtyping import Array, ArrayLike, Float, Int

from jaxunlearn import _checks
from jaxunlearn.datapoint._membership import ApplyFn
from jaxunlearn.datapoint._train import _ADAM_DESCENT, _fit_core, optimizer_step


def _linear(p: Any, x: Array) -> Array:
    return x @ p["w"] + p["b"][None, :]


def _probe_fits(
    x: Array,
    y: Array,
    masks: Array,
    num_classes: int,
    learning_rate: Array,
    keys: Array,
    epochs: int,
    batch_size: int,
) -> Any:
    # One fit per (mask, key) pair: masks [m, n], keys [m].
    d = x.shape[1]
    p0 = {
        "w": jnp.zeros((d, num_classes), x.dtype),
        "b": jnp.zeros((num_classes,), x.dtype),
    }
    return jax.vmap(
        lambda m, k: (
            _fit_core(
                _linear, p0, x, y, m, learning_rate, k, epochs, batch_size
            ).params
        )
    )(masks, keys)


def _full_batch_fits(
    x: Array,
    y: Array,
    masks: Array,
    num_classes: int,
    learning_rate: Array,
    steps: int,
) -> Any:
    """One deterministic full-batch Adam fit per mask (``masks [m, n]``)."""
    opt = _ADAM_DESCENT
    p0 = {
        "w": jnp.zeros((x.shape[1], num_classes), x.dtype),
        "b": jnp.zeros((num_classes,), x.dtype),
    }

    def fit(m):
        def loss(p):
            ce = optax.softmax_cross_entropy_with_integer_labels(
                _linear(p, x), y
            )
            return jnp.sum(ce * m) / jnp.sum(m)

        def step(carry, _):
            p, st = carry
            g = jax.grad(loss)(p)
            return optimizer_step(opt, p, st, g, learning_rate), None

        return jax.lax.scan(step, (p0, opt.init(p0)), None, length=steps)[0][0]

    return jax.vmap(fit)(masks)


def _features(key: Array, x: Array, n_r: int, dim: int) -> Array:
    """Rows projected on ``dim`` random directions when wider, standardized.

    The mean and spread come from the first ``n_r`` rows (the retain rows).
    """
    d = x.shape[1]
    if d > dim:
        proj = jax.random.normal(key, (d, dim), x.dtype) / np.sqrt(d)
        x = x @ proj
    mu = jnp.mean(x[:n_r], 0, keepdims=True)
    sd = jnp.std(x[:n_r], 0, keepdims=True)
    return (x - mu) / (sd + 1e-6)


def _probit(acc: Array, n: int) -> Array:
    eps = 0.5 / max(n, 1)
    return ndtri(jnp.clip(acc, eps, 1 - eps))


def _transfer(
    acc_r_forget: Array,
    acc_model_hold: Array,
    acc_a_hold: Array,
    n_forget: int,
    n_hold: int,
) -> Array:
    """``Phi(Phi^-1(acc_R) + Phi^-1(acc_model) - Phi^-1(acc_A))``."""
    return ndtr(
        _probit(acc_r_forget, n_forget)
        + _probit(acc_model_hold, n_hold)
        - _probit(acc_a_hold, n_hold)
    )


def estimate_retrain_forget_acc(
    apply_fn: ApplyFn,
    params: Any,
    x_retain: Float[ArrayLike, "r ..."],
    y_retain: Int[ArrayLike, " r"],
    x_forget: Float[ArrayLike, "f ..."],
    y_forget: Int[ArrayLike, " f"],
    x_hold: Float[ArrayLike, "h ..."],
    y_hold: Int[ArrayLike, " h"],
    *,
    num_classes: int,
    key: Array,
    epochs: int = 20,
    batch_size: int = 64,
    learning_rate: float | None = None,
    repeats: int = 1,
    solver: str = "sgd",
    full_steps: int = 20,
    full_dim: int = 64,
) -> Array:
    r"""Estimates the forget accuracy of retraining, by a probe transfer.

    ``Phi(Phi^-1(acc_R(forget)) + Phi^-1(acc(held)) - Phi^-1(acc_A(held)))``
    with ``acc_R`` / ``acc_A`` two softmax-regression probes on the
    flattened inputs (fit on the retain rows / on retain and forget rows,
    one vmapped jitted fit), ``acc`` the model ``params`` and ``held`` every
    held-out row. No model of the size of ``apply_fn`` is trained.

    Args:
      apply_fn: the model's forward pass ``apply_fn(params, x) -> logits``.
      params: the trained (original) parameters.
      x_retain: retain rows ``[r, ...]``.
      y_retain: their labels ``[r]``.
      x_forget: forget rows ``[f, ...]``.
      y_forget: their labels ``[f]``.
      x_hold: held-out rows never trained on ``[h, ...]``.
      y_hold: their labels ``[h]``.
      num_classes: the number of classes ``c`` (static).
      key: PRNG key of the probes' batch order.
      epochs: probe epochs (static; ``solver="sgd"``).
      batch_size: probe batch size (static; ``solver="sgd"``).
      learning_rate: probe Adam step size (1e-2 for ``"sgd"``, 0.3 for
        ``"full"`` if None).
      repeats: the number of probe pairs, each with its own batch order
        (``key``, then ``fold_in(key, i)`` for ``i = 1 .. repeats - 1``;
        under ``"full"``, its own random projection); the estimate is the
        mean of their estimates. The probes' batch order moves one
        estimate by several points on harder data (docs/datapoint.md); 1
        is a single pair.
      solver: ``"sgd"`` (mini-batch Adam on the flattened inputs,
        ``epochs`` epochs) or ``"full"`` (``full_steps`` deterministic
        full-batch Adam steps on the inputs standardized on the retain
        rows, first projected on ``full_dim`` Gaussian random directions
        when wider: no batch order, and a few full passes instead of
        ``epochs`` mini-batch ones) (static).
      full_steps: the steps of ``"full"`` (static).
      full_dim: the projection width of ``"full"`` (static).

    Returns:
      The estimate, a ``[]`` array in ``[0, 1]``.

    Raises:
      ValueError: on empty sets or mismatched shapes, or an unknown
        ``solver``.

    References:
      Macmillan & Creelman, "Detection Theory: A User's Guide", 2005.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> f = lambda p, x: x @ p
      >>> x = jax.random.normal(jax.random.key(0), (60, 3))
      >>> y = (x[:, 0] > 0).astype(jnp.int32)
      >>> w = jnp.array([[-5.0, 5.0], [0.0, 0.0], [0.0, 0.0]])
      >>> est = estimate_retrain_forget_acc(
      ...     f, w, x[:40], y[:40], x[40:45], y[40:45], x[45:], y[45:],
      ...     num_classes=2, key=jax.random.key(1))
      >>> bool(0.0 <= est <= 1.0)
      True
    """
    arrays = {}
    for name, a in (
        ("x_retain", x_retain),
        ("x_forget", x_forget),
        ("x_hold", x_hold),
    ):
        a = _checks.as_array(name, a)
        _checks.check_nonempty(name, a)
        arrays[name] = a
    labels = {}
    for name, a, xn in (
        ("y_retain", y_retain, "x_retain"),
        ("y_forget", y_forget, "x_forget"),
        ("y_hold", y_hold, "x_hold"),
    ):
        a = _checks.as_array(name, a)
        _checks.check_shape(name, a, (arrays[xn].shape[0],))
        labels[name] = a
    _checks.check_positive_int("repeats", repeats)
    _checks.check_choice("solver", solver, ("sgd", "full"))
    _checks.check_positive_int("full_steps", full_steps)
    _checks.check_positive_int("full_dim", full_dim)
    if learning_rate is None:
        learning_rate = 1e-2 if solver == "sgd" else 0.3
    xh = arrays["x_hold"]
    dtype = jnp.result_type(arrays["x_retain"])
    pred = jnp.argmax(apply_fn(params, xh.astype(dtype)), -1)
    return _estimate_jit(
        arrays["x_retain"],
        labels["y_retain"],
        arrays["x_forget"],
        labels["y_forget"],
        xh,
        labels["y_hold"],
        pred,
        key,
        jnp.asarray(learning_rate, dtype),
        num_classes=num_classes,
        repeats=repeats,
        epochs=epochs,
        batch_size=batch_size,
        solver=solver,
        full_steps=full_steps,
        full_dim=full_dim,
    )


def _estimate(
    xr, yr, xf, yf, xh, yh, pred, key, lr, *,
    num_classes, repeats, epochs, batch_size, solver="sgd", full_steps=20,
    full_dim=64,
):  # fmt: skip
    """The probe fits, their accuracies and the transfer: one program."""
    dtype = xr.dtype
    xr, xf, xh = (a.reshape(a.shape[0], -1).astype(dtype) for a in (xr, xf, xh))
    yr, yf, yh = (a.astype(jnp.int32) for a in (yr, yf, yh))
    x = jnp.concatenate([xr, xf])
    y = jnp.concatenate([yr, yf])
    n_r = xr.shape[0]
    rows = jnp.arange(x.shape[0])
    masks = jnp.tile(
        jnp.stack([rows < n_r, jnp.ones_like(rows, bool)]), (repeats, 1)
    ).astype(dtype)
    keys = [key] + [jax.random.fold_in(key, i) for i in range(1, repeats)]
    n_f, n_h = xf.shape[0], xh.shape[0]
    feats = [(x, xh)] * repeats
    if solver == "full":
        feats = [
            (f[: x.shape[0]], f[x.shape[0] :])
            for f in (
                _features(k, jnp.concatenate([x, xh]), n_r, full_dim)
                for k in keys
            )
        ]
        probes = [
            _full_batch_fits(xx, y, masks[:2], num_classes, lr, full_steps)
            for xx, _ in feats
        ]
    else:
        fits = _probe_fits(
            x, y, masks, num_classes, lr,
            jnp.stack([k for k in keys for _ in range(2)]),
            epochs, batch_size,
        )  # fmt: skip
        probes = [
            jax.tree.map(lambda a, i=i: a[2 * i : 2 * i + 2], fits)
            for i in range(repeats)
        ]

    def acc(p, xx, yy):
        return jnp.mean((jnp.argmax(_linear(p, xx), -1) == yy).astype(dtype))

    acc_model = jnp.mean((pred == yh).astype(dtype))
    ests = []
    for (xx, hh), pair in zip(feats, probes, strict=True):
        p_r = jax.tree.map(lambda a: a[0], pair)
        p_a = jax.tree.map(lambda a: a[1], pair)
        ests.append(
            _transfer(
                acc(p_r, xx[n_r:], yf), acc_model, acc(p_a, hh, yh), n_f, n_h
            )
        )
    return ests[0] if repeats == 1 else jnp.mean(jnp.stack(ests))


_estimate_jit = jax.jit(
    _estimate,
    static_argnames=(
        "num_classes",
        "repeats",
        "epochs",
        "batch_size",
        "solver",
        "full_steps",
        "full_dim",
    ),
)


def _class_shift(
    logits: Any, y: Any, classes: Any, target: float, iters: int = 40
) -> float:
    """The smallest logit offset ``d >= 0`` that brings accuracy to target.

    Subtracting ``d`` from the logits of ``classes`` (a ``[c]`` bool mask)
    lowers the accuracy on the rows whose label is in ``classes``; returns
    (by bisection) the smallest ``d`` at which that accuracy is ``<=
    target``, 0 when it already is or when there are no such rows.
    """
    logits = np.asarray(logits, np.float64)
    y = np.asarray(y)
    classes = np.asarray(classes, bool)
    rows = classes[y]
    if not rows.any():
        return 0.0
    lg, yy = logits[rows], y[rows]

    def acc(d: float) -> float:
        return float(np.mean(np.argmax(lg - d * classes[None, :], -1) == yy))

    if acc(0.0) <= target:
        return 0.0
    hi = 1.0
    while acc(hi) > target and hi < 1e6:
        hi *= 2.0
    lo = 0.0
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        if acc(mid) <= target:
            hi = mid
        else:
            lo = mid
    return hi
