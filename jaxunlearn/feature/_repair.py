r"""Feature unlearning: fit a barycenter repair, apply it to any rows.

``fit(x, z, method=...)`` estimates the law of ``X | Z = z`` for every group
code, the weighted Wasserstein-2 barycenter of those laws and the maps
``T_z`` onto it, and returns a frozen pytree :class:`FittedRepair`.
``transform(repair, x, z, t=...)`` returns ``(1 - t) x + t T_z(x)``: ``t = 1``
makes ``X_hat`` independent of ``Z`` (in law, for the fitted model of the
groups) at the least squared distortion, smaller ``t`` trades the two along
the Pareto frontier, and ``jax.vmap`` over ``t`` gives the whole path.

Methods and how to add one
--------------------------
Methods live in a registry, ``name -> RepairMethod``. Built in:
``"gaussian"`` (affine maps between the groups' Gaussian moments, the
Gaussian pseudo-barycenter) and ``"quantile"`` (exact one-dimensional
quantile barycenter per column, randomized at ties). Another
module adds a method without editing this one::

    from jaxunlearn.feature import RepairMethod, register_method

    from jaxunlearn.feature import repair_state

    @repair_state
    class MyState:                           # the fitted statistics
        means: jax.Array                     # [k, d]

    def my_fit(x, index, num_groups, weights, **options):
        # x [n, d], index [n] in [0, num_groups), weights [k] summing to 1.
        return MyState(means=...)

    def my_transform(stats, weights, x, index, key, options):
        return x_repaired                    # T_z(x), the full repair

    register_method("mine", RepairMethod(fit=my_fit,
                                         transform=my_transform,
                                         inverse=None,
                                         min_group_size=1,
                                         state=MyState))

``stats`` is a :func:`repair_state` class: a frozen dataclass registered as
a pytree whose fields are arrays, tuples of arrays or ``None`` (that is what
is saved, one array per field; ``state`` tells :func:`load` which class to
rebuild). A method without ``state`` may return a flat
``dict[str, Array]``. ``options`` are the keyword options given to
:func:`fit` (JSON-serializable, kept as a static field and passed back at
transform time). ``transform`` functions must be pure and traceable
(``jit``/``vmap``); ``key`` is always a PRNG key (a fixed default when the
user passes ``None``).

References:
  Xu & Strohmer, "Machine Unlearning via Information Theoretic
  Regularization", arXiv:2502.05684, 2025.
  https://arxiv.org/abs/2502.05684

  Xu & Strohmer, "Fair data representation for machine learning at the
  Pareto frontier", JMLR 24, 2023. https://arxiv.org/abs/2201.00292
"""

import dataclasses
import functools
import json
import os
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from jaxtyping import Array, ArrayLike, Float, Int

import jax
import jax.numpy as jnp
import numpy as np

from jaxunlearn import _checks, _io
from jaxunlearn.feature import _fit_checks, _frame, _state

_DEFAULT_SEED = 0
_FILE_KIND = "feature.repair"


class RepairMethod(NamedTuple):
    """A feature-repair method for the registry (see the module docstring).

    Attributes:
      fit: ``fit(x, index, num_groups, weights, **options) -> dict`` of
        arrays (the per-group statistics, barycenter and maps).
      transform: ``transform(stats, weights, x, index, key, options)`` ->
        the fully repaired rows ``T_z(x)`` ``[n, d]``; pure and traceable.
      inverse: ``inverse(stats, weights, x_hat, index, key, options)`` ->
        rows mapped back from the barycenter, or ``None`` if not invertible.
      min_group_size: the fewest rows a group may have at fit time.
      state: the :func:`repair_state` class that ``fit`` returns (how
        :func:`load` rebuilds it), or ``None`` for a flat dict of arrays.
    """

    fit: Callable[..., Any]
    transform: Callable[..., Array]
    inverse: Callable[..., Array] | None = None
    min_group_size: int = 1
    state: type | None = None


_METHODS: dict[str, RepairMethod] = {}


