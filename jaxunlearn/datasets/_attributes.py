r"""Attributes measured from the pixels: stroke thickness and ink mass.

For image feature unlearning without a labelled attribute, ``Z``
is a property read off the image itself: whether a digit's stroke is thicker
(or its ink heavier) than the median of its class. Splitting at the class
median makes ``Z`` roughly balanced within every class and independent of
the class label, so removing ``Z`` need not remove ``Y``.

Stroke thickness: with the ink set ``S = {pixels > level}`` of area ``|S|``
and the number ``E`` of horizontal and vertical pixel edges between ink and
background (the image border counts as background), a stroke of width
``w`` and length ``L`` has ``|S| = w L`` and ``E ~ 2 L``, so

.. math::
   \mathrm{thickness} = 2 |S| / E \approx w .
"""

from jaxtyping import Array, ArrayLike, Float

import jax.numpy as jnp
import numpy as np

from jaxunlearn import _checks
from jaxunlearn.datasets._types import Attribute


def _images(images: ArrayLike) -> Array:
    images = _checks.as_array("images", images)
    _checks.check_rank("images", images, 3)
    _checks.check_floating("images", images)
    _checks.check_finite("images", images)
    return images


def stroke_thickness(
    images: Float[ArrayLike, "n h w"], *, level: float = 0.5
) -> Float[Array, " n"]:
    r"""Mean stroke width of each image, ``2 |ink| / (ink-background edges)``.

    See the module docstring for the derivation; an image with no ink has
    thickness 0.

    Args:
      images: ``[n, h, w]`` grey images, ink bright (values in ``[0, 1]``).
      level: the ink threshold.

    Returns:
      ``[n]`` thickness in pixels, in the images' dtype.

    Raises:
      ValueError: when ``images`` is not ``[n, h, w]`` or holds NaN/Inf.
      TypeError: when ``images`` is not floating.

    Examples:
      >>> import jax.numpy as jnp
      >>> bar = jnp.zeros((1, 9, 9)).at[0, 1:8, 3:6].set(1.0)  # 3 wide
      >>> round(float(stroke_thickness(bar)[0]), 2)
      2.1
    """
    images = _images(images)
    ink = images > level
    padded = jnp.pad(ink, ((0, 0), (1, 1), (1, 1)))
    vertical = padded[:, 1:, :] != padded[:, :-1, :]
    horizontal = padded[:, :, 1:] != padded[:, :, :-1]
    edges = jnp.sum(vertical, axis=(1, 2)) + jnp.sum(horizontal, axis=(1, 2))
    area = jnp.sum(ink, axis=(1, 2))
    dtype = images.dtype
    edges = edges.astype(dtype)
    safe = jnp.where(edges > 0, edges, jnp.ones_like(edges))
    return jnp.where(edges > 0, 2 * area.astype(dtype) / safe, 0.0)


def ink_mass(images: Float[ArrayLike, "n h w"]) -> Float[Array, " n"]:
    """Mean pixel intensity of each image.

    Args:
      images: ``[n, h, w]`` grey images, ink bright.

    Returns:
      ``[n]`` mean intensity, in the images' dtype.

    Raises:
      ValueError: when ``images`` is not ``[n, h, w]`` or holds NaN/Inf.
      TypeError: when ``images`` is not floating.

    Examples:
      >>> import jax.numpy as jnp
      >>> float(ink_mass(jnp.ones((1, 2, 2)) * 0.25)[0])
      0.25
    """
    images = _images(images)
    return jnp.mean(images, axis=(1, 2))


def thickness_attribute(
    images: Float[ArrayLike, "n h w"],
    labels: ArrayLike,
    *,
    measure: str = "thickness",
    level: float = 0.5,
) -> Attribute:
    """Binary attribute: the image's measure above its class median.

    ``Z_i = 1`` when ``measure(image_i)`` is strictly above the median of
    that measure over the images of class ``labels_i``, else 0. Each class is
    split roughly in half (ties at the median go to 0).

    Args:
      images: ``[n, h, w]`` grey images, ink bright.
      labels: ``[n]`` integer class labels.
      measure: ``"thickness"`` (:func:`stroke_thickness`) or ``"ink"``
        (:func:`ink_mass`).
      level: the ink threshold for ``"thickness"``.

    Returns:
      An :class:`Attribute` with ``codes [n]`` int32 (NumPy) and names
      ``("thin", "thick")`` or ``("light", "heavy")``.

    Raises:
      ValueError: on shape mismatches, a bad ``measure`` or non-finite
        pixels.
      TypeError: for non-floating images or non-integer labels.

    Examples:
      >>> import jax.numpy as jnp
      >>> imgs = jnp.stack([jnp.full((2, 2), v) for v in (0.1, 0.2, 0.3)])
      >>> thickness_attribute(imgs, [0, 0, 0], measure="ink").codes.tolist()
      [0, 0, 1]
    """
    _checks.check_choice("measure", measure, ("thickness", "ink"))
    images = _images(images)
    labels = np.asarray(labels)
    _checks.check_rank("labels", labels, 1)
    _checks.check_integer("labels", labels)
    if labels.shape[0] != images.shape[0]:
        raise ValueError(
            f"labels: expected {images.shape[0]} labels (one per image), got"
            f" {labels.shape[0]}"
        )
    if measure == "thickness":
        values, names = stroke_thickness(images, level=level), ("thin", "thick")
    else:
        values, names = ink_mass(images), ("light", "heavy")
    values = np.asarray(values)
    codes = np.zeros(labels.shape[0], np.int32)
    for c in np.unique(labels):
        members = labels == c
        codes[members] = values[members] > np.median(values[members])
    return Attribute(codes, names)
