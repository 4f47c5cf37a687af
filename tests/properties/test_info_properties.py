"""Property-based tests of the information quantities (hypothesis).

Mutual information is non-negative and bounded by both marginal entropies;
the plug-in ``I(Y_hat; Z)`` by ``H(Z)`` and by the entropy of the mean
prediction; all finite in float32 and float64, including tables with zero
cells and nearly deterministic predictions. Table shapes are fixed so each
example reuses one compilation.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxunlearn import info

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True)
DTYPES = ["float32", "float64"]
SLACK = {"float32": 1e-5, "float64": 1e-12}


def _table(seed, shape, sparsity, log_spread):
    rng = np.random.default_rng(seed)
    t = rng.uniform(size=shape) ** (10.0**log_spread)
    t[rng.uniform(size=shape) < sparsity] = 0.0
    t.flat[rng.integers(t.size)] += 1.0  # never all zero
    return t / t.sum()


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(
    st.integers(0, 2**31 - 1),
    st.sampled_from([(1, 4), (4, 6)]),
    st.floats(0.0, 0.9),
    st.floats(-1.0, 2.0),
)
def test_table_mi_nonnegative_and_bounded(dtype, seed, shape, sparsity, spread):
    joint64 = _table(seed, shape, sparsity, spread)
    with jax.enable_x64(dtype == "float64"):
        joint = jnp.asarray(joint64, dtype)
        mi = float(info.mutual_information(joint))
        ha = float(info.entropy(joint.sum(1)))
        hb = float(info.entropy(joint.sum(0)))
        h_ab = float(info.conditional_entropy(joint))
    slack = SLACK[dtype] * max(1.0, np.log(joint64.size))
    assert np.isfinite([mi, ha, hb, h_ab]).all()
    assert mi >= -slack
    assert mi <= min(ha, hb) + slack
    # Against a float64 numpy plug-in.
    pa, pb = joint64.sum(1), joint64.sum(0)
    nz = joint64 > 0
    ref = np.sum(joint64[nz] * np.log(joint64[nz] / np.outer(pa, pb)[nz]))
    assert abs(mi - ref) <= 10 * slack + 1e-6 * (dtype == "float32")


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(
    st.integers(0, 2**31 - 1),
    st.floats(-3.0, 3.0),  # log10 logit scale: near-uniform to one-hot
    st.floats(0.02, 0.98),
)
def test_prediction_mi_bounds(dtype, seed, log_scale, p_one):
    n, c = 64, 5
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, c)) * 10.0**log_scale
    z = (rng.uniform(size=n) < p_one).astype(np.int32)
    z[:2] = [0, 1]  # both groups present
    with jax.enable_x64(dtype == "float64"):
        probs = jax.nn.softmax(jnp.asarray(logits, dtype), axis=-1)
        mi = float(info.prediction_mi(probs, jnp.asarray(z), num_groups=2))
        pi = np.bincount(z, minlength=2) / n
        h_z = float(info.entropy(jnp.asarray(pi, dtype)))
        h_mean = float(info.entropy(probs.mean(0)))
    slack = SLACK[dtype] * 10
    assert np.isfinite(mi)
    assert -slack <= mi <= min(h_z, h_mean) + slack


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(st.integers(0, 2**31 - 1), st.floats(0.0, 8.0))
def test_gaussian_mi_nonnegative(dtype, seed, log_cond):
    d = 4
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    cov = (q * np.logspace(0, log_cond, d)[None, :]) @ q.T
    cov = 0.5 * (cov + cov.T)
    error = None
    with jax.enable_x64(dtype == "float64"):
        try:
            mi = float(
                info.gaussian_mutual_information(jnp.asarray(cov, dtype), 2)
            )
        except ValueError as err:
            error = str(err)
    if error is not None:
        # float32 Cholesky may fail beyond cond ~ 1e6: a clear error.
        assert dtype == "float32" and log_cond > 5, error
        assert "positive definite" in error
        return
    assert np.isfinite(mi)
    assert mi >= -1e-3 if dtype == "float32" else mi >= -1e-9
