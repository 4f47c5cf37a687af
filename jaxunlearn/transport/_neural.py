r"""Neural optimal transport (saddle point) and the two-group neural barycenter.

A transport network ``T`` and a potential ``f`` are trained on the max-min
problem of Korotin, Selikhanovych and Burnaev (ICLR 2023):

.. math::
   \sup_f \inf_T \; \mathbb{E}_{x \sim \mu}\big[c(x, T(x)) - f(T(x))\big]
   + \mathbb{E}_{y \sim \nu}\big[f(y)\big],
   \qquad c(x, y) = \tfrac{1}{2d}\lVert x - y \rVert^2 ,

with ``k_t`` updates of ``T`` per update of ``f`` (Algorithm 1 of the paper).
The cost is scaled by the dimension ``d`` (a mean over pixels), which rescales
``f`` and leaves the optimal map unchanged. At the saddle point ``T`` is the
Monge map from ``mu`` to ``nu``.

For two groups with weights ``(w0, w1)`` the Wasserstein-2 barycenter is the
McCann point of the optimal map: group 0 is sent to
``(1 - w1) x + w1 T01(x)`` and group 1 to ``(1 - w0) y + w0 T10(y)``, with
``T10`` the reverse map trained separately; partial repair ``t`` moves a point
the fraction ``t`` of the way (SPEC 2.4, 2.5).

With ``NeuralOTConfig(prior_components=k)`` both networks get a fixed
closed-form part (:class:`NeuralOTPrior`): ``T`` starts at the Gaussian OT
map between the groups' top-``k`` PCA codes and ``f`` at its quadratic
potential, a stationary pair of the saddle problem, and the networks learn
the residual.

Every phase is a pure, jit-compiled function of a :class:`NeuralOTState`
(network parameters, optimizer states, step counter and PRNG key), so a run
checkpointed with :func:`save_neural_ot_state` and resumed with
:func:`load_neural_ot_state` reproduces the uninterrupted run exactly.

References:
  Korotin, Selikhanovych and Burnaev, "Neural Optimal Transport", ICLR 2023.
  https://arxiv.org/abs/2201.12220
  McCann, "A convexity principle for interacting gases", Advances in
  Mathematics 128, 1997. https://doi.org/10.1006/aima.1997.1634
"""

import dataclasses
import functools
import math
import os
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jaxtyping import Array, ArrayLike, Float, Int

from jaxunlearn import _checks, _io
from jaxunlearn.transport._neural_nets import (
    ConvPotential,
    ConvTransport,
    MLPPotential,
    MLPTransport,
)

_CHECKPOINT_KIND = "transport.neural_ot_state"


class NeuralOTConfig(NamedTuple):
    """Static settings of a neural OT run (hashable; a jit static argument).

    Attributes:
      num_iterations: outer iterations (each ``k_t`` T-steps and one f-step).
      k_t: transport updates per potential update.
      batch_size: samples per step from each group.
      learning_rate_t: Adam learning rate of the transport network.
      learning_rate_f: Adam learning rate of the potential.
      width: channels of the first conv layer (images); the default 8 is a
        CPU demo size, use 32-64 on a GPU.
      hidden: hidden units of the vector MLPs.
      depth: hidden layers of the vector MLPs.
      prior_components: 0 (default) starts ``T`` at the identity; ``k > 0``
        adds a fixed low-rank affine part to ``T``, the Gaussian OT map
        between the groups' top-``k`` PCA coordinates (the PCA-Gaussian
        baseline), so training starts at that map and the networks learn the
        residual (:func:`fit_neural_ot`, :func:`fit_neural_barycenter`).
    """

    num_iterations: int = 400
    k_t: int = 5
    batch_size: int = 64
    learning_rate_t: float = 1e-3
    learning_rate_f: float = 1e-3
    width: int = 8
    hidden: int = 64
    depth: int = 2
    prior_components: int = 0


DEFAULT_CONFIG = NeuralOTConfig()


class NeuralOTPrior(NamedTuple):
    r"""Fixed low-rank affine part of a transport map.

    .. math::
       m(x) = \big(((x - \mu) V) M + b\big) V^\top

    on flattened samples, so ``T(x) = x + m(x) + g(x)`` with ``g`` the
    network (zero at initialization), and the matching quadratic part of the
    potential, ``f(y) = f_net(y) + (u Q u^T / 2 + u q) / D`` with
    ``u = (y - mu) V``, ``Q = I - A^{-1}``, ``q = b A^{-1}``,
    ``A = I + M``: then ``grad_y [c(x, y) - f(y)] = 0`` at ``y = x + m(x)``,
    so the prior pair is a stationary point of the saddle problem.

    Attributes:
      mean: ``mu``, ``[D]``.
      basis: orthonormal columns ``V``, ``[D, k]``.
      matrix: ``M``, ``[k, k]`` (row-vector convention, symmetric).
      offset: ``b``, ``[k]``.
      potential_matrix: ``Q``, ``[k, k]``.
      potential_offset: ``q``, ``[k]``.
    """

    mean: Array
    basis: Array
    matrix: Array
    offset: Array
    potential_matrix: Array
    potential_offset: Array


