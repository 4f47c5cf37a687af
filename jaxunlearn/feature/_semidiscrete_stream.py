r"""The ``"semidiscrete"`` repair out of core: chunks and memory-mapped rows.

:func:`fit_semidiscrete` reads its rows as a chunk iterator or as a 2-D
array (a ``numpy.memmap`` included) sliced in chunks, so memory is
``O(chunk x atoms + reservoir)`` whatever the number of rows:

1. one pass: column moments, group counts, category counts and a uniform
   reservoir of at most ``max_fit_rows`` rows per group (the rows with the
   smallest keyed random priorities);
2. the barycenter's atoms and the groups' potentials are fitted on the
   reservoir (the in-memory fit of ``method="semidiscrete"``);
3. ``stream_steps`` passes over every row balance the potentials on the
   whole stream: a Newton step of each group's entropic semi-dual per
   pass, from the mean cell law :math:`\hat b_z` and the mean of
   :math:`p p^\top` over group z's rows (accumulated chunk by chunk;
   ``O(atoms^2)`` per group), which converges quadratically from the
   reservoir's potentials.

:func:`transform_semidiscrete` repairs chunk by chunk; each chunk's rows are
sharded over the local devices (``jax.sharding``) when there are several.
Row ``i`` of the stream draws from ``fold_in(key, i)``, so the result does
not depend on the chunking or the sharding, and equals
:func:`jaxunlearn.feature.transform` on the same rows.
"""

import dataclasses
import functools
from collections.abc import Iterable, Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxunlearn import _checks, transport
from jaxunlearn.feature import _columns, _fit_checks, _repair
from jaxunlearn.feature import _semidiscrete_method as _sd

_CHUNK_ROWS = 16384


def _chunks(name: str, data: Any, z: Any, chunk_rows: int, passes: int):
    """A callable giving a fresh iterator of ``(x, z)`` numpy chunks."""
    if z is not None:
        if not hasattr(data, "shape") or len(data.shape) != 2:
            raise ValueError(
                f"{name}: expected a 2-D array (or memmap) when z is given,"
                f" got {type(data).__name__}"
            )
        if not hasattr(z, "shape") or tuple(z.shape) != (data.shape[0],):
            raise ValueError(
                f"z: expected one code per row of {name} ({data.shape[0]}),"
                f" got shape {getattr(z, 'shape', type(z).__name__)}"
            )

        def sliced():
            for s in range(0, data.shape[0], chunk_rows):
                yield data[s : s + chunk_rows], z[s : s + chunk_rows]

        return sliced
    if callable(data):
        return data
    if not isinstance(data, Iterable):
        raise TypeError(
            f"{name}: expected a 2-D array with z, an iterable of (x, z)"
            " chunks or a callable returning one, got"
            f" {type(data).__name__}"
        )
    if iter(data) is data and passes > 1:
        raise ValueError(
            f"{name}: a one-shot iterator is read once but this call needs"
            f" {passes} passes; pass a callable returning a fresh iterator,"
            " a list of chunks, or stream_steps=0"
        )
    return lambda: iter(data)


def _check_chunk(name, i, chunk, p, dtype):
    """Validates chunk ``i`` and returns host arrays ``(x, z)``."""
    if not isinstance(chunk, tuple | list) or len(chunk) != 2:
        raise TypeError(
            f"{name}: chunk {i}: expected a pair (x, z), got"
            f" {type(chunk).__name__}"
        )
    x, z = np.asarray(chunk[0]), np.asarray(chunk[1])
    if x.ndim != 2:
        raise ValueError(
            f"{name}: chunk {i}: expected rows [n, p], got shape {x.shape}"
        )
    if p is not None and x.shape[1] != p:
        raise ValueError(
            f"{name}: chunk {i}: expected {p} columns (as at fit time / in"
            f" the first chunk), got shape {x.shape}"
        )
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(
            f"{name}: chunk {i}: expected floating rows, got {x.dtype}"
        )
    if z.shape != (x.shape[0],):
        raise ValueError(
            f"{name}: chunk {i}: expected one group code per row"
            f" ({x.shape[0]}), got z of shape {z.shape}"
        )
    if not np.issubdtype(z.dtype, np.integer):
        raise TypeError(
            f"{name}: chunk {i}: expected integer group codes, got {z.dtype}"
        )
    if not np.all(np.isfinite(x)):
        raise ValueError(
            f"{name}: chunk {i}: expected finite values, got NaN or inf"
        )
    return x.astype(dtype, copy=False), z


