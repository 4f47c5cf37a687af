"""Tests for the PCA-Gaussian latent barycenter baseline."""

import jax
import jax.numpy as jnp
import numpy as np
import ot
import pytest

from jaxunlearn.transport import (
    fit_pca_gaussian_barycenter,
    pca_gaussian_transform,
)


def _groups(key, n=300, d=4, k=3, dtype=jnp.float32):
    keys = jax.random.split(key, k)
    xs, zs = [], []
    for g in range(k):
        mix = jnp.eye(d, dtype=dtype) + 0.3 * g * jnp.ones((d, d), dtype)
        x = jax.random.normal(keys[g], (n, d), dtype) @ mix + g
        xs.append(x)
        zs.append(jnp.full((n,), g, jnp.int32))
    return jnp.concatenate(xs), jnp.concatenate(zs)


def _moments(lat, z, k):
    out = []
    for g in range(k):
        v = np.asarray(lat[np.asarray(z) == g], dtype=np.float64)
        out.append((v.mean(0), np.cov(v.T, bias=True)))
    return out


def test_full_rank_matches_pot_barycenter(rng, x64):
    x, z = _groups(rng, dtype=jnp.float64)
    model = fit_pca_gaussian_barycenter(
        x, z, num_components=4, ridge=0.0, max_iter=500
    )
    lat = (np.asarray(x) - np.asarray(model.mean)) @ np.asarray(
        model.components
    )
    mom = _moments(lat, z, 3)
    w = np.asarray(model.weights)
    m_ref, c_ref = ot.gaussian.bures_wasserstein_barycenter(
        np.stack([m for m, _ in mom]), np.stack([c for _, c in mom]), w
    )
    repaired = pca_gaussian_transform(model, x, z)
    lat_r = (np.asarray(repaired) - np.asarray(model.mean)) @ np.asarray(
        model.components
    )
    for m, c in _moments(lat_r, z, 3):
        np.testing.assert_allclose(m, m_ref, atol=1e-6)
        np.testing.assert_allclose(c, c_ref, rtol=1e-5, atol=1e-6)


def test_identical_groups_identity_and_partial_repair(rng):
    x = jax.random.normal(rng, (40, 3, 3))
    z = jnp.arange(40) % 2
    xx = jnp.concatenate([x, x])
    zz = jnp.concatenate([jnp.zeros(40, jnp.int32), jnp.ones(40, jnp.int32)])
    model = fit_pca_gaussian_barycenter(xx, zz, num_components=5)
    np.testing.assert_allclose(
        pca_gaussian_transform(model, x, z), x, atol=1e-4
    )
    x2, z2 = _groups(rng)
    m2 = fit_pca_gaussian_barycenter(x2, z2, num_components=2)
    full = pca_gaussian_transform(m2, x2, z2)
    half = pca_gaussian_transform(m2, x2, z2, t=0.5)
    np.testing.assert_allclose(half, (x2 + full) / 2, atol=1e-4)
    np.testing.assert_array_equal(pca_gaussian_transform(m2, x2, z2, t=0.0), x2)


def test_dtypes(rng, x64):
    for dtype in (jnp.float32, jnp.float64):
        x, z = _groups(rng, n=30, dtype=dtype)
        model = fit_pca_gaussian_barycenter(x, z, num_components=2)
        y = pca_gaussian_transform(model, x, z)
        assert y.dtype == dtype and y.shape == x.shape
        assert np.all(np.isfinite(np.asarray(y)))


def test_bad_input(rng):
    x, z = _groups(rng, n=20)
    with pytest.raises(ValueError, match="single group"):
        fit_pca_gaussian_barycenter(x, jnp.zeros(60, jnp.int32))
    with pytest.raises(ValueError, match="at most"):
        fit_pca_gaussian_barycenter(x, z, num_components=5)
    with pytest.raises(ValueError, match="finite"):
        fit_pca_gaussian_barycenter(x.at[0, 0].set(jnp.inf), z)
    with pytest.raises(ValueError, match="empty"):
        fit_pca_gaussian_barycenter(x, z, num_groups=4)
    with pytest.raises(ValueError, match="codes"):
        fit_pca_gaussian_barycenter(x, z.at[0].set(-1))
    with pytest.raises(ValueError, match="3 weights"):
        fit_pca_gaussian_barycenter(x, z, weights=jnp.ones(2))
    model = fit_pca_gaussian_barycenter(x, z, num_components=2)
    with pytest.raises(ValueError, match="as fitted"):
        pca_gaussian_transform(model, jnp.zeros((3, 5)), jnp.zeros(3, int))
    with pytest.raises(ValueError, match="codes"):
        pca_gaussian_transform(model, x, jnp.full((60,), 3))


def test_decoded_variant(rng):
    x, z = _groups(rng, n=40)
    full_rank = fit_pca_gaussian_barycenter(x, z, num_components=4)
    np.testing.assert_allclose(
        pca_gaussian_transform(full_rank, x, z, keep_residual=False),
        pca_gaussian_transform(full_rank, x, z),
        atol=1e-4,
    )  # no residual when k = D
    low = fit_pca_gaussian_barycenter(x, z, num_components=2)
    dec = pca_gaussian_transform(low, x, z, keep_residual=False)
    # Decoded images lie in mean + span(V).
    resid = (dec - low.mean[None, :]) - (
        (dec - low.mean[None, :]) @ low.components
    ) @ low.components.T
    np.testing.assert_allclose(resid, 0.0, atol=1e-4)
    half = pca_gaussian_transform(low, x, z, t=0.5, keep_residual=False)
    np.testing.assert_allclose(half, (x + dec) / 2, atol=1e-4)