def register_method(
    name: str, method: RepairMethod, *, overwrite: bool = False
) -> None:
    """Adds a repair method to the registry used by :func:`fit`.

    Args:
      name: the method's name, as passed to ``fit(..., method=name)``.
      method: a :class:`RepairMethod`.
      overwrite: replace an existing method of that name.

    Returns:
      None.

    Raises:
      ValueError: when ``name`` is taken and ``overwrite`` is False.
      TypeError: when ``method`` is not a :class:`RepairMethod`.
    """
    if not isinstance(method, RepairMethod):
        raise TypeError(
            f"method: expected a RepairMethod, got {type(method).__name__}"
        )
    if not isinstance(name, str) or not name:
        raise ValueError(f"name: expected a non-empty string, got {name!r}")
    if name in _METHODS and not overwrite:
        raise ValueError(
            f"name: method {name!r} is already registered"
            " (pass overwrite=True to replace it)"
        )
    _METHODS[name] = method


def available_methods() -> tuple[str, ...]:
    """The names of the registered repair methods.

    Returns:
      A sorted tuple of names.
    """
    return tuple(sorted(_METHODS))


def _get_method(name: Any) -> RepairMethod:
    _checks.check_choice("method", name, available_methods())
    return _METHODS[name]


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class FittedRepair:
    """A fitted feature repair (a frozen pytree; pass it through ``jit``).

    Attributes:
      codes: the sorted distinct group codes seen at fit time ``[k]``
        (``0 .. k-1`` when ``labels`` holds the group values).
      weights: barycentric weights ``[k]`` (sum 1), in the order of
        ``codes``.
      counts: rows per group at fit time ``[k]``.
      stats: the method's fitted statistics, a :func:`repair_state`
        pytree (per-group statistics, barycenter, maps, diagnostics).
      method: the method's name (static).
      n_features: the number of features ``d`` at fit time, in the
        repaired (encoded) space (static).
      options: the method's options as sorted ``(name, value)`` pairs
        (static).
      labels: the sorted group values when ``z`` was not integer codes
        (e.g. ``("Female", "Male")``), else ``None`` (static).
      frame: how the columns of a DataFrame fitted on map to the repaired
        space (:class:`FrameSpec`), else ``None`` (static).
    """

    codes: Array
    weights: Array
    counts: Array
    stats: Any
    method: str = dataclasses.field(metadata={"static": True})
    n_features: int = dataclasses.field(metadata={"static": True})
    options: tuple[tuple[str, Any], ...] = dataclasses.field(
        default=(), metadata={"static": True}
    )
    labels: tuple[Any, ...] | None = dataclasses.field(
        default=None, metadata={"static": True}
    )
    frame: _frame.FrameSpec | None = dataclasses.field(
        default=None, metadata={"static": True}
    )


def _check_x(name: str, x: Any) -> Array:
    x = _checks.as_array(name, x)
    _checks.check_floating(name, x)
    _checks.check_rank(name, x, 2)
    _checks.check_nonempty(name, x)
    _checks.check_finite(name, x)
    return x


def _check_z(z: Any, n: int) -> Array:
    z = _checks.as_array("z", z)
    _checks.check_integer("z", z)
    _checks.check_rank("z", z, 1)
    if z.shape[0] != n:
        raise ValueError(
            f"z: expected one code per row of x ({n}), got {z.shape[0]}"
        )
    return z