class _Moments:
    """Pass one: moments, counts, category counts, per-group reservoirs."""

    def __init__(self, spec, max_rows, seed):
        self.spec, self.max_rows = spec, max_rows
        self.rng = np.random.default_rng(seed)
        self.n, self.total, self.square = 0, 0.0, 0.0
        self.counts: dict[int, int] = {}
        self.cat: dict[int, np.ndarray] = {}
        self.res: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def add(self, x, z):
        x64 = x.astype(np.float64)
        self.n += x.shape[0]
        self.total = self.total + x64.sum(0)
        self.square = self.square + (x64 * x64).sum(0)
        if self.spec is not None:
            _columns.check_codes(x64, self.spec)
            for i, k in enumerate(self.spec.num_categories):
                if self.spec.kinds[i] == "categorical":
                    c = np.bincount(x64[:, i].astype(np.int64), minlength=k)
                    self.cat[i] = self.cat.get(i, 0) + c
        prio = self.rng.random(x.shape[0])
        for code in np.unique(z):
            sel = z == code
            code = int(code)
            self.counts[code] = self.counts.get(code, 0) + int(sel.sum())
            rows, pr = x[sel], prio[sel]
            if code in self.res:
                rows = np.concatenate([self.res[code][0], rows])
                pr = np.concatenate([self.res[code][1], pr])
            if pr.size > self.max_rows:
                keep = np.argpartition(pr, self.max_rows - 1)[: self.max_rows]
                keep.sort()
                rows, pr = rows[keep], pr[keep]
            self.res[code] = (rows, pr)

    def standardization(self):
        mean = self.total / self.n
        var = np.maximum(self.square / self.n - mean * mean, 0.0)
        std = np.sqrt(var)
        return mean, np.where(std > 0, std, 1.0), std > 0

    def d_eff(self, positive):
        """Summed variance of the standardized encoded columns."""
        if self.spec is None:
            return float(np.sum(positive))
        out = 0.0
        for i, kind in enumerate(self.spec.kinds):
            if kind == "categorical":
                p = self.cat[i] / self.n
                out += float(np.sum(0.5 * p * (1 - p)))
            else:
                out += float(positive[i])
        return out


