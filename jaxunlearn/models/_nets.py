"""Small flax nnx classifiers and a functional ``(apply_fn, params)`` view.

Every model maps a batch ``x [n, ...]`` to logits ``[n, num_classes]``.
Everything downstream (``jaxunlearn.datapoint``, the baselines, the audits)
takes the pure pair returned by :func:`functional`, so any JAX model whose
forward pass is ``apply_fn(params, x) -> logits`` works the same way.

References:
  Xu & Strohmer, "Machine Unlearning via Information Theoretic
  Regularization", arXiv:2502.05684, 2025 (the MLP sizes 784-128-64-10 and
  10-64-32-2). https://arxiv.org/abs/2502.05684
"""

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array, ArrayLike, Float

from jaxunlearn import _checks


def _check_input(name: str, x: Any, trailing: tuple[int, ...]) -> Array:
    x = _checks.as_array(name, x)
    _checks.check_floating(name, x)
    if x.ndim != 1 + len(trailing) or tuple(x.shape[1:]) != trailing:
        want = "[n, " + ", ".join(str(t) for t in trailing) + "]"
        raise ValueError(
            f"{name}: expected shape {want} (the model's input size), got an"
            f" array of shape {tuple(x.shape)}"
        )
    return x


class MLP(nnx.Module):
    """A ReLU multilayer perceptron classifier.

    ``x -> Linear -> act -> ... -> Linear -> logits``; inputs with more than
    one trailing axis (images) are flattened first.

    Args:
      in_features: the number of input features ``d`` (an image ``[h, w]``
        gives ``h * w``).
      hidden: the widths of the hidden layers, e.g. ``(128, 64)``.
      num_classes: the number of output logits ``C``.
      activation: the hidden non-linearity (``jax.nn.relu`` by default).
      param_dtype: the dtype of the weights (float32 by default).
      rngs: the flax ``nnx.Rngs`` used to initialise the weights.

    Returns:
      A module; calling it on ``x [n, d]`` (or ``[n, h, w]``) returns logits
      ``[n, C]``.

    Raises:
      ValueError: on non-positive sizes, or an input of the wrong size.

    Examples:
      >>> from flax import nnx
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.models import MLP
      >>> model = MLP(10, (64, 32), 2, rngs=nnx.Rngs(0))
      >>> model(jnp.zeros((5, 10))).shape
      (5, 2)
    """

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int],
        num_classes: int,
        *,
        activation: Callable[[Array], Array] = jax.nn.relu,
        param_dtype: Any = jnp.float32,
        rngs: nnx.Rngs,
    ):
        _checks.check_positive_int("in_features", in_features)
        _checks.check_positive_int("num_classes", num_classes)
        hidden = tuple(hidden)
        for i, h in enumerate(hidden):
            _checks.check_positive_int(f"hidden[{i}]", h)
        sizes = (in_features, *hidden, num_classes)
        self.in_features = in_features
        self.num_classes = num_classes
        self.activation = activation
        self.layers = nnx.List(
            [
                nnx.Linear(a, b, param_dtype=param_dtype, rngs=rngs)
                for a, b in zip(sizes[:-1], sizes[1:], strict=True)
            ]
        )

    def __call__(self, x: Float[ArrayLike, "n ..."]) -> Float[Array, "n c"]:
        """Returns logits ``[n, C]`` for a batch ``x [n, ...]``."""
        x = _checks.as_array("x", x)
        if x.ndim >= 2:
            x = x.reshape(x.shape[0], -1)
        x = _check_input("x", x, (self.in_features,))
        x = x.astype(self.layers[0].kernel[...].dtype)
        for layer in self.layers[:-1]:
            x = self.activation(layer(x))
        return self.layers[-1](x)


