import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from jaxunlearn.audit import (
    attack_advantage,
    logistic_attack,
    loss_threshold_attack,
    roc_auc,
)


def _logits_for_loss(loss):
    # Two-class logits whose cross-entropy on label 0 equals ``loss``.
    margin = -jnp.log(jnp.expm1(loss))
    return jnp.stack([margin, jnp.zeros_like(margin)], axis=-1)


@pytest.mark.parametrize("ties", [False, True])
def test_roc_auc_matches_sklearn(rng, jit, ties):
    k1, k2 = jax.random.split(rng)
    scores = jax.random.normal(k1, (60,))
    if ties:
        scores = jnp.round(scores * 2) / 2
    member = jax.random.bernoulli(k2, 0.4, (60,))
    ours = jit(roc_auc)(scores, member)
    ref = roc_auc_score(np.asarray(member), np.asarray(scores))
    np.testing.assert_allclose(ours, ref, rtol=1e-6)
    fpr, tpr, _ = roc_curve(np.asarray(member), np.asarray(scores))
    np.testing.assert_allclose(
        jit(attack_advantage)(scores, member), np.max(tpr - fpr), rtol=1e-6
    )


def test_perfect_and_blind_attacks(rng):
    member_loss = jnp.full((20,), 0.01)
    other_loss = jnp.linspace(0.5, 3.0, 30)
    y0 = jnp.zeros((20,), jnp.int32)
    y1 = jnp.zeros((30,), jnp.int32)
    out = loss_threshold_attack(
        _logits_for_loss(member_loss), y0, _logits_for_loss(other_loss), y1
    )
    assert float(out.auc) == 1.0
    assert float(out.advantage) == 1.0
    # Identical outputs for members and non-members: blind.
    same = _logits_for_loss(jnp.full((30,), 0.7))
    blind = loss_threshold_attack(same[:20], y0, same, y1)
    assert float(blind.auc) == pytest.approx(0.5)
    assert float(blind.advantage) == pytest.approx(0.0, abs=1e-6)
    lr = logistic_attack(
        _logits_for_loss(member_loss),
        y0,
        _logits_for_loss(other_loss),
        y1,
        key=rng,
    )
    assert float(lr.auc) == pytest.approx(1.0)
    lr_blind = logistic_attack(same[:20], y0, same, y1, key=rng)
    assert float(lr_blind.auc) == pytest.approx(0.5)


def test_logistic_attack_chance_on_same_distribution(rng):
    k1, k2, k3 = jax.random.split(rng, 3)
    a = jax.random.normal(k1, (400, 3))
    b = jax.random.normal(k2, (400, 3))
    y = jnp.zeros((400,), jnp.int32)
    aucs = [
        float(logistic_attack(a, y, b, y, key=k).auc)
        for k in jax.random.split(k3, 3)
    ]
    assert abs(np.mean(aucs) - 0.5) < 0.05
    # A shift in confidence is detected.
    strong = logistic_attack(a + 3 * jax.nn.one_hot(y, 3), y, b, y, key=k3)
    assert float(strong.auc) > 0.9


def test_logistic_attack_traces_once(rng):
    a = jax.random.normal(rng, (30, 3))
    y = jnp.zeros((30,), jnp.int32)

    @jax.jit
    @chex.assert_max_traces(n=1)
    def run(a, b, key):
        return logistic_attack(a, y, b, y, key=key).auc

    run(a, a + 1, rng)
    run(a + 2, a, jax.random.key(1))


def test_bad_input(rng):
    z = jnp.zeros((4, 2))
    y = jnp.zeros((4,), jnp.int32)
    with pytest.raises(ValueError, match="is_member: expected both"):
        roc_auc(jnp.ones(3), jnp.ones(3, bool))
    with pytest.raises(ValueError, match="is_member"):
        roc_auc(jnp.ones(3), jnp.ones(2, bool))
    with pytest.raises(ValueError, match="nonmember_logits"):
        loss_threshold_attack(z, y, jnp.zeros((4, 3)), y)
    with pytest.raises(ValueError, match="num_folds"):
        logistic_attack(z, y, z, y, key=rng, num_folds=5)
    with pytest.raises(TypeError, match="labels"):
        loss_threshold_attack(z, y, z, y.astype(jnp.float32))