def fit_semidiscrete(
    data: Any,
    z: Any = None,
    *,
    weights: Any = None,
    num_atoms: int | None = None,
    relative_epsilon: float = 0.02,
    fixed_point_steps: int = 5,
    refine_steps: int = 100,
    stream_steps: int = 3,
    max_fit_rows: int = 30000,
    kinds: Any = None,
    num_categories: Any = None,
    sample: bool = True,
    seed: int = 0,
    chunk_rows: int = _CHUNK_ROWS,
    dtype: Any = np.float32,
) -> _repair.FittedRepair:
    """Fits the ``"semidiscrete"`` repair on rows read in chunks.

    Memory is ``O(chunk_rows x atoms + groups x max_fit_rows x p)``
    whatever the number of rows (module docstring). The result is an
    ordinary :class:`FittedRepair`: :func:`jaxunlearn.feature.transform`,
    :func:`transform_semidiscrete`, ``save`` and ``load`` take it.

    Args:
      data: a 2-D array ``[n, p]`` (a ``numpy.memmap`` is read slice by
        slice) with ``z``; or, with ``z=None``, an iterable of ``(x, z)``
        chunks (a list, or an object whose ``__iter__`` starts over) or a
        callable returning a fresh iterator of them. A one-shot iterator
        works only with ``stream_steps=0`` (one pass).
      z: integer group codes ``[n]`` (array or memmap) when ``data`` is an
        array.
      weights: barycentric weights ``[k]`` in the order of the sorted
        codes; None uses the group proportions of the whole stream.
      num_atoms: atoms of the barycenter; None: the smallest group's rows
        / 20, between 2 and 256.
      relative_epsilon: entropic blur relative to the mean squared
        distance between rows.
      fixed_point_steps: free-support updates of the atoms (reservoir).
      refine_steps: full-batch potential steps on the reservoir.
      stream_steps: potential steps on every row of the stream (one pass
        each); skipped when the reservoir holds every row.
      max_fit_rows: reservoir rows per group.
      kinds: column kinds (``"continuous"``, ``"integer"``,
        ``"categorical"``) as :class:`ColumnSpec`; None: all continuous.
      num_categories: categories per column (0 for numeric columns).
      sample: transform draws the atom from the entropic cell law.
      seed: seed of the reservoir and of the fit.
      chunk_rows: rows per chunk when ``data`` is an array.
      dtype: floating dtype of the fit.

    Returns:
      A :class:`FittedRepair` of method ``"semidiscrete"``.

    Raises:
      ValueError: a chunk whose columns differ from the first, NaN or inf,
        a single group, bad options, a one-shot iterator for several
        passes.
      TypeError: non-floating rows, non-integer codes, a malformed chunk.
    """
    _checks.check_positive_int("chunk_rows", chunk_rows)
    _checks.check_positive_int("max_fit_rows", max_fit_rows, 2)
    _checks.check_positive_int("stream_steps", stream_steps, 0)
    relative_epsilon = _sd.check_relative_epsilon(relative_epsilon)
    source = _chunks("data", data, z, chunk_rows, 1 + int(stream_steps))
    spec, mom, p = None, None, None
    for i, chunk in enumerate(source()):
        x, zc = _check_chunk("data", i, chunk, p, dtype)
        if mom is None:
            p = x.shape[1]
            spec = _sd.column_spec(kinds, num_categories, p)
            mom = _Moments(spec, int(max_fit_rows), seed)
        mom.add(x, zc)
    if mom is None or mom.n == 0:
        raise ValueError("data: expected at least one row, got none")
    codes = np.array(sorted(mom.counts))
    counts = np.array([mom.counts[int(c)] for c in codes])
    if codes.size < 2:
        raise ValueError(
            f"z: expected at least 2 groups, got the single code"
            f" {codes.tolist()}"
        )
    res_counts = np.minimum(counts, int(max_fit_rows))
    num_atoms = _sd.check_num_atoms(num_atoms, res_counts)
    w = _fit_checks.fit_weights(weights, codes, counts, jnp.dtype(dtype))
    mean, std, positive = mom.standardization()
    stats = _fit_reservoir(
        mom,
        codes,
        spec,
        mean,
        std,
        w,
        dtype,
        num_atoms,
        relative_epsilon,
        positive,
        fixed_point_steps,
        refine_steps,
        seed,
    )
    if int(stream_steps) > 0 and np.any(counts > int(max_fit_rows)):
        stats = dataclasses.replace(
            stats,
            potentials=_stream_potentials(
                source,
                codes,
                counts,
                spec,
                stats,
                p,
                dtype,
                int(stream_steps),
                chunk_rows,
            ),
        )
    options = {
        "num_atoms": num_atoms,
        "relative_epsilon": relative_epsilon,
        "fixed_point_steps": int(fixed_point_steps),
        "refine_steps": int(refine_steps),
        "seed": int(seed),
        "sample": bool(sample),
    }
    if spec is not None:
        options["kinds"] = list(spec.kinds)
        options["num_categories"] = list(spec.num_categories)
    return _repair.FittedRepair(
        codes=jnp.asarray(codes),
        weights=w,
        counts=jnp.asarray(counts.astype(np.int32)),
        stats=stats,
        method="semidiscrete",
        n_features=int(p),
        options=_fit_checks.freeze(options),
    )


def _fit_reservoir(
    mom,
    codes,
    spec,
    mean,
    std,
    w,
    dtype,
    num_atoms,
    relative_epsilon,
    positive,
    fixed_point_steps,
    refine_steps,
    seed,
):
    rows = np.concatenate([mom.res[int(c)][0] for c in codes])
    index = np.concatenate(
        [np.full(mom.res[int(c)][0].shape[0], g) for g, c in enumerate(codes)]
    ).astype(np.int32)
    extra = {}
    if spec is not None:
        emean = np.where(np.array(spec.kinds) == "categorical", 0.0, mean)
        escale = np.where(np.array(spec.kinds) == "categorical", 1.0, std)
        e = _columns.encode_host(rows, spec, emean, escale, dtype)
        extra = {
            "enc_mean": jnp.asarray(emean, dtype),
            "enc_scale": jnp.asarray(escale, dtype),
        }
        mean_e = jnp.zeros(e.shape[1], dtype)
        std_e = jnp.ones(e.shape[1], dtype)
    else:
        mean_e, std_e = jnp.asarray(mean, dtype), jnp.asarray(std, dtype)
        e = (rows - np.asarray(mean_e)) / np.asarray(std_e)
    stats = _sd.fit_encoded(
        jnp.asarray(e, dtype),
        jnp.asarray(index),
        len(codes),
        w,
        num_atoms=num_atoms,
        epsilon=_sd.blur(relative_epsilon, mom.d_eff(positive)),
        seed=seed,
        fixed_point_steps=fixed_point_steps,
        num_iterations=0,
        batch_size=512,
        refine_steps=refine_steps,
    )
    return _sd.SemidiscreteState(mean=mean_e, std=std_e, **stats, **extra)


