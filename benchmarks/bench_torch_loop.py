"""The unlearning loop: steps per second, JAX vs the authors' PyTorch loop.

Usage:
  PYTHONPATH=. python benchmarks/bench_torch_loop.py [--quick]

The authors' setting: the MNIST MLP (784-128-64-10, ReLU), batches of 64
retain and 16 forget rows, their zipped loaders (an epoch is
``min(ceil(R / 64), ceil(F / 16))`` steps, each loader reshuffled every
epoch), 5 epochs, loss ``CE(retain) + gamma * I(Y_hat; Z)`` with ``I`` the
plug-in mutual information of the softmax predictions on the pooled sample
``[B_r; B_f; B_r]``, ``z = [0, 0, 1]`` per block
(``jaxunlearn.datapoint.membership_mi``), Adam at lr 1e-3, float32.

Ours is ``jaxunlearn.datapoint.unlearn(..., epoch="forget")`` as a user
calls it (validation, one compiled ``lax.scan`` over epochs and steps).
The peer mirrors the authors' loop in PyTorch on the CPU: per step the
task and MI terms, one backward pass, one Adam step and the authors'
per-step ``.item()`` logging; per epoch the accuracies on the forget,
retain and test sets under ``torch.no_grad``. Two variants, each timed on
both sides: "with accuracies" (ours also measures the held-out rows, the
test rows by default: one more pass) and "steps only" (ours with
``evaluate=False``, the peer without the per-epoch accuracies). Where the
peer differs from the authors' code, it follows PyTorch's own best
practice: the rows are tensors indexed by a fresh ``randperm`` per epoch
(no per-sample ``DataLoader`` collation), one forward pass of the retain
and forget batches serves both terms (the authors pass the retain batch
three times and shuffle the pooled sample, which leaves ``I`` unchanged),
each accuracy is one forward pass over its set, and ``I`` uses ``xlogy``
(the authors add 1e-10 inside the logs). The peer runs with one thread and
with as many as JAX uses (the CPU count), interleaved; the faster is the
figure (a thread count whose warm-up epoch takes over 3x the fastest one's,
as on a loaded machine, is dropped after the warm-up and recorded). Both
losses are checked to agree on the same batches.

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
import math
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from _harness import record, time_call  # noqa: E402

from jaxunlearn.datapoint import (  # noqa: E402
    MembershipBatch,
    membership_mi,
    unlearn,
    unlearning_loss,
)
from jaxunlearn.datasets import (  # noqa: E402
    forget_class_fraction,
    load_digits,
    load_mnist5k,
    train_test_split,
)
from jaxunlearn.models import MLP, functional  # noqa: E402

GAMMA, LR, B_R, B_F, EPOCHS = 4.0, 1e-3, 64, 16, 5
VARIANTS = ("with accuracies", "steps only")


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
    return out


class TorchPeer:
    """The authors' loop in PyTorch, from our initial weights."""

    def __init__(self, torch, split, params):
        self.torch, nn = torch, torch.nn
        d = int(np.prod(split.x_retain.shape[1:]))
        self.net = nn.Sequential(
            nn.Linear(d, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
            nn.Linear(64, 10),
        )  # fmt: skip
        self.init = [np.asarray(a) for a in jax.tree.leaves(params)]

        def rows(x, y):
            x = torch.from_numpy(np.array(x, np.float32).reshape(-1, d))
            return x, torch.from_numpy(np.array(y, np.int64))

        self.r = rows(split.x_retain, split.y_retain)
        self.f = rows(split.x_forget, split.y_forget)
        self.t = rows(split.x_test, split.y_test)
        self.onehot = {}

    def reset(self):
        """Our initial weights (flax kernels are [in, out]) and fresh Adam."""
        torch = self.torch
        kernels = [a for a in self.init if a.ndim == 2]
        biases = [a for a in self.init if a.ndim == 1]
        with torch.no_grad():
            for lin, w, b in zip(self.net[::2], kernels, biases, strict=True):
                lin.weight.copy_(torch.from_numpy(w.T.copy()))
                lin.bias.copy_(torch.from_numpy(b.copy()))
        self.opt = torch.optim.Adam(self.net.parameters(), lr=LR)

    def loss(self, xr, yr, xf):
        torch = self.torch
        lr_, lf = self.net(xr), self.net(xf)
        task = torch.nn.functional.cross_entropy(lr_, yr)
        p = torch.softmax(torch.cat([lr_, lf, lr_]), dim=1)
        # The paper's Z: the pooled sample [B_r; B_f; B_r] with z = [0, 0, 1]
        # per block (all of the data vs the retain data), as membership_mi;
        # the loaders' last batches may be shorter.
        sizes = (xr.shape[0], xf.shape[0])
        if sizes not in self.onehot:
            z = torch.cat([torch.zeros(sum(sizes)), torch.ones(sizes[0])])
            self.onehot[sizes] = torch.nn.functional.one_hot(z.long()).float()
        joint = p.T @ self.onehot[sizes] / p.shape[0]
        outer = joint.sum(1, keepdim=True) * joint.sum(0, keepdim=True)
        mi = torch.sum(torch.xlogy(joint, joint / outer))
        return task, mi

    def accuracy(self, rows):
        with self.torch.no_grad():
            hit = self.net(rows[0]).argmax(1) == rows[1]
            return hit.float().mean().item()

    def run(self, epochs, evaluate, seed=0):
        """The loop; returns (seconds, history)."""
        torch = self.torch
        self.reset()
        gen = torch.Generator().manual_seed(seed)
        (xr, yr), (xf, _) = self.r, self.f
        history = []
        t0 = time.perf_counter()
        for _ in range(epochs):
            pr = torch.randperm(xr.shape[0], generator=gen).split(B_R)
            pf = torch.randperm(xf.shape[0], generator=gen).split(B_F)
            ce = mi_sum = n = 0.0
            for ir, i_f in zip(pr, pf, strict=False):  # the zipped loaders
                task, mi = self.loss(xr[ir], yr[ir], xf[i_f])
                loss = task + GAMMA * mi
                self.opt.zero_grad()
                loss.backward()
                self.opt.step()
                ce += task.item()  # the authors' per-step logging
                mi_sum += mi.item()
                loss.item()
                n += 1
            row = [ce / n, mi_sum / n]
            if evaluate:
                row += [self.accuracy(r) for r in (self.f, self.r, self.t)]
            history.append(row)
        return time.perf_counter() - t0, history


def same_loss(peer, apply_fn, params):
    """Our loss and the peer's on the same batches: full ones, and a short
    forget batch (the loaders' last) against our padded one."""
    peer.reset()
    (xr, yr), (xf, yf) = peer.r, peer.f
    out = {}
    for nf in (B_F, B_F - 4):
        with peer.torch.no_grad():
            task, mi = peer.loss(xr[:B_R], yr[:B_R], xf[:nf])
        theirs = float(task + GAMMA * mi)
        pad = np.r_[np.arange(nf), np.zeros(B_F - nf, int)]  # weight 0
        mask = jnp.asarray(np.arange(B_F) < nf, jnp.float32)
        batch = MembershipBatch(
            jnp.asarray(xr[:B_R].numpy()), jnp.asarray(yr[:B_R].numpy()),
            jnp.ones(B_R), jnp.asarray(xf[pad].numpy()),
            jnp.asarray(yf[pad].numpy()), mask,
        )  # fmt: skip
        ours = float(unlearning_loss(apply_fn, params, batch, GAMMA)[0])
        assert abs(ours - theirs) < 1e-4 * max(1.0, abs(theirs)), (
            nf,
            ours,
            theirs,
        )
        out[f"forget_rows_{nf}"] = {"jax": ours, "torch": theirs}
    return out


def floor_loops(split, apply_fn, params, epochs):
    """Two bare compiled loops: the floor under any compiled ``unlearn``.

    The same loss, Adam and batch sizes as the peer, with the batch orders
    drawn in the program and nothing else (no masks, no checks, no
    history): ``"two passes"`` runs the retain and forget batches through
    the network apart, as ``unlearn`` and the peer do; ``"one pass"`` runs
    them as one concatenated batch (the same loss, other float rounding).
    """
    d = int(np.prod(split.x_retain.shape[1:]))
    xr = jnp.asarray(split.x_retain).reshape(-1, d)
    yr = jnp.asarray(split.y_retain)
    xf = jnp.asarray(split.x_forget).reshape(-1, d)
    steps = min(math.ceil(xr.shape[0] / B_R), math.ceil(xf.shape[0] / B_F))
    opt = optax.adam(LR)

    def loss(p, a, ya, f, concat):
        if concat:
            logits = apply_fn(p, jnp.concatenate([a, f]))
            la, lf = logits[: a.shape[0]], logits[a.shape[0] :]
        else:
            la, lf = apply_fn(p, a), apply_fn(p, f)
        ce = optax.softmax_cross_entropy_with_integer_labels(la, ya).mean()
        return ce + GAMMA * membership_mi(la, lf)

    def order(k, n, b):  # a fresh order per epoch, cycled to steps * b
        return jnp.resize(jax.random.permutation(k, n), (steps, b))

    def make(concat):
        @jax.jit
        def run(p, key):
            def epoch(carry, k):
                pr, pf = (
                    order(k, xr.shape[0], B_R),
                    order(jax.random.fold_in(k, 1), xf.shape[0], B_F),
                )

                def step(c, i):
                    p, s = c
                    g = jax.grad(loss)(p, xr[pr[i]], yr[pr[i]], xf[pf[i]],
                                       concat)  # fmt: skip
                    u, s = opt.update(g, s, p)
                    return (optax.apply_updates(p, u), s), None

                return jax.lax.scan(step, carry, jnp.arange(steps))[0], None

            keys = jax.random.split(key, epochs)
            return jax.lax.scan(epoch, (p, opt.init(p)), keys)[0][0]

        return run

    return {"two passes": make(False), "one pass": make(True)}


def cpu_share(fn, *args, reps=5):
    """Process CPU time over wall time of ``reps`` calls (1 = one core)."""
    jax.block_until_ready(fn(*args))
    w, c = time.perf_counter(), time.process_time()
    for _ in range(reps):
        jax.block_until_ready(fn(*args))
    return (time.process_time() - c) / (time.perf_counter() - w)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    epochs, reps = (1, 1) if args.quick else (EPOCHS, 7)
    split, apply_fn, params = setup(args.quick)
    n_r, n_f = int(split.x_retain.shape[0]), int(split.x_forget.shape[0])
    steps = epochs * min(math.ceil(n_r / B_R), math.ceil(n_f / B_F))
    # The peer's thread counts: one, and as many as JAX's CPU client uses.
    threads = sorted({1, os.cpu_count() or 1})

    def ours(evaluate):
        out = unlearn(
            apply_fn, params, split, gamma=GAMMA, epochs=epochs,
            epoch="forget", evaluate=evaluate, key=jax.random.key(1),
        )  # fmt: skip
        return out.params

    has_torch = importlib.util.find_spec("torch") is not None
    if has_torch:
        import torch

        peer = TorchPeer(torch, split, params)
        first = same_loss(peer, apply_fn, params)
        warm = {}
        for k in threads:  # warm-up; a thread count 3x slower is dropped
            torch.set_num_threads(k)
            warm[k] = peer.run(1, True)[0]
        threads = [k for k in threads if warm[k] <= 3 * min(warm.values())]
    floors = floor_loops(split, apply_fn, params, epochs)
    fkey = jax.random.key(1)
    # Interleaved repetitions: a drift in the machine's load hits all.
    t_floor = {name: [] for name in floors}
    t_jax = {v: [] for v in VARIANTS}
    t_torch = {(v, k): [] for v in VARIANTS for k in threads}
    for _ in range(reps):
        for v in VARIANTS:
            evaluate = v == "with accuracies"
            t_jax[v].append(time_call(ours, evaluate, reps=1))
            if v == "steps only":
                for name, fn in floors.items():
                    t_floor[name].append(time_call(fn, params, fkey, reps=1))
            for k in threads if has_torch else ():
                torch.set_num_threads(k)
                t_torch[v, k].append(peer.run(epochs, evaluate)[0])
    for v in VARIANTS:
        t = merge(t_jax[v])
        row = {
            "case": {
                "data": "digits" if args.quick else "mnist5k",
                "variant": v, "epoch": "forget", "epochs": epochs,
                "steps": steps, "batch_retain": B_R, "batch_forget": B_F,
                "gamma": GAMMA, "dtype": "float32",
            },
            "jax": t,
            "jax_steps_per_s": steps / t["median_s"],
            "xla_flags": os.environ.get("XLA_FLAGS", ""),
        }  # fmt: skip
        if not has_torch:
            row["torch"] = "skipped: torch not installed (see the docstring)"
            print(row["torch"])
            record("bench_torch_loop", **row)
            continue
        per = {k: float(np.median(t_torch[v, k])) for k in threads}
        best = min(per, key=per.get)
        row["torch"] = {
            "median_s": per[best], "min_s": min(t_torch[v, best]),
            "reps": reps,
            "median_s_by_threads": {str(k): per[k] for k in threads},
            "warmup_epoch_s_by_threads": {str(k): w for k, w in warm.items()},
        }  # fmt: skip
        row["torch_version"] = torch.__version__
        row["torch_threads"] = best
        row["torch_steps_per_s"] = steps / per[best]
        row["speedup_vs_torch"] = per[best] / t["median_s"]
        row["first_loss"] = first
        print(
            f"{v}: {steps} steps, unlearn {row['jax_steps_per_s']:.0f}"
            f" steps/s, PyTorch {row['torch_steps_per_s']:.0f} steps/s"
            f" ({best} thread(s)); JAX / PyTorch"
            f" {row['speedup_vs_torch']:.2f}x"
        )
        record("bench_torch_loop", **row)
    # Where the floor is: bare compiled loops, and how many cores each side
    # keeps busy (process CPU time over wall time; 1.0 = one core).
    floor = {name: merge(t) for name, t in t_floor.items()}
    share = {"unlearn": cpu_share(ours, False)}
    share.update({f"floor, {n}": cpu_share(f, params, fkey) for n, f in
                  floors.items()})  # fmt: skip
    row = {
        "case": {"data": "digits" if args.quick else "mnist5k",
                 "variant": "steps only", "epochs": epochs, "steps": steps},
        "unlearn": merge(t_jax["steps only"]),
        "floor": floor,
    }  # fmt: skip
    if has_torch:
        per = {k: float(np.median(t_torch["steps only", k])) for k in threads}
        best = min(per, key=per.get)
        torch.set_num_threads(best)
        share[f"torch, {best} thread(s)"] = cpu_share(
            lambda: peer.run(epochs, False)
        )
        row["torch_median_s"], row["torch_threads"] = per[best], best
        row["torch_over_floor"] = {
            n: per[best] / t["median_s"] for n, t in floor.items()
        }
    row["cpu_over_wall"] = share
    print("floor:", {n: round(t["median_s"], 4) for n, t in floor.items()},
          "cpu/wall:", {k: round(v, 2) for k, v in share.items()})  # fmt: skip
    record("bench_torch_loop_floor", **row)


if __name__ == "__main__":
    main()
