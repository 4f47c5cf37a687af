# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 02 · Gaussian and one-dimensional barycenters and maps
#
# The Wasserstein-2 barycenter of Gaussians is found by the fixed point of
# Álvarez-Esteban et al. (2016); the optimal map onto it is affine. In one
# dimension the barycenter averages quantile functions, exactly, for any
# law. Partial repair along McCann's interpolation traces the Pareto
# frontier sqrt(distortion) + sqrt(disparity) = sqrt(V) (Xu & Strohmer,
# arXiv:2502.05684).

# %%
import jax
import jax.numpy as jnp
import numpy as np

from jaxunlearn import feature, transport

key = jax.random.key(0)
means = jnp.array([[0.0, 0.0], [4.0, 1.0]])
covs = jnp.array([[[1.0, 0.3], [0.3, 0.5]], [[2.0, -0.4], [-0.4, 1.0]]])
weights = jnp.array([0.4, 0.6])
bary = transport.gaussian_barycenter(means, covs, weights)
print("barycenter mean", bary.mean, "converged", bool(bary.converged))

# %% [markdown]
# Check: each group's map pushes its covariance exactly onto the barycenter's.

# %%
n = 2000
k0, k1 = jax.random.split(key)
x0 = jax.random.multivariate_normal(k0, means[0], covs[0], (n,))
mapped = transport.gaussian_transport_map(
    x0, means[0], covs[0], bary.mean, bary.cov
)
print("empirical cov of T(x0):\n", np.cov(np.asarray(mapped).T).round(2))
print("barycenter cov:\n", np.asarray(bary.cov).round(2))
cost = sum(
    float(w) * float(transport.gaussian_w2_squared(m, c, bary.mean, bary.cov))
    for w, m, c in zip(weights, means, covs, strict=True)
)
print("V = sum_z w_z W2^2(mu_z, bary) =", round(cost, 4))

# %% [markdown]
# ## One dimension: quantile averaging

# %%
a = jax.random.exponential(k0, (600,))
b = 3.0 + 0.5 * jax.random.normal(k1, (400,))
x1 = jnp.concatenate([a, b])[:, None]
z1 = jnp.concatenate(
    [jnp.zeros(a.size, jnp.int32), jnp.ones(b.size, jnp.int32)]
)
rep = feature.fit(x1, z1, method="quantile")  # exact 1-D barycenter maps
x1_hat = feature.transform(rep, x1, z1)
for g in (0, 1):
    print(
        f"group {g}: median before {float(jnp.median(x1[z1 == g])):.3f},"
        f" after {float(jnp.median(x1_hat[z1 == g])):.3f}"
    )

# %% [markdown]
# ## The Pareto frontier of partial repair (exact for Gaussians)

# %%
for t in (0.0, 0.25, 0.5, 0.75, 1.0):
    p = transport.pareto_frontier(cost, t)
    print(t, {k: round(float(v), 4) for k, v in p._asdict().items()})
