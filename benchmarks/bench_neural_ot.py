"""Neural OT training speed at the demo size, and the image audit run.

Measures one outer NOT iteration (k_t T-steps + one f-step, jit) on 28x28
images at the CPU demo size, reported as iterations/s and T-steps/s, next to
two peers measured in the same run: the same iteration with the k_t T-steps
in a rolled ``lax.scan`` (the previous implementation; XLA:CPU runs the
convolutions inside a while loop several times slower) and the PCA-Gaussian
baseline's whole fit on the same images (what a fast closed-form repair
costs). Correctness at the measured size: the loss
is finite and the 2-D Gaussian Monge map is recovered (relative error below
5%) by the same code.

``--audit`` also runs the full MNIST-5k thickness audit
(:func:`jaxunlearn.experiments.mnist_thickness_audit`) and reports the time
to reach the audit targets; it takes tens of minutes on a CPU.

  PYTHONPATH=. python benchmarks/bench_neural_ot.py [--quick] [--audit DIR
      [--methods neural ...] [--ot '{"prior_components": 0}']]
"""

import argparse
import functools
import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
from _harness import record, time_call, time_jax

from jaxunlearn.transport import (
    NeuralOTConfig,
    apply_neural_ot,
    fit_neural_ot,
    fit_pca_gaussian_barycenter,
    init_neural_ot,
)
from jaxunlearn.transport._neural import (
    _iteration,
    neural_ot_f_step,
    neural_ot_t_step,
)


@functools.partial(jax.jit, static_argnames=("config",))
def _rolled_iteration(state, data, bounds, *, config):
    """The previous ``_iteration``: the same steps, T-steps in a rolled scan."""
    key, k_t, k_x, k_y = jax.random.split(state.key, 4)
    s0, n, t0, m = bounds[0], bounds[1], bounds[2], bounds[3]
    shape = (config.k_t, config.batch_size)
    t_idx = s0 + jax.random.randint(k_t, shape, 0, n, dtype=jnp.int32)

    def t_body(s, idx):
        return neural_ot_t_step(s, data[idx], config=config)

    state, t_losses = jax.lax.scan(t_body, state, t_idx)
    b = (config.batch_size,)
    x_idx = s0 + jax.random.randint(k_x, b, 0, n, dtype=jnp.int32)
    y_idx = t0 + jax.random.randint(k_y, b, 0, m, dtype=jnp.int32)
    state, f_loss = neural_ot_f_step(
        state, data[x_idx], data[y_idx], config=config
    )
    return state._replace(step=state.step + 1, key=key), f_loss


def gaussian_check():
    k1, k2 = jax.random.split(jax.random.key(1))
    a = jnp.array([[2.0, 0.5], [0.5, 1.0]])
    b = jnp.array([1.0, -1.0])
    src = jax.random.normal(k1, (2000, 2))
    tgt = jax.random.normal(k2, (2000, 2)) @ a + b[None, :]
    cfg = NeuralOTConfig(
        num_iterations=150, k_t=5, batch_size=256, hidden=32,
        learning_rate_t=3e-3, learning_rate_f=3e-3,
    )  # fmt: skip
    out = fit_neural_ot(src, tgt, key=jax.random.key(2), config=cfg)
    w, v = np.linalg.eigh(np.asarray(a.T @ a, np.float64))
    root = (v * np.sqrt(w)) @ v.T
    xs = np.asarray(src[:500], np.float64)
    true = xs @ root + np.asarray(b)[None, :]
    pred = np.asarray(apply_neural_ot(out.ot_map, src[:500]))
    spread = np.mean(np.sum((true - np.asarray(b)[None, :]) ** 2, axis=1))
    rel = float(np.mean(np.sum((pred - true) ** 2, axis=1)) / spread)
    assert rel < 0.05, rel
    return rel


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--audit", metavar="DIR", default=None)
    parser.add_argument(
        "--methods",
        nargs="+",
        default=["neural", "pca_gaussian", "pca_gaussian_decoded"],
        help="audit methods (with --audit)",
    )
    parser.add_argument(
        "--ot",
        default="{}",
        metavar="JSON",
        help="NeuralOTConfig fields replacing the audit default, e.g."
        " '{\"prior_components\": 0}' (with --audit)",
    )
    args = parser.parse_args()
    if args.quick:
        n, side, cfg, reps = (
            64,
            12,
            NeuralOTConfig(k_t=2, batch_size=8, width=2),
            3,
        )
    else:
        n, side, cfg, reps = 4000, 28, NeuralOTConfig(), 10
    x = jax.random.uniform(jax.random.key(0), (n, side, side))
    z = (jnp.arange(n) % 2).astype(jnp.int32)
    state = init_neural_ot(x, key=jax.random.key(0), config=cfg)
    bounds = jnp.asarray([0, n // 2, n // 2, n - n // 2], jnp.int32)
    step = lambda s: _iteration(s, x, bounds, config=cfg)
    t = time_jax(step, state, reps=reps, warmup=1)
    s1, m = step(state)
    assert np.isfinite(float(m.t_loss)) and np.isfinite(float(m.f_loss))
    rolled = lambda s: _rolled_iteration(s, x, bounds, config=cfg)
    t_rolled = time_jax(rolled, state, reps=reps, warmup=1)
    s2, f2 = rolled(state)  # same computation: same f-loss up to rounding
    np.testing.assert_allclose(float(f2), float(m.f_loss), rtol=1e-3, atol=1e-5)
    k = min(32, n, side * side)
    peer = time_call(
        lambda: fit_pca_gaussian_barycenter(x, z, num_components=k).maps,
        reps=max(2, reps // 3),
    )
    rel = None if args.quick else gaussian_check()
    record(
        "bench_neural_ot",
        case={"n": n, "side": side, "config": cfg._asdict(),
              "quick": args.quick},
        ours=t,
        iterations_per_s=1.0 / t["median_s"],
        t_steps_per_s=cfg.k_t / t["median_s"],
        peer_rolled_scan=t_rolled,
        speedup_over_rolled_scan=t_rolled["median_s"] / t["median_s"],
        peer_pca_gaussian_fit=peer,
        ratio_iteration_over_pca_fit=t["median_s"] / peer["median_s"],
        gaussian_rel_error=rel,
    )  # fmt: skip
    if args.audit:
        from jaxunlearn.experiments import (
            ImageAuditConfig, audit_table, mnist_thickness_audit,
        )  # fmt: skip

        audit_cfg = ImageAuditConfig()
        audit_cfg = audit_cfg._replace(
            ot=audit_cfg.ot._replace(**json.loads(args.ot))
        )
        t0 = time.perf_counter()
        res = mnist_thickness_audit(
            key=jax.random.key(0), config=audit_cfg,
            methods=tuple(args.methods), out_dir=args.audit,
        )  # fmt: skip
        total = time.perf_counter() - t0
        print(audit_table(res.rows))
        rows = {r.method: r._asdict() for r in res.rows}
        targets = {
            r.method: {
                "z_within_5pts_of_majority": abs(
                    r.z_acc_orig_cnn - r.z_majority) <= 0.05,
                "y_within_2pts": r.y_acc_original - r.y_acc_repaired <= 0.02,
                "fit_s": r.fit_seconds,
            }
            for r in res.rows[1:]
        }  # fmt: skip
        record("bench_neural_ot_audit", rows=rows, targets=targets,
               total_s=total, ot=audit_cfg.ot._asdict(),
               load=os.getloadavg())  # fmt: skip


if __name__ == "__main__":
    main()
