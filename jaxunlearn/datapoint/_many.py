"""Many forget requests at once: padded requests, vmap, device sharding.

A request is a forget set of row indices into one training pool. Requests
of different sizes are padded to a static bound with masks
(:func:`pad_forget_sets`), so one compilation serves every size up to the
bound; :func:`unlearn_many` vmaps the core of :func:`unlearn` over requests
and seeds and, with ``shard=True``, lays the request axis over all devices
with a ``jax.sharding.Mesh`` (GSPMD partitions the vmapped program). Under
``jax.distributed`` the same call spans every process's devices.

References:
  Xu & Strohmer, "Machine Unlearning via Information Theoretic
  Regularization", arXiv:2502.05684, 2025. https://arxiv.org/abs/2502.05684

  JAX authors, "Distributed arrays and automatic parallelization",
  https://docs.jax.dev/en/latest/notebooks/Distributed_arrays_and_automatic_parallelization.html
"""

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxunlearn import _checks
from jaxunlearn.datapoint._config import AutoGamma, Schedule
from jaxunlearn.datapoint._core import (
    UnlearnModelOutput,
    UnlearnOutput,
    mi_unlearning,
    model_output,
)
from jaxunlearn.datapoint._kernel import Method, Pool, Request
from jaxunlearn.datapoint._membership import ApplyFn
from jaxunlearn.datapoint._model import EpochInfo, check_callback, pure_apply
from jaxunlearn.datapoint._train import (
    _check_labels,
    _num_outputs,
    resolve_model,
    resolve_optimizer,
)
from jaxunlearn.datapoint._pool_split import carve_holdout
from jaxunlearn.datapoint._unlearn import (
    cast_leaves,
    mi_config_of,
    with_check_plan,
)

# K padded requests: a Request whose fields have a leading [K] axis.
ForgetRequests = Request


def pad_forget_sets(
    forget_sets: Sequence[Any],
    num_rows: int,
    *,
    max_forget: int | None = None,
    dtype: Any = np.float32,
) -> ForgetRequests:
    """Pads ``K`` forget sets of row indices to one static shape with masks.

    Args:
      forget_sets: ``K`` integer index arrays into the ``num_rows`` training
        rows; each non-empty, in range and without duplicates.
      num_rows: the number of training rows ``n`` in the pool.
      max_forget: the static bound ``F`` on a forget set's size (the
        largest given set by default); one compilation serves every size up
        to it.
      dtype: dtype of the masks.

    Returns:
      A :class:`Request` of NumPy arrays with a leading ``[K]`` axis
      (``ForgetRequests`` is the same type).

    Raises:
      ValueError: on an empty list or set, indices out of range, duplicates,
        or a set larger than ``max_forget``.

    Examples:
      >>> from jaxunlearn.datapoint import pad_forget_sets
      >>> r = pad_forget_sets([[3, 1], [0]], 5)
      >>> r.forget_idx.tolist(), r.forget_mask.tolist()
      ([[3, 1], [0, 0]], [[1.0, 1.0], [1.0, 0.0]])
      >>> r.retain_idx[0].tolist(), r.retain_mask[0].tolist()
      ([0, 2, 4, 0, 0], [1.0, 1.0, 1.0, 0.0, 0.0])
    """
    _checks.check_positive_int("num_rows", num_rows)
    sets = [np.asarray(f) for f in forget_sets]
    if not sets:
        raise ValueError("forget_sets: expected at least one request, got 0")
    for k, f in enumerate(sets):
        name = f"forget_sets[{k}]"
        if f.ndim != 1 or not np.issubdtype(f.dtype, np.integer):
            raise ValueError(
                f"{name}: expected a 1-D integer index array, got shape"
                f" {f.shape} and dtype {f.dtype}"
            )
        if f.size == 0:
            raise ValueError(f"{name}: expected a non-empty forget set")
        if f.min() < 0 or f.max() >= num_rows:
            raise ValueError(
                f"{name}: expected indices in [0, {num_rows}), got values in"
                f" [{f.min()}, {f.max()}]"
            )
        if np.count_nonzero(np.bincount(f, minlength=num_rows)) != f.size:
            raise ValueError(f"{name}: expected distinct indices, got repeats")
        if f.size >= num_rows:
            raise ValueError(
                f"{name}: the forget set covers every row; the retain set"
                " would be empty"
            )
    largest = max(f.size for f in sets)
    if max_forget is None:
        max_forget = largest
    _checks.check_positive_int("max_forget", max_forget)
    if largest > max_forget:
        raise ValueError(
            f"max_forget: expected >= the largest forget set ({largest}),"
            f" got {max_forget}"
        )
    k = len(sets)
    forget_idx = np.zeros((k, max_forget), np.int32)
    forget_mask = np.zeros((k, max_forget), dtype)
    retain_idx = np.zeros((k, num_rows), np.int32)
    retain_mask = np.zeros((k, num_rows), dtype)
    for i, f in enumerate(sets):
        forget_idx[i, : f.size] = f
        forget_mask[i, : f.size] = 1
        keep = np.ones(num_rows, bool)
        keep[f] = False
        keep = np.flatnonzero(keep)
        retain_idx[i, : keep.size] = keep
        retain_mask[i, : keep.size] = 1
    return Request(retain_idx, retain_mask, forget_idx, forget_mask)


