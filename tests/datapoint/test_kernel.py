"""The training kernel: every method on one signature, batched by vmap."""

from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxunlearn import baselines
from jaxunlearn.datapoint import (
    AutoGamma,
    Controller,
    MembershipBatch,
    Pool,
    StopRule,
    TrainConfig,
    UnlearnConfig,
    fit_classifier,
    make_unlearn_fn,
    masked_epochs,
    membership_mi,
    mi_unlearning,
    unlearn,
    unlearn_many,
    unlearning_loss,
    weighted_cross_entropy,
)
from tests.datapoint._problems import request_of, tiny_model, tiny_split

SMALL = TrainConfig(epochs=1, batch_size=16, forget_batch_size=4)
# SCRUB starts at its teacher, where the gradient of its max step is zero
# up to rounding; Adam scales that rounding noise up to full steps, so a
# batched and an unbatched run part ways. Plain SGD keeps them comparable.
SGD = optax.sgd(0.1)
CONFIGS = {
    "mi": UnlearnConfig(
        gamma=2.0, epochs=1, batch_size=16, forget_batch_size=4
    ),
    "retrain": SMALL,
    "finetune": SMALL,
    "neggrad": TrainConfig(epochs=1, batch_size=16, forget_batch_size=4),
    "neggrad_plus": baselines.NegGradPlusConfig(SMALL),
    "random_labels": SMALL,
    "scrub": baselines.ScrubConfig(replace(SMALL, optimizer=SGD), max_epochs=1),
    "ssd": baselines.SSDConfig(chunk_size=16),
}
METHODS = {
    "mi": mi_unlearning,
    "retrain": baselines.retrain_method,
    "finetune": baselines.finetune_method,
    "neggrad": baselines.neggrad_method,
    "neggrad_plus": baselines.neggrad_plus_method,
    "random_labels": baselines.random_labels_method,
    "scrub": baselines.scrub_method,
    "ssd": baselines.ssd_method,
}


@pytest.fixture(scope="module")
def problem():
    split, (x, y, forget) = tiny_split()
    apply_fn, params = tiny_model()
    pool = Pool(x, y, split.x_test, split.y_test, split.x_test, split.y_test)
    return apply_fn, params, pool, forget


@pytest.mark.parametrize("name", list(METHODS))
def test_unlearn_many_equals_single_call(problem, name):
    # Padded requests x seeds in one vmapped call equal each request run
    # alone, unpadded, under jit.
    apply_fn, params, pool, forget = problem
    method, cfg = METHODS[name], CONFIGS[name]
    sets = [forget, forget[:3]]
    keys = jax.random.split(jax.random.key(3), 2)
    many = unlearn_many(
        method, apply_fn, params, pool, sets, keys=keys, config=cfg
    )
    assert many.history.forget_acc.shape[:2] == (2, 2)
    single = jax.jit(
        lambda p, r, k: method(apply_fn, p, pool, r, config=cfg, key=k)
    )
    for k, f in ((0, sets[0]), (1, sets[1])):
        one = single(params, request_of(pool.x.shape[0], f), keys[1])
        got = jax.tree.map(lambda a, k=k: a[k, 1], many)
        jax.tree.map(
            lambda a, b: np.testing.assert_allclose(a, b, atol=2e-5),
            got,
            one,
        )


def _objective(name, apply_fn, p, start, pool, forget):
    n = pool.x.shape[0]
    keep = np.setdiff1d(np.arange(n), forget)
    xr, yr = pool.x[keep], pool.y[keep]
    xf, yf = pool.x[forget], pool.y[forget]

    def ce(x, y):
        return weighted_cross_entropy(apply_fn(p, x), y, jnp.ones(y.shape))

    if name in ("retrain", "finetune"):
        return ce(xr, yr)
    if name == "neggrad":
        return -ce(xf, yf)
    if name == "neggrad_plus":
        return 0.95 * ce(xr, yr) - 0.05 * ce(xf, yf)
    if name == "random_labels":
        # The expected loss over uniform labels among the other classes.
        logp = jax.nn.log_softmax(apply_fn(p, xf))
        other = 1 - jax.nn.one_hot(yf, logp.shape[-1])
        fake = -jnp.sum(other * logp, -1) / jnp.sum(other, -1)
        return ce(xr, yr) + jnp.mean(fake)
    if name == "scrub":  # the max step: distance from the teacher on forget
        t, s = apply_fn(start, xf), apply_fn(p, xf)
        kl = optax.kl_divergence(jax.nn.log_softmax(s), jax.nn.softmax(t))
        return -jnp.mean(kl)
    one_r, one_f = jnp.ones(yr.shape), jnp.ones(yf.shape)
    batch = MembershipBatch(xr, yr, one_r, xf, yf, one_f)
    return unlearning_loss(apply_fn, p, batch, 2.0)[0]


