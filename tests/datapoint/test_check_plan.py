"""The plan of the per-step stop check (``stop_each_step``)."""

from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np

from jaxunlearn.datapoint import StopRule, pool_from_split, unlearn
from jaxunlearn.datapoint import _core, _unlearn
from tests.datapoint._problems import tiny_model, tiny_split


def _stop(split, each, gamma: float | str = "auto"):
    """The stop rule ``unlearn`` plans for ``stop_each_step=each``."""
    apply_fn, params = tiny_model()
    cfg = _unlearn.mi_config_of(
        {
            "gamma": gamma, "learning_rate": None, "epochs": 1,
            "batch_size": 4, "forget_batch_size": 2, "utility": "retain",
            "stop": None if gamma == "auto" else "forget_acc",
            "stop_value": 0.5, "auto": None, "gamma_schedule": None,
            "lr_schedule": None, "optimizer": None, "stop_each_step": each,
        },
        allow_probe=True,
    )  # fmt: skip
    pool, req = pool_from_split(apply_fn, params, split, None)
    return _unlearn.with_check_plan(cfg, each, pool, req).stop


def test_plan_is_adaptive_by_default_on_large_forget_sets_only():
    big, _ = tiny_split(n=120, n_forget=30)  # 30 rows > 4 steps of 4 + 2
    small, _ = tiny_split(n=60, n_forget=6)
    stop = _stop(big, None)
    assert stop.each_step and stop.adaptive
    assert stop.interval == 2  # ceil(30 / 24)
    stop = _stop(small, None)
    assert stop.each_step and not stop.adaptive and stop.interval == 1
    for each, interval in ((True, 1), (3, 3)):  # explicit values are kept
        stop = _stop(big, each)
        assert (stop.each_step, stop.interval, stop.adaptive) == (
            True, interval, False,
        )  # fmt: skip
    # A rule checked per epoch only is left as it is.
    stop = _stop(big, None, gamma=1.0)
    assert not stop.each_step and not stop.adaptive


def _simulate(monkeypatch, accs, value, interval):
    """The adaptive check over a scripted forget accuracy per step: the
    steps it checked after, and the step it fired after."""
    rule = StopRule("forget_acc", value, 0.0, True, interval, True)
    ctx = SimpleNamespace(cfg=SimpleNamespace(stop=rule))
    monkeypatch.setattr(
        _core, "_step_stop", lambda c, p, r: (p <= value, p - value)
    )
    check = jax.jit(lambda s, f, w: _core._checked_stop(ctx, s, f, None, w))
    watch = _core.init_watch(jnp.float32)
    checked = []
    for s, f in enumerate(accs):
        fire, watch = check(jnp.int32(s), jnp.float32(f), watch)
        if int(watch.since) == 0:
            checked.append(s)
        if bool(fire):
            return checked, s
    return checked, None


def test_adaptive_check_catches_a_collapse_within_its_cap(monkeypatch):
    # A slow fall (1.0 -> 0.8 over 200 steps), then 2 points a step.
    accs = np.concatenate(
        [np.linspace(1.0, 0.8, 200), 0.8 - 0.02 * np.arange(1, 30)]
    )
    checked, fired = _simulate(monkeypatch, accs, 0.7, interval=16)
    first = int(np.argmax(accs <= 0.7))
    assert fired is not None and first <= fired <= first + 16
    assert accs[fired] <= 0.7
    gaps = np.diff(checked)
    assert gaps.min() >= 1 and gaps.max() <= 16
    assert len(checked) < fired / 4  # far fewer checks than steps
    assert checked[:2] == [0, 1]  # no fall rate before two checks


def test_adaptive_check_lands_on_a_steady_fall(monkeypatch):
    accs = 1.0 - 0.001 * np.arange(1, 600)  # first <= 0.75 at step 249
    checked, fired = _simulate(monkeypatch, accs, 0.75, interval=64)
    # At a steady rate each check halves the gap: no overshoot.
    assert fired == int(np.argmax(accs <= 0.75))
    assert len(checked) < 20


def test_adaptive_check_never_fires_above_the_threshold(monkeypatch):
    accs = np.full(300, 0.9)
    checked, fired = _simulate(monkeypatch, accs, 0.75, interval=8)
    assert fired is None
    assert np.diff(checked).max() == 8  # a flat curve waits the cap


def test_default_on_a_small_forget_set_is_every_step(rng):
    split, _ = tiny_split()
    apply_fn, params = tiny_model()
    kw = {"epochs": 2, "batch_size": 16, "forget_batch_size": 4, "key": rng}
    a = unlearn(apply_fn, params, split, gamma="auto", **kw)
    b = unlearn(
        apply_fn, params, split, gamma="auto", stop_each_step=True, **kw
    )
    for x, y in zip(
        jax.tree.leaves(a.params), jax.tree.leaves(b.params), strict=True
    ):
        np.testing.assert_array_equal(x, y)


def test_auto_on_a_large_forget_set_stops_at_its_threshold(rng, monkeypatch):
    split, _ = tiny_split(n=240, n_forget=60)
    apply_fn, params = tiny_model()
    seen = {}
    run = _unlearn._run

    def spy(model, params, pool, req, cfg, key, rest):
        seen["stop"] = cfg.stop
        return run(model, params, pool, req, cfg, key, rest)

    monkeypatch.setattr(_unlearn, "_run", spy)
    out = unlearn(
        apply_fn, params, split, gamma="auto", learning_rate=0.05, epochs=3,
        batch_size=4, forget_batch_size=2, key=rng,
    )  # fmt: skip
    stop = seen["stop"]
    assert stop.adaptive and stop.interval == 3  # ceil(60 / 24)
    assert bool(out.target_reached)
    last = int(out.epochs_run) - 1
    assert float(out.history.forget_acc[last]) <= float(stop.value)


def test_unlearn_many_plans_its_checks_alike(rng, monkeypatch):
    from jaxunlearn.datapoint import _many, unlearn_many  # noqa: PLC0415

    _, (x, y, forget) = tiny_split(n=240, n_forget=60)
    xt, yt = x[:40], y[:40]
    apply_fn, params = tiny_model()
    seen = {}
    dispatch = _many._dispatch

    def spy(method, model, state, pool, req, cfg, keys, options):
        seen["stop"] = cfg.stop
        return dispatch(method, model, state, pool, req, cfg, keys, options)

    monkeypatch.setattr(_many, "_dispatch", spy)
    sets = [forget[:30], forget[30:]]
    kw = {"epochs": 2, "batch_size": 4, "forget_batch_size": 2}
    out = unlearn_many(
        apply_fn, params, x, y, sets, xt, yt, gamma="auto",
        keys=jax.random.split(rng, 2), **kw,
    )  # fmt: skip
    assert seen["stop"].adaptive and seen["stop"].interval == 2
    # Under vmap every run checks on its own plan, none longer than the cap.
    runs = np.asarray(out.epochs_run)  # [K requests, S seeds]
    assert runs.shape == (2, 2)
    assert np.all(runs <= 2) and np.all(runs >= 1)
    for leaf in jax.tree.leaves(out.params):
        assert np.all(np.isfinite(np.asarray(leaf)))
