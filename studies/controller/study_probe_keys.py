"""How much does the probe estimate of stop="probe" move with the probe key?

For each seed of studies/controller/study_controller.py (cached original and
retrained models; run that script first with --cache-dir), the estimate
``estimate_retrain_forget_acc`` is computed with ``--keys`` probe keys;
prints per seed the retrained model's forget accuracy, the estimates'
mean, median and spread, and over seeds the error (estimate - retrain) of
one key, of the mean and of the median over keys.

  PYTHONPATH=. python studies/controller/study_probe_keys.py --data fashion5k \
      --seeds 10 --keys 8 --cache-dir /tmp/ctrl_cache
"""

import argparse
import types

import jax
import jax.numpy as jnp
import numpy as np

import study_controller as sc
from jaxunlearn.datapoint import estimate_retrain_forget_acc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="fashion5k")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--seed0", type=int, default=0)
    ap.add_argument("--keys", type=int, default=8)
    ap.add_argument("--cls", type=int, default=3)
    ap.add_argument("--orig-epochs", type=int, default=50)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--cache-dir", default="/tmp/ctrl_cache")
    args = ap.parse_args()
    x, y, c = sc.load(args.data)
    a = types.SimpleNamespace(
        data=args.data,
        cls=args.cls,
        orig_epochs=args.orig_epochs,
        cache_dir=args.cache_dir,
    )
    one, mean, med = [], [], []
    for seed in range(args.seed0, args.seed0 + args.seeds):
        apply_fn, orig, retr, split, scored, xh, yh, _, _ = sc.setup_seed(
            seed, x, y, c, a
        )
        rf = float(
            jnp.mean(
                jnp.argmax(apply_fn(retr, split.x_forget), -1) == split.y_forget
            )
        )
        est = np.array(
            [
                float(
                    estimate_retrain_forget_acc(
                        apply_fn,
                        orig,
                        split.x_retain,
                        split.y_retain,
                        split.x_forget,
                        split.y_forget,
                        xh,
                        yh,
                        num_classes=c,
                        key=jax.random.key(1000 * seed + k),
                        epochs=args.epochs,
                        learning_rate=args.lr,
                    )
                )
                for k in range(args.keys)
            ]
        )
        one.append(est[0] - rf)
        mean.append(est.mean() - rf)
        med.append(np.median(est) - rf)
        print(
            f"seed {seed}: retrain {rf:.3f}  est mean {est.mean():.3f}"
            f"  median {np.median(est):.3f}  min {est.min():.3f}"
            f"  max {est.max():.3f}  std {est.std():.3f}",
            flush=True,
        )
    for name, v in (("one key", one), ("mean", mean), ("median", med)):
        v = np.array(v)
        ok = int(np.sum(np.abs(v) <= 0.05))
        print(
            f"{name}: error {100 * v.mean():+.1f} ± {100 * v.std():.1f} pts,"
            f" within 5 pts on {ok}/{len(v)}"
        )


if __name__ == "__main__":
    main()