@functools.partial(jax.jit, static_argnames="spec")
def _group_moments(stats, spec, x, group, valid):
    """One group's cell mass ``[m]`` and sum of ``p p^T`` ``[m, m]``.

    Over the valid rows of a padded block of that group's rows (the
    semi-dual's gradient and Hessian).
    """
    if spec is not None:
        x = _columns.encode(x, spec, stats["enc_mean"], stats["enc_scale"])
    s = (x - stats["mean"][None, :]) / stats["std"][None, :]
    logits = transport.laguerre_logits(
        s,
        stats["atoms"],
        stats["potentials"][group],
        stats["atom_weights"],
        stats["epsilon"],
    )
    prob = jax.nn.softmax(logits, axis=1) * valid[:, None]
    return prob.sum(0), prob.T @ prob


def _pad(a: np.ndarray, rows: int) -> np.ndarray:
    if a.shape[0] == rows:
        return a
    pad = np.zeros((rows - a.shape[0], *a.shape[1:]), a.dtype)
    return np.concatenate([a, pad])


def _stream_potentials(
    source, codes, counts, spec, stats, p, dtype, steps, chunk_rows
):
    g = np.asarray(stats["potentials"], np.float64)
    eps = float(stats["epsilon"])
    b = np.asarray(stats["atom_weights"], np.float64)
    n_z = np.asarray(counts, np.float64)
    for _ in range(steps):
        st = dataclasses.replace(stats, potentials=jnp.asarray(g, dtype))
        mass, second = _stream_moments(
            source, codes, spec, st, p, dtype, chunk_rows
        )
        g = np.stack(
            [
                transport.semidiscrete_newton_step(
                    g[z], mass[z] / n_z[z], second[z] / n_z[z], b, eps
                )
                for z in range(g.shape[0])
            ]
        )
    return jnp.asarray(g, dtype)


