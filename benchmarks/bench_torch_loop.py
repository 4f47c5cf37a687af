"""The unlearning loop: steps per second, JAX vs an equivalent PyTorch loop.

Usage:
  PYTHONPATH=. python benchmarks/bench_torch_loop.py [--quick]

The authors' setting: the MNIST MLP (784-128-64-10, ReLU), batches of 64
retain and 16 forget rows, loss ``CE(retain) + gamma * I(Y_hat; Z)`` with
``I`` the plug-in mutual information of the softmax predictions on the
pooled sample ``[B_r; B_f; B_r]``, ``z = [0, 0, 1]`` per block
(``jaxunlearn.datapoint.membership_mi``), Adam at lr 1e-3, float32. Ours is
``jaxunlearn.datapoint.unlearn`` (the whole loop under one ``lax.scan``);
the peer is the same step written in PyTorch and run as a Python loop on the
CPU (one thread by default: at these batch sizes more threads only contend
on a shared machine; ``--torch-threads 0`` keeps torch's default). Both
losses are checked to agree at the first step.

PyTorch is not a dependency of the library: the peer runs only where torch
is importable, e.g. a separate environment made with::

  python -m venv .venv-bench
  echo "$PWD/.venv/lib/python3.11/site-packages" \
    > .venv-bench/lib/python3.11/site-packages/main.pth
  .venv-bench/bin/pip install torch==2.13.0
  PYTHONPATH=. .venv-bench/bin/python benchmarks/bench_torch_loop.py

Without torch the script times ours alone and says the peer was skipped.
"""

import argparse
import importlib.util
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from _harness import record, time_call  # noqa: E402

from jaxunlearn.datapoint import (  # noqa: E402
    MembershipBatch,
    init_train_state,
    make_train_step,
    unlearn,
)
from jaxunlearn.datasets import (  # noqa: E402
    forget_class_fraction,
    load_digits,
    load_mnist5k,
    train_test_split,
)
from jaxunlearn.models import MLP, functional  # noqa: E402

GAMMA, LR, B_R, B_F = 4.0, 1e-3, 64, 16


def setup(quick):
    data = load_digits() if quick else load_mnist5k()
    x, y = np.asarray(data.images), np.asarray(data.labels)
    k1, k2 = jax.random.split(jax.random.key(0))
    tt = train_test_split(k1, x, y, test_fraction=0.2, stratify=True)
    split = forget_class_fraction(
        k2, tt.x_train, tt.y_train, tt.x_test, tt.y_test, 3, 0.75,
        num_classes=10,
    )  # fmt: skip
    d = int(np.prod(x.shape[1:]))
    apply_fn, params = functional(MLP(d, (128, 64), 10, rngs=nnx.Rngs(0)))
    return split, apply_fn, params


def merge(samples):
    """One timing summary from single-repetition ones."""
    med = [t["median_s"] for t in samples]
    out = {"median_s": float(np.median(med)), "min_s": min(med)}
    out["iqr_s"] = float(np.subtract(*np.percentile(med, [75, 25])))
    out["reps"] = len(med)
    if "compile_s" in samples[0]:
        out["compile_s"] = samples[0]["compile_s"]
    return out


