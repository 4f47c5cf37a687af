"""Study: a probe-free ``gamma="auto"`` at a tenth of retraining's time.

    PYTHONPATH=. python studies/controller/study_cost_default.py digits 0 10
    PYTHONPATH=. python studies/controller/study_cost_default.py mnist5k 0 10
    PYTHONPATH=. python studies/controller/study_cost_default.py digits 0 10 grid
    PYTHONPATH=. python studies/controller/study_cost_default.py digits 10 20 \
        "g1 x0.5 full;g2 x0.5 full"

The seeds, splits, original models and retrained models of
``benchmarks/bench_default.py`` (forget 75% of the training 3s, MLP 128-64,
Adam 1e-3, batch 64, 30 epochs; a second retraining is the floor). Per
candidate (a fixed ``gamma`` and step size, epochs of the authors' kind,
``epoch="forget"``; ``grid``), one ``unlearn`` run whose history gives
the forget and test accuracy after each epoch: prints, per candidate and
epoch count, the hits (forget accuracy within 5 points of that seed's
retraining, test at most 1 point below it) over the seeds, against the
floor's. Without ``grid``: ``gamma="auto"`` with the :data:`CANDIDATES`
(the probe stop with the full-batch probe, one pair), their hits, median
retrain / unlearn wall time (one warm call each) and epochs run.
"""

import itertools
import sys

import jax
import numpy as np

sys.path.insert(0, "benchmarks")
from bench_default import _class_split, _hit, _mlp, _once  # noqa: E402

from jaxunlearn.audit import split_accuracy  # noqa: E402
from jaxunlearn.baselines import reinitialize  # noqa: E402
from jaxunlearn.datapoint import (  # noqa: E402
    AutoGamma,
    fit_classifier,
    unlearn,
)
from jaxunlearn.datasets import load_digits, load_mnist5k  # noqa: E402

GAMMAS = (0.5, 1.0, 2.0, 4.0)
LRS = (1e-3, 3e-4)
EPOCHS = 8
# Stop-rule candidates: the probe estimate by full-batch fits (one pair).
CANDIDATES = {
    "g1 x0.5 full": AutoGamma(1.0, lr_scale=0.5, probe_repeats=1,
                              probe_solver="full"),
    "g1 x1 full": AutoGamma(1.0, lr_scale=1.0, probe_repeats=1,
                            probe_solver="full"),
    "g2 x1 full": AutoGamma(2.0, lr_scale=1.0, probe_repeats=1,
                            probe_solver="full"),
    "g2 x0.5 full": AutoGamma(2.0, lr_scale=0.5, probe_repeats=1,
                              probe_solver="full"),
    "g1 x0.5 full m-0.02": AutoGamma(1.0, lr_scale=0.5, probe_repeats=1,
                                     probe_solver="full", stop_margin=-0.02),
}  # fmt: skip


def _accs(apply_fn, params, split):
    a = split_accuracy(apply_fn, params, split)
    return {"forget": float(a.forget), "test": float(a.test)}


def seed_models(name, seed):
    """The split and models of ``bench_default``'s seed ``seed``."""
    data = load_digits() if name == "digits" else load_mnist5k()
    x, y = np.asarray(data.images), np.asarray(data.labels)
    apply_fn, p0 = _mlp(int(np.prod(x.shape[1:])), 10)
    k_s, k_m = jax.random.split(jax.random.key(seed))
    split = _class_split(k_s, x, y, 3, 0.75, 10)
    k_o, k_r, k_b, k_u = jax.random.split(k_m, 4)
    fit = {"batch_size": 64, "learning_rate": 1e-3, "epochs": 30}
    xa = np.concatenate([split.x_retain, split.x_forget])
    ya = np.concatenate([split.y_retain, split.y_forget])
    orig = fit_classifier(
        apply_fn, reinitialize(p0, key=k_o), xa, ya, key=k_o, **fit
    ).params

    def retrain(k):
        return fit_classifier(
            apply_fn, reinitialize(p0, key=k), split.x_retain,
            split.y_retain, key=k, **fit,
        ).params  # fmt: skip

    t_r, p_r = _once(lambda: retrain(k_r), True)
    ref = _accs(apply_fn, p_r, split)
    floor = _hit(_accs(apply_fn, retrain(k_b), split), ref)
    return split, apply_fn, orig, ref, floor, k_u, t_r


def grid(name, first, stop):
    """Hits of fixed budgets: (gamma, step) x forget-epochs."""
    cands = list(itertools.product(GAMMAS, LRS))
    hits = np.zeros((len(cands), EPOCHS), int)
    floors = 0
    for seed in range(first, stop):
        split, apply_fn, orig, ref, floor, k_u, _ = seed_models(name, seed)
        floors += floor
        for i, (g, lr) in enumerate(cands):
            h = unlearn(
                apply_fn, orig, split, gamma=g, learning_rate=lr,
                epochs=EPOCHS, epoch="forget", key=k_u,
            ).history  # fmt: skip
            for e in range(EPOCHS):
                acc = {
                    "forget": float(h.forget_acc[e]),
                    "test": float(h.test_acc[e]),
                }
                hits[i, e] += _hit(acc, ref)
    n = stop - first
    print(f"{name} seeds {first}-{stop - 1}: floor {floors}/{n}")
    print(f"gamma, lr: hits after forget-epochs 1..{EPOCHS}")
    for (g, lr), row in zip(cands, hits, strict=True):
        print(f"  {g:4}, {lr:.0e}: " + " ".join(f"{v:2d}" for v in row))


def stops(name, first, stop):
    """Hits and retrain / unlearn time of the stop-rule candidates."""
    res = {k: [] for k in CANDIDATES}
    floors = 0
    for seed in range(first, stop):
        split, apply_fn, orig, ref, floor, k_u, t_r = seed_models(name, seed)
        floors += floor
        for cname, auto in CANDIDATES.items():
            t, out = _once(
                lambda a=auto, f=apply_fn, p=orig, s=split, k=k_u: unlearn(
                    f, p, s, gamma="auto", auto=a, epochs=20, key=k,
                ),
                True,
            )  # fmt: skip
            acc = _accs(apply_fn, out.params, split)
            res[cname].append((_hit(acc, ref), t_r / t, int(out.epochs_run)))
            print(seed, cname, acc, ref, res[cname][-1], flush=True)
    n = stop - first
    print(f"{name} seeds {first}-{stop - 1}: floor {floors}/{n}")
    for cname, rows in res.items():
        h = sum(r[0] for r in rows)
        ratio = np.median([r[1] for r in rows])
        ep = np.mean([r[2] for r in rows])
        print(f"  {cname}: hits {h}/{n}, median retrain/unlearn {ratio:.1f},"
              f" epochs {ep:.1f}")  # fmt: skip


def main():
    name, first, stop = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if len(sys.argv) > 4 and sys.argv[4] == "grid":
        grid(name, first, stop)
        return
    if len(sys.argv) > 4:  # "name;name": these candidates only
        keep = sys.argv[4].split(";")
        for k in [k for k in CANDIDATES if k not in keep]:
            del CANDIDATES[k]
    stops(name, first, stop)


if __name__ == "__main__":
    main()
