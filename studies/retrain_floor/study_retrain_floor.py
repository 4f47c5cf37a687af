"""How often does a second retraining hit the controller's target?

The data-point controller is scored per seed against one retrained model:
a hit is forget accuracy within 5 points and test accuracy at most 1 point
below it. Retraining is itself random (initialization and batch order), so
this script retrains each seed's model a second time from other keys and
counts how often that second retrained model "hits" the first: the noise
floor of the target. Same splits, model, epochs and scored rows as
``mnist_reproduction(controller=True)`` with the same key.

    PYTHONPATH=. python studies/retrain_floor/study_retrain_floor.py mnist --seeds 10
    PYTHONPATH=. python studies/retrain_floor/study_retrain_floor.py fashion --size 0
"""

import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxunlearn.baselines import reinitialize
from jaxunlearn.datapoint import fit_classifier
from jaxunlearn.experiments import (
    classification_data,
    image_subset,
    make_split,
    split_holdout,
)
from jaxunlearn.models import MLP, functional


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("which", choices=["mnist", "fashion"])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--size", type=int, default=None, help="0 = all rows")
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    key = jax.random.key(args.seed)
    k_data, k_split, k_seeds = jax.random.split(key, 3)
    size = args.size if args.size != 0 else None
    if args.size is None and args.which == "fashion":
        size = 5000
    # The same rows and splits as mnist_reproduction(controller=True).
    dataset = "mnist5k" if args.which == "mnist" else "fashion"
    x, y = image_subset(dataset, size=size, key=k_data)
    data = classification_data(x, y, key=k_split, num_classes=10)
    seed_keys = jax.random.split(k_seeds, args.seeds)
    forget = ("class", 3, 0.75)
    splits = [  # scored on the half the controller does not read
        split_holdout(make_split(data, forget, jax.random.fold_in(k, 0)))[0]
        for k in seed_keys
    ]
    stacked = jax.tree.map(lambda *a: jnp.stack(a), *[s[:6] for s in splits])
    apply_fn, p0 = functional(MLP(784, (128, 64), 10, rngs=nnx.Rngs(0)))

    def one(k, arrays):
        xr, yr, xf, yf, xt, yt = arrays
        _, kr, _, kt2, _, _, _ = jax.random.split(k, 7)

        def retrain(kinit, ktrain):
            p = fit_classifier(
                apply_fn,
                reinitialize(p0, key=kinit),
                xr,
                yr,
                epochs=args.epochs,
                batch_size=64,
                learning_rate=1e-3,
                key=ktrain,
            ).params

            def acc(xs, ys):
                hit = jnp.argmax(apply_fn(p, xs), -1) == ys
                return 100 * jnp.mean(hit.astype(xs.dtype))

            return acc(xf, yf), acc(xt, yt)

        a = retrain(kr, kt2)  # the reproduction's retrained model
        b = retrain(jax.random.fold_in(kr, 1), jax.random.fold_in(kt2, 1))
        return a, b

    (fa, ta), (fb, tb) = jax.vmap(one)(seed_keys, stacked)
    fa, ta, fb, tb = map(np.asarray, (fa, ta, fb, tb))
    forget_ok = np.abs(fb - fa) <= 5
    test_ok = tb >= ta - 1
    out = {
        "which": args.which,
        "seeds": args.seeds,
        "epochs": args.epochs,
        "retrain_a": {"forget": fa.tolist(), "test": ta.tolist()},
        "retrain_b": {"forget": fb.tolist(), "test": tb.tolist()},
        "forget_within_5": int(forget_ok.sum()),
        "test_at_most_1_below": int(test_ok.sum()),
        "hits": int((forget_ok & test_ok).sum()),
        "wall_s": time.perf_counter() - t0,
    }
    print(json.dumps(out))
    print(
        f"{args.which}: a second retraining hits the first on"
        f" {out['hits']}/{args.seeds} seeds (forget within 5:"
        f" {out['forget_within_5']}, test >= first - 1:"
        f" {out['test_at_most_1_below']}); |forget diff| mean"
        f" {np.abs(fb - fa).mean():.1f}, test diff {np.mean(tb - ta):+.2f}"
        f" ± {np.std(tb - ta):.2f} points"
    )


if __name__ == "__main__":
    main()
