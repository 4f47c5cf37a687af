"""The table of bad inputs: one data structure for docs/errors.md and tests.

Each :class:`Case` names the public call, the bad input in words, the
exception type expected and a fragment of its message (a plain substring,
matched literally). ``run`` performs the call. ``python -m
tests.error_cases`` rewrites docs/errors.md from this list; a test checks
that the file is in sync.
"""

import os
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from flax import nnx

from jaxunlearn import (
    audit,
    baselines,
    datapoint,
    datasets,
    experiments,
    feature,
    info,
    models,
    numerics,
    transport,
)


class Case(NamedTuple):
    """One bad input: the call, what is wrong, the error it must raise."""

    call: str
    bad: str
    exc: type
    match: str
    run: Callable[..., object]  # run(tmp_path) performs the call
    area: str = ""


CASES: list[Case] = []


def case(area, call, bad, exc, match):
    """Registers ``fn(tmp_path)`` as a case (decorator)."""

    def register(fn):
        CASES.append(Case(call, bad, exc, match, fn, area))
        return fn

    return register


def _f32(*shape):
    return jnp.ones(shape, jnp.float32)


_EYE = jnp.eye(2, dtype=jnp.float32)
_M = jnp.zeros(2, jnp.float32)
_X = jnp.asarray(
    np.random.default_rng(0).normal(size=(12, 2)), dtype=jnp.float32
)
_Z = jnp.asarray(np.arange(12) % 2, dtype=jnp.int32)


def _repair(method="gaussian"):
    return feature.fit(_X, _Z, method=method)


# ---------------------------------------------------------------- numerics
A = "numerics"
case(A, "numerics.sqrtm(a)", "a of rank 1", ValueError, "a: expected")(
    lambda p: numerics.sqrtm(jnp.ones(3))
)
case(A, "numerics.sqrtm(a)", "a not square [2, 3]", ValueError, "square")(
    lambda p: numerics.sqrtm(_f32(2, 3))
)
case(A, "numerics.sqrtm(a)", "integer matrix", TypeError, "float32 or float64")(
    lambda p: numerics.sqrtm(jnp.eye(2, dtype=jnp.int32))
)
case(A, "numerics.sqrtm(a)", "float16 matrix", TypeError, "float16")(
    lambda p: numerics.sqrtm(jnp.eye(2, dtype=jnp.float16))
)
case(A, "numerics.sqrtm(a)", "complex matrix", TypeError, "complex64")(
    lambda p: numerics.sqrtm(jnp.eye(2, dtype=jnp.complex64))
)
case(A, "numerics.sqrtm(a)", "NaN entry", ValueError, "NaN/Inf")(
    lambda p: numerics.sqrtm(_EYE.at[0, 0].set(jnp.nan))
)
case(A, "numerics.inv_sqrtm(a)", "Inf entry", ValueError, "NaN/Inf")(
    lambda p: numerics.inv_sqrtm(_EYE.at[0, 0].set(jnp.inf))
)
case(
    A,
    "numerics.sqrtm(a)",
    "non-symmetric matrix",
    ValueError,
    "expected symmetric",
)(lambda p: numerics.sqrtm(jnp.array([[1.0, 0.5], [0.0, 1.0]])))
case(
    A,
    "numerics.fixed_point(fn, x0, params, max_iter=0)",
    "max_iter = 0",
    ValueError,
    "max_iter: expected an integer >= 1",
)(
    lambda p: numerics.fixed_point(
        lambda x, q: x, jnp.zeros(()), None, tol=1e-6, max_iter=0
    )
)
case(
    A,
    "numerics.fixed_point(fn, x0, params, tol=-1)",
    "negative tol",
    ValueError,
    "tol: expected a finite value >= 0",
)(
    lambda p: numerics.fixed_point(
        lambda x, q: x, jnp.zeros(()), None, tol=-1.0, max_iter=3
    )
)

# -------------------------------------------------------------------- info
A = "info"
case(
    A,
    "info.entropy(probs)",
    "probs off the simplex (sum 2)",
    ValueError,
    "summing to 1",
)(lambda p: info.entropy(jnp.array([1.0, 1.0])))
case(A, "info.entropy(probs)", "negative probability", ValueError, "probs")(
    lambda p: info.entropy(jnp.array([1.5, -0.5]))
)
case(A, "info.entropy(probs)", "NaN probability", ValueError, "NaN/Inf")(
    lambda p: info.entropy(jnp.array([jnp.nan, 1.0]))
)
case(A, "info.entropy(probs)", "integer probabilities", TypeError, "probs")(
    lambda p: info.entropy(jnp.array([0, 1]))
)
case(A, "info.entropy(probs, axis=3)", "axis out of range", ValueError, "axis")(
    lambda p: info.entropy(jnp.array([0.5, 0.5]), axis=3)
)
case(
    A,
    "info.kl_divergence(p, q)",
    "p and q of different shapes",
    ValueError,
    "q",
)(
    lambda p: info.kl_divergence(
        jnp.array([0.5, 0.5]), jnp.array([0.2, 0.3, 0.5])
    )
)
case(
    A,
    "info.js_divergence(p, q, weights)",
    "negative mixture weight",
    ValueError,
    "weights: expected non-negative",
)(
    lambda p: info.js_divergence(
        jnp.array([0.5, 0.5]), jnp.array([0.5, 0.5]), jnp.array([1.5, -0.5])
    )
)
case(
    A, "info.mutual_information(joint)", "joint of rank 1", ValueError, "joint"
)(lambda p: info.mutual_information(jnp.array([0.5, 0.5])))
case(
    A,
    "info.mutual_information(joint)",
    "joint summing to 2",
    ValueError,
    "summing to 1",
)(lambda p: info.mutual_information(jnp.full((2, 2), 0.5)))
case(
    A,
    "info.prediction_mi(probs, z)",
    "rows of probs off the simplex",
    ValueError,
    "probs",
)(lambda p: info.prediction_mi(jnp.full((4, 2), 0.7), jnp.array([0, 1, 0, 1])))
case(
    A,
    "info.prediction_mi(probs, z)",
    "z of another length",
    ValueError,
    "z",
)(lambda p: info.prediction_mi(jnp.full((4, 2), 0.5), jnp.array([0, 1, 0])))
case(
    A,
    "info.prediction_mi(probs, z)",
    "float z",
    TypeError,
    "z: expected an integer",
)(lambda p: info.prediction_mi(jnp.full((4, 2), 0.5), jnp.zeros(4)))
case(
    A,
    "info.prediction_mi(probs, z, num_groups=2)",
    "code 5 >= num_groups",
    ValueError,
    "z",
)(
    lambda p: info.prediction_mi(
        jnp.full((4, 2), 0.5), jnp.array([0, 1, 0, 5]), num_groups=2
    )
)
case(
    A,
    "info.prediction_mi(probs, z)",
    "negative code",
    ValueError,
    "non-negative",
)(lambda p: info.prediction_mi(jnp.full((4, 2), 0.5), jnp.array([0, 1, 0, -1])))
case(
    A, "info.prediction_mi(probs, z)", "empty probs [0, 2]", ValueError, "probs"
)(lambda p: info.prediction_mi(jnp.zeros((0, 2)), jnp.zeros(0, jnp.int32)))
case(A, "info.gaussian_entropy(cov)", "non-square cov", ValueError, "cov")(
    lambda p: info.gaussian_entropy(_f32(2, 3))
)
case(
    A,
    "info.gaussian_mutual_information(cov, split)",
    "split outside (0, d)",
    ValueError,
    "split",
)(lambda p: info.gaussian_mutual_information(_EYE, 2))
case(
    A,
    "info.ksg_mutual_information(x, y)",
    "x and y of different lengths",
    ValueError,
    "y",
)(lambda p: info.ksg_mutual_information(_f32(10, 1), _f32(9, 1)))
case(A, "info.kl_entropy(x, k=0)", "k = 0 neighbours", ValueError, "k")(
    lambda p: info.kl_entropy(_X, k=0)
)
case(A, "info.tv_bound(mi, pi0)", "pi0 outside (0, 1)", ValueError, "pi0")(
    lambda p: info.tv_bound(0.1, 1.5)
)
case(A, "info.tv_bound(mi, pi0)", "NaN mi", ValueError, "mi: expected finite")(
    lambda p: info.tv_bound(float("nan"), 0.5)
)
case(
    A,
    "info.gaussian_entropy(cov)",
    "singular cov",
    ValueError,
    "cov: expected symmetric positive definite",
)(lambda p: info.gaussian_entropy(jnp.zeros((2, 2))))
case(
    A,
    "info.gaussian_kl_divergence(m0, S0, m1, S1)",
    "singular cov1",
    ValueError,
    "cov1: expected symmetric positive definite",
)(lambda p: info.gaussian_kl_divergence(_M, _EYE, _M, jnp.ones((2, 2))))
case(
    A,
    "info.fano_bound(mi, group_probs)",
    "group_probs off the simplex",
    ValueError,
    "group_probs",
)(lambda p: info.fano_bound(0.1, jnp.array([0.3, 0.3])))

