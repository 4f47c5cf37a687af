"""How well can retraining's forget accuracy be estimated without retraining?

For each seed of studies/controller/study_controller.py (same split, same cached
original and retrained models: run that script first with --cache-dir), this
compares estimates of the retrained model's forget accuracy ``rf`` built from
the original model, held-out rows and two softmax-regression probes on the
inputs (``R``: fit on the retain rows, ``A``: on all training rows):

  h0         the original's held-out accuracy on the class (old reference)
  h0+cf      h0 + the probes' cross-fitted class-size effect
  additive   acc_R(forget) + acc(held) - acc_A(held)
  err-ratio  1 - err_R(forget) * err(held) / err_A(held)
  logit      the same shift on the log-odds scale
  probit     the same shift on the probit scale (stop="probe")

and prints the error ``estimate - rf`` (mean ± std over seeds).

  PYTHONPATH=. python studies/controller/study_reference.py --data mnist5k --seeds 10 \
      --cache-dir /tmp/ctrl_cache
"""

import argparse
import types

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

import study_controller as sc
from jaxunlearn.datapoint import fit_classifier


def _cross_fit_effect(split, x_hold, y_hold, c, cls, folds=5):
    x = np.concatenate([np.asarray(split.x_retain), split.x_forget])
    y = np.concatenate([np.asarray(split.y_retain), split.y_forget])
    n_r = split.x_retain.shape[0]
    fold = np.asarray(jax.random.permutation(jax.random.key(9), len(y)))
    fold = fold % folds
    p0 = {"w": jnp.zeros((x.shape[1], c)), "b": jnp.zeros((c,))}
    kw = {"epochs": 20, "batch_size": 64, "learning_rate": 1e-2}
    mh = np.asarray(y_hold) == cls
    diffs = []
    for k in range(folds):
        out = fold != k
        fits = []
        for m in (out, out & (np.arange(len(y)) < n_r)):
            fits.append(
                fit_classifier(
                    sc._linear, p0, x, y, where=m, key=jax.random.key(5), **kw
                ).params
            )
        rows = (fold == k) & (y == cls)
        xe = np.concatenate([x[rows], np.asarray(x_hold)[mh]])
        acc = [
            float(np.mean(np.argmax(sc._linear(p, xe), -1) == cls))
            for p in fits
        ]
        diffs.append(acc[1] - acc[0])
    return float(np.mean(diffs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="mnist5k")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--cls", type=int, default=3)
    ap.add_argument("--orig-epochs", type=int, default=50)
    ap.add_argument("--cache-dir", default="/tmp/ctrl_cache")
    args = ap.parse_args()
    x, y, c = sc.load(args.data)
    ns = types.SimpleNamespace(
        data=args.data,
        cls=args.cls,
        orig_epochs=args.orig_epochs,
        cache_dir=args.cache_dir,
    )
    est = {k: [] for k in sc_names()}
    rfs = []
    for seed in range(args.seeds):
        apply_fn, orig, retr, split, scored, xh, yh, _, _ = sc.setup_seed(
            seed, x, y, c, ns
        )

        def acc(f, p, a, b):
            return float(jnp.mean(jnp.argmax(f(p, a), -1) == b))

        m = np.asarray(yh) == args.cls
        rf = acc(apply_fn, retr, scored.x_forget, scored.y_forget)
        h0 = acc(apply_fn, orig, xh[m], yh[m])
        p0 = {"w": jnp.zeros((x.shape[1], c)), "b": jnp.zeros((c,))}
        kw = {
            "epochs": 20,
            "batch_size": 64,
            "learning_rate": 1e-2,
            "key": jax.random.key(5),
        }
        xa = jnp.concatenate([split.x_retain, split.x_forget])
        ya = jnp.concatenate([split.y_retain, split.y_forget])
        p_r = fit_classifier(
            sc._linear, p0, split.x_retain, split.y_retain, **kw
        ).params
        p_a = fit_classifier(sc._linear, p0, xa, ya, **kw).params
        a_rf = acc(sc._linear, p_r, split.x_forget, split.y_forget)
        a_m = acc(apply_fn, orig, xh, yh)
        a_a = acc(sc._linear, p_a, xh, yh)
        cf = _cross_fit_effect(split, xh, yh, c, args.cls)
        lg, il = stats.logistic.ppf, stats.logistic.cdf
        pr, ip = stats.norm.ppf, stats.norm.cdf
        vals = {
            "h0": h0,
            "h0+cf": h0 + cf,
            "additive": a_rf + a_m - a_a,
            "err-ratio": 1 - (1 - a_rf) * (1 - a_m) / (1 - a_a),
            "logit": il(lg(a_rf) + lg(a_m) - lg(a_a)),
            "probit": ip(pr(a_rf) + pr(a_m) - pr(a_a)),
        }
        for k, v in vals.items():
            est[k].append(v)
        rfs.append(rf)
        print(
            f"seed {seed}: rf {rf:.3f} "
            + " ".join(f"{k} {v:.3f}" for k, v in vals.items()),
            flush=True,
        )
    rfs = np.array(rfs)
    print(f"\n{args.data}, {args.seeds} seeds: estimate - retrain forget")
    print("| estimate | error (points) | within 5 points |")
    print("|---|---|---|")
    for k, v in est.items():
        e = 100 * (np.array(v) - rfs)
        ok = int(np.sum(np.abs(e) <= 5))
        print(f"| {k} | {e.mean():+.1f} ± {e.std():.1f} | {ok}/{len(e)} |")


def sc_names():
    return ["h0", "h0+cf", "additive", "err-ratio", "logit", "probit"]


if __name__ == "__main__":
    main()
