"""The default ``gamma="auto"``: it stops before its cap on digits, says
when it did not, and the per-call caches do not change results."""

import json
from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxunlearn import cli
from jaxunlearn.cli._commands import _cap_note
from jaxunlearn.datapoint import AutoGamma, fit_classifier, unlearn
from jaxunlearn.datapoint import _unlearn as unlearn_mod
from jaxunlearn.datapoint._kernel import Pool, Request
from jaxunlearn.datasets import forget_class_fraction, load_digits
from tests.datapoint._problems import tiny_model, tiny_split


def _linear(p, x):
    return x @ p["w"] + p["b"][None, :]


@pytest.fixture(scope="module")
def digits_case():
    """A softmax regression on digits, forgetting 75% of the training 3s."""
    data = load_digits()
    x = np.asarray(data.images, np.float32).reshape(len(data.labels), -1)
    y = np.asarray(data.labels, np.int32)
    k = jax.random.key(0)
    split = forget_class_fraction(
        k, x[:1400], y[:1400], x[1400:], y[1400:], 3, 0.75, num_classes=10
    )
    p0 = {"w": jnp.zeros((64, 10)), "b": jnp.zeros((10,))}
    xa = jnp.concatenate([split.x_retain, split.x_forget])
    ya = jnp.concatenate([split.y_retain, split.y_forget])
    params = fit_classifier(
        _linear, p0, xa, ya, epochs=10, batch_size=64, learning_rate=1e-2,
        key=k,
    ).params  # fmt: skip
    return split, params


def test_default_stops_before_its_cap_on_digits(capsys, tmp_path):
    # The command line's digits MLP (128-64, 30 epochs), seed 0: the default
    # gamma="auto" reaches its target before the 20-epoch cap.
    argv = ["datapoint", "--data", "digits", "--forget", "class:3:0.75",
            "--seed", "0", "--seeds", "1", "--baselines", "retrain",
            "--json", "--quiet", "--out", str(tmp_path)]  # fmt: skip
    assert cli.main(argv) == 0
    got = json.loads(capsys.readouterr().out)["unlearned"]
    assert got["target_reached"] == 1.0
    assert 1 <= got["epochs_run"] < 20


def test_fast_preset_stops_before_its_cap_on_digits(digits_case):
    split, params = digits_case
    cap = 20
    out = unlearn(
        _linear, params, split, gamma="auto", epochs=cap,
        auto=AutoGamma.fast(), key=jax.random.key(1),
    )  # fmt: skip
    assert bool(out.target_reached)
    assert 1 <= int(out.epochs_run) < cap
    # It unlearned: the forget accuracy fell from the original model's.
    f0 = jnp.mean(jnp.argmax(_linear(params, split.x_forget), -1) == 3)
    assert float(out.history.forget_acc[out.epochs_run - 1]) < float(f0)


def test_cap_without_target_is_reported(digits_case):
    split, params = digits_case
    # No MI weight and a vanishing step: the forget accuracy cannot fall to
    # the estimate within one epoch.
    out = unlearn(
        _linear,
        params,
        split,
        gamma="auto",
        epochs=1,
        auto=AutoGamma(gamma_init=0.0, lr_scale=1e-6),
        key=jax.random.key(1),
    )
    assert not bool(out.target_reached)
    assert int(out.epochs_run) == 1
    unit = SimpleNamespace(
        seed=3, models={"unlearned": {"target_reached": 0.0}}
    )
    hit = SimpleNamespace(seed=4, models={"unlearned": {"target_reached": 1.0}})
    note = _cap_note(
        SimpleNamespace(units=[unit, hit]),
        SimpleNamespace(unlearn_epochs=1),
    )
    assert "cap of 1 epochs" in note and "1 of 2 seed(s) (3)" in note
    assert "\n" not in note
    assert (
        _cap_note(
            SimpleNamespace(units=[hit]), SimpleNamespace(unlearn_epochs=1)
        )
        == ""
    )


def test_cached_pieces_do_not_change_results(rng):
    split, _ = tiny_split()
    apply_fn, params = tiny_model()
    kw = {"gamma": 2.0, "epochs": 2, "batch_size": 16, "forget_batch_size": 4}
    first = unlearn(apply_fn, params, split, key=rng, **kw)
    again = unlearn(apply_fn, params, split, key=rng, **kw)
    # The pool and request built by hand, the core without the caches.
    n_r, n_f = split.x_retain.shape[0], split.x_forget.shape[0]
    pool = Pool(
        jnp.concatenate([split.x_retain, split.x_forget]),
        jnp.concatenate([split.y_retain, split.y_forget]),
        split.x_test, split.y_test, split.x_test, split.y_test,
    )  # fmt: skip
    req = Request(
        jnp.arange(n_r, dtype=jnp.int32), jnp.ones((n_r,)),
        jnp.arange(n_r, n_r + n_f, dtype=jnp.int32), jnp.ones((n_f,)),
    )  # fmt: skip
    cfg = unlearn_mod.mi_config(
        gamma=2.0, learning_rate=1e-3, epochs=2, batch_size=16,
        forget_batch_size=4, utility="retain", stop=None, stop_value=0.0,
        auto=None, gamma_schedule=None, lr_schedule=None,
        optimizer=None,
    )  # fmt: skip
    ref, _ = unlearn_mod._core_jit(apply_fn, params, pool, req, cfg, rng, None)
    for out in (first, again):
        np.testing.assert_array_equal(
            out.history.forget_acc, ref.history.forget_acc
        )
        jax.tree.map(
            lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
            out.params,
            ref.params,
        )


def test_logits_cache_is_keyed_on_the_model(rng):
    split, _ = tiny_split()
    apply_fn, params = tiny_model()
    unlearn(apply_fn, params, split, gamma=1.0, epochs=1, key=rng)
    # Same function and input shape, parameters with 2 logits: the labels
    # (3 classes) are out of range, whatever the cache holds.
    two = jax.tree.map(lambda a: a[..., :2] if a.shape[-1] == 3 else a, params)
    with pytest.raises(ValueError, match="split"):
        unlearn(apply_fn, two, split, gamma=1.0, epochs=1, key=rng)
