"""Same key, same inputs, same machine: bitwise identical results.

Every keyed routine runs twice in the same process and every leaf of the two
outputs must agree byte for byte. (A fresh compilation is exercised by
``test_recompiled_run_is_bitwise_identical`` on one cheap routine; clearing
JAX's caches for every routine would make the suite recompile everything.)
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxunlearn import (
    audit,
    baselines,
    datapoint,
    datasets,
    feature,
    transport,
)
from tests.datapoint._problems import tiny_model, tiny_split


def _leaves(out):
    leaves = jax.tree.leaves(out)
    return [
        np.asarray(jax.random.key_data(x))
        if isinstance(x, jax.Array)
        and jnp.issubdtype(x.dtype, jax.dtypes.prng_key)
        else np.asarray(x)
        for x in leaves
    ]


def assert_bitwise_equal(a, b):
    la, lb = _leaves(a), _leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb, strict=True):
        assert x.dtype == y.dtype and x.shape == y.shape
        assert x.tobytes() == y.tobytes()


def twice(fn):
    return fn(), fn()


def _xz():
    x = jax.random.normal(jax.random.key(1), (40, 3))
    z = jnp.arange(40) % 3
    return x, z


def _unlearn():
    split, _ = tiny_split()
    apply_fn, params = tiny_model()
    return datapoint.unlearn(
        apply_fn, params, split, epochs=2, key=jax.random.key(9)
    )


def _baseline(name):
    def run():
        split, _ = tiny_split()
        apply_fn, params = tiny_model()
        fn = getattr(baselines, name)
        return fn(apply_fn, params, split, epochs=1, key=jax.random.key(20))

    return run


def _fit_classifier():
    split, (x, y, _) = tiny_split()
    apply_fn, params = tiny_model()
    return datapoint.fit_classifier(
        apply_fn, params, x, y, epochs=2, batch_size=16, key=jax.random.key(10)
    )


def _probs(seed, n):
    logits = jax.random.normal(jax.random.key(seed), (n, 3))
    return jax.nn.softmax(logits, axis=-1)


def _neural_ot():
    cfg = transport.NeuralOTConfig(
        num_iterations=3, k_t=1, batch_size=8, hidden=8, depth=1
    )
    x = jax.random.normal(jax.random.key(17), (16, 2))
    out = transport.fit_neural_ot(
        x, x + 1.0, key=jax.random.key(18), config=cfg
    )
    return out.state, transport.apply_neural_ot(out.ot_map, x)


KEYED = {
    "baselines.finetune": _baseline("finetune"),
    "baselines.neggrad_plus": _baseline("neggrad_plus"),
    "baselines.scrub": _baseline("scrub"),
    "transport.fit_neural_ot": _neural_ot,
    "datapoint.unlearn": _unlearn,
    "datapoint.fit_classifier": _fit_classifier,
    "audit.mi_audit": lambda: audit.mi_audit(
        _probs(11, 20), _probs(12, 30), key=jax.random.key(13), num_bootstrap=16
    ),
    "audit.logistic_attack": lambda: audit.logistic_attack(
        jax.random.normal(jax.random.key(14), (20, 3)),
        jnp.arange(20) % 3,
        jax.random.normal(jax.random.key(15), (20, 3)),
        jnp.arange(20) % 3,
        key=jax.random.key(16),
    ),
    "transport.quantile_transport_map": lambda: (
        transport.quantile_transport_map(
            jnp.round(jnp.linspace(-2.0, 2.0, 16)),
            transport.empirical_quantile_function(
                jnp.round(jnp.linspace(-2, 2, 16))
            ),
            jax.vmap(transport.empirical_quantile_function)(
                jnp.round(jax.random.normal(jax.random.key(2), (2, 16)))
            ),
            key=jax.random.key(3),
        )
    ),
    "feature.transform(quantile)": lambda: feature.transform(
        feature.fit(jnp.round(_xz()[0]), _xz()[1], method="quantile"),
        jnp.round(_xz()[0]),
        _xz()[1],
        t=0.7,
        key=jax.random.key(4),
    ),
    "feature.transform(coupling)": lambda: feature.transform(
        feature.fit(*_xz(), method="coupling"), *_xz(), key=jax.random.key(19)
    ),
    "feature.transform(gaussian)": lambda: feature.transform(
        feature.fit(*_xz()), *_xz(), t=0.3
    ),
    "datasets.gmm_toy": lambda: datasets.gmm_toy(jax.random.key(5), 200, 4),
    "datasets.forget_random": lambda: datasets.forget_random(
        jax.random.key(6),
        np.arange(60.0).reshape(30, 2),
        np.arange(30) % 3,
        None,
        None,
        7,
    ),
    "datasets.forget_class_fraction": lambda: datasets.forget_class_fraction(
        jax.random.key(7),
        np.arange(60.0).reshape(30, 2),
        np.arange(30) % 3,
        None,
        None,
        1,
        0.5,
    ),
    "datasets.train_test_split": lambda: datasets.train_test_split(
        jax.random.key(8),
        np.arange(60.0).reshape(30, 2),
        np.arange(30) % 3,
        stratify=True,
    ),
}


@pytest.mark.parametrize("name", sorted(KEYED))
def test_keyed_routine_is_bitwise_reproducible(name):
    a, b = twice(KEYED[name])
    assert_bitwise_equal(a, b)


def test_different_keys_differ():
    # The routines do use their key (so the test above is not vacuous).
    a = datasets.forget_random(
        jax.random.key(0), np.zeros((30, 2)), np.arange(30) % 3, None, None, 7
    )
    b = datasets.forget_random(
        jax.random.key(1), np.zeros((30, 2)), np.arange(30) % 3, None, None, 7
    )
    assert not np.array_equal(
        np.asarray(a.forget_indices), np.asarray(b.forget_indices)
    )


def test_recompiled_run_is_bitwise_identical():
    fn = KEYED["feature.transform(gaussian)"]
    first = fn()
    jax.clear_caches()
    assert_bitwise_equal(first, fn())
