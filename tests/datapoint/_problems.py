"""Tiny synthetic unlearning problems shared by the datapoint tests."""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxunlearn.datapoint import Request
from jaxunlearn.models import MLP, functional


class Split(NamedTuple):
    """Compatible with datasets.UnlearningSplit."""

    x_retain: jax.Array
    y_retain: jax.Array
    x_forget: jax.Array
    y_forget: jax.Array
    x_test: jax.Array
    y_test: jax.Array
    num_classes: int


def blobs(key, n=60, d=4, c=3, dtype=jnp.float32):
    """Gaussian blobs, class-separable."""
    k1, k2 = jax.random.split(key)
    y = jnp.arange(n) % c
    centers = 3.0 * jax.random.normal(k1, (c, d), dtype)
    x = centers[y] + jax.random.normal(k2, (n, d), dtype)
    return x, y.astype(jnp.int32)


def tiny_split(key=None, *, n=60, n_forget=6, dtype=jnp.float32):
    key = jax.random.key(0) if key is None else key
    x, y = blobs(key, n=n + 30, dtype=dtype)
    xtr, ytr, xte, yte = x[:n], y[:n], x[n:], y[n:]
    forget = np.where(np.asarray(ytr) == 0)[0][:n_forget]
    keep = np.setdiff1d(np.arange(n), forget)
    return Split(xtr[keep], ytr[keep], xtr[forget], ytr[forget], xte, yte, 3), (
        xtr,
        ytr,
        forget,
    )


def tiny_model(d=4, c=3, dtype=jnp.float32):
    return functional(MLP(d, (8,), c, param_dtype=dtype, rngs=nnx.Rngs(0)))


def request_of(n, forget):
    """The :class:`Request` of forget rows ``forget`` among ``n`` rows."""
    keep = np.setdiff1d(np.arange(n), forget)
    return Request(
        jnp.asarray(keep, jnp.int32),
        jnp.ones(keep.size, jnp.float32),
        jnp.asarray(forget, jnp.int32),
        jnp.ones(len(forget), jnp.float32),
    )