def fit(
    x: Float[ArrayLike, "n d"] | Any,
    z: Int[ArrayLike, " n"] | Any,
    *,
    method: str = "semidiscrete",
    weights: ArrayLike | Mapping[int, float] | None = None,
    options: Mapping[str, Any] | None = None,
) -> FittedRepair:
    r"""Fits a barycenter repair that removes ``Z`` from ``X``.

    .. math::
       \bar\mu = \arg\min_\nu \sum_z w_z W_2^2(\mu_z, \nu), \qquad
       \hat X = T_Z(X),

    with ``mu_z`` the law of ``X | Z = z`` (as modelled by ``method``) and
    ``T_z`` the optimal map from ``mu_z`` to ``mu_bar``.

    Args:
      x: features ``[n, d]``, floating, finite; or a pandas DataFrame
        (text, category and bool columns are repaired as one-hot blocks
        and decoded back to their labels, integer columns stay integers;
        :func:`transform` then takes and returns DataFrames with these
        columns).
      z: group values ``[n]``: integer codes (e.g. ``[3, 7, 7, 10]``) or
        any sortable hashable values (e.g. ``"Female"`` / ``"Male"``, a
        pandas Series); the distinct values become the groups.
      method: a registered method: ``"semidiscrete"`` (the default for
        tables: Laguerre cells onto fixed barycenter atoms, the best under
        the strict audit on rows the fit never saw, docs/feature.md; 2 rows
        per group), ``"gaussian"`` (affine, first two moments; 2 rows per
        group), ``"quantile"`` (exact per-column quantile barycenter; 1 row
        per group), ...; see :func:`available_methods`.
      weights: barycentric weights, ``[k]`` in the order of the sorted
        distinct values of ``z`` or a mapping ``value -> weight``;
        renormalized.
        ``None`` uses the group proportions.
      options: keyword options for the method's fitter (JSON-serializable).

    Returns:
      A :class:`FittedRepair`.

    Raises:
      ValueError: on mismatched shapes, empty input, NaN/Inf in ``x``, an
        unknown method, bad weights, a single group, a group with too few
        rows or an option the method does not accept.
      TypeError: on a non-floating ``x``, float ``z`` or group values of
        mixed types.

    Warns:
      RuntimeWarning: when the fitted maps are unstable (method
        ``"gaussian"`` on a near-singular covariance: pass
        ``options={"ridge": ...}``) or training did not converge (method
        ``"neural"``).

    References:
      Xu & Strohmer, "Machine Unlearning via Information Theoretic
      Regularization", arXiv:2502.05684, 2025.
      https://arxiv.org/abs/2502.05684

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxunlearn import feature
      >>> x = jnp.array([[0.0], [2.0], [10.0], [14.0]])
      >>> rep = feature.fit(x, jnp.array([0, 0, 1, 1]), method="gaussian")
      >>> feature.transform(rep, x, jnp.array([0, 0, 1, 1])).ravel().tolist()
      [5.0, 8.0, 5.0, 8.0]
    """
    spec = _get_method(method)
    frame = None
    if _frame.is_frame(x):
        values, frame = _frame.fit_frame(x)
        dtype = jax.dtypes.canonicalize_dtype(np.float64)
        x = _frame.encode(values, frame, dtype)
    z, labels = _frame.fit_labels(z)
    x = _check_x("x", x)
    z = _check_z(z, x.shape[0])
    if not _checks.is_concrete(z):
        raise ValueError("z: fit needs concrete group codes, got a tracer")
    codes, index, counts = np.unique(
        np.asarray(z), return_inverse=True, return_counts=True
    )
    names = list(labels) if labels is not None else codes.tolist()
    if len(codes) < 2:
        raise ValueError(
            "z: expected at least 2 groups (distinct values) to remove Z"
            f" from x, got the single value {names}"
        )
    small = counts < spec.min_group_size
    if np.any(small):
        bad = {names[i]: int(counts[i]) for i in np.flatnonzero(small)}
        raise ValueError(
            f"z: method {method!r} needs at least {spec.min_group_size} rows"
            f" per group, got group sizes {bad}"
        )
    if labels is not None and isinstance(weights, Mapping):
        weights = _fit_checks.label_weights(weights, labels)
    w = _fit_checks.fit_weights(weights, codes, counts, x.dtype)
    options = dict(options or {})
    try:
        json.dumps(options)
    except TypeError as err:
        raise TypeError(
            f"options: expected JSON-serializable values ({err})"
        ) from err
    _fit_checks.check_options(method, spec, options)
    index = jnp.asarray(index.reshape(-1), jnp.int32)
    stats = spec.fit(x, index, len(codes), w, **options)
    if spec.state is None:
        stats = dict(stats)
    return FittedRepair(
        codes=jnp.asarray(codes),
        weights=w,
        counts=jnp.asarray(counts.astype(np.int32)),
        stats=stats,
        method=method,
        n_features=int(x.shape[1]),
        options=_fit_checks.freeze(options),
        labels=labels,
        frame=frame,
    )


def _group_index(repair: FittedRepair, z: Array) -> Array:
    codes = repair.codes
    if _checks.is_concrete(z) and _checks.is_concrete(codes):
        zc, cc = np.asarray(z), np.asarray(codes)
        pos = np.clip(np.searchsorted(cc, zc), 0, len(cc) - 1)
        unseen = np.unique(zc[cc[pos] != zc])
        if unseen.size:
            raise ValueError(
                f"z: codes {unseen.tolist()[:10]} were not seen at fit time"
                f" (known codes: {cc.tolist()[:20]})"
            )
        return jnp.asarray(pos, jnp.int32)
    pos = jnp.searchsorted(codes, z.astype(codes.dtype))
    return jnp.clip(pos, 0, codes.shape[0] - 1).astype(jnp.int32)


