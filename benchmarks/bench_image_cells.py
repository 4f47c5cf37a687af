"""Why the atom repair loses ``Y``: the ceiling its cells put on any classifier.

At ``t = 1`` the ``"latent_semidiscrete"`` repair replaces an image by its
atom's image, so every classifier of the repaired images is a function of
the atom ``J``. On a test set, none can be right more often than the best
function of ``J`` on that same set: for each atom the majority class of
the test images that drew it. That count, ``Y ceiling``, bounds the ``Y``
accuracy of every auditor, the CNNs of ``bench_image_repair`` included, on
the repaired test images of the same fit. Beside it, per atom count: the
``Y`` and ``Z`` accuracy of the rule "majority class (or group) of the
atom's repaired *training* images" scored on the test images (what a
classifier can learn from the cells; ``Z`` at the majority rate means the
cells carry no ``Z`` a training set can find), and the training images of
each group per atom.

  PYTHONPATH=. python benchmarks/bench_image_cells.py --data mnist5k \\
      --seeds 0 1 2 [--num-atoms 64 128 256 512 1024] [--quick]

Each seed splits the images by key into 60% training and 20% test rows
(the audit's proportions; the remaining 20% are unused), fits the repair
on the training rows (32 PCA components, relative blur 0.005, as the
audit), and draws the atoms of the training and test rows with fresh keys.
"""

import argparse

import jax
import numpy as np
from _harness import quick_run, record

from jaxunlearn import feature
from jaxunlearn.experiments import reference_data


def _atom_ids(repaired):
    """Atom index per row: the repaired image identifies its atom."""
    flat = np.ascontiguousarray(repaired.reshape(len(repaired), -1))
    _, ids = np.unique(flat, axis=0, return_inverse=True)
    return ids.reshape(-1)


def _counts_by_atom(ids, values, num_values, num_atoms=None):
    """``[num_atoms, num_values]`` counts of ``values`` per atom id."""
    num_atoms = ids.max() + 1 if num_atoms is None else num_atoms
    counts = np.zeros((num_atoms, num_values), np.int64)
    np.add.at(counts, (ids, values), 1)
    return counts


def _learned_rule(train_img, train_v, test_img, test_v, num_values):
    """Accuracy on test of "majority value of the atom's training rows"."""
    flat_tr = train_img.reshape(len(train_img), -1)
    flat_te = test_img.reshape(len(test_img), -1)
    both = np.concatenate([flat_tr, flat_te])
    ids = _atom_ids(both)
    ids_tr, ids_te = ids[: len(flat_tr)], ids[len(flat_tr) :]
    counts = _counts_by_atom(ids_tr, train_v, num_values, ids.max() + 1)
    fallback = np.bincount(train_v, minlength=num_values).argmax()
    rule = np.where(counts.sum(1) > 0, counts.argmax(1), fallback)
    return float(np.mean(rule[ids_te] == test_v))


def cells(images, labels, z, *, key, num_atoms):
    """One seed: the ceiling and the learned rules per atom count."""
    n = len(images)
    k_split, k_fit = jax.random.split(key)
    perm = np.asarray(jax.random.permutation(k_split, n))
    n_tr, n_te = int(0.6 * n), int(0.2 * n)
    tr, te = perm[:n_tr], perm[n_tr : n_tr + n_te]
    flat = images.reshape(n, -1).astype(np.float32)
    num_classes = int(labels.max()) + 1
    out = []
    for m in num_atoms:
        rep = feature.fit(
            flat[tr], z[tr], method="latent_semidiscrete",
            options={"num_atoms": m, "num_components": 32,
                     "relative_epsilon": 0.005},
        )  # fmt: skip
        k_tr, k_te = jax.random.split(jax.random.fold_in(k_fit, m))
        rep_tr = np.asarray(feature.transform(rep, flat[tr], z[tr], key=k_tr))
        rep_te = np.asarray(feature.transform(rep, flat[te], z[te], key=k_te))
        counts = _counts_by_atom(_atom_ids(rep_te), labels[te], num_classes)
        group_sizes = np.bincount(z[tr], minlength=2)
        out.append({
            "num_atoms": m,
            "atoms_drawn_test": int((counts.sum(1) > 0).sum()),
            "y_ceiling": float(counts.max(1).sum() / len(te)),
            "y_atom_rule": _learned_rule(rep_tr, labels[tr], rep_te,
                                         labels[te], num_classes),
            "z_atom_rule": _learned_rule(rep_tr, z[tr], rep_te, z[te], 2),
            "z_majority": float(max(np.mean(z[te]), 1 - np.mean(z[te]))),
            "train_per_atom_per_group": float(group_sizes.min() / m),
            "n_train": int(len(tr)), "n_test": int(len(te)),
        })  # fmt: skip
        print(out[-1], flush=True)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", default="mnist5k",
                   choices=("mnist5k", "fashion_mnist"))  # fmt: skip
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--num-atoms", type=int, nargs="+",
                   default=[64, 128, 256, 512, 1024])  # fmt: skip
    p.add_argument("--num-images", type=int, default=None)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    num_images, atoms, seeds = args.num_images, args.num_atoms, args.seeds
    if quick_run():
        num_images, atoms, seeds = 600, [8, 16], seeds[:1]
    for seed in seeds:
        k_data, k_cells = jax.random.split(jax.random.key(seed))
        images, labels, z = reference_data(
            args.data, num_images=num_images, key=k_data
        )
        rows = cells(images, labels, z, key=k_cells, num_atoms=atoms)
        record("image_cells", data=args.data, seed=seed,
               num_images=num_images, rows=rows)  # fmt: skip


if __name__ == "__main__":
    main()
