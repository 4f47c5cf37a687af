import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from jaxunlearn.audit import (
    default_train_fn,
    ulira_attack,
    ulira_audit,
    ulira_shadows,
)

N, D, C = 160, 4, 3
FORGET = np.arange(0, N, 20)  # 8 rows


def _init(key):
    k1, k2 = jax.random.split(key)
    return {
        "w1": jax.random.normal(k1, (D, 32)) / jnp.sqrt(D),
        "b1": jnp.zeros(32),
        "w2": jax.random.normal(k2, (32, C)) / jnp.sqrt(32.0),
        "b2": jnp.zeros(C),
    }


def _apply(p, x):
    h = jax.nn.relu(x @ p["w1"] + p["b1"][None])
    return h @ p["w2"] + p["b2"][None]


def _data():
    """Blobs; the forget rows carry random labels, so training on them shows."""
    kx, ky, kf = jax.random.split(jax.random.key(7), 3)
    y = jax.random.randint(ky, (N,), 0, C)
    x = jax.random.normal(kx, (N, D)) * 0.7 + 1.5 * jax.nn.one_hot(y, D)
    flipped = (y[FORGET] + jax.random.randint(kf, FORGET.shape, 1, C)) % C
    return x, y.at[FORGET].set(flipped)


TRAIN = default_train_fn(_apply, epochs=40, batch_size=32, learning_rate=3e-3)


def _retrain_unlearn(x, y):
    """A null control: "unlearning" that retrains from scratch."""
    where = jnp.ones((N,)).at[FORGET].set(0)

    def unlearn_fn(params, key):
        del params
        k_init, k_fit = jax.random.split(key)
        return TRAIN(_init(k_init), x, y, where, k_fit)

    return unlearn_fn


def _fold_reference(u, r, folds, min_std):
    """Cross-fitted Gaussian LR and AUCs with scipy and sklearn, by loops."""
    s, n = u.shape
    lam = np.zeros((2, s, n))
    aucs, pers = [], []
    for f in range(folds):
        tgt = np.arange(s) % folds == f
        for i in range(n):
            mi, si = u[~tgt, i].mean(), max(u[~tgt, i].std(ddof=1), min_std)
            mo, so = r[~tgt, i].mean(), max(r[~tgt, i].std(ddof=1), min_std)
            for t, v in ((0, u[tgt, i]), (1, r[tgt, i])):
                lam[t, tgt, i] = stats.norm.logpdf(
                    v, mi, si
                ) - stats.norm.logpdf(v, mo, so)
        k = tgt.sum()
        member = np.r_[np.ones(k * n), np.zeros(k * n)]
        aucs.append(
            roc_auc_score(
                member, np.r_[lam[0, tgt].ravel(), lam[1, tgt].ravel()]
            )
        )
        pers.append(
            [
                roc_auc_score(
                    np.r_[np.ones(k), np.zeros(k)],
                    np.r_[lam[0, tgt, i], lam[1, tgt, i]],
                )
                for i in range(n)
            ]
        )
    return lam, np.mean(aucs), np.mean(pers, axis=0)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_attack_matches_scipy_and_sklearn(rng, dtype):
    with jax.enable_x64(dtype == jnp.float64):
        k1, k2 = jax.random.split(rng)
        u = (jax.random.normal(k1, (6, 5)) + 0.7).astype(dtype)
        r = jax.random.normal(k2, (6, 5)).astype(dtype)
        tol = 1e-4 if dtype == jnp.float32 else 1e-10
        for folds in (2, 3, 6):
            out = ulira_attack(u, r, folds=folds)
            assert out.auc.dtype == dtype
            lam, auc, per = _fold_reference(
                np.asarray(u, float), np.asarray(r, float), folds, 1e-3
            )
            np.testing.assert_allclose(
                out.unlearned_statistic, lam[0], rtol=tol
            )
            np.testing.assert_allclose(
                out.retrained_statistic, lam[1], rtol=tol
            )
            assert float(out.auc) == pytest.approx(auc, abs=tol)
            np.testing.assert_allclose(out.per_example_auc, per, atol=tol)


