"""Does gamma="auto" land near retraining? Forget 75% of one class (the 3s).

Per seed: a stratified 80/20 train/test split, forget 75% of the training 3s,
train the original MLP and the retrained-from-scratch MLP (same init, same
epochs), then run each unlearning candidate from the original. The test set
is cut in two halves: the controller's held-out rows (``holdout``) and the
scoring half (``test``); the retrained model is used only to score.

Data: MNIST-5k, sklearn digits, Fashion-MNIST (``fashion5k``: the first
5,000 training rows). ``--cache-dir`` keeps the original and retrained
parameters per seed, so later runs (or ``--only`` subsets) reuse them.
Results: studies/controller/results/controller_*_10seeds_*.txt, docs/datapoint.md
(studies/controller/summarize_controller.py prints the tables' rows from them).

  PYTHONPATH=. python studies/controller/study_controller.py --data mnist5k \
      --seeds 10 --orig-epochs 50 --cache-dir /tmp/ctrl_cache
  PYTHONPATH=. python studies/controller/study_controller.py --quick
"""

import argparse
import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxunlearn import datasets, load_pytree, save_pytree
from jaxunlearn.datapoint import AutoGamma, fit_classifier, unlearn
from jaxunlearn.datapoint import estimate_retrain_forget_acc
from jaxunlearn.experiments import (
    classification_data,
    make_split,
    split_holdout,
)
from jaxunlearn.models import MLP, functional


SHARED = {}
# The controller settings before the probe stop (gamma="auto" until then).
OLD_AUTO = AutoGamma(gamma_init=1.0, dual_lr=10.0, lr_scale=1.0)


