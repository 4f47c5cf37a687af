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
import sys

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from _harness import record, time_call  # noqa: E402

from jaxunlearn.datapoint import unlearn  # noqa: E402
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
    rng = np.random.default_rng(seed)
    ir = torch.from_numpy(rng.integers(0, xr.shape[0], (steps, B_R)))
    i_f = torch.from_numpy(rng.integers(0, xf.shape[0], (steps, B_F)))
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
    n_r = int(split.x_retain.shape[0])
    steps = epochs * -(-n_r // B_R)

    def ours():
        out = unlearn(
            apply_fn, params, split, gamma=GAMMA, epochs=epochs,
            key=jax.random.key(1),
        )  # fmt: skip
        return out.params

    t_ours = time_call(ours, reps=reps)
    row = {
        "case": {
            "data": "digits" if args.quick else "mnist5k",
            "steps": steps, "batch_retain": B_R, "batch_forget": B_F,
            "gamma": GAMMA, "dtype": "float32",
        },
        "jax": t_ours,
        "jax_steps_per_s": steps / t_ours["median_s"],
    }  # fmt: skip
    if importlib.util.find_spec("torch") is None:
        row["torch"] = "skipped: torch not installed (see the docstring)"
        print(row["torch"])
    else:
        import torch

        if args.torch_threads:
            torch.set_num_threads(args.torch_threads)
        # Same objective: the first-step loss of both, on a fixed batch.
        from jaxunlearn.datapoint import MembershipBatch  # noqa: PLC0415
        from jaxunlearn.datapoint import (  # noqa: PLC0415
            init_train_state,
            make_train_step,
        )

        torch_loop(torch, split, params, 2)  # warm-up
        times, first = [], None
        for _ in range(reps):
            t, first = torch_loop(torch, split, params, steps)
            times.append(t)
        rng = np.random.default_rng(0)  # the torch loop's first batch
        ir = rng.integers(0, n_r, (steps, B_R))[0]
        i_f = rng.integers(0, split.x_forget.shape[0], (steps, B_F))[0]
        xr, yr = jnp.asarray(split.x_retain), jnp.asarray(split.y_retain)
        xf, yf = jnp.asarray(split.x_forget), jnp.asarray(split.y_forget)
        batch = MembershipBatch(
            xr[ir], yr[ir], jnp.ones(B_R), xf[i_f], yf[i_f], jnp.ones(B_F)
        )
        _, aux = make_train_step(apply_fn)(
            init_train_state(params), batch, GAMMA, LR
        )
        jax_first = float(aux.task_loss + GAMMA * aux.mi)
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
        row["first_loss"] = {"jax": jax_first, "torch": first}
        print(
            f"{steps} steps: JAX {row['jax_steps_per_s']:.0f} steps/s,"
            f" PyTorch {row['torch_steps_per_s']:.0f} steps/s,"
            f" JAX / PyTorch {row['speedup_vs_torch']:.2f}x"
        )
    record("bench_torch_loop", **row)


if __name__ == "__main__":
    main()
