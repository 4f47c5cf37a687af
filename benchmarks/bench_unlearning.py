"""MI unlearning: time to land against retraining, K requests in one
vmapped call, and the jit-scan loop against a per-step Python loop.

    PYTHONPATH=. python benchmarks/bench_unlearning.py           # full
    PYTHONPATH=. python benchmarks/bench_unlearning.py --quick   # smoke

(1) Time to land: each unlearning call timed as it returns (the point it
    lands at; compilation apart, median of 3), with its forget and test
    accuracy, against retraining from scratch on the retain set for the
    original model's epochs with the same optimizer (Adam 1e-3, batch 64).
    The epochs are the ``jaxunlearn datapoint`` defaults (original and
    retraining 30, the default ``gamma="auto"`` capped at 20); beside the
    default, the paper's fixed recipe (gamma 4, 5 epochs). "Lands" = forget
    accuracy within 5 points of retraining's and test accuracy at most 1
    point below it. On scikit-learn digits and MNIST-5k (forget 75% of the
    training 3s, MLP 784-128-64-10); ``--quick``: digits, 5 / 3 epochs.
(2) K = 16 forget requests of different sizes in one ``unlearn_many`` call
    (padded + vmapped, on one device and sharded over the host devices) vs
    16 sequential ``unlearn`` calls and vs 16 ``unlearn_many`` calls of one
    request each (one compiled shape), all warm (compilations excluded),
    timings interleaved; for the image MLP (784-128-64-10 on MNIST-5k) and
    for the paper's GMM toy model (10-64-32-2, n = 5000), 1 epoch at batch
    64 / 16 (target >= 3x on a 2-core CPU). Beside it, the arithmetic bound:
    the model FLOPs of the sequential calls per second against this CPU's
    rate on one large matrix product, measured in the same run (batching
    cannot beat the machine's arithmetic rate). The sharded variants run in
    a subprocess that exposes one JAX device per core
    (``--xla_force_host_platform_device_count``; full mode only); everything
    else runs with XLA's default single CPU device: forcing several host
    devices slows one-device programs.
(3) Steps per second of the ``lax.scan`` loop vs the same jitted step called
    from a Python loop (the PyTorch peer: ``bench_torch_loop.py``).

Every figure goes into one record, ``benchmarks/results/bench_unlearning.jsonl``
(see ``_harness.py``); the tables in BENCHMARKS.md and
docs/benchmarks/unlearning.md are generated from it by ``make_tables.py``.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from types import SimpleNamespace


def _host_devices_flag() -> None:
    """Sets the host device count of ``--host-devices N`` before JAX loads
    (the sharded runs' subprocess); without it XLA_FLAGS is left alone."""
    argv = sys.argv[1:]
    if "--host-devices" not in argv:
        return
    n = int(argv[argv.index("--host-devices") + 1])
    flags = [
        f
        for f in os.environ.get("XLA_FLAGS", "").split()
        if "xla_force_host_platform_device_count" not in f
    ]
    flags.append(f"--xla_force_host_platform_device_count={n}")
    os.environ["XLA_FLAGS"] = " ".join(flags)


_host_devices_flag()

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from _harness import record, time_call, time_jax  # noqa: E402
from flax import nnx  # noqa: E402

from jaxunlearn.audit import split_accuracy  # noqa: E402
from jaxunlearn.baselines import reinitialize  # noqa: E402
from jaxunlearn.datapoint import (  # noqa: E402
    MembershipBatch,
    fit_classifier,
    init_train_state,
    make_train_step,
    unlearn,
    unlearn_many,
)
from jaxunlearn.experiments import DatapointConfig  # noqa: E402
from jaxunlearn.datasets import (  # noqa: E402
    forget_class_fraction,
    gmm_toy,
    load_digits,
    load_mnist5k,
    train_test_split,
)
from jaxunlearn.models import MLP, functional  # noqa: E402


def _setup(quick: bool, key):
    data = load_digits() if quick else load_mnist5k()
    x, y = np.asarray(data.images), np.asarray(data.labels)
    k1, k2, k3, k4 = jax.random.split(key, 4)
    tt = train_test_split(k1, x, y, test_fraction=0.2, stratify=True)
    split = forget_class_fraction(
        k2,
        tt.x_train,
        tt.y_train,
        tt.x_test,
        tt.y_test,
        3,
        0.75,
        num_classes=10,
    )
    d = int(np.prod(x.shape[1:]))
    apply_fn, p0 = functional(MLP(d, (128, 64), 10, rngs=nnx.Rngs(0)))
    return tt, split, apply_fn, p0, k3, k4


def _accs(apply_fn, params, split) -> dict[str, float]:
    """Accuracies on the retain, forget and the odd-numbered test rows: the
    even-numbered ones are the default's held-out rows (its stop and probes
    read them), so no reported test accuracy comes from them."""
    scored = split._replace(
        x_test=split.x_test[1::2], y_test=split.y_test[1::2]
    )
    return {
        k: float(v)
        for k, v in split_accuracy(apply_fn, params, scored)._asdict().items()
    }


def bench_time_to_land(args, name, split, apply_fn, p0, key, timed=True):
    """(1) The time to land: each method's call as it returns (the point it
    lands at), compilation apart, against retraining from scratch for the
    original model's epochs with the same optimizer (Adam, lr 1e-3, batch
    64). Returns the original model."""
    k_o, k_r, k_u = jax.random.split(key, 3)
    x_all = jnp.concatenate([split.x_retain, split.x_forget])
    y_all = jnp.concatenate([split.y_retain, split.y_forget])
    fit = {"batch_size": 64, "learning_rate": 1e-3}
    original = fit_classifier(
        apply_fn,
        reinitialize(p0, key=k_o),
        x_all,
        y_all,
        epochs=args.epochs,
        key=k_o,
        **fit,
    ).params
    if not timed:  # the original model alone, for (2) and (3)
        return original
    init = reinitialize(p0, key=k_r)

    def retrain():
        return fit_classifier(
            apply_fn,
            init,
            split.x_retain,
            split.y_retain,
            epochs=args.epochs,
            key=k_r,
            **fit,
        ).params

    methods = {
        # The default as `jaxunlearn datapoint` runs it: the controller,
        # its probe fits included, capped at the CLI's epochs (its compile
        # takes minutes on a loaded CPU: not in the --quick smoke run).
        "gamma_auto": {"gamma": "auto", "epochs": args.unlearn_epochs},
        # The paper's fixed recipe.
        "gamma_4_5_epochs": {"gamma": 4.0, "epochs": 5},
    }
    if args.quick:
        del methods["gamma_auto"]
    t = {"retrain": time_call(retrain, reps=args.reps)}
    acc = {"retrain": _accs(apply_fn, retrain(), split)}
    epochs_run = {}
    for m, kw in methods.items():
        last = {}

        def run(kw=kw, last=last):
            last["out"] = unlearn(apply_fn, original, split, key=k_u, **kw)
            return last["out"].params

        t[m] = time_call(run, reps=args.reps)
        out = last["out"]  # every call returns the same (pure, same key)
        acc[m] = _accs(apply_fn, out.params, split)
        epochs_run[m] = int(out.epochs_run)
    rt = acc["retrain"]
    hit = {
        m: abs(acc[m]["forget"] - rt["forget"]) <= 0.05
        and acc[m]["test"] >= rt["test"] - 0.01
        for m in methods
    }
    ratio = {m: t["retrain"]["median_s"] / t[m]["median_s"] for m in methods}
    record(
        "unlearning_time_to_land",
        case={
            "data": name,
            "n_retain": int(split.x_retain.shape[0]),
            "n_forget": int(split.x_forget.shape[0]),
            "original_epochs": args.epochs,
            "unlearn": methods,
        },
        times=t,
        accuracy=acc,
        epochs_run=epochs_run,
        lands=hit,
        retrain_over_method=ratio,
    )
    for m in methods:
        print(
            f"(1) {name}: {m} {t[m]['median_s']:.3f} s ({epochs_run[m]} ep;"
            f" forget {acc[m]['forget']:.3f}, test {acc[m]['test']:.3f}) vs"
            f" retrain {args.epochs} ep {t['retrain']['median_s']:.3f} s"
            f" (forget {rt['forget']:.3f}, test {rt['test']:.3f}):"
            f" retrain / method {ratio[m]:.2f}; lands={hit[m]}"
        )
    return original


def _model_macs(params) -> int:
    """Multiply-adds per row of a dense model: the sum of its kernels'
    ``in x out`` (biases and activations are negligible)."""
    return int(
        sum(
            a.shape[0] * a.shape[1]
            for a in jax.tree.leaves(params)
            if a.ndim == 2
        )
    )


def _gemm_flops_per_s(reps: int) -> float:
    """This CPU's float32 rate on one 2048 x 2048 matrix product (the best of
    ``reps``), the ceiling any batching of dense layers can reach."""
    a = jnp.ones((2048, 2048), jnp.float32)
    f = jax.jit(lambda a: a @ a)
    t = time_jax(f, a, reps=max(reps, 5))
    return 2 * 2048**3 / t["min_s"]


def _many_case(
    args, name, apply_fn, params, x_train, y_train, x_test, y_test, key
):
    """K requests in one ``unlearn_many`` call vs K sequential calls."""
    k_sets, k_run = jax.random.split(key)
    x_train, y_train = jnp.asarray(x_train), jnp.asarray(y_train)
    n = x_train.shape[0]
    sizes = np.linspace(args.min_forget, args.max_forget, args.k).astype(int)
    perms = [
        np.sort(np.asarray(jax.random.permutation(k, n))[:s])
        for k, s in zip(jax.random.split(k_sets, args.k), sizes, strict=True)
    ]
    opts = {"gamma": args.gamma, "epochs": args.many_epochs}
    keys = jax.random.split(k_run, 1)
    n_dev = len(jax.devices())

    def many(sets, shard=False, request_batch=None):
        return unlearn_many(
            apply_fn,
            params,
            x_train,
            y_train,
            sets,
            x_test,
            y_test,
            keys=keys,
            max_forget=args.max_forget,
            shard=shard,
            request_batch=request_batch,
            **opts,
        )

    splits = []
    for idx in perms:
        keep = np.setdiff1d(np.arange(n), idx)
        splits.append(
            SimpleNamespace(
                x_retain=x_train[keep],
                y_retain=y_train[keep],
                x_forget=x_train[idx],
                y_forget=y_train[idx],
                x_test=x_test,
                y_test=y_test,
            )
        )

    def sequential():  # the public call, one request at a time
        return [
            unlearn(apply_fn, params, s, key=keys[0], **opts) for s in splits
        ]

    fns = {"sequential": sequential}
    if args.only_sharded:  # the subprocess with one device per core
        fns["sharded"] = lambda: many(perms, shard=True)
        fns["sharded_groups4"] = lambda: many(
            perms, shard=True, request_batch=4
        )
    else:
        fns["vmapped"] = lambda: many(perms)
        if not args.quick:  # more compilations; skipped in --quick
            fns["sequential_one_shape"] = lambda: [many([f]) for f in perms]
            # Groups of 4 requests (jax.lax.map over vmapped groups).
            fns["groups4"] = lambda: many(perms, request_batch=4)
    for fn in fns.values():  # warm: every compilation outside the timings
        jax.block_until_ready(fn())
    samples = {k: [] for k in fns}
    # Interleaved, so drifts in the machine's load hit every variant alike.
    for _ in range(args.many_reps):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            jax.block_until_ready(fn())
            samples[k].append(time.perf_counter() - t0)
    # The minimum over interleaved repetitions: on a shared machine it is
    # the sample least inflated by other jobs (medians are recorded too).
    t = {k: float(np.min(v)) for k, v in samples.items()}
    t_med = {k: float(np.median(v)) for k, v in samples.items()}
    case = {
        "data": name,
        "K": args.k,
        "sizes": sizes.tolist(),
        "n": int(n),
        "epochs": args.many_epochs,
        "devices": n_dev,
        "load_average": os.getloadavg()[0],
    }
    out_s = sequential()
    want = np.array([float(o.history.forget_acc[-1]) for o in out_s])
    flips = {}
    batched_names = ("vmapped", "groups4", "sharded", "sharded_groups4")
    for variant in [v for v in batched_names if v in fns]:
        got = np.asarray(fns[variant]().history.forget_acc)[:, 0, -1]
        # Same runs up to float32 reduction order (the batched call pads the
        # retain set and vmaps): allow at most 2 flipped forget rows each.
        flips[variant] = np.abs(got - want) * sizes
        assert np.all(flips[variant] <= 2 + 1e-3), (variant, got, want)
    if args.only_sharded:
        record(
            "unlearning_many_sharded",
            case=case,
            min_s=t,
            median_s=t_med,
            max_flips=float(max(f.max() for f in flips.values())),
        )
        return None
    # The sharded variants, timed in the subprocess (one device per core);
    # its own sequential calls are recorded for reference, not compared.
    sub = args.sharded.get(name, {})
    for v in ("sharded", "sharded_groups4"):
        if v in sub:
            t[v] = sub[v]
    seq_sub = sub.get("sequential", float("inf"))
    best_seq = min(t["sequential"], t.get("sequential_one_shape", np.inf))
    batched = {v: best_seq / t[v] for v in batched_names if v in t}
    # The arithmetic bound: model FLOPs of the K sequential requests (6 per
    # multiply-add and row for a training step's forward and backward pass,
    # 2 for the per-epoch accuracy passes over pool, test and held-out rows)
    # over the best sequential time, against the GEMM rate.
    macs = _model_macs(params)
    steps = -(-int(n) // 64)
    flops = (
        args.k
        * args.many_epochs
        * macs
        * (6 * steps * (64 + 16) + 2 * (int(n) + 2 * int(x_test.shape[0])))
    )
    seq_rate = flops / best_seq
    bound = args.gemm_rate / seq_rate
    record(
        "unlearning_many_requests",
        case=case,
        min_s=t,
        median_s=t_med,
        samples_s=samples,
        sharded_process_min_s=sub,
        speedup=max(batched.values()),
        speedup_by_variant=batched,
        speedup_median=min(v for k, v in t_med.items() if "seq" in k)
        / min(v for k, v in t_med.items() if "seq" not in k),
        sequential_gflops_per_s=seq_rate / 1e9,
        gemm_gflops_per_s=args.gemm_rate / 1e9,
        arithmetic_bound=bound,
    )
    fmt = {k: f"{v:.3f} s" for k, v in t.items()}
    print(
        f"(2) {name}, K={args.k} requests x {args.many_epochs} epoch(s), min"
        f" of {args.many_reps}: {fmt} (sharded*: a subprocess with"
        f" {args.n_cores} host devices, whose own {args.k} sequential calls"
        f" took {seq_sub:.3f} s); speedup vs the fastest sequential: "
        + ", ".join(f"{k} {v:.2f}x" for k, v in batched.items())
        + f" (max {max(f.max() for f in flips.values()):.0f} flipped rows"
        f" vs sequential; load {os.getloadavg()[0]:.1f})"
    )
    print(
        f"    arithmetic: the sequential calls run {seq_rate / 1e9:.0f}"
        f" GFLOP/s of model arithmetic, this CPU's matrix-product rate is"
        f" {args.gemm_rate / 1e9:.0f} GFLOP/s: batching can gain at most"
        f" {bound:.1f}x here"
    )
    return max(batched.values())


def bench_pool_forward(args, name, apply_fn, params, x):
    """Why the core loops over requests for its accuracies: a forward pass
    over shared rows with K batched parameter sets, vmapped vs a loop."""
    k = args.k
    stacked = jax.tree.map(lambda a: jnp.stack([a] * k), params)
    x = jnp.asarray(x)

    def pred(p):
        return jnp.argmax(apply_fn(p, x), -1)

    vmapped = jax.jit(jax.vmap(pred))
    looped = jax.jit(lambda ps: jax.lax.map(pred, ps))
    np.testing.assert_array_equal(vmapped(stacked), looped(stacked))
    t_v = time_jax(vmapped, stacked, reps=args.many_reps)
    t_l = time_jax(looped, stacked, reps=args.many_reps)
    record(
        "unlearning_pool_forward",
        case={"data": name, "K": k, "rows": int(x.shape[0])},
        vmapped=t_v,
        looped=t_l,
        speedup=t_v["median_s"] / t_l["median_s"],
    )
    print(
        f"    {name}: forward pass over {x.shape[0]} shared rows with K={k}"
        f" parameter sets: vmapped {1e3 * t_v['median_s']:.1f} ms, per-request"
        f" loop {1e3 * t_l['median_s']:.1f} ms"
    )


def _sharded_subprocess(args) -> dict[str, dict[str, float]]:
    """Times the sharded variants of (2) in a fresh process with one host
    device per core (``--only-sharded --host-devices N``): forcing several
    host devices slows one-device programs (measured: the GMM case's
    vmapped call 55 vs 37 ms), so this process keeps one device.
    Returns ``{case name: {variant: min seconds}}``."""
    cmd = [sys.executable, __file__, "--only-sharded", "--host-devices"]
    cmd += [str(args.n_cores)] + (["--quick"] if args.quick else [])
    # Its rows come back on stdout and enter this run's record; its own
    # record goes to a temporary folder, not the committed file.
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "JAXUNLEARN_BENCH_RESULTS": tmp}
        out = subprocess.run(
            cmd, check=True, capture_output=True, text=True, env=env
        ).stdout
    rows = [json.loads(line) for line in out.splitlines() if line[:1] == "{"]
    return {
        r["case"]["data"]: r["min_s"]
        for r in rows
        if r["benchmark"] == "unlearning_many_sharded"
    }


def bench_many_requests(args, tt, split, apply_fn, original, key):
    k_img, k_gmm, k_fit = jax.random.split(key, 3)
    args.sharded = {}
    if not args.only_sharded and args.n_cores > 1 and not args.quick:
        args.sharded = _sharded_subprocess(args)
    args.gemm_rate = _gemm_flops_per_s(args.many_reps)
    _many_case(
        args,
        f"{args.data}, MLP 784-128-64-10"
        if not args.quick
        else f"{args.data}, MLP 64-128-64-10",
        apply_fn,
        original,
        tt.x_train,
        tt.y_train,
        tt.x_test,
        tt.y_test,
        k_img,
    )
    # The paper's GMM toy and model: each step is small, so batching the
    # requests amortizes per-step overhead (the case vmap is for on CPU).
    g = gmm_toy(k_gmm, args.gmm_n, 10)
    g_test = gmm_toy(jax.random.fold_in(k_gmm, 1), 1000, 10, means=g.means)
    g_apply, g_p0 = functional(MLP(10, (64, 32), 2, rngs=nnx.Rngs(0)))
    g_params = fit_classifier(
        g_apply,
        g_p0,
        g.x,
        g.y,
        epochs=5,
        batch_size=64,
        learning_rate=1e-2,
        key=k_fit,
    ).params
    if not args.quick and not args.only_sharded:
        bench_pool_forward(args, args.data, apply_fn, original, tt.x_train)
        bench_pool_forward(args, "GMM toy", g_apply, g_params, g.x)
    _many_case(
        args,
        f"GMM toy n={args.gmm_n}, MLP 10-64-32-2",
        g_apply,
        g_params,
        g.x,
        g.y,
        g_test.x,
        g_test.y,
        k_gmm,
    )


def bench_loop(args, split, apply_fn, original, key):
    epochs = args.loop_epochs
    n_r = int(split.x_retain.shape[0])
    steps_per_epoch = -(-n_r // 64)
    steps = epochs * steps_per_epoch

    def scan_loop():
        return unlearn(
            apply_fn,
            original,
            split,
            gamma=args.gamma,
            epochs=epochs,
            key=key,
        ).params

    step = jax.jit(make_train_step(apply_fn))
    xr, yr = jnp.asarray(split.x_retain), jnp.asarray(split.y_retain)
    xf, yf = jnp.asarray(split.x_forget), jnp.asarray(split.y_forget)
    k_r, k_f = jax.random.split(key)
    ir = jnp.concatenate(
        [
            jax.random.permutation(jax.random.fold_in(k_r, e), n_r)
            for e in range(epochs)
        ]
    )
    ir = jnp.resize(ir, (steps, 64))
    i_f = jax.random.randint(k_f, (steps, 16), 0, xf.shape[0])
    ones_r = jnp.ones((64,), xr.dtype)
    ones_f = jnp.ones((16,), xr.dtype)
    gamma = jnp.asarray(args.gamma, xr.dtype)
    lr = jnp.asarray(1e-3, xr.dtype)

    def python_loop():
        state = init_train_state(original)
        for s in range(steps):
            batch = MembershipBatch(
                xr[ir[s]], yr[ir[s]], ones_r, xf[i_f[s]], yf[i_f[s]], ones_f
            )
            state, _ = step(state, batch, gamma, lr)
        return state.params

    t_scan = time_call(scan_loop, reps=args.reps)
    t_py = time_call(python_loop, reps=args.reps)
    ratio = t_py["median_s"] / t_scan["median_s"]
    row = {
        "scan_steps_per_s": steps / t_scan["median_s"],
        "python_steps_per_s": steps / t_py["median_s"],
    }
    record(
        "unlearning_loop_steps",
        case={"data": args.data, "steps": steps},
        scan=t_scan,
        python=t_py,
        speedup=ratio,
        **row,
    )
    print(
        f"(3) {steps} steps: scan {row['scan_steps_per_s']:.0f} steps/s,"
        f" python loop {row['python_steps_per_s']:.0f} steps/s; "
        f"speedup {ratio:.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--host-devices",
        type=int,
        default=None,
        help="CPU devices to expose (used with --only-sharded)",
    )
    parser.add_argument(
        "--parts",
        nargs="+",
        type=int,
        choices=(1, 2, 3),
        default=(1, 2, 3),
        help="which measurements to run (default all; (2) compiles one"
        " program per request size and takes long on a loaded CPU)",
    )
    parser.add_argument(
        "--only-sharded",
        action="store_true",
        help="time only the sharded variants of (2) (used internally)",
    )
    args = parser.parse_args()
    args.n_cores = os.cpu_count() or 1
    q = args.quick
    args.data = "digits" if q else "mnist5k"
    # The CLI's defaults (`jaxunlearn datapoint`): the original model's
    # epochs (also retraining's) and the cap of the default unlearning.
    cli = DatapointConfig._field_defaults
    args.epochs = 5 if q else cli["original_epochs"]
    args.unlearn_epochs = 3 if q else cli["unlearn_epochs"]
    args.gamma = 4.0
    args.reps = 1 if q else 3
    args.k = 2 if q else 16
    args.min_forget, args.max_forget = (5, 20) if q else (10, 100)
    args.loop_epochs = 1 if q else 2
    args.many_epochs = 1
    args.many_reps = 2 if q else 7
    args.gmm_n = 1000 if q else 5000
    key = jax.random.key(0)
    t0 = time.perf_counter()
    tt, split, apply_fn, p0, k1, k2 = _setup(q, key)
    land = 1 in args.parts and not args.only_sharded
    if land and not q:  # the small data set first: cheap
        d = _setup(True, key)
        bench_time_to_land(args, "digits", d[1], d[2], d[3], d[4])
    original = bench_time_to_land(
        args, args.data, split, apply_fn, p0, k1, timed=land
    )
    if 2 in args.parts:
        bench_many_requests(args, tt, split, apply_fn, original, k2)
    if 3 in args.parts and not args.only_sharded:
        bench_loop(args, split, apply_fn, original, k2)
    print(f"total {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
