"""The U-LiRA-style attack on pure noise: its AUC under the null.

Both populations are the same per-example Gaussians (example means spread
with standard deviation 3, unit noise), 16 shadow pairs by 14 examples, as
in the digits study. Prints the mean and standard deviation over 150 draws
of the pooled and the mean per-example AUC, for 2, 4 and 16 folds.

Usage::

    python studies/ulira/null_noise.py
"""

import json
import sys

import jax
import numpy as np

from jaxunlearn.audit import ulira_attack


def main() -> None:
    """Prints one JSON line per fold count."""
    for folds in (2, 4, 16):
        pooled, per = [], []
        for i in range(150):
            k1, k2, k3 = jax.random.split(jax.random.key(i), 3)
            centre = 3 * jax.random.normal(k3, (1, 14))
            out = ulira_attack(
                centre + jax.random.normal(k1, (16, 14)),
                centre + jax.random.normal(k2, (16, 14)),
                folds=folds,
            )
            pooled.append(float(out.auc))
            per.append(float(out.per_example_auc.mean()))
        row = {
            "folds": folds,
            "auc_mean": round(float(np.mean(pooled)), 3),
            "auc_std": round(float(np.std(pooled)), 3),
            "per_example_auc_mean": round(float(np.mean(per)), 3),
            "per_example_auc_std": round(float(np.std(per)), 3),
        }
        sys.stdout.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