def candidates(quick):
    e = 3 if quick else 20
    auto = {"gamma": "auto", "epochs": e, "repair_steps": 0}
    rep = 2 if quick else 60
    step = {"stop_each_step": True}
    auto0 = {"gamma": "auto", "epochs": e}
    return {
        "fixed g=4, 5 ep": {"gamma": 4.0, "epochs": 5 if not quick else 2},
        "fixed g=1, 20 ep": {"gamma": 1.0, "epochs": e},
        "fixed g=1 + stop(holdout_initial, step)": {
            "gamma": 1.0,
            "epochs": e,
            "stop": "holdout_initial",
            **step,
        },
        "auto (dual, stop holdout_initial, step)": {
            **auto,
            "stop": "holdout_initial",
            "auto": OLD_AUTO,
        },
        # The earlier gamma="auto" default (probe_repeats=1), kept
        # under this name so the documented tables rerun; the library's
        # default is now probe_repeats=8, the candidate "auto, probe x8".
        "auto (default)": {
            "gamma": "auto",
            "epochs": e,
            "auto": AutoGamma(probe_repeats=1),
        },
        "auto + repair 60 @1e-4": {
            **auto,
            "stop": "holdout_initial",
            "repair_steps": rep,
            "auto": OLD_AUTO,
        },
        "auto + repair 240 @1e-4": {
            **auto,
            "stop": "holdout_initial",
            "repair_steps": 4 * rep,
            "auto": OLD_AUTO,
        },
        "auto, margin prior": {
            **auto,
            "stop": "holdout_initial",
            "auto": OLD_AUTO,
            "margin": "prior",
        },
        "auto, stop probe": {**auto, "stop": "probe", "auto": OLD_AUTO},
        "auto, lr 3e-4, stop probe": {
            **auto,
            "stop": "probe",
            "learning_rate": 3e-4,
            "auto": OLD_AUTO,
        },
        "fixed g=1 + stop probe": {
            "gamma": 1.0,
            "epochs": e,
            "stop": "probe",
            **step,
        },
        "fixed g=1, lr 3e-4 + stop probe": {
            "gamma": 1.0,
            "epochs": e,
            "stop": "probe",
            "learning_rate": 3e-4,
            **step,
        },
        "fixed g=0.5, lr 3e-4 + stop probe": {
            "gamma": 0.5,
            "epochs": e,
            "stop": "probe",
            "learning_rate": 3e-4,
            **step,
        },
        "fixed g=2, lr 3e-4 + stop probe": {
            "gamma": 2.0,
            "epochs": e,
            "stop": "probe",
            "learning_rate": 3e-4,
            **step,
        },
        "fixed g=1, lr 1e-4 + stop probe": {
            "gamma": 1.0,
            "epochs": e,
            "stop": "probe",
            "learning_rate": 1e-4,
            **step,
        },
        "auto (dual_lr 1), lr 3e-4, stop probe": {
            **auto,
            "stop": "probe",
            "learning_rate": 3e-4,
            "auto": OLD_AUTO._replace(dual_lr=1.0),
        },
        # The third round: the held-out-referenced membership term and
        # class-aware utility (AutoGamma.holdout_gamma / class_weight).
        "auto, hold 1": {**auto0, "auto": AutoGamma(holdout_gamma=1.0)},
        "auto, hold 4": {**auto0, "auto": AutoGamma(holdout_gamma=4.0)},
        "auto, hold 4, stop holdout": {
            **auto0,
            "stop": "holdout",
            "auto": AutoGamma(holdout_gamma=4.0),
        },
        "auto, hold only 4": {
            **auto0,
            "auto": AutoGamma(gamma_init=0.0, holdout_gamma=4.0),
        },
        "auto, cw 3": {**auto0, "auto": AutoGamma(class_weight=3.0)},
        "auto, cw 3, hold 4": {
            **auto0,
            "auto": AutoGamma(class_weight=3.0, holdout_gamma=4.0),
        },
        "auto, anchor 1": {
            **auto0,
            "auto": AutoGamma(anchor=1.0, anchor_shift=0.0),
        },
        "auto, anchor 3": {
            **auto0,
            "auto": AutoGamma(anchor=3.0, anchor_shift=0.0),
        },
        "auto, anchor 10": {
            **auto0,
            "auto": AutoGamma(anchor=10.0, anchor_shift=0.0),
        },
        "auto, anchor 100": {
            **auto0,
            "auto": AutoGamma(anchor=100.0, anchor_shift=0.0),
        },
        "auto, anchor 10, cw 3": {
            **auto0,
            "auto": AutoGamma(anchor=10.0, anchor_shift=0.0, class_weight=3.0),
        },
        # The anchor's reference lowered to the probe estimate.
        "auto, shifted anchor 1": {**auto0, "auto": AutoGamma(anchor=1.0)},
        "auto, shifted anchor 3": {**auto0, "auto": AutoGamma(anchor=3.0)},
        "auto, shifted anchor 10": {**auto0, "auto": AutoGamma(anchor=10.0)},
        # The probe estimate averaged over 8 batch orders.
        "auto, probe x8": {**auto0, "auto": AutoGamma(probe_repeats=8)},
        "auto, anchor 3, probe x8": {
            **auto0,
            "auto": AutoGamma(anchor=3.0, anchor_shift=0.0, probe_repeats=8),
        },
        "auto, anchor 10, probe x8": {
            **auto0,
            "auto": AutoGamma(anchor=10.0, anchor_shift=0.0, probe_repeats=8),
        },
        # The anchor's weight by dual ascent on "held-out class accuracy
        # >= the probe estimate" (starting at 0, reference unshifted).
        "auto, dual anchor 1": {
            **auto0,
            "auto": AutoGamma(anchor_shift=0.0, anchor_lr=1.0),
        },
        "auto, dual anchor 10": {
            **auto0,
            "auto": AutoGamma(anchor_shift=0.0, anchor_lr=10.0),
        },
        "auto, dual anchor 1, probe x8": {
            **auto0,
            "auto": AutoGamma(anchor_shift=0.0, anchor_lr=1.0, probe_repeats=8),
        },
        "auto, dual anchor 10, probe x8": {
            **auto0,
            "auto": AutoGamma(
                anchor_shift=0.0, anchor_lr=10.0, probe_repeats=8
            ),
        },
        "fixed g=4 + stop probe": {
            "gamma": 4.0,
            "epochs": e,
            "stop": "probe",
            **step,
        },
    }


def load(name):
    if name == "digits":
        d = datasets.load_digits()
    elif name in ("fashion", "fashion5k"):
        d = datasets.load_fashion_mnist()
    else:
        d = datasets.load_mnist5k()
    x = np.asarray(d.x, np.float32).reshape(len(d.labels), -1)
    y = np.asarray(d.labels, np.int32)
    if name == "fashion5k":  # the first 5,000 training rows (shuffled file)
        x, y = x[:5000], y[:5000]
    return x, y, d.num_classes


