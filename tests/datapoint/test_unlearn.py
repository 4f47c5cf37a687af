import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxunlearn.datapoint import (
    AutoGamma,
    carve_holdout,
    pool_from_arrays,
    pool_from_split,
    unlearn,
)
from jaxunlearn.datapoint import _unlearn as unlearn_mod
from tests.datapoint._problems import Split, tiny_model, tiny_split

KW = {"epochs": 2, "batch_size": 16, "forget_batch_size": 4}


def test_runs_history_and_inputs_untouched(rng):
    split, _ = tiny_split()
    apply_fn, params = tiny_model()
    before = jax.tree.map(np.array, params)
    out = unlearn(apply_fn, params, split, gamma=2.0, key=rng, **KW)
    h = out.history
    for field in h:
        assert field.shape == (2,)
    assert int(out.epochs_run) == 2
    assert bool(jnp.all(h.active))
    np.testing.assert_allclose(h.gamma, 2.0, rtol=1e-6)
    assert bool(jnp.all((h.forget_acc >= 0) & (h.forget_acc <= 1)))
    chex.assert_trees_all_equal(params, before)
    assert not jax.tree.all(
        jax.tree.map(lambda a, b: bool(jnp.all(a == b)), out.params, params)
    )


def test_history_matches_direct_evaluation(rng):
    split, _ = tiny_split()
    apply_fn, params = tiny_model()
    out = unlearn(apply_fn, params, split, gamma=1.0, key=rng, **KW)

    def acc(x, y):
        return float(jnp.mean(jnp.argmax(apply_fn(out.params, x), -1) == y))

    h = out.history
    assert float(h.retain_acc[-1]) == pytest.approx(
        acc(split.x_retain, split.y_retain)
    )
    assert float(h.forget_acc[-1]) == pytest.approx(
        acc(split.x_forget, split.y_forget)
    )
    # Without holdout=, the even-numbered test rows are held out (they
    # decide stopping) and the history's test rows are the odd-numbered.
    assert float(h.test_acc[-1]) == pytest.approx(
        acc(split.x_test[1::2], split.y_test[1::2])
    )
    x_h, y_h = split.x_test[0::2], split.y_test[0::2]
    same = np.isin(np.asarray(y_h), np.asarray(split.y_forget))
    assert same.any()  # held-out rows of the forget classes
    assert float(h.holdout_acc[-1]) == pytest.approx(acc(x_h[same], y_h[same]))


def test_one_compilation_for_new_hyperparameters(rng):
    split, _ = tiny_split()
    apply_fn, params = tiny_model()
    unlearn(apply_fn, params, split, gamma=1.0, key=rng, **KW)
    size = unlearn_mod._core_jit._cache_size()
    for g, lr in [(0.5, 1e-2), (3.0, 1e-4)]:
        unlearn(
            apply_fn,
            params,
            split,
            gamma=g,
            learning_rate=lr,
            key=jax.random.key(3),
            **KW,
        )
    assert unlearn_mod._core_jit._cache_size() == size


def test_gamma_zero_reduces_task_loss_only(rng):
    split, _ = tiny_split()
    apply_fn, params = tiny_model()
    out = unlearn(
        apply_fn, params, split, gamma=0.0, learning_rate=1e-2, key=rng, **KW
    )
    assert float(out.history.task_loss[-1]) < float(out.history.task_loss[0])
    np.testing.assert_allclose(out.history.gamma, 0.0)


def test_stop_rule_freezes(rng):
    split, _ = tiny_split()
    apply_fn, params = tiny_model()
    out = unlearn(
        apply_fn,
        params,
        split,
        gamma=1.0,
        stop="forget_acc",
        stop_value=1.0,
        key=rng,
        **{**KW, "epochs": 3},
    )
    # Fires after the first epoch: only one active epoch, values frozen.
    assert int(out.epochs_run) == 1
    np.testing.assert_array_equal(out.history.active, [True, False, False])
    np.testing.assert_allclose(
        out.history.forget_acc[1:], out.history.forget_acc[0]
    )


def test_auto_gamma_runs(rng):
    split, _ = tiny_split()
    apply_fn, params = tiny_model()
    out = unlearn(
        apply_fn,
        params,
        split,
        gamma="auto",
        auto=AutoGamma(gamma_init=0.5, dual_lr=5.0),
        key=rng,
        **KW,
    )
    assert out.history.gamma.shape == (2,)
    assert bool(jnp.all(out.history.gamma >= 0))


def test_float64(x64, rng):
    split, _ = tiny_split(dtype=jnp.float64)
    apply_fn, params = tiny_model(dtype=jnp.float64)
    out = unlearn(apply_fn, params, split, gamma=1.0, key=rng, **KW)
    assert jax.tree.leaves(out.params)[0].dtype == jnp.float64
    assert out.history.mi.dtype == jnp.float64


