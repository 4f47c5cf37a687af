"""Does gamma="auto" land near retraining? MNIST-5k / digits, forget 75% of 3s.

Per seed: a stratified 80/20 train/test split, forget 75% of the training 3s,
train the original MLP and the retrained-from-scratch MLP (same init, same
epochs), then run each unlearning candidate from the original. The test set
is cut in two halves: the controller's held-out rows (``holdout``) and the
scoring half (``test``); the retrained model is used only to score.

  PYTHONPATH=. python benchmarks/study_controller.py --data mnist5k --seeds 5
  PYTHONPATH=. python benchmarks/study_controller.py --quick
"""

import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxunlearn import datasets
from jaxunlearn.datapoint import AutoGamma, fit_classifier, unlearn
from jaxunlearn.models import MLP, functional


def candidates(quick):
    e = 3 if quick else 20
    return {
        "fixed g=4, 5 ep": {"gamma": 4.0, "epochs": 5 if not quick else 2},
        "fixed g=1, 20 ep": {"gamma": 1.0, "epochs": e},
        "fixed g=4 + stop(holdout, step)": {
            "gamma": 4.0,
            "epochs": e,
            "stop": "holdout",
            "stop_each_step": True,
        },
        "fixed g=1 + stop(holdout, step)": {
            "gamma": 1.0,
            "epochs": e,
            "stop": "holdout",
            "stop_each_step": True,
        },
        "fixed g=1 + stop(holdout_initial, step)": {
            "gamma": 1.0,
            "epochs": e,
            "stop": "holdout_initial",
            "stop_each_step": True,
        },
        "fixed g=4 + stop(holdout_initial, step)": {
            "gamma": 4.0,
            "epochs": e,
            "stop": "holdout_initial",
            "stop_each_step": True,
        },
        "auto (dual, stop holdout_initial, step)": {
            "gamma": "auto",
            "epochs": e,
            "stop": "holdout_initial",
            "stop_each_step": True,
        },
        "auto (dual, stop epoch)": {"gamma": "auto", "epochs": e},
        "auto (dual, stop step)": {
            "gamma": "auto",
            "epochs": e,
            "stop_each_step": True,
        },
        "auto (dual, no stop, lr decay)": {
            "gamma": "auto",
            "epochs": e,
            "stop": "mi",
            "stop_value": -1.0,
            "auto": AutoGamma(lr_decay=0.5),
        },
    }


def load(name):
    if name == "digits":
        d = datasets.load_digits()
    elif name == "fashion":
        d = datasets.load_fashion_mnist()
    else:
        d = datasets.load_mnist5k()
    x = np.asarray(d.x, np.float32)
    y = np.asarray(d.labels, np.int32)
    return x, y, d.num_classes


def run_seed(seed, x, y, c, args, cands):
    key = jax.random.key(seed)
    k_split, k_forget, k_init, k_fit, k_half, k_un = jax.random.split(key, 6)
    tt = datasets.train_test_split(
        k_split, x, y, test_fraction=0.2, stratify=True
    )
    split = datasets.forget_class_fraction(
        k_forget,
        tt.x_train,
        tt.y_train,
        tt.x_test,
        tt.y_test,
        cls=args.cls,
        fraction=0.75,
        num_classes=c,
    )
    n_test = split.x_test.shape[0]
    perm = np.asarray(jax.random.permutation(k_half, n_test))
    hold, score = perm[: n_test // 2], perm[n_test // 2 :]
    x_hold, y_hold = split.x_test[hold], split.y_test[hold]
    scored = split._replace(
        x_test=split.x_test[score], y_test=split.y_test[score]
    )
    hidden = (128, 64)
    model = MLP(x.shape[1], hidden, c, rngs=nnx.Rngs(int(seed)))
    apply_fn, p0 = functional(model)
    x_train = jnp.concatenate([split.x_retain, split.x_forget])
    y_train = jnp.concatenate([split.y_retain, split.y_forget])
    fit = {"epochs": args.orig_epochs, "batch_size": 64, "learning_rate": 1e-3}
    t0 = time.perf_counter()
    orig = fit_classifier(
        apply_fn, p0, x_train, y_train, key=k_fit, **fit
    ).params
    jax.block_until_ready(orig)
    time.perf_counter() - t0
    t0 = time.perf_counter()
    retr = fit_classifier(
        apply_fn, p0, split.x_retain, split.y_retain, key=k_fit, **fit
    ).params
    jax.block_until_ready(retr)
    t_retr = time.perf_counter() - t0

    def acc(p, xx, yy):
        return float(jnp.mean(jnp.argmax(apply_fn(p, xx), -1) == yy))

    def score_(p):
        return {
            "retain": acc(p, scored.x_retain, scored.y_retain),
            "forget": acc(p, scored.x_forget, scored.y_forget),
            "test": acc(p, scored.x_test, scored.y_test),
        }

    rows = {"original": score_(orig), "retrain": score_(retr)}
    rows["retrain"]["time_s"] = t_retr
    for name, kw in cands.items():
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--data", default="mnist5k", choices=["mnist5k", "digits", "fashion"]
    )
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--orig-epochs", type=int, default=100)
    ap.add_argument("--cls", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument(
        "--only", default=None, help="semicolon-separated candidate names"
    )
    args = ap.parse_args()
    if args.quick:
        args.data, args.seeds, args.orig_epochs = "digits", 1, 5
    x, y, c = load(args.data)
    cands = candidates(args.quick)
    if args.only:
        keep = args.only.split(";")
        cands = {k: v for k, v in cands.items() if k in keep}
    results = []
    for seed in range(args.seeds):
        rows = run_seed(seed, x, y, c, args, cands)
        results.append(rows)
        print(json.dumps({"seed": seed, **rows}), flush=True)
    names = list(results[0])
    print(f"\n{args.data}, {args.seeds} seeds, original {args.orig_epochs} ep")
    print(
        "| model | forget | test | forget - retrain | test - retrain | hits |"
    )
    print("|---|---|---|---|---|---|")
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


if __name__ == "__main__":
    main()
