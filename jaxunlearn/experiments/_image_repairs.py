"""The image repairs the audit compares, each with its candidate settings.

:func:`candidates` yields, for one method, ``(params, repair)`` pairs: the
hyperparameter settings (or stopping points) the audit chooses among on
the validation split, and ``repair(images, z, t, key) -> images`` fitted on
the training images. Neural OT stopping points are one training run,
resumed from its checkpoint at each stop.
"""

import os
import tempfile
from collections.abc import Callable, Iterator

import jax
import numpy as np

from jaxunlearn import feature
from jaxunlearn.experiments import _image_ae
from jaxunlearn.feature import _image_methods
from jaxunlearn.transport import (
    fit_neural_barycenter,
    fit_pca_gaussian_barycenter,
    neural_barycenter_transform,
    pca_gaussian_transform,
)

METHODS = (
    "latent_semidiscrete",
    "ae_semidiscrete",
    "pca_gaussian",
    "pca_gaussian_decoded",
    "neural",
)

Repair = Callable[[np.ndarray, np.ndarray, float, object], np.ndarray]

_CHUNK = 500


def _batched(fn, x, z, size=_CHUNK):
    parts = [
        np.asarray(fn(x[i : i + size], z[i : i + size]))
        for i in range(0, x.shape[0], size)
    ]
    return np.concatenate(parts)


def _pca(x, z, k, keep):
    k = min(k, x.shape[0], x[0].size)
    model = fit_pca_gaussian_barycenter(x, z, num_components=k)

    def repair(xs, zs, t, key):
        del key  # deterministic
        return _batched(
            lambda a, b: pca_gaussian_transform(
                model, a, b, t=t, keep_residual=keep
            ),
            xs,
            zs,
        )

    return repair


def _latent(x, z, num_atoms, cfg, seed):
    shape = x.shape[1:]
    options = {
        "seed": seed,
        "num_components": min(cfg.latent_components, x[0].size),
        "num_atoms": int(num_atoms),
        "relative_epsilon": cfg.relative_epsilon,
        "fixed_point_steps": 3,
        "refine_steps": 30,
    }
    rep = feature.fit(
        x.reshape(x.shape[0], -1), z, method=_image_methods.METHOD,
        options=options,
    )  # fmt: skip

    def repair(xs, zs, t, key):
        flat = xs.reshape(xs.shape[0], -1)
        out = feature.transform(rep, flat, zs, t=t, key=key)
        return np.asarray(out).reshape((xs.shape[0], *shape))

    return repair


def _ae(x, z, key, cfg) -> Iterator[tuple[dict, Repair]]:
    # Fixed atoms in the code space of an autoencoder fitted on the pooled
    # training images; an image becomes its atom's decoded code, so the
    # output is again a function of the atom alone.
    k_ae, k_fit = jax.random.split(key)
    encode, decode = _image_ae.train_autoencoder(
        k_ae, x, code_dim=cfg.latent_components, epochs=cfg.ae_epochs
    )
    codes = encode(x)
    seed = int(jax.random.randint(k_fit, (), 0, 2**31 - 1))
    smallest = int(min(np.sum(z == 0), np.sum(z == 1)))
    for m in cfg.num_atoms:
        if m > smallest:
            continue
        options = {
            "seed": seed,
            "num_components": codes.shape[1],
            "num_atoms": int(m),
            "relative_epsilon": cfg.relative_epsilon,
            "fixed_point_steps": 3,
            "refine_steps": 30,
        }
        rep = feature.fit(codes, z, method=_image_methods.METHOD,
                          options=options)  # fmt: skip

        def repair(xs, zs, t, key, rep=rep):
            atom = feature.transform(rep, encode(xs), zs, key=key)
            return (1.0 - t) * xs + t * decode(np.asarray(atom))

        yield {"num_atoms": int(m)}, repair


def _neural(x, z, key, cfg, checkpoint_dir) -> Iterator[tuple[dict, Repair]]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = tmp if checkpoint_dir is None else os.fspath(checkpoint_dir)
        for stop in sorted(set(cfg.neural_stops)):
            model = fit_neural_barycenter(
                x, z, key=key,
                config=cfg.ot._replace(num_iterations=int(stop)),
                checkpoint_dir=folder,
            )  # fmt: skip

            def repair(xs, zs, t, key, model=model):
                del key
                return _batched(
                    lambda a, b: neural_barycenter_transform(model, a, b, t=t),
                    xs,
                    zs,
                )

            yield {"iterations": int(stop)}, repair


def candidates(
    method: str, x, z, *, key, cfg, checkpoint_dir=None
) -> Iterator[tuple[dict, Repair]]:
    """The settings of ``method`` to choose among, each with its repair.

    Args:
      method: one of :data:`METHODS`.
      x: training images ``[n, h, w]``.
      z: their binary attribute ``[n]``.
      key: PRNG key of the fits.
      cfg: an ``ImageAuditConfig``.
      checkpoint_dir: folder for neural checkpoints (None: a temporary one).

    Yields:
      ``(params, repair)`` pairs, fitted lazily one at a time.
    """
    if method == "neural":
        yield from _neural(x, z, key, cfg, checkpoint_dir)
    elif method == "ae_semidiscrete":
        yield from _ae(x, z, key, cfg)
    elif method == "latent_semidiscrete":
        seed = int(jax.random.randint(key, (), 0, 2**31 - 1))
        smallest = int(min(np.sum(z == 0), np.sum(z == 1)))
        for m in cfg.num_atoms:
            if m <= smallest:
                yield {"num_atoms": int(m)}, _latent(x, z, m, cfg, seed)
    else:
        keep = method == "pca_gaussian"
        for k in cfg.pca_components:
            yield {"num_components": int(k)}, _pca(x, z, k, keep)