@pytest.mark.parametrize("opt", ["sgd", "adam"])
@pytest.mark.parametrize(
    "name",
    ["mi", "finetune", "neggrad", "neggrad_plus", "random_labels", "scrub"],
)
def test_method_lowers_its_objective_with_optax(problem, name, opt):
    apply_fn, params, pool, forget = problem
    optimizer = optax.sgd(0.05) if opt == "sgd" else optax.adam(1e-2)
    cfg = CONFIGS[name]
    train = {"epochs": 2, "optimizer": optimizer, "learning_rate": None}
    if hasattr(cfg, "train"):
        cfg = replace(cfg, train=replace(cfg.train, **train))
    else:
        cfg = replace(cfg, **train)
    method = METHODS[name]
    out = method(
        apply_fn,
        params,
        pool,
        request_of(pool.x.shape[0], forget),
        config=cfg,
        key=jax.random.key(0),
    )
    before = _objective(name, apply_fn, params, params, pool, forget)
    after = _objective(name, apply_fn, out.params, params, pool, forget)
    assert float(after) < float(before)


@pytest.fixture(scope="module")
def trained():
    # Overlapping classes, most of class 0 forgotten: its retain rows become
    # rare, so the forget rows' predictions can match the retain set's only
    # by losing class 0.
    k1, k2 = jax.random.split(jax.random.key(0))
    y = (jnp.arange(120) % 3).astype(jnp.int32)
    x = jax.random.normal(k1, (3, 4))[y] + jax.random.normal(k2, (120, 4))
    forget = np.flatnonzero(np.asarray(y) == 0)[:30]
    keep = np.setdiff1d(np.arange(120), forget)
    apply_fn, params = tiny_model()
    params = fit_classifier(
        apply_fn, params, x, y, epochs=60, batch_size=16,
        learning_rate=1e-2, key=jax.random.key(1),
    ).params  # fmt: skip
    split = tiny_split()[0]._replace(
        x_retain=x[keep], y_retain=y[keep], x_forget=x[forget],
        y_forget=y[forget], x_test=x[:30], y_test=y[:30],
    )  # fmt: skip
    return apply_fn, params, split


def _mi_and_acc(apply_fn, p, split):
    lr, lf = apply_fn(p, split.x_retain), apply_fn(p, split.x_forget)
    acc = jnp.mean(jnp.argmax(lf, -1) == split.y_forget)
    return membership_mi(lr, lf), acc


