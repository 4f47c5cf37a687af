# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 05 · Many forget requests at once (vmap and sharding)
#
# `datapoint.unlearn_many` pads K forget sets of different sizes to one
# static shape with masks and runs K requests x S seeds in one compiled
# program (`jax.vmap`); with `shard=True` the request axis is laid over all
# devices. Each request's result equals a separate `unlearn` on its own
# split. `JAXUNLEARN_NOTEBOOK_SMALL=1` shrinks it.

# %%
import os
import time

import jax
import numpy as np
from flax import nnx

from jaxunlearn import datapoint, datasets, models

SMALL = os.environ.get("JAXUNLEARN_NOTEBOOK_SMALL") == "1"
digits = datasets.load_digits()
split = datasets.train_test_split(
    jax.random.key(0), digits.x, digits.labels, test_fraction=0.2
)
x, y = split.x_train, split.y_train
apply_fn, params = models.functional(
    models.MLP(64, (32,) if SMALL else (128, 64), 10, rngs=nnx.Rngs(0))
)
trained = datapoint.fit_classifier(
    apply_fn, params, x, y, epochs=3 if SMALL else 30, key=jax.random.key(1)
).params

# %% [markdown]
# K requests: "forget 30% / 50% / 75% of digit c" for a few classes.

# %%
rng = np.random.default_rng(0)
classes = (1, 3) if SMALL else (1, 3, 5, 7)
requests = []
for c in classes:
    members = np.flatnonzero(np.asarray(y) == c)
    for frac in (0.3, 0.75):
        requests.append(
            np.sort(
                rng.choice(members, int(frac * members.size), replace=False)
            )
        )
print("request sizes:", [r.size for r in requests])

# %%
seeds = 1 if SMALL else 3
t0 = time.perf_counter()
out = datapoint.unlearn_many(
    apply_fn,
    trained,
    x,
    y,
    requests,
    split.x_test,
    split.y_test,
    keys=jax.random.split(jax.random.key(2), seeds),
    gamma=4.0,
    epochs=2 if SMALL else 5,
    shard=len(jax.devices()) > 1,
)
jax.block_until_ready(out.params)
print(
    f"{len(requests)} requests x {seeds} seeds in"
    f" {time.perf_counter() - t0:.1f} s"
)
print(
    "final forget accuracy [K, S]:\n",
    np.asarray(out.history.forget_acc[..., -1]).round(3),
)
print(
    "final test accuracy [K, S]:\n",
    np.asarray(out.history.test_acc[..., -1]).round(3),
)
