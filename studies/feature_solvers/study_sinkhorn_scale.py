"""Sinkhorn cost per iteration: Adult 12,000-row sample vs the full Adult.

Times `transport.entropic_coupling` (online costs, batch 256) between the
two groups' distinct encoded rows (Z = sex) at `relative_epsilon=0.1`: one
iteration and a converged run on the sample, one and three iterations on
the full Adult (the difference is the cost of two iterations).

    PYTHONPATH=. python studies/feature_solvers/study_sinkhorn_scale.py [--quick]
"""

import argparse
import os
import sys
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")
# load_case: the benchmark's data split (run with benchmarks/ on
# PYTHONPATH, see the README).

import numpy as np  # noqa: E402
from bench_feature_repair import load_case  # noqa: E402

from jaxunlearn.feature import coupling_marginals  # noqa: E402
from jaxunlearn.transport import entropic_coupling  # noqa: E402


def atoms(rows):
    xtr, ztr, *_, spec = load_case("adult:sex", rows, 0)
    m = coupling_marginals(np.float32(xtr), ztr, spec=spec)
    return [
        arr.astype(np.float32)
        for g in (0, 1)
        for arr in (m.support[g], m.mass[g])
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    plan = (
        [(3000, (1, 2000))]
        if args.quick
        else [
            (12000, (1, 2000)),
            (0, (1, 3)),
        ]
    )
    for rows, iters in plan:
        x, a, y, b = atoms(rows)
        print(
            f"rows {rows or 'all'}: distinct {x.shape[0]} x {y.shape[0]},"
            f" d={x.shape[1]}",
            flush=True,
        )
        for it in iters:
            c0, w0 = time.process_time(), time.perf_counter()
            out = entropic_coupling(
                x,
                y,
                a,
                b,
                relative_epsilon=0.1,
                batch_size=256,
                max_iterations=it,
            )
            out.f.block_until_ready()
            print(
                f"  max_iterations={it}: n_iters {int(out.n_iters)} err"
                f" {float(out.error):.2e} converged {bool(out.converged)}"
                f" cpu {time.process_time() - c0:.1f}"
                f" wall {time.perf_counter() - w0:.1f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
