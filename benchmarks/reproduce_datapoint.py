"""Runs the data-point reproductions (GMM toy, MNIST protocol) and prints
Markdown tables; results are also written as JSON next to this script.

    PYTHONPATH=. python benchmarks/reproduce_datapoint.py gmm --seeds 100
    PYTHONPATH=. python benchmarks/reproduce_datapoint.py mnist --seeds 3 \
        --original-epochs 20 --retrain-epochs 20 --finetune-epochs 20
"""

import argparse
import json
import pathlib
import time

import jax

from jaxunlearn.experiments import (
    format_table,
    gmm_reproduction,
    mnist_reproduction,
)

HERE = pathlib.Path(__file__).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("which", choices=["gmm", "mnist", "fashion"])
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--n", type=int, default=5000, help="GMM points")
    parser.add_argument("--size", type=int, default=None, help="image rows")
    parser.add_argument("--original-epochs", type=int, default=100)
    parser.add_argument("--retrain-epochs", type=int, default=100)
    parser.add_argument("--finetune-epochs", type=int, default=100)
    parser.add_argument("--unlearn-epochs", type=int, default=5)
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    key = jax.random.key(args.seed)
    t0 = time.perf_counter()
    if args.which == "gmm":
        res = gmm_reproduction(
            key=key,
            n=args.n,
            seeds=args.seeds or 100,
            baselines=not args.no_baselines,
        )
        table = format_table(res, metrics=("accuracy", "p_forget"))
    else:
        res = mnist_reproduction(
            key=key,
            dataset="mnist5k" if args.which == "mnist" else "fashion",
            size=args.size,
            seeds=args.seeds or 10,
            original_epochs=args.original_epochs,
            retrain_epochs=args.retrain_epochs,
            finetune_epochs=args.finetune_epochs,
            unlearn_epochs=args.unlearn_epochs,
            baselines=not args.no_baselines,
        )
        table = format_table(res, metrics=("retain", "forget", "test"))
    wall = time.perf_counter() - t0
    print(table)
    print(json.dumps(res.config))
    for name, row in res.rows.items():
        if "claim_forget_within_5" in row:
            print(
                f"{name}: forget within 5 pts of retrain in"
                f" {100 * row['claim_forget_within_5']:.0f}% of seeds, test"
                f" within 1 pt in {100 * row['claim_test_within_1']:.0f}%"
            )
    print(f"wall time {wall:.1f} s on {jax.devices()[0].device_kind}")
    out = HERE / "results" / f"reproduce_{args.which}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "rows": res.rows,
                "curves": res.curves,
                "config": res.config,
                "wall_s": wall,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
