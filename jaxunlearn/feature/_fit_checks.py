"""Validation helpers of :func:`jaxunlearn.feature.fit` (weights, options)."""

import inspect
from collections.abc import Mapping
from typing import Any

import jax.numpy as jnp
import numpy as np

from jaxunlearn import _checks


def freeze(options: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """Options as sorted pairs with lists turned into tuples (hashable)."""

    def frozen(v):
        if isinstance(v, list | tuple):
            return tuple(frozen(e) for e in v)
        if isinstance(v, Mapping):
            return tuple(sorted((k, frozen(e)) for k, e in v.items()))
        return v

    return tuple(sorted((k, frozen(v)) for k, v in options.items()))


def fit_weights(weights: Any, codes: np.ndarray, counts: np.ndarray, dtype):
    k = len(codes)
    if weights is None:
        w = counts / counts.sum()
        return jnp.asarray(w.astype(np.dtype(dtype)))
    if isinstance(weights, Mapping):
        unknown = sorted(set(weights) - {int(c) for c in codes})
        missing = [int(c) for c in codes if int(c) not in weights]
        if unknown or missing:
            raise ValueError(
                f"weights: expected one weight per group code {codes.tolist()}"
                f", got unknown codes {unknown} and missing codes {missing}"
            )
        weights = np.array([weights[int(c)] for c in codes], dtype=float)
    weights = _checks.as_array("weights", weights)
    _checks.check_weights("weights", weights, k)
    weights = weights.astype(dtype)
    return weights / jnp.sum(weights)


def check_options(method: str, spec: Any, options: dict) -> None:
    """Raises ValueError naming ``options`` when the fitter rejects a key."""
    try:
        sig = inspect.signature(spec.fit)
    except (TypeError, ValueError):  # builtins, C callables: cannot check.
        return
    params = list(sig.parameters.values())
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return
    accepted = [
        p.name
        for p in params[4:]
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(
            f"options: unknown option(s) {unknown} for method {method!r}"
            f" (known: {accepted})"
        )


def label_weights(weights: Mapping, labels: tuple) -> dict[int, Any]:
    """A ``label -> weight`` mapping keyed by group index instead."""
    unknown = sorted(str(k) for k in weights if k not in labels)
    if unknown:
        raise ValueError(
            f"weights: expected one weight per group value {list(labels)},"
            f" got unknown values {unknown}"
        )
    return {labels.index(k): v for k, v in weights.items()}
