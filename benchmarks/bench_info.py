"""prediction_mi (+ gradient) vs NumPy/PyTorch, and KSG vs scikit-learn.

Usage:
  PYTHONPATH=. python benchmarks/bench_info.py [--quick]

Cases: ``prediction_mi`` and its gradient on ``[N, C]``
in {[1e4, 10], [1e5, 100], [1e6, 10]} against a float64 NumPy reference
(value and analytic gradient) and the equivalent PyTorch expression when
torch is installed (skipped otherwise); KSG mutual information against
``sklearn.feature_selection.mutual_info_regression`` at n in {1e3, 1e4,
1e5} (float64 for both; ours called eagerly as a user would, which takes
the host k-d tree path in low dimension), and the Kozachenko-Leonenko
entropy against the same formula on scikit-learn's ``NearestNeighbors``
(float64). Peers run in the same dtype as ours. Every case asserts
correctness at its size before timing.
"""

import argparse
import importlib.util
import sys

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import digamma, gammaln
from sklearn.feature_selection import mutual_info_regression
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import scale

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from _harness import record, time_call, time_jax  # noqa: E402

from jaxunlearn.info import (  # noqa: E402
    kl_entropy,
    ksg_mutual_information,
    prediction_mi,
)


def numpy_mi_and_grad(probs, z, k):
    """NumPy: I and its ambient gradient.

    I = sum J log J - sum P log P - sum pi log pi with pi_k = sum_c J_ck, so
    dI/dJ_ck = log(J_ck / (P_c pi_k)) - 1 and dI/dq_ic = that at k = z_i,
    divided by N.
    """
    n = probs.shape[0]
    onehot = np.eye(k, dtype=probs.dtype)[z]
    joint = probs.T @ onehot / n  # [C, K]
    pc = joint.sum(1, keepdims=True)
    pk = joint.sum(0, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(joint > 0, joint / (pc * pk), 1.0)
        mi = float(np.sum(joint * np.log(ratio)))
        dj = np.where(joint > 0, np.log(ratio), 0.0) - 1.0
    return mi, dj[:, z].T / n


def torch_mi_and_grad(torch, probs, z, k):
    q = probs.detach().clone().requires_grad_(True)
    onehot = torch.nn.functional.one_hot(z, k).to(q.dtype)
    joint = q.T @ onehot / q.shape[0]
    outer = joint.sum(1, keepdim=True) * joint.sum(0, keepdim=True)
    mi = torch.sum(torch.xlogy(joint, joint / outer))
    mi.backward()
    return mi.detach(), q.grad


def bench_prediction_mi(n, c, reps):
    k = 2
    k1, k2 = jax.random.split(jax.random.key(n + c))
    probs = jax.nn.softmax(jax.random.normal(k1, (n, c)) * 2)
    z = jax.random.randint(k2, (n,), 0, k)
    fn = jax.value_and_grad(lambda p: prediction_mi(p, z, num_groups=k))
    val, grad = jax.jit(fn)(probs)
    p64, z_np = np.asarray(probs, np.float64), np.asarray(z)
    ref_val, ref_grad = numpy_mi_and_grad(p64, z_np, k)
    np.testing.assert_allclose(float(val), ref_val, rtol=2e-3, atol=1e-6)
    np.testing.assert_allclose(
        np.asarray(grad), ref_grad, rtol=2e-3, atol=1e-5 / n
    )
    ours = time_jax(fn, probs, reps=reps)
    p32 = np.asarray(probs)
    peer = time_call(numpy_mi_and_grad, p32, z_np, k, reps=reps)
    row = {
        "case": {"n": n, "c": c, "groups": k, "dtype": "float32"},
        "jax_value_and_grad": ours,
        "numpy": peer,
        "speedup_vs_numpy": peer["median_s"] / ours["median_s"],
    }
    if importlib.util.find_spec("torch") is not None:
        import torch

        tp, tz = torch.from_numpy(p32), torch.from_numpy(z_np.astype(np.int64))
        tv, _ = torch_mi_and_grad(torch, tp, tz, k)
        np.testing.assert_allclose(float(tv), ref_val, rtol=2e-3, atol=1e-6)
        tt = time_call(torch_mi_and_grad, torch, tp, tz, k, reps=reps)
        row["torch"] = tt
        row["speedup_vs_torch"] = tt["median_s"] / ours["median_s"]
    else:
        row["torch"] = "skipped: torch not installed"
    record("bench_info_prediction_mi", **row)
    return row


def bench_ksg(n, reps):
    rho = 0.6
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n)
    y = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    xs = scale(x.reshape(-1, 1))  # sklearn's own preprocessing
    ys = scale(y, with_mean=False)

    def sk():
        return mutual_info_regression(x.reshape(-1, 1), y, random_state=0)[0]

    with jax.enable_x64(True):
        a = jnp.asarray(xs, jnp.float64)
        b = jnp.asarray(ys[:, None], jnp.float64)
        ours_val = float(ksg_mutual_information(a, b))
        sk_val = sk()
        truth = -0.5 * np.log(1 - rho**2)
        # Same estimator on the same points up to scikit-learn's 1e-10
        # jitter, which can only flip exact near-ties: the two agree far
        # inside the Monte-Carlo error (sd ~ 0.5 / sqrt(n) nats); both must
        # be near the closed form.
        assert abs(ours_val - sk_val) < 1e-4, (ours_val, sk_val)
        assert abs(ours_val - truth) < 4 * 0.6 / np.sqrt(n) + 0.01, ours_val
        ours = time_call(ksg_mutual_information, a, b, reps=reps)
    peer = time_call(sk, reps=reps)
    row = {
        "case": {"n": n, "k": 3, "dtype": "float64", "path": "eager"},
        "jax_ksg": ours,
        "sklearn": peer,
        "estimates": {"jax": ours_val, "sklearn": sk_val, "closed": truth},
        "speedup_vs_sklearn": peer["median_s"] / ours["median_s"],
    }
    record("bench_info_ksg", **row)
    return row


