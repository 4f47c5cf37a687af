"""Shared benchmark harness: compile time apart, median and IQR, one record.

Usage inside a ``bench_*.py`` script::

    from _harness import record, time_call, time_jax
    t = time_jax(fn, *args, reps=20)         # jitted JAX callable
    t = time_call(py_fn, *args, reps=20)     # any Python callable
    record("bench_name", case={...}, ours=t, peer=t2, ratio=...)

Each ``record`` call prints one JSON line (a row). When the script exits,
every row of the run goes into ONE JSON line appended to the committed
``benchmarks/results/<script>.jsonl``: the commit, the machine, the load
average before and after, the JAX dtype setting and every figure. The
tables in BENCHMARKS.md and ``docs/benchmarks/`` are generated from these
records by ``benchmarks/make_tables.py``. Runs with ``--quick`` (the CI
smoke test) append nowhere in the repository: their record goes to
``$JAXUNLEARN_BENCH_RESULTS`` if set, else to a temporary folder. A run
that ends in an uncaught exception (a failed correctness check) writes no
record.
"""

import atexit
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
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


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args],
            capture_output=True,
            text=True,
            check=False,
            cwd=pathlib.Path(__file__).parent,
        ).stdout.strip()
    except OSError:
        return ""


def _cpu_model() -> str:
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _loadavg() -> list[float]:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return []


def environment() -> dict[str, Any]:
    """JAX version, backend, device, machine, load and git commit."""
    commit = _git("rev-parse", "--short", "HEAD")
    # Changes to tracked files other than the records themselves.
    dirty = bool(
        _git(
            "status", "--porcelain", "--untracked-files=no",
            "--", ":/", ":!/benchmarks/results",
        )
    )  # fmt: skip
    dev = jax.devices()[0]
    return {
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "device": getattr(dev, "device_kind", str(dev)),
        "n_devices": jax.device_count(),
        "cpu_count": os.cpu_count(),
        "cpu": _cpu_model(),
        "host": platform.node(),
        "x64": bool(jax.config.jax_enable_x64),
        "commit": commit,
        "dirty": dirty,
        "loadavg": _loadavg(),
    }


_ROWS: list[dict[str, Any]] = []
_START: dict[str, Any] = {}
# The run starts when a script imports the harness: its load then, not at
# its first row (often the last thing a script does).
_IMPORTED = {
    "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "loadavg": _loadavg(),
}


def quick_run() -> bool:
    """Whether this process is a ``--quick`` (CI smoke) run."""
    return "--quick" in sys.argv[1:]


def results_dir() -> pathlib.Path:
    """Where this run's record goes (never the repository for --quick)."""
    override = os.environ.get("JAXUNLEARN_BENCH_RESULTS")
    if override:
        return pathlib.Path(override)
    if quick_run():
        return pathlib.Path(tempfile.gettempdir()) / "jaxunlearn-bench"
    return RESULTS


def _script() -> str:
    return pathlib.Path(sys.argv[0]).stem or "interactive"


def _append_line(path: pathlib.Path, line: str) -> None:
    # One write of one line to a file opened for appending: a crash leaves
    # the earlier records whole.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def _excepthook(kind, value, tb) -> None:
    _START["failed"] = True  # a run that raised leaves no record
    sys.__excepthook__(kind, value, tb)


def _flush() -> None:
    if not _ROWS:
        return
    if _START.get("failed"):
        print("the run raised: no record written", flush=True)
        return
    env = _START["env"]  # the commit and machine as the run started
    env["loadavg"] = _loadavg()  # and the load as it ended
    run = {
        "script": _script(),
        "argv": sys.argv[1:],
        "quick": quick_run(),
        "started": _START.get("time"),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "loadavg_start": _START.get("loadavg"),
        "env": env,
        "rows": list(_ROWS),
    }
    path = results_dir() / f"{run['script']}.jsonl"
    _append_line(path, json.dumps(run, default=float, sort_keys=True))
    print(f"record appended to {path}", flush=True)


def record(name: str, **fields: Any) -> dict[str, Any]:
    """Prints one JSON row; the run's rows are saved together at exit."""
    if not _START:
        _START.update(_IMPORTED)
        _START["env"] = environment()
        atexit.register(_flush)
        sys.excepthook = _excepthook
    row = json.loads(json.dumps({"benchmark": name, **fields}, default=float))
    print(json.dumps(row), flush=True)
    _ROWS.append(row)
    return row