def _many_core(
    method, model, request_batch, n_split, params, pool, req, cfg, key_data,
    rest,
):  # fmt: skip
    keys = jax.random.wrap_key_data(key_data)

    def per_request(r):
        return jax.vmap(
            lambda k: method.run(model, params, pool, r, cfg, k, rest)
        )(keys)

    if request_batch is None:
        return jax.vmap(per_request)(req)

    # Groups of ``request_batch`` requests vmapped, the groups one after
    # another: the working set (parameters and Adam moments of the group)
    # stays in cache (see docs/benchmarks/unlearning.md).
    def local(r):
        return jax.lax.map(per_request, r, batch_size=request_batch)

    if n_split == 1:
        return local(req)
    # Sharded: the leading axis splits into [devices, requests per device]
    # and each device runs its own share group by group.
    split = jax.tree.map(lambda a: a.reshape(n_split, -1, *a.shape[1:]), req)
    out = jax.vmap(local)(split)
    return jax.tree.map(lambda a: a.reshape(-1, *a.shape[2:]), out)


_many_jit = jax.jit(_many_core, static_argnums=(0, 1, 2, 3))


def _global(x: Any, sharding: NamedSharding) -> jax.Array:
    """A global array with ``sharding`` from a host copy in every process.

    Works with one process and under ``jax.distributed`` alike.
    """
    if jax.dtypes.issubdtype(jnp.result_type(x), jax.dtypes.prng_key):
        impl = jax.random.key_impl(x)
        data = _global(jax.random.key_data(x), sharding)
        return jax.random.wrap_key_data(data, impl=impl)
    host = np.asarray(x)
    return jax.make_array_from_callback(
        host.shape, sharding, lambda idx: host[idx]
    )