def sklearn_kl_entropy(x, k=3):
    """Kozachenko-Leonenko on scikit-learn's NearestNeighbors (float64)."""
    n, d = x.shape
    dist, _ = NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x)
    log_vd = 0.5 * d * np.log(np.pi) - gammaln(d / 2 + 1)
    return digamma(n) - digamma(k) + log_vd + d * np.mean(np.log(dist[:, k]))


def bench_kl(n, d, reps):
    rng = np.random.default_rng(n + d)
    x = rng.standard_normal((n, d))
    truth = 0.5 * d * np.log(2 * np.pi * np.e)
    with jax.enable_x64(True):
        a = jnp.asarray(x)
        ours_val = float(kl_entropy(a))
        sk_val = float(sklearn_kl_entropy(x))
        assert abs(ours_val - sk_val) < 1e-9 * abs(sk_val) + 1e-12, (
            ours_val,
            sk_val,
        )
        assert abs(ours_val - truth) < 0.05 * d, (ours_val, truth)
        ours = time_call(kl_entropy, a, reps=reps)
    peer = time_call(sklearn_kl_entropy, x, reps=reps)
    row = {
        "case": {"n": n, "d": d, "k": 3, "dtype": "float64", "path": "eager"},
        "jax_kl": ours,
        "sklearn": peer,
        "estimates": {"jax": ours_val, "sklearn": sk_val, "closed": truth},
        "speedup_vs_sklearn": peer["median_s"] / ours["median_s"],
    }
    record("bench_info_kl", **row)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        mi_cases, ksg_cases, reps = [(1000, 10), (10_000, 10)], [1000], 3
        kl_cases = [(1000, 2)]
    else:
        mi_cases = [(10_000, 10), (100_000, 100), (1_000_000, 10)]
        ksg_cases, reps = [1000, 10_000, 100_000], 10
        kl_cases = [(10_000, 2), (100_000, 2)]
    print("device:", jax.devices()[0].device_kind, flush=True)
    for n, c in mi_cases:
        r = bench_prediction_mi(n, c, reps)
        print(
            f"prediction_mi+grad [{n}, {c}]: jax"
            f" {r['jax_value_and_grad']['median_s'] * 1e3:.2f} ms, numpy"
            f" {r['numpy']['median_s'] * 1e3:.2f} ms, speedup"
            f" {r['speedup_vs_numpy']:.1f}x; torch:"
            f" {r.get('speedup_vs_torch', r['torch'])}",
            flush=True,
        )
    for n in ksg_cases:
        r = bench_ksg(n, reps if n < 10_000 else max(3, reps // 3))
        print(
            f"KSG n={n}: jax {r['jax_ksg']['median_s'] * 1e3:.1f} ms,"
            f" sklearn {r['sklearn']['median_s'] * 1e3:.1f} ms, speedup"
            f" {r['speedup_vs_sklearn']:.2f}x; estimates {r['estimates']}",
            flush=True,
        )
    for n, d in kl_cases:
        r = bench_kl(n, d, reps if n < 10_000 else max(3, reps // 3))
        print(
            f"KL entropy n={n} d={d}: jax {r['jax_kl']['median_s'] * 1e3:.1f}"
            f" ms, sklearn {r['sklearn']['median_s'] * 1e3:.1f} ms, speedup"
            f" {r['speedup_vs_sklearn']:.2f}x; estimates {r['estimates']}",
            flush=True,
        )


if __name__ == "__main__":
    main()