class LogisticRegression(nnx.Module):
    """Multinomial logistic regression: one linear layer to the logits.

    ``logits = x W + b``; convex in the parameters, so the certified
    Newton-step removal of Guo et al. (2020) applies.

    Args:
      in_features: the number of input features ``d`` (images are
        flattened).
      num_classes: the number of classes ``C``.
      param_dtype: the dtype of the weights (float32 by default).
      rngs: the flax ``nnx.Rngs`` used to initialise the weights.

    Returns:
      A module mapping ``x [n, d]`` to logits ``[n, C]``.

    Raises:
      ValueError: on non-positive sizes, or an input of the wrong size.

    References:
      Guo, Goldstein, Hannun & van der Maaten, "Certified Data Removal from
      Machine Learning Models", ICML 2020. https://arxiv.org/abs/1911.03030

    Examples:
      >>> from flax import nnx
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.models import LogisticRegression
      >>> LogisticRegression(4, 3, rngs=nnx.Rngs(0))(jnp.ones((2, 4))).shape
      (2, 3)
    """

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        *,
        param_dtype: Any = jnp.float32,
        rngs: nnx.Rngs,
    ):
        _checks.check_positive_int("in_features", in_features)
        _checks.check_positive_int("num_classes", num_classes)
        self.in_features = in_features
        self.num_classes = num_classes
        self.linear = nnx.Linear(
            in_features, num_classes, param_dtype=param_dtype, rngs=rngs
        )

    def __call__(self, x: Float[ArrayLike, "n ..."]) -> Float[Array, "n c"]:
        """Returns logits ``[n, C]`` for a batch ``x [n, ...]``."""
        x = _checks.as_array("x", x)
        if x.ndim >= 2:
            x = x.reshape(x.shape[0], -1)
        x = _check_input("x", x, (self.in_features,))
        return self.linear(x.astype(self.linear.kernel[...].dtype))


