"""One process of the two-process ``jax.distributed`` test (CPU, gloo).

Usage: python -m tests.datapoint._distributed_worker PROCESS_ID PORT OUT.npz
Process 0 writes the gathered history and parameters to OUT.npz; the test
compares them with a single-process run.
"""

import os
import sys

os.environ["JAX_PLATFORMS"] = "cpu"
os.environ.pop("XLA_FLAGS", None)

import jax  # noqa: E402
import numpy as np  # noqa: E402

jax.config.update("jax_cpu_collectives_implementation", "gloo")
jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")


def main():
    pid, port, out_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    jax.distributed.initialize(
        coordinator_address=f"127.0.0.1:{port}",
        num_processes=2,
        process_id=pid,
        initialization_timeout=120,
    )
    from jax.experimental import multihost_utils

    from tests.datapoint.test_many import run_reference_problem

    assert jax.process_count() == 2 and jax.device_count() == 2
    out = run_reference_problem(shard=True)
    leaves = jax.tree.leaves((out.params, out.history))
    host = [
        np.asarray(multihost_utils.process_allgather(a, tiled=True))
        for a in leaves
    ]
    if pid == 0:
        np.savez(out_path, *host)
    jax.distributed.shutdown()


if __name__ == "__main__":
    main()