def setup_seed(seed, x, y, c, args):
    """The split, the original and the retrained model of one seed."""
    key = jax.random.key(seed)
    k_split, k_forget, k_init, k_fit, k_half, k_un = jax.random.split(key, 6)
    # The library's "forget a fraction of a class" pipeline.
    data = classification_data(x, y, key=k_split, num_classes=c)
    split = make_split(data, ("class", args.cls, 0.75), k_forget)
    scored, (x_hold, y_hold) = split_holdout(split, key=k_half)
    hidden = (128, 64)
    model = MLP(x.shape[1], hidden, c, rngs=nnx.Rngs(int(seed)))
    apply_fn_seed, p0 = functional(model)
    # One apply_fn for every seed (same architecture): jit caches hit.
    apply_fn = SHARED.setdefault("apply_fn", apply_fn_seed)
    x_train = jnp.concatenate([split.x_retain, split.x_forget])
    y_train = jnp.concatenate([split.y_retain, split.y_forget])
    fit = {"epochs": args.orig_epochs, "batch_size": 64, "learning_rate": 1e-3}
    path = None
    if args.cache_dir:
        os.makedirs(args.cache_dir, exist_ok=True)
        path = os.path.join(
            args.cache_dir,
            f"{args.data}_cls{args.cls}_seed{seed}_ep{args.orig_epochs}"
            ".pytree.npz",
        )
    if path and os.path.exists(path):
        both, meta = load_pytree(
            path, {"original": p0, "retrain": p0}, with_meta=True
        )
        orig, retr = both["original"], both["retrain"]
        t_retr = meta["t_retr"]
    else:
        orig = fit_classifier(
            apply_fn, p0, x_train, y_train, key=k_fit, **fit
        ).params
        jax.block_until_ready(orig)
        t0 = time.perf_counter()
        retr = fit_classifier(
            apply_fn, p0, split.x_retain, split.y_retain, key=k_fit, **fit
        ).params
        jax.block_until_ready(retr)
        t_retr = time.perf_counter() - t0
        if path:
            save_pytree(
                path, {"original": orig, "retrain": retr},
                meta={"t_retr": t_retr},
            )  # fmt: skip
    return apply_fn, orig, retr, split, scored, x_hold, y_hold, k_un, t_retr


def run_seed(seed, x, y, c, args, cands):
    apply_fn, orig, retr, split, scored, x_hold, y_hold, k_un, t_retr = (
        setup_seed(seed, x, y, c, args)
    )

    def acc(p, xx, yy):
        return float(jnp.mean(jnp.argmax(apply_fn(p, xx), -1) == yy))

    in_cls = np.asarray(scored.y_test) == args.cls

    def score_(p):
        return {
            "retain": acc(p, scored.x_retain, scored.y_retain),
            "forget": acc(p, scored.x_forget, scored.y_forget),
            "test": acc(p, scored.x_test, scored.y_test),
            # test accuracy on the scored rows of the forgotten class
            "test_cls": acc(p, scored.x_test[in_cls], scored.y_test[in_cls]),
        }

    ref = references(apply_fn, orig, retr, split, x_hold, y_hold, args, c)
    rows = {"original": score_(orig), "retrain": score_(retr), "ref": ref}
    rows["retrain"]["time_s"] = t_retr
    for name, kw in cands.items():
        kw = dict(kw)
        margin = kw.pop("margin", None)
        if margin is not None:
            a = kw.get("auto", AutoGamma())
            kw["auto"] = a._replace(stop_margin=ref[margin])
        t0 = time.perf_counter()
        out = unlearn(
            apply_fn, orig, scored, holdout=(x_hold, y_hold), key=k_un, **kw
        )
        jax.block_until_ready(out.params)
        r = score_(out.params)
        r["time_s"] = time.perf_counter() - t0
        r["epochs_run"] = int(out.epochs_run)
        rows[name] = r
    return rows


def _linear(p, x):
    return x @ p["w"] + p["b"][None, :]


