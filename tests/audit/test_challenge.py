import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxunlearn.audit import (
    AccuracyReport,
    challenge_score,
    logit_scaled_confidence,
    per_example_epsilon,
)


def _eps_reference(u, r, delta):
    best = 0.0
    for t in np.concatenate([u, r]):
        for fpr, fnr in (
            (np.mean(r >= t), np.mean(u < t)),
            (np.mean(r < t), np.mean(u >= t)),
        ):
            for num, den in ((1 - delta - fpr, fnr), (1 - delta - fnr, fpr)):
                if num > 0 and den > 0:
                    best = max(best, np.log(num) - np.log(den))
    return best


def test_logit_scaled_confidence_closed_form(rng):
    logits = jax.random.normal(rng, (3, 5, 4))
    labels = jnp.array([0, 1, 2, 3, 0])
    p = jax.nn.softmax(logits)[..., jnp.arange(5), labels]
    np.testing.assert_allclose(
        logit_scaled_confidence(logits, labels),
        jnp.log(p) - jnp.log1p(-p),
        rtol=1e-4,
        atol=1e-5,
    )


def test_epsilon_matches_loop_reference(rng):
    k1, k2 = jax.random.split(rng)
    u = np.asarray(jax.random.normal(k1, (12, 4))) + np.array([0, 0.5, 2, 9])
    r = np.asarray(jax.random.normal(k2, (10, 4)))
    eps = per_example_epsilon(jnp.asarray(u), jnp.asarray(r), delta=0.01)
    ref = [_eps_reference(u[:, j], r[:, j], 0.01) for j in range(4)]
    np.testing.assert_allclose(eps, ref, rtol=1e-5)
    # Fully separated populations hit the finite-sample ceiling.
    assert float(eps[3]) == pytest.approx(np.log(12 * 0.99), rel=1e-5)


def test_challenge_score_identical_vs_separated(rng):
    n, c = 6, 3
    labels = jnp.zeros((n,), jnp.int32)
    keys = jax.random.split(rng, 32)
    # "Many models": vmap over seeds.
    logits = jax.vmap(lambda k: jax.random.normal(k, (n, c)))(keys)
    acc = AccuracyReport(jnp.ones(16), jnp.ones(16), jnp.full((16,), 0.9))
    same = challenge_score(
        logits[:16],
        logits[16:],
        labels,
        unlearned_accuracy=acc,
        retrained_accuracy=acc,
    )
    shifted = logits[:16] + 20 * jax.nn.one_hot(labels, c)[None]
    far = challenge_score(
        shifted,
        logits[16:],
        labels,
        unlearned_accuracy=acc,
        retrained_accuracy=acc,
    )
    # Few models make epsilon noisy upwards, but identical populations
    # still score far above separated ones.
    assert float(same.score) > 3 * float(far.score)
    assert float(far.score) == pytest.approx(
        2.0 / 2 ** (np.floor(np.log(16 * 0.99) / 0.5) + 1)
    )
    worse = AccuracyReport(jnp.ones(16), jnp.ones(16), jnp.full((16,), 0.45))
    half = challenge_score(
        logits[:16],
        logits[16:],
        labels,
        unlearned_accuracy=worse,
        retrained_accuracy=acc,
    )
    assert float(half.test_ratio) == pytest.approx(0.5)
    assert float(half.score) == pytest.approx(0.5 * float(same.score))


def test_bad_input(rng):
    s = jnp.zeros((4, 3))
    with pytest.raises(ValueError, match="retrained_scores"):
        per_example_epsilon(s, jnp.zeros((4, 2)))
    with pytest.raises(
        ValueError, match="unlearned_scores: expected at least 2"
    ):
        per_example_epsilon(s[:1], s)
    with pytest.raises(ValueError, match="delta"):
        per_example_epsilon(s, s, delta=1.0)
    with pytest.raises(ValueError, match="labels"):
        logit_scaled_confidence(
            jnp.zeros((2, 3, 2)), jnp.zeros((2,), jnp.int32)
        )
    acc = AccuracyReport(1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="bin_width"):
        challenge_score(
            jnp.zeros((2, 3, 2)),
            jnp.zeros((2, 3, 2)),
            jnp.zeros((3,), jnp.int32),
            unlearned_accuracy=acc,
            retrained_accuracy=acc,
            bin_width=0.0,
        )
