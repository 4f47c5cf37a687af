import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from jaxunlearn.datapoint import (
    estimate_retrain_forget_acc,
    fit_classifier,
    unlearn,
    unlearn_many,
)
from jaxunlearn.datapoint import _reference as ref_mod
from jaxunlearn.datapoint import _unlearn as unlearn_mod
from tests.datapoint._problems import blobs, tiny_model, tiny_split

KW = {"epochs": 2, "batch_size": 16, "forget_batch_size": 4}
PROBE = {"epochs": 5, "batch_size": 16}


def _est(split, apply_fn, params, key, **kw):
    return estimate_retrain_forget_acc(
        apply_fn,
        params,
        split.x_retain,
        split.y_retain,
        split.x_forget,
        split.y_forget,
        split.x_test,
        split.y_test,
        num_classes=3,
        key=key,
        **{**PROBE, **kw},
    )


@pytest.mark.parametrize(
    "accs", [(0.7, 0.95, 0.9), (0.5, 0.8, 0.8), (0.9, 0.6, 0.75)]
)
def test_transfer_is_a_probit_shift(accs):
    a_r, a_m, a_a = accs
    got = ref_mod._transfer(
        jnp.asarray(a_r), jnp.asarray(a_m), jnp.asarray(a_a), 100, 100
    )
    z = stats.norm.ppf(a_r) + stats.norm.ppf(a_m) - stats.norm.ppf(a_a)
    np.testing.assert_allclose(float(got), stats.norm.cdf(z), rtol=1e-5)
    # Model as good as the probe: the estimate is the probe's accuracy.
    same = ref_mod._transfer(
        jnp.asarray(a_r), jnp.asarray(a_m), jnp.asarray(a_m), 100, 100
    )
    np.testing.assert_allclose(float(same), a_r, rtol=1e-5)


def test_transfer_clips_perfect_accuracies():
    one = jnp.asarray(1.0)
    got = ref_mod._transfer(one, one, one, 8, 20)
    np.testing.assert_allclose(float(got), 1 - 0.5 / 8, rtol=1e-5)


def test_estimate_on_separable_blobs(rng):
    split, _ = tiny_split()
    apply_fn, params = tiny_model()
    x = jnp.concatenate([split.x_retain, split.x_forget])
    y = jnp.concatenate([split.y_retain, split.y_forget])
    params = fit_classifier(
        apply_fn,
        params,
        x,
        y,
        epochs=30,
        batch_size=16,
        learning_rate=0.05,
        key=rng,
    ).params
    est = _est(split, apply_fn, params, rng, learning_rate=0.1)
    assert est.shape == ()
    # Separable blobs: a good model and good probes, a high estimate.
    assert 0.8 <= float(est) <= 1.0

    # A model always predicting class 0 pulls the estimate down.
    def wrong(p, x):
        return jnp.zeros((x.shape[0], 3)).at[:, 0].set(1.0)

    low = _est(split, wrong, params, rng, learning_rate=0.1)
    assert float(low) < float(est)


def test_estimate_bad_input(rng):
    split, _ = tiny_split()
    apply_fn, params = tiny_model()
    with pytest.raises(ValueError, match="y_forget"):
        estimate_retrain_forget_acc(
            apply_fn,
            params,
            split.x_retain,
            split.y_retain,
            split.x_forget,
            split.y_forget[:-1],
            split.x_test,
            split.y_test,
            num_classes=3,
            key=rng,
        )
    with pytest.raises(ValueError, match="x_hold"):
        estimate_retrain_forget_acc(
            apply_fn,
            params,
            split.x_retain,
            split.y_retain,
            split.x_forget,
            split.y_forget,
            split.x_test[:0],
            split.y_test[:0],
            num_classes=3,
            key=rng,
        )


def test_probe_stop_fires_when_its_condition_holds(rng):
    split, _ = tiny_split()
    apply_fn, params = tiny_model()
    # A margin of 1 makes the threshold >= 1 >= any accuracy: the rule
    # fires after the first step, checked per step.
    out = unlearn(
        apply_fn,
        params,
        split,
        gamma=1.0,
        stop="probe",
        auto=unlearn_mod.AutoGamma(stop_margin=1.0),
        key=rng,
        **KW,
    )
    assert int(out.epochs_run) == 1
    # A margin of -1 never fires: every epoch runs.
    out = unlearn(
        apply_fn,
        params,
        split,
        gamma=1.0,
        stop="probe",
        auto=unlearn_mod.AutoGamma(stop_margin=-1.0),
        key=rng,
        **KW,
    )
    assert int(out.epochs_run) == 2


def test_probe_stop_equals_forget_acc_rule_at_the_estimate(rng):
    split, _ = tiny_split()
    apply_fn, params = tiny_model()
    est = estimate_retrain_forget_acc(
        apply_fn,
        params,
        split.x_retain,
        split.y_retain,
        split.x_forget,
        split.y_forget,
        split.x_test,
        split.y_test,
        num_classes=3,
        key=jax.random.fold_in(rng, unlearn_mod._PROBE_KEY),
    )
    kw = {**KW, "gamma": 2.0, "learning_rate": 0.05, "key": rng}
    a = unlearn(apply_fn, params, split, stop="probe", **kw)
    b = unlearn(
        apply_fn,
        params,
        split,
        stop="forget_acc",
        stop_value=float(est),
        stop_each_step=True,
        **kw,
    )
    np.testing.assert_allclose(
        a.history.forget_acc, b.history.forget_acc, rtol=1e-6
    )
    assert int(a.epochs_run) == int(b.epochs_run)


