"""Accelerator check: four workloads in one run, one JSON record.

Usage (from the repository root, on the host whose device you want timed):

  PYTHONPATH=. python benchmarks/device.py           # full sizes (<= 8 min)
  PYTHONPATH=. python benchmarks/device.py --small   # CPU-sized smoke run

Workloads (full / --small):
  1. a vmapped batch of Gaussian barycenters, 256 / 16 problems (d = 32,
     k = 4, float32);
  2. ``unlearn_many`` with K = 64 / 4 forget requests, sharded over the
     devices (``shard=True``), the MNIST-style MLP on the digits data;
  3. neural OT: outer iterations per second of ``fit_neural_ot``;
  4. the default tabular repair (``feature.fit`` / ``feature.transform``
     with their default method) at 1,000,000 / 10,000 rows, 8 features.
Each workload is compiled apart and timed by its median. A workload that
fails records its error instead of figures; the record names the device.
The full sizes are meant for a GPU or TPU host; on a CPU use ``--small``.
"""

import argparse
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from _harness import record, time_call  # noqa: E402

from jaxunlearn import feature  # noqa: E402
from jaxunlearn.datapoint import unlearn_many  # noqa: E402
from jaxunlearn.datasets import load_digits, train_test_split  # noqa: E402
from jaxunlearn.models import MLP, functional  # noqa: E402
from jaxunlearn.transport import (  # noqa: E402
    NeuralOTConfig,
    fit_neural_ot,
    gaussian_barycenter,
)


def barycenter_batch(n):
    d, k = 32, 4
    rs = np.random.RandomState(0)
    q = np.linalg.qr(rs.randn(n, k, d, d))[0]
    eig = np.logspace(0, 2, d)[None, None] * rs.uniform(0.5, 2, (n, k, 1))
    covs = np.einsum("nkij,nkj,nklj->nkil", q, eig, q).astype(np.float32)
    covs = 0.5 * (covs + np.swapaxes(covs, -1, -2))
    means = rs.randn(n, k, d).astype(np.float32)
    w = np.full((n, k), 1.0 / k, np.float32)
    fn = jax.jit(jax.vmap(lambda m, c, v: gaussian_barycenter(m, c, v).cov))
    args = tuple(jnp.asarray(a) for a in (means, covs, w))
    t0 = time.perf_counter()
    fn(*args).block_until_ready()
    compile_s = time.perf_counter() - t0
    t = time_call(fn, *args, reps=3)
    return {"problems": n, "d": d, "k": k, "compile_s": compile_s, **t,
            "problems_per_s": n / t["median_s"]}  # fmt: skip


def many_requests(k_req):
    data = load_digits()
    x, y = np.asarray(data.images), np.asarray(data.labels)
    tt = train_test_split(jax.random.key(0), x, y, test_fraction=0.2)
    d = int(np.prod(x.shape[1:]))
    apply_fn, params = functional(MLP(d, (128, 64), 10, rngs=nnx.Rngs(0)))
    n = tt.x_train.shape[0]
    rng = np.random.default_rng(0)
    sets = [np.sort(rng.choice(n, 20, replace=False)) for _ in range(k_req)]

    def run():
        return unlearn_many(
            apply_fn, params, tt.x_train, tt.y_train, sets, tt.x_test,
            tt.y_test, keys=jax.random.split(jax.random.key(1), 1),
            max_forget=20, shard=True, gamma=4.0, epochs=1,
        )  # fmt: skip

    t = time_call(run, reps=2)
    return {"requests": k_req, "devices": jax.device_count(), **t,
            "requests_per_s": k_req / t["median_s"]}  # fmt: skip


def neural_ot(iterations):
    k1, k2 = jax.random.split(jax.random.key(1))
    src = jax.random.normal(k1, (4000, 16))
    tgt = jax.random.normal(k2, (4000, 16)) * 2.0 + 1.0
    cfg = NeuralOTConfig(num_iterations=iterations)

    def run():
        return fit_neural_ot(src, tgt, key=jax.random.key(2), config=cfg)

    t = time_call(run, reps=2)
    return {"iterations": iterations, "dim": 16, **t,
            "iterations_per_s": iterations / t["median_s"]}  # fmt: skip


def tabular(rows):
    rng = np.random.default_rng(0)
    z = rng.integers(0, 2, rows).astype(np.int32)
    x = (rng.standard_normal((rows, 8)) + z[:, None]).astype(np.float32)

    def run():
        repair = feature.fit(x, z, method="gaussian")
        return feature.transform(repair, x, z, key=jax.random.key(0))

    t = time_call(run, reps=2)
    return {"rows": rows, "features": 8, "method": "gaussian", **t,
            "rows_per_s": rows / t["median_s"]}  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--quick", action="store_true", help="= --small")
    args = parser.parse_args()
    small = args.small or args.quick
    sizes = (16, 4, 50, 10_000) if small else (256, 64, 400, 1_000_000)
    t0 = time.perf_counter()
    out = {}
    for name, fn, size in zip(
        ("barycenter_batch", "unlearn_many", "neural_ot", "tabular_repair"),
        (barycenter_batch, many_requests, neural_ot, tabular),
        sizes,
        strict=True,
    ):
        try:
            out[name] = fn(size)
        except Exception as err:  # noqa: BLE001 (record, go on)
            out[name] = {"error": f"{type(err).__name__}: {err}"[:500]}
        print(name, out[name], flush=True)
    record(
        "device",
        case={"small": small, "dtype": "float32"},
        device=str(jax.devices()[0]),
        total_s=time.perf_counter() - t0,
        **out,
    )
    return 1 if any("error" in v for v in out.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
