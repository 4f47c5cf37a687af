# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 01 · Information objectives and the unified solution
#
# Feature unlearning asks for an outcome $\hat X = f(X, Z)$ independent of
# $Z$ that keeps as much of $X$ as possible. The objectives of the paper
# (entropy $H(\hat X)$, $-H(X \mid \hat X)$, $I(X; \hat X)$, the energy of the
# conditional probability, and $-\mathbb{E}\|X - \hat X\|^2$) are all
# maximized by one outcome: push each group to the Wasserstein barycenter
# (Xu & Strohmer, arXiv:2502.05684). We check this on a discrete example
# with known answers, then show the plug-in $I(\hat Y; Z)$ used by
# data-point unlearning.

# %%
import jax.numpy as jnp
import numpy as np

from jaxunlearn import info

# X uniform on {0, 1, 2, 3}; Z = 1 when X >= 2, so X | Z=0 ~ U{0, 1} and
# X | Z=1 ~ U{2, 3}. The equal-weight barycenter of the two groups is U{1, 2}.
xs = np.arange(4)
px = np.full(4, 0.25)
z = (xs >= 2).astype(int)

# %% [markdown]
# Candidate Z-independent outcomes, each a map (x, z) -> distribution of
# X_hat over a common set of values.

# %%
values = np.array([0.0, 1.0, 1.5, 2.0])  # every value any outcome takes


def outcome(rule):
    """Joint table P(X = x, X_hat = v) [4, len(values)] of a rule."""
    joint = np.zeros((4, values.size))
    for x in xs:
        for v, p in rule(x, z[x]).items():
            joint[x, np.flatnonzero(values == v)[0]] += px[x] * p
    return joint


outcomes = {
    "barycenter (x + 1 - 2z)": outcome(lambda x, zz: {x + 1 - 2 * zz: 1.0}),
    "shifted extremal (x - 2z)": outcome(lambda x, zz: {x - 2 * zz: 1.0}),
    "constant (1.5)": outcome(lambda x, zz: {1.5: 1.0}),
    "random bit (1 or 2)": outcome(lambda x, zz: {1.0: 0.5, 2.0: 0.5}),
}

# %%
rows = []
for name, joint in outcomes.items():
    j = jnp.asarray(joint)
    # Z-independence: P(X_hat | Z = 0) == P(X_hat | Z = 1).
    p0 = joint[z == 0].sum(0) / joint[z == 0].sum()
    p1 = joint[z == 1].sum(0) / joint[z == 1].sum()
    assert np.allclose(p0, p1), name
    distortion = float((joint * (xs[:, None] - values[None, :]) ** 2).sum())
    rows.append(
        {
            "outcome": name,
            "H(X_hat)": float(info.entropy(j.sum(0))),
            "-H(X|X_hat)": -float(info.conditional_entropy(j)),
            "I(X;X_hat)": float(info.mutual_information(j)),
            "energy": float(info.conditional_energy(j)),
            "-E|X-X_hat|^2": -distortion,
        }
    )
for r in rows:
    print(
        " | ".join(
            f"{v:.3f}" if isinstance(v, float) else v for v in r.values()
        )
    )

# %% [markdown]
# The barycenter outcome is best on every objective at once; the shifted
# extremal outcome ties on the information objectives (it carries the same
# sigma-algebra) but pays more distortion, which is what singles out the
# barycenter.

# %%
best = rows[0]
for r in rows[1:]:
    for k in best:
        if k != "outcome":
            assert best[k] >= r[k] - 1e-12, (k, r["outcome"])
print("barycenter outcome is optimal on every objective")

# %% [markdown]
# ## The data-point objective: plug-in I(Y_hat; Z)
# Soft predictions on the forget rows (Z = 1) and on the others (Z = 0).
# I = 0 exactly when the mean predictions of the two groups agree.

# %%
probs = jnp.array([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.1, 0.9]])
print(
    "separated groups:",
    float(info.prediction_mi(probs, jnp.array([0, 0, 1, 1]))),
)
print(
    "mixed groups:    ",
    float(info.prediction_mi(probs, jnp.array([0, 1, 0, 1]))),
)
mi = info.prediction_mi(probs, jnp.array([0, 0, 1, 1]))
print("TV bound:", float(info.tv_bound(mi, 0.5)))
