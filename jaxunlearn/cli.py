"""The ``jaxunlearn`` command: demo, feature, datapoint, reproduce.

A thin layer over ``jaxunlearn.experiments`` (the runs) and
``jaxunlearn.report`` (plots and the Markdown / HTML / JSON report); see
``docs/cli.md`` for every flag, the ``--json`` schema and the CSV / NPZ
conventions. User errors (unknown data set, unreadable or malformed file,
missing column, bad flag values) print one line ``jaxunlearn: error: ...``
and exit with status 2, without a traceback (set ``JAXUNLEARN_DEBUG=1`` to
see one). An interrupted run exits with status 130; rerun it with
``--resume`` to continue from the last finished unit.
"""

import argparse
import io
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(ValueError):
    """A bad command line (reported in one line, exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        raise UsageError(message)


def _json_clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return _json_clean(value.item())
    return value


def _progress(args):
    if args.quiet:
        return None
    from tqdm.auto import tqdm  # noqa: PLC0415

    def factory(total, desc):
        return tqdm(total=total, desc=desc, file=sys.stderr, leave=False)

    return factory


def _say(args, text: str) -> None:
    if not args.quiet and not args.json:
        print(text)


def _common(p: argparse.ArgumentParser, out: str) -> None:
    p.add_argument("--seed", type=int, default=0, help="base seed (0)")
    p.add_argument("--out", default=out, help=f"report folder (default {out})")
    p.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object with the results on stdout",
    )
    p.add_argument(
        "--quiet", action="store_true", help="no progress bars or messages"
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run from OUT/checkpoint.json",
    )


def _datapoint_flags(
    p: argparse.ArgumentParser,
    *,
    epochs: int,
    gamma: str | None = None,
    unlearn_epochs: int | None = None,
) -> None:
    p.add_argument(
        "--gamma",
        default=gamma,
        help="MI weight or 'auto' (the calibrated controller); default "
        + (gamma or "auto"),
    )
    p.add_argument(
        "--epochs",
        type=int,
        default=unlearn_epochs,
        help="MI unlearning epochs (cap under 'auto'); default "
        + (str(unlearn_epochs) if unlearn_epochs else "20, or 5 with --gamma"),
    )
    p.add_argument(
        "--original-epochs",
        type=int,
        default=epochs,
        help=f"epochs of the original and retrained models ({epochs})",
    )
    p.add_argument(
        "--baseline-epochs",
        type=int,
        default=5,
        help="epochs of finetune / neggrad / scrub (5)",
    )
    p.add_argument(
        "--hidden",
        default="128,64",
        help="hidden widths of the MLP (128,64)",
    )
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--learning-rate", type=float, default=1e-3)


def _feature_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--method",
        default="gaussian",
        help="gaussian | quantile | empirical (alias coupling) | neural"
        " (default gaussian)",
    )
    p.add_argument(
        "--neural-iterations",
        type=int,
        default=400,
        help="training iterations of --method neural (400)",
    )
    p.add_argument(
        "--t",
        default="0,0.25,0.5,0.75,1",
        help="repair levels in [0, 1], comma separated or a:b:n",
    )
    p.add_argument(
        "--auditors",
        default="logistic",
        help="Z auditors: logistic and/or boosting (logistic)",
    )
    p.add_argument(
        "--max-rows",
        type=int,
        default=None,
        help="use a random subset of at most this many rows",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``jaxunlearn`` command.

    Returns:
      An ``argparse.ArgumentParser`` whose errors raise :class:`UsageError`.
    """
    parser = _Parser(
        prog="jaxunlearn",
        description="Machine unlearning by information-theoretic"
        " regularization (Xu & Strohmer, arXiv:2502.05684).",
    )
    sub = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser
    )
    p = sub.add_parser(
        "demo",
        help="feature and data-point unlearning on sklearn digits, with a"
        " report",
    )
    _common(p, "reports/demo")
    # The calibrated controller (gamma="auto", at most 20 epochs): on digits
    # it lands within 5 / 1 points of retraining on 10 of 10 seeds
    # (benchmarks/study_controller.py, docs/datapoint.md).
    _datapoint_flags(p, epochs=30, gamma="auto", unlearn_epochs=20)
    _feature_flags(p)
    p.add_argument(
        "--baselines",
        default="retrain,finetune,neggrad",
        help="comma separated: retrain,finetune,neggrad,scrub",
    )

    p = sub.add_parser("feature", help="remove an attribute Z from features")
    _common(p, "reports/feature")
    p.add_argument(
        "--data",
        required=True,
        help="adult | compas | digits | mnist5k | fashion-mnist | csv:PATH"
        " | npz:PATH",
    )
    p.add_argument(
        "--attribute",
        required=True,
        help="Z: sex/race (adult, compas), thickness/ink (digits), a CSV"
        " column or an NPZ array",
    )
    p.add_argument("--target", default=None, help="target column of a CSV")
    _feature_flags(p)

    p = sub.add_parser(
        "datapoint", help="unlearn training rows from a classifier"
    )
    _common(p, "reports/datapoint")
    p.add_argument(
        "--data",
        required=True,
        help="digits | mnist5k | fashion-mnist | npz:PATH",
    )
    p.add_argument(
        "--forget",
        required=True,
        help="class:C:FRACTION (e.g. class:3:0.75) or indices:FILE",
    )
    p.add_argument(
        "--baselines",
        default="retrain,finetune,neggrad",
        help="comma separated: retrain,finetune,neggrad,scrub ('' = none)",
    )
    p.add_argument("--seeds", type=int, default=1, help="number of seeds")
    _datapoint_flags(p, epochs=30)

    p = sub.add_parser(
        "reproduce", help="the paper's tables beside ours"
    )
    p.add_argument("experiment", choices=("gmm", "mnist"))
    _common(p, "reports/reproduce")
    p.add_argument(
        "--seeds", type=int, default=None, help="repetitions (gmm 10, mnist 3)"
    )
    p.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="original / retrain / fine-tune epochs (gmm 100, mnist 20;"
        " the paper: 100)",
    )
    p.add_argument(
        "--size",
        type=int,
        default=None,
        help="gmm: points n (5000); mnist: a subset of MNIST-5k rows",
    )
    p.add_argument(
        "--no-baselines",
        action="store_true",
        help="only original, retrain, fine-tune and MI unlearning",
    )
    return parser


