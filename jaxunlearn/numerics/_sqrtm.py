"""Square roots of symmetric positive semi-definite matrices via ``eigh``.

For ``A = V diag(w) V^T`` the square root is ``V diag(sqrt(w)) V^T``. The
derivative of a spectral function ``f(A) = V diag(f(w)) V^T`` is the
Daleckii-Krein formula: in the eigenbasis, ``df(A)_ij = dA_ij * f[w_i, w_j]``
with the divided difference ``f[w_i, w_j] = (f(w_i) - f(w_j)) / (w_i - w_j)``
(and ``f'(w_i)`` on the diagonal). ``jnp.linalg.eigh``'s own derivative
divides by ``w_i - w_j`` and returns ``nan`` for repeated eigenvalues, as for
the identity matrix. For the square root the divided difference simplifies to
``1 / (s_i + s_j)`` with ``s = sqrt(w)``, and for the inverse square root to
``-1 / (s_i s_j (s_i + s_j))``: no difference of eigenvalues appears, so the
custom derivative below is exact and finite for repeated eigenvalues.

Eigenvalues are floored at ``eps * max(w)`` (``eps`` the dtype's machine
epsilon unless given), which makes singular input well defined.

References:
  Higham, "Stable iterations for the matrix square root", Numerical
  Algorithms 15, 1997. https://doi.org/10.1023/A:1019150005407

  Bhatia, "Matrix Analysis", Springer GTM 169, 1997, section V.3.
"""

import functools

from jaxtyping import Array, ArrayLike, Float

import jax
import jax.numpy as jnp

from jaxunlearn import _checks


def symmetrize(a: Float[ArrayLike, "... d d"]) -> Float[Array, "... d d"]:
    """Returns ``(a + a^T) / 2`` over the last two axes.

    Args:
      a: square matrices ``[..., d, d]``.

    Returns:
      The symmetric part of ``a``.
    """
    return 0.5 * (a + jnp.swapaxes(a, -1, -2))


def _floor(w: Array, rel_floor: Array) -> Array:
    top = jnp.max(w, axis=-1, keepdims=True)
    tiny = jnp.finfo(w.dtype).tiny
    floor = jnp.maximum(rel_floor * top, tiny)
    return jnp.maximum(w, floor)


def _eig(a: Array, rel_floor: Array) -> tuple[Array, Array]:
    w, v = jnp.linalg.eigh(symmetrize(a))
    return _floor(w, rel_floor), v


def _compose(v: Array, diag: Array) -> Array:
    return jnp.einsum("...ij,...j,...kj->...ik", v, diag, v)


@functools.partial(jax.custom_jvp, nondiff_argnums=())
def _sqrt_pair(a: Array, rel_floor: Array) -> tuple[Array, Array]:
    w, v = _eig(a, rel_floor)
    s = jnp.sqrt(w)
    return _compose(v, s), _compose(v, 1.0 / s)


@_sqrt_pair.defjvp
def _sqrt_pair_jvp(primals, tangents):
    a, rel_floor = primals
    da, _ = tangents
    w, v = _eig(a, rel_floor)
    s = jnp.sqrt(w)
    primal_out = (_compose(v, s), _compose(v, 1.0 / s))
    # Tangent in the eigenbasis: dA~ = V^T sym(dA) V.
    da_eig = jnp.einsum("...ji,...jk,...kl->...il", v, symmetrize(da), v)
    s_i = s[..., :, None]
    s_j = s[..., None, :]
    d_sqrt = da_eig / (s_i + s_j)
    d_inv = -da_eig / (s_i * s_j * (s_i + s_j))
    back = lambda m: jnp.einsum("...ij,...jk,...lk->...il", v, m, v)  # noqa: E731
    return primal_out, (back(d_sqrt), back(d_inv))


def _rel_floor(a: Array, eps: float | None) -> Array:
    value = jnp.finfo(a.dtype).eps if eps is None else eps
    return jnp.asarray(value, dtype=a.dtype)


def sqrtm_and_inv_sqrtm(
    a: Float[ArrayLike, "... d d"], *, eps: float | None = None
) -> tuple[Float[Array, "... d d"], Float[Array, "... d d"]]:
    """Square root and inverse square root of SPD matrices, one ``eigh``.

    The input is symmetrized and its eigenvalues floored at
    ``eps * max_eigenvalue``. Gradients use the Daleckii-Krein formula, which
    stays finite for repeated eigenvalues (the identity, isotropic
    covariances).

    Args:
      a: symmetric positive semi-definite matrices ``[..., d, d]``.
      eps: relative eigenvalue floor; ``None`` uses the dtype's machine
        epsilon.

    Returns:
      ``(sqrt_a, inv_sqrt_a)``, each ``[..., d, d]``.

    Raises:
      ValueError: on non-square input, or (eagerly) NaN/Inf or a matrix
        that is not symmetric up to ``sqrt(eps)`` relative.
      TypeError: on a non-floating (integer, bool, complex, float16) dtype.

    References:
      Higham, "Stable iterations for the matrix square root", Numerical
      Algorithms 15, 1997. https://doi.org/10.1023/A:1019150005407
    """
    a = _checks.as_array("a", a)
    _checks.check_square_symmetric("a", a)
    return _sqrt_pair(a, _rel_floor(a, eps))


def sqrtm(
    a: Float[ArrayLike, "... d d"], *, eps: float | None = None
) -> Float[Array, "... d d"]:
    r"""Principal square root of symmetric PSD matrices.

    .. math:: A^{1/2} = V \operatorname{diag}(\sqrt{w}) V^\top

    Args:
      a: symmetric positive semi-definite matrices ``[..., d, d]``.
      eps: relative eigenvalue floor; ``None`` uses machine epsilon.

    Returns:
      ``A^{1/2}``, ``[..., d, d]``, symmetric PSD.

    Raises:
      ValueError, TypeError: as :func:`sqrtm_and_inv_sqrtm`.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn.numerics import sqrtm
      >>> sqrtm(jnp.diag(jnp.array([4.0, 9.0]))).round(4).tolist()
      [[2.0, 0.0], [0.0, 3.0]]
    """
    return sqrtm_and_inv_sqrtm(a, eps=eps)[0]


def inv_sqrtm(
    a: Float[ArrayLike, "... d d"], *, eps: float | None = None
) -> Float[Array, "... d d"]:
    """Inverse principal square root of symmetric PSD matrices.

    Singular input is regularized by the eigenvalue floor, so the result is
    large but finite.

    Args:
      a: symmetric positive semi-definite matrices ``[..., d, d]``.
      eps: relative eigenvalue floor; ``None`` uses machine epsilon.

    Returns:
      ``A^{-1/2}``, ``[..., d, d]``.

    Raises:
      ValueError, TypeError: as :func:`sqrtm_and_inv_sqrtm`.
    """
    return sqrtm_and_inv_sqrtm(a, eps=eps)[1]


def min_eigenvalue_ratio(a: Float[ArrayLike, "... d d"]) -> Float[Array, "..."]:
    """Smallest over largest eigenvalue, a diagnostic for near-singularity.

    Args:
      a: symmetric matrices ``[..., d, d]``.

    Returns:
      ``min(w) / max(w)`` per matrix, ``[...]``; 0 or below means singular.

    Raises:
      ValueError, TypeError: as :func:`sqrtm_and_inv_sqrtm`.
    """
    a = _checks.as_array("a", a)
    _checks.check_square_symmetric("a", a)
    w = jnp.linalg.eigvalsh(symmetrize(a))
    top = jnp.maximum(w[..., -1], jnp.finfo(w.dtype).tiny)
    return w[..., 0] / top