def test_bad_input(rng):
    split, _ = tiny_split()
    apply_fn, params = tiny_model()

    def run(s=split, **kw):
        return unlearn(apply_fn, params, s, key=rng, **{**KW, **kw})

    with pytest.raises(ValueError, match="gamma"):
        run(gamma=-1.0)
    with pytest.raises(ValueError, match="gamma"):
        run(gamma="fast")
    with pytest.raises(ValueError, match="epochs"):
        run(epochs=0)
    with pytest.raises(ValueError, match="utility"):
        run(utility="forget")
    with pytest.raises(ValueError, match="stop"):
        run(stop="never")
    with pytest.raises(ValueError, match="split.x_forget"):
        run(
            s=split._replace(
                x_forget=split.x_forget[:0], y_forget=split.y_forget[:0]
            )
        )
    with pytest.raises(ValueError, match="split.x_retain"):
        run(
            s=split._replace(
                x_retain=split.x_retain[:0], y_retain=split.y_retain[:0]
            )
        )
    with pytest.raises(ValueError, match="split.y_forget: expected labels"):
        run(s=split._replace(y_forget=split.y_forget + 7))
    with pytest.raises(ValueError, match="model/data shape mismatch"):
        run(
            s=split._replace(
                x_retain=split.x_retain[:, :3],
                x_forget=split.x_forget[:, :3],
                x_test=split.x_test[:, :3],
            )
        )
    with pytest.raises(ValueError, match="split.num_classes"):
        run(s=split._replace(num_classes=5))
    with pytest.raises(ValueError, match="split: expected an object"):
        run(s=(1, 2))
    with pytest.raises(TypeError, match="split.y_retain"):
        run(s=split._replace(y_retain=split.y_retain.astype(jnp.float32)))


def test_split_namedtuple_is_accepted(rng):
    assert Split._fields[:6] == (
        "x_retain",
        "y_retain",
        "x_forget",
        "y_forget",
        "x_test",
        "y_test",
    )


def test_stop_each_step_stops_mid_epoch(rng):
    split, _ = tiny_split()
    apply_fn, params = tiny_model()
    kw = {**KW, "epochs": 2}
    out = unlearn(
        apply_fn,
        params,
        split,
        gamma=1.0,
        stop="forget_acc",
        stop_value=1.0,
        stop_each_step=True,
        key=rng,
        **kw,
    )
    # forget_acc <= 1 holds after the first step: one active epoch.
    assert int(out.epochs_run) == 1
    assert not bool(out.history.active[1])


@pytest.mark.parametrize("every", [1, 3])
def test_stop_every_k_steps_checks_after_the_kth_step(rng, every):
    split, _ = tiny_split()
    apply_fn, params = tiny_model()
    kw = {**KW, "epochs": 1}
    # forget_acc <= 1 fires at the first check: after step ``every``.
    stopped = unlearn(
        apply_fn, params, split, gamma=1.0, stop="forget_acc",
        stop_value=1.0, stop_each_step=every, key=rng, **kw,
    )  # fmt: skip
    # The same batches with every update after step ``every`` scaled to 0.
    cut = unlearn(
        apply_fn, params, split, gamma=1.0, key=rng,
        lr_schedule=lambda s: jnp.where(s < every, 1.0, 0.0), **kw,
    )  # fmt: skip
    chex.assert_trees_all_close(stopped.params, cut.params, rtol=1e-6)
    moved = unlearn(
        apply_fn, params, split, gamma=1.0, key=rng,
        lr_schedule=lambda s: jnp.where(s < every + 1, 1.0, 0.0), **kw,
    )  # fmt: skip
    leaves = zip(
        jax.tree.leaves(stopped.params), jax.tree.leaves(moved.params),
        strict=True,
    )  # fmt: skip
    assert any(not np.allclose(a, b) for a, b in leaves)


def test_stop_every_k_beyond_the_epoch_is_per_epoch(rng):
    split, _ = tiny_split()
    apply_fn, params = tiny_model()
    kw = {**KW, "epochs": 2}
    outs = [
        unlearn(
            apply_fn,
            params,
            split,
            gamma=1.0,
            stop="forget_acc",
            stop_value=0.5,
            stop_each_step=each,
            key=rng,
            **kw,
        )  # fmt: skip
        for each in (10_000, False)
    ]
    chex.assert_trees_all_close(outs[0].params, outs[1].params)
    np.testing.assert_array_equal(
        outs[0].history.active, outs[1].history.active
    )


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [(0, ValueError, "stop_each_step"), (-2, ValueError, "stop_each_step"),
     (1.5, TypeError, "stop_each_step"), ("3", TypeError, "stop_each_step")],
)  # fmt: skip
def test_stop_each_step_bad_input(rng, value, error, match):
    split, _ = tiny_split()
    apply_fn, params = tiny_model()
    with pytest.raises(error, match=match):
        unlearn(
            apply_fn, params, split, gamma=1.0, stop="forget_acc",
            stop_value=0.5, stop_each_step=value, key=rng, **KW,
        )  # fmt: skip


