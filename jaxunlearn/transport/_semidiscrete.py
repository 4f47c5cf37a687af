r"""Semi-discrete transport onto a fixed discrete barycenter.

A discrete barycenter :math:`\nu = \sum_j b_j \delta_{y_j}` with few atoms,
and for every group :math:`z` a dual vector :math:`g_z` such that the
Laguerre cells

.. math:: T_z(x) = \operatorname{argmin}_j \|x - y_j\|^2 - g_z[j]

hold mass :math:`b_j` of the group's law: then :math:`T_Z(X)` has law
:math:`\nu` whatever :math:`Z` is, on rows the fit never saw too, because
the cells are fixed regions of feature space whose masses are estimated
from many rows each (few atoms). The semi-dual is concave; its entropic
smoothing (blur :math:`\varepsilon`) is solved by stochastic gradient on
minibatches with OTT-JAX's ``SemidiscreteSolver``, so memory is
:math:`O(\text{batch} \times m)`. With :math:`\varepsilon > 0` a row draws
its atom from :math:`p(j \mid x) \propto b_j \exp((g_j - \|x - y_j\|^2) /
\varepsilon)` (the law the smoothed dual balances); with
:math:`\varepsilon = 0` it takes the Laguerre cell.

The atoms are a free-support barycenter fixed point (Cuturi & Doucet 2014):
each atom moves to the weighted mean over groups of the conditional mean of
the group's rows in its cell.

References:
  Genevay, Cuturi, Peyre & Bach, "Stochastic Optimization for Large-scale
  Optimal Transport", NeurIPS 2016. https://arxiv.org/abs/1605.08527
  Cuturi & Doucet, "Fast Computation of Wasserstein Barycenters", ICML
  2014. https://arxiv.org/abs/1310.4375
"""

import dataclasses
import functools
import warnings

import numpy as np
import optax
from jaxtyping import Array, Float, Int

import jax
import jax.numpy as jnp


_CHUNK = 4096
_COST_CAP = 2**24
_ROW_PAD = 512
_ABSORB = 5.0


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class SemidiscreteBarycenter:
    """A discrete barycenter with the Laguerre potentials of every group.

    Attributes:
      atoms: barycenter support ``[m, d]``.
      weights: atom weights ``[m]`` (positive, summing to one).
      potentials: dual vectors ``[k, m]``, one per group.
      epsilon: entropic blur (scalar array); 0 means hard cells.
    """

    atoms: Float[Array, "m d"]
    weights: Float[Array, " m"]
    potentials: Float[Array, "k m"]
    epsilon: Float[Array, ""]


def laguerre_logits(
    x: Float[Array, "n d"],
    atoms: Float[Array, "m d"],
    potential: Float[Array, " m"],
    weights: Float[Array, " m"],
    epsilon: Float[Array, ""],
) -> Float[Array, "n m"]:
    r"""Logits of each row's atom law, :math:`\log b_j + (g_j - c) / \epsilon`.

    Unchecked and jit-ready. Preconditions: ``epsilon > 0``, matching
    ``d`` and ``m``, positive ``weights``.

    Args:
      x: rows ``[n, d]``.
      atoms: barycenter atoms ``[m, d]``.
      potential: the group's dual vector ``[m]``.
      weights: atom weights ``[m]``.
      epsilon: entropic blur (scalar).

    Returns:
      Logits ``[n, m]`` (unnormalized log-probabilities of the atoms).
    """
    cost = (
        jnp.sum(x * x, axis=1, keepdims=True)
        - 2.0 * x @ atoms.T
        + jnp.sum(atoms * atoms, axis=1)[None, :]
    )
    return jnp.log(weights)[None, :] + (potential[None, :] - cost) / epsilon


