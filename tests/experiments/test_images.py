"""Tests for the image feature-unlearning audit (tiny sizes)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxunlearn.experiments import (
    ImageAuditConfig,
    audit_table,
    image_feature_audit,
    save_image_grid,
)
from jaxunlearn.experiments._images import split_indices

TINY = ImageAuditConfig(
    cnn_epochs=1,
    cnn_batch_size=16,
    pca_components=(4,),
    num_atoms=(4, 8),
    latent_components=4,
    cv_folds=2,
)


def _data(key, n=80):
    k1, _ = jax.random.split(key)
    labels = jnp.arange(n) % 2
    z = (jnp.arange(n) // 2) % 2
    base = jax.random.uniform(k1, (n, 8, 8)) * 0.2
    # Z brightens the centre, Y the left half: both learnable.
    centre = jnp.zeros((8, 8)).at[2:6, 2:6].set(0.5)
    left = jnp.zeros((8, 8)).at[:, :4].set(0.3)
    images = (
        base
        + z.astype(jnp.float32)[:, None, None] * centre[None]
        + labels.astype(jnp.float32)[:, None, None] * left[None]
    )
    return images, labels, z


def test_splits_are_disjoint_and_keyed(rng):
    s = split_indices(rng, 103, 0.2, 0.3)
    parts = [set(s[k].tolist()) for k in ("train", "validation", "test")]
    assert sum(map(len, parts)) == 103
    assert set.union(*parts) == set(range(103))
    assert not parts[1] & parts[2] and not parts[0] & (parts[1] | parts[2])
    again = split_indices(rng, 103, 0.2, 0.3)
    np.testing.assert_array_equal(s["validation"], again["validation"])
    other = split_indices(jax.random.key(1), 103, 0.2, 0.3)
    assert not np.array_equal(s["test"], other["test"])
    with pytest.raises(ValueError, match="validation_fraction"):
        split_indices(rng, 3, 0.0, 0.5)


@pytest.mark.slow
def test_audit_rows_candidates_and_grid(rng, tmp_path):
    images, labels, z = _data(rng)
    res = image_feature_audit(
        images, labels, z, key=rng,
        methods=("latent_semidiscrete", "pca_gaussian"), config=TINY,
        num_examples=3,
    )  # fmt: skip
    assert [r.method for r in res.rows] == [
        "none", "latent_semidiscrete", "pca_gaussian",
    ]  # fmt: skip
    none, latent, pca = res.rows
    assert none.distortion == 0.0 and latent.distortion > pca.distortion > 0
    # Distortion scales as t^2 along the interpolation (exactly for the
    # deterministic map; the atoms at t = 0.5 are a fresh draw).
    np.testing.assert_allclose(
        pca.distortion_partial, 0.25 * pca.distortion, rtol=1e-4
    )
    assert 0.2 < latent.distortion_partial / latent.distortion < 0.3
    rates = [f for f in none._fields if "acc" in f or f == "z_majority"]
    assert len(rates) == 9
    for r in res.rows:
        for f in rates:
            assert 0.0 <= getattr(r, f) <= 1.0
    # Every candidate was scored on validation; one kept per method.
    assert [c.method for c in res.candidates] == [
        "latent_semidiscrete", "latent_semidiscrete", "pca_gaussian",
    ]  # fmt: skip
    assert sum(c.chosen for c in res.candidates) == 2
    kept = [c for c in res.candidates if c.chosen][0]
    assert kept.params == latent.params and kept.val_z_acc == latent.val_z_acc
    # The test split was not used to choose: it is disjoint from both.
    te = set(res.splits["test"].tolist())
    assert not te & set(res.splits["validation"].tolist())
    assert not te & set(res.splits["train"].tolist())
    assert res.examples["pca_gaussian"].shape == (3, 4, 8, 8)  # 2 classes
    table = audit_table(res.rows)
    assert "| latent_semidiscrete |" in table and "| none |" in table
    path = tmp_path / "grid.png"
    save_image_grid(path, res.examples["latent_semidiscrete"], title="t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The kept repair applies to new images.
    out = res.repairs["latent_semidiscrete"](
        np.asarray(images[:5]), np.asarray(z[:5]), 1.0, rng
    )
    assert out.shape == (5, 8, 8)


def test_bad_input(rng):
    images, labels, z = _data(rng, n=20)
    ragged = [np.zeros((8, 8), np.float32)] * 3 + [np.zeros((7, 8))]
    with pytest.raises(ValueError, match="images: expected images of one"):
        image_feature_audit(ragged, labels[:4], z[:4], key=rng)
    with pytest.raises(ValueError, match="z: expected two groups"):
        image_feature_audit(images, labels, jnp.zeros(20, jnp.int32), key=rng)
    with pytest.raises(ValueError, match="z: expected one attribute code"):
        image_feature_audit(images, labels, z[:7], key=rng)
    with pytest.raises(ValueError, match="rank"):
        image_feature_audit(images[:, 0], labels, z, key=rng)
    with pytest.raises(ValueError, match="finite"):
        image_feature_audit(images.at[0, 0, 0].set(jnp.nan), labels, z, key=rng)
    with pytest.raises(ValueError, match="methods"):
        image_feature_audit(images, labels, z, key=rng, methods=("gan",))
    with pytest.raises(ValueError, match="labels"):
        image_feature_audit(images, labels[:5], z, key=rng)


@pytest.mark.slow
def test_ae_semidiscrete_outputs_decoded_atoms(rng):
    from jaxunlearn.experiments import _image_repairs

    images, _, z = _data(rng, n=96)
    x, zc = np.asarray(images), np.asarray(z)
    cfg = TINY._replace(num_atoms=(4,), ae_epochs=2)
    ((params, repair),) = _image_repairs.candidates(
        "ae_semidiscrete", x, zc, key=rng, cfg=cfg
    )
    assert params == {"num_atoms": 4}
    full = repair(x[:40], zc[:40], 1.0, rng)
    assert full.shape == (40, 8, 8) and np.all(np.isfinite(full))
    # Each repaired image is one of the 4 decoded atom codes.
    assert np.unique(full.reshape(40, -1).round(5), axis=0).shape[0] <= 4
    np.testing.assert_allclose(repair(x[:40], zc[:40], 0.0, rng), x[:40])
    half = repair(x[:40], zc[:40], 0.5, rng)
    np.testing.assert_allclose(half, 0.5 * x[:40] + 0.5 * full, atol=1e-5)
