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
disagree between BENCHMARKS.md and ``docs/benchmarks/``, and a document
cannot quote a figure that no record holds.
"""

import argparse
import json
import os
import pathlib
import re
import sys
from collections.abc import Callable

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DOCS = [
    ROOT / "BENCHMARKS.md",
    ROOT / "README.md",
    ROOT / "docs" / "feature.md",
    *sorted((ROOT / "docs" / "benchmarks").glob("*.md")),
]
MARK = re.compile(
    r"(<!-- table: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /table -->)",
    re.S,
)


def latest(script: str, benchmark: str | None = None) -> dict:
    """The last full (non-quick) record of ``script`` (with ``benchmark``
    rows when given: one script may write several kinds of run)."""
    path = RESULTS / f"{script}.jsonl"
    if not path.exists():
        raise SystemExit(f"no records for {script}: {path} is missing")
    runs = [json.loads(line) for line in path.read_text().splitlines() if line]
    runs = [r for r in runs if not r.get("quick")]
    if benchmark is not None:
        runs = [r for r in runs if rows(r, benchmark)]
    if not runs:
        raise SystemExit(f"no full (non --quick) record in {path}")
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
        "| data | steps | batches (retain, forget) | JAX steps/s |"
        " PyTorch steps/s | torch threads | JAX / PyTorch |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows(run, "bench_torch_loop"):
        c = r["case"]
        torch = r.get("torch_steps_per_s")
        out.append(
            f"| {c['data']} | {c['steps']} |"
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


def feature_cputime(run: dict) -> str:
    out = ["| method | rows | CPU (s) | wall (s) |", "|---|---|---|---|"]
    for r in rows(run, "bench_feature_cputime"):
        out.append(
            f"| {r['method']} | {r['rows']:,} | {r['cpu_s']:.1f} |"
            f" {r['wall_s']:.1f} |"
        )
    return "\n".join(out) + "\n"


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


TABLES: dict[str, tuple[str, Callable[[dict], str]]] = {
    "info-prediction-mi": ("bench_info", bench_info_mi),
    "info-knn": ("bench_info", bench_info_knn),
    "barycenter": ("bench_barycenter", bench_barycenter),
    "barycenter-batch": ("bench_barycenter", bench_barycenter_batch),
    "torch-loop": ("bench_torch_loop", bench_torch_loop),
    "device": ("device", device),
    "feature-strict": ("bench_feature_strict", feature_strict),
    "feature-cputime": ("bench_feature_strict", feature_cputime),
    "feature-scale": ("bench_scale", feature_scale),
}

# Tables whose script writes several kinds of run: the benchmark to find.
BENCHMARK_OF = {
    "feature-strict": "bench_feature_strict",
    "feature-cputime": "bench_feature_cputime",
}


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
    if name not in TABLES:
        raise SystemExit(f"unknown table {name!r}; known: {sorted(TABLES)}")
    if name == "feature-strict":
        parts = merged_by_case("bench_feature_strict", "bench_feature_strict")
        return "".join(feature_strict(run) + provenance(run) for run in parts)
    script, fn = TABLES[name]
    run = latest(script, BENCHMARK_OF.get(name))
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
