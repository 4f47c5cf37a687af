from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree
from sklearn.linear_model import LogisticRegression as SkLogistic

from jaxunlearn.baselines import certified_removal, fit_l2_regularized


class _Split(NamedTuple):
    x_retain: jax.Array
    y_retain: jax.Array
    x_forget: jax.Array
    y_forget: jax.Array


def _apply(p, x):
    return x @ p["w"] + p["b"][None, :]


def _data(key, n=120, d=4, dtype=jnp.float32):
    k1, k2 = jax.random.split(key)
    x = jax.random.normal(k1, (n, d), dtype)
    w = jnp.arange(1, d + 1, dtype=dtype) / d
    y = (x @ w + 0.5 * jax.random.normal(k2, (n,), dtype) > 0).astype(jnp.int32)
    return x, y


def _init(d, dtype=jnp.float32):
    return {"w": jnp.zeros((d, 2), dtype), "b": jnp.zeros((2,), dtype)}


@pytest.mark.parametrize("n_forget", [1, 10])
def test_within_bound_of_exact_retraining(x64, rng, n_forget):
    x, y = _data(rng, dtype=jnp.float64)
    l2 = 0.05
    full, gnorm = fit_l2_regularized(_apply, _init(4, jnp.float64), x, y, l2=l2)
    assert float(gnorm) < 1e-10
    split = _Split(x[n_forget:], y[n_forget:], x[:n_forget], y[:n_forget])
    out = certified_removal(_apply, full, split, l2=l2)
    exact, _ = fit_l2_regularized(
        _apply, _init(4, jnp.float64), split.x_retain, split.y_retain, l2=l2
    )
    dist = float(
        jnp.linalg.norm(ravel_pytree(out.params)[0] - ravel_pytree(exact)[0])
    )
    assert float(out.gradient_residual) <= float(out.residual_bound)
    assert dist <= float(out.gradient_residual) / l2 + 1e-12
    assert dist <= float(out.distance_bound)
    # The step does something: it is much closer than the original model.
    before = float(
        jnp.linalg.norm(ravel_pytree(full)[0] - ravel_pytree(exact)[0])
    )
    assert dist < 0.1 * before


def test_fit_matches_sklearn(x64, rng):
    # Two logits with ridge lambda on both columns equal a binary logistic
    # regression on the margin w1 - w0 with ridge lambda / 2, i.e. sklearn's
    # C = 2 / (n * lambda); the bias is absorbed as a penalized feature.
    x, y = _data(rng, dtype=jnp.float64)
    l2 = 0.1
    xa = jnp.concatenate([x, jnp.ones((x.shape[0], 1), x.dtype)], axis=1)
    sk = SkLogistic(C=2 / (x.shape[0] * l2), fit_intercept=False, tol=1e-10)
    sk.fit(np.asarray(xa), np.asarray(y))
    params, _ = fit_l2_regularized(
        lambda p, x: x @ p, jnp.zeros((5, 2), jnp.float64), xa, y, l2=l2
    )
    np.testing.assert_allclose(
        params[:, 1] - params[:, 0], sk.coef_[0], rtol=1e-5, atol=1e-6
    )


def test_dtype_and_bad_input(rng):
    x, y = _data(rng)
    params, _ = fit_l2_regularized(_apply, _init(4), x, y, l2=0.1)
    out = certified_removal(
        _apply, params, _Split(x[3:], y[3:], x[:3], y[:3]), l2=0.1
    )
    assert out.params["w"].dtype == jnp.float32
    with pytest.raises(ValueError, match="l2"):
        certified_removal(_apply, params, _Split(x, y, x, y), l2=0.0)
    three = {"w": jnp.zeros((4, 3)), "b": jnp.zeros((3,))}
    with pytest.raises(ValueError, match="2 logits"):
        certified_removal(_apply, three, _Split(x, y, x, y), l2=0.1)
    with pytest.raises(ValueError, match="y_retain"):
        certified_removal(_apply, params, _Split(x, y + 2, x, y), l2=0.1)
    with pytest.raises(ValueError, match="x_retain"):
        certified_removal(_apply, params, _Split(x[:, :2], y, x, y), l2=0.1)
