"""Runs every ``benchmarks/bench_*.py`` script; ``--quick`` for the CI smoke.

Each script asserts its own correctness at the benchmarked sizes, so a quick
run catches fast-but-wrong code; timings from quick runs are not quoted.
``--jobs N`` runs N scripts at once (for the smoke only: timed runs want the
machine to themselves); each script's output is printed whole when it ends.
"""

import argparse
import concurrent.futures
import pathlib
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).parent


def _run(script: pathlib.Path, quick: bool, capture: bool):
    cmd = [sys.executable, str(script)] + (["--quick"] if quick else [])
    t0 = time.perf_counter()
    res = subprocess.run(
        cmd,
        check=False,
        capture_output=capture,
        text=True,
    )
    if capture:
        sys.stdout.write(res.stdout)
        sys.stderr.write(res.stderr)
    elapsed = time.perf_counter() - t0
    print(f"[{script.stem}] rc={res.returncode} in {elapsed:.1f}s", flush=True)
    return script.stem, res.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--jobs", type=int, default=1, help="scripts run at once (--quick)"
    )
    parser.add_argument("names", nargs="*", help="subset of bench_* names")
    args = parser.parse_args()
    if args.jobs < 1:
        parser.error(f"--jobs: expected a positive integer, got {args.jobs}")
    if args.jobs > 1 and not args.quick:
        parser.error("--jobs: only with --quick (timed runs run one at a time)")
    scripts = sorted(HERE.glob("bench_*.py"))
    if args.names:
        scripts = [s for s in scripts if s.stem in args.names]
    capture = args.jobs > 1
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        results = list(
            pool.map(lambda s: _run(s, args.quick, capture), scripts)
        )
    failed = [name for name, rc in results if rc != 0]
    if failed:
        print("benchmarks failed:", ", ".join(failed))
        return 1
    print(f"{len(scripts)} benchmark scripts passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
