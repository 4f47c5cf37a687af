"""Shared benchmark harness: compile time apart, median and IQR, JSON lines.

Usage inside a ``bench_*.py`` script::

    from _harness import Timer, record, environment
    t = time_jax(fn, *args, reps=20)         # jitted JAX callable
    t = time_call(py_fn, *args, reps=20)     # any Python callable
    record("bench_name", case={...}, ours=t, peer=t2, ratio=...)
"""

import json
import os
import pathlib
import statistics
import subprocess
import time
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

RESULTS = pathlib.Path(__file__).parent / "results"


def _block(x: Any) -> Any:
    return jax.tree.map(
        lambda a: (
            a.block_until_ready() if hasattr(a, "block_until_ready") else a
        ),
        x,
    )


def _summary(samples: list[float]) -> dict[str, float]:
    q1, _, q3 = np.percentile(samples, [25, 50, 75])
    return {
        "median_s": float(statistics.median(samples)),
        "min_s": float(min(samples)),
        "iqr_s": float(q3 - q1),
        "reps": len(samples),
    }


def time_jax(fn: Callable, *args: Any, reps: int = 10, warmup: int = 2) -> dict:
    """Times a JAX function: compile apart, then ``reps`` blocked runs."""
    jitted = jax.jit(fn)
    t0 = time.perf_counter()
    compiled = jitted.lower(*args).compile()
    compile_s = time.perf_counter() - t0
    for _ in range(warmup):
        _block(compiled(*args))
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        _block(compiled(*args))
        samples.append(time.perf_counter() - t0)
    out = _summary(samples)
    out["compile_s"] = compile_s
    return out


def time_call(
    fn: Callable, *args: Any, reps: int = 10, warmup: int = 1
) -> dict:
    """Times any Python callable (results blocked if they are JAX arrays)."""
    for _ in range(warmup):
        _block(fn(*args))
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        _block(fn(*args))
        samples.append(time.perf_counter() - t0)
    return _summary(samples)


def environment() -> dict[str, Any]:
    """JAX version, backend, device and git commit of this run."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
            cwd=pathlib.Path(__file__).parent,
        ).stdout.strip()
    except OSError:
        commit = ""
    dev = jax.devices()[0]
    return {
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "device": getattr(dev, "device_kind", str(dev)),
        "n_devices": jax.device_count(),
        "cpu_count": os.cpu_count(),
        "commit": commit,
    }


def record(name: str, **fields: Any) -> dict[str, Any]:
    """Prints one JSON line and appends it to ``results/<name>.jsonl``."""
    row = {"benchmark": name, **fields, "env": environment()}
    line = json.dumps(row, default=float)
    print(line, flush=True)
    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS / f"{name}.jsonl", "a") as f:
        f.write(line + "\n")
    return row
