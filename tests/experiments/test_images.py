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
from jaxunlearn.transport import NeuralOTConfig

TINY = ImageAuditConfig(
    cnn_epochs=1,
    cnn_batch_size=16,
    num_components=4,
    ot=NeuralOTConfig(num_iterations=2, k_t=1, batch_size=4, width=2),
)


def _data(key, n=80):
    k1, k2 = jax.random.split(key)
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


@pytest.mark.slow
def test_pca_audit_rows_and_grid(rng, tmp_path):
    images, labels, z = _data(rng)
    res = image_feature_audit(
        images, labels, z, key=rng, methods=("pca_gaussian",), config=TINY,
        num_examples=3,
    )  # fmt: skip
    assert [r.method for r in res.rows] == ["none", "pca_gaussian"]
    none, pca = res.rows
    assert none.distortion == 0.0 and pca.distortion > 0.0
    # Distortion scales as t^2 along the McCann path.
    np.testing.assert_allclose(
        pca.distortion_partial, 0.25 * pca.distortion, rtol=1e-4
    )
    for r in res.rows:
        for v in r[1:8]:
            assert 0.0 <= v <= 1.0
    assert res.examples["pca_gaussian"].shape == (3, 4, 8, 8)  # 2 classes
    table = audit_table(res.rows)
    assert "| pca_gaussian |" in table and "| none |" in table
    path = tmp_path / "grid.png"
    save_image_grid(path, res.examples["pca_gaussian"], title="t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_neural_audit_runs(rng, tmp_path):
    images, labels, z = _data(rng, n=40)
    res = image_feature_audit(
        images, labels, z, key=rng, methods=("neural",), config=TINY,
        checkpoint_dir=tmp_path,
    )  # fmt: skip
    assert res.rows[1].method == "neural"
    assert (tmp_path / "neural" / "t01.npz").exists()


def test_bad_input(rng):
    images, labels, z = _data(rng, n=20)
    with pytest.raises(ValueError, match="both codes"):
        image_feature_audit(images, labels, jnp.zeros(20, jnp.int32), key=rng)
    with pytest.raises(ValueError, match="rank"):
        image_feature_audit(images[:, 0], labels, z, key=rng)
    with pytest.raises(ValueError, match="finite"):
        image_feature_audit(images.at[0, 0, 0].set(jnp.nan), labels, z, key=rng)
    with pytest.raises(ValueError, match="methods"):
        image_feature_audit(images, labels, z, key=rng, methods=("gan",))
    with pytest.raises(ValueError, match="labels"):
        image_feature_audit(images, labels[:5], z, key=rng)
