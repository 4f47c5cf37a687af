import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxunlearn.transport import (
    gaussian_barycenter,
    gaussian_barycenter_cost,
    gaussian_transport_matrix,
    gaussian_w2_squared,
    mccann_interpolation,
    pareto_frontier,
)
from tests.conftest import random_spd


def test_gaussian_pareto_identity(x64, rng):
    # Law of X_t | z for X ~ N(m_z, S_z), X_t = (1-t) X + t T_z(X):
    # N((1-t) m_z + t m_bar, M S_z M), M = (1-t) I + t A_z. Distortion and
    # disparity are computed from that law, independently of pareto_frontier.
    keys = jax.random.split(rng, 4)
    d = 3
    covs = jnp.stack([random_spd(k, d, dtype=jnp.float64) for k in keys[:3]])
    means = jax.random.normal(keys[3], (3, d), dtype=jnp.float64)
    w = jnp.array([0.2, 0.5, 0.3])
    bar = gaussian_barycenter(means, covs, w)
    v = gaussian_barycenter_cost(means, covs, bar.mean, bar.cov, w)
    eye = jnp.eye(d)
    for t in (0.0, 0.3, 0.7, 1.0):
        dist = disp = 0.0
        for z in range(3):
            a = gaussian_transport_matrix(covs[z], bar.cov)
            # E||X - X_t||^2 = t^2 E||X - T(X)||^2 (the map is affine).
            shift = bar.mean - means[z]
            dist += (
                w[z]
                * t**2
                * (
                    jnp.sum(shift**2)
                    + jnp.trace((a - eye) @ covs[z] @ (a - eye))
                )
            )
            m = (1 - t) * eye + t * a
            disp += w[z] * gaussian_w2_squared(
                (1 - t) * means[z] + t * bar.mean,
                m @ covs[z] @ m,
                bar.mean,
                bar.cov,
            )
        # At t = 1 the disparity is 0 up to rounding (~1e-15), whose square
        # root (~3e-8) would dominate: check the identity inside (0, 1).
        if 0.0 < t < 1.0:
            np.testing.assert_allclose(
                jnp.sqrt(dist) + jnp.sqrt(disp), jnp.sqrt(v), rtol=1e-8
            )
        p = pareto_frontier(v, t)
        np.testing.assert_allclose(p.distortion, dist, rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(p.disparity, disp, rtol=1e-7, atol=1e-10)


def test_mccann_interpolation_and_vmap_over_t():
    x, y = jnp.zeros((4, 2)), jnp.ones((4, 2))
    np.testing.assert_allclose(mccann_interpolation(x, y, 0.0), x)
    np.testing.assert_allclose(mccann_interpolation(x, y, 1.0), y)
    path = jax.vmap(lambda t: mccann_interpolation(x, y, t))(
        jnp.linspace(0.0, 1.0, 3)
    )
    np.testing.assert_allclose(path[:, 0, 0], [0.0, 0.5, 1.0])
    assert mccann_interpolation(x, y, 0.5).dtype == jnp.float32


def test_pareto_bad_input():
    with pytest.raises(ValueError, match="t"):
        pareto_frontier(1.0, 1.5)
    with pytest.raises(ValueError, match="v"):
        pareto_frontier(-1.0, 0.5)
    with pytest.raises(ValueError, match="t"):
        mccann_interpolation(jnp.zeros(2), jnp.ones(2), -0.1)
    with pytest.raises(ValueError, match="y"):
        mccann_interpolation(jnp.zeros(2), jnp.ones(3), 0.5)
    with pytest.raises(ValueError, match="t"):
        mccann_interpolation(jnp.zeros(2), jnp.ones(2), jnp.array([0.1, 0.2]))
