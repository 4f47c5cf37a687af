"""From a forget split to a :class:`Pool` and :class:`Request`.

Checks, the held-out rows carved from the test rows, and the model's
output width.
"""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxunlearn import _checks
from jaxunlearn.datapoint._kernel import Pool, Request
from jaxunlearn.datapoint._membership import ApplyFn
from jaxunlearn.datapoint._train import (
    _check_labels,
    _num_outputs,
)


def _split_arrays(split: Any) -> dict:
    fields = (
        "x_retain",
        "y_retain",
        "x_forget",
        "y_forget",
        "x_test",
        "y_test",
    )
    out = {}
    for name in fields:
        if not hasattr(split, name):
            raise ValueError(
                f"split: expected an object with fields {', '.join(fields)}"
                f" (e.g. datasets.UnlearningSplit), missing {name!r}"
            )
        out[name] = _checks.as_array(f"split.{name}", getattr(split, name))
    for part in ("retain", "forget", "test"):
        x, y = out[f"x_{part}"], out[f"y_{part}"]
        _checks.check_floating(f"split.x_{part}", x)
        _checks.check_integer(f"split.y_{part}", y)
        _checks.check_nonempty(f"split.x_{part}", x)
        _checks.check_finite(f"split.x_{part}", x)
        _checks.check_shape(f"split.y_{part}", y, (x.shape[0],))
    shape = out["x_retain"].shape[1:]
    for part in ("forget", "test"):
        _checks.check_shape(f"split.x_{part}", out[f"x_{part}"], (None, *shape))
    return out


# The logits count of (apply_fn, parameter and row shapes): repeated calls
# with the same model and shapes skip the abstract evaluation.
_NUM_OUTPUTS: dict = {}
_NUM_OUTPUTS_MAX = 64


def num_outputs_cached(apply_fn: ApplyFn, params: Any, x: Any) -> int:
    """:func:`_num_outputs` on ``split.x_retain``, cached on the shapes."""
    leaves, tree = jax.tree.flatten(params)
    spec = tuple((np.shape(v), jnp.result_type(v)) for v in leaves)
    try:
        k = (apply_fn, tree, spec, tuple(x.shape[1:]), x.dtype)
        hit = _NUM_OUTPUTS.get(k)
    except TypeError:  # an unhashable apply_fn: not cached
        return _num_outputs(apply_fn, params, x, "split.x_retain")
    if hit is None:
        hit = _num_outputs(apply_fn, params, x, "split.x_retain")
        if len(_NUM_OUTPUTS) >= _NUM_OUTPUTS_MAX:
            _NUM_OUTPUTS.clear()
        _NUM_OUTPUTS[k] = hit
    return hit


def _validate_model(
    apply_fn: ApplyFn, params: Any, arrays: dict, num_classes: int | None
) -> int:
    c = num_outputs_cached(apply_fn, params, arrays["x_retain"])
    if num_classes is not None and num_classes != c:
        raise ValueError(
            f"split.num_classes: the model has {c} logits but the split says"
            f" {num_classes} classes (model/data shape mismatch)"
        )
    for part in ("retain", "forget", "test"):
        _check_labels(f"split.y_{part}", arrays[f"y_{part}"], c)
    return c


def carve_holdout(name: str, x_test: Any, y_test: Any) -> tuple:
    """The default held-out rows: every other test row, and the rest.

    Rows ``0, 2, 4, ...`` of the test rows become the held-out rows (the
    stopping rules, probes and anchors of :func:`unlearn` read them); rows
    ``1, 3, 5, ...`` stay the test rows the history reports, so no reported
    test accuracy is measured on rows that chose when to stop. Interleaved
    rather than halved, so a test set sorted by class keeps every class on
    both sides; deterministic, so results are reproducible.

    Args:
      name: the argument the test rows came from (for errors).
      x_test: test rows ``[t, ...]``, ``t >= 2``.
      y_test: test labels ``[t]``.

    Returns:
      ``(x_hold, y_hold, x_rest, y_rest)``.

    Raises:
      ValueError: with fewer than 2 test rows.
    """
    if x_test.shape[0] < 2:
        raise ValueError(
            f"{name}: expected at least 2 test rows to carve held-out rows"
            f" from (or pass holdout=(x, y)), got {x_test.shape[0]}"
        )
    return x_test[0::2], y_test[0::2], x_test[1::2], y_test[1::2]


def pool_from_split(
    apply_fn: ApplyFn | None,
    params: Any,
    split: Any,
    holdout: Any = None,
) -> tuple[Pool, Request]:
    """The :class:`Pool` and :class:`Request` of a split, validated eagerly.

    The pool is the retain rows then the forget rows; the request takes the
    first as retain and the second as forget rows. The held-out rows (read
    by stopping rules, probes and anchors) are ``holdout`` if given, and
    the pool's test rows (the history's ``test_acc``) are then every test
    row. Without ``holdout``, :func:`carve_holdout` splits the test rows:
    the even-numbered rows are held out, the odd-numbered rows are the
    pool's test rows, so held-out rows never double as reported test rows.

    Args:
      apply_fn: the forward pass, checked against the data and labels
        (None: not checked).
      params: its parameters.
      split: an object with ``x_retain, y_retain, x_forget, y_forget,
        x_test, y_test`` (and optionally ``num_classes``).
      holdout: optional ``(x, y)`` rows never trained on.

    Returns:
      ``(pool, request)``.

    Raises:
      ValueError: on a missing field, empty sets, NaN/Inf rows, shape
        mismatches, labels out of range, or fewer than 2 test rows without
        ``holdout``.
      TypeError: on non-floating rows or non-integer labels.
    """
    a = _split_arrays(split)
    if apply_fn is not None:
        nc = getattr(split, "num_classes", None)
        _validate_model(apply_fn, params, a, nc)
    if holdout is None:
        x_hold, y_hold, a["x_test"], a["y_test"] = carve_holdout(
            "split.x_test", a["x_test"], a["y_test"]
        )
    else:
        x_hold, y_hold = holdout
        x_hold = _checks.as_array("holdout[0]", x_hold)
        y_hold = _checks.as_array("holdout[1]", y_hold)
        _checks.check_floating("holdout[0]", x_hold)
        _checks.check_integer("holdout[1]", y_hold)
        _checks.check_nonempty("holdout[0]", x_hold)
        _checks.check_shape(
            "holdout[0]", x_hold, (None, *a["x_retain"].shape[1:])
        )
        _checks.check_shape("holdout[1]", y_hold, (x_hold.shape[0],))
    data, req = _pool_request(
        a["x_retain"], a["y_retain"], a["x_forget"], a["y_forget"],
        a["x_test"], a["y_test"], x_hold, y_hold,
    )  # fmt: skip
    return data, req


@jax.jit
def _pool_request(x_r, y_r, x_f, y_f, x_t, y_t, x_h, y_h):
    """The pool (retain rows, then forget rows) and its request: one call."""
    dtype = x_r.dtype
    n_r, n_f = x_r.shape[0], x_f.shape[0]
    data = Pool(
        jnp.concatenate([x_r, x_f.astype(dtype)]),
        jnp.concatenate([y_r, y_f]).astype(jnp.int32),
        x_t.astype(dtype),
        y_t.astype(jnp.int32),
        x_h.astype(dtype),
        y_h.astype(jnp.int32),
    )
    req = Request(
        jnp.arange(n_r, dtype=jnp.int32),
        jnp.ones((n_r,), dtype),
        jnp.arange(n_r, n_r + n_f, dtype=jnp.int32),
        jnp.ones((n_f,), dtype),
    )
    return data, req
