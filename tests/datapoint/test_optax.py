"""Every training entry point takes any optax optimizer and descends."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxunlearn import baselines
from jaxunlearn.datapoint import (
    MembershipBatch,
    fit_classifier,
    init_train_state,
    make_train_step,
    make_unlearn_fn,
    unlearn,
    unlearn_many,
    unlearning_loss,
    weighted_cross_entropy,
)
from tests.datapoint._problems import tiny_model, tiny_split

# Built once: a transformation object is a static argument (a new one
# compiles anew).
OPTIMIZERS = {
    "sgd": optax.sgd(0.1),
    "adam": optax.adam(1e-2),
    "adamw": optax.adamw(1e-2, weight_decay=1e-4),
    "clip_adam": optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-2)),
}


@pytest.fixture(scope="module")
def problem():
    split, (x, y, forget) = tiny_split()
    apply_fn, params = tiny_model()
    return apply_fn, params, split, x, y, forget


def _xent(logits, y):
    return weighted_cross_entropy(logits, y, jnp.ones(y.shape, logits.dtype))


def _ce(apply_fn, p, x, y):
    return float(_xent(apply_fn(p, x), y))


def _objective(apply_fn, p, split, gamma):
    one_r = jnp.ones(split.y_retain.shape, split.x_retain.dtype)
    one_f = jnp.ones(split.y_forget.shape, split.x_forget.dtype)
    batch = MembershipBatch(
        split.x_retain, split.y_retain, one_r,
        split.x_forget, split.y_forget, one_f,
    )  # fmt: skip
    return float(unlearning_loss(apply_fn, p, batch, gamma)[0])


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_train_step_descends(problem, name):
    # The bug this guards against: an optax optimizer's update applied as a
    # descent direction climbs the loss.
    apply_fn, params, split, *_ = problem
    opt = OPTIMIZERS[name]
    one = jnp.ones(split.y_retain.shape, split.x_retain.dtype)
    batch = MembershipBatch(
        split.x_retain, split.y_retain, one,
        split.x_forget, split.y_forget, jnp.ones(split.y_forget.shape),
    )  # fmt: skip
    step = jax.jit(make_train_step(apply_fn, opt))
    state = init_train_state(params, opt)
    l0 = unlearning_loss(apply_fn, params, batch, 0.5)[0]
    for _ in range(30):
        state, _ = step(state, batch, 0.5)
    l1 = unlearning_loss(apply_fn, state.params, batch, 0.5)[0]
    assert float(l1) < 0.8 * float(l0)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_fit_classifier_descends(problem, name):
    apply_fn, params, _, x, y, _ = problem
    out = fit_classifier(
        apply_fn, params, x, y, epochs=5, batch_size=16,
        key=jax.random.key(1), optimizer=OPTIMIZERS[name],
    )  # fmt: skip
    assert _ce(apply_fn, out.params, x, y) < 0.8 * _ce(apply_fn, params, x, y)


@pytest.mark.parametrize(
    "name",
    ["sgd", "clip_adam"]
    + [pytest.param(n, marks=pytest.mark.slow) for n in ("adam", "adamw")],
)
def test_unlearn_and_unlearn_many_descend(problem, name):
    apply_fn, params, split, x, y, forget = problem
    opt = OPTIMIZERS[name]
    kw = {"gamma": 1.0, "epochs": 3, "batch_size": 16, "forget_batch_size": 4}
    out = unlearn(
        apply_fn, params, split, key=jax.random.key(2), optimizer=opt, **kw
    )
    before = _objective(apply_fn, params, split, 1.0)
    assert _objective(apply_fn, out.params, split, 1.0) < 0.8 * before
    many = unlearn_many(
        apply_fn, params, x, y, [forget], split.x_test, split.y_test,
        keys=jax.random.key(2)[None], optimizer=opt, **kw,
    )  # fmt: skip
    p1 = jax.tree.map(lambda a: a[0, 0], many.params)
    # unlearn_many equals unlearn on the same split (same optimizer).
    for a, b in zip(
        jax.tree.leaves(p1), jax.tree.leaves(out.params), strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def _baseline_objective(method, apply_fn, p, split):
    """The loss each baseline's steps descend, on the full sets."""
    logits_r = apply_fn(p, split.x_retain)
    logits_f = apply_fn(p, split.x_forget)
    ce_r = _xent(logits_r, split.y_retain)
    ce_f = _xent(logits_f, split.y_forget)
    if method in ("finetune", "retrain", "scrub"):
        return float(ce_r)  # scrub with max_epochs=0: CE + KD(0 at start)
    if method == "neggrad":
        return float(-ce_f)
    if method == "neggrad_plus":
        return float(0.95 * ce_r - 0.05 * ce_f)
    # random_labels: a fake label uniform over the other classes.
    logp = jax.nn.log_softmax(logits_f, axis=-1)
    c = logp.shape[-1]
    true = jnp.take_along_axis(logp, split.y_forget[:, None], axis=-1)[:, 0]
    other = (true - jnp.sum(logp, axis=-1)) / (c - 1)
    return float(ce_r + jnp.mean(other))


