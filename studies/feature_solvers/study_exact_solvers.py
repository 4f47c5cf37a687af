"""Exact OT solvers on the coupling repair's Adult problem (process CPU s).

The exact coupling of `fit_coupling` on the 12,000-row Adult sample
(Z = sex) is a 2,468 x 4,998 transport problem between the groups' distinct
encoded rows. This study times POT's network simplex on it and the
alternatives tried to make it cheaper; every variant must reach the same
optimal cost (asserted).

    PYTHONPATH=. python studies/feature_solvers/study_exact_solvers.py [--lazy] [--quick]
"""

import argparse
import os
import sys
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")
# load_case: the benchmark's data split (run with benchmarks/ on
# PYTHONPATH, see the README).

import numpy as np  # noqa: E402
import ot  # noqa: E402
from bench_feature_repair import load_case  # noqa: E402
from ot.lp.emd_wrap import emd_c, emd_c_sparse  # noqa: E402

from jaxunlearn.feature import coupling_marginals  # noqa: E402


def atoms(case, rows):
    xtr, ztr, *_, spec = load_case(case, rows, 0)
    m = coupling_marginals(np.float32(xtr), ztr, spec=spec)
    out = [arr for g in (0, 1) for arr in (m.support[g], m.mass[g])]
    print(
        f"# {case}, {rows} rows: {ztr.size} training rows, distinct"
        f" {out[0].shape[0]} x {out[2].shape[0]}, width {out[0].shape[1]}"
    )
    return out


def cost(x, y):
    c = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2 * x @ y.T
    return np.maximum(c, 0.0)


def timed(fn):
    t = time.process_time()
    out = fn()
    return time.process_time() - t, out


def staircase(a, b):
    """North-west-corner edges: a feasible basis for any (a, b)."""
    ca, cb = np.cumsum(a), np.cumsum(b)
    br = np.unique(np.concatenate([ca, cb]))
    mid = (np.concatenate([[0.0], br[:-1]]) + br) / 2
    n, m = a.size, b.size
    return (
        np.minimum(np.searchsorted(ca, mid), n - 1),
        np.minimum(np.searchsorted(cb, mid), m - 1),
    )


def column_generation(c, a, b, k, u=None, v=None, tol=1e-9):
    """Sparse network simplex on candidate edges, grown until optimal.

    Candidates: the k smallest reduced costs per row and per column (plain
    costs without duals) and a staircase; after each sparse solve, the k
    most violated edges per row and column are added while any reduced
    cost of the dense problem is below -tol.
    """
    n, m = c.shape
    red = c if u is None else c - u[:, None] - v[None, :]
    rows, cols = [], []

    def add(red, keep_negative):
        j = np.argpartition(red, k, axis=1)[:, :k]
        i = np.argpartition(red, k, axis=0)[:k, :]
        r = np.concatenate([np.repeat(np.arange(n), k), i.ravel()])
        q = np.concatenate([j.ravel(), np.tile(np.arange(m), k)])
        if keep_negative:
            ok = red[r, q] < -tol
            r, q = r[ok], q[ok]
        rows.append(r)
        cols.append(q)

    add(red, False)
    sr, sc = staircase(a, b)
    rows.append(sr)
    cols.append(sc)
    rounds = 0
    while True:
        rounds += 1
        key = np.unique(
            np.concatenate(rows).astype(np.int64) * m + np.concatenate(cols)
        )
        r, q = key // m, key % m
        *_, total, u, v, code = emd_c_sparse(
            a, b, r.astype(np.uint64), q.astype(np.uint64), c[r, q], 10**9
        )
        assert code == 1, code
        red = c - u[:, None] - v[None, :]
        if not np.any(red < -tol):
            return total, rounds, key.size
        rows, cols = [r], [q]
        add(red, True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--lazy", action="store_true", help="also emd2_lazy")
    args = parser.parse_args()
    rows = 3000 if args.quick else 12000
    x, a, y, b = atoms("adult:sex", rows)
    b = b * a.sum() / b.sum()
    t_cost, c = timed(lambda: cost(x, y))
    print("| variant | CPU (s) | optimal cost |\n|---|---|---|")
    print(f"| cost matrix (float64 BLAS) | {t_cost:.3f} | |")
    t, (_, ref, u, v, _) = timed(lambda: emd_c(a, b, c, 10**9, 1, None, None))
    print(f"| POT ot.emd dense (network simplex) | {t:.3f} | {ref:.15f} |")

    def check(name, t, val, extra=""):
        assert abs(val - ref) <= 1e-9 * max(1.0, abs(ref)), (name, val, ref)
        print(f"| {name}{extra} | {t:.3f} | {val:.15f} |", flush=True)

    ct = np.ascontiguousarray(c.T)
    t, out = timed(lambda: emd_c(b, a, ct, 10**9, 1, None, None))
    check("dense, transposed problem", t, out[1])
    t, out = timed(lambda: emd_c(a, b, c, 10**9, 1, u, v))
    check("dense, warm start from the optimal duals", t, out[1])
    noise = 1e-9 * np.random.default_rng(0).random(c.shape)
    t, out = timed(lambda: emd_c(a, b, c + noise, 10**9, 1, None, None))
    print(f"| dense, cost + 1e-9 noise | {t:.3f} | (perturbed) |")
    for k in (5, 10, 20, 40):
        t, (val, rounds, edges) = timed(
            lambda k=k: column_generation(c, a, b, k)
        )
        check(
            f"sparse kNN k={k}, column generation",
            t,
            val,
            f" ({rounds} rounds, {edges} edges)",
        )
    if args.lazy:
        t, val = timed(lambda: ot.emd2_lazy(x, y, a, b, numItermax=10**9))
        check("POT emd2_lazy (costs on the fly)", t, float(val))
    return 0


if __name__ == "__main__":
    sys.exit(main())
