import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxunlearn.datasets import (
    ink_mass,
    load_digits,
    stroke_thickness,
    thickness_attribute,
)


def _bar(width, length=12, side=20, horizontal=False):
    img = np.zeros((side, side), np.float32)
    img[2 : 2 + length, 4 : 4 + width] = 1.0
    return img.T if horizontal else img


@pytest.mark.parametrize("width", [1, 2, 3, 5])
def test_thickness_of_bars(width):
    # A w x L bar: area w L, edges 2 (w + L): thickness w L / (w + L).
    length = 12
    t = float(stroke_thickness(_bar(width, length)[None])[0])
    np.testing.assert_allclose(t, width * length / (width + length), rtol=1e-6)
    # Rotation invariant for axis-aligned strokes.
    t_h = float(stroke_thickness(_bar(width, length, horizontal=True)[None])[0])
    assert t == t_h


def test_thickness_monotone_and_empty():
    imgs = np.stack([_bar(w) for w in (1, 2, 3, 4)] + [np.zeros((20, 20))])
    t = np.asarray(stroke_thickness(imgs.astype(np.float32)))
    assert np.all(np.diff(t[:4]) > 0)
    assert t[4] == 0.0
    assert np.all(np.isfinite(t))


def test_ink_mass_and_dtypes(x64):
    imgs = jnp.asarray(np.random.default_rng(0).random((3, 4, 5)))
    np.testing.assert_allclose(ink_mass(imgs), imgs.mean(axis=(1, 2)))
    assert ink_mass(imgs).dtype == jnp.float64
    assert stroke_thickness(imgs).dtype == jnp.float64
    assert ink_mass(imgs.astype(jnp.float32)).dtype == jnp.float32


def test_jit_matches_eager():
    data = load_digits()
    eager = stroke_thickness(data.images[:50])
    jitted = jax.jit(stroke_thickness)(data.images[:50])
    np.testing.assert_array_equal(eager, jitted)


@pytest.mark.parametrize("measure", ["thickness", "ink"])
def test_attribute_splits_every_class(measure):
    data = load_digits()
    attr = thickness_attribute(data.images, data.labels, measure=measure)
    assert attr.codes.dtype == np.int32 and attr.codes.shape == (1797,)
    assert len(attr.names) == 2
    values = np.asarray(
        stroke_thickness(data.images)
        if measure == "thickness"
        else ink_mass(data.images)
    )
    for c in range(10):
        members = data.labels == c
        share = attr.codes[members].mean()
        assert 0.3 < share <= 0.5, (c, share)  # ties at the median go to 0
        # Every 1 is above every 0 of its class.
        ones, zeros = (
            values[members][attr.codes[members] == 1],
            values[members][attr.codes[members] == 0],
        )
        assert ones.min() > zeros.max()


def test_attribute_errors():
    imgs = jnp.zeros((4, 3, 3))
    with pytest.raises(ValueError, match="labels: expected 4 labels"):
        thickness_attribute(imgs, [0, 1])
    with pytest.raises(ValueError, match="measure"):
        thickness_attribute(imgs, [0, 1, 0, 1], measure="width")
    with pytest.raises(ValueError, match="images: expected an array of rank 3"):
        thickness_attribute(imgs[0], [0, 1, 0])
    with pytest.raises(TypeError, match="images: expected a float"):
        stroke_thickness(jnp.zeros((2, 3, 3), jnp.int32))
    with pytest.raises(TypeError, match="labels: expected an integer"):
        thickness_attribute(imgs, [0.0, 1.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="images: expected finite"):
        ink_mass(jnp.full((1, 2, 2), jnp.nan))