def _prior_potential(prior: NeuralOTPrior | None, y: Array) -> Array:
    """Quadratic prior part of ``f`` at ``y`` (any layout), ``[b]``."""
    flat = y.reshape(y.shape[0], -1)
    if prior is None:
        return jnp.zeros(y.shape[:1], y.dtype)
    u = (flat - prior.mean[None, :]) @ prior.basis
    quad = 0.5 * jnp.sum((u @ prior.potential_matrix) * u, axis=1)
    lin = u @ prior.potential_offset
    return (quad + lin) / jnp.asarray(flat.shape[1], y.dtype)


def _prior_move(prior: NeuralOTPrior | None, x: Array) -> Array:
    """``m(x)`` of :class:`NeuralOTPrior` (zeros for ``None``), ``x``-shaped."""
    if prior is None:
        return jnp.zeros_like(x)
    flat = x.reshape(x.shape[0], -1)
    lat = (flat - prior.mean[None, :]) @ prior.basis
    move = (lat @ prior.matrix + prior.offset[None, :]) @ prior.basis.T
    return move.reshape(x.shape)


class NeuralOTState(NamedTuple):
    """Training state: a pytree of arrays, saved leaf by leaf.

    Attributes:
      t_params: parameters of the transport network (an ``nnx.State``).
      f_params: parameters of the potential (an ``nnx.State``).
      t_opt_state: optax state of the transport optimizer.
      f_opt_state: optax state of the potential optimizer.
      step: outer iterations done, ``[]`` int32.
      key: PRNG key for batch sampling.
      prior: fixed affine part of ``T`` (:class:`NeuralOTPrior`), or
        ``None`` for ``T(x) = x + g(x)``; not trained.
    """

    t_params: Any
    f_params: Any
    t_opt_state: Any
    f_opt_state: Any
    step: Array
    key: Array
    prior: NeuralOTPrior | None = None


# --------------------------------------------------------- static builders


class _Build(NamedTuple):
    t_graph: Any
    f_graph: Any
    t_params: Any
    f_params: Any
    opt_t: optax.GradientTransformation
    opt_f: optax.GradientTransformation


