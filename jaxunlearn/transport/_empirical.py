r"""Couplings between empirical laws, barycentric projections, McCann points.

Two empirical laws :math:`\mu = \sum_i a_i \delta_{x_i}` and
:math:`\nu = \sum_j b_j \delta_{y_j}` with the squared Euclidean cost
:math:`C_{ij} = \|x_i - y_j\|^2`.

* **Exact** couplings solve the linear program
  :math:`\min_{\pi \in \Pi(a, b)} \langle C, \pi \rangle` with the network
  simplex of POT (``ot.emd``, Bonneel et al. 2011). A basic optimal solution
  has at most :math:`n + m - 1` non-zero entries, so it is returned sparse.
  The dense cost matrix is built on the host (float64), so the exact solver
  is meant for :math:`n m` up to a few times :math:`10^7`; the network simplex
  is exact for any weights, where an assignment solver
  (``scipy.optimize.linear_sum_assignment``) only covers :math:`n = m` with
  uniform weights.
* **Entropic** couplings :math:`\pi_{ij} = \exp((f_i + g_j - C_{ij}) /
  \varepsilon)` come from a log-domain Sinkhorn (OTT-JAX's potentials
  convention, checked against OTT-JAX) whose cost is recomputed in blocks of
  ``batch_size`` rows, so memory stays :math:`O(n \cdot \text{batch})`; only
  the potentials are kept and rows of the coupling are recomputed on demand.

The barycentric projection of a coupling is
:math:`T(x_i) = \sum_j \pi_{ij} y_j / \sum_j \pi_{ij}` (the entropic map
when it is evaluated at new points with the potential ``g``), and the McCann
points of a coupling are :math:`(1 - s) x_i + s y_j` on its support; with
:math:`s = \lambda_1` they carry the exact two-group barycenter.

References:
  Bonneel, van de Panne, Paris & Heidrich, "Displacement interpolation using
  Lagrangian mass transport", SIGGRAPH Asia 2011.
  https://doi.org/10.1145/2070781.2024192
  Cuturi, "Sinkhorn distances: lightspeed computation of optimal transport",
  NeurIPS 2013. https://arxiv.org/abs/1306.0895
  Cuturi & Doucet, "Fast computation of Wasserstein barycenters", ICML 2014.
  https://arxiv.org/abs/1310.4375
  Pooladian & Niles-Weed, "Entropic estimation of optimal transport maps",
  2021. https://arxiv.org/abs/2109.12004
  Agueh & Carlier, "Barycenters in the Wasserstein space", SIAM J. Math.
  Anal. 2011. https://doi.org/10.1137/100805741
"""

import functools
from typing import NamedTuple

import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int

import jax
import jax.numpy as jnp

from jaxunlearn import _checks


class SparseCoupling(NamedTuple):
    r"""A coupling stored by its non-zero entries.

    Attributes:
      rows: source index of each entry. ``[e]`` int32.
      cols: target index of each entry. ``[e]`` int32.
      mass: mass of each entry (sums to 1). ``[e]``.
      cost: the transport cost :math:`\\langle C, \\pi \\rangle`. ``[]``.
    """

    rows: Int[Array, " e"]
    cols: Int[Array, " e"]
    mass: Float[Array, " e"]
    cost: Float[Array, ""]


class EntropicCoupling(NamedTuple):
    r"""An entropic coupling stored by its Sinkhorn potentials.

    The coupling is :math:`\\pi_{ij} = \\exp((f_i + g_j - \\|x_i - y_j\\|^2)
    / \\varepsilon)` (OTT-JAX's convention); its rows are recomputed on
    demand, never stored.

    Attributes:
      f: source potential. ``[n]``.
      g: target potential. ``[m]``.
      epsilon: the entropic regularization. ``[]``.
      converged: whether Sinkhorn met its threshold. ``[]`` bool.
      n_iters: Sinkhorn iterations run. ``[]`` int32.
      error: the last marginal error. ``[]``.
    """

    f: Float[Array, " n"]
    g: Float[Array, " m"]
    epsilon: Float[Array, ""]
    converged: Array
    n_iters: Array
    error: Array


