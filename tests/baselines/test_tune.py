from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxunlearn.baselines import (
    finetune_method,
    gradient_steps,
    neggrad_method,
    reinitialize,
    scrub_method,
    ssd_method,
    tune,
    validation_loss,
)
from jaxunlearn.datapoint import Pool, TrainConfig, pool_from_split


class _Split(NamedTuple):
    x_retain: jax.Array
    y_retain: jax.Array
    x_forget: jax.Array
    y_forget: jax.Array
    x_test: jax.Array
    y_test: jax.Array


def _apply(p, x):
    return x @ p["w"] + p["b"][None, :]


@pytest.fixture(scope="module")
def problem():
    k1, k2, k3, k4 = jax.random.split(jax.random.key(0), 4)
    means = 2.0 * jax.random.normal(k1, (3, 4))
    y = jax.random.randint(k2, (160,), 0, 3)
    x = means[y] + 1.5 * jax.random.normal(k3, (160, 4))
    p0 = reinitialize({"w": jnp.zeros((4, 3)), "b": jnp.zeros(3)}, key=k4)

    def loss(p):  # the "original" model: trained on rows 0-99
        logp = jax.nn.log_softmax(_apply(p, x[:100]))
        return -jnp.mean(logp[jnp.arange(100), y[:100]])

    trained = jax.jit(
        lambda p: jax.lax.fori_loop(
            0, 100, lambda _, q: jax.tree.map(
                lambda a, g: a - 0.3 * g, q, jax.grad(loss)(q)
            ), p,
        )
    )(p0)  # fmt: skip
    split = _Split(x[10:100], y[10:100], x[:10], y[:10], x[130:], y[130:])
    pool, request = pool_from_split(_apply, trained, split)
    return trained, pool, request, (x[100:130], y[100:130])


def test_tune_picks_the_validation_argmin(problem):
    params, pool, request, val = problem
    key = jax.random.key(3)
    lrs, eps = (1e-3, 1.0), (1, 3)
    res = tune(
        finetune_method, _apply, params, pool, request, validation=val,
        key=key, learning_rates=lrs, epochs=eps,
    )  # fmt: skip
    # Each grid point scored by its own single call on the validation rows.
    vpool = Pool(pool.x, pool.y, val[0], val[1], val[0], val[1])
    k = jax.random.split(key, 1)[0]
    run = jax.jit(
        lambda cfg: (
            finetune_method(
                _apply, params, vpool, request, config=cfg, key=k
            ).history
        )
    )
    direct = np.zeros((2, 2))
    for i, lr in enumerate(lrs):
        for j, e in enumerate(eps):
            h = run(TrainConfig(epochs=e, learning_rate=jnp.float32(lr)))
            direct[i, j] = validation_loss(
                h.forget_acc[-1], h.holdout_acc[-1], h.test_acc[-1]
            )
    np.testing.assert_allclose(res.scores, direct, atol=1e-6)
    assert len(np.unique(direct)) > 1  # the choice is not a tie
    i, j = np.unravel_index(np.argmin(direct), direct.shape)
    assert (res.learning_rate, res.epochs) == (lrs[i], eps[j])
    assert res.config.epochs == eps[j]
    assert float(res.config.learning_rate) == lrs[i]
    assert res.steps == 2 * 3 * 2  # 2 rates x 3 epochs x ceil(90 / 64)


def test_tune_never_reads_the_test_rows(problem):
    params, pool, request, val = problem
    poisoned = pool._replace(
        x_test=jnp.full_like(pool.x_test, jnp.nan),
        y_test=jnp.zeros_like(pool.y_test),
    )
    kw = {
        "validation": val, "key": jax.random.key(1),
        "learning_rates": (3e-3, 1e-1), "epochs": (2, 3),
    }  # fmt: skip
    a = tune(finetune_method, _apply, params, pool, request, **kw)
    b = tune(finetune_method, _apply, params, poisoned, request, **kw)
    assert np.all(np.isfinite(a.scores))
    np.testing.assert_array_equal(a.scores, b.scores)
    # With a target forget accuracy, the loss is measured against it.
    t = tune(finetune_method, _apply, params, pool, request, **kw,
             target_forget_acc=0.5)  # fmt: skip
    np.testing.assert_allclose(
        t.scores, np.abs(t.forget_acc - 0.5) + 1 - t.val_acc, atol=1e-6
    )


def test_gradient_steps_per_method(problem):
    _, _, request, _ = problem
    cfg = scrub_method.default_config  # 5 epochs, 2 with max steps
    assert gradient_steps(scrub_method, request, cfg) == (5 + 2) * 2
    # NegGrad's epoch is one pass over the 10 forget rows (batches of 16).
    cfg = TrainConfig(epochs=3)
    assert gradient_steps(neggrad_method, request, cfg) == 3
    assert gradient_steps(finetune_method, request, cfg) == 3 * 2


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"learning_rates": ()}, "learning_rates"),
        ({"learning_rates": (1e-3, -1.0)}, "learning_rates"),
        ({"epochs": ()}, "epochs"),
        ({"epochs": (0, 2)}, "epochs"),
        ({"budget": 3}, "budget"),
        ({"target_forget_acc": 1.5}, "target_forget_acc"),
        (
            {"validation": (np.zeros((0, 4), np.float32), np.zeros(0, int))},
            "validation",
        ),
        ({"validation": np.zeros((3, 4))}, "validation"),
    ],
)
def test_tune_bad_input(problem, kw, match):
    params, pool, request, val = problem
    args = {
        "validation": val, "key": jax.random.key(0),
        "learning_rates": (1e-3,), "epochs": (1, 2),
    }  # fmt: skip
    with pytest.raises(ValueError, match=match):
        tune(finetune_method, _apply, params, pool, request, **{**args, **kw})


def test_tune_rejects_a_method_without_learning_rate(problem):
    params, pool, request, val = problem
    with pytest.raises(TypeError, match="config"):
        tune(
            ssd_method, _apply, params, pool, request, validation=val,
            key=jax.random.key(0), learning_rates=(1e-3,), epochs=(1,),
        )  # fmt: skip
    with pytest.raises(TypeError, match="method"):
        tune(
            ssd_method.run, _apply, params, pool, request, validation=val,
            key=jax.random.key(0), learning_rates=(1e-3,), epochs=(1,),
        )  # fmt: skip
