"""The default image command: its wall time, and its boosting auditor.

Runs the command a user runs,

  python -m jaxunlearn feature --data mnist5k --attribute thickness \\
      --out DIR --json --quiet

in a subprocess and records its wall time, its CPU time (user + system of
the child) and the load average around it, with the audit of every level
it prints. Then it reads ``DIR/repaired.npz`` (both splits, every level)
and, at the levels ``--pixels-t``, scores the gradient-boosting ``Z``
auditor two ways side by side, each trained and scored by stratified
5-fold CV on the repaired test images (the strict AUC) and trained on the
repaired training images (in-sample AUC):

* on the 64 PCA codes of the repaired training images (what the command
  runs; the figure must equal the command's own ``auc_boosting``);
* on the 784 raw pixels (what the command ran before, the costly part).

  PYTHONPATH=. python benchmarks/bench_image_cli.py [--out DIR] \\
      [--pixels-t 0 0.5 1] [--quick]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import sklearn.ensemble  # noqa: F401 - loaded before threads are limited
from _harness import _loadavg, quick_run, record
from sklearn.decomposition import PCA
from threadpoolctl import threadpool_limits

from jaxunlearn import audit

# The command's boosting input on images (checked below against its own
# figure, so a change of the command's setting fails this run loudly).
IMAGE_BOOSTING_CODES = 64


def _run_command(out: str, extra: list[str]) -> tuple[dict, dict]:
    argv = [sys.executable, "-m", "jaxunlearn", "feature", "--data",
            "mnist5k", "--attribute", "thickness", "--out", out, "--json",
            "--quiet", *extra]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = _loadavg()
    t0 = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    timing = {
        "command": " ".join(["jaxunlearn", *argv[3:]]),
        "wall_s": wall,
        "cpu_s": cpu,
        "loadavg_before": load,
        "loadavg_after": _loadavg(),
    }
    return timing, json.loads(proc.stdout)


def _boosting(tr, te, z_tr, z_te, seed: int) -> dict:
    kw = {"model": "boosting", "seed": seed}
    t0 = time.process_time()
    with threadpool_limits(1):
        strict = audit.strict_leakage_auc(te, z_te, folds=5, **kw)
        insample = audit.leakage_auc(tr, z_tr, te, z_te, **kw)
    return {"strict_auc": strict, "insample_auc": insample,
            "cpu_s": time.process_time() - t0}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument(
        "--out", default=None, help="output folder (default: a temporary one)"
    )
    p.add_argument("--pixels-t", type=float, nargs="+", default=[0.0, 1.0])
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    if args.out is None:
        with tempfile.TemporaryDirectory() as out:
            args.out = out
            _bench(args)
    else:
        _bench(args)


def _bench(args) -> None:
    extra = ["--max-rows", "400", "--t", "0,1"] if quick_run() else []
    timing, reply = _run_command(args.out, extra)
    record("image_cli_default", **timing, method=reply["method"],
           levels=reply["levels"])  # fmt: skip
    with np.load(os.path.join(args.out, "repaired.npz")) as f:
        arrays = dict(f)
    ts = [float(t) for t in arrays["t"]]
    z_tr, z_te = arrays["z_train"], arrays["z_test"]
    n_tr, n_te = z_tr.size, z_te.size
    for t in args.pixels_t:
        i = ts.index(t)
        tr = arrays["x_train_repaired"][i].reshape(n_tr, -1)
        te = arrays["x_test_repaired"][i].reshape(n_te, -1)
        with threadpool_limits(1):  # as the command: one BLAS thread
            pca = PCA(IMAGE_BOOSTING_CODES, svd_solver="randomized",
                      random_state=0).fit(tr)  # fmt: skip
            c_tr, c_te = pca.transform(tr), pca.transform(te)
        codes = _boosting(c_tr, c_te, z_tr, z_te, 0)
        level = reply["levels"][i]
        if abs(codes["strict_auc"] - level["auc_boosting"]) > 1e-9:
            raise SystemExit(
                f"t={t}: codes AUC {codes['strict_auc']} is not the"
                f" command's {level['auc_boosting']}"
            )
        pixels = _boosting(tr, te, z_tr, z_te, 0)
        record("image_cli_boosting", t=t, n_train=n_tr, n_test=n_te,
               codes=IMAGE_BOOSTING_CODES, on_codes=codes, on_pixels=pixels,
               logistic_strict_auc=level["auc_logistic"])  # fmt: skip


if __name__ == "__main__":
    main()