def _check_apply(repair: FittedRepair, x: Any, z: Any, name: str):
    if not isinstance(repair, FittedRepair):
        raise TypeError(
            f"repair: expected a FittedRepair, got {type(repair).__name__}"
        )
    if repair.frame is not None:
        if not _frame.is_frame(x):
            raise TypeError(
                f"{name}: this repair was fitted on a DataFrame; expected a"
                f" DataFrame with columns {list(repair.frame.columns)[:20]},"
                f" got {type(x).__name__}"
            )
        values = _frame.frame_values(x, repair.frame)
        x = _frame.encode(values, repair.frame, repair.weights.dtype)
    elif _frame.is_frame(x):
        x = _frame.numeric_frame(x, name)
    if repair.labels is not None:
        z = _frame.label_index(z, repair.labels)
    x = _check_x(name, x)
    d = repair.n_features
    if x.shape[1] != d:
        raise ValueError(
            f"{name}: expected {d} features (as at fit time), got shape"
            f" {tuple(x.shape)}"
        )
    _checks.check_same_dtype(**{name: x, "repair.weights": repair.weights})
    z = _check_z(z, x.shape[0])
    return x, _group_index(repair, z)


def _key(key: jax.Array | None) -> jax.Array:
    return jax.random.key(_DEFAULT_SEED) if key is None else key


@functools.partial(jax.jit, static_argnames=("inverse",))
def _apply(repair, x, index, t, key, *, inverse):
    """Jitted core of transform / inverse_transform (cached per method)."""
    spec = _METHODS[repair.method]
    fn = spec.inverse if inverse else spec.transform
    out = fn(repair.stats, repair.weights, x, index, key, dict(repair.options))
    if inverse:
        return out
    return (1 - t) * x + t * out


def transform(
    repair: FittedRepair,
    x: Float[ArrayLike, "n d"],
    z: Int[ArrayLike, " n"],
    *,
    t: ArrayLike = 1.0,
    key: jax.Array | None = None,
) -> Float[Array, "n d"]:
    r"""Repairs rows (seen or unseen): ``(1 - t) x + t T_z(x)``.

    ``t = 1`` is the full repair (the barycenter), ``t = 0`` the identity;
    in between, distortion ``t^2 V`` and disparity ``(1 - t)^2 V``
    (docs/feature.md).
    ``jax.vmap(lambda t: transform(repair, x, z, t=t))(ts)`` gives the
    Pareto path in one call.

    Args:
      repair: a :class:`FittedRepair` from :func:`fit`.
      x: rows ``[n, d]`` (same dtype as at fit time), or a DataFrame
        with the fitted columns when the repair was fitted on one.
      z: their group values ``[n]``; every value must have been seen at
        fit.
      t: repair amount in ``[0, 1]`` (scalar).
      key: PRNG key for randomized methods (``"quantile"`` at ties);
        ``None`` uses a fixed default key, so results are reproducible.

    Returns:
      The repaired rows ``[n, d]``; a DataFrame (input's index, fitted
      columns, categories as labels) for a repair fitted on a DataFrame.

    Raises:
      ValueError: on shape mismatches, NaN/Inf, unseen group values or
        categories, other columns than at fit time, ``t`` outside
        ``[0, 1]``.
      TypeError: on wrong dtypes or a non-:class:`FittedRepair`.

    References:
      McCann, "A convexity principle for interacting gases", Advances in
      Mathematics 128, 1997. https://doi.org/10.1006/aima.1997.1634
    """
    frame_index = getattr(x, "index", None)
    x, index = _check_apply(repair, x, z, "x")
    _checks.check_unit_interval("t", t)
    t = jnp.asarray(t, dtype=x.dtype)
    _checks.check_rank("t", t, 0)
    _get_method(repair.method)
    key = _key(key)
    out = _apply(repair, x, index, t, key, inverse=False)
    return _output(repair, out, key, frame_index)


