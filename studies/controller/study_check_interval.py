"""Study: what checking the stop rule every k steps costs in overshoot.

    PYTHONPATH=. python studies/controller/study_check_interval.py

Full Fashion-MNIST, the split and original model of
``benchmarks/bench_default.py``'s seed 10 (all 60,000 training images,
forget 75% of class 3, MLP 128-64, Adam 1e-3, batch 64, 30 epochs). One
epoch of ``unlearn(..., gamma=1, learning_rate=5e-4)`` (the step of
``AutoGamma.fast()``) with ``stop="forget_acc"`` at several thresholds,
checked after every k-th step (``stop_each_step=k``): prints the forget
accuracy where each run stopped (the first check at or below the
threshold) and its wall time (one warm call). With k = 1 the overshoot is
what one step moves; larger k add what the steps between two checks move.
"""

import time

import jax
import numpy as np
from flax import nnx

from jaxunlearn.baselines import reinitialize
from jaxunlearn.datapoint import fit_classifier, unlearn
from jaxunlearn.datasets import forget_class_fraction, load_fashion_mnist
from jaxunlearn.models import MLP, functional

THRESHOLDS = (0.8, 0.75, 0.7)
INTERVALS = (1, 2, 4, 8, 16)


def main():
    tr, te = load_fashion_mnist(), load_fashion_mnist(subset="test")
    apply_fn, p0 = functional(MLP(784, (128, 64), 10, rngs=nnx.Rngs(0)))
    k_s, k_m = jax.random.split(jax.random.key(10))
    split = forget_class_fraction(
        k_s, np.asarray(tr.images), np.asarray(tr.labels),
        np.asarray(te.images), np.asarray(te.labels), 3, 0.75,
        num_classes=10,
    )  # fmt: skip
    k_o, _, _, k_u = jax.random.split(k_m, 4)
    xa = np.concatenate([split.x_retain, split.x_forget])
    ya = np.concatenate([split.y_retain, split.y_forget])
    orig = fit_classifier(
        apply_fn, reinitialize(p0, key=k_o), xa, ya, key=k_o,
        batch_size=64, learning_rate=1e-3, epochs=30,
    ).params  # fmt: skip
    print("threshold, k: forget accuracy where it stopped (seconds)")
    for v in THRESHOLDS:
        cells = []
        for k in INTERVALS:

            def run(k=k, v=v):
                return unlearn(
                    apply_fn, orig, split, gamma=1.0, learning_rate=5e-4,
                    epochs=1, stop="forget_acc", stop_value=v,
                    stop_each_step=k, key=k_u,
                )  # fmt: skip

            jax.block_until_ready(run())
            t0 = time.perf_counter()
            out = jax.block_until_ready(run())
            t = time.perf_counter() - t0
            cells.append(f"k={k}: {float(out.history.forget_acc[0]):.3f}"
                         f" ({t:.2f} s)")  # fmt: skip
        print(f"{v:.2f}: " + "; ".join(cells), flush=True)


if __name__ == "__main__":
    main()
