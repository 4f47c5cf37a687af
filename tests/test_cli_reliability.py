"""The ``jaxunlearn`` command: kill, --resume and --seed; argument fuzzing.

Subprocess runs are marked slow (each pays JAX start-up and compilation);
the argument-parser fuzzing runs in-process and is fast.
"""

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jaxunlearn import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _strip_times(value):
    """Drops wall-clock fields, which legitimately differ between runs."""
    if isinstance(value, dict):
        return {
            k: _strip_times(v)
            for k, v in value.items()
            if "second" not in k and "time" not in k
        }
    if isinstance(value, list):
        return [_strip_times(v) for v in value]
    return value


def _data(tmp_path):
    rng = np.random.default_rng(0)
    y = np.arange(90) % 3
    x = (rng.normal(size=(90, 4)) + 2.0 * y[:, None]).astype(np.float32)
    path = tmp_path / "d.npz"
    np.savez(path, x=x, y=y)
    return str(path)


def _argv(data, out, seeds):
    return [
        "datapoint", "--data", f"npz:{data}", "--forget", "class:0:0.5",
        "--hidden", "8", "--original-epochs", "2", "--epochs", "2",
        "--gamma", "2", "--baselines", "retrain", "--seeds", str(seeds),
        "--batch-size", "16", "--seed", "3", "--json", "--quiet",
        "--out", str(out),
    ]  # fmt: skip


def _run(argv, **kw):
    env = dict(os.environ, PYTHONPATH=ROOT, JAX_PLATFORMS="cpu")
    return subprocess.run(
        [sys.executable, "-m", "jaxunlearn", *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
        **kw,
    )


@pytest.mark.slow
def test_cli_kill_and_resume(tmp_path):
    data = _data(tmp_path)
    seeds = 3
    full = _run(_argv(data, tmp_path / "full", seeds))
    assert full.returncode == 0, full.stderr
    expected = _strip_times(json.loads(full.stdout))

    out = tmp_path / "killed"
    ckpt = out / "checkpoint.json"
    env = dict(os.environ, PYTHONPATH=ROOT, JAX_PLATFORMS="cpu")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jaxunlearn", *_argv(data, out, seeds)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 300
    units = {}
    while time.monotonic() < deadline and proc.poll() is None:
        if ckpt.exists():
            units = json.loads(ckpt.read_text())["units"]
            if units:
                break
        time.sleep(0.05)
    killed_midway = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if not killed_midway:
        pytest.skip("the run finished before it could be killed")
    # The checkpoint left by the killed process is whole (atomic writes).
    before = json.loads(ckpt.read_text())["units"]
    assert before and len(before) >= len(units)
    if len(before) == seeds:
        pytest.skip("every seed finished before the kill")

    # The resumed process recomputes the seeds left: equal output also shows
    # that --seed makes runs in separate processes deterministic.
    resumed = _run(_argv(data, out, seeds) + ["--resume"])
    assert resumed.returncode == 0, resumed.stderr
    assert _strip_times(json.loads(resumed.stdout)) == expected
    after = json.loads(ckpt.read_text())["units"]
    # No finished work lost or redone differently.
    for name, value in before.items():
        assert _strip_times(after[name]) == _strip_times(value)


# ------------------------------------------------------------------ fuzzing
FLAGS = [
    "demo", "feature", "datapoint", "reproduce", "gmm", "mnist",
    "--data", "--attribute", "--forget", "--seed", "--seeds", "--gamma",
    "--t", "--method", "--hidden", "--epochs", "--resume", "--json",
    "--quiet", "--out", "--max-rows", "--baselines", "--auditors",
    "digits", "csv:", "npz:", "class:3:0.5", "indices:", "-1", "0", "1.5",
    "nan", "auto", "a:b:n", "", "--", "-",
]  # fmt: skip
_SAFE = {"demo", "reproduce", "gmm", "mnist"}


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    st.lists(st.one_of(st.sampled_from(FLAGS), st.text(max_size=8)), max_size=8)
)
def test_fuzz_cli_arguments(argv):
    # Parsing never crashes: a bad command line is a UsageError (exit 2).
    parser = cli.build_parser()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            args = parser.parse_args(argv)
    except cli.UsageError:
        return
    except SystemExit as err:  # --help / --version
        exit_code = err.code
    else:
        exit_code = None
        assert args.command in ("demo", "feature", "datapoint", "reproduce")
    assert exit_code in (0, None)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    st.lists(st.one_of(st.sampled_from(FLAGS), st.text(max_size=8)), max_size=8)
)
def test_fuzz_cli_main_bad_input_is_one_line(argv):
    # Full runs are too slow to fuzz: only command lines that fail (or
    # ask for help) are run; any other exit is a bug.
    parser = cli.build_parser()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            args = parser.parse_args(argv)
    except (cli.UsageError, SystemExit):
        args = None
    if args is not None:
        return  # a valid command line would start a real run
    err = io.StringIO()
    with (
        contextlib.redirect_stderr(err),
        contextlib.redirect_stdout(io.StringIO()),
    ):
        code = cli.main(argv)
    assert code in (0, 2)
    if code == 2:
        lines = err.getvalue().strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("jaxunlearn: error:")