def _output(repair: FittedRepair, out: Array, key, frame_index) -> Any:
    """Repaired rows, decoded back to a DataFrame for frame repairs."""
    if repair.frame is None:
        return out
    return _frame.decode(
        out, repair.frame, jax.random.fold_in(key, 1), frame_index
    )


def inverse_transform(
    repair: FittedRepair,
    x_hat: Float[ArrayLike, "n d"],
    z: Int[ArrayLike, " n"],
    *,
    key: jax.Array | None = None,
) -> Float[Array, "n d"]:
    """Maps fully repaired rows back to their group: ``T_z^{-1}(x_hat)``.

    Exact for ``"gaussian"`` (affine, invertible maps). For ``"quantile"``
    it applies the optimal map from the barycenter back to group ``z``
    (randomized at the barycenter's atoms), which inverts ``T_z`` up to the
    spread of ties.

    Args:
      repair: a :class:`FittedRepair`.
      x_hat: repaired rows ``[n, d]`` (``t = 1``).
      z: their group codes ``[n]``.
      key: PRNG key for randomized methods; ``None`` = fixed default.

    Returns:
      Rows in the groups' original coordinates ``[n, d]``.

    Raises:
      ValueError: on bad input (as :func:`transform`) or a method without
        an inverse.
      TypeError: on wrong dtypes.
    """
    frame_index = getattr(x_hat, "index", None)
    x_hat, index = _check_apply(repair, x_hat, z, "x_hat")
    spec = _get_method(repair.method)
    if spec.inverse is None:
        raise ValueError(
            f"repair: method {repair.method!r} has no inverse_transform"
        )
    key = _key(key)
    out = _apply(repair, x_hat, index, None, key, inverse=True)
    return _output(repair, out, key, frame_index)


def save(repair: FittedRepair, path: str | os.PathLike) -> None:
    """Saves a fitted repair to a versioned ``.npz`` file (atomic, no pickle).

    Args:
      repair: a :class:`FittedRepair`.
      path: destination file.

    Returns:
      None.

    Raises:
      TypeError: when ``repair`` is not a :class:`FittedRepair`.
    """
    if not isinstance(repair, FittedRepair):
        raise TypeError(
            f"repair: expected a FittedRepair, got {type(repair).__name__}"
        )
    arrays = {
        "codes": np.asarray(repair.codes),
        "weights": np.asarray(repair.weights),
        "counts": np.asarray(repair.counts),
    }
    for name, value in _state.state_to_arrays(repair.stats).items():
        arrays["stats/" + name] = np.asarray(value)
    meta = {
        "method": repair.method,
        "n_features": repair.n_features,
        "options": dict(repair.options),
    }
    if repair.labels is not None:
        meta["labels"] = list(repair.labels)
    if repair.frame is not None:
        meta["frame"] = _frame.frame_to_meta(repair.frame)
    _io.save_arrays(path, arrays, kind=_FILE_KIND, meta=meta)


def load(path: str | os.PathLike) -> FittedRepair:
    """Loads a repair written by :func:`save`.

    Args:
      path: the file.

    Returns:
      The :class:`FittedRepair` (float64 arrays load as float64 only with
      ``jax_enable_x64``).

    Raises:
      ValueError: on a missing, corrupt or foreign file, or a method that is
        not registered in this session.
    """
    arrays, meta = _io.load_arrays(path, kind=_FILE_KIND)
    method = meta.get("method")
    if method not in _METHODS:
        raise ValueError(
            f"path: the repair uses method {method!r}, which is not"
            f" registered (known: {list(available_methods())}); import the"
            " module that registers it first"
        )
    try:
        stats = _state.state_from_arrays(
            _METHODS[method].state,
            {
                k.removeprefix("stats/"): jnp.asarray(v)
                for k, v in arrays.items()
                if k.startswith("stats/")
            },
        )
        labels = meta.get("labels")
        return FittedRepair(
            codes=jnp.asarray(arrays["codes"]),
            weights=jnp.asarray(arrays["weights"]),
            counts=jnp.asarray(arrays["counts"]),
            stats=stats,
            method=method,
            n_features=int(meta["n_features"]),
            options=_fit_checks.freeze(meta.get("options", {})),
            labels=None if labels is None else tuple(labels),
            frame=_frame.frame_from_meta(meta.get("frame")),
        )
    except (KeyError, TypeError) as err:
        raise ValueError(f"path: {path!r} lacks the array {err}") from err