def test_holdout_initial_rule_is_monotone(rng):
    split, _ = tiny_split()
    apply_fn, params = tiny_model()
    out = unlearn(
        apply_fn,
        params,
        split,
        gamma=3.0,
        stop="holdout_initial",
        stop_each_step=True,
        learning_rate=0.05,
        key=rng,
        **{**KW, "epochs": 4},
    )
    h = out.history
    # Once stopped, nothing changes any more.
    last = int(out.epochs_run)
    if last < 4:
        np.testing.assert_allclose(h.forget_acc[last:], h.forget_acc[last - 1])


def _repair_args(split, params):
    from jaxunlearn.datapoint import _core

    n_r = split.x_retain.shape[0]
    x_pool = jnp.concatenate([split.x_retain, split.x_forget])
    y_pool = jnp.concatenate([split.y_retain, split.y_forget])
    return _core, x_pool, y_pool, jnp.arange(n_r), jnp.ones((n_r,))


def _repair(core, apply_fn, params, split, xp, yp, idx, mask, key):
    from jaxunlearn.datapoint import Pool, Request

    pool = Pool(xp, yp, split.x_test, split.y_test, split.x_test, split.y_test)
    n_f = xp.shape[0] - idx.shape[0]
    req = Request(
        idx, mask, jnp.arange(idx.shape[0], xp.shape[0]), jnp.ones(n_f)
    )
    return core.repair_run(apply_fn, params, pool, req, 1e-2, 5, 16, key)[0]


def test_repair_reads_only_retain_rows(rng):
    split, _ = tiny_split()
    apply_fn, params = tiny_model()
    core, x_pool, y_pool, idx, mask = _repair_args(split, params)
    n_r = idx.shape[0]

    def run(xp, yp):
        return _repair(core, apply_fn, params, split, xp, yp, idx, mask, rng)

    base = run(x_pool, y_pool)
    # Garbage in the forget rows changes nothing.
    xp = x_pool.at[n_r:].set(1e3)
    yp = y_pool.at[n_r:].set(2)
    chex.assert_trees_all_close(run(xp, yp), base)

    def retain_loss(p):
        logits = apply_fn(p, split.x_retain)
        ce = -jax.nn.log_softmax(logits)[jnp.arange(n_r), split.y_retain]
        return float(jnp.mean(ce))

    assert retain_loss(base) < retain_loss(params)


@pytest.mark.slow
def test_repair_phase_after_mi_phase(rng):
    split, _ = tiny_split()
    apply_fn, params = tiny_model()
    kw = {**KW, "gamma": 1.0, "key": rng}
    plain = unlearn(apply_fn, params, split, **kw)
    rep = unlearn(
        apply_fn,
        params,
        split,
        repair_steps=3,
        auto=AutoGamma(repair_lr=1e-2),
        **kw,
    )
    # The history describes the MI phase, identical; the params moved on.
    chex.assert_trees_all_close(rep.history, plain.history)
    assert not jax.tree.all(
        jax.tree.map(
            lambda a, b: bool(jnp.all(a == b)), rep.params, plain.params
        )
    )
    # A zero repair step size leaves the MI phase's parameters.
    zero = unlearn(
        apply_fn,
        params,
        split,
        repair_steps=3,
        auto=AutoGamma(repair_lr=0.0),
        **kw,
    )
    chex.assert_trees_all_close(zero.params, plain.params)


def test_repair_lr_does_not_retrace(rng):
    split, _ = tiny_split()
    apply_fn, params = tiny_model()
    kw = {**KW, "gamma": 1.0, "repair_steps": 2, "key": rng}
    unlearn(apply_fn, params, split, auto=AutoGamma(repair_lr=1e-3), **kw)
    size = unlearn_mod._core_jit._cache_size()
    for lr in (1e-4, 3e-2):
        unlearn(apply_fn, params, split, auto=AutoGamma(repair_lr=lr), **kw)
    assert unlearn_mod._core_jit._cache_size() == size


def test_repair_bad_input(rng):
    split, _ = tiny_split()
    apply_fn, params = tiny_model()
    with pytest.raises(ValueError, match="repair_steps"):
        unlearn(apply_fn, params, split, repair_steps=-1, key=rng, **KW)
    with pytest.raises(TypeError, match="repair_steps"):
        unlearn(apply_fn, params, split, repair_steps=1.5, key=rng, **KW)
    with pytest.raises(ValueError, match="repair_lr"):
        unlearn(
            apply_fn,
            params,
            split,
            auto=AutoGamma(repair_lr=-1.0),
            key=rng,
            **KW,
        )


