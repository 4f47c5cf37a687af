"""Tests for the saddle-point neural OT and the two-group neural barycenter."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from flax import nnx

from jaxunlearn.transport import _neural, _neural_fit, _neural_prior

from jaxunlearn.transport import (
    NeuralOTConfig,
    apply_neural_ot,
    fit_neural_barycenter,
    fit_neural_ot,
    fit_pca_gaussian_barycenter,
    init_neural_ot,
    load_neural_ot_state,
    neural_barycenter_transform,
    neural_ot_iteration,
    pca_gaussian_transform,
    save_neural_ot_state,
)

TINY_VEC = NeuralOTConfig(num_iterations=6, k_t=2, batch_size=8, hidden=8)
TINY_IMG = NeuralOTConfig(num_iterations=4, k_t=2, batch_size=4, width=2)


def _gaussians(key, n=2000):
    k1, k2 = jax.random.split(key)
    a = jnp.array([[2.0, 0.5], [0.5, 1.0]])
    b = jnp.array([1.0, -1.0])
    src = jax.random.normal(k1, (n, 2))
    tgt = jax.random.normal(k2, (n, 2)) @ a + b[None, :]
    return src, tgt, a, b


def test_not_recovers_gaussian_monge_map(rng):
    src, tgt, a, b = _gaussians(rng)
    cfg = NeuralOTConfig(
        num_iterations=150,
        k_t=5,
        batch_size=256,
        hidden=32,
        learning_rate_t=3e-3,
        learning_rate_f=3e-3,
    )
    out = fit_neural_ot(src, tgt, key=jax.random.key(2), config=cfg)
    xs = np.asarray(src[:500], dtype=np.float64)
    # Closed form N(0, I) -> N(b, A^T A): T(x) = b + (A^T A)^{1/2} x (scipy).
    root = scipy.linalg.sqrtm(np.asarray(a.T @ a, dtype=np.float64)).real
    true = xs @ root + np.asarray(b)[None, :]
    pred = np.asarray(apply_neural_ot(out.ot_map, src[:500]))
    spread = np.mean(np.sum((true - np.asarray(b)[None, :]) ** 2, axis=1))
    rel = np.mean(np.sum((pred - true) ** 2, axis=1)) / spread
    rel_identity = np.mean(np.sum((xs - true) ** 2, axis=1)) / spread
    assert rel_identity > 0.5  # the start (T = identity) is far off
    assert rel < 0.05
    assert np.all(np.isfinite(np.asarray(out.t_losses)))


def _equal_trees(a, b):
    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    assert len(la) == len(lb)
    for u, v in zip(la, lb, strict=True):
        if jnp.issubdtype(u.dtype, jax.dtypes.prng_key):
            u, v = jax.random.key_data(u), jax.random.key_data(v)
        np.testing.assert_array_equal(np.asarray(u), np.asarray(v))


@pytest.mark.parametrize(
    ("shape", "cfg"),
    [
        ((3,), TINY_VEC),
        pytest.param((6, 5), TINY_IMG, marks=pytest.mark.slow),
    ],
)
def test_checkpoint_resume_equals_uninterrupted(rng, tmp_path, shape, cfg):
    k1, k2, k3 = jax.random.split(rng, 3)
    src = jax.random.normal(k1, (10, *shape))
    tgt = jax.random.normal(k2, (8, *shape)) + 1.0
    full = fit_neural_ot(src, tgt, key=k3, config=cfg)
    path = tmp_path / "ckpt.npz"
    part = fit_neural_ot(
        src, tgt, key=k3, config=cfg, checkpoint_path=path,
        checkpoint_every=1, stop_after=3,
    )  # fmt: skip
    assert int(part.state.step) == 3
    resumed = fit_neural_ot(src, tgt, key=k3, config=cfg, checkpoint_path=path)
    assert int(resumed.state.step) == cfg.num_iterations
    assert resumed.t_losses.shape == (cfg.num_iterations - 3,)
    _equal_trees(full.state, resumed.state)
    np.testing.assert_array_equal(
        np.asarray(full.t_losses[3:]), np.asarray(resumed.t_losses)
    )


def test_save_load_roundtrip_and_config_check(rng, tmp_path):
    state = init_neural_ot(jnp.zeros((4, 3)), key=rng, config=TINY_VEC)
    path = tmp_path / "s.npz"
    save_neural_ot_state(path, state, config=TINY_VEC)
    back = load_neural_ot_state(path, state, config=TINY_VEC)
    _equal_trees(state, back)
    with pytest.raises(ValueError, match="config"):
        load_neural_ot_state(path, state, config=TINY_VEC._replace(k_t=3))
    longer = TINY_VEC._replace(num_iterations=60)  # a run may be extended
    _equal_trees(state, load_neural_ot_state(path, state, config=longer))
    other = init_neural_ot(jnp.zeros((4, 5)), key=rng, config=TINY_VEC)
    with pytest.raises(ValueError, match="leaf"):
        load_neural_ot_state(path, other, config=TINY_VEC)


def test_iteration_is_compiled_once(rng):
    src = jax.random.normal(rng, (9, 3))
    state = init_neural_ot(src, key=rng, config=TINY_VEC)
    state, _ = neural_ot_iteration(state, src, src, config=TINY_VEC)
    before = _neural._iteration._cache_size()
    for _ in range(3):
        state, m = neural_ot_iteration(state, src, src, config=TINY_VEC)
    assert _neural._iteration._cache_size() == before
    assert int(state.step) == 4
    assert m.t_loss.shape == () and m.f_loss.shape == ()


@pytest.mark.parametrize("shape", [(3,), (6, 5)])
def test_shapes_and_float32(rng, shape):
    x = jax.random.normal(rng, (18, *shape))
    out = fit_neural_ot(x[:10], x[10:] + 1.0, key=rng, config=TINY_IMG)
    y = apply_neural_ot(out.ot_map, x)
    assert y.shape == x.shape and y.dtype == jnp.float32
    assert out.t_losses.shape == (TINY_IMG.num_iterations,)


def test_multichannel_images_forward(rng):
    x = jax.random.normal(rng, (3, 6, 5, 2))
    state = init_neural_ot(x, key=rng, config=TINY_IMG)
    ot_map = _neural.NeuralOTMap(state.t_params, TINY_IMG, (6, 5, 2), "float32")
    y = apply_neural_ot(ot_map, x)
    np.testing.assert_array_equal(y, x)  # T starts at the identity


def test_float64_in_float64_out(rng, x64):
    x = jax.random.normal(rng, (12, 3), dtype=jnp.float64)
    z = jnp.arange(12) % 2
    model = fit_neural_barycenter(x, z, key=rng, config=TINY_IMG)
    leaves = jax.tree.leaves(model.maps[0].t_params)
    assert all(leaf.dtype == jnp.float64 for leaf in leaves)
    y = neural_barycenter_transform(model, x, z, t=0.5)
    assert y.dtype == jnp.float64 and y.shape == x.shape


def test_barycenter_map_formula_and_partial_repair(rng):
    x = jax.random.normal(rng, (18, 3))
    z = jnp.asarray([0] * 6 + [1] * 12)
    model = fit_neural_barycenter(x, z, key=rng, config=TINY_VEC)
    np.testing.assert_allclose(model.weights, [1 / 3, 2 / 3], rtol=1e-6)
    full = neural_barycenter_transform(model, x, z)
    t01 = apply_neural_ot(model.maps[0], x[:6])
    t10 = apply_neural_ot(model.maps[1], x[6:])
    np.testing.assert_allclose(
        full[:6], x[:6] / 3 + 2 * t01 / 3, rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        full[6:], 2 * x[6:] / 3 + t10 / 3, rtol=1e-5, atol=1e-6
    )
    half = neural_barycenter_transform(model, x, z, t=0.5)
    np.testing.assert_allclose(half, (x + full) / 2, rtol=1e-5, atol=1e-6)
    none = neural_barycenter_transform(model, x, z, t=0.0)
    np.testing.assert_array_equal(none, x)
    w = fit_neural_barycenter(
        x, z, key=rng, config=TINY_VEC, weights=jnp.array([1.0, 1.0])
    ).weights
    np.testing.assert_allclose(w, [0.5, 0.5])


def test_bad_input(rng):
    a = jnp.zeros((18, 6, 5))
    with pytest.raises(ValueError, match="same shape"):
        fit_neural_ot(a, jnp.zeros((18, 5, 6)), key=rng, config=TINY_IMG)
    with pytest.raises(TypeError, match="float32 or float64"):
        fit_neural_ot(a, a.astype(jnp.float16), key=rng, config=TINY_IMG)
    bad = a.at[0, 0, 0].set(jnp.nan)
    with pytest.raises(ValueError, match="finite"):
        fit_neural_ot(bad, a, key=rng, config=TINY_IMG)
    with pytest.raises(TypeError, match="float32 or float64"):
        fit_neural_ot(a.astype(jnp.int32), a, key=rng, config=TINY_IMG)
    with pytest.raises(ValueError, match="rank"):
        fit_neural_ot(jnp.zeros((18,)), jnp.zeros((18,)), key=rng)
    with pytest.raises(ValueError, match="single group"):
        fit_neural_barycenter(a, jnp.zeros(18, jnp.int32), key=rng)
    with pytest.raises(ValueError, match="more groups"):
        fit_neural_barycenter(a, jnp.arange(18) % 3, key=rng)
    with pytest.raises(TypeError, match="integer"):
        fit_neural_barycenter(a, jnp.zeros(18), key=rng)
    model = fit_neural_barycenter(
        a + jnp.arange(18.0)[:, None, None], jnp.arange(18) % 2, key=rng,
        config=TINY_IMG,
    )  # fmt: skip
    with pytest.raises(ValueError, match="as fitted"):
        neural_barycenter_transform(model, jnp.zeros((3, 5, 6)), jnp.zeros(3))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        neural_barycenter_transform(model, a, jnp.arange(18) % 2, t=1.5)
    with pytest.raises(ValueError, match="finite"):
        neural_barycenter_transform(model, bad, jnp.arange(18) % 2)


@pytest.mark.parametrize(
    "shape", [(5,), pytest.param((6, 5), marks=pytest.mark.slow)]
)
def test_gaussian_prior_starts_at_pca_gaussian_repair(rng, shape):
    k1, k2 = jax.random.split(rng)
    z = (jnp.arange(40) % 3 == 0).astype(jnp.int32)
    x = jax.random.normal(k1, (40, *shape))
    x = x * (1.0 + z.reshape((-1,) + (1,) * len(shape)).astype(x.dtype))
    frozen = TINY_IMG._replace(
        num_iterations=1, prior_components=3, hidden=4,
        learning_rate_t=0.0, learning_rate_f=0.0,
    )  # fmt: skip
    model = fit_neural_barycenter(x, z, key=k2, config=frozen)
    pca = fit_pca_gaussian_barycenter(x, z, num_components=3)
    for t in (0.5, 1.0):
        np.testing.assert_allclose(
            neural_barycenter_transform(model, x, z, t=t),
            pca_gaussian_transform(pca, x, z, t=t),
            rtol=1e-5,
            atol=1e-5,
        )
    # The prior alone is the Gaussian OT map between the groups' latent
    # codes: it sends group 0's latent mean to group 1's.
    lat = lambda a: (
        (a.reshape(a.shape[0], -1) - pca.mean[None]) @ pca.components
    )
    moved = apply_neural_ot(model.maps[0], x[z == 0])
    np.testing.assert_allclose(
        lat(moved).mean(0), lat(x[z == 1]).mean(0), rtol=1e-4, atol=1e-4
    )


def test_gaussian_prior_resume_and_checks(rng, tmp_path):
    k1, k2 = jax.random.split(rng)
    src = jax.random.normal(k1, (12, 3))
    tgt = jax.random.normal(k2, (10, 3)) * 2.0 + 1.0
    cfg = TINY_VEC._replace(prior_components=2)
    full = fit_neural_ot(src, tgt, key=k2, config=cfg)
    assert full.state.prior is not None and full.ot_map.prior is not None
    path = tmp_path / "ckpt.npz"
    fit_neural_ot(
        src, tgt, key=k2, config=cfg, checkpoint_path=path, stop_after=2
    )
    resumed = fit_neural_ot(src, tgt, key=k2, config=cfg, checkpoint_path=path)
    _equal_trees(full.state, resumed.state)
    with pytest.raises(ValueError, match="config"):
        fit_neural_ot(src, tgt, key=k2, config=TINY_VEC, checkpoint_path=path)
    with pytest.raises(ValueError, match="prior_components"):
        fit_neural_ot(src, tgt, key=k2, config=TINY_VEC._replace(
            prior_components=-1))  # fmt: skip


def test_gaussian_prior_pair_is_stationary(rng):
    # At T = x + m(x) and f = the prior's quadratic (network head zero),
    # grad_y [c(x, y) - f(y)] vanishes: training starts at a saddle of the
    # Gaussian part instead of chasing a random potential.
    k1, k2 = jax.random.split(rng)
    z = (jnp.arange(40) % 3 == 0).astype(jnp.int32)
    x = jax.random.normal(k1, (40, 6, 5))
    x = x * (1.0 + z[:, None, None].astype(x.dtype))
    w = jnp.asarray([26 / 40, 14 / 40], x.dtype)
    p01, p10 = _neural_prior.gaussian_priors(x, np.asarray(z), w, 3)
    cfg = TINY_IMG._replace(prior_components=3)
    state = init_neural_ot(x, key=k2, config=cfg, prior=p01)
    b = _neural._build(cfg, (6, 5), "float32")
    f_net = nnx.merge(b.f_graph, state.f_params)
    np.testing.assert_array_equal(f_net(x[..., None]), jnp.zeros(40))
    for prior, xs in ((p01, x[z == 0]), (p10, x[z == 1])):
        y = xs + _neural_prior.prior_move(prior, xs)

        def objective(y, xs=xs, prior=prior):
            c = _neural._cost(xs, y)
            return jnp.sum(c - _neural_prior.prior_potential(prior, y))

        grad = jax.grad(objective)(y)
        scale = jnp.max(jnp.abs(y - xs)) / y[0].size
        assert float(jnp.max(jnp.abs(grad))) < 1e-3 * float(scale)
        assert float(scale) > 0.0


def _legacy_checkpoint(path, state, config):
    """A checkpoint in the format written before save_pytree was used."""
    from jaxunlearn import _io

    impl = str(jax.random.key_impl(state.key))
    leaves = jax.tree.leaves(state._replace(key=jax.random.key_data(state.key)))
    arrays = {f"leaf_{i:05d}": np.asarray(v) for i, v in enumerate(leaves)}
    meta = {"config": config, "num_leaves": len(leaves), "key_impl": impl}
    _io.save_arrays(path, arrays, kind=_neural_fit._LEGACY_KIND, meta=meta)


def test_legacy_checkpoint_loads(rng, tmp_path):
    state = init_neural_ot(jnp.zeros((4, 3)), key=rng, config=TINY_VEC)
    path = tmp_path / "s.npz"
    _legacy_checkpoint(path, state, dict(TINY_VEC._asdict()))
    _equal_trees(state, load_neural_ot_state(path, state, config=TINY_VEC))
    other = init_neural_ot(jnp.zeros((4, 5)), key=rng, config=TINY_VEC)
    with pytest.raises(ValueError, match="leaf"):
        load_neural_ot_state(path, other, config=TINY_VEC)


def test_checkpoint_without_prior_field_loads(rng, tmp_path):
    state = init_neural_ot(jnp.zeros((4, 3)), key=rng, config=TINY_VEC)
    path = tmp_path / "s.npz"
    old = dict(TINY_VEC._asdict())
    del old["prior_components"]  # a file from before the option
    _legacy_checkpoint(path, state, old)
    _equal_trees(state, load_neural_ot_state(path, state, config=TINY_VEC))
    with pytest.raises(ValueError, match="config"):
        load_neural_ot_state(
            path, state, config=TINY_VEC._replace(prior_components=2)
        )


def test_checkpoint_is_a_pytree_file(rng, tmp_path):
    import jaxunlearn as ju

    state = init_neural_ot(jnp.zeros((4, 3)), key=rng, config=TINY_VEC)
    path = tmp_path / "s.npz"
    save_neural_ot_state(path, state, config=TINY_VEC)
    back, meta = ju.load_pytree(path, state, with_meta=True)
    _equal_trees(state, back)
    assert meta["config"]["k_t"] == TINY_VEC.k_t
    ju.save_pytree(path, state, meta={"kind": "something else"})
    with pytest.raises(ValueError, match="neural OT checkpoint"):
        load_neural_ot_state(path, state, config=TINY_VEC)