def test_probe_stop_does_not_retrace(rng):
    split, _ = tiny_split()
    apply_fn, params = tiny_model()
    kw = {**KW, "gamma": "auto", "stop": "probe", "key": rng}
    unlearn(apply_fn, params, split, **kw)
    size = unlearn_mod._core_jit._cache_size()
    probes = ref_mod._estimate_jit._cache_size()
    for m in (0.1, -0.1):
        unlearn(
            apply_fn,
            params,
            split,
            auto=unlearn_mod.AutoGamma(stop_margin=m),
            **kw,
        )
    assert unlearn_mod._core_jit._cache_size() == size
    assert ref_mod._estimate_jit._cache_size() == probes


def test_unlearn_many_rejects_probe_stop():
    x, y = blobs(jax.random.key(0), n=40)
    apply_fn, params = tiny_model()
    with pytest.raises(ValueError, match="stop"):
        unlearn_many(
            apply_fn,
            params,
            x[:30],
            y[:30],
            [np.array([0, 3])],
            x[30:],
            y[30:],
            keys=jax.random.split(jax.random.key(1), 1),
            gamma=1.0,
            stop="probe",
            **KW,
        )


def test_repeats_average_the_single_estimates(rng):
    split, _ = tiny_split()
    apply_fn, params = tiny_model()
    one = _est(split, apply_fn, params, rng)
    np.testing.assert_allclose(
        float(_est(split, apply_fn, params, rng, repeats=1)), float(one)
    )
    keys = [rng, jax.random.fold_in(rng, 1), jax.random.fold_in(rng, 2)]
    singles = [float(_est(split, apply_fn, params, k)) for k in keys]
    got = _est(split, apply_fn, params, rng, repeats=3)
    np.testing.assert_allclose(float(got), np.mean(singles), rtol=1e-5)
    with pytest.raises(ValueError, match="repeats"):
        _est(split, apply_fn, params, rng, repeats=0)
    with pytest.raises(ValueError, match="auto.probe_repeats"):
        unlearn(
            apply_fn,
            params,
            split,
            gamma="auto",
            auto=unlearn_mod.AutoGamma(probe_repeats=0),
            key=rng,
            **KW,
        )


def test_class_shift_reaches_the_target():
    logits = np.array([[2.0, 0.0], [1.0, 0.5], [0.3, 0.0], [0.0, 1.0]])
    y = np.array([0, 0, 0, 1])
    classes = np.array([True, False])
    # Class-0 accuracy 1 at shift 0; margins 2, 0.5, 0.3.
    for target, cut in ((2 / 3, 0.3), (1 / 3, 0.5), (0.0, 2.0)):
        d = ref_mod._class_shift(logits, y, classes, target)
        assert d == pytest.approx(cut, abs=1e-6)
        assert d >= cut  # the accuracy at d is <= target
    assert ref_mod._class_shift(logits, y, classes, 1.0) == 0.0
    assert ref_mod._class_shift(logits, y, np.array([False, False]), 0.5) == 0


@pytest.mark.slow
def test_anchor_shift_none_is_calibrated_to_the_probe(rng):
    split, _ = tiny_split()
    apply_fn, params = tiny_model()
    kw = {**KW, "gamma": "auto", "key": rng}
    auto = unlearn(
        apply_fn, params, split, auto=unlearn_mod.AutoGamma(anchor=2.0), **kw
    )
    est = estimate_retrain_forget_acc(
        apply_fn,
        params,
        split.x_retain,
        split.y_retain,
        split.x_forget,
        split.y_forget,
        split.x_test,
        split.y_test,
        num_classes=3,
        key=jax.random.fold_in(rng, unlearn_mod._PROBE_KEY),
    )
    classes = np.zeros(3, bool)
    classes[np.asarray(split.y_forget)] = True
    d = ref_mod._class_shift(
        apply_fn(params, split.x_test), split.y_test, classes, float(est)
    )
    explicit = unlearn(
        apply_fn,
        params,
        split,
        auto=unlearn_mod.AutoGamma(anchor=2.0, anchor_shift=d),
        **kw,
    )
    np.testing.assert_array_equal(
        auto.history.forget_acc, explicit.history.forget_acc
    )
    jax.tree.map(np.testing.assert_array_equal, auto.params, explicit.params)


def test_full_batch_solver(rng):
    split, _ = tiny_split()
    apply_fn, params = tiny_model()
    x = jnp.concatenate([split.x_retain, split.x_forget])
    y = jnp.concatenate([split.y_retain, split.y_forget])
    params = fit_classifier(
        apply_fn, params, x, y, epochs=30, batch_size=16,
        learning_rate=0.05, key=rng,
    ).params  # fmt: skip
    est = _est(split, apply_fn, params, rng, solver="full")
    assert 0.8 <= float(est) <= 1.0
    # No batch order and no projection (inputs narrower than full_dim): the
    # key does not matter.
    other = _est(split, apply_fn, params, jax.random.key(7), solver="full")
    assert float(other) == float(est)
    # A model always predicting class 0 pulls the estimate down.
    low = _est(
        split, lambda p, x: jnp.zeros((x.shape[0], 3)).at[:, 0].set(1.0),
        params, rng, solver="full",
    )  # fmt: skip
    assert float(low) < float(est)
    # Projected on fewer directions than the inputs have: still in [0, 1].
    proj = _est(split, apply_fn, params, rng, solver="full", full_dim=1)
    assert 0.0 <= float(proj) <= 1.0
    with pytest.raises(ValueError, match="solver"):
        _est(split, apply_fn, params, rng, solver="newton")
    with pytest.raises(ValueError, match="auto.probe_solver"):
        unlearn(
            apply_fn, params, split, gamma="auto",
            auto=unlearn_mod.AutoGamma(probe_solver="lbfgs"), key=rng, **KW,
        )  # fmt: skip
