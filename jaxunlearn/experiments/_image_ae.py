"""A small autoencoder of images (flax nnx, optax Adam), for repair codes.

:func:`train_autoencoder` fits an MLP autoencoder on pooled training images
(both groups, no attribute used) by mean squared reconstruction error and
returns NumPy ``encode`` / ``decode`` functions. The image audit repairs the
codes (fixed atoms, ``"latent_semidiscrete"``) and decodes them: a
nonlinear code space in place of the principal components.
"""

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

_CHUNK = 512


class Autoencoder(nnx.Module):
    """``d -> hidden -> code -> hidden -> d`` (ReLU; sigmoid output)."""

    def __init__(self, d, hidden, code, rngs):
        self.e1 = nnx.Linear(d, hidden, rngs=rngs)
        self.e2 = nnx.Linear(hidden, code, rngs=rngs)
        self.d1 = nnx.Linear(code, hidden, rngs=rngs)
        self.d2 = nnx.Linear(hidden, d, rngs=rngs)

    def encode(self, x):
        return self.e2(nnx.relu(self.e1(x)))

    def decode(self, c):
        return nnx.sigmoid(self.d2(nnx.relu(self.d1(c))))

    def __call__(self, x):
        return self.decode(self.encode(x))


@functools.partial(jax.jit, static_argnames=("graph", "opt"))
def _step(params, opt_state, xb, *, graph, opt):
    def loss_fn(p):
        return jnp.mean(jnp.square(nnx.merge(graph, p)(xb) - xb))

    g = jax.grad(loss_fn)(params)
    with jax.numpy_dtype_promotion("standard"):  # optax's scalar counts
        upd, opt_state = opt.update(g, opt_state, params)
        params = optax.apply_updates(params, upd)
    return params, opt_state


def train_autoencoder(
    key: jax.Array,
    images: np.ndarray,
    *,
    code_dim: int = 32,
    hidden: int = 256,
    epochs: int = 20,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
) -> tuple[Callable, Callable]:
    """Fits the autoencoder to ``images`` ``[n, h, w]`` in ``[0, 1]``.

    Args:
      key: PRNG key (initialization and minibatch order).
      images: training images (pooled over the groups).
      code_dim: code size.
      hidden: width of the hidden layers.
      epochs: passes over the images.
      batch_size: minibatch size (the last partial batch is dropped).
      learning_rate: Adam step size.

    Returns:
      ``(encode, decode)``: ``encode(images [m, h, w]) -> codes [m, k]`` and
      ``decode(codes [m, k]) -> images [m, h, w]``, NumPy float32.

    Raises:
      ValueError: when there are fewer images than one batch.
    """
    x = np.asarray(images, np.float32)
    shape = x.shape[1:]
    flat = x.reshape(x.shape[0], -1)
    n = flat.shape[0]
    if n < batch_size:
        raise ValueError(
            f"images: expected at least batch_size={batch_size} images, got {n}"
        )
    k_init, k_order = jax.random.split(key)
    model = Autoencoder(
        flat.shape[1], hidden, code_dim,
        rngs=nnx.Rngs(int(jax.random.randint(k_init, (), 0, 2**31 - 1))),
    )  # fmt: skip
    graph, params = nnx.split(model)
    opt = optax.adam(learning_rate)
    opt_state = opt.init(params)
    steps = n // batch_size
    for e in range(epochs):
        order = np.asarray(
            jax.random.permutation(jax.random.fold_in(k_order, e), n)
        )
        for s in range(steps):
            xb = jnp.asarray(flat[order[s * batch_size : (s + 1) * batch_size]])
            params, opt_state = _step(
                params, opt_state, xb, graph=graph, opt=opt
            )
    model = nnx.merge(graph, params)
    enc = jax.jit(lambda a: model.encode(a))
    dec = jax.jit(lambda c: model.decode(c))

    def encode(imgs):
        a = np.asarray(imgs, np.float32).reshape(len(imgs), -1)
        return np.concatenate(
            [
                np.asarray(enc(a[i : i + _CHUNK]))
                for i in range(0, len(a), _CHUNK)
            ]
        )

    def decode(codes):
        c = np.asarray(codes, np.float32)
        out = np.concatenate(
            [
                np.asarray(dec(c[i : i + _CHUNK]))
                for i in range(0, len(c), _CHUNK)
            ]
        )
        return out.reshape((len(c), *shape))

    return encode, decode
