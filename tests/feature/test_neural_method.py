"""Tests for feature.fit(..., method="neural")."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxunlearn import feature
from jaxunlearn.transport import (
    NeuralOTConfig,
    fit_neural_barycenter,
    neural_barycenter_transform,
)

OPTS = {"num_iterations": 3, "k_t": 2, "batch_size": 8, "hidden": 8}


def test_matches_direct_call_and_roundtrips(rng, tmp_path):
    x = jax.random.normal(rng, (18, 3))
    z = jnp.asarray([5] * 6 + [9] * 12)  # any codes
    # Three training steps: the fit says the maps did not converge.
    with pytest.warns(RuntimeWarning, match="did not converge.*num_iter"):
        rep = feature.fit(x, z, method="neural", options=OPTS)
    assert float(rep.stats.mean_gap) > 0.1
    assert "neural" in feature.available_methods()
    model = fit_neural_barycenter(
        x, (z == 9).astype(jnp.int32), key=jax.random.key(0),
        config=NeuralOTConfig(**OPTS),
    )  # fmt: skip
    for t in (0.0, 0.5, 1.0):
        got = feature.transform(rep, x, z, t=t)
        want = neural_barycenter_transform(
            model, x, (z == 9).astype(jnp.int32), t=t
        )
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    path = tmp_path / "rep.npz"
    feature.save(rep, path)
    back = feature.load(path)
    np.testing.assert_array_equal(
        feature.transform(back, x, z), feature.transform(rep, x, z)
    )


def test_bad_input(rng):
    x = jax.random.normal(rng, (18, 4))
    with pytest.raises(ValueError, match="exactly two groups"):
        feature.fit(x, jnp.arange(18) % 3, method="neural", options=OPTS)
    with pytest.raises(ValueError, match="unknown keys"):
        feature.fit(x, jnp.arange(18) % 2, method="neural", options={"lr": 1})
    with pytest.raises(ValueError, match="image_shape"):
        feature.fit(
            x, jnp.arange(18) % 2, method="neural",
            options={"image_shape": [3, 3]},
        )  # fmt: skip


@pytest.mark.filterwarnings("ignore:method 'neural' did not converge")
def test_gaussian_prior_option_roundtrips(rng, tmp_path):
    z = jnp.arange(20) % 2
    x = jax.random.normal(rng, (20, 4)) + 2.0 * z[:, None].astype(jnp.float32)
    opts = dict(OPTS, prior_components=2)
    rep = feature.fit(x, z, method="neural", options=opts)
    model = fit_neural_barycenter(
        x, z, key=jax.random.key(0), config=NeuralOTConfig(**opts)
    )
    np.testing.assert_allclose(
        feature.transform(rep, x, z),
        neural_barycenter_transform(model, x, z),
        rtol=1e-5,
        atol=1e-6,
    )
    path = tmp_path / "rep.npz"
    feature.save(rep, path)
    np.testing.assert_array_equal(
        feature.transform(feature.load(path), x, z),
        feature.transform(rep, x, z),
    )
