"""The semi-discrete repair on 1,000,000 rows, out of core.

Adult (Z = sex; sex, relationship and fnlwgt dropped, as in
``bench_feature_repair.py``) is split once into a source part (80%) and a
held-out part (20%). One million rows are resampled from the source part
with Gaussian jitter on the numeric columns (0.05 of each column's std) and
written chunk by chunk to a memory-mapped file; the repair is fitted on the
memmap (``feature.fit_semidiscrete``: reservoir fit, then potential steps
streamed over every row) and repairs every row into a second memmap
(``feature.transform_semidiscrete``). Prints and records the wall and CPU
time of each phase and the peak resident memory of the process
(``resource.getrusage``), then the strict audit of the repaired held-out
rows (rows the fit never saw: stratified 5-fold AUC of Z, logistic and
gradient boosting).

    PYTHONPATH=. python benchmarks/bench_scale.py            # 1,000,000 rows
    PYTHONPATH=. python benchmarks/bench_scale.py --quick    # 6,000 rows
"""

import argparse
import os
import resource
import sys
import tempfile
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(__file__))

import jax  # noqa: E402
import numpy as np  # noqa: E402
from _harness import record  # noqa: E402

from jaxunlearn import audit, feature  # noqa: E402
from jaxunlearn.datasets import load_adult  # noqa: E402

DROP = ("sex", "relationship", "fnlwgt")


