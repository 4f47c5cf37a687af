"""The semi-discrete repair out of core: chunks, memmaps, mixed columns."""

import numpy as np
import pytest

import jax
import jax.numpy as jnp

from jaxunlearn import feature, transport

SMALL = {
    "num_atoms": 4,
    "fixed_point_steps": 1,
    "refine_steps": 20,
}


def draw(rng, n, k=2):
    z = rng.integers(0, k, n).astype(np.int32)
    x = rng.normal(size=(n, 2)) + 2.0 * z[:, None]
    return x.astype(np.float32), z


@pytest.fixture(scope="module")
def data():
    return draw(np.random.default_rng(0), 3000)


@pytest.fixture(scope="module")
def streamed(data):
    x, z = data
    return feature.fit_semidiscrete(
        x, z, max_fit_rows=300, chunk_rows=1000, **SMALL
    )


def test_memmap_list_and_callable_sources_agree(data, streamed, tmp_path):
    x, z = data
    path = tmp_path / "x.npy"
    np.save(path, x)
    xm = np.load(path, mmap_mode="r")
    chunks = [(x[s : s + 700], z[s : s + 700]) for s in range(0, 3000, 700)]
    from_list = feature.fit_semidiscrete(chunks, max_fit_rows=300, **SMALL)
    from_call = feature.fit_semidiscrete(
        lambda: iter(chunks), max_fit_rows=300, **SMALL
    )
    from_map = feature.fit_semidiscrete(
        xm, z, max_fit_rows=300, chunk_rows=1000, **SMALL
    )
    # Same reservoir whatever the chunking (priorities are drawn row by
    # row), so the same atoms; the streamed masses are summed in another
    # order, so the potentials agree to rounding.
    for other in (from_list, from_call, from_map):
        for name in ("atoms", "mean", "std"):
            np.testing.assert_array_equal(
                np.asarray(other.stats[name]),
                np.asarray(streamed.stats[name]),
            )
        np.testing.assert_allclose(
            np.asarray(other.stats["potentials"]),
            np.asarray(streamed.stats["potentials"]),
            atol=1e-6,
        )
    assert streamed.method == "semidiscrete"
    np.testing.assert_array_equal(np.asarray(streamed.counts), np.bincount(z))


def test_streamed_transform_equals_in_memory_whatever_the_chunks(
    data, streamed, tmp_path
):
    x, z = data
    key = jax.random.key(4)
    ref = np.asarray(feature.transform(streamed, x, z, key=key, t=0.7))
    out = np.lib.format.open_memmap(
        tmp_path / "o.npy", "w+", np.float32, x.shape
    )
    got = feature.transform_semidiscrete(
        streamed, x, z, key=key, t=0.7, chunk_rows=512, out=out
    )
    assert got is out
    np.testing.assert_array_equal(np.asarray(out), ref)
    chunks = [(x[s : s + 999], z[s : s + 999]) for s in range(0, 3000, 999)]
    gen = feature.transform_semidiscrete(streamed, chunks, key=key, t=0.7)
    np.testing.assert_array_equal(np.concatenate(list(gen)), ref)


def _mass_error(rep, x, z):
    st = rep.stats
    s = (x - np.asarray(st["mean"])) / np.asarray(st["std"])
    worst = 0.0
    for g in range(2):
        logits = transport.laguerre_logits(
            jnp.asarray(s[z == g]),
            st["atoms"],
            st["potentials"][g],
            st["atom_weights"],
            st["epsilon"],
        )
        p = np.asarray(jax.nn.softmax(logits, axis=1).mean(0))
        worst = max(worst, float(np.abs(p * 4 - 1).max()))
    return worst


def test_stream_steps_balance_the_cells_on_every_row(data, streamed):
    """The reservoir fit leaves the cell masses of all rows off by the
    reservoir's sampling error; three streamed Newton steps remove it."""
    x, z = data
    no_stream = feature.fit_semidiscrete(
        x, z, max_fit_rows=300, stream_steps=0, **SMALL
    )
    before, after = _mass_error(no_stream, x, z), _mass_error(streamed, x, z)
    assert before > 0.1, before
    assert after < 1e-3, after