# --------------------------------------------------------------- transport
A = "transport"
case(
    A,
    "transport.gaussian_w2_squared(m1, S1, m2, S2)",
    "means of different lengths",
    ValueError,
    "mean2",
)(lambda p: transport.gaussian_w2_squared(_M, _EYE, jnp.zeros(3), jnp.eye(3)))


def _mixed_dtype(p):
    with jax.enable_x64(True):
        return transport.gaussian_w2_squared(
            _M, _EYE, jnp.zeros(2, jnp.float64), jnp.eye(2, dtype=jnp.float64)
        )


case(
    A,
    "transport.gaussian_w2_squared(m1, S1, m2, S2)",
    "float32 and float64 mixed",
    TypeError,
    "one floating dtype",
)(_mixed_dtype)


case(
    A,
    "transport.gaussian_w2_squared(m1, S1, m2, S2)",
    "non-symmetric cov1",
    ValueError,
    "cov1: expected symmetric",
)(
    lambda p: transport.gaussian_w2_squared(
        _M, jnp.array([[1.0, 1.0], [0.0, 1.0]]), _M, _EYE
    )
)
case(
    A,
    "transport.gaussian_w2_squared(m1, S1, m2, S2)",
    "cov1 [2, 2] with mean1 [3]",
    ValueError,
    "cov1: expected shape [3, 3]",
)(
    lambda p: transport.gaussian_w2_squared(
        jnp.zeros(3), _EYE, jnp.zeros(3), jnp.eye(3)
    )
)
case(
    A,
    "transport.gaussian_transport_matrix(S1, S2)",
    "NaN in cov_target",
    ValueError,
    "cov_target: expected finite",
)(lambda p: transport.gaussian_transport_matrix(_EYE, _EYE * jnp.nan))
case(
    A,
    "transport.gaussian_transport_map(x, m1, S1, m2, S2)",
    "x with 3 features for d = 2",
    ValueError,
    "x: expected 2 features",
)(lambda p: transport.gaussian_transport_map(_f32(4, 3), _M, _EYE, _M, _EYE))
case(
    A,
    "transport.gaussian_barycenter(means, covs)",
    "no groups (k = 0)",
    ValueError,
    "means: expected a non-empty",
)(lambda p: transport.gaussian_barycenter(_f32(0, 2), _f32(0, 2, 2)))
case(
    A,
    "transport.gaussian_barycenter(means, covs)",
    "covs [k, d, d] for another k",
    ValueError,
    "covs: expected shape [2, 2, 2]",
)(lambda p: transport.gaussian_barycenter(_f32(2, 2), jnp.stack([_EYE] * 3)))
case(
    A,
    "transport.gaussian_barycenter(means, covs, weights)",
    "negative weight",
    ValueError,
    "non-negative weights",
)(
    lambda p: transport.gaussian_barycenter(
        _f32(2, 2), jnp.stack([_EYE] * 2), jnp.array([1.5, -0.5])
    )
)
case(
    A,
    "transport.gaussian_barycenter(means, covs, weights)",
    "all-zero weights",
    ValueError,
    "positive sum",
)(
    lambda p: transport.gaussian_barycenter(
        _f32(2, 2), jnp.stack([_EYE] * 2), jnp.zeros(2)
    )
)
case(
    A,
    "transport.gaussian_barycenter(means, covs, weights)",
    "3 weights for 2 groups",
    ValueError,
    "expected 2 weights",
)(
    lambda p: transport.gaussian_barycenter(
        _f32(2, 2), jnp.stack([_EYE] * 2), jnp.ones(3) / 3
    )
)
case(
    A,
    "transport.gaussian_barycenter(means, covs, weights)",
    "NaN weight",
    ValueError,
    "finite weights",
)(
    lambda p: transport.gaussian_barycenter(
        _f32(2, 2), jnp.stack([_EYE] * 2), jnp.array([jnp.nan, 1.0])
    )
)
case(
    A,
    "transport.gaussian_barycenter(means, covs, tol=-1)",
    "negative tol",
    ValueError,
    "tol: expected a finite value >= 0",
)(
    lambda p: transport.gaussian_barycenter(
        _f32(2, 2), jnp.stack([_EYE] * 2), tol=-1.0
    )
)
case(
    A,
    "transport.gaussian_barycenter(means, covs, max_iter=2.5)",
    "non-integer max_iter",
    TypeError,
    "max_iter: expected an integer",
)(
    lambda p: transport.gaussian_barycenter(
        _f32(2, 2), jnp.stack([_EYE] * 2), max_iter=2.5
    )
)
case(
    A,
    "transport.mccann_interpolation(x, y, t)",
    "t = 1.5",
    ValueError,
    "t: expected values in [0, 1]",
)(lambda p: transport.mccann_interpolation(_X, _X, 1.5))
case(
    A,
    "transport.mccann_interpolation(x, y, t)",
    "t = -0.1",
    ValueError,
    "t: expected values in [0, 1]",
)(lambda p: transport.mccann_interpolation(_X, _X, -0.1))
case(
    A,
    "transport.mccann_interpolation(x, y, t)",
    "y of another shape",
    ValueError,
    "y",
)(lambda p: transport.mccann_interpolation(_X, _X[:3], 0.5))
case(A, "transport.pareto_frontier(v, t)", "negative v", ValueError, "v")(
    lambda p: transport.pareto_frontier(-1.0, 0.5)
)
case(
    A,
    "transport.pareto_frontier(v, t)",
    "t = NaN",
    ValueError,
    "t: expected values in [0, 1]",
)(lambda p: transport.pareto_frontier(1.0, float("nan")))
case(
    A,
    "transport.empirical_quantile_function(samples)",
    "empty samples",
    ValueError,
    "samples",
)(lambda p: transport.empirical_quantile_function(jnp.zeros(0)))
case(
    A,
    "transport.empirical_quantile_function(samples)",
    "samples of rank 2",
    ValueError,
    "samples: expected an array of rank 1",
)(lambda p: transport.empirical_quantile_function(_X))
case(
    A,
    "transport.empirical_quantile_function(samples)",
    "Inf sample",
    ValueError,
    "NaN/Inf",
)(lambda p: transport.empirical_quantile_function(jnp.array([0.0, jnp.inf])))

