"""The small audit CNNs of the image audit (flax nnx, optax Adam).

Two stride-2 convolutions and a linear head: small enough to train in
seconds on a CPU, strong enough to read stroke thickness from MNIST at
about 89%. :func:`train_cnn` returns a predictor; :func:`cv_accuracy`
trains and scores the same CNN by K-fold cross-validation on one set of
images (the auditor that needs no training images at all).
"""

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx


_PREDICT_CHUNK = 256


class AuditCNN(nnx.Module):
    """Conv(3x3, stride 2) -> Conv(3x3, stride 2) -> Linear."""

    def __init__(self, shape, num_classes, width, rngs):
        h, w = shape
        self.c1 = nnx.Conv(1, width, (3, 3), strides=(2, 2), rngs=rngs)
        self.c2 = nnx.Conv(width, 2 * width, (3, 3), strides=(2, 2), rngs=rngs)
        hh, ww = -(-h // 4), -(-w // 4)
        self.head = nnx.Linear(hh * ww * 2 * width, num_classes, rngs=rngs)

    def __call__(self, x):
        h = nnx.relu(self.c1(x[..., None]))
        h = nnx.relu(self.c2(h))
        return self.head(h.reshape(h.shape[0], -1))


@functools.partial(jax.jit, static_argnames=("graph", "opt"))
def _step(params, opt_state, xb, yb, *, graph, opt):
    # One minibatch step: its shapes do not depend on the data set size, so
    # it compiles once per network and optimizer (the audit trains dozens
    # of CNNs on splits and folds of different sizes).
    def loss_fn(p):
        logits = nnx.merge(graph, p)(xb)
        return jnp.mean(
            optax.softmax_cross_entropy_with_integer_labels(logits, yb)
        )

    g = jax.grad(loss_fn)(params)
    with jax.numpy_dtype_promotion("standard"):
        upd, opt_state = opt.update(g, opt_state, params)
        params = optax.apply_updates(params, upd)
    return params, opt_state


@functools.lru_cache(maxsize=8)
def _adam(learning_rate: float) -> optax.GradientTransformation:
    # One object per rate: the optimizer is a static argument of the jitted
    # epoch, so a fresh one would recompile it on every training.
    return optax.adam(learning_rate)


@functools.partial(jax.jit, static_argnames=("graph",))
def _predict(params, x, *, graph):
    return jnp.argmax(nnx.merge(graph, params)(x), axis=-1)


def train_cnn(
    key, x, y, num_classes, cfg
) -> Callable[[np.ndarray], np.ndarray]:
    """Trains an :class:`AuditCNN` on ``(x, y)``; returns ``x -> labels``.

    The auditor of the image audits (:func:`mnist_thickness_audit`): two
    stride-2 convolutions and a linear head, Adam, ``cfg.cnn_epochs``
    epochs of shuffled batches.

    Args:
      key: PRNG key (initialization and batch order).
      x: images ``[n, h, w]``.
      y: integer labels ``[n]`` in ``[0, num_classes)``.
      num_classes: number of classes.
      cfg: any object with ``cnn_width``, ``cnn_epochs``,
        ``cnn_batch_size`` and ``cnn_learning_rate``.

    Returns:
      A function of images ``[m, h, w]`` giving predicted labels ``[m]``.
    """
    x = np.asarray(x, np.float32)
    k_init, k_run = jax.random.split(key)
    seed = int(jax.random.randint(k_init, (), 0, 2**31 - 1))
    model = AuditCNN(x.shape[1:], num_classes, cfg.cnn_width, nnx.Rngs(seed))
    graph, params = nnx.split(model)
    opt = _adam(float(cfg.cnn_learning_rate))
    opt_state = opt.init(params)
    y = np.asarray(y, np.int32)
    batch = min(cfg.cnn_batch_size, x.shape[0])
    n = x.shape[0]
    for k in jax.random.split(k_run, cfg.cnn_epochs):
        perm = np.asarray(jax.random.permutation(k, n))
        for start in range(0, n - batch + 1, batch):
            rows = perm[start : start + batch]
            params, opt_state = _step(
                params, opt_state, x[rows], y[rows], graph=graph, opt=opt
            )

    def predict(images):
        images = np.asarray(images, np.float32)
        m = images.shape[0]
        pad = (-m) % _PREDICT_CHUNK
        images = np.concatenate([images, np.zeros_like(images[:pad])])
        out = [
            np.asarray(
                _predict(params, images[i : i + _PREDICT_CHUNK], graph=graph)
            )
            for i in range(0, images.shape[0], _PREDICT_CHUNK)
        ]
        return np.concatenate(out)[:m]

    return predict


def accuracy(predict, x, y) -> float:
    """Share of ``predict(x)`` equal to ``y``."""
    return float(np.mean(predict(x) == np.asarray(y)))


def cv_accuracy(key, x, y, num_classes, cfg, folds: int) -> float:
    """K-fold cross-validated accuracy of the audit CNN on ``(x, y)``.

    The folds are a keyed permutation of the rows; each fold is scored by a
    CNN trained on the others, and the correct predictions are pooled.

    Args:
      key: PRNG key (folds and training).
      x: images ``[n, h, w]``.
      y: integer labels ``[n]``.
      num_classes: number of classes.
      cfg: CNN settings (see :func:`train_cnn`).
      folds: number of folds (at least 2).

    Returns:
      The pooled held-out accuracy.
    """
    x = np.asarray(x)
    y = np.asarray(y)
    k_perm, k_fit = jax.random.split(key)
    perm = np.asarray(jax.random.permutation(k_perm, x.shape[0]))
    parts = np.array_split(perm, folds)
    correct = 0
    for i, (held, k) in enumerate(
        zip(parts, jax.random.split(k_fit, folds), strict=True)
    ):
        rest = np.concatenate([p for j, p in enumerate(parts) if j != i])
        predict = train_cnn(k, x[rest], y[rest], num_classes, cfg)
        correct += int(np.sum(predict(x[held]) == y[held]))
    return correct / x.shape[0]