def laguerre_assign(
    key: jax.Array,
    x: Float[Array, "n d"],
    atoms: Float[Array, "m d"],
    potential: Float[Array, " m"],
    weights: Float[Array, " m"],
    epsilon: Float[Array, ""],
) -> Int[Array, " n"]:
    """The atom of each row: drawn (``epsilon > 0``) or its Laguerre cell.

    Unchecked and jit-ready; memory ``O(n m)`` (stream rows in chunks for
    large ``n``). Preconditions as :func:`laguerre_logits` except that
    ``epsilon`` may be 0.

    Args:
      key: PRNG key of the draws (unused when ``epsilon == 0``).
      x: rows ``[n, d]``.
      atoms: barycenter atoms ``[m, d]``.
      potential: the group's dual vector ``[m]``.
      weights: atom weights ``[m]``.
      epsilon: entropic blur (scalar); 0 gives the Laguerre cell.

    Returns:
      Atom indices ``[n]``.
    """
    cost = (
        jnp.sum(x * x, axis=1, keepdims=True)
        - 2.0 * x @ atoms.T
        + jnp.sum(atoms * atoms, axis=1)[None, :]
    )
    hard = jnp.argmin(cost - potential[None, :], axis=1)
    safe = jnp.where(epsilon > 0, epsilon, 1.0)
    logits = jnp.log(weights)[None, :] + (potential[None, :] - cost) / safe
    # One Gumbel draw per atom (jax.random.categorical). An inverse-CDF draw
    # needs one uniform a row, but changes every draw and so every recorded
    # repair; the transform's cost is small next to the fit either way.
    drawn = jax.random.categorical(key, logits, axis=1)
    return jnp.where(epsilon > 0, drawn, hard)


def semidiscrete_potential(
    key: jax.Array,
    x: Float[Array, "n d"],
    atoms: Float[Array, "m d"],
    weights: Float[Array, " m"],
    *,
    epsilon: float,
    num_iterations: int = 3000,
    batch_size: int = 512,
    learning_rate: float = 0.02,
    init: Float[Array, " m"] | None = None,
) -> Float[Array, " m"]:
    """The dual vector whose Laguerre cells give ``weights`` to ``x``'s law.

    Stochastic ascent on the entropic semi-dual (OTT-JAX
    ``SemidiscreteSolver``, Adam), minibatches of rows drawn with
    replacement from ``x``. ``epsilon`` must be positive (a Python float).
    Needs OTT-JAX 0.6 or later (the ``ot`` extra); OTT does not run
    under ``jax_numpy_rank_promotion="raise"``.

    Args:
      key: PRNG key of the minibatches.
      x: rows ``[n, d]`` of the group.
      atoms: barycenter atoms ``[m, d]``.
      weights: atom weights ``[m]``.
      epsilon: entropic blur (positive Python float).
      num_iterations: solver steps.
      batch_size: rows per step.
      learning_rate: Adam step size.
      init: starting dual vector ``[m]``; None means zeros.

    Returns:
      The dual vector ``[m]`` (OTT's moving average of the iterates).
    """
    return _potential(
        key,
        jnp.asarray(x),
        jnp.asarray(atoms),
        jnp.asarray(weights),
        jnp.zeros(atoms.shape[0], atoms.dtype) if init is None else init,
        float(epsilon),
        int(num_iterations),
        int(batch_size),
        float(learning_rate),
    )


@functools.partial(jax.jit, static_argnums=(5, 6, 7, 8))
def _potential(key, x, atoms, weights, init, eps, iters, batch, lr):
    with warnings.catch_warnings():
        # OTT imports jaxopt, which warns that it is unmaintained.
        warnings.simplefilter("ignore", DeprecationWarning)
        from ott.geometry import semidiscrete_pointcloud
        from ott.problems.linear import semidiscrete_linear_problem
        from ott.solvers.linear import semidiscrete as ott_semidiscrete

    n = x.shape[0]

    def sampler(rng, shape, dtype):
        rows = jax.random.randint(rng, shape[:1], 0, n)
        return x[rows].astype(dtype)

    geom = semidiscrete_pointcloud.SemidiscretePointCloud(
        sampler, atoms, epsilon=eps
    )
    prob = semidiscrete_linear_problem.SemidiscreteLinearProblem(
        geom, b=weights
    )
    solver = ott_semidiscrete.SemidiscreteSolver(
        num_iterations=iters,
        batch_size=batch,
        optimizer=optax.adam(lr),
        error_eval_every=iters,
        threshold=0.0,
    )
    return solver(key, prob, g_init=init).g


@jax.jit
def _chunk_sums(chunk, atoms, potential, weights, epsilon):
    p = jax.nn.softmax(
        laguerre_logits(chunk, atoms, potential, weights, epsilon), axis=1
    )
    return p.sum(0), p.T @ chunk