# ----------------------------------------------------------------- feature
A = "feature"
case(
    A,
    "feature.fit(x, z)",
    "a single group",
    ValueError,
    "z: expected at least 2 groups",
)(lambda p: feature.fit(_X, jnp.zeros(12, jnp.int32)))
case(
    A,
    "feature.fit(x, z)",
    "a group with one row (gaussian)",
    ValueError,
    "needs at least 2 rows per group",
)(lambda p: feature.fit(_X, _Z.at[0].set(7), method="gaussian"))
case(
    A, "feature.fit(x, z)", "float codes z", TypeError, "z: expected an integer"
)(lambda p: feature.fit(_X, _Z.astype(jnp.float32)))
case(A, "feature.fit(x, z)", "z shorter than x", ValueError, "z: expected")(
    lambda p: feature.fit(_X, _Z[:5])
)
case(
    A,
    "feature.fit(x, z)",
    "x of rank 1",
    ValueError,
    "x: expected an array of rank 2",
)(lambda p: feature.fit(_X[:, 0], _Z))
case(
    A,
    "feature.fit(x, z)",
    "empty x [0, 2]",
    ValueError,
    "x: expected a non-empty",
)(lambda p: feature.fit(_X[:0], _Z[:0]))
case(
    A,
    "feature.fit(x, z)",
    "integer x",
    TypeError,
    "x: expected a float32 or float64",
)(lambda p: feature.fit(jnp.ones((12, 2), jnp.int32), _Z))
case(
    A,
    "feature.fit(x, z)",
    "boolean x",
    TypeError,
    "x: expected a float32 or float64",
)(lambda p: feature.fit(jnp.ones((12, 2), bool), _Z))
case(A, "feature.fit(x, z)", "NaN in x", ValueError, "x: expected finite")(
    lambda p: feature.fit(_X.at[3, 1].set(jnp.nan), _Z)
)
case(
    A,
    "feature.fit(x, z, method=...)",
    "unknown method name",
    ValueError,
    "method: expected one of",
)(lambda p: feature.fit(_X, _Z, method="wasserstein-magic"))
case(
    A,
    "feature.fit(x, z, weights=...)",
    "weights for an unseen group",
    ValueError,
    "weights",
)(lambda p: feature.fit(_X, _Z, weights={0: 0.5, 9: 0.5}))
case(
    A,
    "feature.fit(x, z, weights=...)",
    "negative weight",
    ValueError,
    "non-negative weights",
)(lambda p: feature.fit(_X, _Z, weights=jnp.array([1.5, -0.5])))
case(
    A,
    "feature.fit(x, z, weights=...)",
    "wrong number of weights",
    ValueError,
    "expected 2 weights",
)(lambda p: feature.fit(_X, _Z, weights=jnp.ones(3) / 3))
case(
    A,
    "feature.fit(x, z, options=...)",
    "unknown option",
    ValueError,
    "options: unknown option(s) ['bogus'] for method 'gaussian'",
)(lambda p: feature.fit(_X, _Z, method="gaussian", options={"bogus": 1}))
case(
    A,
    "feature.transform(repair, x, z)",
    "unseen group code",
    ValueError,
    "were not seen at fit time",
)(lambda p: feature.transform(_repair(), _X, _Z.at[0].set(5)))
case(
    A,
    "feature.transform(repair, x, z, t=...)",
    "t = 2",
    ValueError,
    "t: expected values in [0, 1]",
)(lambda p: feature.transform(_repair(), _X, _Z, t=2.0))
case(
    A,
    "feature.transform(repair, x, z, t=...)",
    "t of rank 1",
    ValueError,
    "t: expected an array of rank 0",
)(lambda p: feature.transform(_repair(), _X, _Z, t=jnp.array([0.5, 0.5])))
case(
    A,
    "feature.transform(repair, x, z)",
    "x with another number of features",
    ValueError,
    "x: expected 2 features",
)(lambda p: feature.transform(_repair(), _f32(12, 3), _Z))
case(
    A,
    "feature.transform(repair, x, z)",
    "repair not a FittedRepair",
    TypeError,
    "repair: expected a FittedRepair",
)(lambda p: feature.transform({"codes": 1}, _X, _Z))
case(
    A,
    "feature.save(repair, path)",
    "repair not a FittedRepair",
    TypeError,
    "repair: expected a FittedRepair",
)(lambda p: feature.save(None, os.path.join(p, "r.npz")))


def _write(path, data: bytes):
    with open(path, "wb") as f:
        f.write(data)
    return path


case(A, "feature.load(path)", "missing file", ValueError, "no such file")(
    lambda p: feature.load(os.path.join(p, "missing.npz"))
)
case(
    A,
    "feature.load(path)",
    "not an npz (text)",
    ValueError,
    "not a readable jaxunlearn file",
)(lambda p: feature.load(_write(os.path.join(p, "t.npz"), b"hello")))
case(
    A,
    "feature.load(path)",
    "plain npz without header",
    ValueError,
    "has no jaxunlearn header",
)(lambda p: feature.load(_plain_npz(p)))


def _plain_npz(p):
    path = os.path.join(p, "plain.npz")
    np.savez(path, a=np.zeros(3))
    return path


def _saved(p):
    path = os.path.join(p, "repair.npz")
    feature.save(_repair(), path)
    return path


