"""Training a neural OT map: the loop, its checkpoints and the fitted map.

:func:`fit_neural_ot` runs the steps of :mod:`jaxunlearn.transport._neural`
to the end, saving the state with :func:`save_neural_ot_state` (a pytree
file of :func:`jaxunlearn.save_pytree`) and resuming from it;
:func:`apply_neural_ot` applies the trained :class:`NeuralOTMap`.

References:
  Korotin, Selikhanovych and Burnaev, "Neural Optimal Transport", ICLR 2023.
  https://arxiv.org/abs/2201.12220
"""

import os
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from jaxunlearn import _checks, _io, _pytree_io
from jaxunlearn.transport._neural import (
    DEFAULT_CONFIG,
    NeuralOTConfig,
    NeuralOTMap,
    NeuralOTMetrics,
    NeuralOTState,
    _apply_jit,
    _check_matches,
    _iteration,
    _validate_samples,
    init_neural_ot,
)
from jaxunlearn.transport._neural_prior import NeuralOTPrior, gaussian_priors

_KIND = "transport.neural_ot_state"
# Checkpoints written before they went through save_pytree: still loadable.
_LEGACY_KIND = _KIND


# ------------------------------------------------------------- checkpoints


def save_neural_ot_state(
    path: str | os.PathLike,
    state: NeuralOTState,
    *,
    config: NeuralOTConfig,
) -> None:
    """Saves a training state atomically (pickle-free ``.npz``).

    The state is written with :func:`jaxunlearn.save_pytree` (every leaf an
    array under its key path, the PRNG key as its key data), with the config
    in the metadata.

    Args:
      path: destination file.
      state: the state to save.
      config: its settings (stored and checked on load).

    Returns:
      None.
    """
    meta = {"kind": _KIND, "config": dict(config._asdict())}
    _pytree_io.save_pytree(path, state, meta=meta)


def _check_config(saved: dict | None, config: NeuralOTConfig) -> None:
    """Raises unless ``saved`` matches ``config`` but for ``num_iterations``."""
    got = dict(saved or {})
    # num_iterations does not change the trajectory: a run may be extended.
    got.pop("num_iterations", None)
    # Checkpoints written before the prior option had no prior.
    got.setdefault("prior_components", 0)
    wanted = config._asdict()
    wanted.pop("num_iterations")
    if got != dict(wanted):
        raise ValueError(
            f"path: checkpoint was written with config {saved},"
            f" expected {dict(config._asdict())}"
        )


def load_neural_ot_state(
    path: str | os.PathLike,
    template: NeuralOTState,
    *,
    config: NeuralOTConfig,
) -> NeuralOTState:
    """Loads a state saved by :func:`save_neural_ot_state`.

    Files written by earlier versions (one array per leaf in flattening
    order, kind ``"transport.neural_ot_state"``) load too.

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
    try:
        meta = _pytree_io.load_pytree_meta(path)
    except ValueError as err:
        if repr(_LEGACY_KIND) not in str(err):
            raise
        return _load_legacy(path, template, config)
    if meta.get("kind") != _KIND:
        raise ValueError(
            f"path: expected a neural OT checkpoint, got a pytree file of"
            f" kind {meta.get('kind')!r}"
        )
    _check_config(meta.get("config"), config)
    return _pytree_io.load_pytree(path, template)


def _load_legacy(
    path: str | os.PathLike, template: NeuralOTState, config: NeuralOTConfig
) -> NeuralOTState:
    """Loads a checkpoint in the format before :func:`save_pytree`."""
    arrays, meta = _io.load_arrays(path, kind=_LEGACY_KIND)
    _check_config(meta.get("config"), config)
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
    impl = meta.get("key_impl")
    return state._replace(key=jax.random.wrap_key_data(state.key, impl=impl))


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
        prior = gaussian_priors(data, z, w, config.prior_components)[0]
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
