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

from jaxunlearn import datasets, feature, info, numerics, transport


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
)(lambda p: feature.fit(_X, _Z.at[0].set(7)))
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
    A, "feature.fit(x, z, options=...)", "unknown option", TypeError, "options"
)(lambda p: feature.fit(_X, _Z, options={"bogus": 1}))
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
        " last column is a fragment of the message. See the end of the"
        " page for what happens under `jax.jit`.",
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
            f" `{c.exc.__name__}` | `{frag}` |"
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
