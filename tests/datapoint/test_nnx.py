"""nnx.Module models and per-epoch callbacks on the training entry points."""

import pathlib
import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from jaxunlearn import baselines
from jaxunlearn.datapoint import (
    EpochInfo,
    FitModelOutput,
    FitOutput,
    Pool,
    TrainConfig,
    UnlearnModelOutput,
    UnlearnOutput,
    fit_classifier,
    unlearn,
    unlearn_many,
)
from jaxunlearn.models import MLP, functional
from tests.datapoint._problems import request_of, tiny_model, tiny_split


class BNNet(nnx.Module):
    """Linear -> BatchNorm -> ReLU -> (Dropout) -> Linear."""

    def __init__(self, dropout=0.0, *, rngs):
        self.l1 = nnx.Linear(4, 16, rngs=rngs)
        self.bn = nnx.BatchNorm(16, rngs=rngs)
        self.drop = nnx.Dropout(dropout, rngs=rngs) if dropout else None
        self.l2 = nnx.Linear(16, 3, rngs=rngs)

    def __call__(self, x):
        h = jax.nn.relu(self.bn(self.l1(x)))
        if self.drop is not None:
            h = self.drop(h)
        return self.l2(h)


@pytest.fixture(scope="module")
def data():
    split, (x, y, _) = tiny_split()
    return split, x, y


def _stats(model):
    return np.asarray(model.bn.mean[...]), np.asarray(model.bn.var[...])


def _ce(model, x, y):
    model.eval()
    logits = model(x)
    return float(jnp.mean(-jax.nn.log_softmax(logits)[jnp.arange(len(y)), y]))


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_fit_module_trains_params_and_updates_statistics(data, dropout):
    _, x, y = data
    net = BNNet(dropout, rngs=nnx.Rngs(0))
    mean0, var0 = _stats(net)
    before = _ce(BNNet(dropout, rngs=nnx.Rngs(0)), x, y)
    out = fit_classifier(
        net, x, y, epochs=30, batch_size=16, learning_rate=1e-2,
        key=jax.random.key(1),
    )  # fmt: skip
    assert isinstance(out, FitModelOutput)
    assert out.loss.shape == (30,)
    assert float(out.loss[-1]) < 0.5 * float(out.loss[0])
    mean1, var1 = _stats(out.model)
    assert not np.allclose(mean1, mean0) and not np.allclose(var1, var0)
    # The running mean (momentum 0.99, so it lags) follows the trained
    # first layer's mean output.
    h = np.asarray(out.model.l1(x))
    assert np.corrcoef(mean1, h.mean(0))[0, 1] > 0.9
    assert _ce(out.model, x, y) < before
    # The input module is untouched.
    np.testing.assert_array_equal(_stats(net)[0], mean0)


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_unlearn_module_trains_and_updates_statistics(data, dropout):
    # From an untrained module, so that the task loss has room to fall (a
    # trained BatchNorm model's training-mode loss on small batches only
    # fluctuates).
    split, _, _ = data
    net = BNNet(dropout, rngs=nnx.Rngs(0))
    mean0 = _stats(net)[0]
    out = unlearn(
        net, split, gamma=1.0, epochs=10, batch_size=16,
        forget_batch_size=4, learning_rate=1e-2, key=jax.random.key(2),
    )  # fmt: skip
    assert isinstance(out, UnlearnModelOutput)
    loss = np.asarray(out.history.task_loss)
    assert loss.shape == (10,)
    assert loss[-1] < 0.5 * loss[0]
    assert float(out.history.retain_acc[-1]) > float(out.history.retain_acc[0])
    assert not np.allclose(_stats(out.model)[0], mean0)
    assert np.all(np.isfinite(_stats(out.model)[1]))
    np.testing.assert_array_equal(_stats(net)[0], mean0)  # input untouched


@pytest.mark.slow
def test_unlearn_module_auto_gamma_runs(data):
    split, x, y = data
    fit = fit_classifier(
        BNNet(rngs=nnx.Rngs(0)), x, y, epochs=10, batch_size=16,
        learning_rate=1e-2, key=jax.random.key(1),
    )  # fmt: skip
    out = unlearn(
        fit.model, split, gamma="auto", epochs=2, batch_size=16,
        forget_batch_size=4, repair_steps=3, key=jax.random.key(2),
    )  # fmt: skip
    assert isinstance(out, UnlearnModelOutput)
    assert np.all(np.isfinite(_stats(out.model)[0]))


