import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxunlearn.info import (
    fano_bound,
    membership_advantage_bound,
    mutual_information,
    tv_bound,
)


def _two_group_tables(n, c, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(c) * 0.7, size=(n, 2))  # P(y | z)
    pi0 = rng.uniform(0.1, 0.9, size=n)
    pi = np.stack([pi0, 1 - pi0], axis=1)
    joint = p.transpose(0, 2, 1) * pi[:, None, :]  # [n, c, 2]
    return p, pi0, joint


def test_tv_and_advantage_bounds_hold():
    p, pi0, joint = _two_group_tables(200, 4)
    mi = mutual_information(jnp.asarray(joint, jnp.float32))
    tv = 0.5 * np.abs(p[:, 0] - p[:, 1]).sum(-1)
    bound = tv_bound(mi, jnp.asarray(pi0, jnp.float32))
    assert bool(jnp.all(tv <= bound + 1e-6))
    # Best membership test A = {y : P0(y) > P1(y)} has advantage = TV.
    adv = np.where(p[:, 0] > p[:, 1], p[:, 0] - p[:, 1], 0).sum(-1)
    np.testing.assert_allclose(adv, tv, rtol=1e-10)
    adv_bound = membership_advantage_bound(mi, jnp.asarray(pi0, jnp.float32))
    assert bool(jnp.all(adv <= adv_bound + 1e-6))
    assert bool(jnp.all((bound >= 0) & (bound <= 1)))


def test_tv_bound_closed_form_and_tightness():
    # Pinsker is tight to first order: P0/P1 = (1/2 +- e, 1/2 -+ e).
    e = 1e-3
    with jax.enable_x64(True):
        j = jnp.array([[0.5 + e, 0.5 - e], [0.5 - e, 0.5 + e]], jnp.float64) / 2
        bound = tv_bound(mutual_information(j), jnp.float64(0.5))
    np.testing.assert_allclose(bound, 2 * e, rtol=1e-3)
    assert float(tv_bound(jnp.float32(0.0), jnp.float32(0.5))) == 0.0
    assert float(tv_bound(jnp.float32(10.0), jnp.float32(0.5))) == 1.0
    g = jax.grad(lambda m: tv_bound(m, jnp.float32(0.3)))(jnp.float32(0.0))
    assert bool(jnp.isfinite(g))


@pytest.mark.parametrize("k", [2, 3])
def test_fano_bound_holds_and_solves(k, x64):
    rng = np.random.default_rng(k)
    for _ in range(20):
        joint = rng.dirichlet(np.ones(4 * k) * 0.5).reshape(4, k)  # [y, z]
        mi = mutual_information(jnp.asarray(joint))
        pz = jnp.asarray(joint.sum(0))
        bound = fano_bound(mi, pz)
        bayes_err = 1.0 - joint.max(axis=1).sum()
        assert float(bound) <= bayes_err + 1e-9
        # The bound solves h_b(P) + P log(k - 1) = H(Z) - I when positive.
        hz = -np.sum(pz * np.log(pz))
        p = float(bound)
        if p > 0:
            hb = -p * np.log(p) - (1 - p) * np.log(1 - p)
            np.testing.assert_allclose(
                hb + p * np.log(k - 1), hz - float(mi), atol=1e-9
            )


def test_fano_binary_known_values(x64):
    # I = 0, pi = (0.2, 0.8): h_b(P) >= h_b(0.2) so P >= 0.2.
    np.testing.assert_allclose(
        fano_bound(jnp.float64(0.0), jnp.array([0.2, 0.8])), 0.2, rtol=1e-9
    )
    assert float(fano_bound(jnp.float64(1.0), jnp.array([0.5, 0.5]))) == 0.0
    out = jax.jit(fano_bound)(
        jnp.array([0.0, 0.1]), jnp.array([[0.5, 0.5], [0.5, 0.5]])
    )
    assert out.shape == (2,)


def test_bad_input():
    with pytest.raises(ValueError, match="pi0: expected group proportions"):
        tv_bound(jnp.float32(0.1), jnp.float32(1.0))
    with pytest.raises(TypeError, match="mi: expected a float"):
        tv_bound(jnp.int32(1), jnp.float32(0.5))
    with pytest.raises(ValueError, match="mi: expected finite"):
        membership_advantage_bound(jnp.float32(jnp.nan), 0.5)
    with pytest.raises(ValueError, match="group_probs: expected .* k >= 2"):
        fano_bound(jnp.float32(0.1), jnp.array([1.0]))
    with pytest.raises(ValueError, match="group_probs: expected probabilities"):
        fano_bound(jnp.float32(0.1), jnp.array([0.5, 0.6]))


def test_dtype_preserved(x64):
    mi = jnp.float64(0.1)
    assert tv_bound(mi, jnp.float64(0.4)).dtype == jnp.float64
    assert fano_bound(mi, jnp.array([0.4, 0.6])).dtype == jnp.float64
    assert tv_bound(jnp.float32(0.1), jnp.float32(0.4)).dtype == jnp.float32