def batches(n_r, n_f, steps, seed=0):
    """The loops' minibatch indices, drawn up front (the torch loop's)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, n_r, (steps, B_R)), rng.integers(
        0, n_f, (steps, B_F)
    )


def jax_step_loop(apply_fn, split):
    """The library's step (``make_train_step``) in one jitted ``lax.scan``
    over given minibatch indices: the same work per step as the torch loop
    (no per-call setup, no per-epoch evaluation)."""
    step = make_train_step(apply_fn)
    xr, yr = jnp.asarray(split.x_retain), jnp.asarray(split.y_retain)
    xf, yf = jnp.asarray(split.x_forget), jnp.asarray(split.y_forget)
    ones_r, ones_f = jnp.ones(B_R, xr.dtype), jnp.ones(B_F, xr.dtype)

    @jax.jit
    def run(params, ir, i_f):
        def body(state, idx):
            a, b = idx
            batch = MembershipBatch(xr[a], yr[a], ones_r, xf[b], yf[b], ones_f)
            return step(state, batch, GAMMA, LR)

        state, aux = jax.lax.scan(body, init_train_state(params), (ir, i_f))
        return state.params, aux.task_loss[0] + GAMMA * aux.mi[0]

    return run


def torch_loop(torch, split, params, steps, seed=0):
    """The same step in PyTorch; returns (seconds, first-step loss)."""
    import time

    leaves = [np.asarray(a) for a in jax.tree.leaves(params)]
    d = int(np.prod(split.x_retain.shape[1:]))
    net = torch.nn.Sequential(
        torch.nn.Linear(d, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 10),
    )  # fmt: skip
    # Same initial weights as ours (flax kernels are [in, out]).
    kernels = [a for a in leaves if a.ndim == 2]
    biases = [a for a in leaves if a.ndim == 1]
    with torch.no_grad():
        for lin, w, b in zip(net[::2], kernels, biases, strict=True):
            lin.weight.copy_(torch.from_numpy(w.T.copy()))
            lin.bias.copy_(torch.from_numpy(b.copy()))
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    xr = torch.from_numpy(np.asarray(split.x_retain).reshape(-1, d))
    yr = torch.from_numpy(np.asarray(split.y_retain).astype(np.int64))
    xf = torch.from_numpy(np.asarray(split.x_forget).reshape(-1, d))
    ir, i_f = batches(xr.shape[0], xf.shape[0], steps, seed)
    ir, i_f = torch.from_numpy(ir), torch.from_numpy(i_f)
    # The paper's Z: the pooled sample [B_r; B_f; B_r] with z = [0, 0, 1]
    # per block (all of the data vs the retain data), as membership_mi.
    z = torch.cat([torch.zeros(B_R + B_F), torch.ones(B_R)]).long()
    onehot = torch.nn.functional.one_hot(z, 2).float()
    first = None
    t0 = time.perf_counter()
    for s in range(steps):
        lr_, lf = net(xr[ir[s]]), net(xf[i_f[s]])
        task = torch.nn.functional.cross_entropy(lr_, yr[ir[s]])
        p = torch.softmax(torch.cat([lr_, lf, lr_]), dim=1)
        joint = p.T @ onehot / p.shape[0]
        outer = joint.sum(1, keepdim=True) * joint.sum(0, keepdim=True)
        mi = torch.sum(torch.xlogy(joint, joint / outer))
        loss = task + GAMMA * mi
        opt.zero_grad()
        loss.backward()
        opt.step()
        if first is None:
            first = float(loss.detach())
    return time.perf_counter() - t0, first


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=1,
        help="torch.set_num_threads (0 = torch's default)",
    )
    args = parser.parse_args()
    epochs, reps = (1, 1) if args.quick else (3, 3)
    split, apply_fn, params = setup(args.quick)
    n_r, n_f = int(split.x_retain.shape[0]), int(split.x_forget.shape[0])
    steps = epochs * -(-n_r // B_R)

    def ours():
        out = unlearn(
            apply_fn, params, split, gamma=GAMMA, epochs=epochs,
            key=jax.random.key(1),
        )  # fmt: skip
        return out.params

    run = jax_step_loop(apply_fn, split)
    ir, i_f = (jnp.asarray(a) for a in batches(n_r, n_f, steps))
    has_torch = importlib.util.find_spec("torch") is not None
    if has_torch:
        import torch

        if args.torch_threads:
            torch.set_num_threads(args.torch_threads)
        torch_loop(torch, split, params, 2)  # warm-up
    # Interleaved repetitions: a drift in the machine's load hits all three.
    t_ours, t_loop, times = [], [], []
    for _ in range(reps):
        t_ours.append(time_call(ours, reps=1))
        t_loop.append(time_call(run, params, ir, i_f, reps=1))
        if has_torch:
            t, first = torch_loop(torch, split, params, steps)
            times.append(t)
    t_ours, t_loop = merge(t_ours), merge(t_loop)
    _, jax_first = run(params, ir, i_f)
    row = {
        "case": {
            "data": "digits" if args.quick else "mnist5k",
            "steps": steps, "batch_retain": B_R, "batch_forget": B_F,
            "gamma": GAMMA, "dtype": "float32",
        },
        "jax": t_ours,
        "jax_steps_per_s": steps / t_ours["median_s"],
        "jax_step_loop": t_loop,
        "jax_step_loop_steps_per_s": steps / t_loop["median_s"],
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
    }  # fmt: skip
    if not has_torch:
        row["torch"] = "skipped: torch not installed (see the docstring)"
        print(row["torch"])
    else:
        # Same objective and batches: the first-step losses agree.
        jax_first = float(jax_first)
        assert abs(jax_first - first) < 1e-4 * max(1.0, abs(first)), (
            jax_first,
            first,
        )
        med = float(np.median(times))
        row["torch"] = {"median_s": med, "min_s": min(times), "reps": reps}
        row["torch_version"] = torch.__version__
        row["torch_threads"] = torch.get_num_threads()
        row["torch_steps_per_s"] = steps / med
        row["speedup_vs_torch"] = med / t_ours["median_s"]
        row["step_loop_speedup_vs_torch"] = med / t_loop["median_s"]
        row["first_loss"] = {"jax": jax_first, "torch": first}
        print(
            f"{steps} steps: unlearn {row['jax_steps_per_s']:.0f} steps/s,"
            f" step loop {row['jax_step_loop_steps_per_s']:.0f} steps/s,"
            f" PyTorch {row['torch_steps_per_s']:.0f} steps/s; JAX / PyTorch"
            f" {row['speedup_vs_torch']:.2f}x (unlearn),"
            f" {row['step_loop_speedup_vs_torch']:.2f}x (step loop)"
        )
    record("bench_torch_loop", **row)


if __name__ == "__main__":
    main()