def _rewrite(path, fn):
    """Rewrites the npz at ``path`` with ``fn(arrays) -> arrays``."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: np.array(data[k]) for k in data.files}
    np.savez(path, **fn(arrays))
    return path


def _header(fn):
    import json

    def edit(arrays):
        key = "__jaxunlearn_meta__"
        head = json.loads(arrays[key].tobytes().decode())
        fn(head)
        arrays[key] = np.frombuffer(json.dumps(head).encode(), np.uint8)
        return arrays

    return edit


def _set(head, key, value):
    head[key] = value


case(
    A,
    "feature.load(path)",
    "file from format version 99",
    ValueError,
    "format version 99",
)(
    lambda p: feature.load(
        _rewrite(_saved(p), _header(lambda h: _set(h, "format_version", 99)))
    )
)
case(
    A,
    "feature.load(path)",
    "file of another kind",
    ValueError,
    "expected a 'feature.repair' file",
)(
    lambda p: feature.load(
        _rewrite(_saved(p), _header(lambda h: _set(h, "kind", "other")))
    )
)
case(A, "feature.load(path)", "tampered array values", ValueError, "checksum")(
    lambda p: feature.load(
        _rewrite(
            _saved(p),
            lambda a: {**a, "weights": a["weights"][::-1] * 2},
        )
    )
)
case(
    A,
    "feature.load(path)",
    "truncated file",
    ValueError,
    "not a readable jaxunlearn file",
)(lambda p: feature.load(_truncate(_saved(p))))


def _truncate(path):
    with open(path, "rb") as f:
        data = f.read()
    return _write(path, data[: len(data) // 2])


case(
    A,
    "feature.register_method(name, method)",
    "method not a RepairMethod",
    TypeError,
    "method",
)(lambda p: feature.register_method("x-bogus", lambda x: x))
case(
    A,
    "feature.register_method(name, method)",
    "name already registered",
    ValueError,
    "already registered",
)(
    lambda p: feature.register_method(
        "gaussian", feature.RepairMethod(None, None, None, 1)
    )
)

# ---------------------------------------------------------------- datasets
A = "datasets"
_K = jax.random.key(0)
_DX = np.zeros((10, 2), np.float32)
_DY = np.arange(10) % 2
case(
    A,
    "datasets.forget_indices(x, y, None, None, indices)",
    "index out of range",
    ValueError,
    "indices: expected indices in [0, 10)",
)(lambda p: datasets.forget_indices(_DX, _DY, None, None, [0, 10]))
case(
    A,
    "datasets.forget_indices(x, y, None, None, indices)",
    "negative index",
    ValueError,
    "indices: expected indices in [0, 10)",
)(lambda p: datasets.forget_indices(_DX, _DY, None, None, [-1, 2]))
case(
    A,
    "datasets.forget_indices(x, y, None, None, indices)",
    "duplicated index",
    ValueError,
    "duplicates",
)(lambda p: datasets.forget_indices(_DX, _DY, None, None, [1, 1]))
case(
    A,
    "datasets.forget_indices(x, y, None, None, indices)",
    "empty forget set",
    ValueError,
    "at least one index",
)(lambda p: datasets.forget_indices(_DX, _DY, None, None, []))
case(
    A,
    "datasets.forget_indices(x, y, None, None, indices)",
    "forget set covering every row (empty retain)",
    ValueError,
    "empty retain set",
)(lambda p: datasets.forget_indices(_DX, _DY, None, None, np.arange(10)))
case(
    A,
    "datasets.forget_indices(x, y, None, None, indices)",
    "float indices",
    TypeError,
    "indices: expected integer",
)(lambda p: datasets.forget_indices(_DX, _DY, None, None, [0.5]))
case(
    A,
    "datasets.forget_random(key, x, y, None, None, n)",
    "n_forget = n",
    ValueError,
    "n_forget: expected fewer",
)(lambda p: datasets.forget_random(_K, _DX, _DY, None, None, 10))
case(
    A,
    "datasets.forget_random(key, x, y, None, None, n)",
    "key not a PRNG key",
    TypeError,
    "key",
)(lambda p: datasets.forget_random(0, _DX, _DY, None, None, 2))
case(
    A,
    "datasets.forget_class_fraction(key, ..., cls, fraction)",
    "fraction = 0",
    ValueError,
    "fraction: expected a value in (0, 1]",
)(lambda p: datasets.forget_class_fraction(_K, _DX, _DY, None, None, 1, 0.0))
case(
    A,
    "datasets.forget_class_fraction(key, ..., cls, fraction)",
    "class without rows",
    ValueError,
    "has no training rows",
)(lambda p: datasets.forget_class_fraction(_K, _DX, _DY, None, None, 5, 0.5))
case(
    A,
    "datasets.forget_indices(x, y, x_test, y_test, indices)",
    "y shorter than x",
    ValueError,
    "y",
)(lambda p: datasets.forget_indices(_DX, _DY[:5], None, None, [0]))
case(
    A,
    "datasets.forget_indices(x, y, None, None, indices)",
    "negative labels",
    ValueError,
    "labels >= 0",
)(lambda p: datasets.forget_indices(_DX, -_DY - 1, None, None, [0]))
case(
    A,
    "datasets.train_test_split(key, x, y, test_fraction)",
    "test_fraction = 1",
    ValueError,
    "test_fraction",
)(lambda p: datasets.train_test_split(_K, _DX, _DY, test_fraction=1.0))
case(
    A,
    "datasets.gmm_toy(key, n, d)",
    "d = 0",
    ValueError,
    "d: expected an integer >= 1",
)(lambda p: datasets.gmm_toy(_K, 10, 0))
case(
    A,
    "datasets.read_idx(path)",
    "file with a bad magic number",
    ValueError,
    "path",
)(
    lambda p: datasets.read_idx(
        _write(os.path.join(p, "x.idx"), b"\x01\x02\x03\x04" * 4)
    )
)
case(
    A,
    "datasets.read_idx(path)",
    "truncated IDX header",
    ValueError,
    "is not an IDX file",
)(lambda p: datasets.read_idx(_write(os.path.join(p, "y.idx"), b"\x00\x00")))
case(
    A,
    "datasets.read_idx(path)",
    "missing file",
    FileNotFoundError,
    "no IDX file",
)(lambda p: datasets.read_idx(os.path.join(p, "none.idx")))
case(
    A, "datasets.load_images(name)", "unknown dataset name", ValueError, "name"
)(lambda p: datasets.load_images("cifar-1000"))
case(
    A, "datasets.load_adult(subset=...)", "unknown subset", ValueError, "subset"
)(lambda p: datasets.load_adult(subset="nonsense"))
case(
    A,
    "datasets.stroke_thickness(images)",
    "images of rank 2",
    ValueError,
    "images",
)(lambda p: datasets.stroke_thickness(_f32(4, 4)))


# --------------------------------------------------- models and datapoint
A = "datapoint"


def _dp():
    from tests.datapoint._problems import tiny_model, tiny_split

    split, _ = tiny_split()
    apply_fn, params = tiny_model()
    return apply_fn, params, split


def _unlearn(**kw):
    apply_fn, params, split = _dp()
    split = split._replace(**kw.pop("split", {}))
    kw.setdefault("key", jax.random.key(0))
    kw.setdefault("epochs", 1)
    return datapoint.unlearn(apply_fn, params, split, **kw)


case(
    A,
    "datapoint.unlearn(..., gamma=...)",
    "gamma < 0",
    ValueError,
    "gamma: expected a finite value >= 0",
)(lambda p: _unlearn(gamma=-1.0))
case(
    A,
    "datapoint.unlearn(..., gamma=...)",
    "gamma = NaN",
    ValueError,
    "gamma: expected a finite value >= 0",
)(lambda p: _unlearn(gamma=float("nan")))
case(
    A,
    "datapoint.unlearn(..., gamma=...)",
    "unknown gamma rule",
    ValueError,
    "gamma: expected one of 'auto'",
)(lambda p: _unlearn(gamma="fast"))
case(
    A,
    "datapoint.unlearn(..., epochs=0)",
    "epochs = 0",
    ValueError,
    "epochs: expected an integer >= 1",
)(lambda p: _unlearn(epochs=0))
case(
    A,
    "datapoint.unlearn(..., learning_rate=-1)",
    "negative learning rate",
    ValueError,
    "learning_rate: expected a finite value >= 0",
)(lambda p: _unlearn(learning_rate=-1.0))
case(
    A,
    "datapoint.unlearn(..., utility=...)",
    "unknown utility",
    ValueError,
    "utility: expected one of",
)(lambda p: _unlearn(utility="nope"))
case(
    A,
    "datapoint.unlearn(apply_fn, params, split)",
    "empty forget set",
    ValueError,
    "split.x_forget: expected a non-empty",
)(
    lambda p: _unlearn(
        split={
            "x_forget": jnp.zeros((0, 4)),
            "y_forget": jnp.zeros(0, jnp.int32),
        }
    )
)
case(
    A,
    "datapoint.unlearn(apply_fn, params, split)",
    "NaN in the retain rows",
    ValueError,
    "split.x_retain: expected finite",
)(
    lambda p: _unlearn(
        split={"x_retain": _dp()[2].x_retain.at[0, 0].set(jnp.nan)}
    )
)
case(
    A,
    "datapoint.unlearn(apply_fn, params, split)",
    "integer rows",
    TypeError,
    "split.x_retain: expected a float32 or float64",
)(lambda p: _unlearn(split={"x_retain": _dp()[2].x_retain.astype(jnp.int32)}))
case(
    A,
    "datapoint.unlearn(apply_fn, params, split)",
    "label 7 with 3 classes",
    ValueError,
    "split.y_retain: expected labels in [0, 3)",
)(lambda p: _unlearn(split={"y_retain": _dp()[2].y_retain.at[0].set(7)}))
case(
    A,
    "datapoint.unlearn(apply_fn, params, split)",
    "split without the forget fields",
    ValueError,
    "split: expected an object with fields",
)(
    lambda p: datapoint.unlearn(
        *_dp()[:2], {"x": 1}, epochs=1, key=jax.random.key(0)
    )
)
case(
    A,
    "datapoint.unlearn(..., key=3)",
    "an int instead of a PRNG key",
    TypeError,
    "key: expected a PRNG key",
)(lambda p: _unlearn(key=3))
case(
    A,
    "datapoint.pad_forget_sets(sets, n)",
    "duplicated index",
    ValueError,
    "expected distinct indices",
)(lambda p: datapoint.pad_forget_sets([[1, 1, 2]], 10))
case(
    A,
    "datapoint.pad_forget_sets(sets, n)",
    "index out of range",
    ValueError,
    "expected indices in [0, 10)",
)(lambda p: datapoint.pad_forget_sets([[1, 12]], 10))
case(
    A,
    "datapoint.pad_forget_sets(sets, n)",
    "forget set covering every row (overlaps all of retain)",
    ValueError,
    "the retain set would be empty",
)(lambda p: datapoint.pad_forget_sets([list(range(10))], 10))
case(
    A,
    "datapoint.pad_forget_sets(sets, n)",
    "no requests",
    ValueError,
    "expected at least one request",
)(lambda p: datapoint.pad_forget_sets([], 10))
case(
    A,
    "datapoint.pad_forget_sets(sets, n)",
    "float indices",
    ValueError,
    "expected a 1-D integer index array",
)(lambda p: datapoint.pad_forget_sets([[0.5]], 10))
case(
    A,
    "datapoint.membership_mi(logits_retain, logits_forget)",
    "class counts differ",
    ValueError,
    "logits_forget: expected shape [*, 3]",
)(lambda p: datapoint.membership_mi(_f32(4, 3), _f32(2, 4)))
case(
    A,
    "datapoint.fit_classifier(..., y)",
    "y shorter than x",
    ValueError,
    "y: expected shape [60]",
)(
    lambda p: datapoint.fit_classifier(
        *_dp()[:2],
        jnp.zeros((60, 4)),
        jnp.zeros(5, jnp.int32),
        epochs=1,
        key=jax.random.key(0),
    )
)
case(
    A,
    "models.MLP(in_features, hidden, classes)",
    "0 input features",
    ValueError,
    "in_features: expected an integer >= 1",
)(lambda p: models.MLP(0, (8,), 3, rngs=nnx.Rngs(0)))
case(
    A,
    "models.functional(model)",
    "a plain function",
    TypeError,
    "model: expected a flax nnx.Module",
)(lambda p: models.functional(lambda x: x))

# ------------------------------------------------------ audit, baselines
A = "audit"
_P = jnp.full((8, 3), 1 / 3)


case(
    A,
    "audit.roc_auc(scores, is_member)",
    "NaN score",
    ValueError,
    "scores: expected no NaN",
)(lambda p: audit.roc_auc(jnp.array([0.0, jnp.nan]), jnp.array([True, False])))
case(
    A,
    "audit.roc_auc(scores, is_member)",
    "only members",
    ValueError,
    "expected both members and non-members",
)(lambda p: audit.roc_auc(jnp.zeros(5), jnp.ones(5, bool)))
case(
    A,
    "audit.roc_auc(scores, is_member)",
    "lengths differ",
    ValueError,
    "is_member: expected shape [5]",
)(lambda p: audit.roc_auc(jnp.zeros(5), jnp.zeros(4, bool)))
case(
    A,
    "audit.mi_audit(probs_0, probs_1, key=...)",
    "rows off the simplex",
    ValueError,
    "probs_0: expected probabilities summing to 1",
)(lambda p: audit.mi_audit(_P * 2, _P, key=jax.random.key(0)))
case(
    A,
    "audit.mi_audit(probs_0, probs_1, key=...)",
    "confidence = 1.5",
    ValueError,
    "confidence: expected a value in (0, 1)",
)(lambda p: audit.mi_audit(_P, _P, key=jax.random.key(0), confidence=1.5))
case(
    A,
    "audit.mi_audit(probs_0, probs_1, key=...)",
    "num_bootstrap = 0",
    ValueError,
    "num_bootstrap: expected an integer >= 2",
)(lambda p: audit.mi_audit(_P, _P, key=jax.random.key(0), num_bootstrap=0))
case(
    A,
    "audit.accuracy(logits, labels)",
    "float labels",
    TypeError,
    "labels: expected an integer array",
)(lambda p: audit.accuracy(_f32(8, 3), jnp.zeros(8)))
case(
    A,
    "audit.logistic_attack(..., num_folds=1)",
    "one fold",
    ValueError,
    "num_folds: expected an integer >= 2",
)(
    lambda p: audit.logistic_attack(
        _f32(8, 3),
        jnp.zeros(8, jnp.int32),
        _f32(8, 3),
        jnp.zeros(8, jnp.int32),
        key=jax.random.key(0),
        num_folds=1,
    )
)
case(
    A,
    "audit.per_example_epsilon(u, r, delta=2)",
    "delta outside [0, 1)",
    ValueError,
    "delta: expected a value in [0, 1)",
)(lambda p: audit.per_example_epsilon(_f32(4, 8), _f32(4, 8), delta=2.0))
case(
    A,
    "audit.leakage_auc(..., model=...)",
    "unknown model name",
    ValueError,
    "model: expected one of",
)(
    lambda p: audit.leakage_auc(
        np.zeros((10, 2)),
        np.arange(10) % 2,
        np.zeros((10, 2)),
        np.arange(10) % 2,
        model="svm",
    )
)
case(
    A,
    "audit.leakage_auc(x, z, ...)",
    "a single group",
    ValueError,
    "z_train: expected at least two groups",
)(
    lambda p: audit.leakage_auc(
        np.zeros((10, 2)),
        np.zeros(10, int),
        np.zeros((10, 2)),
        np.zeros(10, int),
    )
)
case(
    A,
    "audit.mi_bounds(mi, pi)",
    "pi outside (0, 1)",
    ValueError,
    "pi: expected values in (0, 1)",
)(lambda p: audit.mi_bounds(0.1, 1.2))
case(
    A,
    "baselines.certified_removal(..., l2=...)",
    "l2 = 0",
    ValueError,
    "l2: expected a positive ridge strength",
)(lambda p: baselines.certified_removal(*_dp(), l2=0.0))


def _baseline(name, **kw):
    apply_fn, params, split = _dp()
    split = split._replace(**kw.pop("split", {}))
    kw.setdefault("key", jax.random.key(0))
    return getattr(baselines, name)(apply_fn, params, split, **kw)


case(
    A,
    "baselines.finetune(..., epochs=0)",
    "epochs = 0",
    ValueError,
    "epochs: expected an integer >= 1",
)(lambda p: _baseline("finetune", epochs=0))
case(
    A,
    "baselines.neggrad(..., learning_rate=-1)",
    "negative learning rate",
    ValueError,
    "learning_rate: expected a finite value >= 0",
)(lambda p: _baseline("neggrad", learning_rate=-1.0))
case(
    A,
    "baselines.scrub(..., temperature=0)",
    "temperature 0",
    ValueError,
    "temperature: expected > 0",
)(lambda p: _baseline("scrub", temperature=0.0))
case(
    A,
    "baselines.retrain(..., key=1)",
    "an int instead of a PRNG key",
    TypeError,
    "key: expected a PRNG key",
)(lambda p: _baseline("retrain", key=1))
case(
    A,
    "baselines.ssd(apply_fn, params, split)",
    "NaN in the forget rows",
    ValueError,
    "x_forget: expected finite values",
)(
    lambda p: _baseline(
        "ssd", split={"x_forget": _dp()[2].x_forget.at[0, 0].set(jnp.nan)}
    )
)
case(
    A,
    "baselines.random_labels(apply_fn, params, split)",
    "empty forget set",
    ValueError,
    "x_forget: expected a non-empty array",
)(
    lambda p: _baseline(
        "random_labels",
        split={
            "x_forget": jnp.zeros((0, 4)),
            "y_forget": jnp.zeros(0, jnp.int32),
        },
    )
)

# -------------------------------------------------------------- experiments
A = "experiments"


def _npz(p, name, **arrays):
    path = os.path.join(p, name)
    np.savez(path, **arrays)
    return path


def _ckpt(p, doc: str):
    return _write(os.path.join(p, "ck.json"), doc.encode())


def _pickled_npy(p):
    path = os.path.join(p, "o.npy")
    np.save(path, np.array([1, "a"], dtype=object), allow_pickle=True)
    return path


case(
    A,
    "experiments.load_classification(spec)",
    "unknown data set",
    ValueError,
    "spec: unknown data set",
)(lambda p: experiments.load_classification("cifar"))
case(
    A,
    "experiments.load_classification('npz:PATH')",
    "missing file",
    ValueError,
    "spec: no such file",
)(
    lambda p: experiments.load_classification(
        "npz:" + os.path.join(p, "none.npz")
    )
)
case(
    A,
    "experiments.load_classification('npz:PATH')",
    "not an npz",
    ValueError,
    "as .npz",
)(
    lambda p: experiments.load_classification(
        "npz:" + _write(os.path.join(p, "g.npz"), b"garbage")
    )
)
case(
    A,
    "experiments.load_classification('npz:PATH')",
    "no label array y",
    ValueError,
    "has no integer label array 'y'",
)(
    lambda p: experiments.load_classification(
        "npz:" + _npz(p, "a.npz", x=np.zeros((5, 2)))
    )
)
case(
    A,
    "experiments.load_classification('npz:PATH')",
    "float labels",
    ValueError,
    "'y' must be [5] integers",
)(
    lambda p: experiments.load_classification(
        "npz:" + _npz(p, "b.npz", x=np.zeros((5, 2)), y=np.zeros(5))
    )
)
case(
    A,
    "experiments.load_classification('npz:PATH')",
    "NaN rows",
    ValueError,
    "'x' holds NaN or Inf",
)(
    lambda p: experiments.load_classification(
        "npz:" + _npz(p, "c.npz", x=np.full((5, 2), np.nan), y=np.zeros(5, int))
    )
)
case(
    A,
    "experiments.load_feature_data('csv:PATH', attribute)",
    "attribute column absent",
    ValueError,
    "attribute: column 'sex' is not in",
)(
    lambda p: experiments.load_feature_data(
        "csv:"
        + _write(os.path.join(p, "a.csv"), b"a,b\n1,m\n2,m\n3,f\n4,m\n5,f\n"),
        "sex",
    )
)
case(
    A,
    "experiments.load_feature_data('csv:PATH', attribute)",
    "missing value",
    ValueError,
    "has missing values in columns ['a']",
)(
    lambda p: experiments.load_feature_data(
        "csv:"
        + _write(os.path.join(p, "m.csv"), b"a,sex\n1,m\n,m\n3,f\n4,m\n5,f\n"),
        "sex",
    )
)
case(
    A,
    "experiments.load_feature_data('csv:PATH', attribute)",
    "ragged row",
    ValueError,
    "as CSV",
)(
    lambda p: experiments.load_feature_data(
        "csv:"
        + _write(os.path.join(p, "r.csv"), b"a,sex\n1,m\n2\n3,f\n4,m\n5,f,7\n"),
        "sex",
    )
)
case(
    A,
    "experiments.load_feature_data('csv:PATH', attribute)",
    "binary, non-UTF-8 bytes",
    ValueError,
    "as CSV",
)(
    lambda p: experiments.load_feature_data(
        "csv:" + _write(os.path.join(p, "b.csv"), b"\x00\xff\xfe\x00,,\n"),
        "sex",
    )
)
case(
    A,
    "experiments.load_feature_data('csv:PATH', attribute)",
    "empty file",
    ValueError,
    "as CSV",
)(
    lambda p: experiments.load_feature_data(
        "csv:" + _write(os.path.join(p, "e.csv"), b""), "sex"
    )
)
case(
    A,
    "experiments.Checkpoint(path, config, resume=True)",
    "malformed JSON",
    ValueError,
    "resume: cannot read checkpoint",
)(lambda p: experiments.Checkpoint(_ckpt(p, "{nope"), {"a": 1}, resume=True))
case(
    A,
    "experiments.Checkpoint(path, config, resume=True)",
    "JSON list instead of a checkpoint",
    ValueError,
    "is not a jaxunlearn checkpoint",
)(lambda p: experiments.Checkpoint(_ckpt(p, "[1, 2]"), {"a": 1}, resume=True))
case(
    A,
    "experiments.Checkpoint(path, config, resume=True)",
    "checkpoint from version 9",
    ValueError,
    "has checkpoint version 9",
)(
    lambda p: experiments.Checkpoint(
        _ckpt(p, '{"format": "jaxunlearn.checkpoint", "version": 9}'),
        {"a": 1},
        resume=True,
    )
)
case(
    A,
    "experiments.Checkpoint(path, config, resume=True)",
    "tampered unit result",
    ValueError,
    "fails its checksum",
)(lambda p: experiments.Checkpoint(_tampered_ckpt(p), {"a": 1}, resume=True))
case(
    A,
    "experiments.Checkpoint(path, config, resume=True)",
    "written with other settings",
    ValueError,
    "was written with other settings (differing: a)",
)(
    lambda p: experiments.Checkpoint(
        _good_ckpt(p, {"a": 2}), {"a": 1}, resume=True
    )
)


def _good_ckpt(p, config):
    path = os.path.join(p, "good.json")
    experiments.Checkpoint(path, config).put("seed0", {"acc": 0.5})
    return path


def _tampered_ckpt(p):
    path = _good_ckpt(p, {"a": 1})
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return _write(path, text.replace("0.5", "0.9").encode())


# ----------------------------------------------------------------- neural OT
A = "transport (neural)"
_NCFG = transport.NeuralOTConfig(
    num_iterations=2, k_t=1, batch_size=8, hidden=8, depth=1
)
_NX = jnp.asarray(np.random.default_rng(1).normal(size=(16, 2)), jnp.float32)


def _neural_ckpt(p, tamper=False):
    state = transport.init_neural_ot(_NX, key=jax.random.key(0), config=_NCFG)
    path = os.path.join(p, "neural.npz")
    transport.save_neural_ot_state(path, state, config=_NCFG)
    if tamper:
        _rewrite(
            path,
            lambda a: {
                k: (v + 1 if k.startswith("leaf") or k == "step" else v)
                if k != "__jaxunlearn_meta__" and v.dtype.kind == "f"
                else v
                for k, v in a.items()
            },
        )
    return path, state


case(
    A,
    "transport.load_neural_ot_state(path, template, config=...)",
    "tampered checkpoint",
    ValueError,
    "fails its checksum",
)(lambda p: _load_tampered_neural(p))


def _load_tampered_neural(p):
    path, state = _neural_ckpt(p, tamper=True)
    return transport.load_neural_ot_state(path, state, config=_NCFG)


def _load_other_config(p):
    path, state = _neural_ckpt(p)
    return transport.load_neural_ot_state(
        path, state, config=_NCFG._replace(hidden=16)
    )


case(
    A,
    "transport.load_neural_ot_state(path, template, config=...)",
    "checkpoint of another config",
    ValueError,
    "checkpoint was written with config",
)(_load_other_config)
case(
    A,
    "transport.fit_neural_ot(source, target, key=..., config=...)",
    "num_iterations = 0",
    ValueError,
    "config.num_iterations: expected an integer >= 1",
)(
    lambda p: transport.fit_neural_ot(
        _NX, _NX, key=jax.random.key(0), config=_NCFG._replace(num_iterations=0)
    )
)
case(
    A,
    "transport.fit_neural_ot(source, target, key=..., config=...)",
    "negative learning rate",
    ValueError,
    "config.learning_rate_t: expected a finite value >= 0",
)(
    lambda p: transport.fit_neural_ot(
        _NX,
        _NX,
        key=jax.random.key(0),
        config=_NCFG._replace(learning_rate_t=-1.0),
    )
)
case(
    A,
    "transport.fit_neural_ot(source, target, key=...)",
    "per-sample shapes differ",
    ValueError,
    "target: expected samples of the same shape as source",
)(
    lambda p: transport.fit_neural_ot(
        _NX, jnp.zeros((16, 3)), key=jax.random.key(0), config=_NCFG
    )
)
case(
    A,
    "transport.fit_neural_ot(source, target, key=...)",
    "NaN in source",
    ValueError,
    "source: expected finite values",
)(
    lambda p: transport.fit_neural_ot(
        _NX.at[0, 0].set(jnp.nan), _NX, key=jax.random.key(0), config=_NCFG
    )
)
case(
    A,
    "transport.fit_neural_ot(source, target, key=0)",
    "an int instead of a PRNG key",
    TypeError,
    "key: expected a PRNG key",
)(lambda p: transport.fit_neural_ot(_NX, _NX, key=0, config=_NCFG))
case(
    A,
    "transport.fit_neural_barycenter(x, z, key=...)",
    "a single group",
    ValueError,
    "z: expected two groups",
)(
    lambda p: transport.fit_neural_barycenter(
        _NX, jnp.zeros(16, jnp.int32), key=jax.random.key(0), config=_NCFG
    )
)
case(
    A,
    "transport.fit_neural_barycenter(x, z, key=...)",
    "three groups",
    ValueError,
    "handles two groups coded 0 and 1",
)(
    lambda p: transport.fit_neural_barycenter(
        _NX, jnp.arange(16) % 3, key=jax.random.key(0), config=_NCFG
    )
)
case(
    A,
    "feature.fit(x, z, method='neural', options=...)",
    "unknown option",
    ValueError,
    "options: unknown keys ['bogus']",
)(
    lambda p: feature.fit(
        _NX, jnp.arange(16) % 2, method="neural", options={"bogus": 1}
    )
)


# ---------------------------------------------------------------------- CLI
A = "cli"


class CliExit(Exception):
    """The command exited with a non-zero status (message: stderr)."""


def _cli(p, *argv):
    """Runs ``jaxunlearn ARGV`` in-process; raises CliExit unless it passes.

    A user error must give exit status 2 and exactly one stderr line
    starting ``jaxunlearn: error:``.
    """
    import contextlib
    import io

    from jaxunlearn import cli

    argv = [a.replace("{tmp}", p) for a in argv]
    if argv and argv[0] != "--help" and "--out" not in argv and len(argv) > 1:
        argv += ["--out", os.path.join(p, "out"), "--quiet"]
    err = io.StringIO()
    with (
        contextlib.redirect_stderr(err),
        contextlib.redirect_stdout(io.StringIO()),
    ):
        code = cli.main(argv)
    text = err.getvalue()
    lines = text.strip().splitlines()
    if code == 0:
        return code
    if (
        code != 2
        or len(lines) != 1
        or not lines[0].startswith("jaxunlearn: error:")
    ):
        raise AssertionError(f"exit {code}, stderr {text!r}")
    raise CliExit(lines[0])


_CSV = "a,b,sex\n" + "".join(
    f"{i},{i % 3}.5,{'mf'[i % 2]}\n" for i in range(12)
)


def _csv(p):
    return _write(os.path.join(p, "d.csv"), _CSV.encode())


def _cli_case(bad, match, *argv, setup=None):
    def run(p):
        if setup is not None:
            setup(p)
        return _cli(p, *argv)

    call = "jaxunlearn " + " ".join(argv)
    case(A, call, bad, CliExit, match)(run)


def _parse_forget(spec):
    from jaxunlearn import cli

    return cli.parse_forget(spec)


case(
    A,
    "cli.parse_forget(spec)",
    "unknown kind",
    ValueError,
    "--forget: expected class:C:FRACTION or indices:FILE",
)(lambda p: _parse_forget("random:5"))
case(
    A,
    "cli.parse_forget(spec)",
    "fraction 1.5",
    ValueError,
    "--forget: FRACTION must be in (0, 1]",
)(lambda p: _parse_forget("class:3:1.5"))
case(
    A,
    "cli.parse_forget(spec)",
    "index file with a word",
    ValueError,
    "--forget: cannot read indices",
)(
    lambda p: _parse_forget(
        "indices:" + _write(os.path.join(p, "i.txt"), b"1, 2, x")
    )
)
case(
    A,
    "cli.parse_forget(spec)",
    "pickled object .npy",
    ValueError,
    "--forget: cannot read indices",
)(lambda p: _parse_forget("indices:" + _pickled_npy(p)))


_cli_case("no command", "required: COMMAND")
_cli_case("unknown command", "invalid choice: 'forget'", "forget")
_cli_case("missing --data", "required: --data", "feature", "--attribute", "sex")
_cli_case(
    "unknown data set",
    "--data: unknown data set",
    "datapoint",
    "--data",
    "cifar",
    "--forget",
    "class:3:0.5",
)
_cli_case(
    "--seed not an integer",
    "--seed: invalid int value",
    "feature",
    "--data",
    "csv:x",
    "--attribute",
    "sex",
    "--seed",
    "one",
)
_cli_case(
    "missing CSV file",
    "no such file",
    "feature",
    "--data",
    "csv:{tmp}/none.csv",
    "--attribute",
    "sex",
)
_cli_case(
    "malformed CSV",
    "as CSV",
    "feature",
    "--data",
    "csv:{tmp}/bad.csv",
    "--attribute",
    "sex",
    setup=lambda p: _write(
        os.path.join(p, "bad.csv"), b"a,sex\n1,m\n2\n3,f,9\n"
    ),
)
_cli_case(
    "attribute column absent",
    "--attribute: column 'race' is not in",
    "feature",
    "--data",
    "csv:{tmp}/d.csv",
    "--attribute",
    "race",
    setup=_csv,
)
_cli_case(
    "repair level t = 1.5",
    "--t",
    "feature",
    "--data",
    "csv:{tmp}/d.csv",
    "--attribute",
    "sex",
    "--t",
    "0,1.5",
    setup=_csv,
)
_cli_case(
    "repair levels not numbers",
    "--t",
    "feature",
    "--data",
    "csv:{tmp}/d.csv",
    "--attribute",
    "sex",
    "--t",
    "a:b",
    setup=_csv,
)
_cli_case(
    "unknown repair method",
    "method",
    "feature",
    "--data",
    "csv:{tmp}/d.csv",
    "--attribute",
    "sex",
    "--method",
    "magic",
    setup=_csv,
)
_cli_case(
    "unknown forget kind",
    "--forget: expected class:C:FRACTION or indices:FILE",
    "datapoint",
    "--data",
    "digits",
    "--forget",
    "random:5",
)
_cli_case(
    "forget fraction 2",
    "--forget: FRACTION must be in (0, 1]",
    "datapoint",
    "--data",
    "digits",
    "--forget",
    "class:3:2",
)
_cli_case(
    "forget index file missing",
    "--forget: cannot read indices",
    "datapoint",
    "--data",
    "digits",
    "--forget",
    "indices:{tmp}/none.txt",
)
_cli_case(
    "gamma < 0",
    "--gamma: expected a number >= 0",
    "datapoint",
    "--data",
    "digits",
    "--forget",
    "class:3:0.5",
    "--gamma",
    "-1",
)
_cli_case(
    "gamma not a number",
    "--gamma: expected a number or 'auto'",
    "datapoint",
    "--data",
    "digits",
    "--forget",
    "class:3:0.5",
    "--gamma",
    "fast",
)
_cli_case(
    "hidden width 0",
    "--hidden: expected positive integers",
    "datapoint",
    "--data",
    "digits",
    "--forget",
    "class:3:0.5",
    "--hidden",
    "0,5",
)
_cli_case(
    "--seeds 0",
    "--seeds: expected >= 1",
    "datapoint",
    "--data",
    "digits",
    "--forget",
    "class:3:0.5",
    "--seeds",
    "0",
)
_cli_case("unknown experiment", "invalid choice: 'cifar'", "reproduce", "cifar")
_cli_case(
    "--resume from a tampered checkpoint",
    "fails its checksum",
    "feature",
    "--data",
    "csv:{tmp}/d.csv",
    "--attribute",
    "sex",
    "--resume",
    setup=lambda p: (_csv(p), _tampered_cli_ckpt(p)),
)
_cli_case(
    "--resume from a checkpoint of other settings",
    "was written with other settings",
    "feature",
    "--data",
    "csv:{tmp}/d.csv",
    "--attribute",
    "sex",
    "--resume",
    setup=lambda p: (_csv(p), _other_cli_ckpt(p)),
)


def _other_cli_ckpt(p):
    os.makedirs(os.path.join(p, "out"), exist_ok=True)
    path = os.path.join(p, "out", "checkpoint.json")
    experiments.Checkpoint(path, {"command": "other"}).put("u", 1)
    return path


def _tampered_cli_ckpt(p):
    path = _other_cli_ckpt(p)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return _write(path, text.replace('"u": 1', '"u": 2').encode())


def _raises(c: Case) -> str:
    if c.exc is CliExit:
        return "exit 2, one line"
    return f"`{c.exc.__name__}`"


def markdown() -> str:
    """docs/errors.md, generated from :data:`CASES`."""
    lines = [
        "# Errors: what bad input raises",
        "",
        "<!-- generated by `python -m tests.error_cases`; do not edit by"
        " hand. -->",
        "",
        "Every public function validates its arguments eagerly and raises a"
        " `ValueError` or `TypeError` that names the argument, says what was"
        " expected and what came. The table lists the bad inputs that the"
        " test suite (`tests/test_errors.py`) feeds to the library; the"
        " last column is a fragment of the message. The `jaxunlearn`"
        " command reports the same errors as exit status 2 and a single"
        " stderr line `jaxunlearn: error: ...` (no traceback; set"
        " `JAXUNLEARN_DEBUG=1` for one). See the end of the page for what"
        " happens under `jax.jit`.",
        "",
        f"{len(CASES)} cases.",
        "",
        "| # | area | call | bad input | raises | message contains |",
        "|---|---|---|---|---|---|",
    ]
    for i, c in enumerate(CASES, 1):
        frag = c.match.replace("|", "\\|")
        lines.append(
            f"| {i} | {c.area} | `{c.call}` | {c.bad} |"
            f" {_raises(c)} | `{frag}` |"
        )
    lines += ["", _JIT_NOTES.strip(), ""]
    return "\n".join(lines)


_JIT_NOTES = """
## Under `jax.jit`