def refine_potential(
    x: Float[Array, "n d"],
    atoms: Float[Array, "m d"],
    potential: Float[Array, " m"],
    weights: Float[Array, " m"],
    epsilon: Float[Array, ""],
    steps: int = 50,
) -> Float[Array, " m"]:
    r"""Full-batch fixed-point steps on the rows ``x``.

    Each step sets :math:`g_j \leftarrow g_j + \varepsilon (\log b_j -
    \log \hat b_j(g))` with :math:`\hat b_j` the mean over rows of the
    entropic cell law (the Sinkhorn update of the atom side), so the cells
    hold exactly the weights ``b`` on ``x``. The costs ``[n, m]`` are
    computed once and all steps run in one compiled loop when ``n x m`` is
    at most 2**24; beyond, rows are streamed in chunks at every step
    (memory ``O(chunk x m)``). Eager.

    Args:
      x: rows ``[n, d]``.
      atoms: barycenter atoms ``[m, d]``.
      potential: the starting dual vector ``[m]``.
      weights: atom weights ``[m]``.
      epsilon: entropic blur (scalar).
      steps: number of fixed-point steps.

    Returns:
      The dual vector ``[m]`` (centred to mean zero).
    """
    g = jnp.asarray(potential)
    n, m = x.shape[0], atoms.shape[0]
    if n * m <= _COST_CAP:
        rows = -(-n // _ROW_PAD) * _ROW_PAD
        valid = jnp.arange(rows) < n
        xp = jnp.zeros((rows, x.shape[1]), x.dtype).at[:n].set(x)
        return _refine_cached(xp, valid, atoms, g, weights, epsilon, steps)
    for _ in range(int(steps)):
        mass, _ = _cell_sums(x, atoms, g, weights, epsilon)
        mass = mass / n
        g = g + epsilon * (jnp.log(weights) - jnp.log(mass + 1e-30))
        g = g - jnp.mean(g)
    return g


@jax.jit
def _refine_cached(x, valid, atoms, g, weights, epsilon, steps):
    """:func:`refine_potential`'s steps on costs computed once.

    The steps run in the scaling domain with log-stabilization (Schmitzer
    2019, https://arxiv.org/abs/1610.06519): ``kernel = exp(logits at g0 -
    row max)`` is formed once and each step is two matrix-vector products
    with ``exp((g - g0) / eps)``; the kernel is formed again at the
    current ``g`` whenever ``|g - g0|`` exceeds ``_ABSORB`` blurs, so no
    entry that matters underflows. Equal to the log-domain steps up to
    rounding.
    """
    cost = (
        jnp.sum(x * x, axis=1, keepdims=True)
        - 2.0 * x @ atoms.T
        + jnp.sum(atoms * atoms, axis=1)[None, :]
    )
    log_b = jnp.log(weights)
    base = log_b[None, :] - cost / epsilon
    n = jnp.sum(valid).astype(x.dtype)
    row_weight = valid.astype(x.dtype) / n

    def absorb(g0):
        logits = base + g0[None, :] / epsilon
        return jnp.exp(logits - jnp.max(logits, axis=1, keepdims=True))

    def step(_, carry):
        g, g0, kernel = carry
        w = jnp.exp((g - g0) / epsilon)
        mass = w * ((row_weight / (kernel @ w)) @ kernel)
        g = g + epsilon * (log_b - jnp.log(mass + 1e-30))
        g = g - jnp.mean(g)
        stale = jnp.max(jnp.abs(g - g0)) > _ABSORB * epsilon
        kernel = jax.lax.cond(stale, lambda: absorb(g), lambda: kernel)
        return g, jnp.where(stale, g, g0), kernel

    return jax.lax.fori_loop(0, steps, step, (g, g, absorb(g)))[0]


def semidiscrete_newton_step(
    potential: np.ndarray,
    mass: np.ndarray,
    second: np.ndarray,
    weights: np.ndarray,
    epsilon: float,
) -> np.ndarray:
    r"""One Newton step of the entropic semi-dual of one group (host).

    Gradient :math:`b - \hat b`, Hessian :math:`-(\operatorname{diag}
    \hat b - E[p p^\top]) / \varepsilon`, singular along the constant
    vector (fixed by adding it, with a damping of 1e-3 of the mean
    curvature so that rounding cannot swing directions the rows barely
    see); each coordinate's step is clipped to :math:`2 \varepsilon`.

    Args:
      potential: the dual vector ``[m]``.
      mass: mean cell law ``[m]`` over the group's rows.
      second: mean of :math:`p p^\top` ``[m, m]``.
      weights: atom weights ``[m]``.
      epsilon: entropic blur.

    Returns:
      The new dual vector ``[m]`` (float64, centred to mean zero).
    """
    hess = np.diag(mass) - second
    m = hess.shape[0]
    scale = np.trace(hess) / m
    hess = hess + scale * (np.ones((m, m)) / m + 1e-3 * np.eye(m))
    step = np.linalg.solve(hess, np.asarray(weights, np.float64) - mass)
    step = np.clip(epsilon * step, -2 * epsilon, 2 * epsilon)
    out = np.asarray(potential, np.float64) + step
    return out - out.mean()


def _cell_sums(x, atoms, potential, weights, epsilon):
    """Soft cell masses and first moments of the rows ``x`` (chunked)."""
    m, d = atoms.shape
    mass = jnp.zeros(m, x.dtype)
    first = jnp.zeros((m, d), x.dtype)
    for start in range(0, x.shape[0], _CHUNK):
        chunk = x[start : start + _CHUNK]
        cm, cf = _chunk_sums(chunk, atoms, potential, weights, epsilon)
        mass = mass + cm
        first = first + cf
    return mass, first


def fit_semidiscrete_barycenter(
    key: jax.Array,
    x: Float[Array, "n d"],
    index: Int[Array, " n"],
    num_groups: int,
    group_weights: Float[Array, " k"],
    *,
    num_atoms: int,
    epsilon: float,
    fixed_point_steps: int = 5,
    num_iterations: int = 0,
    batch_size: int = 512,
    learning_rate: float = 0.02,
    refine_steps: int = 100,
) -> SemidiscreteBarycenter:
    """Fits a discrete barycenter with uniform weights and its potentials.

    Eager (host loop over fixed-point steps and groups). Preconditions:
    every group has at least ``num_atoms`` rows, ``epsilon > 0``.

    Args:
      key: PRNG key (atom initialization and the solver's minibatches).
      x: rows ``[n, d]``.
      index: group code per row in ``[0, num_groups)``.
      num_groups: number of groups ``k``.
      group_weights: barycentric weights ``[k]`` summing to one.
      num_atoms: barycenter support size ``m``.
      epsilon: entropic blur of the semi-dual (absolute, squared units).
      fixed_point_steps: free-support updates of the atoms.
      num_iterations: iterations of OTT-JAX's stochastic
        ``SemidiscreteSolver`` as a warm start of each potential (0, the
        default, skips it: the full-batch steps alone converge; positive
        values need the ``ot`` extra).
      batch_size: rows per solver step.
      learning_rate: Adam step size of the solver.
      refine_steps: full-batch steps of :func:`refine_potential` after the
        stochastic solver.

    Returns:
      A :class:`SemidiscreteBarycenter`.
    """
    x = jnp.asarray(x)
    index_np = np.asarray(index)
    groups = [x[np.flatnonzero(index_np == z)] for z in range(num_groups)]
    k_init, key = jax.random.split(key)
    start = jax.random.choice(k_init, x.shape[0], (num_atoms,), replace=False)
    atoms = x[start]
    weights = jnp.full(num_atoms, 1.0 / num_atoms, x.dtype)
    pots = [jnp.zeros(num_atoms, x.dtype) for _ in range(num_groups)]
    eps = jnp.asarray(epsilon, x.dtype)
    gw = np.asarray(group_weights, np.float64)

    def warm(key, rows, atoms, g):
        if num_iterations <= 0:
            return g
        return semidiscrete_potential(
            key,
            rows,
            atoms,
            weights,
            epsilon=epsilon,
            num_iterations=num_iterations,
            batch_size=batch_size,
            learning_rate=learning_rate,
            init=g,
        )

    def potentials(key, atoms, pots):
        keys = jax.random.split(key, num_groups)
        return [
            refine_potential(
                groups[z],
                atoms,
                warm(keys[z], groups[z], atoms, pots[z]),
                weights,
                eps,
                refine_steps,
            )
            for z in range(num_groups)
        ]

    for _ in range(fixed_point_steps):
        key, sub = jax.random.split(key)
        pots = potentials(sub, atoms, pots)
        new = jnp.zeros_like(atoms)
        for z in range(num_groups):
            mass, first = _cell_sums(groups[z], atoms, pots[z], weights, eps)
            mean = first / jnp.maximum(mass, 1e-12)[:, None]
            new = new + float(gw[z]) * mean
        atoms = new
    key, sub = jax.random.split(key)
    pots = potentials(sub, atoms, pots)
    return SemidiscreteBarycenter(
        atoms=atoms,
        weights=weights,
        potentials=jnp.stack(pots),
        epsilon=eps,
    )
