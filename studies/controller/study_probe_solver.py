"""Study: which probe fit ``gamma="auto"`` should use on a large data set.

    PYTHONPATH=. python studies/controller/study_probe_solver.py 0 10

The seeds, splits and models of ``benchmarks/bench_default.py``'s full
Fashion-MNIST part (all 60,000 training images, forget 75% of class 3,
MLP 128-64, Adam 1e-3, batch 64, 30 epochs; a second retraining from
another initialization is the floor). Per seed it prints

* the probe estimate of retraining's forget accuracy
  (:func:`jaxunlearn.datapoint.estimate_retrain_forget_acc`, one pair,
  ``solver="sgd"`` and ``"full"``), its seconds (one warm call), and
  retraining's forget accuracy it stands for;
* per candidate (:data:`CANDIDATES`), ``unlearn(..., gamma="auto",
  epochs=20)`` (the stop check planned by default, or after every step): hit (forget accuracy within 5 points of that seed's
  retraining, test at most 1 point below it, on the odd-numbered test
  rows, which the stop never reads), retrain / unlearn wall time (one warm
  call each, the probe fits included) and epochs run;

then the summary over the seeds. Settings are chosen on seeds 0-9;
``bench_default.py`` reports seeds 10-19.
"""

import sys
import time

import jax
import numpy as np

from jaxunlearn.audit import split_accuracy
from jaxunlearn.baselines import reinitialize
from jaxunlearn.datapoint import (
    AutoGamma,
    estimate_retrain_forget_acc,
    fit_classifier,
    unlearn,
)
from jaxunlearn.datasets import forget_class_fraction, load_fashion_mnist
from jaxunlearn.models import MLP, functional

FULL = AutoGamma.fast()._replace(probe_solver="full")
# name -> (settings, further keywords of unlearn)
CANDIDATES = {
    "fast, sgd probe": (AutoGamma.fast(), {}),
    "fast, full probe": (FULL, {}),
    "fast, full probe, checked every step": (FULL, {"stop_each_step": True}),
}


def _timed(fn, warm):
    if warm:
        jax.block_until_ready(fn())
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn())
    return time.perf_counter() - t0, out


def _accs(apply_fn, params, split):
    a = split_accuracy(
        apply_fn,
        params,
        split._replace(x_test=split.x_test[1::2], y_test=split.y_test[1::2]),
    )
    return {"forget": float(a.forget), "test": float(a.test)}


def _hit(acc, ref):
    return (
        abs(acc["forget"] - ref["forget"]) <= 0.05
        and acc["test"] >= ref["test"] - 0.01
    )


def main():
    first, stop = int(sys.argv[1]), int(sys.argv[2])
    from flax import nnx  # noqa: PLC0415

    tr, te = load_fashion_mnist(), load_fashion_mnist(subset="test")
    apply_fn, p0 = functional(MLP(784, (128, 64), 10, rngs=nnx.Rngs(0)))
    fit = {"batch_size": 64, "learning_rate": 1e-3, "epochs": 30}
    res = {k: [] for k in CANDIDATES}
    errs = {"sgd": [], "full": []}
    floors = 0
    for i, seed in enumerate(range(first, stop)):
        k_s, k_m = jax.random.split(jax.random.key(seed))
        split = forget_class_fraction(
            k_s, np.asarray(tr.images), np.asarray(tr.labels),
            np.asarray(te.images), np.asarray(te.labels), 3, 0.75,
            num_classes=10,
        )  # fmt: skip
        k_o, k_r, k_b, k_u = jax.random.split(k_m, 4)
        xa = np.concatenate([split.x_retain, split.x_forget])
        ya = np.concatenate([split.y_retain, split.y_forget])
        # Blocked: JAX dispatches asynchronously, and a fit still running
        # would be counted in the next timing.
        orig = jax.block_until_ready(
            fit_classifier(
                apply_fn, reinitialize(p0, key=k_o), xa, ya, key=k_o, **fit
            ).params
        )

        def retrain(k, s=split):
            return fit_classifier(
                apply_fn, reinitialize(p0, key=k), s.x_retain, s.y_retain,
                key=k, **fit,
            ).params  # fmt: skip

        t_r, p_r = _timed(lambda k=k_r: retrain(k), i == 0)
        ref = _accs(apply_fn, p_r, split)
        floor = _hit(_accs(apply_fn, retrain(k_b), split), ref)
        floors += floor
        line = [f"seed {seed}: retrain {t_r:.1f} s forget {ref['forget']:.3f}"
                f" test {ref['test']:.3f} floor {floor}"]  # fmt: skip
        for solver in errs:
            t, est = _timed(
                lambda s=solver, sp=split, o=orig, k=seed: (
                    estimate_retrain_forget_acc(
                        apply_fn, o, sp.x_retain, sp.y_retain, sp.x_forget,
                        sp.y_forget, sp.x_test[::2], sp.y_test[::2],
                        num_classes=10, key=jax.random.key(k), solver=s,
                    )
                ),
                i == 0,
            )  # fmt: skip
            errs[solver].append(float(est) - ref["forget"])
            line.append(f"probe {solver} {float(est):.3f} ({t:.2f} s)")
        print("; ".join(line), flush=True)
        for name, (auto, extra) in CANDIDATES.items():
            t, out = _timed(
                lambda a=auto, sp=split, o=orig, k=k_u, x=extra: unlearn(
                    apply_fn, o, sp, gamma="auto", auto=a, epochs=20, key=k,
                    **x,
                ),
                i == 0,
            )  # fmt: skip
            acc = _accs(apply_fn, out.params, split)
            row = (_hit(acc, ref), t_r / t, int(out.epochs_run))
            res[name].append(row)
            print(f"  {name}: forget {acc['forget']:.3f} test"
                  f" {acc['test']:.3f} hit {row[0]} retrain/unlearn"
                  f" {row[1]:.1f} epochs {row[2]}", flush=True)  # fmt: skip
    n = stop - first
    print(f"fashion-mnist (60k) seeds {first}-{stop - 1}: floor {floors}/{n}")
    for solver, e in errs.items():
        e = np.asarray(e)
        print(f"  probe {solver}: estimate - retrain forget accuracy: mean"
              f" {e.mean():+.3f}, mean |.| {np.abs(e).mean():.3f}")  # fmt: skip
    for name, rows in res.items():
        print(f"  {name}: hits {sum(r[0] for r in rows)}/{n}, median"
              f" retrain/unlearn {np.median([r[1] for r in rows]):.1f},"
              f" epochs {np.mean([r[2] for r in rows]):.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