Shape, rank and dtype checks are static: they run while tracing and raise
the same errors under `jit`, `vmap` and `grad`. Value checks (NaN/Inf,
ranges such as `t` in [0, 1] or non-negative weights, simplex sums,
symmetry, unseen group codes) need concrete values and are skipped on
tracers; a traced call with bad values returns NaN or a meaningless result
instead of raising. Validate eagerly once outside the jitted function, or
wrap the jitted function with `jaxunlearn.checked`, which runs it under
`jax.experimental.checkify` with NaN and out-of-bounds checks and raises a
`ValueError` naming the first failure:

```python
import jax, jax.numpy as jnp
import jaxunlearn as ju
from jaxunlearn import transport

f = ju.checked(jax.jit(lambda s: transport.gaussian_transport_matrix(s, s)))
f(jnp.eye(2))            # fine
f(jnp.eye(2) * jnp.nan)  # ValueError: checked: nan generated by primitive ...
```

`feature.fit` needs concrete group codes and raises under `jit`.
"""


if __name__ == "__main__":
    out = os.path.join(os.path.dirname(__file__), "..", "docs", "errors.md")
    with open(out, "w", encoding="utf-8") as f:
        f.write(markdown())
    print(f"wrote {len(CASES)} cases to {os.path.normpath(out)}")