def references(apply_fn, orig, retr, split, x_hold, y_hold, args, c):
    """Diagnostics of the stop reference (held-out rows of the class).

    h0 / hR: held-out accuracy on the class under the original / retrained
    model (hR is a diagnostic only). prior: the Saerens et al. (2002)
    prior-shift estimate (logits + log(pi_retain / pi_train)) minus h0.
    probe_est: the estimate of retraining's forget accuracy used by
    stop="probe" (datapoint.estimate_retrain_forget_acc); its key differs
    from the one inside unlearn, so it is a diagnostic of the same
    estimator, not the exact threshold used.
    """
    cls = args.cls
    m = np.asarray(y_hold) == cls
    xh = jnp.asarray(np.asarray(x_hold)[m])

    def hacc(logits):
        return float(jnp.mean(jnp.argmax(logits, -1) == cls))

    lo = apply_fn(orig, xh)
    y_tr = np.concatenate([np.asarray(split.y_retain), split.y_forget])
    pi = np.bincount(y_tr, minlength=c) / y_tr.size
    pi_r = np.bincount(np.asarray(split.y_retain), minlength=c)
    pi_r = pi_r / pi_r.sum()
    shift = jnp.asarray(np.log(pi_r / pi), lo.dtype)
    h0 = hacc(lo)
    out = {
        "n_hold": int(m.sum()),
        "h0": h0,
        "hR": hacc(apply_fn(retr, xh)),
        "prior": hacc(lo + shift[None, :]) - h0,
    }
    out["probe_est"] = float(
        estimate_retrain_forget_acc(
            apply_fn,
            orig,
            split.x_retain,
            split.y_retain,
            split.x_forget,
            split.y_forget,
            x_hold,
            y_hold,
            num_classes=c,
            key=jax.random.key(2000 + cls),
        )
    )
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--data",
        default="mnist5k",
        choices=["mnist5k", "digits", "fashion", "fashion5k"],
    )
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--orig-epochs", type=int, default=100)
    ap.add_argument("--cls", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument(
        "--cache-dir",
        default=None,
        help="cache the original/retrained parameters per seed here",
    )
    ap.add_argument("--seed0", type=int, default=0)
    ap.add_argument(
        "--only", default=None, help="semicolon-separated candidate names"
    )
    args = ap.parse_args()
    if args.quick:
        args.data, args.seeds, args.orig_epochs = "digits", 1, 5
    x, y, c = load(args.data)
    cands = candidates(args.quick)
    if args.quick and not args.only:  # a smoke run: the old and new default
        args.only = "auto (dual, stop holdout_initial, step);auto (default)"
    if args.only:
        keep = args.only.split(";")
        cands = {k: v for k, v in cands.items() if k in keep}
    results = []
    for seed in range(args.seed0, args.seed0 + args.seeds):
        rows = run_seed(seed, x, y, c, args, cands)
        results.append(rows)
        print(json.dumps({"seed": seed, **rows}), flush=True)
    names = [n for n in results[0] if n != "ref"]
    print(f"\n{args.data}, {args.seeds} seeds, original {args.orig_epochs} ep")
    print(
        "| model | forget | test | forget - retrain | test - retrain | hits |"
    )
    print("|---|---|---|---|---|---|")
    refs = [r["ref"] for r in results]
    for k in ("h0", "hR", "prior", "probe_est"):
        v = np.array([r[k] for r in refs])
        print(f"ref {k}: {v.mean():+.3f} ± {v.std():.3f}")
    d = np.array([r["hR"] - r["h0"] for r in refs])
    print(f"ref hR - h0: {d.mean():+.3f} ± {d.std():.3f}")
    d = np.array([r["retrain"]["forget"] - r["ref"]["h0"] for r in results])
    print(f"ref retrain forget - h0: {d.mean():+.3f} ± {d.std():.3f}")
    d = np.array(
        [r["ref"]["probe_est"] - r["retrain"]["forget"] for r in results]
    )
    print(f"ref probe_est - retrain forget: {d.mean():+.3f} ± {d.std():.3f}")
    for n in names:
        f = np.array([r[n]["forget"] for r in results])
        t = np.array([r[n]["test"] for r in results])
        fr = np.array([r["retrain"]["forget"] for r in results])
        tr = np.array([r["retrain"]["test"] for r in results])
        df, dt = f - fr, t - tr
        hits = int(np.sum((np.abs(df) <= 0.05) & (dt >= -0.01)))
        cells = [
            f"{f.mean():.3f} ± {f.std():.3f}",
            f"{t.mean():.3f} ± {t.std():.3f}",
            f"{df.mean():+.3f} ± {df.std():.3f}",
            f"{dt.mean():+.3f} ± {dt.std():.3f}",
            f"{hits}/{len(f)}",
        ]
        print(f"| {n} | " + " | ".join(cells) + " |")
    print(f"\ntest accuracy on the class {args.cls} rows, minus retraining's:")
    for n in names:
        if "test_cls" not in results[0][n]:
            continue
        d = np.array(
            [r[n]["test_cls"] - r["retrain"]["test_cls"] for r in results]
        )
        print(f"  {n}: {d.mean():+.3f} ± {d.std():.3f}")


if __name__ == "__main__":
    main()
