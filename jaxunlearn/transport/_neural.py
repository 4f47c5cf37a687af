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
the fraction ``t`` of the way (Xu & Strohmer, arXiv:2502.05684).

With ``NeuralOTConfig(prior_components=k)`` both networks get a fixed
closed-form part (:class:`NeuralOTPrior`): ``T`` starts at the Gaussian OT
map between the groups' top-``k`` PCA codes and ``f`` at its quadratic
potential, a stationary pair of the saddle problem, and the networks learn
the residual.

Every phase is a pure, jit-compiled function of a :class:`NeuralOTState`
(network parameters, optimizer states, step counter and PRNG key), so a run
checkpointed with ``save_neural_ot_state`` and resumed with
``load_neural_ot_state`` reproduces the uninterrupted run exactly.

This module holds the settings, the training state, the networks' builders
and the steps; ``_neural_prior`` the Gaussian prior, ``_neural_fit`` the
training loop, checkpoints and fitted maps, and ``_neural_barycenter`` the
two-group barycenter.

References:
  Korotin, Selikhanovych and Burnaev, "Neural Optimal Transport", ICLR 2023.
  https://arxiv.org/abs/2201.12220
  McCann, "A convexity principle for interacting gases", Advances in
  Mathematics 128, 1997. https://doi.org/10.1006/aima.1997.1634
"""

import dataclasses
import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import nnx
from jaxtyping import Array, ArrayLike, Float

from jaxunlearn import _checks
from jaxunlearn.numerics import lecun_reinit
from jaxunlearn.transport._neural_nets import (
    ConvPotential,
    ConvTransport,
    MLPPotential,
    MLPTransport,
)
from jaxunlearn.transport._neural_prior import (
    NeuralOTPrior,
    prior_move,
    prior_potential,
)


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
    return lecun_reinit(template, key=key, keep_zero=True)


def _to_net(x: Array, sample_shape: tuple[int, ...]) -> Array:
    return x[..., None] if len(sample_shape) == 2 else x


def _from_net(x: Array, sample_shape: tuple[int, ...]) -> Array:
    return x[..., 0] if len(sample_shape) == 2 else x


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
    return nnx.merge(graph, params)(xn) + _to_net(prior_move(prior, x), shape)


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
        f_tx = f_net(tx) + prior_potential(state.prior, tx)
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
        f_tx = f_net(tx) + prior_potential(state.prior, tx)
        f_y = f_net(yn) + prior_potential(state.prior, yn)
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


# ------------------------------------------------------------- fitted maps


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