def test_bad_chunks_and_bad_values(data, streamed):
    x, z = data
    chunks = [(x[:100], z[:100]), (x[100:200, :1], z[100:200])]
    with pytest.raises(ValueError, match=r"data: chunk 1.*2 columns"):
        feature.fit_semidiscrete(chunks, stream_steps=0, **SMALL)
    bad = x[:200].copy()
    bad[7, 1] = np.inf
    with pytest.raises(ValueError, match="data: chunk 0.*finite"):
        feature.fit_semidiscrete(bad, z[:200], stream_steps=0, **SMALL)
    one_shot = iter([(x[:200], z[:200])])
    with pytest.raises(ValueError, match="data: a one-shot iterator"):
        feature.fit_semidiscrete(one_shot, stream_steps=2, **SMALL)
    gen = feature.transform_semidiscrete(streamed, [(x[:5, :1], z[:5])])
    with pytest.raises(ValueError, match=r"x: chunk 0.*2 columns"):
        next(gen)
    nan = x[:5].copy()
    nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="x: chunk 0.*finite"):
        feature.transform_semidiscrete(streamed, nan, z[:5])
    with pytest.raises(ValueError, match="z"):
        feature.transform_semidiscrete(streamed, x[:3], np.array([0, 1, 9]))
    with pytest.raises(ValueError, match="num_atoms"):
        feature.fit_semidiscrete(x[:50], z[:50], num_atoms=40)
    with pytest.raises(TypeError, match="repair"):
        feature.transform_semidiscrete(object(), x, z)


def mixed(rng, n):
    """A numeric column shifted by z and a 3-category column tied to z."""
    z = rng.integers(0, 3, n).astype(np.int32)
    num = rng.normal(size=n) + z
    p = np.array([[0.7, 0.2, 0.1], [0.2, 0.6, 0.2], [0.1, 0.2, 0.7]])
    cat = np.array([rng.choice(3, p=p[g]) for g in z])
    return np.stack([num, cat], 1).astype(np.float32), z


def test_mixed_columns_three_groups_decode_to_codes_and_save_load(tmp_path):
    x, z = mixed(np.random.default_rng(0), 3000)
    opts = {
        "kinds": ["continuous", "categorical"],
        "num_categories": [0, 3],
        **SMALL,
        "num_atoms": 6,
    }
    # In memory, 20 full-batch Sinkhorn steps leave the cells unbalanced
    # (group means of the repaired numeric column 0.69 / 0.79 / 0.95 on the
    # fitted rows): the default 100 are needed. Streamed, 20 steps on the
    # reservoir then 3 Newton steps on every row suffice.
    rep = feature.fit(
        x, z, method="semidiscrete", options={**opts, "refine_steps": 100}
    )
    streamed = feature.fit_semidiscrete(x, z, max_fit_rows=500, **opts)
    xn, zn = mixed(np.random.default_rng(1), 3000)
    key = jax.random.key(0)
    for fitted in (streamed, rep):
        out = np.asarray(feature.transform(fitted, xn, zn, key=key))
        cat = out[:, 1]
        assert set(np.unique(cat)) <= {0.0, 1.0, 2.0}
        # The categories' frequencies no longer depend on the group.
        freq = np.stack(
            [
                np.bincount(cat[zn == g].astype(int), minlength=3)
                for g in range(3)
            ]
        )
        freq = freq / freq.sum(1, keepdims=True)
        assert np.ptp(freq, axis=0).max() < 0.08, freq
        # Raw group means differ by 2; repaired ones by the sampling error
        # of 1,000 rows a group and of 6 cells' masses (about 0.05 each).
        means = [out[zn == g, 0].mean() for g in range(3)]
        assert np.ptp(means) < 0.2, means
    raw = np.stack(
        [np.bincount(xn[zn == g, 1].astype(int), minlength=3) for g in range(3)]
    )
    raw = raw / raw.sum(1, keepdims=True)
    assert np.ptp(raw, axis=0).max() > 0.5
    # t = 0 gives the rows back (codes exactly), t in between mixes.
    same = feature.transform_semidiscrete(rep, xn, zn, t=0.0, key=key)
    np.testing.assert_array_equal(same[:, 1], xn[:, 1])
    np.testing.assert_allclose(same[:, 0], xn[:, 0], atol=1e-5)
    half = feature.transform_semidiscrete(rep, xn, zn, t=0.5, key=key)
    kept = np.mean(half[:, 1] == xn[:, 1])
    moved = np.mean(out[:, 1] == xn[:, 1])
    assert moved < kept < 1.0
    feature.save(rep, tmp_path / "m.npz")
    back = feature.load(tmp_path / "m.npz")
    again = np.asarray(feature.transform(back, xn, zn, key=key))
    np.testing.assert_array_equal(out, again)
    other = np.asarray(feature.transform(rep, xn, zn, key=jax.random.key(1)))
    assert not np.array_equal(out, other)
    with pytest.raises(ValueError, match="num_categories"):
        feature.fit(
            x,
            z,
            method="semidiscrete",
            options={"kinds": ["continuous", "categorical"]},
        )