def _net_shape(sample_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Per-sample shape the networks see (grayscale gets a channel axis)."""
    return sample_shape + (1,) if len(sample_shape) == 2 else sample_shape


@functools.lru_cache(maxsize=32)
def _build(
    config: NeuralOTConfig, sample_shape: tuple[int, ...], dtype_name: str
) -> _Build:
    """Graph definitions and optimizers for a config (cached; static)."""
    dtype = jnp.dtype(dtype_name)
    rngs = nnx.Rngs(0)
    shape = _net_shape(sample_shape)
    if len(shape) == 1:
        t_net = MLPTransport(
            shape[0],
            width=config.hidden,
            depth=config.depth,
            dtype=dtype,
            rngs=rngs,
        )
        f_net = MLPPotential(
            shape[0],
            width=config.hidden,
            depth=config.depth,
            dtype=dtype,
            rngs=rngs,
        )
    else:
        t_net = ConvTransport(
            shape[-1], width=config.width, dtype=dtype, rngs=rngs
        )
        f_net = ConvPotential(shape, width=config.width, dtype=dtype, rngs=rngs)
    t_graph, t_params = nnx.split(t_net)
    f_graph, f_params = nnx.split(f_net)
    return _Build(
        t_graph,
        f_graph,
        t_params,
        f_params,
        optax.adam(config.learning_rate_t),
        optax.adam(config.learning_rate_f),
    )


def _init_params(template: Any, key: Array) -> Any:
    """Re-draws every parameter of ``template`` from ``key``.

    Kernels get a LeCun-normal draw (fan-in over all but the last axis),
    biases and zero-initialized tensors stay zero.
    """
    leaves, treedef = jax.tree.flatten(template)
    keys = jax.random.split(key, len(leaves))
    new = []
    for leaf, k in zip(leaves, keys, strict=True):
        if leaf.ndim < 2 or not np.any(np.asarray(leaf)):
            new.append(jnp.zeros_like(leaf))
            continue
        fan_in = int(np.prod(leaf.shape[:-1]))
        std = jnp.asarray(1.0 / math.sqrt(fan_in), dtype=leaf.dtype)
        new.append(
            jax.random.truncated_normal(
                k, -2.0, 2.0, leaf.shape, dtype=leaf.dtype
            )
            * std
            / jnp.asarray(0.87962566, dtype=leaf.dtype)
        )
    return jax.tree.unflatten(treedef, new)


def _to_net(x: Array, sample_shape: tuple[int, ...]) -> Array:
    return x[..., None] if len(sample_shape) == 2 else x


def _from_net(x: Array, sample_shape: tuple[int, ...]) -> Array:
    return x[..., 0] if len(sample_shape) == 2 else x


def _gaussian_priors(
    x: Array, z: np.ndarray, weights: Array, num_components: int
) -> tuple[NeuralOTPrior, NeuralOTPrior]:
    r"""Priors ``(0 -> 1, 1 -> 0)``: the Gaussian maps in a PCA latent space.

    With the PCA-Gaussian barycenter maps ``B_z`` of
    :func:`jaxunlearn.transport.fit_pca_gaussian_barycenter` (pooled PCA,
    weights ``w``), the Gaussian OT map from group ``z`` to the other group
    is ``T_z(l) = l + (B_z(l) - l) / w_{1-z}`` (for two Gaussians the McCann
    point ``w_z l + w_{1-z} T_z(l)`` is the barycenter), so the neural
    barycenter at initialization is exactly the PCA-Gaussian repair.
    """
    from jaxunlearn.transport._latent import fit_pca_gaussian_barycenter

    k = min(num_components, x.shape[0], math.prod(x.shape[1:]))
    model = fit_pca_gaussian_barycenter(
        x, z, num_groups=2, num_components=k, weights=weights
    )
    eye = jnp.eye(k, dtype=x.dtype)
    out = []
    for g in (0, 1):
        scale = model.weights[1 - g]
        matrix = (model.maps[g].T - eye) / scale
        offset = model.offsets[g] / scale
        a_inv = jnp.linalg.inv(eye + matrix)
        q_mat = eye - a_inv
        out.append(
            NeuralOTPrior(
                mean=model.mean,
                basis=model.components,
                matrix=matrix,
                offset=offset,
                potential_matrix=0.5 * (q_mat + q_mat.T),
                potential_offset=offset @ a_inv,
            )
        )
    return out[0], out[1]


def _zero_head(f_params: Any) -> Any:
    """``f_params`` with the potential's output layer zeroed (``f_net = 0``)."""

    def zero(path, leaf):
        names = {getattr(p, "key", None) for p in path}
        hit = names & {"head", "out"} and "kernel" in names
        return jnp.zeros_like(leaf) if hit else leaf

    return jax.tree_util.tree_map_with_path(zero, f_params)


def _transport(
    graph: Any,
    params: Any,
    prior: NeuralOTPrior | None,
    x: Array,
    shape: tuple[int, ...],
) -> Array:
    """``T(x) = x + m(x) + g(x)`` in the network layout, ``x`` in samples'."""
    xn = _to_net(x, shape)
    return nnx.merge(graph, params)(xn) + _to_net(_prior_move(prior, x), shape)


def _cost(x: Array, y: Array) -> Array:
    """Per-sample ``||x - y||^2 / (2 d)``, ``[b]``."""
    axes = tuple(range(1, x.ndim))
    return 0.5 * jnp.mean(jnp.square(x - y), axis=axes)


def _validate_samples(name: str, x: Any) -> Array:
    x = _checks.as_array(name, x)
    _checks.check_floating(name, x)
    _checks.check_rank(name, x, (2, 3, 4))
    _checks.check_nonempty(name, x)
    _checks.check_finite(name, x)
    return x


# --------------------------------------------------------------- the steps


def init_neural_ot(
    sample: Float[ArrayLike, "n ..."],
    *,
    key: Array,
    config: NeuralOTConfig = DEFAULT_CONFIG,
    prior: NeuralOTPrior | None = None,
) -> NeuralOTState:
    """Initial training state for samples shaped like ``sample``.

    Args:
      sample: a batch ``[n, d]`` (vectors), ``[n, h, w]`` (grayscale images)
        or ``[n, h, w, c]``; only its trailing shape and dtype are used.
        The parameters take its floating dtype.
      key: PRNG key (parameters and the sampling stream).
      config: static settings.
      prior: optional fixed affine part of ``T`` and quadratic part of
        ``f`` (:class:`NeuralOTPrior`); ``T`` then starts at ``x + m(x)``
        and the potential network's output layer at zero, so training
        starts at the prior's stationary pair.

    Returns:
      A :class:`NeuralOTState` at step 0 (``T`` starts at the identity, or
      at the prior's map).

    Raises:
      TypeError, ValueError: on non-floating, badly ranked or empty input,
        or a ``key`` that is not a PRNG key.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxunlearn.transport import NeuralOTConfig, init_neural_ot
      >>> s = init_neural_ot(jnp.zeros((4, 2)), key=jax.random.key(0))
      >>> int(s.step)
      0
    """
    sample = _checks.as_array("sample", sample)
    _checks.check_floating("sample", sample)
    _checks.check_rank("sample", sample, (2, 3, 4))
    _checks.check_key("key", key)
    b = _build(config, tuple(sample.shape[1:]), sample.dtype.name)
    k_t, k_f, k_s = jax.random.split(key, 3)
    t_params = _init_params(b.t_params, k_t)
    f_params = _init_params(b.f_params, k_f)
    if prior is not None:
        f_params = _zero_head(f_params)
    return NeuralOTState(
        t_params=t_params,
        f_params=f_params,
        t_opt_state=b.opt_t.init(t_params),
        f_opt_state=b.opt_f.init(f_params),
        step=jnp.asarray(0, jnp.int32),
        key=k_s,
        prior=prior,
    )


@functools.partial(jax.jit, static_argnames=("config",))
def neural_ot_t_step(
    state: NeuralOTState,
    x: Float[ArrayLike, "b ..."],
    *,
    config: NeuralOTConfig,
) -> tuple[NeuralOTState, Float[Array, ""]]:
    r"""One update of the transport network (the inner ``inf_T``).

    Minimizes :math:`\mathbb{E}_x[c(x, T(x)) - f(T(x))]` on the batch.

    Args:
      x: source batch ``[b, ...]``.
      state: current state.
      config: static settings (must match the state's).

    Returns:
      ``(new_state, loss)``.
    """
    x = jnp.asarray(x)
    shape = tuple(x.shape[1:])
    b = _build(config, shape, x.dtype.name)

    def loss_fn(t_params):
        f_net = nnx.merge(b.f_graph, state.f_params)
        tx = _transport(b.t_graph, t_params, state.prior, x, shape)
        f_tx = f_net(tx) + _prior_potential(state.prior, tx)
        return jnp.mean(_cost(_to_net(x, shape), tx) - f_tx)

    loss, grads = jax.value_and_grad(loss_fn)(state.t_params)
    # optax mixes Python floats with int32 counts: standard promotion.
    with jax.numpy_dtype_promotion("standard"):
        updates, opt = b.opt_t.update(grads, state.t_opt_state, state.t_params)
        params = optax.apply_updates(state.t_params, updates)
    return state._replace(t_params=params, t_opt_state=opt), loss


@functools.partial(jax.jit, static_argnames=("config",))
def neural_ot_f_step(
    state: NeuralOTState,
    x: Float[ArrayLike, "b ..."],
    y: Float[ArrayLike, "b ..."],
    *,
    config: NeuralOTConfig,
) -> tuple[NeuralOTState, Float[Array, ""]]:
    r"""One update of the potential (the outer ``sup_f``).

    Minimizes :math:`\mathbb{E}_x[f(T(x))] - \mathbb{E}_y[f(y)]` with ``T``
    held fixed.

    Args:
      state: current state.
      x: source batch ``[b, ...]``.
      y: target batch ``[b, ...]``.
      config: static settings.

    Returns:
      ``(new_state, loss)``.
    """
    x = jnp.asarray(x)
    y = jnp.asarray(y)
    shape = tuple(x.shape[1:])
    b = _build(config, shape, x.dtype.name)
    tx = jax.lax.stop_gradient(
        _transport(b.t_graph, state.t_params, state.prior, x, shape)
    )

    def loss_fn(f_params):
        f_net = nnx.merge(b.f_graph, f_params)
        yn = _to_net(y, shape)
        f_tx = f_net(tx) + _prior_potential(state.prior, tx)
        f_y = f_net(yn) + _prior_potential(state.prior, yn)
        return jnp.mean(f_tx) - jnp.mean(f_y)

    loss, grads = jax.value_and_grad(loss_fn)(state.f_params)
    # optax mixes Python floats with int32 counts: standard promotion.
    with jax.numpy_dtype_promotion("standard"):
        updates, opt = b.opt_f.update(grads, state.f_opt_state, state.f_params)
        params = optax.apply_updates(state.f_params, updates)
    return state._replace(f_params=params, f_opt_state=opt), loss


class NeuralOTMetrics(NamedTuple):
    """Losses of one outer iteration.

    Attributes:
      t_loss: mean transport loss over the ``k_t`` T-steps, ``[]``.
      f_loss: potential loss ``E f(T x) - E f(y)``, ``[]``.
    """

    t_loss: Array
    f_loss: Array


def neural_ot_iteration(
    state: NeuralOTState,
    source: Float[ArrayLike, "n ..."],
    target: Float[ArrayLike, "m ..."],
    *,
    config: NeuralOTConfig,
) -> tuple[NeuralOTState, NeuralOTMetrics]:
    """One outer iteration: ``k_t`` T-steps, then one f-step.

    Batches are drawn with replacement from ``source`` and ``target`` with
    the state's key, which is then advanced, so the iteration is a pure
    function of ``(state, source, target)``. It is jit-compiled once per
    config and total sample count ``n + m``.

    Args:
      state: current state.
      source: all source samples ``[n, ...]``.
      target: all target samples ``[m, ...]``.
      config: static settings.

    Returns:
      ``(new_state, metrics)`` with ``step`` incremented.
    """
    source = jnp.asarray(source)
    target = jnp.asarray(target)
    data = jnp.concatenate([source, target], axis=0)
    n, m = source.shape[0], target.shape[0]
    bounds = jnp.asarray([0, n, n, m], jnp.int32)
    return _iteration(state, data, bounds, config=config)


@functools.partial(jax.jit, static_argnames=("config",))
def _iteration(
    state: NeuralOTState, data: Array, bounds: Array, *, config: NeuralOTConfig
) -> tuple[NeuralOTState, NeuralOTMetrics]:
    """:func:`neural_ot_iteration` on stacked groups.

    ``data[bounds[0] : bounds[0] + bounds[1]]`` is the source and
    ``data[bounds[2] : bounds[2] + bounds[3]]`` the target, so both
    directions of a barycenter share one compilation.
    """
    key, k_t, k_x, k_y = jax.random.split(state.key, 4)
    s0, n, t0, m = bounds[0], bounds[1], bounds[2], bounds[3]
    shape = (config.k_t, config.batch_size)
    t_idx = s0 + jax.random.randint(k_t, shape, 0, n, dtype=jnp.int32)

    def t_body(s, idx):
        return neural_ot_t_step(s, data[idx], config=config)

    # Unrolled: XLA:CPU runs these convolutions several times slower inside
    # a while loop than in straight-line code (benchmarks/bench_neural_ot.py
    # measures both); k_t is small and static.
    state, t_losses = jax.lax.scan(t_body, state, t_idx, unroll=True)
    x_idx = s0 + jax.random.randint(
        k_x, (config.batch_size,), 0, n, dtype=jnp.int32
    )
    y_idx = t0 + jax.random.randint(
        k_y, (config.batch_size,), 0, m, dtype=jnp.int32
    )
    state, f_loss = neural_ot_f_step(
        state, data[x_idx], data[y_idx], config=config
    )
    state = state._replace(step=state.step + 1, key=key)
    return state, NeuralOTMetrics(jnp.mean(t_losses), f_loss)


# ------------------------------------------------------------- checkpoints


def save_neural_ot_state(
    path: str | os.PathLike,
    state: NeuralOTState,
    *,
    config: NeuralOTConfig,
) -> None:
    """Saves a training state atomically (pickle-free ``.npz``).

    Every leaf of the state is stored as an array (the key as its raw key
    data), with the config and the leaf shapes in the metadata.

    Args:
      path: destination file.
      state: the state to save.
      config: its settings (stored and checked on load).

    Returns:
      None.
    """
    impl = str(jax.random.key_impl(state.key))
    state = state._replace(key=jax.random.key_data(state.key))
    leaves = jax.tree.leaves(state)
    arrays = {f"leaf_{i:05d}": np.asarray(v) for i, v in enumerate(leaves)}
    meta = {
        "config": dict(config._asdict()),
        "num_leaves": len(leaves),
        "key_impl": impl,
    }
    _io.save_arrays(path, arrays, kind=_CHECKPOINT_KIND, meta=meta)


def load_neural_ot_state(
    path: str | os.PathLike,
    template: NeuralOTState,
    *,
    config: NeuralOTConfig,
) -> NeuralOTState:
    """Loads a state saved by :func:`save_neural_ot_state`.

    Args:
      path: the checkpoint file.
      template: a state of the same structure (e.g. from
        :func:`init_neural_ot` with the same sample shape and config); its
        values are ignored.
      config: the settings the checkpoint must have been written with
        (``num_iterations`` may differ: a run can be extended).

    Returns:
      The saved :class:`NeuralOTState`.

    Raises:
      ValueError: unreadable file, another config, or leaves whose shapes or
        dtypes differ from the template's.
    """
    arrays, meta = _io.load_arrays(path, kind=_CHECKPOINT_KIND)
    # num_iterations does not change the trajectory: a run may be extended.
    saved = dict(meta.get("config") or {})
    saved.pop("num_iterations", None)
    # Checkpoints written before the prior option had no prior.
    saved.setdefault("prior_components", 0)
    wanted = config._replace(num_iterations=0)._asdict()
    wanted.pop("num_iterations")
    if saved != dict(wanted):
        raise ValueError(
            f"path: checkpoint was written with config {meta.get('config')},"
            f" expected {dict(config._asdict())}"
        )
    tmpl = template._replace(key=jax.random.key_data(template.key))
    leaves, treedef = jax.tree.flatten(tmpl)
    if meta.get("num_leaves") != len(leaves) or len(arrays) != len(leaves):
        raise ValueError(
            f"path: checkpoint has {len(arrays)} arrays, the template"
            f" {len(leaves)}"
        )
    new = []
    for i, ref in enumerate(leaves):
        arr = arrays[f"leaf_{i:05d}"]
        if arr.shape != ref.shape or arr.dtype != ref.dtype:
            raise ValueError(
                f"path: leaf {i} has shape {arr.shape} and dtype {arr.dtype},"
                f" the template {ref.shape} and {ref.dtype}"
            )
        new.append(jnp.asarray(arr))
    state = jax.tree.unflatten(treedef, new)
    return state._replace(key=jax.random.wrap_key_data(state.key))


# ------------------------------------------------------------ fitted maps


@functools.partial(
    jax.tree_util.register_dataclass,
    data_fields=["t_params", "prior"],
    meta_fields=["config", "sample_shape", "dtype_name"],
)
@dataclasses.dataclass(frozen=True)
class NeuralOTMap:
    """A trained transport network (a frozen pytree).

    Attributes:
      t_params: parameters of ``T``.
      config: the settings it was trained with (static).
      sample_shape: the per-sample shape it maps (static).
      dtype_name: the floating dtype (static).
      prior: the fixed affine part of ``T`` (:class:`NeuralOTPrior`) or
        ``None``.
    """

    t_params: Any
    config: NeuralOTConfig
    sample_shape: tuple[int, ...]
    dtype_name: str
    prior: NeuralOTPrior | None = None


def _apply(ot_map: NeuralOTMap, x: Array) -> Array:
    b = _build(ot_map.config, ot_map.sample_shape, ot_map.dtype_name)
    shape = ot_map.sample_shape
    tx = _transport(b.t_graph, ot_map.t_params, ot_map.prior, x, shape)
    return _from_net(tx, shape)


_apply_jit = jax.jit(_apply)


def _check_matches(name: str, x: Array, shape, dtype_name: str) -> None:
    if tuple(x.shape[1:]) != tuple(shape):
        raise ValueError(
            f"{name}: expected samples of shape {tuple(shape)} (as fitted),"
            f" got {tuple(x.shape[1:])}"
        )
    if x.dtype.name != dtype_name:
        raise TypeError(
            f"{name}: expected dtype {dtype_name} (as fitted), got {x.dtype}"
        )


def apply_neural_ot(
    ot_map: NeuralOTMap, x: Float[ArrayLike, "n ..."]
) -> Float[Array, "n ..."]:
    """Applies a trained transport map to a batch.

    Args:
      ot_map: from :func:`fit_neural_ot`.
      x: samples ``[n, ...]`` of the fitted per-sample shape and dtype.

    Returns:
      ``T(x)``, same shape and dtype as ``x``.

    Raises:
      ValueError, TypeError: on a shape or dtype other than the fitted one,
        or non-finite input.
    """
    x = _validate_samples("x", x)
    _check_matches("x", x, ot_map.sample_shape, ot_map.dtype_name)
    return _apply_jit(ot_map, x)


class NeuralOTOutput(NamedTuple):
    """Result of :func:`fit_neural_ot`.

    Attributes:
      ot_map: the trained :class:`NeuralOTMap`.
      state: the final training state (to continue training).
      t_losses: transport loss per iteration run in this call, ``[iters]``.
      f_losses: potential loss per iteration run in this call, ``[iters]``.
    """

    ot_map: NeuralOTMap
    state: NeuralOTState
    t_losses: Array
    f_losses: Array


def fit_neural_ot(
    source: Float[ArrayLike, "n ..."],
    target: Float[ArrayLike, "m ..."],
    *,
    key: Array,
    config: NeuralOTConfig = DEFAULT_CONFIG,
    checkpoint_path: str | os.PathLike | None = None,
    checkpoint_every: int = 100,
    stop_after: int | None = None,
    callback: Callable[[int, NeuralOTMetrics], None] | None = None,
) -> NeuralOTOutput:
    r"""Trains a neural OT map from ``source`` to ``target`` (Korotin et al.).

    .. math::
       \sup_f \inf_T \mathbb{E}_x[\lVert x - T(x)\rVert^2/(2d) - f(T(x))]
       + \mathbb{E}_y[f(y)]

    Runs ``config.num_iterations`` outer iterations of
    :func:`neural_ot_iteration`. With ``checkpoint_path`` the state is saved
    every ``checkpoint_every`` iterations and at the end, and a run started
    with an existing checkpoint resumes from it: the result equals that of
    an uninterrupted run.

    Args:
      source: source samples ``[n, d]``, ``[n, h, w]`` or ``[n, h, w, c]``.
      target: target samples, same per-sample shape and dtype.
      key: PRNG key (initialization and batches).
      config: static settings; image inputs get the conv networks, vectors
        the MLPs.
      checkpoint_path: optional ``.npz`` file to save to and resume from.
      checkpoint_every: iterations between checkpoints.
      stop_after: stop once the state's step reaches this (an interruption
        for tests and time budgets); ``None`` runs to the end.
      callback: called as ``callback(step, metrics)`` after every iteration.

    Returns:
      A :class:`NeuralOTOutput`.

    Raises:
      ValueError, TypeError: on non-floating, non-finite or empty samples,
        groups with different per-sample shapes or dtypes, non-positive
        iteration or batch counts, negative learning rates or a non-key
        ``key``.

    References:
      Korotin, Selikhanovych and Burnaev, "Neural Optimal Transport",
      ICLR 2023. https://arxiv.org/abs/2201.12220
    """
    source = _validate_samples("source", source)
    target = _validate_samples("target", target)
    if source.shape[1:] != target.shape[1:]:
        raise ValueError(
            "target: expected samples of the same shape as source"
            f" {tuple(source.shape[1:])}, got {tuple(target.shape[1:])}"
        )
    _checks.check_same_dtype(source=source, target=target)
    _checks.check_positive_int("checkpoint_every", checkpoint_every)
    data = jnp.concatenate([source, target], axis=0)
    n, m = source.shape[0], target.shape[0]
    bounds = jnp.asarray([0, n, n, m], jnp.int32)
    prior = None
    if _check_prior_components(config):
        z = np.concatenate([np.zeros(n, np.int32), np.ones(m, np.int32)])
        w = jnp.asarray([n / (n + m), m / (n + m)], dtype=data.dtype)
        prior = _gaussian_priors(data, z, w, config.prior_components)[0]
    return _fit_stacked(
        data, bounds, key=key, config=config,
        checkpoint_path=checkpoint_path, checkpoint_every=checkpoint_every,
        stop_after=stop_after, callback=callback, prior=prior,
    )  # fmt: skip


def _check_prior_components(config: NeuralOTConfig) -> bool:
    """Validates ``config.prior_components``; whether a prior is used."""
    k = config.prior_components
    if not isinstance(k, int) or isinstance(k, bool) or k < 0:
        raise ValueError(
            f"config.prior_components: expected a non-negative int, got {k!r}"
        )
    return k > 0


def _fit_stacked(
    data: Array,
    bounds: Array,
    *,
    key: Array,
    config: NeuralOTConfig,
    checkpoint_path: str | os.PathLike | None,
    checkpoint_every: int,
    stop_after: int | None,
    callback: Callable[[int, NeuralOTMetrics], None] | None,
    prior: NeuralOTPrior | None = None,
) -> NeuralOTOutput:
    _checks.check_positive_int("config.num_iterations", config.num_iterations)
    _checks.check_positive_int("config.k_t", config.k_t)
    _checks.check_positive_int("config.batch_size", config.batch_size)
    _checks.check_nonnegative("config.learning_rate_t", config.learning_rate_t)
    _checks.check_nonnegative("config.learning_rate_f", config.learning_rate_f)
    state = init_neural_ot(data, key=key, config=config, prior=prior)
    if checkpoint_path is not None and os.path.exists(checkpoint_path):
        state = load_neural_ot_state(checkpoint_path, state, config=config)
    end = config.num_iterations
    if stop_after is not None:
        end = min(end, stop_after)
    t_losses, f_losses = [], []
    step = int(state.step)
    while step < end:
        state, metrics = _iteration(state, data, bounds, config=config)
        step += 1
        t_losses.append(metrics.t_loss)
        f_losses.append(metrics.f_loss)
        if callback is not None:
            callback(step, metrics)
        if checkpoint_path is not None and (
            step % checkpoint_every == 0 or step == end
        ):
            save_neural_ot_state(checkpoint_path, state, config=config)
    dtype = data.dtype
    ot_map = NeuralOTMap(
        state.t_params, config, tuple(data.shape[1:]), dtype.name, prior
    )
    stack = lambda v: jnp.stack(v) if v else jnp.zeros((0,), dtype)
    return NeuralOTOutput(ot_map, state, stack(t_losses), stack(f_losses))


# ------------------------------------------------------- two-group barycenter


@functools.partial(
    jax.tree_util.register_dataclass,
    data_fields=["maps", "weights"],
    meta_fields=[],
)
@dataclasses.dataclass(frozen=True)
class NeuralBarycenter:
    """Two-group neural barycenter maps (a frozen pytree).

    Attributes:
      maps: ``(T01, T10)``: group 0 -> group 1 and group 1 -> group 0.
      weights: group weights ``[2]`` (summing to one).
    """

    maps: tuple[NeuralOTMap, NeuralOTMap]
    weights: Array


def _groups_of(x: Array, z: Any) -> Array:
    z = _checks.as_array("z", z)
    _checks.check_integer("z", z)
    _checks.check_shape("z", z, (x.shape[0],))
    zn = np.asarray(z)
    values = np.unique(zn)
    if values.size < 2:
        raise ValueError(
            "z: expected two groups (codes 0 and 1), got a single group"
            f" {values.tolist()}"
        )
    if not set(values.tolist()) <= {0, 1}:
        raise ValueError(
            "z: the neural barycenter handles two groups coded 0 and 1, got"
            f" codes {values.tolist()}; for more groups use"
            " fit_pca_gaussian_barycenter"
        )
    return zn


def fit_neural_barycenter(
    x: Float[ArrayLike, "n ..."],
    z: Int[ArrayLike, " n"],
    *,
    key: Array,
    weights: Float[ArrayLike, " 2"] | None = None,
    config: NeuralOTConfig = DEFAULT_CONFIG,
    checkpoint_dir: str | os.PathLike | None = None,
    checkpoint_every: int = 100,
    callback: Callable[[int, int, NeuralOTMetrics], None] | None = None,
) -> NeuralBarycenter:
    r"""Fits the two-group Wasserstein-2 barycenter with two neural OT maps.

    Trains ``T01: mu_0 -> mu_1`` and ``T10: mu_1 -> mu_0`` with
    :func:`fit_neural_ot`; :func:`neural_barycenter_transform` then sends
    group 0 to :math:`(1 - w_1) x + w_1 T_{01}(x)` and group 1 to
    :math:`(1 - w_0) x + w_0 T_{10}(x)`.

    With ``config.prior_components = k > 0`` both maps start at the Gaussian
    OT maps between the groups' top-``k`` PCA coordinates (pooled PCA,
    weights ``w``), so the untrained barycenter equals the PCA-Gaussian
    repair (:func:`jaxunlearn.transport.pca_gaussian_transform`) and
    training learns the non-Gaussian residual.

    Args:
      x: samples ``[n, d]``, ``[n, h, w]`` or ``[n, h, w, c]``.
      z: group codes ``[n]`` in ``{0, 1}``; both groups must be present.
      key: PRNG key.
      weights: group weights ``[2]``; default the group proportions.
      config: static settings of both maps.
      checkpoint_dir: optional folder for ``t01.npz`` and ``t10.npz``
        (resumable).
      checkpoint_every: iterations between checkpoints.
      callback: called as ``callback(direction, step, metrics)``,
        ``direction`` 0 for ``T01`` and 1 for ``T10``.

    Returns:
      A :class:`NeuralBarycenter`.

    Raises:
      ValueError, TypeError: on bad samples, a single group, codes other than
        0 and 1, or bad weights.
    """
    x = _validate_samples("x", x)
    zn = _groups_of(x, z)
    if weights is None:
        w1 = float(np.mean(zn == 1))
        w = jnp.asarray([1.0 - w1, w1], dtype=x.dtype)
    else:
        w = _checks.as_array("weights", weights)
        _checks.check_weights("weights", w, 2)
        w = (w / jnp.sum(w)).astype(x.dtype)
    order = np.argsort(zn, kind="stable")
    data = x[order]
    n0 = int(np.sum(zn == 0))
    n1 = x.shape[0] - n0
    directions = (
        jnp.asarray([0, n0, n0, n1], jnp.int32),
        jnp.asarray([n0, n1, 0, n0], jnp.int32),
    )
    _checks.check_positive_int("checkpoint_every", checkpoint_every)
    priors = (None, None)
    if _check_prior_components(config):
        priors = _gaussian_priors(x, zn, w, config.prior_components)
    maps = []
    for d, (bounds, k) in enumerate(
        zip(directions, jax.random.split(key), strict=True)
    ):
        path = None
        if checkpoint_dir is not None:
            path = os.path.join(os.fspath(checkpoint_dir), f"t{d}{1 - d}.npz")
        cb = None
        if callback is not None:
            cb = functools.partial(callback, d)
        out = _fit_stacked(
            data, bounds, key=k, config=config, checkpoint_path=path,
            checkpoint_every=checkpoint_every, stop_after=None, callback=cb,
            prior=priors[d],
        )  # fmt: skip
        maps.append(out.ot_map)
    return NeuralBarycenter(tuple(maps), w)


def neural_barycenter_transform(
    model: NeuralBarycenter,
    x: Float[ArrayLike, "n ..."],
    z: Int[ArrayLike, " n"],
    *,
    t: float | Float[ArrayLike, ""] = 1.0,
) -> Float[Array, "n ..."]:
    r"""Moves each sample toward the barycenter; ``t`` = 1 is full repair.

    .. math::
       x_t = x + t\, w_{1-z} \big(T_{z \to 1-z}(x) - x\big)

    (McCann interpolation of SPEC 2.5 between ``x`` and its barycenter
    image).

    Args:
      model: from :func:`fit_neural_barycenter`.
      x: samples ``[n, ...]`` of the fitted shape and dtype.
      z: group codes ``[n]`` in ``{0, 1}`` (one group alone is fine here).
      t: repair strength in ``[0, 1]``.

    Returns:
      Repaired samples, same shape and dtype as ``x``.

    Raises:
      ValueError, TypeError: on bad samples, codes or ``t``.
    """
    x = _validate_samples("x", x)
    m0 = model.maps[0]
    _check_matches("x", x, m0.sample_shape, m0.dtype_name)
    z = _checks.as_array("z", z)
    _checks.check_integer("z", z)
    _checks.check_shape("z", z, (x.shape[0],))
    if _checks.is_concrete(z) and not np.all(np.isin(np.asarray(z), [0, 1])):
        raise ValueError("z: expected codes 0 and 1")
    _checks.check_unit_interval("t", t)
    t = jnp.asarray(t, dtype=x.dtype)
    return _barycenter_jit(model, x, z, t)


@jax.jit
def _barycenter_jit(model, x, z, t):
    t01 = _apply(model.maps[0], x)
    t10 = _apply(model.maps[1], x)
    extra = (1,) * (x.ndim - 1)
    is1 = (z == 1).reshape((-1,) + extra)
    moved = jnp.where(is1, t10, t01)
    w = jnp.where(is1, model.weights[0], model.weights[1])
    return x + (t * w) * (moved - x)