@pytest.mark.slow
def test_auto_step_size_is_scaled(rng):
    split, _ = tiny_split()
    apply_fn, params = tiny_model()
    kw = {**KW, "stop": "forget_acc", "stop_value": -1.0, "key": rng}
    kw["stop_each_step"] = True
    auto = unlearn(
        apply_fn,
        params,
        split,
        gamma="auto",
        learning_rate=0.02,
        auto=AutoGamma(gamma_init=0.7, dual_lr=0.0, lr_scale=0.5),
        **kw,
    )
    fixed = unlearn(
        apply_fn, params, split, gamma=0.7, learning_rate=0.01, **kw
    )
    np.testing.assert_allclose(
        auto.history.forget_acc, fixed.history.forget_acc, rtol=1e-6
    )
    np.testing.assert_allclose(auto.history.gamma, 0.7, rtol=1e-6)
    chex.assert_trees_all_close(auto.params, fixed.params, rtol=1e-5)


def test_holdout_term_and_class_weight_reduce_to_plain_loss(rng):
    split, _ = tiny_split()
    apply_fn, params = tiny_model()
    kw = {**KW, "gamma": 1.0, "key": rng}
    plain = unlearn(apply_fn, params, split, **kw)
    # A vanishing held-out weight compiles the term in and changes nothing.
    tiny = unlearn(
        apply_fn, params, split, auto=AutoGamma(holdout_gamma=1e-30), **kw
    )
    chex.assert_trees_all_close(tiny.params, plain.params, rtol=1e-5)
    # A vanishing dual step leaves a fixed anchor weight.
    fixed = unlearn(apply_fn, params, split, auto=AutoGamma(anchor=5.0), **kw)
    dual = unlearn(
        apply_fn,
        params,
        split,
        auto=AutoGamma(anchor=5.0, anchor_lr=1e-30),
        **kw,
    )
    chex.assert_trees_all_close(dual.params, fixed.params, rtol=1e-5)
    ones = unlearn(
        apply_fn, params, split, auto=AutoGamma(class_weight=1.0), **kw
    )
    chex.assert_trees_all_equal(ones.params, plain.params)
    # Nonzero settings change the result.
    for a in (
        AutoGamma(holdout_gamma=5.0),
        AutoGamma(class_weight=4.0),
        AutoGamma(anchor=5.0),
    ):
        out = unlearn(apply_fn, params, split, auto=a, **kw)
        assert bool(jnp.all(jnp.isfinite(out.history.task_loss)))
        assert not jax.tree.all(
            jax.tree.map(
                lambda u, v: bool(jnp.allclose(u, v)), out.params, plain.params
            )
        )


def test_holdout_term_and_class_weight_bad_input(rng):
    split, _ = tiny_split()
    apply_fn, params = tiny_model()
    for bad, name in (
        (AutoGamma(holdout_gamma=-1.0), "auto.holdout_gamma"),
        (AutoGamma(anchor=-1.0), "auto.anchor"),
        (AutoGamma(anchor_lr=-1.0), "auto.anchor_lr"),
        (AutoGamma(anchor=1.0, anchor_shift=-1.0), "auto.anchor_shift"),
        (AutoGamma(class_weight=0.0), "auto.class_weight"),
        (AutoGamma(class_weight=-2.0), "auto.class_weight"),
    ):
        with pytest.raises(ValueError, match=name):
            unlearn(
                apply_fn, params, split, gamma="auto", auto=bad, key=rng, **KW
            )


def test_default_holdout_is_never_the_reported_test_rows():
    split, (x, y, _) = tiny_split()
    apply_fn, params = tiny_model()
    pool, _ = pool_from_split(apply_fn, params, split)
    # Even-numbered test rows held out, odd-numbered ones reported:
    # disjoint, and together every test row.
    np.testing.assert_array_equal(pool.x_hold, split.x_test[0::2])
    np.testing.assert_array_equal(pool.x_test, split.x_test[1::2])
    assert pool.x_hold.shape[0] + pool.x_test.shape[0] == len(split.y_test)
    # unlearn_many's pool carves the same way.
    many = pool_from_arrays(apply_fn, params, x, y, split.x_test, split.y_test)
    np.testing.assert_array_equal(many.x_hold, pool.x_hold)
    np.testing.assert_array_equal(many.y_test, pool.y_test)
    # Explicit held-out rows keep every test row for reporting.
    hold = (split.x_retain[:5], split.y_retain[:5])
    pool2, _ = pool_from_split(apply_fn, params, split, holdout=hold)
    np.testing.assert_array_equal(pool2.x_test, split.x_test)
    np.testing.assert_array_equal(pool2.x_hold, hold[0])
    with pytest.raises(ValueError, match="split.x_test.*at least 2"):
        carve_holdout("split.x_test", split.x_test[:1], split.y_test[:1])
