import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import brentq

from jaxunlearn.audit import mi_audit, mi_bounds
from jaxunlearn.info import prediction_mi


def _hb(p):
    return -(p * np.log(p) + (1 - p) * np.log(1 - p))


def test_bounds_known_values():
    b = mi_bounds(jnp.float32(0.1), jnp.float32(0.25))
    assert float(b.tv_bound) == pytest.approx(np.sqrt(0.1 / (2 * 0.25 * 0.75)))
    assert float(mi_bounds(jnp.float32(2.0), 0.5).tv_bound) == 1.0
    target = _hb(0.25) - 0.1
    ref = brentq(lambda p: _hb(p) - target, 1e-12, 0.5)
    assert float(b.fano_error_bound) == pytest.approx(ref, rel=1e-4)
    big = mi_bounds(jnp.float32(5.0), jnp.float32(0.5))
    assert float(big.advantage_bound) == 1.0
    assert float(big.fano_error_bound) == pytest.approx(0.0, abs=1e-6)


def test_audit_bounds_hold_and_interval(rng):
    k1, k2, k3 = jax.random.split(rng, 3)
    p0 = jax.nn.softmax(jax.random.normal(k1, (80, 3)))
    p1 = jax.nn.softmax(
        jax.random.normal(k2, (40, 3)) + jnp.array([1.5, 0, 0])[None, :]
    )
    out = mi_audit(p0, p1, key=k3, num_bootstrap=100)
    z = jnp.concatenate([jnp.zeros(80, jnp.int32), jnp.ones(40, jnp.int32)])
    np.testing.assert_allclose(
        out.mi, prediction_mi(jnp.concatenate([p0, p1]), z), rtol=1e-6
    )
    assert float(out.lower) <= float(out.mi) <= float(out.upper)
    assert float(out.pi) == pytest.approx(40 / 120)
    # Empirical TV of the groups' prediction laws obeys the Pinsker bound.
    assert float(out.tv) <= float(out.bounds.tv_bound) + 1e-6
    assert out.bootstrap.shape == (100,)
    # Keyed: same key, same interval.
    again = mi_audit(p0, p1, key=k3, num_bootstrap=100)
    assert float(again.upper) == float(out.upper)


def test_audit_zero_for_identical_groups(rng):
    p = jax.nn.softmax(jax.random.normal(rng, (10, 4)))
    out = mi_audit(p, p, key=rng, num_bootstrap=10)
    assert float(out.mi) == pytest.approx(0.0, abs=1e-6)
    assert float(out.bounds.fano_error_bound) == pytest.approx(0.5, abs=1e-3)


def test_bad_input(rng):
    p = jnp.ones((3, 2)) / 2
    with pytest.raises(ValueError, match="probs_1"):
        mi_audit(p, jnp.ones((3, 3)) / 3, key=rng)
    with pytest.raises(ValueError, match="confidence"):
        mi_audit(p, p, key=rng, confidence=1.5)
    with pytest.raises(ValueError, match="mi"):
        mi_bounds(jnp.float32(-1.0), 0.5)
    with pytest.raises(ValueError, match="pi"):
        mi_bounds(jnp.float32(1.0), 1.5)
