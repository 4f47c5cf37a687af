"""Default networks of the neural OT: a compact conv UNet and MLPs.

``T`` networks are residual (``T(x) = x + g(x)``, zero-initialized output
layer), so training starts at the identity map; potentials map a batch to
``[b]`` scalars. Images are ``[b, h, w, c]`` (channels last).

References:
  Korotin, Selikhanovych and Burnaev, "Neural Optimal Transport", ICLR 2023.
  https://arxiv.org/abs/2201.12220
  Ronneberger, Fischer and Brox, "U-Net: Convolutional Networks for
  Biomedical Image Segmentation", MICCAI 2015.
  https://arxiv.org/abs/1505.04597
"""

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array


class ConvTransport(nnx.Module):
    """Compact UNet-style transport network for ``[h, w, c]`` images.

    ``T(x) = x + g(x)``: a stride-2 encoder at half resolution, a stride-2
    bottleneck at quarter resolution, nearest upsampling with a skip
    connection back to half resolution, and a zero-initialized output
    convolution at full resolution that also sees ``x`` itself, so training
    starts from the identity map. Most of the work runs at reduced
    resolution, which keeps a CPU step cheap.
    """

    def __init__(
        self, channels: int, *, width: int, dtype: Any, rngs: nnx.Rngs
    ):
        """Builds the layers (``channels`` in and out, ``width`` inside)."""
        conv = functools.partial(
            nnx.Conv,
            kernel_size=(3, 3),
            padding="SAME",
            dtype=dtype,
            param_dtype=dtype,
            rngs=rngs,
        )
        self.enc = conv(channels, width, strides=(2, 2))
        self.down = conv(width, 2 * width, strides=(2, 2))
        self.mid = conv(2 * width, 2 * width)
        self.dec = conv(3 * width, width)
        self.out = conv(
            width + channels, channels, kernel_init=nnx.initializers.zeros
        )

    def __call__(self, x: Array) -> Array:
        """Maps a batch ``[b, h, w, c]`` to ``[b, h, w, c]``."""
        h1 = nnx.silu(self.enc(x))
        h2 = nnx.silu(self.mid(nnx.silu(self.down(h1))))
        up2 = jax.image.resize(
            h2, h1.shape[:3] + h2.shape[3:], method="nearest"
        )
        h3 = nnx.silu(self.dec(jnp.concatenate([h1, up2], axis=-1)))
        up1 = jax.image.resize(h3, x.shape[:3] + h3.shape[3:], method="nearest")
        return x + self.out(jnp.concatenate([x, up1], axis=-1))


class ConvPotential(nnx.Module):
    """Convolutional potential ``f: [h, w, c] -> R`` (three stride-2 convs)."""

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        *,
        width: int,
        dtype: Any,
        rngs: nnx.Rngs,
    ):
        """Builds the layers for images of shape ``image_shape``."""
        h, w, c = image_shape
        conv = functools.partial(
            nnx.Conv,
            kernel_size=(3, 3),
            strides=(2, 2),
            padding="SAME",
            dtype=dtype,
            param_dtype=dtype,
            rngs=rngs,
        )
        self.c1 = conv(c, width)
        self.c2 = conv(width, 2 * width)
        self.c3 = conv(2 * width, 2 * width)
        hh, ww = h, w
        for _ in range(3):
            hh, ww = math.ceil(hh / 2), math.ceil(ww / 2)
        self.head = nnx.Linear(
            hh * ww * 2 * width, 1, dtype=dtype, param_dtype=dtype, rngs=rngs
        )

    def __call__(self, x: Array) -> Array:
        """Maps a batch ``[b, h, w, c]`` to potentials ``[b]``."""
        h = nnx.silu(self.c1(x))
        h = nnx.silu(self.c2(h))
        h = nnx.silu(self.c3(h))
        return self.head(h.reshape(h.shape[0], -1))[:, 0]


class MLPTransport(nnx.Module):
    """Residual MLP transport ``T(x) = x + g(x)`` for vectors ``[d]``."""

    def __init__(
        self, dim: int, *, width: int, depth: int, dtype: Any, rngs: nnx.Rngs
    ):
        """Builds ``depth`` hidden layers of ``width`` units."""
        sizes = [dim] + [width] * depth
        self.hidden = nnx.List(
            [
                nnx.Linear(a, b, dtype=dtype, param_dtype=dtype, rngs=rngs)
                for a, b in zip(sizes[:-1], sizes[1:], strict=True)
            ]
        )
        self.out = nnx.Linear(
            sizes[-1],
            dim,
            kernel_init=nnx.initializers.zeros,
            dtype=dtype,
            param_dtype=dtype,
            rngs=rngs,
        )

    def __call__(self, x: Array) -> Array:
        """Maps a batch ``[b, d]`` to ``[b, d]``."""
        h = x
        for layer in self.hidden:
            h = nnx.silu(layer(h))
        return x + self.out(h)


class MLPPotential(nnx.Module):
    """MLP potential ``f: R^d -> R``."""

    def __init__(
        self, dim: int, *, width: int, depth: int, dtype: Any, rngs: nnx.Rngs
    ):
        """Builds ``depth`` hidden layers of ``width`` units."""
        sizes = [dim] + [width] * depth
        self.hidden = nnx.List(
            [
                nnx.Linear(a, b, dtype=dtype, param_dtype=dtype, rngs=rngs)
                for a, b in zip(sizes[:-1], sizes[1:], strict=True)
            ]
        )
        self.out = nnx.Linear(
            sizes[-1], 1, dtype=dtype, param_dtype=dtype, rngs=rngs
        )

    def __call__(self, x: Array) -> Array:
        """Maps a batch ``[b, d]`` to potentials ``[b]``."""
        h = x
        for layer in self.hidden:
            h = nnx.silu(layer(h))
        return self.out(h)[:, 0]
