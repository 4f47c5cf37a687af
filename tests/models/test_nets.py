import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxunlearn.models import CNN, MLP, LogisticRegression, functional
from jaxunlearn.models._nets import _conv3x3_as_dot


@pytest.mark.parametrize(
    ("make", "shape", "c"),
    [
        (lambda r: MLP(784, (128, 64), 10, rngs=r), (3, 784), 10),
        (lambda r: MLP(784, (128, 64), 10, rngs=r), (3, 28, 28), 10),
        (lambda r: MLP(10, (64, 32), 2, rngs=r), (5, 10), 2),
        (lambda r: CNN(8, 10, rngs=r), (2, 8, 8), 10),
        (lambda r: CNN(28, 10, rngs=r), (2, 28, 28, 1), 10),
        (lambda r: LogisticRegression(64, 10, rngs=r), (4, 64), 10),
    ],
)
def test_shapes_and_functional(make, shape, c, jit):
    model = make(nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(1), shape)
    ref = model(x)
    assert ref.shape == (shape[0], c)
    apply_fn, params = functional(model)
    out = jit(apply_fn)(params, x)
    np.testing.assert_allclose(out, ref, rtol=1e-6, atol=1e-6)


def test_functional_is_pure_and_copies():
    model = MLP(4, (8,), 3, rngs=nnx.Rngs(0))
    apply_fn, params = functional(model)
    x = jnp.ones((2, 4))
    before = model(x)
    zeros = jax.tree.map(jnp.zeros_like, params)
    np.testing.assert_allclose(apply_fn(zeros, x), 0.0)
    np.testing.assert_allclose(model(x), before)  # model untouched
    # params is a plain dict pytree of arrays.
    assert isinstance(params, dict)
    assert all(isinstance(v, jax.Array) for v in jax.tree.leaves(params))


def test_grad_and_vmap_over_params():
    apply_fn, params = functional(MLP(3, (5,), 2, rngs=nnx.Rngs(0)))
    x = jnp.ones((4, 3))
    g = jax.grad(lambda p: jnp.sum(apply_fn(p, x) ** 2))(params)
    assert jax.tree.structure(g) == jax.tree.structure(params)
    stacked = jax.tree.map(lambda a: jnp.stack([a, 2 * a]), params)
    out = jax.vmap(apply_fn, in_axes=(0, None))(stacked, x)
    loop = jnp.stack(
        [
            apply_fn(jax.tree.map(lambda a, i=i: a[i], stacked), x)
            for i in (0, 1)
        ]
    )
    np.testing.assert_allclose(out, loop, rtol=1e-6)


def test_logistic_regression_is_affine():
    model = LogisticRegression(3, 2, rngs=nnx.Rngs(0))
    apply_fn, p = functional(model)
    x = jax.random.normal(jax.random.key(0), (4, 3))
    ref = x @ p["linear"]["kernel"] + p["linear"]["bias"][None, :]
    np.testing.assert_allclose(apply_fn(p, x), ref, rtol=1e-6)


def test_float64(x64):
    model = MLP(3, (4,), 2, param_dtype=jnp.float64, rngs=nnx.Rngs(0))
    assert model(jnp.ones((2, 3), jnp.float64)).dtype == jnp.float64


def test_bad_input():
    with pytest.raises(ValueError, match="x: expected shape"):
        MLP(4, (8,), 3, rngs=nnx.Rngs(0))(jnp.ones((2, 5)))
    with pytest.raises(ValueError, match="hidden"):
        MLP(4, (0,), 3, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="num_classes"):
        LogisticRegression(4, 0, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="image_size"):
        CNN(10, 3, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="x: expected images"):
        CNN(8, 3, rngs=nnx.Rngs(0))(jnp.ones((2, 7, 7)))
    with pytest.raises(TypeError, match="x: expected a float"):
        MLP(4, (8,), 3, rngs=nnx.Rngs(0))(jnp.ones((2, 4), jnp.int32))
    with pytest.raises(TypeError, match="model"):
        functional(lambda x: x)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_cnn_dot_matches_conv_with_gradients(dtype):
    with jax.enable_x64(dtype == jnp.float64):
        conv = CNN(28, 10, param_dtype=dtype, rngs=nnx.Rngs(0))
        dot = CNN(28, 10, param_dtype=dtype, conv="dot", rngs=nnx.Rngs(0))
        f_conv, params = functional(conv)
        f_dot, params_dot = functional(dot)
        # The same parameters: only the convolution's arithmetic differs.
        jax.tree.map(np.testing.assert_array_equal, params, params_dot)
        x = jax.random.normal(jax.random.key(1), (5, 28, 28), dtype)
        tol = 1e-5 if dtype == jnp.float32 else 1e-12
        np.testing.assert_allclose(
            f_dot(params, x), f_conv(params, x), rtol=tol, atol=tol
        )

        def loss(f):
            return jax.grad(lambda p: jnp.sum(jnp.tanh(f(p, x))))(params)

        jax.tree.map(
            lambda a, b: np.testing.assert_allclose(a, b, rtol=tol, atol=tol),
            loss(f_dot), loss(f_conv),
        )  # fmt: skip
        # An independent reference: scipy's 2-D cross-correlation, for the
        # first layer's first output channel.
        from scipy.signal import correlate2d  # noqa: PLC0415

        k = np.asarray(params["conv1"]["kernel"])[:, :, 0, 0]
        b = float(np.asarray(params["conv1"]["bias"])[0])
        ref = correlate2d(np.asarray(x[0]), k, mode="same") + b
        got = _conv3x3_as_dot(dot.conv1, x[:1, :, :, None])[0, :, :, 0]
        np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)


def test_cnn_conv_bad_input():
    with pytest.raises(ValueError, match="conv"):
        CNN(8, 3, conv="fft", rngs=nnx.Rngs(0))
