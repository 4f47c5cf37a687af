"""Audit figure along a neural OT run: Z accuracy vs training iterations.

Trains the two-group neural barycenter on the MNIST-5k training split (the
same keyed split, keys and audit CNN as
:func:`jaxunlearn.experiments.mnist_thickness_audit`), extends the run
through the given iteration counts by resuming from its checkpoints, and
after each records the wall time so far, the accuracy of the ``Z`` CNN
trained on original images when it reads the repaired held-out images
(target: the majority rate) and the distortion. Iteration 0 with
``--prior-components k`` is the PCA-Gaussian repair itself.

  PYTHONPATH=. python studies/neural_ot_trajectory/study_neural_ot_trajectory.py \
      --prior-components 32 --iterations 0 150 300 600 --out DIR
"""

import argparse
import functools
import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxunlearn.datasets import load_mnist5k, thickness_attribute
from jaxunlearn.experiments import ImageAuditConfig, train_cnn
from jaxunlearn.transport import (
    NeuralOTConfig,
    fit_neural_barycenter,
    neural_barycenter_transform,
)


def _repair(model, x, z, t):
    return neural_barycenter_transform(model, x, z, t=t)


def record(name, **fields):
    """Prints the study's result as one JSON line."""
    print(json.dumps({"study": name, **fields}, default=float), flush=True)


def _split(key, n, test_fraction):
    """The earlier audit's 80/20 split (no validation split)."""
    perm = np.asarray(jax.random.permutation(key, n))
    n_test = max(1, round(test_fraction * n))
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def _batched(fn, x, z, t, size=500):
    parts = [
        np.asarray(fn(x[i : i + size], z[i : i + size], t))
        for i in range(0, x.shape[0], size)
    ]
    return jnp.asarray(np.concatenate(parts))


def _train_and_score(key, x_tr, y_tr, tests, num_classes, cfg):
    predict = train_cnn(key, x_tr, y_tr, num_classes, cfg)
    return [float(np.mean(predict(x) == np.asarray(y))) for x, y in tests]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prior-components", type=int, default=32)
    parser.add_argument("--learning-rate-t", type=float, default=1e-3)
    parser.add_argument("--learning-rate-f", type=float, default=1e-3)
    parser.add_argument("--k-t", type=int, default=5)
    parser.add_argument(
        "--iterations", type=int, nargs="+", default=[0, 150, 300, 600]
    )
    parser.add_argument("--num-images", type=int, default=None)
    parser.add_argument(
        "--fit-seed",
        type=int,
        default=None,
        help="key of the neural training only (default: the audit's)",
    )
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    audit_cfg = ImageAuditConfig()
    data = load_mnist5k()
    images = np.asarray(data.images)
    labels = np.asarray(data.labels).astype(np.int32)
    if args.num_images:
        images, labels = images[: args.num_images], labels[: args.num_images]
    z = np.asarray(thickness_attribute(images, labels).codes).astype(np.int32)
    # The keys of image_feature_audit(key=jax.random.key(0)).
    k_split, k_fit, k_cnn = jax.random.split(jax.random.key(0), 3)
    tr, te = _split(k_split, images.shape[0], audit_cfg.test_fraction)
    x_tr, x_te = jnp.asarray(images[tr]), jnp.asarray(images[te])
    z_tr, z_te = z[tr], z[te]
    majority = float(max(np.mean(z_te), 1 - np.mean(z_te)))
    kz = jax.random.split(k_cnn, 4)[0]
    if args.fit_seed is not None:
        k_fit = jax.random.key(args.fit_seed)
    ckpt = os.path.join(args.out, "checkpoints")
    points, tests = [], [(x_te, z_te)]
    elapsed = 0.0
    for it in args.iterations:
        cfg = NeuralOTConfig(
            num_iterations=max(it, 1),
            k_t=args.k_t,
            learning_rate_t=args.learning_rate_t if it else 0.0,
            learning_rate_f=args.learning_rate_f if it else 0.0,
            prior_components=args.prior_components,
        )
        t0 = time.perf_counter()
        model = fit_neural_barycenter(
            x_tr, z_tr, key=k_fit, config=cfg,
            checkpoint_dir=ckpt if it else None,
        )  # fmt: skip
        elapsed += time.perf_counter() - t0 if it else 0.0
        fn = functools.partial(_repair, model)
        rep = _batched(fn, x_te, z_te, 1.0)
        dist = float(jnp.mean(jnp.sum(jnp.square(rep - x_te), (1, 2))))
        tests.append((rep, z_te))
        points.append({"iterations": it, "fit_s_cumulative": elapsed,
                       "distortion": dist})  # fmt: skip
        print(json.dumps(points[-1]), flush=True)
    scores = _train_and_score(
        kz, x_tr, z_tr, tests, num_classes=2, cfg=audit_cfg
    )
    for p, s in zip(points, scores[1:], strict=True):
        p["z_acc_repaired"] = s
    record(
        "study_neural_ot_trajectory",
        case=vars(args) | {"z_majority": majority, "z_acc_original": scores[0]},
        points=points,
        load=os.getloadavg(),
    )  # fmt: skip


if __name__ == "__main__":
    main()
