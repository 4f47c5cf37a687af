"""Walks the bad-input table of tests/error_cases.py (docs/errors.md)."""

import pathlib

import jax
import jax.numpy as jnp
import pytest

import jaxunlearn as ju
from jaxunlearn import feature, transport
from tests import error_cases
from tests.error_cases import CASES

DOC = pathlib.Path(__file__).parents[1] / "docs" / "errors.md"


def test_table_is_large_enough():
    assert len(CASES) >= 60
    assert len({(c.call, c.bad) for c in CASES}) == len(CASES)


@pytest.mark.parametrize(
    "case",
    CASES,
    ids=[f"{i}-{c.call.split('(')[0]}" for i, c in enumerate(CASES)],
)
def test_bad_input_raises_documented_error(case, tmp_path):
    with pytest.raises(case.exc) as info:
        case.run(str(tmp_path))
    assert case.match in str(info.value), str(info.value)


def test_docs_in_sync():
    assert DOC.read_text(encoding="utf-8") == error_cases.markdown(), (
        "docs/errors.md is stale: run `python -m tests.error_cases`"
    )


# --------------------------------------------------------------- under jit
def test_jit_skips_value_checks_but_keeps_static_ones():
    f = jax.jit(transport.mccann_interpolation)
    x = jnp.zeros(2)
    # Static check (shape) still raises while tracing.
    with pytest.raises(ValueError, match="y"):
        f(x, jnp.ones(3), 0.5)
    # Value check (t in [0, 1]) cannot run on a tracer: no error.
    out = f(x, jnp.ones(2), 1.5)
    assert out.shape == (2,)


def test_checked_surfaces_value_errors_under_jit():
    f = ju.checked(transport.mccann_interpolation)
    x, y = jnp.zeros(2), jnp.ones(2)
    assert f(x, y, 0.5).tolist() == [0.5, 0.5]
    with pytest.raises(ValueError, match=r"t: expected values in \[0, 1\]"):
        f(x, y, 1.5)
    with pytest.raises(ValueError, match="t: expected values"):
        f(x, y, jnp.nan)


def test_checked_finite_and_weights():
    g = ju.checked(lambda s: transport.gaussian_transport_matrix(s, s))
    assert g(jnp.eye(2)).shape == (2, 2)
    with pytest.raises(ValueError, match="cov_source: expected finite"):
        g(jnp.eye(2) * jnp.nan)
    covs = jnp.stack([jnp.eye(2)] * 2)
    bary = ju.checked(
        lambda w: transport.gaussian_barycenter(jnp.zeros((2, 2)), covs, w).cov
    )
    assert jnp.allclose(bary(jnp.array([0.5, 0.5])), jnp.eye(2), atol=1e-5)
    with pytest.raises(ValueError, match="weights: expected finite non-neg"):
        bary(jnp.array([1.5, -0.5]))


def test_checked_leaves_unchecked_calls_working():
    # jit caches traces by shapes: a check traced under `checked` into a
    # library function's inner jit must not leak into later plain calls.
    g = ju.checked(lambda s: transport.gaussian_transport_matrix(s, s))
    assert g(jnp.eye(2)).shape == (2, 2)
    a = transport.gaussian_transport_matrix(jnp.eye(2), 4.0 * jnp.eye(2))
    assert jnp.allclose(a, 2.0 * jnp.eye(2))
    x = jax.random.normal(jax.random.key(0), (8, 2))
    z = jnp.arange(8) % 2
    rep = feature.fit(x, z)
    f = ju.checked(lambda t: feature.transform(rep, x, z, t=t))
    assert f(0.5).shape == (8, 2)
    assert feature.transform(rep, x, z, t=0.5).shape == (8, 2)
    assert feature.fit(x, z) is not None
    with pytest.raises(ValueError, match="cov_source: expected finite"):
        g(jnp.eye(2) * jnp.nan)


def test_checked_transform_under_jit():
    x = jax.random.normal(jax.random.key(0), (8, 2))
    z = jnp.arange(8) % 2
    rep = feature.fit(x, z)
    f = ju.checked(lambda t: feature.transform(rep, x, z, t=t))
    assert f(1.0).shape == (8, 2)
    with pytest.raises(ValueError, match="t: expected values"):
        f(2.0)


def test_checked_nan_checks_flag():
    f = ju.checked(lambda a: jnp.log(a), nan_checks=True)
    with pytest.raises(ValueError, match="nan"):
        f(jnp.array(-1.0))
    g = ju.checked(lambda a: jnp.log(a), nan_checks=False)
    assert jnp.isnan(g(jnp.array(-1.0)))
