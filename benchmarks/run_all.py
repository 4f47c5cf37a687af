"""Runs every ``benchmarks/bench_*.py`` script; ``--quick`` for the CI smoke.

Each script asserts its own correctness at the benchmarked sizes, so a quick
run catches fast-but-wrong code; timings from quick runs are not quoted.
"""

import argparse
import pathlib
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("names", nargs="*", help="subset of bench_* names")
    args = parser.parse_args()
    scripts = sorted(HERE.glob("bench_*.py"))
    if args.names:
        scripts = [s for s in scripts if s.stem in args.names]
    failed = []
    for script in scripts:
        cmd = [sys.executable, str(script)] + (
            ["--quick"] if args.quick else []
        )
        t0 = time.perf_counter()
        rc = subprocess.run(cmd, check=False).returncode
        print(f"[{script.stem}] rc={rc} in {time.perf_counter() - t0:.1f}s")
        if rc != 0:
            failed.append(script.stem)
    if failed:
        print("benchmarks failed:", ", ".join(failed))
        return 1
    print(f"{len(scripts)} benchmark scripts passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
