"""Gaussian barycenter: jaxunlearn vs POT vs OTT-JAX, float64, CPU.

For d in {8, 32, 128} and k in {2, 4, 16} with non-uniform weights:
  * jaxunlearn.transport.gaussian_barycenter (default tol, jitted),
  * POT ot.gaussian.bures_wasserstein_barycenter (NumPy; timed with its
    default settings, and run to convergence as the accuracy reference),
  * OTT-JAX costs.Bures(dimension=d).barycenter (jitted, default tolerance).
Each size is also run at EQUAL accuracy (relative error <= 1e-9 against
POT's converged answer): ours with ``tol=1e-10`` (asserted), OTT-JAX with
the fewest forced steps that get there (see ``ott_barycenter``).
Single-threaded CPU for every library (see the environment settings below).
Compile time is reported apart. The max error of each against POT's
converged answer (relative to max |S_bar|) is printed with the ratios, and
a vmapped batch of 256 problems is timed against a Python loop of single
jitted calls. ``--quick`` runs a tiny subset for CI.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")
# One thread for every library (NumPy/OpenBLAS for POT, XLA for JAX): on a
# shared machine, multi-threaded BLAS oversubscribes the cores and POT's
# timings blow up 40x; single-threaded runs compare the algorithms.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault(
    "XLA_FLAGS",
    "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
)

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import ot  # noqa: E402
from ott.geometry import costs  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _harness import record, time_call, time_jax  # noqa: E402

from jaxunlearn.transport import gaussian_barycenter  # noqa: E402


def problem(rs, k, d, cond=100.0):
    covs = []
    for _ in range(k):
        q, _ = np.linalg.qr(rs.randn(d, d))
        eig = np.logspace(0, np.log10(cond), d) * rs.uniform(0.5, 2.0)
        covs.append((q * eig) @ q.T)
    covs = np.stack(covs)
    covs = 0.5 * (covs + covs.transpose(0, 2, 1))
    means = rs.randn(k, d)
    w = rs.uniform(0.1, 1.0, k)
    return means, covs, w / w.sum()


def pot_reference(means, covs, w):
    scale = np.max(np.abs(covs))
    _, cov = ot.gaussian.bures_wasserstein_barycenter(
        means, covs, w, num_iter=20000, eps=1e-13 * scale
    )
    return cov


def ours(means, covs, w):
    return gaussian_barycenter(means, covs, w).cov


def ours_equal(means, covs, w):
    return gaussian_barycenter(means, covs, w, tol=EQUAL_TOL).cov


EQUAL_TOL = 1e-10


def ott_barycenter(d, iterations=None, threshold=None):
    """OTT-JAX's Bures barycenter; ``iterations`` forces that many steps.

    OTT's stopping test reads the difference slot of the NEXT block of
    ``inner_iterations`` (still -1), so the loop stops after
    ``min_iterations`` steps (5 by default) whatever ``tolerance`` says.
    Equal accuracy therefore fixes the number of steps, and runs the
    Newton-Schulz square roots tight (their default threshold and
    regularization, 1e-6, cap the accuracy near 1e-5).
    """
    cost = costs.Bures(dimension=d)
    kw = (
        {}
        if iterations is None
        else {
            "min_iterations": iterations,
            "max_iterations": iterations,
            "inner_iterations": 5,
            "sqrtm_kw": {"threshold": threshold, "regularization": 1e-14},
        }
    )

    def fn(means, covs, w):
        xs = jnp.concatenate([means, covs.reshape(covs.shape[0], -1)], axis=1)
        x, _ = cost.barycenter(w, xs, **kw)
        return x[d:].reshape(d, d)

    return fn


def ott_equal_accuracy(d, jargs, ref, scale):
    """OTT within relative error 1e-9: the loosest square-root threshold,
    then the fewest steps (multiple of 5), that get there."""
    for threshold in (1e-8, 1e-9, 1e-10):
        for n in range(10, 105, 5):
            fn = ott_barycenter(d, n, threshold)
            got = np.asarray(jax.jit(fn)(*jargs))
            err = np.max(np.abs(got - ref)) / scale
            if err <= 1e-9:
                return fn, {"steps": n, "sqrtm_threshold": threshold}, err
    raise AssertionError(f"d={d}: OTT did not reach 1e-9 ({err:.1e})")


def pot_default(means, covs, w):
    return ot.gaussian.bures_wasserstein_barycenter(means, covs, w)[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        sizes, batch_sizes, batch, reps = [(8, 2), (8, 4)], [(8, 2)], 16, 3
    else:
        sizes = [(d, k) for d in (8, 32, 128) for k in (2, 4, 16)]
        batch_sizes, batch, reps = [(8, 4), (32, 4), (8, 16)], 256, 15
    rs = np.random.RandomState(0)
    print(
        f"{'d':>4} {'k':>3} | {'ours ms':>9} {'OTT ms':>9} {'POT ms':>9} |"
        f" {'OTT/ours':>8} {'POT/ours':>8} | {'err ours':>9} {'err OTT':>9}"
        f" {'err POT':>9} | {'acc x':>8} | compile ours/OTT s"
    )
    for d, k in sizes:
        means, covs, w = problem(rs, k, d)
        ref = pot_reference(means, covs, w)
        scale = np.max(np.abs(ref))
        jargs = tuple(jnp.asarray(a) for a in (means, covs, w))
        ott_fn = ott_barycenter(d)
        t_ours = time_jax(ours, *jargs, reps=reps)
        t_ott = time_jax(ott_fn, *jargs, reps=reps)
        # POT is slow at large sizes: one timed call once a call takes > 1 s.
        t0 = time.perf_counter()
        pot_default(means, covs, w)
        slow = time.perf_counter() - t0 > 1.0
        t_pot = time_call(
            pot_default, means, covs, w, reps=1 if slow else reps, warmup=0
        )
        err_ours = (
            np.max(np.abs(np.asarray(jax.jit(ours)(*jargs)) - ref)) / scale
        )
        err_ott = (
            np.max(np.abs(np.asarray(jax.jit(ott_fn)(*jargs)) - ref)) / scale
        )
        err_pot = np.max(np.abs(pot_default(means, covs, w) - ref)) / scale
        ott_eq, ott_cfg_eq, err_ott_eq = ott_equal_accuracy(
            d, jargs, ref, scale
        )
        t_ours_eq = time_jax(ours_equal, *jargs, reps=reps)
        t_ott_eq = time_jax(ott_eq, *jargs, reps=reps)
        err_ours_eq = (
            np.max(np.abs(np.asarray(jax.jit(ours_equal)(*jargs)) - ref))
            / scale
        )
        assert err_ours_eq < 1e-9, f"d={d} k={k}: {err_ours_eq:.2e} at 1e-10"
        r_ott_eq = t_ott_eq["median_s"] / t_ours_eq["median_s"]
        n_iters_eq = int(
            jax.jit(
                lambda m, c, v: gaussian_barycenter(m, c, v, tol=EQUAL_TOL)
            )(*jargs).n_iters
        )
        out = jax.jit(gaussian_barycenter)(*jargs)
        assert bool(out.converged), (d, k)
        assert err_ours < 1e-9, f"d={d} k={k}: error {err_ours:.2e} vs POT"
        r_ott = t_ott["median_s"] / t_ours["median_s"]
        r_pot = t_pot["median_s"] / t_ours["median_s"]
        acc = err_ott / max(err_ours, 1e-300)
        ms = [1e3 * t["median_s"] for t in (t_ours, t_ott, t_pot)]
        print(
            f"{d:>4} {k:>3} | {ms[0]:>9.3f} {ms[1]:>9.3f} {ms[2]:>9.3f} |"
            f" {r_ott:>8.2f} {r_pot:>8.2f} | {err_ours:>9.1e} {err_ott:>9.1e}"
            f" {err_pot:>9.1e} | {acc:>8.1e} |"
            f" {t_ours['compile_s']:.2f}/{t_ott['compile_s']:.2f}"
            f"  (ours {int(out.n_iters)} iters)",
            flush=True,
        )
        print(
            f"      equal accuracy (tol 1e-10): ours"
            f" {1e3 * t_ours_eq['median_s']:.3f} ms ({n_iters_eq} iters, err"
            f" {err_ours_eq:.1e}), OTT {1e3 * t_ott_eq['median_s']:.3f} ms"
            f" ({ott_cfg_eq}, err {err_ott_eq:.1e}), OTT/ours"
            f" {r_ott_eq:.2f}",
            flush=True,
        )
        record(
            "bench_barycenter",
            case={"d": d, "k": k, "dtype": "float64", "quick": args.quick},
            ours=t_ours,
            ott=t_ott,
            pot=t_pot,
            ratio_ott_over_ours=r_ott,
            ratio_pot_over_ours=r_pot,
            err_ours=err_ours,
            err_ott=err_ott,
            err_pot_default=err_pot,
            accuracy_ratio_ott_over_ours=acc,
            n_iters=int(out.n_iters),
            equal_tol=EQUAL_TOL,
            ours_equal=t_ours_eq,
            ott_equal=t_ott_eq,
            err_ours_equal=err_ours_eq,
            err_ott_equal=err_ott_eq,
            ratio_ott_over_ours_equal=r_ott_eq,
            n_iters_equal=n_iters_eq,
            ott_cfg_equal=ott_cfg_eq,
        )
    print(f"\nbatch of {batch} problems: vmap vs a loop of single jitted calls")
    for d, k in batch_sizes:
        probs = [problem(rs, k, d) for _ in range(batch)]
        means, covs, w = (
            jnp.asarray(np.stack(p)) for p in zip(*probs, strict=True)
        )
        t_vmap = time_jax(jax.vmap(ours), means, covs, w, reps=reps)
        single = jax.jit(ours)
        single(means[0], covs[0], w[0]).block_until_ready()

        def loop(means, covs, w, single=single):
            return [
                single(means[i], covs[i], w[i]) for i in range(means.shape[0])
            ]

        t_loop = time_call(loop, means, covs, w, reps=max(2, reps // 2))
        got = np.asarray(jax.jit(jax.vmap(ours))(means, covs, w))
        want = np.stack(loop(means, covs, w))
        assert np.max(np.abs(got - want)) <= 1e-9 * np.max(np.abs(want))
        ratio = t_loop["median_s"] / t_vmap["median_s"]
        print(
            f"d={d:>3} k={k:>2}: vmap {1e3 * t_vmap['median_s']:.1f} ms,"
            f" loop {1e3 * t_loop['median_s']:.1f} ms, loop/vmap {ratio:.2f}"
        )
        record(
            "bench_barycenter_batch",
            case={"d": d, "k": k, "batch": batch, "quick": args.quick},
            vmap=t_vmap,
            loop=t_loop,
            ratio_loop_over_vmap=ratio,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