def unlearn_many(
    apply_fn: ApplyFn | Method,
    params: Any,
    x_train: Any,
    y_train: Any = None,
    forget_sets: Sequence[Any] | ForgetRequests | None = None,
    x_test: Any = None,
    y_test: Any = None,
    *,
    keys: Any,
    gamma: float | str = 4.0,
    epochs: int = 5,
    batch_size: int = 64,
    forget_batch_size: int = 16,
    learning_rate: float | None = None,
    utility: str = "retain",
    gamma_schedule: Schedule | None = None,
    lr_schedule: Schedule | None = None,
    stop: str | None = None,
    stop_value: float = 0.0,
    auto: AutoGamma | None = None,
    holdout: tuple[Any, Any] | None = None,
    max_forget: int | None = None,
    stop_each_step: bool | int | None = None,
    shard: bool = False,
    request_batch: int | None = None,
    optimizer: optax.GradientTransformation | None = None,
    config: Any = None,
    epoch: str = "retain",
    callback: Callable[[EpochInfo], Any] | None = None,
) -> UnlearnOutput | UnlearnModelOutput:
    """:func:`unlearn` for ``K`` forget requests times ``S`` seeds, in one call.

    Each request ``k`` unlearns its forget set from the same trained
    ``params``; its retain set is the rest of ``x_train``. Requests are
    padded to ``max_forget`` rows, so any mix of sizes up to the bound runs
    under one compilation. With ``shard=True`` the request axis is split
    over ``jax.devices()`` (a 1-D mesh named ``"requests"``; ``K`` is padded
    to a multiple of the device count and cut back). Under
    ``jax.distributed`` every process makes the same call with the same
    host data; the result is a global array (gather it with
    ``jax.experimental.multihost_utils.process_allgather``).

    **Any method.** With a :class:`Method` first,
    ``unlearn_many(method, apply_fn, params, pool, requests, *, keys,
    config=None, shard=False, request_batch=None)`` runs that method (MI
    unlearning, or any baseline of ``jaxunlearn.baselines``) over the
    requests and seeds in one compiled call: ``pool`` a :class:`Pool`,
    ``requests`` ``K`` forget index arrays into ``pool.x`` or a padded
    :class:`Request`, ``config`` the method's config (its default if None);
    the other keywords do not apply but ``callback``. Each ``[k, s]``
    result equals ``method(apply_fn, params, pool, request_k,
    config=config, key=keys[s])`` on the unpadded request.

    **Modules.** A Flax ``nnx.Module`` may stand in place of ``(apply_fn,
    params)`` (``unlearn_many(module, x_train, y_train, forget_sets, ...)``,
    ``unlearn_many(method, module, pool, requests, ...)``): every run trains
    its ``nnx.Param`` state and carries the rest (BatchNorm statistics,
    dropout RNG state) through its training forward passes, and the result
    is an :class:`UnlearnModelOutput` whose module holds every run's state
    with leading axes ``[K, S]`` (run ``k, s`` is
    ``nnx.merge(nnx.graphdef(m), jax.tree.map(lambda a: a[k, s],
    nnx.state(m)))``).

    Args:
      apply_fn: pure forward pass ``apply_fn(params, x) -> logits [n, c]``.
      params: the trained parameters (never modified).
      x_train: the training rows ``[n, ...]`` the requests index into.
      y_train: integer labels ``[n]``.
      forget_sets: ``K`` index arrays into ``x_train``, or a
        :class:`ForgetRequests` from :func:`pad_forget_sets`.
      x_test: test rows ``[t, ...]``.
      y_test: test labels ``[t]``.
      keys: PRNG keys ``[S]`` (one run per seed), e.g.
        ``jax.random.split(key, S)``.
      gamma: as in :func:`unlearn` (a number or ``"auto"``).
      epochs: as in :func:`unlearn`.
      batch_size: as in :func:`unlearn`.
      forget_batch_size: as in :func:`unlearn`.
      learning_rate: as in :func:`unlearn`.
      utility: as in :func:`unlearn`.
      gamma_schedule: as in :func:`unlearn`.
      lr_schedule: as in :func:`unlearn`.
      stop: as in :func:`unlearn`.
      stop_value: as in :func:`unlearn`.
      auto: as in :func:`unlearn`.
      holdout: as in :func:`unlearn` (None: the even-numbered test rows,
        and the odd-numbered ones are the reported test rows).
      max_forget: static bound on the forget-set size (see
        :func:`pad_forget_sets`).
      stop_each_step: as in :func:`unlearn`.
      shard: lay the request axis over all devices.
      request_batch: run the requests in groups of this many (vmapped
        within a group, the groups in sequence, ``jax.lax.map``) instead of
        all at once; smaller working sets for models whose parameters and
        optimizer states of all ``K`` requests outgrow the CPU cache. Same
        results. None (default): all ``K`` at once. With ``shard=True``
        the groups are formed within each device's share of the requests.
      optimizer: as in :func:`unlearn`.
      config: with a :class:`Method` first, the method's config.
      epoch: as in :func:`unlearn`.
      callback: optional ``callback(EpochInfo)`` on the host after every
        epoch of every run (``K * S`` calls an epoch, each with that run's
        values; ``jax.debug.callback``); with a :class:`Method`, it
        replaces the config's ``callback``. Not with ``shard=True`` over
        several devices (a ValueError).

    Returns:
      An :class:`UnlearnOutput` whose leaves have leading axes ``[K, S]``
      (an :class:`UnlearnModelOutput` for a module).
      An epoch is ``ceil(n / batch_size)`` steps (the padded retain size);
      steps past a request's retain rows are skipped, so each request's
      result equals :func:`unlearn` on its own split.

    Raises:
      ValueError: on bad requests (see :func:`pad_forget_sets`), labels out
        of range, ``gamma < 0``, ``epochs < 1``, a model/data mismatch or
        both ``optimizer`` and ``learning_rate``.
      TypeError: on non-floating inputs, non-integer labels or an
        ``optimizer`` that is not an optax transformation.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxunlearn.datapoint import unlearn_many
      >>> f = lambda p, x: x @ p
      >>> x = jax.random.normal(jax.random.key(0), (20, 3))
      >>> y = (x[:, 0] > 0).astype(jnp.int32)
      >>> out = unlearn_many(f, jnp.zeros((3, 2)), x, y, [[0, 1], [5]],
      ...                    x, y, keys=jax.random.split(jax.random.key(1), 3),
      ...                    gamma=1.0, epochs=2, batch_size=8)
      >>> out.history.forget_acc.shape
      (2, 3, 2)
    """
    if isinstance(apply_fn, Method):
        return run_many(
            apply_fn,
            params,
            x_train,
            y_train,
            forget_sets,
            keys=keys,
            config=config,
            shard=shard,
            request_batch=request_batch,
            callback=callback,
        )
    model, params, rest, data = resolve_model(
        apply_fn, params, (x_train, y_train, forget_sets, x_test, y_test)
    )
    x_train, y_train, forget_sets, x_test, y_test = data
    for name, value in (("y_train", y_train), ("forget_sets", forget_sets)):
        if value is None:
            raise ValueError(f"{name}: expected an array, got None")
    optimizer, learning_rate = resolve_optimizer(optimizer, learning_rate, 1e-3)
    cfg = mi_config_of(locals())
    pool = pool_from_arrays(
        pure_apply(model, rest), params, x_train, y_train, x_test, y_test,
        holdout,
    )  # fmt: skip
    req = _requests(forget_sets, pool, max_forget, "forget_sets")
    cfg = with_check_plan(cfg, stop_each_step, pool, req)
    cfg = cast_leaves(cfg, jax.tree.leaves(params)[0].dtype)
    return _dispatch(
        mi_unlearning, model, (params, rest), pool, req, cfg, keys,
        (shard, request_batch),
    )  # fmt: skip