def _avg_pool2(x: Array) -> Array:
    """2x2 average pooling with stride 2 of ``[n, h, w, c]`` (even h, w)."""
    n, h, w, c = x.shape
    return jnp.mean(x.reshape(n, h // 2, 2, w // 2, 2, c), axis=(2, 4))


def _conv3x3_as_dot(conv: nnx.Conv, x: Array) -> Array:
    """``conv(x)`` ('SAME' 3x3, stride 1) as nine matrix products.

    Each of the nine shifted views of the zero-padded input is multiplied by
    its tap of the kernel ``[c_in, c_out]`` and the products are summed: the
    same cross-correlation, with no convolution op and no ``9 c_in``-wide
    copy of the input.
    """
    n, h, w, c = x.shape
    xp = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    kernel = conv.kernel[...]
    out = xp[:, :h, :w, :] @ kernel[0, 0]
    for i, j in [(i, j) for i in range(3) for j in range(3)][1:]:
        out = out + xp[:, i : i + h, j : j + w, :] @ kernel[i, j]
    return out + conv.bias[...][None, None, None, :]


class CNN(nnx.Module):
    """A small convolutional classifier for square grey-scale images.

    Two 3x3 convolutions (ReLU, 2x2 average pooling after each), then a
    hidden dense layer and the logits. Sized for 8x8 digits and 28x28
    MNIST / Fashion-MNIST.

    Args:
      image_size: the side ``s`` of the ``[s, s]`` input images (e.g. 8 or
        28); a multiple of 4.
      num_classes: the number of classes ``C``.
      channels: the channels of the two convolutions.
      hidden: the width of the dense layer.
      param_dtype: the dtype of the weights (float32 by default).
      conv: how the convolutions run: ``"conv"`` (XLA's convolution) or
        ``"dot"`` (the same 3x3 cross-correlation as the sum of nine matrix
        products of shifted slices of the padded input). The parameters are the
        same; only the float rounding differs. On XLA:CPU a convolution
        inside a compiled loop (the training scans of ``jaxunlearn``) runs
        many times slower than outside one (jax-ml/jax issue 12868): there
        ``"dot"`` trains about 20x faster (``benchmarks/bench_cnn_conv.py``).
      rngs: the flax ``nnx.Rngs`` used to initialise the weights.

    Returns:
      A module mapping ``x [n, s, s]`` (or ``[n, s, s, 1]`` or flat
      ``[n, s * s]``) to logits ``[n, C]``.

    Raises:
      ValueError: on bad sizes, or an input of the wrong size.

    Examples:
      >>> from flax import nnx
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.models import CNN
      >>> CNN(8, 10, rngs=nnx.Rngs(0))(jnp.zeros((3, 8, 8))).shape
      (3, 10)
    """

    def __init__(
        self,
        image_size: int,
        num_classes: int,
        *,
        channels: tuple[int, int] = (16, 32),
        hidden: int = 64,
        param_dtype: Any = jnp.float32,
        conv: str = "conv",
        rngs: nnx.Rngs,
    ):
        _checks.check_positive_int("image_size", image_size, minimum=4)
        _checks.check_choice("conv", conv, ("conv", "dot"))
        self.conv_impl = conv
        if image_size % 4:
            raise ValueError(
                f"image_size: expected a multiple of 4, got {image_size}"
            )
        _checks.check_positive_int("num_classes", num_classes)
        _checks.check_positive_int("hidden", hidden)
        c1, c2 = channels
        self.image_size = image_size
        self.num_classes = num_classes
        kw = {"param_dtype": param_dtype, "rngs": rngs}
        self.conv1 = nnx.Conv(1, c1, kernel_size=(3, 3), **kw)
        self.conv2 = nnx.Conv(c1, c2, kernel_size=(3, 3), **kw)
        flat = (image_size // 4) ** 2 * c2
        self.dense = nnx.Linear(flat, hidden, **kw)
        self.out = nnx.Linear(hidden, num_classes, **kw)

    def __call__(self, x: Float[ArrayLike, "n ..."]) -> Float[Array, "n c"]:
        """Returns logits ``[n, C]`` for images ``x [n, s, s]``."""
        x = _checks.as_array("x", x)
        s = self.image_size
        _checks.check_floating("x", x)
        if x.ndim >= 1 and x.ndim in (2, 3, 4) and x.size == x.shape[0] * s * s:
            x = x.reshape(x.shape[0], s, s, 1)
        else:
            raise ValueError(
                f"x: expected images of shape [n, {s}, {s}] (or [n, {s * s}]),"
                f" got an array of shape {tuple(x.shape)}"
            )
        x = x.astype(self.conv1.kernel[...].dtype)
        for layer in (self.conv1, self.conv2):
            if self.conv_impl == "dot":
                x = _conv3x3_as_dot(layer, x)
            else:
                x = layer(x)
            x = _avg_pool2(jax.nn.relu(x))
        x = x.reshape(x.shape[0], -1)
        return self.out(jax.nn.relu(self.dense(x)))


def functional(
    model: nnx.Module,
) -> tuple[Callable[[Any, Array], Array], Any]:
    """Splits an nnx model into a pure ``apply_fn`` and its parameters.

    ``apply_fn(params, x) = nnx.merge(graphdef, params)(x)``: a pure function
    of a parameter pytree, safe under ``jit``, ``grad`` and ``vmap``. The
    model itself is left untouched (the parameters are copied out).

    Args:
      model: any flax nnx module whose ``__call__(x)`` returns logits
        ``[n, C]``.

    Returns:
      A tuple ``(apply_fn, params)``: the pure forward pass and the
      parameters as a nested dict of arrays (``nnx.to_pure_dict``).

    Raises:
      TypeError: when ``model`` is not an ``nnx.Module``.

    Examples:
      >>> from flax import nnx
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.models import MLP, functional
      >>> apply_fn, params = functional(MLP(4, (8,), 3, rngs=nnx.Rngs(0)))
      >>> apply_fn(params, jnp.ones((2, 4))).shape
      (2, 3)
    """
    if not isinstance(model, nnx.Module):
        raise TypeError(
            f"model: expected a flax nnx.Module, got {type(model).__name__}"
        )
    graphdef, state, rest = nnx.split(model, nnx.Param, ...)
    # A plain nested dict of fresh arrays: a copy (never aliases the model),
    # and a pytree any optax / jax transform handles without flax types.
    params = jax.tree.map(jnp.array, nnx.to_pure_dict(state))

    def apply_fn(params: Any, x: Array) -> Array:
        return nnx.merge(graphdef, params, rest)(x)

    return apply_fn, params