def test_params_only_module_equals_functional_call(data):
    split, x, y = data
    mlp = MLP(4, (8,), 3, rngs=nnx.Rngs(0))
    apply_fn, params = functional(mlp)
    kw = {"epochs": 5, "batch_size": 16, "key": jax.random.key(1)}
    ref = fit_classifier(apply_fn, params, x, y, **kw)
    got = fit_classifier(mlp, x, y, **kw)
    np.testing.assert_allclose(got.loss, ref.loss, rtol=1e-6)
    np.testing.assert_allclose(got.model(x), apply_fn(ref.params, x), rtol=1e-5)
    ukw = {
        "gamma": 2.0,
        "epochs": 3,
        "batch_size": 16,
        "forget_batch_size": 4,
        "key": jax.random.key(2),
    }
    u_ref = unlearn(apply_fn, ref.params, split, **ukw)
    u_got = unlearn(got.model, split, **ukw)
    for a, b in zip(u_got.history, u_ref.history, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        u_got.model(x), apply_fn(u_ref.params, x), rtol=1e-4, atol=1e-5
    )


def test_functional_call_returns_the_old_types(data):
    split, x, y = data
    apply_fn, params = tiny_model()
    fit = fit_classifier(
        apply_fn, params, x, y, epochs=1, key=jax.random.key(0)
    )
    assert type(fit) is FitOutput
    out = unlearn(apply_fn, fit.params, split, epochs=1, key=jax.random.key(0))
    assert type(out) is UnlearnOutput


def test_bad_model_and_arguments(data):
    split, x, y = data
    with pytest.raises(TypeError, match="apply_fn"):
        fit_classifier(3, {}, x, y, epochs=1, key=jax.random.key(0))
    with pytest.raises(TypeError, match="apply_fn"):
        unlearn("model", {}, split, epochs=1, key=jax.random.key(0))
    # A module takes the place of two arguments: one too many is an error.
    mlp = MLP(4, (8,), 3, rngs=nnx.Rngs(0))
    with pytest.raises(TypeError, match="apply_fn"):
        fit_classifier(mlp, None, x, y, epochs=1, key=jax.random.key(0))
    with pytest.raises(TypeError, match="callback"):
        fit_classifier(mlp, x, y, epochs=1, key=jax.random.key(0), callback=1)


def test_callback_once_per_epoch_in_order(data):
    # fit_classifier and unlearn run one jit-compiled scan: the callback
    # fires from inside the compiled program (jax.debug.callback).
    split, x, y = data
    apply_fn, params = tiny_model()
    seen = []
    fit = fit_classifier(
        apply_fn, params, x, y, epochs=4, key=jax.random.key(0),
        callback=seen.append,
    )  # fmt: skip
    assert [i.epoch for i in seen] == [0, 1, 2, 3]
    assert all(isinstance(i, EpochInfo) and i.epochs == 4 for i in seen)
    np.testing.assert_allclose([i.loss for i in seen], fit.loss, rtol=1e-6)
    # The result does not depend on the callback.
    plain = fit_classifier(apply_fn, params, x, y, epochs=4,
                           key=jax.random.key(0))  # fmt: skip
    np.testing.assert_array_equal(plain.loss, fit.loss)
    seen.clear()
    out = unlearn(
        apply_fn, fit.params, split, gamma=1.0, epochs=3,
        key=jax.random.key(1), callback=seen.append,
    )  # fmt: skip
    assert [i.epoch for i in seen] == [0, 1, 2]
    np.testing.assert_allclose(
        [i.metrics["forget_acc"] for i in seen], out.history.forget_acc
    )
    np.testing.assert_allclose([i.loss for i in seen], out.history.task_loss)


def test_docs_examples_run(capsys):
    # The ``py`` blocks of docs/datapoint.md (the kernel, models and
    # callbacks).
    doc = pathlib.Path(__file__).parents[2] / "docs" / "datapoint.md"
    blocks = re.findall(r"```py\n(.*?)```", doc.read_text(), re.S)
    assert len(blocks) == 3
    for i, block in enumerate(blocks):
        exec(compile(block, f"doc{i}", "exec"), {})  # noqa: S102
    out = capsys.readouterr().out
    assert "(2, 3, 2)" in out  # unlearn_many(scrub_method, ...): [K, S, E]
    assert "epoch 3/3" in out


def test_baseline_module_trains_updates_statistics_and_calls_back(data):
    # SCRUB: the student runs in training mode (its BatchNorm statistics
    # move), the teacher is the frozen start in evaluation mode.
    split, x, y = data
    net = BNNet(0.3, rngs=nnx.Rngs(0))
    mean0 = _stats(net)[0]
    seen = []
    out = baselines.scrub(
        net, split, epochs=6, max_epochs=1, batch_size=16,
        forget_batch_size=4, learning_rate=1e-2, key=jax.random.key(2),
        callback=seen.append,
    )  # fmt: skip
    assert isinstance(out, UnlearnModelOutput)
    loss = np.asarray(out.history.task_loss)
    assert loss[-1] < 0.5 * loss[0]
    assert not np.allclose(_stats(out.model)[0], mean0)
    np.testing.assert_array_equal(_stats(net)[0], mean0)  # input untouched
    assert [i.epoch for i in seen] == list(range(6))
    np.testing.assert_allclose([i.loss for i in seen], loss, rtol=1e-6)
    # The accuracies are those of the returned module in evaluation mode.
    x_t, y_t = split.x_test[1::2], split.y_test[1::2]  # even: held out
    acc = jnp.mean(jnp.argmax(_logits(out.model, x_t), -1) == y_t)
    np.testing.assert_allclose(out.history.test_acc[-1], acc, rtol=1e-6)