def test_attack_null_and_separated(rng):
    k1, k2, k3 = jax.random.split(rng, 3)
    # Per-example means differ a lot; only a per-example test sees the shift.
    centre = 5 * jax.random.normal(k3, (1, 50))
    r = centre + jax.random.normal(k2, (32, 50))
    null = ulira_attack(centre + jax.random.normal(k1, (32, 50)), r)
    assert abs(float(null.auc) - 0.5) < 0.05
    shifted = ulira_attack(centre + jax.random.normal(k1, (32, 50)) + 1.0, r)
    assert float(shifted.auc) > 0.7
    pooled = ulira_attack(
        centre + jax.random.normal(k1, (32, 50)) + 1.0, r, fix_variance=True
    )
    assert float(pooled.auc) > 0.7


def test_attack_two_pairs_is_finite(rng):
    u = jax.random.normal(rng, (2, 3))
    out = ulira_attack(u + 1, u)
    assert np.isfinite(out.unlearned_statistic).all()


def test_noop_unlearning_is_detected_and_retraining_is_not():
    x, y = _data()
    kw = {"num_shadows": 16, "train_fn": TRAIN, "key": jax.random.key(0)}
    noop = ulira_audit(
        _apply, _init, x, y, FORGET, unlearn_fn=lambda p, k: p, **kw
    )
    null = ulira_audit(
        _apply, _init, x, y, FORGET, unlearn_fn=_retrain_unlearn(x, y), **kw
    )
    assert float(noop.auc) > 0.9
    assert abs(float(null.auc) - 0.5) < 0.12


def test_vmapped_shadows_equal_sequential_and_are_deterministic():
    x, y = _data()
    keys = jax.random.split(jax.random.key(3), 2)
    short = default_train_fn(_apply, epochs=5, batch_size=32)
    kw = {"unlearn_fn": lambda p, k: p, "train_fn": short, "keys": keys}
    batched = ulira_shadows(_apply, _init, x, y, FORGET, **kw)
    again = ulira_shadows(_apply, _init, x, y, FORGET, **kw)
    one = ulira_shadows(_apply, _init, x, y, FORGET, batched=False, **kw)
    for b, a, o in zip(batched, again, one, strict=True):
        assert b.shape == (2, FORGET.size)
        np.testing.assert_array_equal(b, a)
        np.testing.assert_allclose(b, o, rtol=1e-4, atol=1e-4)
    other = ulira_shadows(
        _apply,
        _init,
        x,
        y,
        FORGET,
        unlearn_fn=lambda p, k: p,
        train_fn=short,
        keys=jax.random.split(jax.random.key(4), 2),
    )
    assert not np.allclose(batched[0], other[0])


def test_bad_input():
    x, y = _data()
    kw = {
        "unlearn_fn": lambda p, k: p,
        "train_fn": TRAIN,
        "key": jax.random.key(0),
    }
    with pytest.raises(ValueError, match="num_shadows"):
        ulira_audit(_apply, _init, x, y, FORGET, num_shadows=1, **kw)
    with pytest.raises(ValueError, match="forget_indices"):
        ulira_audit(_apply, _init, x, y, np.arange(N + 5) % N, **kw)
    with pytest.raises(ValueError, match="forget_indices"):
        ulira_audit(_apply, _init, x, y, np.array([0, N]), **kw)
    with pytest.raises(ValueError, match="forget_indices"):
        ulira_audit(_apply, _init, x, y, np.array([1, 1]), **kw)
    with pytest.raises(ValueError, match="unlearned_confidence"):
        ulira_attack(jnp.zeros((1, 3)), jnp.zeros((1, 3)))
    with pytest.raises(ValueError, match="retrained_confidence"):
        ulira_attack(jnp.zeros((4, 3)), jnp.zeros((4, 2)))
    with pytest.raises(ValueError, match="folds"):
        ulira_attack(jnp.zeros((4, 3)), jnp.zeros((4, 3)), folds=5)
    with pytest.raises(ValueError, match="folds"):
        ulira_attack(jnp.zeros((4, 3)), jnp.zeros((4, 3)), folds=1)
    with pytest.raises(ValueError, match="min_std"):
        ulira_attack(jnp.zeros((4, 3)), jnp.zeros((4, 3)), min_std=0.0)