def peak_rss_gb() -> float:
    """Peak resident memory of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def adult_parts(seed):
    data = load_adult()
    keep = [i for i, c in enumerate(data.columns) if c not in DROP]
    x = np.asarray(data.x, np.float64)[:, keep]
    kinds = tuple(
        "categorical" if data.kinds[i] == "categorical" else "continuous"
        for i in keep
    )
    ncat = tuple(
        len(data.categories[data.columns[i]]) if k == "categorical" else 0
        for i, k in zip(keep, kinds, strict=True)
    )
    z = np.asarray(data.sensitive["sex"].codes, np.int32)
    idx = np.random.default_rng(seed).permutation(x.shape[0])
    cut = (4 * idx.size) // 5
    return x, z, idx[:cut], idx[cut:], kinds, ncat


def write_memmap(folder, x, z, source, rows, kinds, seed, chunk):
    """``rows`` jittered resamples of ``x[source]`` into two memmaps."""
    numeric = np.array([k != "categorical" for k in kinds])
    sd = x[source].std(0) * numeric
    xm = np.lib.format.open_memmap(
        os.path.join(folder, "x.npy"), "w+", np.float32, (rows, x.shape[1])
    )
    zm = np.lib.format.open_memmap(
        os.path.join(folder, "z.npy"), "w+", np.int32, (rows,)
    )
    rng = np.random.default_rng(seed)
    for s in range(0, rows, chunk):
        n = min(chunk, rows - s)
        pick = source[rng.integers(0, source.size, n)]
        jitter = rng.normal(size=(n, x.shape[1])) * (0.05 * sd)
        xm[s : s + n] = x[pick] + jitter
        zm[s : s + n] = z[pick]
    xm.flush()
    zm.flush()
    del xm, zm
    return (
        np.load(os.path.join(folder, "x.npy"), mmap_mode="r"),
        np.load(os.path.join(folder, "z.npy"), mmap_mode="r"),
    )


def timed(fn):
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk-rows", type=int, default=16384)
    parser.add_argument("--max-fit-rows", type=int, default=30000)
    parser.add_argument("--stream-steps", type=int, default=3)
    parser.add_argument("--num-atoms", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = 6_000 if args.quick else args.rows
    max_fit = 1_500 if args.quick else args.max_fit_rows
    x, z, source, held, kinds, ncat = adult_parts(args.seed)
    with tempfile.TemporaryDirectory() as folder:
        (xm, zm), w_gen, c_gen = timed(
            lambda: write_memmap(
                folder, x, z, source, rows, kinds, args.seed, args.chunk_rows
            )
        )
        print(f"# wrote {rows} rows in {w_gen:.1f} s", flush=True)
        rss_data = peak_rss_gb()
        rep, w_fit, c_fit = timed(
            lambda: feature.fit_semidiscrete(
                xm,
                zm,
                kinds=list(kinds),
                num_categories=list(ncat),
                num_atoms=args.num_atoms,
                max_fit_rows=max_fit,
                stream_steps=args.stream_steps,
                chunk_rows=args.chunk_rows,
                seed=args.seed,
            )
        )
        print(f"# fit {w_fit:.1f} s wall, {c_fit:.1f} s CPU", flush=True)
        out = np.lib.format.open_memmap(
            os.path.join(folder, "repaired.npy"), "w+", np.float32, xm.shape
        )
        _, w_tr, c_tr = timed(
            lambda: feature.transform_semidiscrete(
                rep,
                xm,
                zm,
                key=jax.random.key(1),
                chunk_rows=args.chunk_rows,
                out=out,
            )
        )
        out.flush()
        print(f"# transform {w_tr:.1f} s wall, {c_tr:.1f} s CPU", flush=True)
        rss = peak_rss_gb()
        # Correctness: every repaired categorical value is a valid code.
        for i, k in enumerate(ncat):
            if k:
                col = np.asarray(out[: min(rows, 200_000), i])
                assert np.all((col >= 0) & (col < k) & (col == np.round(col)))
    xh = np.asarray(x[held], np.float32)
    rep_h = np.asarray(
        feature.transform_semidiscrete(rep, xh, z[held], key=jax.random.key(2))
    )
    onehot = _design(rep_h, kinds, ncat)
    raw = _design(xh, kinds, ncat)
    auc = {
        m: audit.strict_leakage_auc(onehot, z[held], model=m, seed=args.seed)
        for m in ("logistic", "boosting")
    }
    auc_raw = audit.strict_leakage_auc(raw, z[held], model="logistic")
    total = w_fit + w_tr
    print(
        f"| rows | atoms | fit wall / CPU (s) | transform wall / CPU (s) |"
        f" total wall (s) | peak RSS (GB) | strict AUC(Z) held-out"
        f" logistic / boosting |\n|---|---|---|---|---|---|---|\n"
        f"| {rows:,} | {dict(rep.options)['num_atoms']} |"
        f" {w_fit:.0f} / {c_fit:.0f} | {w_tr:.0f} / {c_tr:.0f} |"
        f" {total:.0f} | {rss:.2f} | {auc['logistic']:.3f} /"
        f" {auc['boosting']:.3f} |",
        flush=True,
    )
    print(
        f"# targets: total <= 600 s: {'met' if total <= 600 else 'MISSED'};"
        f" peak RSS <= 4 GB: {'met' if rss <= 4 else 'MISSED'};"
        f" unrepaired held-out logistic AUC {auc_raw:.3f}"
    )
    record(
        "bench_scale",
        rows=rows,
        columns=int(x.shape[1]),
        num_atoms=dict(rep.options)["num_atoms"],
        max_fit_rows=max_fit,
        stream_steps=args.stream_steps,
        chunk_rows=args.chunk_rows,
        write_wall_s=w_gen,
        fit_wall_s=w_fit,
        fit_cpu_s=c_fit,
        transform_wall_s=w_tr,
        transform_cpu_s=c_tr,
        total_wall_s=total,
        peak_rss_gb=rss,
        peak_rss_gb_after_data=rss_data,
        held_out_rows=int(held.size),
        strict_auc_logistic=auc["logistic"],
        strict_auc_boosting=auc["boosting"],
        unrepaired_auc_logistic=auc_raw,
    )
    return 0


def _design(x, kinds, ncat):
    """One-hot categorical columns, standardized numeric columns."""
    cols = []
    for i, (kind, k) in enumerate(zip(kinds, ncat, strict=True)):
        if kind == "categorical":
            cols.append(np.eye(k)[x[:, i].astype(int)])
        else:
            c = x[:, i : i + 1]
            cols.append((c - c.mean()) / (c.std() + 1e-12))
    return np.concatenate(cols, axis=1)


if __name__ == "__main__":
    sys.exit(main())
