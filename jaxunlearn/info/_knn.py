r"""k-nearest-neighbour estimators of entropy and mutual information.

Both estimators need, for every sample, the distance to its k-th nearest
neighbour. They compute it by brute force in blocks of ``block_size`` query
rows: a block compares its rows with all ``n`` samples, so memory is
``O(n * block_size)`` (the per-coordinate differences are reduced inside one
fused XLA kernel) and time ``O(n^2 d)``; the loop over blocks is a
``lax.map``, so everything is jit-able and runs unchanged on a GPU.

On the CPU, for concrete (not traced) inputs of low dimension, the default
``method="auto"`` instead builds a k-d tree on the host
(``scipy.spatial.cKDTree``, ``O(n log n)``), as scikit-learn does; the
estimate is the same (distances in float64 on the host). Inside ``jit``,
``vmap`` or ``grad`` the brute-force path is used, so the estimators keep
composing with JAX transformations.

The estimators assume continuous laws: duplicated samples give zero
distances (``-inf`` entropy terms in Kozachenko-Leonenko). Add a tiny
jitter to discrete-valued data first, as scikit-learn does.

References:
  Kozachenko & Leonenko, "Sample estimate of the entropy of a random
  vector", Problems Inform. Transmission 23(2), 1987.

  Kraskov, Stoegbauer & Grassberger, "Estimating mutual information",
  Phys. Rev. E 69, 066138, 2004. https://arxiv.org/abs/cond-mat/0305641
"""

import math
from collections.abc import Callable
from typing import Any

from jaxtyping import Array, ArrayLike, Float

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import digamma, gammaln

from jaxunlearn import _checks

# Largest (joint) dimension for which "auto" picks the host k-d tree: k-d
# trees lose their edge over brute force as the dimension grows.
_TREE_MAX_DIM = 8
_METHODS = ("auto", "brute", "tree")


def _samples(name: str, x: Any) -> Array:
    x = _checks.as_array(name, x)
    _checks.check_floating(name, x)
    _checks.check_rank(name, x, (1, 2))
    if x.ndim == 1:
        x = x[:, None]
    _checks.check_finite(name, x)
    return x