def pool_from_arrays(
    apply_fn: ApplyFn,
    params: Any,
    x_train: Any,
    y_train: Any,
    x_test: Any,
    y_test: Any,
    holdout: tuple[Any, Any] | None = None,
) -> Pool:
    """A :class:`Pool` of host arrays, checked against the model eagerly.

    Args:
      apply_fn: the forward pass (labels are checked against its logits).
      params: its parameters.
      x_train: the training rows ``[n, ...]``.
      y_train: integer labels ``[n]``.
      x_test: test rows ``[t, ...]``.
      y_test: test labels ``[t]``.
      holdout: optional ``(x, y)`` held-out rows; None holds out the
        even-numbered test rows and keeps the odd-numbered ones as the
        pool's test rows (:func:`carve_holdout`).

    Returns:
      A :class:`Pool`.

    Raises:
      ValueError: on empty or mismatched arrays or labels out of range.
      TypeError: on non-floating rows or non-integer labels.
    """
    x = np.asarray(_checks.as_array("x_train", x_train))
    y = np.asarray(_checks.as_array("y_train", y_train))
    xt = np.asarray(_checks.as_array("x_test", x_test))
    yt = np.asarray(_checks.as_array("y_test", y_test))
    for name, a in (("x_train", x), ("x_test", xt)):
        _checks.check_floating(name, a)
        _checks.check_nonempty(name, a)
    for name, a in (("y_train", y), ("y_test", yt)):
        _checks.check_integer(name, a)
    _checks.check_shape("y_train", y, (x.shape[0],))
    _checks.check_shape("x_test", xt, (None, *x.shape[1:]))
    _checks.check_shape("y_test", yt, (xt.shape[0],))
    c = _num_outputs(apply_fn, params, jnp.asarray(x[:1]), "x_train")
    _check_labels("y_train", jnp.asarray(y), c)
    _check_labels("y_test", jnp.asarray(yt), c)
    if holdout is None:
        xh, yh, xt, yt = carve_holdout("x_test", xt, yt)
    else:
        xh = np.asarray(_checks.as_array("holdout[0]", holdout[0]))
        yh = np.asarray(_checks.as_array("holdout[1]", holdout[1]))
        _checks.check_shape("holdout[0]", xh, (None, *x.shape[1:]))
        _checks.check_shape("holdout[1]", yh, (xh.shape[0],))
        _check_labels("holdout[1]", jnp.asarray(yh), c)
    i32 = np.int32
    return Pool(
        x, y.astype(i32), xt.astype(x.dtype), yt.astype(i32),
        xh.astype(x.dtype), yh.astype(i32),
    )  # fmt: skip


