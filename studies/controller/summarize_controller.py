"""Rows of the docs/datapoint.md controller tables from raw result files.

Reads the JSON lines (one per seed) that studies/controller/study_controller.py
prints and prints, per candidate, the table row (means ± std over seeds of
forget / test accuracy and their gaps to retraining, "forget ok" = within 5
points, "test ok" = at most 1 point below, "hits" = both), the gap on the
scored test rows of the forgotten class, and the mean wall time.

  python studies/controller/summarize_controller.py \
      studies/controller/results/controller_mnist5k_10seeds_s3.txt
"""

import argparse
import json

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    for path in args.files:
        # A file may hold several runs: merge the candidates per seed.
        merged = {}
        with open(path) as fh:
            for ln in fh:
                if ln.startswith("{"):
                    r = json.loads(ln)
                    merged.setdefault(r["seed"], {}).update(r)
        rows = [merged[k] for k in sorted(merged)]
        seeds = [r["seed"] for r in rows]
        print(f"{path}: seeds {min(seeds)}-{max(seeds)} ({len(rows)})")
        names = [
            k
            for k in rows[0]
            if k not in ("seed", "ref", "original", "retrain")
        ]
        fr = np.array([r["retrain"]["forget"] for r in rows])
        tr = np.array([r["retrain"]["test"] for r in rows])
        cr = np.array([r["retrain"]["test_cls"] for r in rows])
        for n in names:
            f = np.array([r[n]["forget"] for r in rows])
            t = np.array([r[n]["test"] for r in rows])
            c = np.array([r[n]["test_cls"] for r in rows])
            tm = np.array([r[n]["time_s"] for r in rows])
            df, dt = f - fr, t - tr
            fok, tok = np.abs(df) <= 0.05, dt >= -0.01
            k = len(f)
            cells = [
                f"{f.mean():.3f} ± {f.std():.3f}",
                f"{t.mean():.3f} ± {t.std():.3f}",
                f"{df.mean():+.3f} ± {df.std():.3f}",
                f"{dt.mean():+.3f} ± {dt.std():.3f}",
                f"{int(fok.sum())}/{k}",
                f"{int(tok.sum())}/{k}",
                f"{int((fok & tok).sum())}/{k}",
            ]
            dc = c - cr
            print(
                f"| {n} | " + " | ".join(cells) + " |"
                f"  class rows {100 * dc.mean():+.1f} ± {100 * dc.std():.1f}"
                f" pts, time {tm.mean():.1f} s"
            )


if __name__ == "__main__":
    main()