def _blocked(n: int, block_size: int, fn: Callable[[Array], Any]) -> Any:
    """Applies ``fn`` to blocks of query indices; concatenates, drops pad."""
    b = min(block_size, n)
    n_blocks = -(-n // b)
    idx = jnp.arange(n_blocks * b).reshape(n_blocks, b)
    out = jax.lax.map(fn, idx)
    return jax.tree.map(lambda a: a.reshape((n_blocks * b,))[:n], out)


def _kth_smallest(dist: Array, k: int) -> Array:
    """The k-th smallest entry (with multiplicity) of each row of ``dist``.

    ``k`` passes of a masked row minimum give the ``k`` smallest distinct
    values ``m_1 < ... < m_k``; one more (fused) pass counts the entries
    ``<= m_t`` and the answer is the first ``m_t`` with at least ``k`` of
    them (exact with ties). On CPU this is several times faster than
    ``lax.top_k`` for small ``k``.
    """
    prev = jnp.full(dist.shape[:1], -jnp.inf, dist.dtype)
    mins = []
    for _ in range(k):  # k is static and small.
        prev = jnp.min(jnp.where(dist > prev[:, None], dist, jnp.inf), axis=1)
        mins.append(prev)
    m = jnp.stack(mins, axis=1)  # [b, k]
    counts = jnp.sum(dist[:, :, None] <= m[:, None, :], axis=1)  # [b, k]
    first = jnp.argmax(counts >= k, axis=1)
    return jnp.take_along_axis(m, first[:, None], axis=1)[:, 0]


def _use_tree(method: Any, dim: int, *arrays: Array) -> bool:
    """Resolves ``method`` to the host tree (True) or brute force (False)."""
    if method not in _METHODS:
        raise ValueError(f"method: expected one of {_METHODS}, got {method!r}")
    traced = any(isinstance(a, jax.core.Tracer) for a in arrays)
    if method == "tree":
        if traced:
            raise ValueError(
                "method: 'tree' runs on the host and needs concrete arrays;"
                " got a traced array (inside jit, vmap or grad); use"
                " 'brute' or 'auto'"
            )
        return True
    if method == "brute":
        return False
    return (
        not traced
        and dim <= _TREE_MAX_DIM
        and all(d.platform == "cpu" for a in arrays for d in a.devices())
    )


def _tree_kth_distance(points: np.ndarray, k: int, p: float) -> np.ndarray:
    """Distance from each point to its k-th nearest other point (host)."""
    from scipy.spatial import cKDTree  # noqa: PLC0415 (optional speed path)

    tree = cKDTree(points)
    # The k + 1 nearest include the point itself (distance 0), so the last
    # one is the k-th nearest other point, ties counted with multiplicity.
    dist, _ = tree.query(points, k=[k + 1], p=p)
    return dist[:, 0]


def _sorted_count_within(v: np.ndarray, eps: np.ndarray) -> np.ndarray:
    """One-dimensional ``#{j != i : |v_j - v_i| < eps_i}`` by sorting.

    ``fl(v_j - v_i)`` is monotone in ``v_j``, so the points inside form a
    contiguous run of the sorted values; binary search finds it up to a
    rounding step and the boundary is then settled with the same float
    comparisons as brute force (exact, ties included).
    """
    xs = np.sort(v)
    n = xs.shape[0]
    hi = np.searchsorted(xs, v + eps, side="left")
    lo = np.searchsorted(xs, v - eps, side="right")
    while True:  # hi: first sorted index with xs - v >= eps.
        up = (hi < n) & (xs[np.minimum(hi, n - 1)] - v < eps)
        down = (hi > 0) & (xs[np.maximum(hi - 1, 0)] - v >= eps)
        if not (up.any() or down.any()):
            break
        hi = hi + up - down
    while True:  # lo: first sorted index with v - xs < eps.
        down = (lo > 0) & (v - xs[np.maximum(lo - 1, 0)] < eps)
        up = (lo < n) & (v - xs[np.minimum(lo, n - 1)] >= eps)
        if not (up.any() or down.any()):
            break
        lo = lo + up - down
    return np.where(eps > 0, np.maximum(hi - lo - 1, 0), 0)


def _tree_count_within(points: np.ndarray, eps: np.ndarray) -> np.ndarray:
    """Number of other points strictly closer than ``eps`` (max-norm)."""
    if points.shape[1] == 1:
        return _sorted_count_within(points[:, 0], eps)
    from scipy.spatial import cKDTree  # noqa: PLC0415 (optional speed path)

    radius = np.nextafter(eps, 0.0)
    counts = cKDTree(points).query_ball_point(
        points, r=radius, p=np.inf, return_length=True
    )
    # The ball holds the point itself; nothing is strictly closer than 0.
    return np.where(eps > 0, counts - 1, 0)


def _check_k(k: Any, n: int) -> None:
    _checks.check_positive_int("k", k)
    if k >= n:
        raise ValueError(f"k: expected k < n = {n} samples, got {k}")


def kl_entropy(
    x: Float[ArrayLike, "n d"],
    k: int = 3,
    *,
    block_size: int = 64,
    method: str = "auto",
) -> Float[Array, ""]:
    r"""Kozachenko-Leonenko k-NN estimate of the differential entropy.

    .. math:: \hat h = \psi(n) - \psi(k) + \log V_d
       + \frac{d}{n} \sum_i \log r_{i,k}, \quad
       V_d = \frac{\pi^{d/2}}{\Gamma(d/2 + 1)},

    with ``r_{i,k}`` the Euclidean distance from ``x_i`` to its k-th nearest
    other sample. Consistent for continuous laws; the bias grows with ``d``.

    Args:
      x: samples ``[n, d]`` (or ``[n]`` for ``d = 1``).
      k: static number of neighbours, ``1 <= k < n``.
      block_size: static number of query rows per block (memory
        ``O(n * block_size)``).
      method: ``"brute"`` (blocked brute force, jit/vmap/grad-able),
        ``"tree"`` (host k-d tree, concrete arrays only) or ``"auto"``
        (the tree for concrete CPU arrays of (joint) dimension <= 8,
        brute force otherwise).

    Returns:
      A scalar, the entropy estimate in nats.

    Raises:
      TypeError: when ``x`` is not floating or ``k`` is not an int.
      ValueError: on a bad rank, non-finite values, ``k >= n`` or a bad
        ``method``.

    References:
      Kozachenko & Leonenko, "Sample estimate of the entropy of a random
      vector", Problems Inform. Transmission 23(2), 1987; Kraskov et al.,
      Phys. Rev. E 69, 066138, 2004, eq. 20.

    Examples:
      >>> import jax
      >>> from jaxunlearn.info import kl_entropy
      >>> x = jax.random.normal(jax.random.key(0), (2000, 1))
      >>> abs(float(kl_entropy(x)) - 1.4189) < 0.1  # 0.5 log(2 pi e)
      True
    """
    x = _samples("x", x)
    n, d = x.shape
    _check_k(k, n)
    _checks.check_positive_int("block_size", block_size)
    dt = x.dtype
    log_vd = 0.5 * d * math.log(math.pi) - gammaln(jnp.asarray(d / 2 + 1, dt))
    nn, kk = jnp.asarray(n, dt), jnp.asarray(k, dt)
    if _use_tree(method, d, x):
        rk = _tree_kth_distance(np.asarray(x, np.float64), k, 2.0)
        with np.errstate(divide="ignore"):
            mean_log = np.mean(np.log(rk))
        return (
            digamma(nn) - digamma(kk) + log_vd + d * jnp.asarray(mean_log, dt)
        )
    rows = jnp.arange(n)

    def block(idx: Array) -> Array:
        xq = x[jnp.minimum(idx, n - 1)]
        diff = xq[:, None, :] - x[None, :, :]
        d2 = jnp.sum(diff * diff, axis=-1)
        d2 = jnp.where(idx[:, None] == rows[None, :], jnp.inf, d2)
        return _kth_smallest(d2, k)

    d2k = _blocked(n, block_size, block)
    # d * log r = (d / 2) * log r^2.
    return digamma(nn) - digamma(kk) + log_vd + 0.5 * d * jnp.mean(jnp.log(d2k))


def ksg_mutual_information(
    x: Float[ArrayLike, "n dx"],
    y: Float[ArrayLike, "n dy"],
    k: int = 3,
    *,
    block_size: int = 64,
    method: str = "auto",
) -> Float[Array, ""]:
    r"""Kraskov-Stoegbauer-Grassberger (KSG, algorithm 1) estimate of ``I``.

    With max-norm distances, ``eps_i`` the distance from ``(x_i, y_i)`` to
    its k-th nearest neighbour in the joint space and ``n_x(i)``
    (``n_y(i)``) the number of other samples strictly closer than ``eps_i``
    in the ``x`` (``y``) space,

    .. math:: \hat I = \psi(k) + \psi(n)
       - \frac1n \sum_i \big[\psi(n_x(i) + 1) + \psi(n_y(i) + 1)\big].

    This is the estimator of ``sklearn.feature_selection.
    mutual_info_regression`` (which also rescales each variable to unit
    variance and adds 1e-10 jitter; do that yourself if you want its exact
    numbers). The estimate is not clipped: values below 0 mean ``I ~ 0``.

    Args:
      x: samples ``[n, dx]`` (or ``[n]``).
      y: samples ``[n, dy]`` (or ``[n]``), paired with ``x``.
      k: static number of neighbours, ``1 <= k < n``.
      block_size: static number of query rows per block.
      method: ``"brute"`` (blocked brute force, jit/vmap/grad-able),
        ``"tree"`` (host k-d tree, concrete arrays only) or ``"auto"``
        (the tree for concrete CPU arrays of (joint) dimension <= 8,
        brute force otherwise).

    Returns:
      A scalar, the mutual information estimate in nats.

    Raises:
      TypeError: on non-floating or mixed-dtype input.
      ValueError: on mismatched sample counts, non-finite values,
        ``k >= n`` or a bad ``method``.

    References:
      Kraskov, Stoegbauer & Grassberger, "Estimating mutual information",
      Phys. Rev. E 69, 066138, 2004, eq. 8.
      https://arxiv.org/abs/cond-mat/0305641

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxunlearn.info import ksg_mutual_information
      >>> x = jax.random.normal(jax.random.key(0), (2000,))
      >>> e = jax.random.normal(jax.random.key(1), (2000,))
      >>> y = 0.8 * x + 0.6 * e  # rho = 0.8: I = -log(0.36) / 2 = 0.511
      >>> abs(float(ksg_mutual_information(x, y)) - 0.511) < 0.05
      True
    """
    x, y = _samples("x", x), _samples("y", y)
    _checks.check_same_dtype(x=x, y=y)
    n = x.shape[0]
    if y.shape[0] != n:
        raise ValueError(
            f"y: expected {n} samples (as many as x), got {y.shape[0]}"
        )
    _check_k(k, n)
    _checks.check_positive_int("block_size", block_size)
    dt = x.dtype
    psi = digamma(jnp.asarray(k, dt)) + digamma(jnp.asarray(n, dt))
    if _use_tree(method, x.shape[1] + y.shape[1], x, y):
        xh, yh = np.asarray(x, np.float64), np.asarray(y, np.float64)
        eps = _tree_kth_distance(np.hstack([xh, yh]), k, np.inf)
        nx, ny = _tree_count_within(xh, eps), _tree_count_within(yh, eps)
        nx, ny = jnp.asarray(nx), jnp.asarray(ny)
    else:
        nx, ny = _ksg_counts(x, y, k, block_size)
    return psi - jnp.mean(
        digamma((nx + 1).astype(dt)) + digamma((ny + 1).astype(dt))
    )


def _ksg_counts(
    x: Array, y: Array, k: int, block_size: int
) -> tuple[Array, Array]:
    """Brute-force ``n_x(i)``, ``n_y(i)`` of KSG in blocks of query rows."""
    n = x.shape[0]
    rows = jnp.arange(n)

    def block(idx: Array) -> tuple[Array, Array]:
        safe = jnp.minimum(idx, n - 1)
        dx = jnp.max(jnp.abs(x[safe][:, None, :] - x[None, :, :]), axis=-1)
        dy = jnp.max(jnp.abs(y[safe][:, None, :] - y[None, :, :]), axis=-1)
        other = idx[:, None] != rows[None, :]
        dz = jnp.where(other, jnp.maximum(dx, dy), jnp.inf)
        eps = _kth_smallest(dz, k)[:, None]
        nx = jnp.sum(other & (dx < eps), axis=-1)
        ny = jnp.sum(other & (dy < eps), axis=-1)
        return nx, ny

    return _blocked(n, block_size, block)