def _stream_moments(source, codes, spec, st, p, dtype, chunk_rows):
    """One pass: each group's cell mass and sum of ``p p^T``.

    Rows are gathered per group into blocks of ``chunk_rows`` (one compiled
    shape; only each group's last block is padded), so every row costs one
    ``m x m`` outer product, whatever the number of groups.
    """
    k, m = st.potentials.shape
    mass, second = np.zeros((k, m)), np.zeros((k, m, m))
    held = [[] for _ in range(k)]

    def run(z, block):
        n = block.shape[0]
        rows = max(256, 1 << (n - 1).bit_length())
        rows = min(rows, max(chunk_rows, n))
        valid = _pad(np.ones(n, dtype), rows)
        cm, cs = _group_moments(st, spec, _pad(block, rows), z, valid)
        mass[z] += np.asarray(cm, np.float64)
        second[z] += np.asarray(cs, np.float64)

    for i, chunk in enumerate(source()):
        x, zc = _check_chunk("data", i, chunk, p, dtype)
        gidx = np.searchsorted(codes, zc)
        for z in range(k):
            held[z].append(x[gidx == z])
            if sum(a.shape[0] for a in held[z]) < chunk_rows:
                continue
            rows = np.concatenate(held[z])
            full = (rows.shape[0] // chunk_rows) * chunk_rows
            for s in range(0, full, chunk_rows):
                run(z, rows[s : s + chunk_rows])
            held[z] = [rows[full:]]
    for z in range(k):
        rows = np.concatenate(held[z])
        if rows.shape[0]:
            run(z, rows)
    return mass, second


@functools.partial(jax.jit, static_argnames=("spec", "sample"))
def _kernel(stats, spec, sample, x, gidx, rows, key, t):
    return _sd.repair_rows(stats, spec, x, gidx, rows, key, t, sample)


def _mesh() -> Mesh | None:
    devices = jax.local_devices()
    if len(devices) < 2:
        return None
    return Mesh(np.array(devices), ("rows",))


def _repair_chunk(repair, spec, x, gidx, start, key, t, mesh, chunk_rows):
    n = x.shape[0]
    size = min(chunk_rows, max(256, 1 << (n - 1).bit_length()))
    size = max(size, n)
    if mesh is not None:
        size = -(-size // mesh.size) * mesh.size
    rows = np.arange(start, start + size, dtype=np.uint32)
    args = (_pad(x, size), _pad(gidx, size), rows)
    if mesh is not None:
        row_sharding = NamedSharding(mesh, PartitionSpec("rows"))
        two_d = NamedSharding(mesh, PartitionSpec("rows", None))
        args = (
            jax.device_put(args[0], two_d),
            jax.device_put(args[1], row_sharding),
            jax.device_put(args[2], row_sharding),
        )
    sample = bool(dict(repair.options).get("sample", True))
    out = _kernel(repair.stats, spec, sample, *args, key, t)
    return np.asarray(out)[:n]


def transform_semidiscrete(
    repair: _repair.FittedRepair,
    data: Any,
    z: Any = None,
    *,
    t: float = 1.0,
    key: jax.Array | None = None,
    chunk_rows: int = _CHUNK_ROWS,
    out: np.ndarray | None = None,
    shard: bool = True,
) -> np.ndarray | Iterator[np.ndarray]:
    """Repairs rows chunk by chunk with a fitted ``"semidiscrete"`` repair.

    Row ``i`` of the stream draws from ``fold_in(key, i)``: the result is
    the same whatever the chunking and the sharding, and equals
    :func:`jaxunlearn.feature.transform` on the same rows and key.

    Args:
      repair: a :class:`FittedRepair` of method ``"semidiscrete"``.
      data: a 2-D array ``[n, p]`` (a ``numpy.memmap`` included) with
        ``z``, or with ``z=None`` an iterable of ``(x, z)`` chunks (read
        once, lazily).
      z: group codes ``[n]`` when ``data`` is an array.
      t: repair amount in ``[0, 1]``.
      key: PRNG key; None uses key 0.
      chunk_rows: rows per chunk when ``data`` is an array.
      out: where to write the repaired rows ``[n, p]`` (a writable memmap
        keeps memory ``O(chunk)``); array input only.
      shard: shard each chunk's rows over the local devices when there
        are several.

    Returns:
      For array input, the repaired rows (``out`` when given); for chunk
      input, a generator of repaired chunks.

    Raises:
      ValueError: a chunk whose columns differ from the fit, NaN or inf,
        unseen group codes, ``t`` outside ``[0, 1]``, a wrong ``out``.
      TypeError: not a semidiscrete :class:`FittedRepair`, bad dtypes.
    """
    if not isinstance(repair, _repair.FittedRepair) or (
        repair.method != "semidiscrete"
    ):
        raise TypeError(
            "repair: expected a FittedRepair of method 'semidiscrete', got"
            f" {getattr(repair, 'method', type(repair).__name__)!r}"
        )
    _checks.check_unit_interval("t", t)
    _checks.check_positive_int("chunk_rows", chunk_rows)
    key = jax.random.key(0) if key is None else key
    _checks.check_key("key", key)
    source = _chunks("x", data, z, chunk_rows, 1)
    gen = _transform_chunks(repair, source(), t, key, chunk_rows, shard)
    if z is None:
        if out is not None:
            raise ValueError("out: only for array input (data with z)")
        return gen
    if out is None:
        out = np.empty(data.shape, repair.weights.dtype)
    elif tuple(out.shape) != tuple(data.shape):
        raise ValueError(
            f"out: expected shape {tuple(data.shape)}, got {tuple(out.shape)}"
        )
    start = 0
    for chunk in gen:
        out[start : start + chunk.shape[0]] = chunk
        start += chunk.shape[0]
    return out


def _transform_chunks(repair, chunks, t, key, chunk_rows, shard):
    p = repair.n_features
    dtype = repair.weights.dtype
    spec = _sd.spec_of(dict(repair.options), p)
    mesh = _mesh() if shard else None
    t = jnp.asarray(t, dtype)
    start = 0
    for i, chunk in enumerate(chunks):
        x, zc = _check_chunk("x", i, chunk, p, dtype)
        if spec is not None:
            _columns.check_codes(x, spec)
        gidx = np.asarray(_repair._group_index(repair, jnp.asarray(zc)))
        outs = []
        for s in range(0, x.shape[0], chunk_rows):
            outs.append(
                _repair_chunk(
                    repair,
                    spec,
                    x[s : s + chunk_rows],
                    gidx[s : s + chunk_rows],
                    start + s,
                    key,
                    t,
                    mesh,
                    chunk_rows,
                )
            )
        start += x.shape[0]
        yield np.concatenate(outs) if outs else x[:0]