def _check_cloud(name: str, x: ArrayLike) -> jax.Array:
    x = _checks.as_array(name, x)
    _checks.check_rank(name, x, 2)
    _checks.check_nonempty(name, x)
    _checks.check_floating(name, x)
    _checks.check_finite(name, x)
    return x


def _check_masses(name: str, a: ArrayLike | None, n: int) -> np.ndarray:
    """Validates sample weights ``[n]``; returns them normalized (float64)."""
    if a is None:
        return np.full(n, 1.0 / n)
    a = _checks.as_array(name, a)
    _checks.check_rank(name, a, 1)
    if a.shape[0] != n:
        raise ValueError(
            f"{name}: expected {n} sample weights (one per point), got"
            f" {a.shape[0]}"
        )
    _checks.check_floating(name, a)
    w = np.asarray(a, dtype=np.float64)
    if not np.all(np.isfinite(w)) or np.any(w < 0) or not np.any(w > 0):
        raise ValueError(
            f"{name}: expected finite non-negative weights with a positive"
            f" sum, got {w[:8].tolist()}..."
        )
    return w / w.sum()


def _sq_dist_np(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances ``[n, m]`` in float64, clipped at 0."""
    c = (
        np.sum(x * x, axis=1)[:, None]
        + np.sum(y * y, axis=1)[None, :]
        - 2.0 * (x @ y.T)
    )
    return np.maximum(c, 0.0)


def exact_coupling(
    x: Float[ArrayLike, "n d"],
    y: Float[ArrayLike, "m d"],
    a: Float[ArrayLike, " n"] | None = None,
    b: Float[ArrayLike, " m"] | None = None,
    *,
    max_iter: int | None = None,
) -> SparseCoupling:
    r"""Exact optimal coupling between two weighted empirical laws.

    Solves :math:`\min_{\pi \ge 0, \pi 1 = a, \pi^\top 1 = b}
    \sum_{ij} \pi_{ij} \|x_i - y_j\|^2` with the network simplex of POT
    (``ot.emd``) on the host in float64 and returns the non-zero entries
    (at most :math:`n + m - 1`). Eager only (not jittable); the dense cost
    matrix takes :math:`8 n m` bytes.

    Args:
      x: source points ``[n, d]``.
      y: target points ``[m, d]``.
      a: source weights ``[n]``; None means uniform. Normalized to sum 1.
      b: target weights ``[m]``; None means uniform. Normalized to sum 1.
      max_iter: network-simplex iteration cap; None means
        ``max(10**6, 50 * n * m)`` capped at ``10**9``.

    Returns:
      A :class:`SparseCoupling` in the dtype of ``x`` (entries sorted by row,
      then column).

    Raises:
      ValueError: bad ranks, shapes, weights or non-finite points.
      TypeError: non-floating points or weights.
      RuntimeError: the network simplex stopped before optimality.

    References:
      Bonneel et al., "Displacement interpolation using Lagrangian mass
      transport", SIGGRAPH Asia 2011. https://doi.org/10.1145/2070781.2024192

    Examples:
      >>> import jax.numpy as jnp
      >>> x = jnp.array([[0.0], [1.0]]); y = jnp.array([[1.1], [0.1]])
      >>> pi = exact_coupling(x, y)
      >>> [int(c) for c in pi.cols]
      [1, 0]
    """
    import ot  # noqa: PLC0415 - optional dependency (the `ot` extra).

    x = _check_cloud("x", x)
    y = _check_cloud("y", y)
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"y: expected {x.shape[1]} columns like x, got shape {y.shape}"
        )
    _checks.check_same_dtype(x=x, y=y)
    n, m = x.shape[0], y.shape[0]
    a64 = _check_masses("a", a, n)
    b64 = _check_masses("b", b, m)
    cost = _sq_dist_np(np.asarray(x, np.float64), np.asarray(y, np.float64))
    if max_iter is None:
        max_iter = int(min(max(10**6, 50 * n * m), 10**9))
    plan, log = ot.emd(a64, b64, cost, numItermax=max_iter, log=True)
    if log.get("result_code", 1) != 1:
        raise RuntimeError(
            "exact_coupling: the network simplex did not reach optimality"
            f" ({log.get('warning')}); raise max_iter"
        )
    rows, cols = np.nonzero(plan > 0)
    mass = plan[rows, cols]
    dtype = x.dtype
    return SparseCoupling(
        rows=jnp.asarray(rows, jnp.int32),
        cols=jnp.asarray(cols, jnp.int32),
        mass=jnp.asarray(mass, dtype),
        cost=jnp.asarray(float(np.sum(mass * cost[rows, cols])), dtype),
    )


def sparse_to_dense(
    coupling: SparseCoupling, n: int, m: int
) -> Float[Array, "n m"]:
    """Densifies a :class:`SparseCoupling`.

    Args:
      coupling: the sparse coupling.
      n: number of source points.
      m: number of target points.

    Returns:
      The coupling matrix ``[n, m]``.

    Examples:
      >>> import jax.numpy as jnp
      >>> pi = exact_coupling(jnp.zeros((2, 1)), jnp.ones((1, 1)))
      >>> sparse_to_dense(pi, 2, 1).tolist()
      [[0.5], [0.5]]
    """
    dense = jnp.zeros((n, m), coupling.mass.dtype)
    return dense.at[coupling.rows, coupling.cols].add(coupling.mass)


def entropic_coupling(
    x: Float[ArrayLike, "n d"],
    y: Float[ArrayLike, "m d"],
    a: Float[ArrayLike, " n"] | None = None,
    b: Float[ArrayLike, " m"] | None = None,
    *,
    epsilon: float | None = None,
    relative_epsilon: float = 0.05,
    batch_size: int | None = 1024,
    threshold: float = 1e-3,
    max_iterations: int = 2000,
) -> EntropicCoupling:
    r"""Entropic optimal coupling by log-domain Sinkhorn, with online costs.

    Solves :math:`\min_\pi \langle C, \pi \rangle - \varepsilon H(\pi)` with
    :math:`C_{ij} = \|x_i - y_j\|^2`. With ``batch_size`` the cost is never
    stored: each Sinkhorn step recomputes it in blocks of ``batch_size``
    rows, so memory is :math:`O((n + m) \cdot \text{batch})`. Potentials
    follow OTT-JAX's convention and agree with ``ott.solvers.linear.sinkhorn``
    (tested); OTT-JAX 0.6's own online ``PointCloud(batch_size=...)`` fails
    under jax 0.10 (it calls the removed ``batching.is_vmappable``), so the
    loop is written here, jitted, in one bounded ``lax.while_loop``.

    Args:
      x: source points ``[n, d]``.
      y: target points ``[m, d]``.
      a: source weights ``[n]``; None means uniform.
      b: target weights ``[m]``; None means uniform.
      epsilon: absolute regularization; None means ``relative_epsilon``
        times the mean cost (estimated on at most 1024 points per side).
      relative_epsilon: see ``epsilon``.
      batch_size: block size of the online cost; None stores the cost.
      threshold: Sinkhorn's marginal-error threshold.
      max_iterations: Sinkhorn's iteration cap.

    Returns:
      An :class:`EntropicCoupling` (potentials and diagnostics).

    Raises:
      ValueError: bad ranks, shapes, weights, or non-positive ``epsilon``.
      TypeError: non-floating points or weights.

    References:
      Cuturi, "Sinkhorn distances", NeurIPS 2013.
      https://arxiv.org/abs/1306.0895

    Examples:
      >>> import jax.numpy as jnp
      >>> x = jnp.array([[0.0], [1.0]]); y = jnp.array([[1.0], [0.0]])
      >>> out = entropic_coupling(x, y, epsilon=0.01, batch_size=None)
      >>> bool(out.converged)
      True
    """
    x = _check_cloud("x", x)
    y = _check_cloud("y", y)
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"y: expected {x.shape[1]} columns like x, got shape {y.shape}"
        )
    _checks.check_same_dtype(x=x, y=y)
    n, m = x.shape[0], y.shape[0]
    dtype = x.dtype
    a_ = jnp.asarray(_check_masses("a", a, n), dtype)
    b_ = jnp.asarray(_check_masses("b", b, m), dtype)
    if epsilon is None:
        _checks.check_nonnegative("relative_epsilon", relative_epsilon)
        xs = np.asarray(x[:1024], np.float64)
        ys = np.asarray(y[:1024], np.float64)
        mean_cost = float(np.mean(_sq_dist_np(xs, ys)))
        epsilon = relative_epsilon * max(mean_cost, np.finfo(dtype).eps)
    if not epsilon > 0:
        raise ValueError(f"epsilon: expected a value > 0, got {epsilon}")
    _checks.check_positive_int("max_iterations", max_iterations)
    if batch_size is None:
        batch_size = max(n, m)
    _checks.check_positive_int("batch_size", batch_size)
    f, g, err, it = _sinkhorn(
        x,
        y,
        a_,
        b_,
        jnp.asarray(epsilon, dtype),
        jnp.asarray(threshold, dtype),
        max_iterations=max_iterations,
        batch_size=min(batch_size, max(n, m)),
    )
    return EntropicCoupling(
        f=f,
        g=g,
        epsilon=jnp.asarray(epsilon, dtype),
        converged=err <= threshold,
        n_iters=it,
        error=err,
    )


@functools.partial(jax.jit, static_argnames=("max_iterations", "batch_size"))
def _sinkhorn(x, y, a, b, eps, threshold, *, max_iterations, batch_size):
    """Log-domain Sinkhorn with the cost recomputed in row blocks.

    Potentials follow OTT-JAX: pi_ij = exp((f_i + g_j - C_ij) / eps). The
    f-update's log-sum-exp r_i = LSE_j (g_j - C_ij) / eps also gives the
    current row marginal exp(f_i / eps + r_i), whose L1 gap to ``a`` is the
    error (the column marginal is exact after each g-update).
    """
    log_a = jnp.log(a)
    log_b = jnp.log(b)

    def lse_over(points, others, pot):
        def one(q):
            return jax.nn.logsumexp((pot - _sq_dist_row(q, others)) / eps)

        return jax.lax.map(one, points, batch_size=batch_size)

    def body(state):
        f, g, _, it = state
        r = lse_over(x, y, g)
        err = jnp.sum(jnp.abs(jnp.exp(f / eps + r) - a))
        f = eps * (log_a - r)
        g = eps * (log_b - lse_over(y, x, f))
        return f, g, err, it + 1

    def cond(state):
        _, _, err, it = state
        return (err > threshold) & (it < max_iterations)

    zero_f = jnp.zeros_like(a)
    zero_g = jnp.zeros_like(b)
    init = (zero_f, zero_g, jnp.asarray(jnp.inf, a.dtype), jnp.int32(0))
    # One step first so the error of the returned potentials is measured.
    f, g, _, it = jax.lax.while_loop(cond, body, init)
    r = lse_over(x, y, g)
    err = jnp.sum(jnp.abs(jnp.exp(f / eps + r) - a))
    return f, g, err, it


def _sq_dist_row(q: Array, y: Array) -> Array:
    """``||q - y_j||^2`` for one query ``[d]`` against ``y`` ``[m, d]``."""
    return jnp.maximum(
        jnp.sum(q * q) + jnp.sum(y * y, axis=1) - 2.0 * (y @ q), 0.0
    )


def entropic_logits(
    q: Float[ArrayLike, " d"],
    y: Float[ArrayLike, "m d"],
    g: Float[ArrayLike, " m"],
    epsilon: ArrayLike,
) -> Float[Array, " m"]:
    r"""Log-weights of the entropic conditional law of a partner of ``q``.

    :math:`\log p(j \mid q) = (g_j - \|q - y_j\|^2) / \varepsilon` up to a
    constant: the row of the entropic coupling, extended to any point ``q``
    (the c-transform of ``g``).

    Args:
      q: one query point ``[d]`` (vmap for many).
      y: target points ``[m, d]``.
      g: target potential ``[m]``.
      epsilon: the regularization ``[]``.

    Returns:
      Unnormalized log-probabilities ``[m]``.
    """
    return (jnp.asarray(g) - _sq_dist_row(jnp.asarray(q), jnp.asarray(y))) / (
        epsilon
    )


def entropic_map(
    x: Float[ArrayLike, "n d"],
    y: Float[ArrayLike, "m d"],
    coupling: EntropicCoupling,
    *,
    batch_size: int = 256,
) -> Float[Array, "n d"]:
    r"""Entropic map: the barycentric projection at any points.

    :math:`T_\varepsilon(x) = \sum_j \mathrm{softmax}_j((g_j - \|x - y_j\|^2)
    / \varepsilon)\, y_j`, computed in blocks of ``batch_size`` rows
    (memory :math:`O(\text{batch} \cdot m)`). At the fitted points it is the
    barycentric projection of the entropic coupling.

    Args:
      x: points to map ``[n, d]`` (fitted or new).
      y: target points ``[m, d]`` the coupling was fitted to.
      coupling: an :class:`EntropicCoupling` from ``x``'s law to ``y``.
      batch_size: rows per block.

    Returns:
      Mapped points ``[n, d]``.

    References:
      Pooladian & Niles-Weed, "Entropic estimation of optimal transport
      maps", 2021. https://arxiv.org/abs/2109.12004
    """
    x = jnp.asarray(x)
    y = jnp.asarray(y)

    def one(q):
        w = jax.nn.softmax(entropic_logits(q, y, coupling.g, coupling.epsilon))
        return w @ y

    return jax.lax.map(one, x, batch_size=batch_size)


def barycentric_projection(
    coupling: SparseCoupling, y: Float[ArrayLike, "m d"], n: int
) -> Float[Array, "n d"]:
    r"""Barycentric projection of a sparse coupling.

    :math:`T(x_i) = \sum_j \pi_{ij} y_j / \sum_j \pi_{ij}`; a source point
    with no mass maps to 0.

    Args:
      coupling: a :class:`SparseCoupling` from ``n`` points to ``y``.
      y: target points ``[m, d]``.
      n: number of source points.

    Returns:
      The projected points ``[n, d]``.

    Examples:
      >>> import jax.numpy as jnp
      >>> x = jnp.array([[0.0], [1.0]]); y = jnp.array([[1.1], [0.1]])
      >>> barycentric_projection(exact_coupling(x, y), y, 2)[:, 0].tolist()
      [0.10000000149011612, 1.100000023841858]
    """
    y = jnp.asarray(y)
    num = jax.ops.segment_sum(
        coupling.mass[:, None] * y[coupling.cols], coupling.rows, n
    )
    den = jax.ops.segment_sum(coupling.mass, coupling.rows, n)
    safe = jnp.where(den > 0, den, 1.0)
    return jnp.where(den[:, None] > 0, num / safe[:, None], 0.0)


def mccann_points(
    x: Float[ArrayLike, "n d"],
    y: Float[ArrayLike, "m d"],
    coupling: SparseCoupling,
    t: ArrayLike,
) -> Float[Array, "e d"]:
    r"""McCann interpolants on the support of a coupling.

    :math:`(1 - t) x_i + t y_j` for each entry :math:`(i, j)` of the
    coupling; with masses ``coupling.mass`` they form the displacement
    interpolation :math:`\mu_t`. For two groups with weights
    :math:`\lambda_0, \lambda_1` and ``t = lambda_1`` this is the exact
    Wasserstein-2 barycenter of the two empirical laws.

    Args:
      x: source points ``[n, d]``.
      y: target points ``[m, d]``.
      coupling: a :class:`SparseCoupling` from ``x`` to ``y``.
      t: interpolation time ``[]`` in ``[0, 1]``.

    Returns:
      The interpolated atoms ``[e, d]`` (one per coupling entry).

    Raises:
      ValueError: ``t`` outside ``[0, 1]``.

    References:
      McCann, "A convexity principle for interacting gases", Adv. Math.
      1997. https://doi.org/10.1006/aima.1997.1634
    """
    _checks.check_unit_interval("t", t)
    x = jnp.asarray(x)
    y = jnp.asarray(y)
    t = jnp.asarray(t, x.dtype)
    return (1 - t) * x[coupling.rows] + t * y[coupling.cols]