METHODS = {
    "finetune": {},
    "retrain": {},
    "neggrad": {},
    "neggrad_plus": {},
    "random_labels": {},
    "scrub": {"max_epochs": 0},
}


def _grid():
    # Each method with each optimizer; one optimizer per method (in turn)
    # in the fast tier, the rest marked slow.
    names = list(OPTIMIZERS)
    for i, method in enumerate(METHODS):
        for j, name in enumerate(names):
            fast = j == i % len(names)
            marks = () if fast else (pytest.mark.slow,)
            yield pytest.param(method, name, marks=marks)


@pytest.mark.parametrize(("method", "name"), list(_grid()))
def test_baselines_descend(problem, method, name):
    apply_fn, params, split, *_ = problem
    kw = dict(METHODS[method])
    if method == "retrain":
        kw["init_params"] = params  # the untrained tiny model
    out = getattr(baselines, method)(
        apply_fn, params, split, epochs=2, batch_size=16,
        key=jax.random.key(3), optimizer=OPTIMIZERS[name], **kw,
    )  # fmt: skip
    before = _baseline_objective(method, apply_fn, params, split)
    after = _baseline_objective(method, apply_fn, out.params, split)
    assert after < before - 0.05 * abs(before)


def test_make_unlearn_fn_takes_an_optimizer(problem):
    apply_fn, params, split, *_ = problem
    fn = make_unlearn_fn(
        apply_fn, split, epochs=1, batch_size=16, forget_batch_size=4,
        optimizer=OPTIMIZERS["sgd"], remat=False,
    )  # fmt: skip
    out = jax.jit(fn)(params, 1.0, 1.0, jax.random.key(4))
    before = _objective(apply_fn, params, split, 1.0)
    assert _objective(apply_fn, out.params, split, 1.0) < 0.8 * before
    # The multiplier stays a traced, differentiable step size.
    g = jax.grad(lambda s: fn(params, 1.0, s, jax.random.key(4)).history.mi[-1])
    assert np.isfinite(float(g(1.0)))


def test_bad_optimizer_raises(problem):
    apply_fn, params, split, x, y, _ = problem
    key = jax.random.key(0)
    with pytest.raises(TypeError, match="optimizer"):
        unlearn(apply_fn, params, split, epochs=1, key=key, optimizer="adam")
    with pytest.raises(TypeError, match="optimizer"):
        fit_classifier(apply_fn, params, x, y, epochs=1, key=key,
                       optimizer=optax.adam)  # fmt: skip
    with pytest.raises(TypeError, match="optimizer"):
        baselines.scrub(apply_fn, params, split, key=key, optimizer=0.1)
    with pytest.raises(TypeError, match="optimizer"):
        make_train_step(apply_fn, optimizer=object())
    with pytest.raises(ValueError, match="learning_rate"):
        baselines.finetune(
            apply_fn, params, split, key=key, learning_rate=0.1,
            optimizer=optax.sgd(0.1),
        )  # fmt: skip


# The default optimizer is optax.adam(lr, eps_root=1e-16) (eps_root keeps
# meta-gradients finite) at these step sizes: 1e-3 everywhere (one entry
# stands for the shared path), except the documented NegGrad (unbounded
# ascent) and SCRUB (the authors' value).
DEFAULT_LR = {"fit_classifier": 1e-3, "neggrad": 1e-4, "scrub": 5e-4}


@pytest.mark.parametrize("entry", list(DEFAULT_LR))
def test_default_optimizer_is_optax_adam(problem, entry):
    apply_fn, params, split, x, y, _ = problem
    kw = {"epochs": 2, "batch_size": 16, "key": jax.random.key(5)}
    if entry == "fit_classifier":

        def run(**o):
            return fit_classifier(apply_fn, params, x, y, **kw, **o)
    else:
        fn = getattr(baselines, entry)

        def run(**o):
            return fn(apply_fn, params, split, **kw, **o)

    default = run().params
    adam = optax.adam(DEFAULT_LR[entry], eps_root=1e-16)
    explicit = run(optimizer=adam).params
    moved = max(
        float(jnp.max(jnp.abs(a - b)))
        for a, b in zip(
            jax.tree.leaves(default), jax.tree.leaves(params), strict=True
        )
    )
    assert moved > DEFAULT_LR[entry]  # it trained (Adam: about lr a step)
    for a, b in zip(
        jax.tree.leaves(default), jax.tree.leaves(explicit), strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