def test_unlearning_unlearns_under_jit_and_vmap(trained):
    # The MI term does the forgetting: with the same key, gamma > 0 ends at
    # a lower I(Y_hat; Z) and a lower forget accuracy than gamma = 0.
    apply_fn, params, split = trained
    fn = make_unlearn_fn(
        apply_fn, split, epochs=4, batch_size=16, forget_batch_size=8,
        remat=False,
    )  # fmt: skip
    key = jax.random.key(2)

    def final(gamma):
        p = fn(params, gamma, 1e-2, key).params
        return _mi_and_acc(apply_fn, p, split)

    jitted = jax.jit(final)
    mi0, acc0 = jitted(0.0)
    mi8, acc8 = jitted(8.0)
    assert float(mi8) < float(mi0)
    assert float(acc8) < float(acc0)
    mis, accs = jax.vmap(final)(jnp.array([0.0, 8.0]))
    np.testing.assert_allclose(mis, [mi0, mi8], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(accs, [acc0, acc8])


def _hold_calls(apply_fn, params, pool, forget, cfg):
    """Forward passes traced on rows of the held-out set's batch size."""
    rows = []

    def counting(p, x):
        rows.append(x.shape[0])
        return apply_fn(p, x)

    req = request_of(pool.x.shape[0], forget)
    jax.eval_shape(
        lambda p: mi_unlearning(
            counting, p, pool, req, config=cfg, key=jax.random.key(0)
        ),
        params,
    )
    return len(rows)


def test_controller_off_compiles_no_held_out_pass(problem):
    apply_fn, params, pool, forget = problem
    base = UnlearnConfig(epochs=1, batch_size=16, forget_batch_size=4)
    off = _hold_calls(
        apply_fn, params, pool, forget,
        replace(base, controller=Controller()),
    )  # fmt: skip
    on = _hold_calls(
        apply_fn, params, pool, forget,
        replace(base, controller=Controller(1.0)),
    )  # fmt: skip
    assert on == off + 1


def test_auto_gamma_alias_and_lr_decay(problem):
    apply_fn, params, pool, forget = problem
    from jaxunlearn.datapoint._config import check_auto

    with pytest.warns(DeprecationWarning, match="lr_decay"):
        check_auto(AutoGamma(lr_decay=0.1))
    with pytest.raises(ValueError, match="auto.dual_lr"):
        unlearn(
            apply_fn, params, tiny_split()[0], gamma="auto", epochs=1,
            auto=AutoGamma(dual_lr=-1.0), key=jax.random.key(0),
        )  # fmt: skip


def test_epoch_forget_step_budget_and_target_reached(problem):
    # The authors' zipped loaders: ceil(n_forget / 4) = 2 steps an epoch
    # here (the forget pass is the shorter), against ceil(54 / 16) = 4.
    from jaxunlearn.datapoint._core import epoch_steps

    apply_fn, params, pool, forget = problem
    req = request_of(pool.x.shape[0], forget)
    base = UnlearnConfig(batch_size=16, forget_batch_size=4)
    assert epoch_steps(base, req) == 4
    assert epoch_steps(replace(base, epoch="forget"), req) == 2
    split = tiny_split()[0]
    kw = {"epochs": 2, "batch_size": 16, "forget_batch_size": 4}
    out = unlearn(
        apply_fn, params, split, gamma="auto", stop="holdout_initial",
        epoch="forget", key=jax.random.key(0), **kw,
    )  # fmt: skip
    assert out.target_reached.dtype == bool
    if not bool(out.target_reached):  # then it ran to its cap
        assert int(out.epochs_run) == 2
    with pytest.raises(ValueError, match="epoch: expected one of"):
        unlearn(apply_fn, params, split, epoch="pass", key=jax.random.key(0))


def test_evaluate_false_same_steps_no_accuracies(problem):
    # Skipping the per-epoch evaluation changes no step: the same
    # parameters, task losses and MI; the accuracies are None.
    apply_fn, params, _, _ = problem
    split = tiny_split()[0]
    kw = {
        "gamma": 2.0, "epochs": 2, "batch_size": 16, "forget_batch_size": 4,
        "epoch": "forget", "key": jax.random.key(3),
    }  # fmt: skip
    full = unlearn(apply_fn, params, split, **kw)
    # The MI stop rule needs no accuracy (this one never fires).
    bare = unlearn(
        apply_fn, params, split, evaluate=False, stop="mi", stop_value=-1.0,
        **kw,
    )  # fmt: skip
    assert float(jnp.max(full.history.mi)) > 0
    jax.tree.map(np.testing.assert_array_equal, full.params, bare.params)
    for name in ("mi", "task_loss", "active"):
        np.testing.assert_array_equal(
            getattr(full.history, name), getattr(bare.history, name)
        )
    assert bare.history.forget_acc is None and bare.history.test_acc is None
    assert full.history.forget_acc.shape == (2,)
    with pytest.raises(TypeError, match="evaluate: expected a bool"):
        unlearn(apply_fn, params, split, evaluate=1, **kw)
    with pytest.raises(ValueError, match="evaluate: False .* stop='holdout'"):
        unlearn(apply_fn, params, split, evaluate=False, stop="holdout", **kw)
    with pytest.raises(ValueError, match="gamma='auto' stops on accuracies"):
        unlearn(
            apply_fn, params, split, **{**kw, "gamma": "auto"},
            evaluate=False,
        )  # fmt: skip
    cfg = UnlearnConfig(
        epochs=1, batch_size=16, forget_batch_size=4, evaluate=False,
        stop=StopRule("forget_acc", 0.5),
    )  # fmt: skip
    pool, forget = problem[2], problem[3]
    with pytest.raises(ValueError, match="stop kind 'forget_acc'"):
        mi_unlearning(
            apply_fn, params, pool, request_of(pool.x.shape[0], forget),
            config=cfg, key=jax.random.key(0),
        )  # fmt: skip


def test_masked_epochs_skips_after_halt():
    # The carry counts the steps taken; halting once it reaches 5 skips the
    # steps and epochs left (their outputs are zeros), with and without vmap.
    def step(c, s, perms, e):
        return c + 1, jnp.ones(())

    def end_epoch(c, outs, e):
        return c, jnp.sum(outs)

    def run(limit):
        return masked_epochs(
            step, end_epoch, jnp.zeros((), jnp.int32), key=jax.random.key(0),
            epochs=4, steps=3, masks=(jnp.ones((6,)),),
            halted=lambda c: c >= limit,
        )  # fmt: skip

    c, rows = jax.jit(run)(5)
    assert int(c) == 5
    np.testing.assert_array_equal(rows, [3.0, 2.0, 0.0, 0.0])
    cs, rows_v = jax.vmap(run)(jnp.array([5, 100]))
    np.testing.assert_array_equal(cs, [5, 12])
    np.testing.assert_array_equal(rows_v[0], rows)