def _requests(
    forget_sets: Any, pool: Pool, max_forget: Any, name: str
) -> Request:
    """Padded requests over ``pool.x`` (index arrays or a :class:`Request`)."""
    x = np.asarray(pool.x)
    if forget_sets is None:
        raise ValueError(
            f"{name}: expected K forget index arrays or a padded Request,"
            " got None"
        )
    if isinstance(forget_sets, Request):
        req = forget_sets
        _checks.check_shape(
            f"{name}.retain_idx", req.retain_idx, (None, x.shape[0])
        )
    else:
        req = pad_forget_sets(
            forget_sets, x.shape[0], max_forget=max_forget, dtype=x.dtype
        )
    return Request(
        np.asarray(req.retain_idx, np.int32),
        np.asarray(req.retain_mask, x.dtype),
        np.asarray(req.forget_idx, np.int32),
        np.asarray(req.forget_mask, x.dtype),
    )


def run_many(
    method: Method,
    apply_fn: ApplyFn | Any,
    params: Any,
    pool: Pool | None = None,
    requests: Sequence[Any] | Request | None = None,
    *,
    keys: Any,
    config: Any = None,
    shard: bool = False,
    request_batch: int | None = None,
    callback: Callable[[EpochInfo], Any] | None = None,
) -> UnlearnOutput | UnlearnModelOutput:
    """``method`` over ``K`` requests times ``S`` seeds in one compiled call.

    What :func:`unlearn_many` runs when its first argument is a
    :class:`Method`.

    Args:
      method: a :class:`Method` (e.g. ``mi_unlearning``,
        ``jaxunlearn.baselines.scrub_method``).
      apply_fn: pure forward pass ``apply_fn(params, x) -> logits [n, c]``,
        or an ``nnx.Module`` (then the arguments shift: ``params`` is the
        pool and ``pool`` the requests).
      params: the trained parameters (never modified).
      pool: a :class:`Pool`.
      requests: ``K`` forget index arrays into ``pool.x`` (each request's
        retain rows are the rest), or a padded :class:`Request`.
      keys: PRNG keys ``[S]``.
      config: the method's config (``method.default_config`` if None).
      shard: lay the request axis over all devices.
      request_batch: run the requests in groups of this many.
      callback: optional ``callback(EpochInfo)`` after every epoch of every
        run; replaces the config's ``callback`` (None keeps it).

    Returns:
      An ``UnlearnOutput`` whose leaves have leading axes ``[K, S]`` (an
      ``UnlearnModelOutput`` for a module, see :func:`unlearn_many`).

    Raises:
      ValueError: on bad requests or keys.
      TypeError: when ``method`` is not a :class:`Method`, ``pool`` not a
        :class:`Pool` or ``callback`` not callable.
    """
    if not isinstance(method, Method):
        raise TypeError(
            f"method: expected a jaxunlearn Method, got {type(method).__name__}"
        )
    model, params, rest, (pool, requests) = resolve_model(
        apply_fn, params, (pool, requests)
    )
    if not isinstance(pool, Pool):
        raise TypeError(f"pool: expected a Pool, got {type(pool).__name__}")
    pool = Pool(*(np.asarray(a) for a in pool))
    req = _requests(requests, pool, None, "requests")
    cfg = method.default_config if config is None else config
    cfg = with_callback(cfg, check_callback(callback))
    cfg = cast_leaves(cfg, jax.tree.leaves(params)[0].dtype)
    return _dispatch(
        method, model, (params, rest), pool, req, cfg, keys,
        (shard, request_batch),
    )  # fmt: skip


