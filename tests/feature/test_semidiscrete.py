"""The semi-discrete repair: the law of fresh rows, keys, order, save/load."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from scipy import stats as sps

import jax
import jax.numpy as jnp

from jaxunlearn import feature, transport

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def draw(rng, n):
    """Two groups: N(0, I) and N(2, diag(4, 1)) in two dimensions."""
    z = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 2))
    x[z == 1, 0] *= 2.0
    x = x + 2.0 * z[:, None]
    return x.astype(np.float32), z


@pytest.fixture(scope="module")
def fitted():
    # The cells' masses are estimated from the fitted rows: with m atoms
    # and n rows per group their error is about sqrt(m / n) relative, so
    # fresh rows match the barycenter law up to that (here about 3%).
    x, z = draw(np.random.default_rng(0), 20000)
    opts = {"num_atoms": 8, "fixed_point_steps": 3}
    return feature.fit(x, z, method="semidiscrete", options=opts), x, z


def test_fresh_rows_have_the_barycenter_law(fitted):
    rep, _, _ = fitted
    xn, zn = draw(np.random.default_rng(1), 4000)
    out = np.asarray(feature.transform(rep, xn, zn, key=jax.random.key(3)))
    # Both groups land on the same atoms with the same frequencies.
    atoms = np.asarray(rep.stats["atoms"]) * np.asarray(
        rep.stats["std"]
    ) + np.asarray(rep.stats["mean"])
    which = np.argmin(((out[:, None, :] - atoms[None]) ** 2).sum(-1), axis=1)
    assert np.allclose(out, atoms[which], atol=1e-4)
    table = np.stack(
        [np.bincount(which[zn == g], minlength=atoms.shape[0]) for g in (0, 1)]
    )
    keep = table.sum(0) > 0
    p = sps.chi2_contingency(table[:, keep]).pvalue
    assert p > 1e-3, (p, table)
    # A classifier trained on repaired rows reads Z at chance (K-fold).
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    prob = cross_val_predict(
        HistGradientBoostingClassifier(max_iter=50),
        out,
        zn,
        cv=StratifiedKFold(5, shuffle=True, random_state=0),
        method="predict_proba",
    )[:, 1]
    assert abs(roc_auc_score(zn, prob) - 0.5) < 0.04
    # Without the repair the same auditor reads Z almost perfectly.
    raw = cross_val_predict(
        HistGradientBoostingClassifier(max_iter=50),
        xn,
        zn,
        cv=StratifiedKFold(5, shuffle=True, random_state=0),
        method="predict_proba",
    )[:, 1]
    assert roc_auc_score(zn, raw) > 0.9


def test_known_barycenter_mean(fitted):
    """The barycenter of the two groups has mean w0 * 0 + w1 * 2."""
    rep, _, z = fitted
    w1 = float(np.mean(z == 1))
    atoms = np.asarray(rep.stats["atoms"]) * np.asarray(
        rep.stats["std"]
    ) + np.asarray(rep.stats["mean"])
    np.testing.assert_allclose(atoms.mean(0), [2 * w1, 2 * w1], atol=0.08)


def test_deterministic_per_key_and_row_order_invariant(fitted):
    rep, x, z = fitted
    key = jax.random.key(5)
    a = np.asarray(feature.transform(rep, x[:500], z[:500], key=key))
    b = np.asarray(feature.transform(rep, x[:500], z[:500], key=key))
    np.testing.assert_array_equal(a, b)
    hard = feature.fit(
        x,
        z,
        method="semidiscrete",
        options={
            "num_atoms": 16,
            "fixed_point_steps": 3,
            "sample": False,
        },
    )
    perm = np.random.default_rng(0).permutation(500)
    h = np.asarray(feature.transform(hard, x[:500], z[:500]))
    hp = np.asarray(feature.transform(hard, x[:500][perm], z[:500][perm]))
    np.testing.assert_array_equal(h[perm], hp)
    # The fit does not depend on the order of its rows beyond the keyed
    # atom initialization: the same seed on permuted rows gives cells of
    # the same masses.
    perm_all = np.random.default_rng(1).permutation(x.shape[0])
    rep_p = feature.fit(
        x[perm_all],
        z[perm_all],
        method="semidiscrete",
        options={
            "num_atoms": 16,
            "fixed_point_steps": 3,
        },
    )
    np.testing.assert_allclose(
        np.sort(np.asarray(rep_p.stats["atoms"]).mean(0)),
        np.sort(np.asarray(rep.stats["atoms"]).mean(0)),
        atol=0.05,
    )


def test_partial_repair_and_save_load(fitted, tmp_path):
    rep, x, z = fitted
    key = jax.random.key(2)
    full = np.asarray(feature.transform(rep, x[:200], z[:200], key=key))
    half = np.asarray(feature.transform(rep, x[:200], z[:200], t=0.5, key=key))
    np.testing.assert_allclose(half, 0.5 * x[:200] + 0.5 * full, atol=1e-5)
    path = tmp_path / "sd.npz"
    feature.save(rep, path)
    back = feature.load(path)
    again = np.asarray(feature.transform(back, x[:200], z[:200], key=key))
    np.testing.assert_array_equal(full, again)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_refine_potential_balances_cells(dtype):
    with jax.enable_x64(dtype == "float64"):
        rng = np.random.default_rng(0)
        x = jnp.asarray(rng.normal(size=(2000, 3)), dtype)
        atoms = x[:8]
        b = jnp.full(8, 1 / 8, dtype)
        eps = jnp.asarray(0.1, dtype)
        g0 = jnp.zeros(8, dtype)
        g = transport.refine_potential(x, atoms, g0, b, eps, steps=3000)
        logits = transport.laguerre_logits(x, atoms, g, b, eps)
        p = np.asarray(jax.nn.softmax(logits, axis=1).mean(0))
        assert g.dtype == jnp.dtype(dtype)
        rtol = 1e-4 if dtype == "float32" else 1e-9
        np.testing.assert_allclose(p, 1 / 8, rtol=rtol)
        # Hard cells (epsilon = 0) are the argmin of cost - g.
        hard = transport.laguerre_assign(
            jax.random.key(0), x, atoms, g, b, jnp.asarray(0.0, dtype)
        )
        cost = ((x[:, None, :] - atoms[None]) ** 2).sum(-1)
        np.testing.assert_array_equal(
            np.asarray(hard), np.argmin(np.asarray(cost - g[None]), 1)
        )


def test_refine_on_cached_costs_equals_the_streamed_steps(monkeypatch):
    """The compiled scaling-domain loop (costs formed once) and the
    chunked log-domain steps are the same iteration."""
    from jaxunlearn.transport import _semidiscrete

    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.normal(size=(3000, 3)), jnp.float32)
    atoms = x[:16] * 1.5
    b = jnp.full(16, 1 / 16, jnp.float32)
    eps = jnp.asarray(0.05, jnp.float32)
    g0 = jnp.zeros(16, jnp.float32)
    cached = transport.refine_potential(x, atoms, g0, b, eps, steps=40)
    monkeypatch.setattr(_semidiscrete, "_COST_CAP", 0)
    streamed = transport.refine_potential(x, atoms, g0, b, eps, steps=40)
    np.testing.assert_allclose(cached, streamed, atol=2e-4 * float(eps))
    assert float(jnp.max(jnp.abs(cached))) > 10 * float(eps)


def test_sampled_atoms_follow_the_cell_law():
    """Drawn atoms have the entropic cell law of the row."""
    rng = np.random.default_rng(2)
    atoms = jnp.asarray(rng.normal(size=(6, 2)), jnp.float32)
    g = jnp.asarray(rng.normal(size=6) * 0.3, jnp.float32)
    b = jnp.full(6, 1 / 6, jnp.float32)
    eps = jnp.asarray(4.0, jnp.float32)
    x = jnp.zeros((40000, 2), jnp.float32)
    j = transport.laguerre_assign(jax.random.key(0), x, atoms, g, b, eps)
    p = np.asarray(
        jax.nn.softmax(transport.laguerre_logits(x[:1], atoms, g, b, eps))[0]
    )
    freq = np.bincount(np.asarray(j), minlength=6) / x.shape[0]
    assert p.min() > 0.01
    np.testing.assert_allclose(freq, p, atol=4 * np.sqrt(0.25 / 40000))


def test_bad_inputs(fitted):
    rep, x, z = fitted
    with pytest.raises(ValueError, match="num_atoms"):
        feature.fit(
            x[:50], z[:50], method="semidiscrete", options={"num_atoms": 40}
        )
    with pytest.raises(ValueError, match="relative_epsilon"):
        feature.fit(
            x, z, method="semidiscrete", options={"relative_epsilon": 0.0}
        )
    with pytest.raises(ValueError, match="z"):
        feature.transform(rep, x[:3], np.array([0, 1, 7]))
    bad = x[:3].copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="x"):
        feature.fit(bad, z[:3], method="semidiscrete")
    with pytest.raises(ValueError, match="x"):
        feature.transform(rep, x[:3, :1], z[:3])
    inf = x[:3].copy()
    inf[1, 1] = np.inf
    with pytest.raises(ValueError, match="x: expected finite"):
        feature.transform(rep, inf, z[:3])


SHARDED = textwrap.dedent(
    """
    import os
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
    os.environ["JAX_PLATFORMS"] = "cpu"
    import jax, numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    assert jax.device_count() == 4
    from jaxunlearn import feature
    from tests.feature.test_semidiscrete import draw
    x, z = draw(np.random.default_rng(0), 800)
    rep = feature.fit(x, z, method="semidiscrete",
                      options={"num_atoms": 8,
                               "fixed_point_steps": 1})
    mesh = Mesh(np.array(jax.devices()), ("rows",))
    xs = jax.device_put(x, NamedSharding(mesh, P("rows", None)))
    zs = jax.device_put(z.astype(np.int32), NamedSharding(mesh, P("rows")))
    key = jax.random.key(1)
    a = feature.transform(rep, xs, zs, key=key)
    b = feature.transform(rep, x, z, key=key)
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5)
    # The streamed transform shards each chunk's rows over the 4 devices
    # itself; mixed columns decoded back; any chunking.
    xm = np.concatenate([x, (z[:, None] + (x[:, :1] > 2)) % 3], 1)
    xm = xm.astype(np.float32)
    rep = feature.fit(xm, z, method="semidiscrete",
                      options={"num_atoms": 8, "fixed_point_steps": 1,
                               "kinds": ["continuous"] * 2 + ["categorical"],
                               "num_categories": [0, 0, 3]})
    s = feature.transform_semidiscrete(rep, xm, z, key=key, t=0.6,
                                       chunk_rows=300, shard=True)
    u = feature.transform_semidiscrete(rep, xm, z, key=key, t=0.6,
                                       shard=False)
    np.testing.assert_allclose(s, u, atol=1e-5)
    np.testing.assert_array_equal(s[:, 2], u[:, 2])
    print("SHARDED-OK")
    """
)


@pytest.mark.slow
def test_sharded_equals_unsharded_on_4_cpu_devices():
    env = {**os.environ, "PYTHONPATH": ROOT}
    env.pop("XLA_FLAGS", None)
    res = subprocess.run(
        [sys.executable, "-c", SHARDED],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert "SHARDED-OK" in res.stdout, res.stderr[-3000:]
