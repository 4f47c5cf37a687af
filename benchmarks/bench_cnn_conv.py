"""``models.CNN(conv="dot")`` against ``conv="conv"`` inside the training
loop, on XLA:CPU.

    PYTHONPATH=. python benchmarks/bench_cnn_conv.py           # full
    PYTHONPATH=. python benchmarks/bench_cnn_conv.py --quick   # smoke

The library's small CNN (conv 16, 32; dense 64) on 28x28 images, batch 64:
one Adam step (``jaxunlearn.datapoint.fit_classifier``'s loop: a compiled
``lax.scan`` over the steps of an epoch) with XLA's convolution and with the
same 3x3 cross-correlation as shifted slices and one matrix product, and
each variant's single step compiled on its own and called from Python (no
loop around it in the program). XLA:CPU runs a convolution inside a loop
body many times slower than outside one (jax-ml/jax issue 12868); the
matrix-product form does not have that cost. Both variants' logits and
gradients are checked equal (float32 tolerance) at the benchmarked size.
Records go to ``benchmarks/results/bench_cnn_conv.jsonl``.
"""

import argparse

import jax
import numpy as np
import optax
from _harness import record, time_call
from flax import nnx

from jaxunlearn.datapoint import fit_classifier
from jaxunlearn.models import CNN, functional


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n_steps, reps = (4, 2) if args.quick else (47, 5)
    rows_ = n_steps * 64
    x = jax.random.uniform(jax.random.key(1), (rows_, 28, 28))
    y = jax.random.randint(jax.random.key(2), (rows_,), 0, 10)
    fns = {}
    for impl in ("conv", "dot"):
        fns[impl] = functional(CNN(28, 10, conv=impl, rngs=nnx.Rngs(0)))
    (f_conv, params), (f_dot, _) = fns["conv"], fns["dot"]

    def loss(f, p, xb, yb):
        logits = f(p, xb)
        return optax.softmax_cross_entropy_with_integer_labels(
            logits, yb
        ).mean()

    # Correctness at the benchmarked size: the same logits and gradients.
    np.testing.assert_allclose(
        f_dot(params, x[:64]), f_conv(params, x[:64]), rtol=1e-4, atol=1e-5
    )
    g_conv = jax.grad(lambda p: loss(f_conv, p, x[:64], y[:64]))(params)
    g_dot = jax.grad(lambda p: loss(f_dot, p, x[:64], y[:64]))(params)
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5),
        g_dot, g_conv,
    )  # fmt: skip
    opt = optax.adam(1e-3)
    times = {}
    for impl, (f, p) in fns.items():

        def epoch(f=f, p=p):
            return fit_classifier(
                f, p, x, y, key=jax.random.key(0), epochs=1, batch_size=64,
                learning_rate=1e-3,
            ).params  # fmt: skip

        step = jax.jit(
            lambda p, s, xb, yb, f=f: _step(f, p, s, xb, yb, opt, loss)
        )

        def python_loop(f=f, p=p, step=step):
            s = opt.init(p)
            for i in range(n_steps):
                sl = slice(64 * i, 64 * (i + 1))
                p, s = step(p, s, x[sl], y[sl])
            return p

        times[impl] = {
            "scan": time_call(epoch, reps=reps),
            "python_loop": time_call(python_loop, reps=reps),
        }
    ratio = times["conv"]["scan"]["median_s"] / times["dot"]["scan"]["median_s"]
    record(
        "bench_cnn_conv",
        case={
            "model": "CNN (conv 16, 32; dense 64)",
            "image": 28,
            "batch": 64,
            "steps": n_steps,
        },  # fmt: skip
        times=times,
        scan_conv_over_dot=ratio,
    )
    print(
        f"{n_steps} steps in the training scan: conv"
        f" {times['conv']['scan']['median_s']:.3f} s, dot"
        f" {times['dot']['scan']['median_s']:.3f} s ({ratio:.1f}x); the same"
        f" steps called from Python: conv"
        f" {times['conv']['python_loop']['median_s']:.3f} s, dot"
        f" {times['dot']['python_loop']['median_s']:.3f} s"
    )


def _step(f, p, s, xb, yb, opt, loss):
    g = jax.grad(lambda q: loss(f, q, xb, yb))(p)
    u, s = opt.update(g, s, p)
    return optax.apply_updates(p, u), s


if __name__ == "__main__":
    main()
