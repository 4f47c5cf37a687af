"""U-LiRA-style audit on scikit-learn digits: unlearn vs retrain vs no-op.

The pool is a fixed 80% training split of digits; the forget set is a
random 1% of it (14 rows). Each method is audited with the same shadow
keys: the library's default data-point unlearning (``gamma="auto"``, at
most 20 epochs, as the CLI runs it), the same with a fixed ``gamma = 4``
for 5 epochs (``unlearn``'s signature defaults), retraining from scratch
(the null control: AUC about 0.5) and no unlearning (the original model).
The MLP (128, 64) and 30 training epochs are the CLI's defaults.

Usage::

    python studies/ulira/digits.py [--shadows 16] [--seed 0] [--class 3]

``--class C`` forgets 75% of class ``C`` instead of a random 1%.
"""

import argparse
import json
import sys
import time
from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxunlearn import datapoint
from jaxunlearn.audit import default_train_fn, ulira_audit
from jaxunlearn.datasets import load_digits
from jaxunlearn.models import MLP, functional

HIDDEN = (128, 64)
EPOCHS = 30


def main() -> None:
    """Runs the audit of every method and prints one JSON line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shadows", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--class", dest="cls", type=int, default=None)
    args = parser.parse_args()

    data = load_digits()
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(data.x.shape[0])
    n_train = int(0.8 * order.size)
    x = jnp.asarray(data.x[order[:n_train]])
    y = jnp.asarray(data.labels[order[:n_train]])
    x_test = jnp.asarray(data.x[order[n_train:]])
    y_test = jnp.asarray(data.labels[order[n_train:]])
    if args.cls is None:
        forget = np.sort(rng.choice(n_train, n_train // 100, replace=False))
    else:
        rows = np.flatnonzero(np.asarray(y) == args.cls)
        forget = np.sort(rng.choice(rows, int(0.75 * rows.size), False))
    retain = np.setdiff1d(np.arange(n_train), forget)
    split = SimpleNamespace(
        x_retain=x[retain],
        y_retain=y[retain],
        x_forget=x[forget],
        y_forget=y[forget],
        x_test=x_test,
        y_test=y_test,
        num_classes=10,
    )
    apply_fn, _ = functional(MLP(64, HIDDEN, 10, rngs=nnx.Rngs(0)))

    def init(key):
        return functional(MLP(64, HIDDEN, 10, rngs=nnx.Rngs(key)))[1]

    train = default_train_fn(apply_fn, epochs=EPOCHS)
    where = jnp.ones((n_train,)).at[forget].set(0)

    def retrain(params, key):
        del params
        k_init, k_fit = jax.random.split(key)
        return train(init(k_init), x, y, where, k_fit)

    def unlearn_auto(params, key):
        return datapoint.unlearn(
            apply_fn, params, split, gamma="auto", epochs=20, key=key
        ).params

    # unlearn(gamma=4.0, epochs=5) as a pure function: it runs under vmap.
    fixed = datapoint.make_unlearn_fn(apply_fn, split, epochs=5)

    def unlearn_fixed(params, key):
        return fixed(params, 4.0, 1e-3, key).params

    # name -> (unlearn_fn, batched): the controller stops on the host, so
    # its shadow pairs are built one by one; the rest are one vmap.
    methods = {
        "unlearn (gamma=auto)": (unlearn_auto, False),
        "unlearn (gamma=4, 5 epochs)": (unlearn_fixed, True),
        "retrain": (retrain, True),
        "no-op": (lambda p, k: p, True),
    }
    for name, (fn, batched) in methods.items():
        t0 = time.perf_counter()
        out = ulira_audit(
            apply_fn,
            init,
            x,
            y,
            forget,
            unlearn_fn=fn,
            train_fn=train,
            key=jax.random.key(args.seed),
            num_shadows=args.shadows,
            batched=batched,
        )
        row = {
            "method": name,
            "forget": "random 1%"
            if args.cls is None
            else f"75% of class {args.cls}",
            "n_forget": int(forget.size),
            "shadows": args.shadows,
            "vmapped": batched,
            "auc": round(float(out.auc), 3),
            "per_example_auc_mean": round(
                float(jnp.mean(out.per_example_auc)), 3
            ),
            "per_example_auc_max": round(
                float(jnp.max(out.per_example_auc)), 3
            ),
            "seconds": round(time.perf_counter() - t0, 1),
            "confidence_unlearned": round(
                float(jnp.mean(out.unlearned_confidence)), 2
            ),
            "confidence_retrained": round(
                float(jnp.mean(out.retrained_confidence)), 2
            ),
            "rows_more_confident": int(
                jnp.sum(
                    jnp.mean(out.unlearned_confidence, 0)
                    > jnp.mean(out.retrained_confidence, 0)
                )
            ),
        }
        sys.stdout.write(json.dumps(row) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
