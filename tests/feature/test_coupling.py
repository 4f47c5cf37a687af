"""The coupling repair: exact maps, identical laws, partial repair, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from jaxunlearn import feature


def _atom_law(repair, zi, row_mass):
    """Exact repaired law of group ``zi`` in-sample: {atom: mass}."""
    st = {k: np.asarray(v, np.float64) for k, v in vars(repair.stats).items()}
    support = st["support"][zi][: int(st["support_count"][zi])]
    atoms = st["atoms"]
    law = {}
    for r in range(support.shape[0]):
        prev = 0.0
        for slot in range(int(st["seg_count"][zi, r])):
            cum = st["entry_cum"][zi, r, slot]
            atom = atoms[int(st["entry_atom"][zi, r, slot])]
            key = tuple(np.round(atom, 5))
            law[key] = law.get(key, 0.0) + row_mass[r] * (cum - prev)
            prev = cum
    return law


def test_permutation_case_exact_map():
    x0 = np.array([[0.0], [1.0], [2.0], [3.0]], np.float32)
    x1 = np.array([[13.0], [10.0], [12.0], [11.0]], np.float32)
    x = np.concatenate([x0, x1])
    z = np.array([0] * 4 + [1] * 4)
    repair = feature.fit_coupling(x, z, standardize=False)
    out = np.asarray(feature.transform_coupling(repair, x, z))[:, 0]
    # Monotone coupling i <-> 10 + i, McCann point with weights 1/2.
    expect0 = 0.5 * x0[:, 0] + 0.5 * (10 + x0[:, 0])
    np.testing.assert_allclose(out[:4], expect0, rtol=1e-6)
    np.testing.assert_allclose(out[4:], 0.5 * (x1[:, 0] - 10) + 0.5 * x1[:, 0])
    np.testing.assert_allclose(np.sort(out[:4]), np.sort(out[4:]))


def test_pairs_land_on_bitwise_identical_points():
    # Few distinct values (one-hot-like columns) and weights 1/3, 2/3 whose
    # float32 complements differ: a histogram auditor would read any
    # last-bit difference between the groups' repaired values.
    rng = np.random.default_rng(0)
    levels = rng.normal(size=(4, 3)).astype(np.float32) * 7.3
    x0 = levels[rng.integers(0, 4, 30)]
    x1 = levels[rng.integers(0, 4, 60)] + np.float32(0.1)
    x = np.concatenate([x0, x1])
    z = np.array([0] * 30 + [1] * 60)
    repair = feature.fit_coupling(x, z, standardize=False)
    vals0, vals1 = set(), set()
    # Several keys, so that both groups draw every atom of the coupling.
    for k in range(8):
        key = jax.random.key(k)
        out = np.asarray(feature.transform_coupling(repair, x, z, key=key))
        vals0 |= set(map(tuple, out[:30].tolist()))
        vals1 |= set(map(tuple, out[30:].tolist()))
    assert vals0 == vals1


def test_identical_repaired_law_two_groups(rng):
    # Uneven groups, duplicated rows, non-uniform barycentric weights.
    k1, k2 = jax.random.split(rng)
    x0 = np.round(np.asarray(jax.random.normal(k1, (9, 2))), 1)
    x0 = np.concatenate([x0, x0[:3]])
    x1 = np.asarray(jax.random.normal(k2, (5, 2))) + 1.0
    x = np.concatenate([x0, x1]).astype(np.float32)
    z = np.array([0] * 12 + [1] * 5)
    w = jnp.array([0.3, 0.7])
    repair = feature.fit_coupling(x, z, weights=w, standardize=False)
    laws = []
    for zi, rows in enumerate([x0, x1]):
        count = int(repair.stats["support_count"][zi])
        support = np.asarray(repair.stats["support"][zi])[:count]
        mass = np.array(
            [np.sum(np.all(np.isclose(rows, s), axis=1)) for s in support]
        ) / len(rows)
        laws.append(_atom_law(repair, zi, mass))
    assert laws[0].keys() == laws[1].keys()
    for atom in laws[0]:
        assert laws[0][atom] == pytest.approx(laws[1][atom], abs=1e-6)
    assert sum(laws[0].values()) == pytest.approx(1.0, abs=1e-6)


def test_identical_repaired_points_k_groups(rng):
    keys = jax.random.split(rng, 3)
    xs = [
        np.asarray(jax.random.normal(k, (5, 2))) + 2.0 * i
        for i, k in enumerate(keys)
    ]
    x = np.concatenate(xs).astype(np.float32)
    z = np.repeat(np.array([3, 7, 9]), 5)
    repair = feature.fit_coupling(
        x, z, num_atoms=5, standardize=False, key=jax.random.key(1)
    )
    out = np.asarray(feature.transform_coupling(repair, x, z))
    # Equal sizes and num_atoms = n_z: each coupling is a permutation, so
    # every group is repaired onto exactly the barycenter's atoms.
    sets = [np.sort(out[z == c], axis=0) for c in (3, 7, 9)]
    np.testing.assert_allclose(sets[0], sets[1], rtol=1e-5)
    np.testing.assert_allclose(sets[0], sets[2], rtol=1e-5)
    np.testing.assert_allclose(
        np.sort(np.asarray(repair.stats["partners"][0]), axis=0),
        sets[0],
        rtol=1e-5,
    )


def _toy(rng, n=40):
    k1, k2 = jax.random.split(rng)
    z = np.asarray(jax.random.bernoulli(k1, 0.35, (n,))).astype(np.int32)
    x = np.asarray(jax.random.normal(k2, (n, 3))) + z[:, None]
    return x.astype(np.float32), z


def test_partial_repair_interpolates(rng):
    x, z = _toy(rng)
    repair = feature.fit_coupling(x, z)
    key = jax.random.key(5)
    full = feature.transform_coupling(repair, x, z, key=key)
    for t in (0.0, 0.3, 0.8):
        part = feature.transform_coupling(repair, x, z, t=t, key=key)
        np.testing.assert_allclose(
            part, (1 - t) * x + t * np.asarray(full), rtol=1e-5, atol=1e-5
        )


def test_keyed_reproducible_and_jit(rng, jit):
    x, z = _toy(rng)
    repair = feature.fit_coupling(x, z)
    fn = jit(feature.transform_coupling)
    a = fn(repair, x, z, key=jax.random.key(1))
    b = feature.transform_coupling(repair, x, z, key=jax.random.key(1))
    c = feature.transform_coupling(repair, x, z, key=jax.random.key(2))
    np.testing.assert_array_equal(a, b)
    # 26 vs 14 rows: coupling rows split, so another key draws differently.
    assert not np.array_equal(np.asarray(a), np.asarray(c))


@pytest.mark.parametrize("extension", ["nearest", "entropic"])
def test_out_of_sample_rows(extension):
    x0 = np.array([[0.0], [1.0], [2.0], [3.0]], np.float32)
    x = np.concatenate([x0, x0 + 10.0])
    z = np.array([0] * 4 + [1] * 4)
    repair = feature.fit_coupling(
        x, z, standardize=False, extension=extension, epsilon=1e-3
    )
    new = np.array([[1.2], [12.1]], np.float32)
    out = np.asarray(feature.transform_coupling(repair, new, np.array([0, 1])))
    if extension == "nearest":
        # T(x) := T(nearest fitted row of the own group): 1 -> 6, 12 -> 7.
        np.testing.assert_allclose(out[:, 0], [6.0, 7.0], rtol=1e-6)
    else:
        # Own point kept, partner drawn from the other group's rows (which
        # one depends on the Laguerre cells of the Sinkhorn potential).
        partner = 2.0 * out[:, 0] - new[:, 0]
        assert np.all(np.isin(np.round(partner[:1], 4), x0[:, 0] + 10.0))
        assert np.all(np.isin(np.round(partner[1:], 4), x0[:, 0]))
    # In-sample rows are unaffected by the extension.
    np.testing.assert_allclose(
        np.asarray(feature.transform_coupling(repair, x, z))[:, 0],
        np.concatenate([x0[:, 0] + 5.0] * 2),
        rtol=1e-6,
    )


def test_entropic_coupling_repair_close_to_exact():
    x0 = np.array([[0.0], [1.0], [2.0], [3.0]], np.float32)
    x = np.concatenate([x0, x0 + 10.0])
    z = np.array([0] * 4 + [1] * 4)
    repair = feature.fit_coupling(
        x, z, standardize=False, coupling="entropic", epsilon=1e-2
    )
    out = np.asarray(feature.transform_coupling(repair, x, z))[:, 0]
    np.testing.assert_allclose(out, np.concatenate([x0[:, 0] + 5] * 2))


@pytest.mark.parametrize("decode", ["sample", "mode"])
def test_categorical_round_trip(rng, decode):
    k1, k2, k3 = jax.random.split(rng, 3)
    n = 60
    z = np.asarray(jax.random.bernoulli(k1, 0.4, (n,))).astype(np.int32)
    cat = np.asarray(jax.random.randint(k2, (n,), 0, 4)) + z  # codes 0..4
    cont = np.asarray(jax.random.normal(k3, (n,))) + z
    ints = np.round(cont * 3.0)
    x = np.stack([cat, cont, ints], 1).astype(np.float32)
    spec = feature.ColumnSpec(("categorical", "continuous", "integer"))
    repair = feature.fit_coupling(x, z, spec=spec, decode=decode)
    assert repair.spec.num_categories == (5, 0, 0)
    same = feature.transform_coupling(repair, x, z, t=0.0)
    np.testing.assert_allclose(same, x, rtol=1e-5, atol=1e-5)
    out = np.asarray(feature.transform_coupling(repair, x, z))
    assert set(np.unique(out[:, 0])) <= set(range(5))
    np.testing.assert_array_equal(out[:, 2], np.round(out[:, 2]))


def test_infer_column_spec_from_frame():
    df = pd.DataFrame(
        {
            "age": np.array([30, 40, 50], np.int64),
            "job": pd.Categorical(["a", "b", "a"]),
            "income": [1.5, 2.5, 3.0],
            "flag": [True, False, True],
        }
    )
    values, spec, cats = feature.infer_column_spec(df)
    assert spec.kinds == ("integer", "categorical", "continuous", "categorical")
    assert spec.num_categories == (0, 2, 0, 2)
    assert cats[1] == ("a", "b")
    np.testing.assert_array_equal(values[:, 1], [0, 1, 0])
    with pytest.raises(TypeError, match="DataFrame"):
        feature.infer_column_spec(values)


def test_bad_input(rng):
    x, z = _toy(rng)
    with pytest.raises(ValueError, match="expected 3 column kinds"):
        feature.fit_coupling(x, z, spec=("continuous",) * 2)
    with pytest.raises(ValueError, match=r"spec.kinds\[0\]"):
        feature.fit_coupling(x, z, spec=("ordinal",) * 3)
    with pytest.raises(ValueError, match="not codes"):
        feature.fit_coupling(x, z, spec=("categorical",) * 3)
    one = z.copy()
    one[:] = 0
    one[0] = 1
    with pytest.raises(ValueError, match="at least two rows per group"):
        feature.fit_coupling(x, one)
    with pytest.raises(ValueError, match="at least two groups"):
        feature.fit_coupling(x, np.zeros_like(z))
    with pytest.raises(TypeError, match="integer"):
        feature.fit_coupling(x, z.astype(np.float32))
    with pytest.raises(ValueError, match="coupling"):
        feature.fit_coupling(x, z, coupling="lp")
    repair = feature.fit_coupling(x, z)
    with pytest.raises(ValueError, match=r"labels \[2\] were not seen"):
        feature.transform_coupling(repair, x[:2], np.array([0, 2]))
    with pytest.raises(ValueError, match="expected 3 columns"):
        feature.transform_coupling(repair, x[:, :2], z)
    with pytest.raises(ValueError, match=r"t: expected values in \[0, 1\]"):
        feature.transform_coupling(repair, x, z, t=1.5)
    spec = feature.ColumnSpec(("categorical", "continuous", "continuous"))
    xc = x.copy()
    xc[:, 0] = np.arange(len(z)) % 3
    rc = feature.fit_coupling(xc, z, spec=spec)
    bad = xc[:2].copy()
    bad[0, 0] = 7
    with pytest.raises(ValueError, match="codes below 3"):
        feature.transform_coupling(rc, bad, z[:2])


def test_registry_method(rng):
    x, z = _toy(rng)
    assert "coupling" in feature.available_methods()
    rep = feature.fit(x, z + 5, method="coupling", options={"seed": 1})
    direct = feature.fit_coupling(x, z + 5, key=jax.random.key(1))
    key = jax.random.key(3)
    a = feature.transform(rep, x, z + 5, t=0.4, key=key)
    b = feature.transform_coupling(direct, x, z + 5, t=0.4, key=key)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="unknown option"):
        feature.fit(x, z, method="coupling", options={"spec": ["continuous"]})
    with pytest.raises(ValueError, match="at least 2 rows"):
        feature.fit(x[:3], np.array([0, 0, 1]), method="coupling")


def _mixed(rng, n=80):
    k1, k2, k3 = jax.random.split(rng, 3)
    z = np.asarray(jax.random.bernoulli(k1, 0.4, (n,))).astype(np.int32)
    cat = np.asarray(jax.random.randint(k2, (n,), 0, 3)) + z
    cont = np.asarray(jax.random.normal(k3, (n,))) + z
    x = np.stack([cat, cont, np.round(cont * 2.0)], 1).astype(np.float32)
    spec = feature.ColumnSpec(("categorical", "continuous", "integer"))
    return x, z, spec


def test_encode_host_matches_encode(rng):
    from jaxunlearn.feature import _columns

    x, z, spec = _mixed(rng)
    repair = feature.fit_coupling(x, z, spec=spec)
    st = repair.stats
    host = _columns.encode_host(
        x, repair.spec, st["mean"], st["scale"], x.dtype
    )
    dev = _columns.encode(x, repair.spec, st["mean"], st["scale"])
    assert host.dtype == np.float32
    np.testing.assert_allclose(host, dev, rtol=1e-6, atol=1e-6)
    # Every in-sample row is bitwise one of its group's fitted rows.
    for zi in range(2):
        count = int(st["support_count"][zi])
        fitted = {r.tobytes() for r in np.asarray(st["support"][zi])[:count]}
        assert all(r.tobytes() in fitted for r in host[z == zi])


def test_host_nearest_equals_graph_nearest(rng):
    from jaxunlearn.feature import _coupling

    x, z, spec = _mixed(rng)
    repair = feature.fit_coupling(x, z, spec=spec)
    cfg = _coupling._Config(repair.spec, "nearest", "sample", 256)
    # In-sample rows and unseen rows (shifted continuous values).
    new = x + np.array([0.0, 0.37, 0.0], np.float32)
    rows = np.concatenate([x, new])
    g = np.concatenate([z, z])
    host = _coupling._nearest_host(repair.stats, cfg, rows, g)
    e = feature._columns.encode(
        rows, repair.spec, repair.stats["mean"], repair.stats["scale"]
    )
    graph = _coupling._nearest_in_graph(repair.stats, e, jnp.asarray(g), 64)
    np.testing.assert_array_equal(host, np.asarray(graph))


def test_fast_path_eager_equals_jit_unseen_rows(rng):
    x, z, spec = _mixed(rng)
    repair = feature.fit_coupling(x, z, spec=spec)
    new = x + np.array([0.0, 0.37, 0.0], np.float32)
    key = jax.random.key(3)
    eager = feature.transform_coupling(repair, new, z, key=key, t=0.6)
    traced = jax.jit(feature.transform_coupling)(repair, new, z, key=key, t=0.6)
    np.testing.assert_array_equal(eager, traced)


def test_fast_path_one_compile_per_width(rng):
    from jaxunlearn.feature import _coupling

    x, z, spec = _mixed(rng)
    repair = feature.fit_coupling(x, z, spec=spec)
    feature.transform_coupling(repair, x, z)
    before = _coupling._exact_core._cache_size()
    for n in (7, 31, 80):
        feature.transform_coupling(repair, x[:n], z[:n], t=0.5)
    assert _coupling._exact_core._cache_size() == before


def test_fast_path_in_sample_law(rng):
    # Many draws of the in-sample transform: the frequency of each repaired
    # point matches the exact in-sample law of the barycenter, per group.
    k1, k2 = jax.random.split(rng)
    x0 = np.round(np.asarray(jax.random.normal(k1, (6, 2))), 1)
    x1 = np.round(np.asarray(jax.random.normal(k2, (4, 2))), 1) + 1.0
    reps = 400
    x = np.concatenate([np.tile(x0, (reps, 1)), np.tile(x1, (reps, 1))])
    x = x.astype(np.float32)
    z = np.array([0] * 6 * reps + [1] * 4 * reps)
    repair = feature.fit_coupling(x, z, standardize=False)
    out = np.asarray(feature.transform_coupling(repair, x, z))
    mass = [np.full(6, 1 / 6), np.full(4, 1 / 4)]
    for zi in range(2):
        law = _atom_law(repair, zi, mass[zi])
        rows = out[z == zi]
        for atom, p in law.items():
            freq = np.mean(np.all(np.isclose(rows, atom, atol=1e-4), axis=1))
            assert freq == pytest.approx(p, abs=0.04)


def test_decode_sample_law():
    from jaxunlearn.feature import _columns

    n = 20000
    spec = feature.ColumnSpec(("categorical", "integer"), (3, 0))
    probs = np.array([0.2, 0.5, 0.3], np.float32) * np.float32(0.7)
    e = np.tile(np.concatenate([probs, [2.25]]), (n, 1)).astype(np.float32)
    out = np.asarray(
        _columns.decode(
            e,
            spec,
            jnp.zeros(2),
            jnp.ones(2),
            mode="sample",
            key=jax.random.key(0),
        )
    )
    freq = np.bincount(out[:, 0].astype(int), minlength=3) / n
    np.testing.assert_allclose(freq, [0.2, 0.5, 0.3], atol=0.015)
    assert set(np.unique(out[:, 1])) == {2.0, 3.0}
    assert np.mean(out[:, 1]) == pytest.approx(2.25, abs=0.015)


def test_entropic_two_groups_one_solve_matches_second_solve(rng):
    # Group 1's partner potential is group 0's source potential f; its
    # conditional laws match those of a separate Sinkhorn solve.
    from jaxunlearn.transport import entropic_coupling, entropic_logits

    x, z = _toy(rng, n=30)
    repair = feature.fit_coupling(x, z, coupling="entropic", epsilon=0.5)
    st = repair.stats
    n0, n1 = (int(c) for c in st["support_count"])
    s0, s1 = st["support"][0][:n0], st["support"][1][:n1]
    ref = entropic_coupling(s1, s0, epsilon=0.5, batch_size=None)
    for q in np.asarray(s1):
        ours = entropic_logits(q, s0, st["potential"][1][:n0], st["epsilon"])
        theirs = entropic_logits(q, s0, ref.g, ref.epsilon)
        np.testing.assert_allclose(
            jax.nn.softmax(ours), jax.nn.softmax(theirs), atol=5e-3
        )


def test_coupling_marginals_are_the_fitted_groups():
    # Codes 3 and 7 (any integers); a categorical column and repeated rows.
    x = np.array(
        [[0, 1.0], [0, 1.0], [1, 2.0], [2, 2.0], [2, 2.0], [2, 2.0], [1, 5.0]],
        np.float32,
    )
    z = np.array([3, 3, 3, 7, 7, 7, 7])
    spec = feature.ColumnSpec(("categorical", "continuous"))
    m = feature.coupling_marginals(x, z, spec=spec)
    assert m.codes.tolist() == [3, 7]
    assert [s.shape[0] for s in m.support] == [2, 2]
    # Rows in np.unique's order: a one-hot of a higher category first.
    np.testing.assert_allclose(m.mass[0], [1 / 3, 2 / 3])
    np.testing.assert_allclose(m.mass[1], [3 / 4, 1 / 4])
    assert m.support[0].shape[1] == 4  # 3 one-hot columns, 1 continuous
    # fit_coupling transports exactly these laws.
    st = feature.fit_coupling(x, z, spec=spec).stats
    for g in (0, 1):
        fitted = np.asarray(st.support[g][: int(st.support_count[g])])
        np.testing.assert_allclose(fitted, m.support[g], rtol=1e-6)
    with pytest.raises(ValueError, match="z"):
        feature.coupling_marginals(x, z[:3], spec=spec)
