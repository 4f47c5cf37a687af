"""float32 against float64 accuracy of the Gaussian barycenter and maps.

For random SPD covariances of a given condition number (eigenvalues
log-spaced from 1 to ``cond``, random rotations), computes the barycenter
and the map of group 0 in float32 and in float64 and prints, per
condition number: the float64 fixed-point residual, the relative error of
the float32 barycenter covariance against float64, the float32 push-forward
error ``||A S_0 A - S_bar|| / ||S_bar||``, and whether each converged.
The table in docs/benchmarks/numerics.md is generated from this script's
record by ``benchmarks/make_tables.py``. Asserts: everything finite,
float64 residual below 1e-7 (or the attainable ``10 eps cond`` of the
default tolerance, 2.2e-7 at cond 1e8), float32 error below 1e-4 for
cond <= 1e2.
"""

import argparse
import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import numpy as np  # noqa: E402

jax.config.update("jax_enable_x64", True)

from _harness import record  # noqa: E402

from jaxunlearn import transport  # noqa: E402


def spd(rng, d, cond):
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return (q * np.logspace(0, np.log10(cond), d)[None, :]) @ q.T


def sqrtm64(a):
    w, v = np.linalg.eigh(0.5 * (a + a.T))
    return (v * np.sqrt(np.maximum(w, 0))[None, :]) @ v.T


def one(seed, k, d, cond):
    rng = np.random.default_rng(seed)
    covs = np.stack([spd(rng, d, cond) for _ in range(k)])
    means = rng.normal(size=(k, d))
    o64 = transport.gaussian_barycenter(means, covs, max_iter=500)
    o32 = transport.gaussian_barycenter(
        means.astype(np.float32), covs.astype(np.float32)
    )
    s = np.asarray(o64.cov)
    r = sqrtm64(s)
    rhs = sum(sqrtm64(r @ c @ r) for c in covs) / k
    norm = np.linalg.norm(s)
    s32 = np.asarray(o32.cov, np.float64)
    a32 = np.asarray(
        transport.gaussian_transport_matrix(
            covs[0].astype(np.float32), o32.cov
        ),
        np.float64,
    )
    assert np.all(np.isfinite(s32)) and np.all(np.isfinite(a32))
    return {
        "res64": float(np.linalg.norm(s - rhs) / norm),
        "rel32": float(np.linalg.norm(s32 - s) / norm),
        "push32": float(np.linalg.norm(a32 @ covs[0] @ a32 - s) / norm),
        "conv64": bool(o64.converged),
        "conv32": bool(o32.converged),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    k, d = 8, 5
    seeds = range(2 if args.quick else 5)
    conds = [1e0, 1e2, 1e4] if args.quick else [1e0, 1e2, 1e4, 1e6, 1e8]
    rows = []
    for cond in conds:
        runs = [one(s, k, d, cond) for s in seeds]
        row = {
            "cond": cond,
            "res64_max": max(r["res64"] for r in runs),
            "rel32_median": float(np.median([r["rel32"] for r in runs])),
            "rel32_max": max(r["rel32"] for r in runs),
            "push32_median": float(np.median([r["push32"] for r in runs])),
            "push32_max": max(r["push32"] for r in runs),
            "converged64": sum(r["conv64"] for r in runs) / len(runs),
            "converged32": sum(r["conv32"] for r in runs) / len(runs),
        }
        # Below 1e-7, or the attainable ~10 eps cond that the default
        # tolerance of gaussian_barycenter allows for ill-conditioned input.
        eps = np.finfo(np.float64).eps
        assert row["res64_max"] < max(1e-7, 10 * eps * cond), row
        if cond <= 1e2:
            assert row["rel32_max"] < 1e-4, row
        rows.append(row)
        record("numerics.float32_vs_float64", k=k, d=d, **row)
    print()
    print(
        "| cond | float64 residual (max) | float32 cov rel. error"
        " (median / max) | float32 push-forward error (median / max) |"
        " converged f64 / f32 |"
    )
    print("|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['cond']:.0e} | {r['res64_max']:.1e} |"
            f" {r['rel32_median']:.1e} / {r['rel32_max']:.1e} |"
            f" {r['push32_median']:.1e} / {r['push32_max']:.1e} |"
            f" {r['converged64']:.0%} / {r['converged32']:.0%} |"
        )


if __name__ == "__main__":
    main()
