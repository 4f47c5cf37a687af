"""Generates the benchmark tables in the docs from the committed records.

Usage:
  python benchmarks/make_tables.py          # rewrite the tables in place
  python benchmarks/make_tables.py --check  # exit 1 if any table is stale

Every ``bench_*.py`` run appends one JSON line to
``benchmarks/results/<script>.jsonl`` (see ``_harness.py``). A document
marks a generated table with ``<!-- table: NAME -->`` and
``<!-- /table -->``; this script replaces what lies between with the table
``NAME`` rendered from the LATEST record of its script, followed by the
record's provenance (commit, date, machine, load). Figures therefore cannot
disagree between BENCHMARKS.md, the README and ``docs/``, and a
generated table cannot quote a figure that no record holds.
"""

import argparse
import json
import os
import pathlib
import re
import statistics
import sys
from collections.abc import Callable

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
# Every Markdown page a user reads; only those with table markers change.
DOCS = [
    ROOT / "BENCHMARKS.md",
    ROOT / "README.md",
    *sorted((ROOT / "docs").rglob("*.md")),
]
MARK = re.compile(
    r"(<!-- table: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /table -->)",
    re.S,
)


def latest(script: str, benchmark: str | None = None) -> dict:
    """The last full (non-quick) record of ``script`` (holding a row of
    ``benchmark`` if given: a run with fewer options leaves the table of
    a longer one alone)."""
    path = RESULTS / f"{script}.jsonl"
    if not path.exists():
        raise SystemExit(f"no records for {script}: {path} is missing")
    runs = [json.loads(line) for line in path.read_text().splitlines() if line]
    runs = [r for r in runs if not r.get("quick")]
    if benchmark is not None:
        runs = [r for r in runs if rows(r, benchmark)]
    if not runs:
        raise SystemExit(
            f"no full (non --quick) record in {path}"
            + (f" with a {benchmark!r} row" if benchmark else "")
        )
    return runs[-1]


def rows(run: dict, benchmark: str) -> list[dict]:
    return [r for r in run["rows"] if r["benchmark"] == benchmark]


def ms(t: dict) -> str:
    v = 1e3 * t["median_s"]
    return f"{v:.3g}" if v < 100 else f"{v:.0f}"


def provenance(run: dict) -> str:
    env = run["env"]
    load = run.get("loadavg_start") or []
    load_end = env.get("loadavg") or []
    dirty = " (uncommitted changes)" if env.get("dirty") else ""
    return (
        f"\nRecord: `benchmarks/results/{run['script']}.jsonl`, run of"
        f" {run['finished']} at commit `{env['commit']}`{dirty};"
        f" {env['cpu_count']} x {env.get('cpu', '?')}, {env['backend']}"
        f" ({env['device']}), JAX {env['jax']}; load average (1, 5, 15 min)"
        f" {tuple(load)} at the start, {tuple(load_end)} at the end.\n"
    )