def with_callback(cfg: Any, callback: Any) -> Any:
    """``cfg`` with its (or its ``train`` part's) ``callback`` replaced.

    Unchanged when ``callback`` is None.
    """
    if callback is None:
        return cfg
    if hasattr(cfg, "callback"):
        return dataclasses.replace(cfg, callback=callback)
    if hasattr(cfg, "train"):
        train = with_callback(cfg.train, callback)
        return dataclasses.replace(cfg, train=train)
    raise TypeError(
        "callback: the method's config has no callback field"
        f" ({type(cfg).__name__})"
    )


def _dispatch(
    method, model, state, pool, req, cfg, keys, options
) -> UnlearnOutput | UnlearnModelOutput:
    """Runs the vmapped method, sharded over devices with ``shard=True``.

    ``state`` is ``(params, rest)`` and ``options`` ``(shard,
    request_batch)``; the output has ``[K, S]`` axes (a module's state
    too).
    """
    (params, rest), (shard, request_batch) = state, options
    key_data = np.asarray(jax.random.key_data(keys))
    if key_data.ndim != 2:
        raise ValueError(
            f"keys: expected a 1-D array of PRNG keys [S], got key data of"
            f" shape {key_data.shape}"
        )
    if request_batch is not None:
        _checks.check_positive_int("request_batch", request_batch)
    args = (method, model, request_batch)
    if not shard:
        return model_output(
            model,
            *_many_jit(
                *args, 1, params, pool, req, cfg, jnp.asarray(key_data), rest
            ),
        )
    devices = np.asarray(jax.devices())
    train = getattr(cfg, "train", cfg)
    if devices.size > 1 and getattr(train, "callback", None) is not None:
        raise ValueError(
            "callback: expected None with shard=True over"
            f" {devices.size} devices (JAX orders host callbacks on one"
            " device only), got a callback"
        )
    mesh = Mesh(devices, ("requests",))
    k = req.retain_idx.shape[0]
    k_pad = -(-k // devices.size) * devices.size
    if k_pad > k:  # repeat the last request; its results are cut off below
        req = jax.tree.map(
            lambda a: np.concatenate([a, np.repeat(a[-1:], k_pad - k, 0)]), req
        )
    by_request = NamedSharding(mesh, PartitionSpec("requests"))
    replicated = NamedSharding(mesh, PartitionSpec())
    req = jax.tree.map(lambda a: _global(a, by_request), req)
    params, pool, cfg, key_data, rest = jax.tree.map(
        lambda a: _global(a, replicated), (params, pool, cfg, key_data, rest)
    )
    out = _many_jit(*args, devices.size, params, pool, req, cfg, key_data, rest)
    if k_pad > k:
        out = jax.jit(lambda o: jax.tree.map(lambda a: a[:k], o))(out)
    return model_output(model, *out)
