"""Tests for the "latent_semidiscrete" image repair (tiny planted images)."""

import jax
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from jaxunlearn import feature
from jaxunlearn.feature import _image_methods

OPTIONS = {
    "num_components": 6,
    "num_atoms": 8,
    "fixed_point_steps": 2,
    "refine_steps": 30,
}


def planted(seed, n):
    """8x8 noise; Z lights the top-left pixel, Y a bar on the left or right."""
    r = np.random.default_rng(seed)
    z = r.integers(0, 2, n).astype(np.int32)
    y = r.integers(0, 2, n).astype(np.int32)
    x = 0.1 * r.random((n, 8, 8), dtype=np.float32)
    x[y == 0, 2:6, 1] += 0.8
    x[y == 1, 2:6, 6] += 0.8
    x[z == 1, 0, 0] += 0.9
    return x.reshape(n, 64), y, z


@pytest.fixture(scope="module")
def fitted():
    x, y, z = planted(0, 600)
    rep = feature.fit(x, z, method=_image_methods.METHOD, options=OPTIONS)
    return rep, (x, y, z), planted(1, 600)


def _held_out_accuracy(a_tr, t_tr, a_te, t_te):
    clf = LogisticRegression(max_iter=500).fit(a_tr, t_tr)
    return clf.score(a_te, t_te)


@pytest.mark.slow
def test_retrained_auditor_at_chance_and_pattern_survives(fitted):
    rep, (x, y, z), (x2, y2, z2) = fitted
    assert _held_out_accuracy(x, z, x2, z2) > 0.95  # planted: readable
    r_tr = np.asarray(feature.transform(rep, x, z, key=jax.random.key(1)))
    r_te = np.asarray(feature.transform(rep, x2, z2, key=jax.random.key(2)))
    majority = max(z2.mean(), 1 - z2.mean())
    # An auditor retrained on repaired images reads Z at chance ...
    assert _held_out_accuracy(r_tr, z, r_te, z2) <= majority + 0.06
    # ... and the corner pixel no longer differs between the groups,
    gap = abs(r_te[z2 == 1, 0].mean() - r_te[z2 == 0, 0].mean())
    assert gap < 0.05
    # while the Z-free bar survives.
    assert _held_out_accuracy(r_tr, y, r_te, y2) > 0.95


@pytest.mark.slow
def test_output_is_one_atom_image_per_row_and_partial_repair(fitted):
    rep, _, (x2, _, z2) = fitted
    key = jax.random.key(3)
    full = np.asarray(feature.transform(rep, x2, z2, key=key))
    atoms = np.asarray(rep.stats["atom_images"])
    j = np.asarray(_image_methods.atom_index(rep.stats, x2, z2, key))
    np.testing.assert_array_equal(full, atoms[j])
    half = np.asarray(feature.transform(rep, x2, z2, t=0.5, key=key))
    np.testing.assert_allclose(half, 0.5 * x2 + 0.5 * full, atol=1e-6)
    # On new rows both groups land on the atoms with the same shares.
    share = [np.bincount(j[z2 == g], minlength=8) / np.sum(z2 == g)
             for g in (0, 1)]  # fmt: skip
    assert np.max(np.abs(share[0] - share[1])) < 0.06


def test_bad_options():
    x, _, z = planted(0, 40)
    with pytest.raises(ValueError, match=r"options\['num_atoms'\]"):
        feature.fit(x, z, method="latent_semidiscrete",
                    options={"num_atoms": 500})  # fmt: skip
    with pytest.raises(ValueError, match=r"options\['num_components'\]"):
        feature.fit(x, z, method="latent_semidiscrete",
                    options={"num_components": 0})  # fmt: skip
    with pytest.raises(ValueError, match=r"options\['relative_epsilon'\]"):
        feature.fit(x, z, method="latent_semidiscrete",
                    options={"relative_epsilon": -1.0})  # fmt: skip


def _group_gap(rep, x, z):
    """Total variation between the two groups' cell masses (training)."""
    s = rep.stats
    codes = (x - np.asarray(s["mean"])[None]) @ np.asarray(s["components"])
    masses = []
    for g in (0, 1):
        logits = np.asarray(
            _image_methods.transport.laguerre_logits(
                codes[z == g], s["atoms"], s["potentials"][g],
                s["atom_weights"], s["epsilon"],
            )
        )  # fmt: skip
        p = np.exp(logits - logits.max(1, keepdims=True))
        masses.append((p / p.sum(1, keepdims=True)).mean(0))
    return 0.5 * np.abs(masses[0] - masses[1]).sum()


def test_fit_balances_group_masses_or_warns(monkeypatch):
    # A small blur and one refinement step leave the groups' cell masses
    # apart: the fit refines until they agree, or warns when it may not.
    x, _, z = planted(3, 400)
    few = {**OPTIONS, "refine_steps": 1, "fixed_point_steps": 1,
           "relative_epsilon": 0.002}  # fmt: skip
    monkeypatch.setattr(_image_methods, "_BALANCE_ROUNDS", 0)
    with pytest.warns(RuntimeWarning, match=r"options\['refine_steps'\]"):
        rep = feature.fit(x, z, method=_image_methods.METHOD, options=few)
    assert _group_gap(rep, x, z) > 2 * _image_methods._MASS_TOLERANCE
    monkeypatch.undo()
    rep = feature.fit(x, z, method=_image_methods.METHOD, options=few)
    assert _group_gap(rep, x, z) <= 2 * _image_methods._MASS_TOLERANCE