def _logits(model, x):
    model.eval()
    return model(x)


def test_ssd_module_keeps_statistics_and_reset_norms():
    split = tiny_split()[0]
    net = BNNet(rngs=nnx.Rngs(0))
    net.bn.mean[...] = jnp.full((16,), 0.5)
    seen = []
    out = baselines.ssd(net, split, chunk_size=16, callback=seen.append)
    assert isinstance(out, UnlearnModelOutput) and len(seen) == 1
    np.testing.assert_array_equal(_stats(out.model)[0], 0.5)
    # retrain's from-scratch start: normalization layers as flax builds
    # them, running statistics reset.
    from jaxunlearn.datapoint._model import split_module

    model, params, rest = split_module(out.model)
    params = jax.tree.map(lambda a: a + 1.0, params)
    params, rest = model.reset_norms(params, rest)
    fresh = nnx.merge(model.graphdef, params, rest)
    np.testing.assert_array_equal(fresh.bn.scale[...], 1.0)
    np.testing.assert_array_equal(fresh.bn.bias[...], 0.0)
    np.testing.assert_array_equal(_stats(fresh)[0], 0.0)
    np.testing.assert_array_equal(_stats(fresh)[1], 1.0)
    assert not np.allclose(fresh.l1.kernel[...], out.model.l1.kernel[...])
    with pytest.raises(TypeError, match="init_params"):
        baselines.retrain(net, split, init_params={}, key=jax.random.key(0))


def test_unlearn_many_module_equals_single_calls_and_calls_back(data):
    # Every [k, s] run of a BatchNorm module through unlearn_many equals
    # the method called on that request alone; the callback fires once per
    # run and epoch.
    split, x, y = data
    forget = np.flatnonzero(np.asarray(y) == 0)[:6]
    pool = Pool(x, y, split.x_test, split.y_test, split.x_test, split.y_test)
    net = BNNet(rngs=nnx.Rngs(0))
    # Plain SGD: Adam scales the rounding of a vmapped program up to
    # full steps where a gradient is near zero (see test_kernel).
    cfg = TrainConfig(
        epochs=2, batch_size=16, forget_batch_size=4,
        optimizer=optax.sgd(0.1),
    )  # fmt: skip
    sets, keys = [forget, forget[:3]], jax.random.split(jax.random.key(3), 2)
    seen = []
    many = unlearn_many(
        baselines.finetune_method, net, pool, sets, keys=keys, config=cfg,
        callback=seen.append,
    )  # fmt: skip
    assert isinstance(many, UnlearnModelOutput)
    assert _stats(many.model)[0].shape == (2, 2, 16)
    assert len(seen) == 2 * 2 * 2
    np.testing.assert_allclose(
        sorted(i.loss for i in seen),
        np.sort(np.asarray(many.history.task_loss).ravel()),
        rtol=1e-6,
    )
    state = nnx.state(many.model)
    for k, s in ((0, 1), (1, 0)):
        one = baselines.finetune_method(
            net, pool, request_of(x.shape[0], sets[k]), config=cfg, key=keys[s]
        )
        assert not np.allclose(_stats(one.model)[0], _stats(net)[0])
        run = jax.tree.map(lambda a, i=(k, s): a[i], state)
        got = nnx.merge(nnx.graphdef(many.model), run)
        # As in test_kernel's equality of batched and single runs.
        np.testing.assert_allclose(
            _stats(got)[0], _stats(one.model)[0], atol=2e-5
        )
        np.testing.assert_allclose(
            _logits(got, x), _logits(one.model, x), atol=2e-5
        )


def test_unlearn_many_mi_on_a_module(data):
    split, x, y = data
    forget = np.flatnonzero(np.asarray(y) == 0)[:6]
    net = BNNet(rngs=nnx.Rngs(0))
    seen = []
    out = unlearn_many(
        net, x, y, [forget], split.x_test, split.y_test,
        keys=jax.random.split(jax.random.key(0), 2), gamma=1.0, epochs=2,
        batch_size=16, forget_batch_size=4, callback=seen.append,
    )  # fmt: skip
    assert isinstance(out, UnlearnModelOutput)
    mean = _stats(out.model)[0]
    assert mean.shape == (1, 2, 16)
    assert not np.allclose(mean[0, 0], _stats(net)[0])
    assert not np.allclose(mean[0, 0], mean[0, 1])  # seeds differ
    assert len(seen) == 1 * 2 * 2
    with pytest.raises(ValueError, match="requests"):
        unlearn_many(baselines.finetune_method, net, Pool(x, y, x, y, x, y),
                     keys=jax.random.split(jax.random.key(0), 1))  # fmt: skip