def bench_info_mi(run: dict) -> str:
    out = [
        "| [N, C] | dtype | JAX ms | NumPy ms | NumPy / JAX | PyTorch / JAX |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows(run, "bench_info_prediction_mi"):
        c = r["case"]
        torch = r.get("speedup_vs_torch")
        torch = f"{torch:.2f}" if torch is not None else "not installed"
        out.append(
            f"| [{c['n']:.0e}, {c['c']}] | {c['dtype']} |"
            f" {ms(r['jax_value_and_grad'])} | {ms(r['numpy'])} |"
            f" {r['speedup_vs_numpy']:.2f} | {torch} |"
        )
    return "\n".join(out) + "\n"


def bench_info_knn(run: dict) -> str:
    out = [
        "| estimator | n | d | dtype | ours ms | scikit-learn ms |"
        " sklearn / ours | ours | sklearn | closed form |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, key, label in (
        ("bench_info_ksg", "jax_ksg", "KSG MI"),
        ("bench_info_kl", "jax_kl", "KL entropy"),
    ):
        for r in rows(run, name):
            c, e = r["case"], r["estimates"]
            out.append(
                f"| {label} | {c['n']:.0e} | {c.get('d', 2)} | {c['dtype']} |"
                f" {ms(r[key])} | {ms(r['sklearn'])} |"
                f" {r['speedup_vs_sklearn']:.2f} | {e['jax']:.6f} |"
                f" {e['sklearn']:.6f} | {e['closed']:.6f} |"
            )
    return "\n".join(out) + "\n"


def bench_barycenter(run: dict) -> str:
    out = [
        "| d | k | ours ms | OTT-JAX ms | OTT / ours | rel. error ours |"
        " OTT | ours iters | OTT steps, sqrtm threshold |"
        " default: ours ms | OTT ms | POT ms | OTT / ours | POT / ours |"
        " rel. error ours | OTT | POT |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows(run, "bench_barycenter"):
        c, cfg = r["case"], r["ott_cfg_equal"]
        out.append(
            f"| {c['d']} | {c['k']} | {ms(r['ours_equal'])} |"
            f" {ms(r['ott_equal'])} | **{r['ratio_ott_over_ours_equal']:.2f}**"
            f" | {r['err_ours_equal']:.1e} | {r['err_ott_equal']:.1e} |"
            f" {r['n_iters_equal']} | {cfg['steps']},"
            f" {cfg['sqrtm_threshold']:.0e} |"
            f" {ms(r['ours'])} | {ms(r['ott'])} | {ms(r['pot'])} |"
            f" {r['ratio_ott_over_ours']:.2f} |"
            f" {r['ratio_pot_over_ours']:.2f} | {r['err_ours']:.1e} |"
            f" {r['err_ott']:.1e} | {r['err_pot_default']:.1e} |"
        )
    return "\n".join(out) + "\n"


def bench_barycenter_batch(run: dict) -> str:
    out = [
        "| d | k | batch | vmap ms | loop ms | loop / vmap |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows(run, "bench_barycenter_batch"):
        c = r["case"]
        out.append(
            f"| {c['d']} | {c['k']} | {c['batch']} | {ms(r['vmap'])} |"
            f" {ms(r['loop'])} | {r['ratio_loop_over_vmap']:.2f} |"
        )
    return "\n".join(out) + "\n"


def bench_torch_loop(run: dict) -> str:
    out = [
        "| data | variant | epochs (steps) | batches (retain, forget) |"
        " JAX `unlearn` steps/s | PyTorch steps/s | torch threads |"
        " JAX / PyTorch |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows(run, "bench_torch_loop"):
        c = r["case"]
        torch = r.get("torch_steps_per_s")
        out.append(
            f"| {c['data']} | {c.get('variant', '-')} |"
            f" {c.get('epochs', '-')} ({c['steps']}) |"
            f" {c['batch_retain']}, {c['batch_forget']} |"
            f" {r['jax_steps_per_s']:.0f} |"
            + (
                f" {torch:.0f} | {r['torch_threads']} |"
                f" **{r['speedup_vs_torch']:.2f}** |"
                if torch is not None
                else f" {r['torch']} | - | - |"
            )
        )
    return "\n".join(out) + "\n"


def bench_torch_loop_floor(run: dict) -> str:
    r = rows(run, "bench_torch_loop_floor")[0]
    steps = r["case"]["steps"]
    out = [
        "| loop (steps only) | median s | steps/s | PyTorch / this |"
        " CPU time / wall time |",
        "|---|---|---|---|---|",
    ]
    share = r["cpu_over_wall"]
    loops = [("`unlearn`", r["unlearn"], "unlearn", None)]
    for name, t in r["floor"].items():
        loops.append((f"bare compiled loop, {name}", t, f"floor, {name}",
                      r.get("torch_over_floor", {}).get(name)))  # fmt: skip
    for label, t, key, over in loops:
        if over is None and "torch_median_s" in r:
            over = r["torch_median_s"] / t["median_s"]
        out.append(
            f"| {label} | {t['median_s']:.4f} | {steps / t['median_s']:.0f} |"
            f" {'-' if over is None else f'{over:.2f}'} | {share[key]:.2f} |"
        )
    if "torch_median_s" in r:
        k = r["torch_threads"]
        out.append(
            f"| PyTorch, {k} thread(s) | {r['torch_median_s']:.4f} |"
            f" {steps / r['torch_median_s']:.0f} | 1.00 |"
            f" {share[f'torch, {k} thread(s)']:.2f} |"
        )
    return "\n".join(out) + "\n"


def image_cells(data: str) -> str:
    """The atom repair's cells: the ``Y`` ceiling and the learned rules
    (the latest full run of ``bench_image_cells`` on ``data``)."""
    path = RESULTS / "bench_image_cells.jsonl"
    runs = [json.loads(line) for line in path.read_text().splitlines() if line]
    runs = [
        r for r in runs
        if not r.get("quick")
        and any(x["data"] == data for x in rows(r, "image_cells"))
    ]  # fmt: skip
    if not runs:
        raise SystemExit(f"no full bench_image_cells record of {data}")
    run = runs[-1]
    seeds = rows(run, "image_cells")
    by_m: dict[int, list[dict]] = {}
    for s in seeds:
        for r in s["rows"]:
            by_m.setdefault(r["num_atoms"], []).append(r)

    def pm(vals):
        v = [100 * x for x in vals]
        mean = statistics.fmean(v)
        return (
            f"{mean:.1f} ± {statistics.pstdev(v):.1f}"
            if len(v) > 1
            else (f"{mean:.1f}")
        )

    out = [
        "| atoms | training images per atom and group | Y ceiling, any"
        " classifier (test) | Y, atom's training majority | Z, atom's"
        " training majority | Z majority rate |",
        "|---|---|---|---|---|---|",
    ]
    for m, rs in sorted(by_m.items()):
        per = statistics.fmean(r["train_per_atom_per_group"] for r in rs)
        out.append(
            f"| {m} | {per:.1f} | {pm([r['y_ceiling'] for r in rs])} |"
            f" {pm([r['y_atom_rule'] for r in rs])} |"
            f" {pm([r['z_atom_rule'] for r in rs])} |"
            f" {pm([r['z_majority'] for r in rs])} |"
        )
    first = seeds[0]
    out += [
        "",
        f"{first['data']}, seeds {[s['seed'] for s in seeds]};"
        f" {first['rows'][0]['n_train']:,} training and"
        f" {first['rows'][0]['n_test']:,} test images per seed; percent,"
        " mean ± sd over seeds.",
        "",
        provenance(run).strip(),
    ]
    return "\n".join(out) + "\n"


def device(run: dict) -> str:
    r = rows(run, "device")[0]
    sizes = "small" if r["case"]["small"] else "full"
    out = [
        f"Device: {r['device']}; sizes: {sizes}; total {r['total_s']:.0f} s.",
        "",
        "| workload | size | median s | throughput |",
        "|---|---|---|---|",
    ]
    spec = (
        ("barycenter_batch", "problems", "problems_per_s", "problems/s"),
        ("unlearn_many", "requests", "requests_per_s", "requests/s"),
        ("neural_ot", "iterations", "iterations_per_s", "iterations/s"),
        ("tabular_repair", "rows", "rows_per_s", "rows/s"),
    )
    for name, size, rate, unit in spec:
        w = r[name]
        if "error" in w:
            out.append(f"| {name} | - | - | failed: {w['error']} |")
        else:
            out.append(
                f"| {name} | {w[size]} | {w['median_s']:.3g} |"
                f" {w[rate]:.3g} {unit} |"
            )
    return "\n".join(out) + "\n"


def numerics(run: dict) -> str:
    out = [
        "| cond | float64 residual (max) | float32 cov rel. error"
        " (median / max) | float32 push-forward error (median / max) |"
        " converged f64 / f32 |",
        "|---|---|---|---|---|",
    ]
    for r in rows(run, "numerics.float32_vs_float64"):
        out.append(
            f"| {r['cond']:.0e} | {r['res64_max']:.1e} |"
            f" {r['rel32_median']:.1e} / {r['rel32_max']:.1e} |"
            f" {r['push32_median']:.1e} / {r['push32_max']:.1e} |"
            f" {r['converged64']:.0%} / {r['converged32']:.0%} |"
        )
    return "\n".join(out) + "\n"


def _case(run: dict, benchmark: str, prefix: str) -> dict:
    for r in rows(run, benchmark):
        if r["case"].startswith(prefix):
            return r
    raise SystemExit(f"{run['script']}: no {benchmark!r} row {prefix!r}")


def datasets_audit(run: dict) -> str:
    a = _case(run, "bench_datasets", "reference audit")
    c = _case(run, "bench_datasets", "COMPAS")
    pm = lambda m, s: f"{m:.3f} +- {s:.3f}"  # noqa: E731
    return (
        "| data | quantity | measured | reference |\n|---|---|---|---|\n"
        f"| Adult ({a['rows']:,} rows, {a['seeds']} seeds) | AUC of sex |"
        f" {pm(a['auc_sex'], a['auc_sex_std'])} | ~{a['spec']['auc_sex']} |\n"
        f"| Adult | income accuracy |"
        f" {pm(a['income_accuracy'], a['income_accuracy_std'])} |"
        f" ~{a['spec']['income_accuracy']} |\n"
        f"| COMPAS ({c['rows']:,} rows, {c['seeds']} seeds) | AUC of"
        f" race_binary | {pm(c['auc_race'], c['auc_race_std'])} | - |\n"
        f"| COMPAS | two-year recidivism accuracy |"
        f" {pm(c['recid_accuracy'], c['recid_accuracy_std'])} | - |\n"
    )


def datasets_load(run: dict) -> str:
    out = [
        "| loader | ours s | peer | peer s | peer / ours |",
        "|---|---|---|---|---|",
    ]
    for name, prefix in (
        ("`load_adult()`", "load_adult"),
        ("`load_mnist5k()`", "load_mnist5k"),
    ):
        r = _case(run, "bench_datasets", prefix)
        out.append(
            f"| {name} | {r['ours_s']:.2f} | {r['peer']} |"
            f" {r['peer_s']:.2f} | {r['ratio_peer_over_ours']:.2f} |"
        )
    r = _case(run, "bench_datasets", "cold loads")
    out.append(f"| `load_compas()` | {r['load_compas_s']:.2f} | - | - | - |")
    out.append(f"| `load_digits()` | {r['load_digits_s']:.3f} | - | - | - |")
    fm = [x for x in rows(run, "bench_datasets") if "fashion" in x["case"]]
    if fm:
        out.append(
            f"| `load_fashion_mnist()` (train, 60k, one load) |"
            f" {fm[0]['ours_s']:.1f} | - | - | - |"
        )
    return "\n".join(out) + "\n"


def neural_ot_speed(run: dict) -> str:
    r = rows(run, "bench_neural_ot")[0]
    c, t, rolled = r["case"], r["ours"], r["peer_rolled_scan"]
    err = r.get("gaussian_rel_error")
    err = f"{100 * err:.1f}%" if err is not None else "not run"
    return (
        "| quantity | value |\n|---|---|\n"
        f"| images | {c['n']:,} of {c['side']}x{c['side']} |\n"
        f"| outer iteration ({c['config']['k_t']} T-steps + 1 f-step),"
        f" median (IQR), {t['reps']} reps | {t['median_s']:.3f} s"
        f" ({t['iqr_s']:.3f} s) |\n"
        f"| iterations / s | {r['iterations_per_s']:.1f} |\n"
        f"| T-steps / s | {r['t_steps_per_s']:.0f} |\n"
        f"| compile time of the iteration | {t['compile_s']:.1f} s |\n"
        f"| peer: the same iteration, T-steps in a rolled `lax.scan`,"
        f" median (IQR) | {rolled['median_s']:.3f} s"
        f" ({rolled['iqr_s']:.3f} s) |\n"
        f"| rolled scan / ours | **{r['speedup_over_rolled_scan']:.2f}** |\n"
        f"| peer: PCA-Gaussian barycenter fit on the same images (k = 32),"
        f" median | {r['peer_pca_gaussian_fit']['median_s']:.2f} s |\n"
        f"| 2-D Gaussian check: relative error of the learned map vs the"
        f" closed-form Monge map | {err} |\n"
    )


def neural_ot_audit(run: dict) -> str:
    r = rows(run, "bench_neural_ot_audit")[0]
    pct = lambda v: f"{100 * v:.1f}%"  # noqa: E731
    out = [
        "| repair | fit s | Z acc, orig CNN on repaired test (majority"
        " {}) | within 5 points of majority | Z acc, CNN retrained on"
        " repaired | Z acc, CNN cross-validated on repaired test | Y acc"
        " (original {}) | Y within 2 points | distortion |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    first = next(iter(r["rows"].values()))
    out[0] = out[0].format(
        pct(first["z_majority"]), pct(first["y_acc_original"])
    )

    def yes(method: str, k: str) -> str:
        tg = r["targets"].get(method)
        return "-" if tg is None else ("yes" if tg[k] else "no")

    for method, m in r["rows"].items():
        out.append(
            f"| {method} | {m['fit_seconds']:.0f} |"
            f" {pct(m['z_acc_orig_cnn'])} |"
            f" {yes(method, 'z_within_5pts_of_majority')} |"
            f" {pct(m['z_acc_retrained'])} | {pct(m['z_acc_cv'])} |"
            f" {pct(m['y_acc_repaired'])} |"
            f" {yes(method, 'y_within_2pts')} | {m['distortion']:.2f} |"
        )
    ot = r["ot"]
    out.append(
        f"\nNeural OT settings: `prior_components={ot['prior_components']}`,"
        f" learning rates {ot['learning_rate_t']:g} /"
        f" {ot['learning_rate_f']:g},"
        f" {ot['num_iterations']} iterations per map; whole audit"
        f" {r['total_s']:.0f} s."
    )
    return "\n".join(out) + "\n"


def _pm(v: list, digits: int = 3) -> str:
    return f"{v[0]:.{digits}f} ± {v[1]:.{digits}f}"


def feature_strict(run: dict) -> str:
    out = [
        "| data:Z | method | strict AUC(Z) logistic | strict AUC(Z) boosting"
        " | accuracy (drop) | distortion | CPU (s) | target met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows(run, "bench_feature_strict"):
        name = r["method"]
        if r.get("atoms"):
            name += f" (atoms per seed {', '.join(map(str, r['atoms']))})"
        out.append(
            f"| {r['case']} | {name} | {_pm(r['auc_logistic'])} |"
            f" {_pm(r['auc_boosting'])} | {r['accuracy'][0]:.3f}"
            f" ({100 * r['accuracy_drop']:+.1f} pt) |"
            f" {r['distortion'][0]:.2f} | {r['cpu_s']:.1f} |"
            f" {'yes' if r['target_met'] else 'no'} |"
        )
    seeds = rows(run, "bench_feature_strict")[0]["seeds"]
    n = rows(run, "bench_feature_strict")[0]["rows"]
    out.append(
        f"\nMean ± std over {seeds} seeds, {n} rows sampled per seed (fit"
        " on 2/3). Target: both AUCs <= 0.53 and accuracy within 4 points"
        " of no repair."
    )
    return "\n".join(out) + "\n"


def unlearning_land(run: dict) -> str:
    out = [
        "| data | method | epochs run | seconds | retrain s (epochs) |"
        " retrain / method | forget acc (retrain) | test acc (retrain) |"
        " lands |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    label = {
        "gamma_auto": '`gamma="auto"` (default, probe fits included)',
        "gamma_4_5_epochs": "gamma 4, 5 epochs (the paper's recipe)",
    }
    for r in rows(run, "unlearning_time_to_land"):
        c, t, a = r["case"], r["times"], r["accuracy"]
        rt = a["retrain"]
        for m in r["epochs_run"]:
            out.append(
                f"| {c['data']} | {label.get(m, m)} | {r['epochs_run'][m]} |"
                f" {t[m]['median_s']:.3f} | {t['retrain']['median_s']:.3f}"
                f" ({c['original_epochs']}) |"
                f" **{r['retrain_over_method'][m]:.2f}** |"
                f" {a[m]['forget']:.3f} ({rt['forget']:.3f}) |"
                f" {a[m]['test']:.3f} ({rt['test']:.3f}) |"
                f" {'yes' if r['lands'][m] else 'no'} |"
            )
    return "\n".join(out) + "\n"


def unlearning_many(run: dict) -> str:
    variants = (
        ("vmapped", "one call, vmapped"),
        ("groups4", "groups of 4"),
        ("sharded", "sharded over the cores"),
        ("sharded_groups4", "sharded, groups of 4"),
    )
    out = [
        f"| K = 16 requests, 1 epoch | 16 `unlearn` calls s |"
        f" {' | '.join(v[1] + ' s' for v in variants)} | best speed-up |"
        f" arithmetic bound (sequential / matrix-product GFLOP/s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows(run, "unlearning_many_requests"):
        t, sp = r["min_s"], r["speedup_by_variant"]
        cells = [
            f"{t[v]:.3f}: {sp[v]:.2f}x" if v in t else "-" for v, _ in variants
        ]
        out.append(
            f"| {r['case']['data']} | {t['sequential']:.3f} |"
            f" {' | '.join(cells)} | **{r['speedup']:.2f}x** |"
            f" {r['arithmetic_bound']:.1f}x"
            f" ({r['sequential_gflops_per_s']:.0f} /"
            f" {r['gemm_gflops_per_s']:.0f}) |"
        )
    return "\n".join(out) + "\n"


def feature_cputime(run: dict) -> str:
    out = ["| method | rows | CPU (s) | wall (s) |", "|---|---|---|---|"]
    for r in rows(run, "bench_feature_cputime"):
        out.append(
            f"| {r['method']} | {r['rows']:,} | {r['cpu_s']:.1f} |"
            f" {r['wall_s']:.1f} |"
        )
    return "\n".join(out) + "\n"


def feature_validation(run: dict) -> str:
    out = [
        "| data:Z | seed | semidiscrete setting | validation AUC(Z) logistic"
        " / boosting | validation accuracy (drop) |",
        "|---|---|---|---|---|",
    ]
    base = {}
    for r in rows(run, "bench_feature_validation"):
        key = (r["case"], r["seed"])
        if r["setting"] == "no repair":
            base[key] = r["accuracy"]
            out.append(
                f"| {r['case']} | {r['seed']} | no repair | - |"
                f" {r['accuracy']:.3f} |"
            )
            continue
        setting = ", ".join(f"{k}={v}" for k, v in r["setting"].items())
        drop = 100 * (base[key] - r["accuracy"])
        out.append(
            f"| {r['case']} | {r['seed']} | {setting} |"
            f" {r['auc_logistic']:.3f} / {r['auc_boosting']:.3f} |"
            f" {r['accuracy']:.3f} ({drop:+.1f} pt) |"
        )
    return "\n".join(out) + "\n"


def unlearning_loop(run: dict) -> str:
    out = [
        "| data | steps | `lax.scan` loop steps/s | Python loop of the"
        " jitted step steps/s | scan / Python |",
        "|---|---|---|---|---|",
    ]
    for r in rows(run, "unlearning_loop_steps"):
        out.append(
            f"| {r['case']['data']} | {r['case']['steps']} |"
            f" {r['scan_steps_per_s']:.0f} | {r['python_steps_per_s']:.0f} |"
            f" {r['speedup']:.2f} |"
        )
    return "\n".join(out) + "\n"


def _short(run: dict) -> str:
    env = run["env"]
    load = (run.get("loadavg_start") or ["?"])[0]
    return (
        f"`{run['script']}.jsonl` ({run['finished'][:10]}, commit"
        f" `{env['commit']}`, load {load})"
    )


def readme_speed(_: None) -> str:
    """The README's speed summary: one line per benchmark, each from the
    latest record of its script (the provenance of each is listed)."""
    bary = latest("bench_barycenter", "bench_barycenter")
    info = latest("bench_info", "bench_info_ksg")
    torch = latest("bench_torch_loop", "bench_torch_loop")
    unl = latest("bench_unlearning", "unlearning_time_to_land")
    ratios = [
        r["ratio_ott_over_ours_equal"] for r in rows(bary, "bench_barycenter")
    ]
    ksg = {
        r["case"]["n"]: r["speedup_vs_sklearn"]
        for r in rows(info, "bench_info_ksg")
    }
    pmi = [
        r["speedup_vs_numpy"] for r in rows(info, "bench_info_prediction_mi")
    ]
    t = rows(torch, "bench_torch_loop")[0]
    out = [
        "| benchmark | measured | peer |",
        "|---|---|---|",
        f"| Gaussian barycenter, equal accuracy (rel. error <= 1e-9),"
        f" d in {{8, 32, 128}}, k in {{2, 4, 16}} |"
        f" {min(ratios):.1f}-{max(ratios):.1f}x faster | OTT-JAX |",
        "| KSG mutual information, n = "
        + " / ".join(f"{n:.0e}" for n in sorted(ksg) if n >= 1e4)
        + " | "
        + " / ".join(f"{ksg[n]:.1f}x" for n in sorted(ksg) if n >= 1e4)
        + " faster | scikit-learn |",
        f"| `prediction_mi` with its gradient, same dtype |"
        f" {min(pmi):.1f}-{max(pmi):.1f}x faster | NumPy |",
    ]
    if t.get("torch_steps_per_s") is not None:
        by = {
            r["case"].get("variant", "-"): r["speedup_vs_torch"]
            for r in rows(torch, "bench_torch_loop")
        }
        out.append(
            "| unlearning loop, MNIST MLP, batches 64 / 16, zipped-loader"
            " epochs, steps/s | `unlearn` "
            + "; ".join(f"{v} {x:.2f}x" for v, x in by.items())
            + " faster | the authors' loop in PyTorch |"
        )
    for r in rows(unl, "unlearning_time_to_land"):
        c, rt = r["case"], r["retrain_over_method"]
        out.append(
            f'| time to land, {c["data"]}: default `gamma="auto"` /'
            f" gamma 4, 5 epochs | retrain / method {rt['gamma_auto']:.2f} /"
            f" {rt['gamma_4_5_epochs']:.2f} (lands:"
            f" {'yes' if r['lands']['gamma_auto'] else 'no'} /"
            f" {'yes' if r['lands']['gamma_4_5_epochs'] else 'no'}) |"
            f" retraining, {c['original_epochs']} epochs |"
        )
    for r in rows(unl, "unlearning_many_requests"):
        out.append(
            f"| K = 16 requests in one `unlearn_many` call,"
            f" {r['case']['data']} | {r['speedup']:.2f}x (bound"
            f" {r['arithmetic_bound']:.1f}x) | 16 `unlearn` calls |"
        )
    runs = (bary, info, torch, unl)
    return (
        "\n".join(out)
        + "\n\nRecords: "
        + "; ".join(_short(r) for r in runs)
        + ".\n"
    )


def feature_scale(run: dict) -> str:
    r = rows(run, "bench_scale")[0]
    return (
        "| rows | atoms | fit wall / CPU (s) | transform wall / CPU (s) |"
        " total wall (s) | peak RSS (GB) | strict AUC(Z) held-out logistic"
        " / boosting |\n|---|---|---|---|---|---|---|\n"
        f"| {r['rows']:,} | {r['num_atoms']} | {r['fit_wall_s']:.0f} /"
        f" {r['fit_cpu_s']:.0f} | {r['transform_wall_s']:.0f} /"
        f" {r['transform_cpu_s']:.0f} | {r['total_wall_s']:.0f} |"
        f" {r['peak_rss_gb']:.2f} | {r['strict_auc_logistic']:.3f} /"
        f" {r['strict_auc_boosting']:.3f} |\n"
    )


def image_repair_mnist(_: None) -> str:
    """The README's image table: the latest full MNIST-5k summary of
    ``bench_image_repair`` (mean over its seeds)."""
    path = RESULTS / "bench_image_repair.jsonl"
    runs = [json.loads(line) for line in path.read_text().splitlines() if line]
    run = next(
        r
        for r in reversed(runs)
        if not r.get("quick")
        and any(
            x["benchmark"] == "image_repair_summary" and x["data"] == "mnist5k"
            for x in r["rows"]
        )
        and all(  # not a run over another candidate grid
            x.get("variant", "default") == "default"
            for x in rows(r, "image_repair_seed")
        )
    )
    summ = next(
        x for x in rows(run, "image_repair_summary") if x["data"] == "mnist5k"
    )["summary"]
    pct = lambda v: f"{100 * v:.1f}%"  # noqa: E731
    none = summ["none"]["mean"]
    # The strongest auditor: per seed the highest of (a), (b), (c).
    per_seed = [r["rows"] for r in rows(run, "image_repair_seed")
                if r["data"] == "mnist5k"]  # fmt: skip
    strongest = {
        m: sum(
            max(s[m][f] for f in ("z_acc_orig_cnn", "z_acc_retrained",
                                   "z_acc_cv"))
            for s in per_seed
        ) / len(per_seed)
        for m in summ
    }  # fmt: skip
    out = [
        f"| repair | Z read by the strongest auditor (highest of three CNNs"
        f" per seed; majority {pct(none['z_majority'])}) | Z read by a CNN"
        f" retrained on repaired images | Z, CNN cross-validated on the"
        f" repaired test images | digit accuracy (no repair"
        f" {pct(none['y_acc_repaired'])}) | distortion per image |",
        "|---|---|---|---|---|---|",
    ]
    label = {
        "none": "none",
        "pca_gaussian": "PCA-Gaussian barycenter map",
        "latent_semidiscrete": "`latent_semidiscrete` (fixed atoms in a PCA"
        " code space)",
        "neural": "neural OT map",
    }
    order = ["none", "pca_gaussian", "neural", "latent_semidiscrete"]
    for method in sorted(
        summ,
        key=lambda k: (k not in order, order.index(k) if k in order else 0),
    ):
        m = summ[method]
        a = m["mean"]
        params = ", ".join(sorted(set(m.get("params", [])) - {"{}"}))
        name = label.get(method, method) + (f" {params}" if params else "")
        out.append(
            f"| {name} | {pct(strongest[method])} |"
            f" {pct(a['z_acc_retrained'])} | {pct(a['z_acc_cv'])} |"
            f" {pct(a['y_acc_repaired'])} | {a['distortion']:.2f} |"
        )
    seeds = next(
        x for x in rows(run, "image_repair_summary") if x["data"] == "mnist5k"
    )["seeds"]
    out.append(f"\nMean over seeds {seeds}.")
    return "\n".join(out) + "\n" + provenance(run)


# Image audit tables: name -> (data, --num-images, variant) of the runs it
# draws on (variant: "default", or the --num-atoms grid of a longer one).
IMAGE_RUNS = {
    "mnist5k": ("mnist5k", None, "default"),
    "mnist5k-atoms": ("mnist5k", None, "atoms-256-512-1024"),
    "mnist5k-ae": ("mnist5k", None, "methods-ae_semidiscrete"),
    "mnist5k-neural": ("mnist5k", None, "methods-neural"),
    "fashion-3k": ("fashion_mnist", 3000, "default"),
    "fashion-12k": ("fashion_mnist", 12000, "default"),
    "fashion-60k": ("fashion_mnist", None, "default"),
    "fashion-60k-atoms": ("fashion_mnist", None, "atoms-512-1024-2048"),
}
IMAGE_LABEL = {
    "none": "none",
    "pca_gaussian": "PCA-Gaussian",
    "pca_gaussian_decoded": "PCA-Gaussian, decoded code",
    "latent_semidiscrete": "**latent_semidiscrete**",
    "ae_semidiscrete": "ae_semidiscrete (autoencoder codes)",
    "neural": "neural OT",
}
IMAGE_ORDER = ["none", "pca_gaussian", "pca_gaussian_decoded", "neural",
               "latent_semidiscrete", "ae_semidiscrete"]  # fmt: skip


def _image_seeds(which: str) -> dict:
    """seed -> (its row, its run): the latest full ``bench_image_repair``
    record of every seed of one data set and size (seeds may be separate
    runs)."""
    data, num_images, variant = IMAGE_RUNS[which]
    path = RESULTS / "bench_image_repair.jsonl"
    out = {}
    for line in path.read_text().splitlines():
        run = json.loads(line) if line else {}
        if not line or run.get("quick"):
            continue
        for r in rows(run, "image_repair_seed"):
            if (r["data"], r["num_images"]) == (data, num_images) and (
                r.get("variant", "default") == variant
            ):
                out[r["seed"]] = (r, run)
    if not out:
        raise SystemExit(f"no full bench_image_repair record of {which}")
    return dict(sorted(out.items()))


def _image_sources(seeds: dict) -> str:
    runs = {id(run): run for _, run in seeds.values()}.values()
    return "".join(provenance(run) for run in runs)


def _methods(seeds: dict) -> list[str]:
    found = {m for r, _ in seeds.values() for m in r["rows"]}
    return sorted(
        found,
        key=lambda m: (
            m not in IMAGE_ORDER,
            IMAGE_ORDER.index(m) if m in IMAGE_ORDER else 0,
            m,
        ),
    )


def _mean_sd(values: list[float], scale: float = 100.0) -> str:
    v = [scale * x for x in values]
    if len(v) == 1:
        return f"{v[0]:.1f}" if scale == 100.0 else f"{v[0]:.2f}"
    fmt = ".1f" if scale == 100.0 else ".2f"
    return f"{sum(v) / len(v):{fmt}} ± {_std(v):{fmt}}"


def _std(v: list[float]) -> float:
    m = sum(v) / len(v)
    return (sum((x - m) ** 2 for x in v) / len(v)) ** 0.5


def image_audit(which: str) -> str:
    """One data set's image audit on test, mean ± sd over its seeds, with
    the strongest auditor's worst seed against the majority rate."""
    seeds = _image_seeds(which)
    out = [
        "| method | kept on validation | Z majority | Z (a) CNN trained on"
        " originals | Z (b) CNN retrained on repaired | Z (c) CV on repaired"
        " test | strongest auditor, worst seed (points over majority) |"
        " Y accuracy | distortion t = 1 | t = 0.5 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in _methods(seeds):
        got = [r["rows"][m] for r, _ in seeds.values() if m in r["rows"]]
        col = lambda f, got=got: [g[f] for g in got]  # noqa: E731
        worst = max(
            max(g["z_acc_orig_cnn"], g["z_acc_retrained"], g["z_acc_cv"])
            - g["z_majority"]
            for g in got
        )
        kept = ", ".join(sorted({g["params"] for g in got} - {"{}"})).replace(
            '"', ""
        )
        out.append(
            f"| {IMAGE_LABEL.get(m, m)} | {kept} |"
            f" {_mean_sd(col('z_majority'))} |"
            f" {_mean_sd(col('z_acc_orig_cnn'))} |"
            f" {_mean_sd(col('z_acc_retrained'))} |"
            f" {_mean_sd(col('z_acc_cv'))} | {100 * worst:+.1f} |"
            f" {_mean_sd(col('y_acc_repaired'))} |"
            f" {_mean_sd(col('distortion'), 1.0)} |"
            f" {_mean_sd(col('distortion_partial'), 1.0)} |"
        )
    first = next(iter(seeds.values()))[0]
    out.append(
        f"\nSeeds {list(seeds)}; {first['n_test']:,} test images per seed;"
        " accuracies in percent on the test split (mean ± sd over seeds)."
    )
    return "\n".join(out) + "\n" + _image_sources(seeds)


def image_frontier(which: str) -> str:
    """Every candidate setting on the validation split (mean over seeds):
    distortion against auditor (b)'s Z accuracy, and Y."""
    seeds = _image_seeds(which)
    cells: dict = {}
    for r, _ in seeds.values():
        for c in r["candidates"]:
            cells.setdefault((c["method"], c["params"]), []).append(c)
    majority = [r["rows"]["none"]["z_majority"] for r, _ in seeds.values()]
    out = [
        f"| method | setting | Z (b) on validation (test majority"
        f" {100 * sum(majority) / len(majority):.1f}) | Y on validation |"
        " distortion | kept (seeds) |",
        "|---|---|---|---|---|---|",
    ]
    order = _methods(seeds)
    for (m, params), cs in sorted(
        cells.items(),
        key=lambda kv: (order.index(kv[0][0]), json.loads(kv[0][1])
                        .get("num_atoms", json.loads(kv[0][1]).get(
                            "num_components", 0))),
    ):  # fmt: skip
        mean = lambda f, cs=cs: sum(c[f] for c in cs) / len(cs)  # noqa: E731
        out.append(
            f"| {IMAGE_LABEL.get(m, m)} | {params.replace(chr(34), '')} |"
            f" {100 * mean('val_z_acc'):.1f} | {100 * mean('val_y_acc'):.1f} |"
            f" {mean('val_distortion'):.2f} |"
            f" {sum(c['chosen'] for c in cs)}/{len(cs)} |"
        )
    out.append(f"\nSeeds {list(seeds)}; mean over seeds.")
    return "\n".join(out) + "\n" + _image_sources(seeds)


def image_cli(run: dict) -> str:
    """The default image command's wall and CPU time, and its boosting
    auditor on PCA codes beside the same auditor on the raw pixels."""
    r = rows(run, "image_cli_default")[0]
    command = re.sub(r"--out \S+", "--out DIR", r["command"])
    out = [
        "| quantity | value |",
        "|---|---|",
        f"| command | `{command}` |",
        f"| method | {r['method']} |",
        f"| wall time | {r['wall_s']:.0f} s (load average"
        f" {r['loadavg_before'][0]:.1f} before, {r['loadavg_after'][0]:.1f}"
        " after) |",
        f"| CPU time, user + system | {r['cpu_s']:.0f} s |",
        "",
        "| t | strict AUC(Z) logistic, pixels | strict AUC(Z) boosting,"
        " codes | in-sample AUC(Z) boosting, codes | strict AUC(Z)"
        " boosting, pixels | in-sample AUC(Z) boosting, pixels | boosting"
        " CPU s, codes / pixels |",
        "|---|---|---|---|---|---|---|",
    ]
    for b in rows(run, "image_cli_boosting"):
        c, px = b["on_codes"], b["on_pixels"]
        out.append(
            f"| {b['t']:g} | {b['logistic_strict_auc']:.3f} |"
            f" {c['strict_auc']:.3f} | {c['insample_auc']:.3f} |"
            f" {px['strict_auc']:.3f} | {px['insample_auc']:.3f} |"
            f" {c['cpu_s']:.1f} / {px['cpu_s']:.1f} |"
        )
    b = rows(run, "image_cli_boosting")
    if b:
        out.append(
            f"\n{b[0]['codes']} PCA codes of the repaired training images;"
            f" {b[0]['n_train']:,} training and {b[0]['n_test']:,} held-out"
            " images; strict: trained and scored by 5-fold CV on the"
            " repaired held-out images."
        )
    return "\n".join(out) + "\n"


BASELINE_LABELS = {
    "finetune": "fine-tune",
    "neggrad": "NegGrad",
    "neggrad_plus": "NegGrad+",
    "random_labels": "random labels",
    "scrub": "SCRUB",
}


def baseline_runs() -> list[dict]:
    """The latest full ``bench_baselines`` run of every data set, as one
    run per data set in the order the data sets were first recorded."""
    path = RESULTS / "bench_baselines.jsonl"
    if not path.exists():
        raise SystemExit(f"no records for bench_baselines: {path} is missing")
    by_data: dict = {}
    for line in path.read_text().splitlines():
        run = json.loads(line) if line else {}
        if not line or run.get("quick"):
            continue
        for r in rows(run, "baselines_tuned"):
            by_data[r["case"]["data"]] = {**run, "rows": [r]}
    if not by_data:
        raise SystemExit(f"no full record of baselines_tuned in {path}")
    return list(by_data.values())


def _acc_cell(seeds: list, method: str, metric: str) -> str:
    v = [100 * s["accuracy"][method][metric] for s in seeds]
    return f"{sum(v) / len(v):.1f} ± {_std(v):.1f}"


def baselines_tuned(run: dict) -> str:
    r = rows(run, "baselines_tuned")[0]
    c, seeds = r["case"], r["seeds"]
    methods = [
        ("original", "original"),
        ("retrain", "retrain from scratch (the reference)"),
        ("mi", f"MI unlearning, `gamma={json.dumps(c['mi']['gamma'])}`"),
    ]
    for m in c["grids"]:
        name = BASELINE_LABELS.get(m, m)
        methods += [
            (f"{m}_default", f"{name}, library defaults"),
            (f"{m}_tuned", f"**{name}, tuned on validation**"),
        ]
    methods.append(("ssd", "SSD, defaults (no learning rate)"))
    budgets = sorted({s["budget_steps"] for s in seeds})
    out = [
        f"**{c['data']}**: train {c['n_train']:,} / validation"
        f" {c['n_val']:,} / test {c['n_test']:,} rows; seeds"
        f" {', '.join(str(s) for s in c['seeds'])}; original model and"
        f" retraining {c['original_epochs']} epochs; MI capped at"
        f" {c['mi']['epochs']} epochs; tuning budget"
        f" {', '.join(map(str, budgets))} gradient steps per baseline and"
        " seed.\n",
        "| method | retain | forget | test | hits |",
        "|---|---|---|---|---|",
    ]
    for key, label in methods:
        hits = (
            ""
            if key in ("original", "retrain")
            else (f"{sum(s['hits'][key] for s in seeds)}/{len(seeds)}")
        )
        out.append(
            f"| {label} | {_acc_cell(seeds, key, 'retain')} |"
            f" {_acc_cell(seeds, key, 'forget')} |"
            f" {_acc_cell(seeds, key, 'test')} | {hits} |"
        )
    out.append(
        "\nAccuracies in % on the test rows (retain and forget: the"
        " training rows), mean ± std over the seeds."
    )
    return "\n".join(out) + "\n"


def baselines_grid(run: dict) -> str:
    r = rows(run, "baselines_tuned")[0]
    c, seeds = r["case"], r["seeds"]
    out = [
        f"**{c['data']}** (budget per seed:"
        f" {', '.join(sorted({str(s['budget_steps']) for s in seeds}))}"
        " gradient steps)\n",
        "| baseline | learning rates | epochs | chosen per seed: learning"
        " rate, epochs (gradient steps the tuning took) |",
        "|---|---|---|---|",
    ]
    for m, g in c["grids"].items():
        chosen = "; ".join(
            f"seed {s['seed']}: {s['chosen'][m]['learning_rate']:g},"
            f" {s['chosen'][m]['epochs']} ({s['chosen'][m]['steps']})"
            for s in seeds
        )
        out.append(
            f"| {BASELINE_LABELS.get(m, m)} |"
            f" {', '.join(f'{v:g}' for v in g['learning_rate'])} |"
            f" {', '.join(map(str, g['epochs']))} | {chosen} |"
        )
    return "\n".join(out) + "\n"


REPRO = ROOT / "studies" / "reproduce_datapoint" / "results"
# table -> (results file, metrics, paper columns, hits column)
REPRO_TABLES = {
    "repro-mnist": (
        "reproduce_mnist", ("retain", "forget", "test"), True, False,
    ),
    "repro-fashion": (
        "reproduce_fashion", ("retain", "forget", "test"), False, False,
    ),
    "repro-mnist-100ep": (
        "reproduce_mnist_100ep", ("retain", "forget", "test"), False, True,
    ),
    "repro-fashion-full-100ep": (
        "reproduce_fashion_full_100ep", ("retain", "forget", "test"), False,
        True,
    ),
}  # fmt: skip
REPRO_LABELS = {
    "100ep": {
        "mi_auto": '**MI, `gamma="auto"`**',
        "neggrad": "NegGrad",
        "neggrad_plus": "NegGrad+",
        "random_labels": "random labels",
        "scrub": "SCRUB",
        "ssd": "SSD",
    },
}


def _repro_label(name: str, kind: str, config: dict, first_gamma: bool):
    label = REPRO_LABELS.get(kind, {}).get(name)
    if label is not None:
        return label.format(**config)
    if name.startswith("mi_gamma_"):
        g = name.removeprefix("mi_gamma_").replace("_", ".")
        tail = f", {config['unlearn_epochs']} epochs" if first_gamma else ""
        return f"MI, gamma {g}{tail if kind == '100ep' else ''}"
    return name


def reproduction(name: str) -> str:
    """A reproduction table from its saved result (written by
    ``studies/reproduce_datapoint/reproduce_datapoint.py``)."""
    stem, metrics, paper, hits = REPRO_TABLES[name]
    path = REPRO / f"{stem}.json"
    saved = json.loads(path.read_text())
    cfg = saved["config"]
    kind = "100ep" if stem.endswith("100ep") else ""
    head = ["protocol"]
    for m in metrics:
        head += [f"{m} (ours)", "(paper)"] if paper else [m]
    head += ["hits"] if hits else []
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    first = True
    for key, row in saved["rows"].items():
        label = _repro_label(key, kind, cfg, first)
        first = first and not key.startswith("mi_gamma_")
        cells = [label]
        for m in metrics:
            mean, std = row[f"{m}_mean"], row[f"{m}_std"]
            cells.append(f"{mean:.1f} ± {std:.1f}")
            if paper:
                p = row.get(f"{m}_paper")
                cells.append("—" if p is None else f"{p}")
        if hits:
            h = row.get("hits")
            cells.append(
                "" if h is None else f"{round(h * cfg['seeds'])}/{cfg['seeds']}"
            )
        out.append("| " + " | ".join(cells) + " |")
    out.append(
        f"\nGenerated from `{path.relative_to(ROOT)}` ({cfg['seeds']} seeds,"
        f" {saved.get('wall_s', float('nan')):.0f} s wall)."
    )
    return "\n".join(out) + "\n"


GMM_LABELS = {
    "original": "original (trained with x)",
    "retrain": "retrain from scratch (without x)",
    "mi_unlearning": "MI unlearning, plug-in I(Y_hat; Z), gamma {gamma:g},"
    " {unlearn_epochs} epochs",
    "mi_unlearning_direct": "MI unlearning, the authors' direct estimator,"
    " gamma {gamma:g}, {unlearn_epochs} epochs",
    "finetune": "fine-tune on X, {unlearn_epochs} epochs",
    "neggrad": "NegGrad, {unlearn_epochs} steps",
    "neggrad_plus": "NegGrad+ (w = 0.95), {unlearn_epochs} epochs",
    "random_labels": "random labels, {unlearn_epochs} epochs",
    "scrub": "SCRUB, {unlearn_epochs} epochs",
    "ssd": "SSD",
}


def repro_gmm(_: None) -> str:
    """The GMM toy table from its saved result (written by
    ``studies/reproduce_datapoint/reproduce_datapoint.py gmm``)."""
    path = REPRO / "reproduce_gmm.json"
    saved = json.loads(path.read_text())
    cfg = saved["config"]
    out = [
        "| protocol | accuracy on X (ours) | (paper) |"
        " P(y = 0 given x) (ours) | (paper) |"
        " plug-in I(Y_hat; Z) (nats) | direct estimate (nats) |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, row in saved["rows"].items():
        cells = [GMM_LABELS.get(key, key).format(**cfg)]
        for m in ("accuracy", "p_forget"):
            cells.append(f"{row[f'{m}_mean']:.3f} ± {row[f'{m}_std']:.3f}")
            p = row.get(f"{m}_paper")
            cells.append("—" if p is None else f"{p}")
        for m in ("mi", "mi_direct"):
            cells.append(f"{row[f'{m}_mean']:.2e} ± {row[f'{m}_std']:.1e}")
        out.append("| " + " | ".join(cells) + " |")
    out.append(
        f"\nGenerated from `{path.relative_to(ROOT)}` ({cfg['seeds']} seeds,"
        f" {saved.get('wall_s', float('nan')):.0f} s wall)."
    )
    return "\n".join(out) + "\n"


def _default_table(
    run: dict, benchmark: str, label: str = "`AutoGamma.fast()`"
) -> str:
    found = rows(run, benchmark)
    full = all("fast_full_probe" in r.get("presets", {}) for r in found)
    head = (
        "| data | model (original epochs) | seeds |"
        f" retrain vs retrain (floor) | {label} lands |"
        " retrain / preset (median) | epochs run (mean) |"
        " ended at cap short of target |"
    )
    if full:
        head += (
            ' with `probe_solver="full"`: lands | retrain / preset (median) |'
            " ended at cap short of target |"
        )
    out = [head, "|---" * head.count(" |") + "|"]
    for r in found:
        c, per = r["case"], r["per_seed"]
        first, stop = c["seeds"][0], c["seeds"][0] + r["n_seeds"]
        ep = sum(p["epochs_run"] for p in per) / len(per)
        line = (
            f"| {c['data']} | {c['model']} ({c['original_epochs']}) |"
            f" {first}-{stop - 1} | {r['floor_hits']}/{r['n_seeds']} |"
            f" **{r['hits']}/{r['n_seeds']}** |"
            f" {r['median_retrain_over_default']:.1f}x | {ep:.1f} |"
            f" {r['ended_at_cap']} |"
        )
        if full:
            q = r["presets"]["fast_full_probe"]
            line += (
                f" **{q['hits']}/{r['n_seeds']}** |"
                f" {q['median_retrain_over']:.1f}x | {q['ended_at_cap']} |"
            )
        out.append(line)
    return "\n".join(out) + "\n"


def cnn_conv(run: dict) -> str:
    r = rows(run, "bench_cnn_conv")[0]
    t, n = r["times"], r["case"]["steps"]
    out = [
        f"| `CNN(conv=...)` | {n} steps in the training scan s |"
        " the same steps called from Python s |",
        "|---|---|---|",
    ]
    for impl in ("conv", "dot"):
        out.append(
            f"| `{impl!r}` | {t[impl]['scan']['median_s']:.3f} |"
            f" {t[impl]['python_loop']['median_s']:.3f} |"
        )
    ratio = r["scan_conv_over_dot"]
    out.append(f"\nIn the scan, `'conv'` / `'dot'`: **{ratio:.1f}x**.")
    return "\n".join(out) + "\n"


def unlearning_default(run: dict) -> str:
    return _default_table(run, "unlearning_default_seeds")


def unlearning_default_cnn(run: dict) -> str:
    return _default_table(run, "unlearning_default_cnn")


def unlearning_default_autogamma(run: dict) -> str:
    return _default_table(
        run, "unlearning_default_autogamma", "`AutoGamma()` (the default)"
    )


def unlearning_default_general(run: dict) -> str:
    return _default_table(run, "unlearning_default_generalization")


# table name -> (script, the row it needs, renderer)
TABLES: dict[str, tuple[str | None, str | None, Callable]] = {
    "info-prediction-mi": (
        "bench_info", "bench_info_prediction_mi", bench_info_mi,
    ),
    "info-knn": ("bench_info", "bench_info_ksg", bench_info_knn),
    "barycenter": ("bench_barycenter", "bench_barycenter", bench_barycenter),
    "barycenter-batch": (
        "bench_barycenter", "bench_barycenter_batch", bench_barycenter_batch,
    ),
    "torch-loop": ("bench_torch_loop", "bench_torch_loop", bench_torch_loop),
    "torch-loop-floor": (
        "bench_torch_loop", "bench_torch_loop_floor", bench_torch_loop_floor,
    ),
    "device": ("device", "device", device),
    "numerics": ("bench_numerics", "numerics.float32_vs_float64", numerics),
    "datasets-audit": ("bench_datasets", "bench_datasets", datasets_audit),
    "datasets-load": ("bench_datasets", "bench_datasets", datasets_load),
    "neural-ot-speed": ("bench_neural_ot", "bench_neural_ot", neural_ot_speed),
    "neural-ot-audit": (
        "bench_neural_ot", "bench_neural_ot_audit", neural_ot_audit,
    ),
    "unlearning-land": (
        "bench_unlearning", "unlearning_time_to_land", unlearning_land,
    ),
    "unlearning-many": (
        "bench_unlearning", "unlearning_many_requests", unlearning_many,
    ),
    "unlearning-loop": (
        "bench_unlearning", "unlearning_loop_steps", unlearning_loop,
    ),
    "unlearning-default": (
        "bench_default", "unlearning_default_seeds", unlearning_default,
    ),
    "cnn-conv": ("bench_cnn_conv", "bench_cnn_conv", cnn_conv),
    "unlearning-default-cnn": (
        "bench_default", "unlearning_default_cnn", unlearning_default_cnn,
    ),
    "unlearning-default-autogamma": (
        "bench_default", "unlearning_default_autogamma",
        unlearning_default_autogamma,
    ),
    "unlearning-default-general": (
        "bench_default", "unlearning_default_generalization",
        unlearning_default_general,
    ),
    "readme-speed": (None, None, readme_speed),
    "image-repair-mnist": (None, None, image_repair_mnist),
    "image-cli": ("bench_image_cli", "image_cli_default", image_cli),
    "image-cells-mnist5k": (None, None, lambda _: image_cells("mnist5k")),
    "image-cells-fashion": (
        None, None, lambda _: image_cells("fashion_mnist"),
    ),
    **{
        f"image-{kind}-{which}": (
            None, None, lambda _, f=fn, w=which: f(w),
        )
        for which in IMAGE_RUNS
        for kind, fn in (("audit", image_audit),
                         ("frontier", image_frontier))
    },
    "feature-strict": (
        "bench_feature_strict", "bench_feature_strict", feature_strict,
    ),
    "feature-cputime": (
        "bench_feature_strict", "bench_feature_cputime", feature_cputime,
    ),
    "feature-validation": (
        "bench_feature_strict", "bench_feature_validation", feature_validation,
    ),
    "feature-scale": ("bench_scale", "bench_scale", feature_scale),
    "baselines-tuned": ("bench_baselines", "baselines_tuned", baselines_tuned),
    "baselines-grid": ("bench_baselines", "baselines_tuned", baselines_grid),
    "repro-gmm": (None, None, repro_gmm),
}  # fmt: skip


def merged_by_case(script: str, benchmark: str) -> list[dict]:
    """The latest full run of every case (cases may run as separate runs),
    as one run per case in the order the cases were first recorded."""
    path = RESULTS / f"{script}.jsonl"
    runs = [json.loads(line) for line in path.read_text().splitlines() if line]
    by_case: dict = {}
    for run in runs:
        if run.get("quick"):
            continue
        for case in {r["case"] for r in rows(run, benchmark)}:
            by_case[case] = run
    if not by_case:
        raise SystemExit(f"no full record of {benchmark} in {path}")
    return [
        {**run, "rows": [r for r in rows(run, benchmark) if r["case"] == c]}
        for c, run in by_case.items()
    ]


def render(name: str) -> str:
    if name not in TABLES and name not in REPRO_TABLES:
        known = sorted([*TABLES, *REPRO_TABLES])
        raise SystemExit(f"unknown table {name!r}; known: {known}")
    if name == "feature-strict":
        parts = merged_by_case("bench_feature_strict", "bench_feature_strict")
        return "".join(feature_strict(run) + provenance(run) for run in parts)
    if name in REPRO_TABLES:
        return reproduction(name)
    if name in ("baselines-tuned", "baselines-grid"):
        fn = TABLES[name][2]
        return "\n".join(fn(run) + provenance(run) for run in baseline_runs())
    script, needed, fn = TABLES[name]
    if script is None:  # draws on several records, gives its own sources
        return fn(None)
    run = latest(script, needed)
    return fn(run) + provenance(run)


def regenerate(text: str) -> str:
    return MARK.sub(
        lambda m: m.group(1) + render(m.group("name")) + m.group(4), text
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    stale = []
    for path in DOCS:
        text = path.read_text()
        new = regenerate(text)
        if new == text:
            continue
        stale.append(path.relative_to(ROOT))
        if not args.check:
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_text(new)
            os.replace(tmp, path)  # atomic
    if args.check and stale:
        print("stale tables (run benchmarks/make_tables.py):", *stale)
        return 1
    print("rewrote:" if stale else "tables up to date", *stale)
    return 0


if __name__ == "__main__":
    sys.exit(main())