def _ints(text: str, flag: str) -> tuple[int, ...]:
    try:
        vals = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise UsageError(
            f"{flag}: expected comma-separated integers, got {text!r}"
        ) from None
    if not vals or min(vals) < 1:
        raise UsageError(f"{flag}: expected positive integers, got {text!r}")
    return vals


def _names(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def _checkpoint(args, config: dict):
    from jaxunlearn import experiments  # noqa: PLC0415

    return experiments.Checkpoint(
        os.path.join(args.out, "checkpoint.json"), config, resume=args.resume
    )


def _datapoint_config(args, forget, seeds):
    from jaxunlearn import experiments  # noqa: PLC0415

    if args.gamma is None:
        gamma: float | str = "auto"
    elif args.gamma == "auto":
        gamma = "auto"
    else:
        try:
            gamma = float(args.gamma)
        except ValueError:
            raise UsageError(
                f"--gamma: expected a number or 'auto', got {args.gamma!r}"
            ) from None
        if not gamma >= 0 or not math.isfinite(gamma):
            raise UsageError(f"--gamma: expected a number >= 0, got {gamma}")
    epochs = args.epochs or (20 if gamma == "auto" else 5)
    config = experiments.DatapointConfig(
        forget=forget,
        hidden=_ints(args.hidden, "--hidden"),
        original_epochs=args.original_epochs,
        gamma=gamma,
        unlearn_epochs=epochs,
        baselines=_names(args.baselines),
        baseline_epochs=args.baseline_epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seeds=seeds,
        data_seed=args.seed,
    )
    experiments.validate_config(config)
    return config


def _datapoint_json(result: dict) -> dict:
    return {name: dict(m) for name, m in result["summary"].items()}


def _feature_json(result: dict, data, attribute: str) -> dict:
    return {
        "data": data.name,
        "attribute": attribute,
        "groups": list(data.group_names),
        "method": result["method"],
        "levels": [dict(p) for p in result["path"]],
    }


def _write_repaired(args, result: dict, data) -> str:
    import numpy as np  # noqa: PLC0415

    from jaxunlearn import _io  # noqa: PLC0415

    split = result["split"]
    x_hat = result["repaired_test"][-1]
    if args.data.startswith("csv:"):
        import pandas as pd  # noqa: PLC0415

        frame = pd.DataFrame(x_hat, columns=list(data.columns))
        frame.insert(
            0, args.attribute, np.asarray(data.group_names)[split["z_test"]]
        )
        if split["y_test"] is not None:
            frame["y"] = split["y_test"]
        path = os.path.join(args.out, "repaired.csv")
        _io.atomic_write_text(path, frame.to_csv(index=False))
        return path
    arrays = {
        "t": np.asarray(result["ts"]),
        "x_test": split["x_test"],
        "x_test_repaired": result["repaired_test"],
        "z_test": split["z_test"],
    }
    if split["y_test"] is not None:
        arrays["y_test"] = split["y_test"]
    path = os.path.join(args.out, "repaired.npz")
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    _io.atomic_write_bytes(path, buf.getvalue())
    return path


def _cmd_feature(args) -> dict:
    from jaxunlearn import experiments, feature, report  # noqa: PLC0415

    ts = experiments.parse_ts(args.t)
    data = experiments.load_feature_data(
        args.data, args.attribute, target=args.target
    )
    auditors = _names(args.auditors)
    ckpt = _checkpoint(
        args,
        {
            "command": "feature",
            "data": args.data,
            "attribute": args.attribute,
            "method": args.method,
            "t": ts,
            "seed": args.seed,
            "max_rows": args.max_rows,
            "auditors": auditors,
        },
    )
    result = experiments.run_feature(
        data,
        method=args.method,
        ts=ts,
        seed=args.seed,
        max_rows=args.max_rows,
        auditors=auditors,
        checkpoint=ckpt,
        progress=_progress(args),
        neural_iterations=args.neural_iterations,
    )
    sections, metrics = report.feature_sections(result, data, args.out)
    repaired = _write_repaired(args, result, data)
    feature.save(result["repair"], os.path.join(args.out, "repair.npz"))
    report.write_report(
        args.out,
        title=f"Feature unlearning: {data.name}, Z = {args.attribute}",
        sections=sections,
        metrics=metrics,
        intro=f"Repaired held-out rows: {os.path.basename(repaired)};"
        " fitted repair: repair.npz (jaxunlearn.feature.load).",
    )
    _say(
        args,
        report.markdown_table(
            [
                {k: v for k, v in p.items() if k != "mi"} | {"mi": p["mi"]}
                for p in result["path"]
            ]
        ),
    )
    return _feature_json(result, data, args.attribute)


def _plots_available(args) -> bool:
    """Whether to draw figures: matplotlib is installed, not ``--json``.

    A ``--json`` run never imports matplotlib (its report has no figures).
    """
    if args.json:
        return False
    try:
        import matplotlib  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


def _cmd_datapoint(args) -> dict:
    from jaxunlearn import experiments, report  # noqa: PLC0415

    forget = experiments.parse_forget(args.forget)
    if args.seeds < 1:
        raise UsageError(f"--seeds: expected >= 1, got {args.seeds}")
    seeds = tuple(range(args.seed, args.seed + args.seeds))
    config = _datapoint_config(args, forget, seeds)
    data = experiments.load_classification(args.data, seed=args.seed)
    ckpt = _checkpoint(
        args, {"command": "datapoint", "data": args.data, **config._asdict()}
    )
    result = experiments.run_datapoint(
        data, config, checkpoint=ckpt, progress=_progress(args)
    )
    figures = _plots_available(args)
    if not figures and not args.json:
        _say(args, "figures left out: matplotlib is not installed")
    sections, metrics = report.datapoint_sections(
        result, args.out, figures=figures
    )
    report.write_report(
        args.out,
        title=f"Data-point unlearning: {data.name}, forget {args.forget}",
        sections=sections,
        metrics=metrics,
    )
    _say(args, report.markdown_table(_summary_rows(result)))
    return _datapoint_json(result)


def _summary_rows(result: dict) -> list[dict]:
    return [
        {"model": name}
        | {k: m[k] for k in ("retain_acc", "forget_acc", "test_acc", "mi")}
        | {"mia_auc": m["mia_auc"], "seconds": m["seconds"]}
        for name, m in result["summary"].items()
    ]


def _cmd_demo(args) -> dict:
    from jaxunlearn import experiments, report  # noqa: PLC0415

    ts = experiments.parse_ts(args.t)
    seeds = (args.seed,)
    config = _datapoint_config(args, ("class", 3, 0.75), seeds)
    auditors = _names(args.auditors)
    ckpt = _checkpoint(
        args,
        {
            "command": "demo",
            "method": args.method,
            "t": ts,
            "auditors": auditors,
            "max_rows": args.max_rows,
            **config._asdict(),
        },
    )
    progress = _progress(args)
    started = time.perf_counter()
    fdata = experiments.load_feature_data("digits", "thickness")
    fres = experiments.run_feature(
        fdata,
        method=args.method,
        ts=ts,
        seed=args.seed,
        max_rows=args.max_rows,
        auditors=auditors,
        checkpoint=ckpt,
        progress=progress,
    )
    ddata = experiments.load_classification("digits", seed=args.seed)
    dres = experiments.run_datapoint(
        ddata, config, checkpoint=ckpt, progress=progress
    )
    f_sections, f_metrics = report.feature_sections(fres, fdata, args.out)
    d_sections, d_metrics = report.datapoint_sections(dres, args.out)
    elapsed = time.perf_counter() - started
    report.write_report(
        args.out,
        title="jaxunlearn demo: unlearning on scikit-learn digits",
        sections=d_sections + f_sections,
        metrics=d_metrics | f_metrics | {"wall_seconds": elapsed},
        intro="Two unlearning problems on the 1,797 bundled 8x8 digits"
        " (Xu & Strohmer, arXiv:2502.05684). Data-point unlearning: remove"
        " 75% of the training 3s from a trained MLP with MI-regularized"
        " fine-tuning, beside retraining from scratch and two baselines."
        " Feature unlearning: remove an attribute measured from the pixels"
        " (stroke thickness above the class median) from the images by"
        " optimal transport to the Wasserstein barycenter of the groups."
        f" Total wall time {elapsed:.0f} s.",
    )
    _say(args, report.markdown_table(_summary_rows(dres)))
    return {
        "datapoint": _datapoint_json(dres),
        "feature": _feature_json(fres, fdata, "thickness"),
    }


def _cmd_reproduce(args) -> dict:
    import jax  # noqa: PLC0415

    from jaxunlearn import experiments, report  # noqa: PLC0415

    key = jax.random.key(args.seed)
    for flag in ("seeds", "epochs", "size"):
        v = getattr(args, flag)
        if v is not None and v < 1:
            raise UsageError(f"--{flag}: expected >= 1, got {v}")
    if args.resume:
        raise UsageError(
            "--resume: reproduce runs every seed in one vmapped program;"
            " there is nothing to resume"
        )
    bar = _progress(args)
    bar = bar(total=1, desc=f"reproduce {args.experiment}") if bar else None
    if args.experiment == "gmm":
        kw = {
            "seeds": args.seeds or 10,
            "epochs": args.epochs or 100,
            "baselines": not args.no_baselines,
        }
        if args.size:
            kw["n"] = args.size + args.size % 2
        res = experiments.gmm_reproduction(key=key, **kw)
        metrics, scale = ("accuracy", "p_forget"), 1.0
        title = "GMM toy: forget one point (Xu & Strohmer)"
    else:
        e = args.epochs or 20
        res = experiments.mnist_reproduction(
            key=key,
            size=args.size,
            seeds=args.seeds or 3,
            original_epochs=e,
            retrain_epochs=e,
            finetune_epochs=e,
            baselines=not args.no_baselines,
        )
        metrics, scale = ("retain", "forget", "test"), 1.0
        title = "MNIST-5k: forget 75% of the digit 3 (Xu & Strohmer), in %"
    if bar is not None:
        bar.update()
        bar.close()
    table = experiments.format_table(res, metrics=metrics, scale=scale)
    rows = []
    for name, row in res.rows.items():
        r: dict[str, Any] = {"protocol": name}
        for m in metrics:
            r[f"{m} (ours)"] = (row[f"{m}_mean"], row[f"{m}_std"])
            r[f"{m} (paper)"] = row.get(f"{m}_paper")
        rows.append(r)
    report.write_report(
        args.out,
        title=title,
        sections=[
            report.Section(
                "Ours (mean ± std over seeds) beside the authors'",
                "Settings: "
                + ", ".join(f"{k}={v}" for k, v in res.config.items()),
                rows,
            )
        ],
        metrics={"rows": res.rows, "config": res.config},
    )
    _say(args, table)
    return {"rows": res.rows, "config": res.config}


_COMMANDS = {
    "demo": _cmd_demo,
    "feature": _cmd_feature,
    "datapoint": _cmd_datapoint,
    "reproduce": _cmd_reproduce,
}


def _user_errors() -> tuple[type[BaseException], ...]:
    from jaxunlearn.datasets import MissingDataError  # noqa: PLC0415

    return (ValueError, TypeError, OSError, MissingDataError)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line.

    Args:
      argv: arguments without the program name; ``None`` reads ``sys.argv``.

    Returns:
      The exit code: 0 on success, 2 for a user error, 130 when
      interrupted.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = os.environ.get("JAXUNLEARN_DEBUG") == "1"
    try:
        args = build_parser().parse_args(argv)
        os.environ.setdefault("MPLBACKEND", "Agg")
        result = _COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print(
            "jaxunlearn: interrupted; finished units are checkpointed, rerun"
            " with --resume",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except SystemExit as err:  # --help
        return int(err.code or 0)
    except _user_errors() as err:
        if debug:
            raise
        msg = " ".join(str(err).split()) or type(err).__name__
        print(f"jaxunlearn: error: {msg}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        from jaxunlearn.experiments import jsonable  # noqa: PLC0415

        print(json.dumps(_json_clean(jsonable(result)), sort_keys=True))
    else:
        _say(args, f"report: {os.path.join(args.out, 'report.html')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
