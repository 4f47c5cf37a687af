"""The commands: ``feature``, ``datapoint``, ``demo`` (both) and ``reproduce``.

``feature`` and ``datapoint`` are each a *part* (run, then turn the result
into report sections) plus their own report; ``demo`` runs both parts on
digits and writes one report.
"""

import os
import sys
import time
import warnings
from typing import Any, NamedTuple

from jaxunlearn.cli import _output
from jaxunlearn.cli._parser import UsageError
from jaxunlearn.cli._specs import (
    ints,
    names,
    parse_forget,
    parse_gamma,
    parse_ts,
)


class Part(NamedTuple):
    """One finished run with its report sections and metrics.

    Attributes:
      result: the run's result (``experiments.run_feature`` /
        ``run_datapoint``).
      data: the data it ran on.
      sections: report sections.
      metrics: entries of ``metrics.json``.
    """

    result: dict
    data: Any
    sections: list
    metrics: dict


def _checkpoint(args, config: dict):
    from jaxunlearn import experiments  # noqa: PLC0415

    return experiments.Checkpoint(
        os.path.join(args.out, "checkpoint.json"), config, resume=args.resume
    )


def _feature_settings(args, data=None) -> dict:
    method = args.method
    if method is None:  # the strict audit's best on tables; images keep theirs
        from jaxunlearn import experiments  # noqa: PLC0415

        method = (
            "gaussian" if data is None else experiments.default_method(data)
        )
    return {
        "method": method,
        "t": parse_ts(args.t),
        "max_rows": args.max_rows,
        "auditors": names(args.auditors),
    }


def _datapoint_config(args, forget: tuple, seeds: tuple[int, ...]):
    from jaxunlearn import experiments  # noqa: PLC0415

    gamma = parse_gamma(args.gamma)
    config = experiments.DatapointConfig(
        forget=forget,
        hidden=ints(args.hidden, "--hidden"),
        original_epochs=args.original_epochs,
        gamma=gamma,
        unlearn_epochs=args.epochs or (20 if gamma == "auto" else 5),
        baselines=names(args.baselines),
        baseline_epochs=args.baseline_epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seeds=seeds,
        data_seed=args.seed,
    )
    experiments.validate_config(config)
    return config


def feature_part(args, data, settings: dict, ckpt, progress) -> Part:
    """Runs feature unlearning and builds its report sections.

    Args:
      args: the parsed command line.
      data: the loaded ``FeatureData``.
      settings: :func:`_feature_settings` of ``args``.
      ckpt: the run's checkpoint.
      progress: a progress-bar factory or ``None``.

    Returns:
      The finished :class:`Part`.
    """
    from jaxunlearn import experiments, report  # noqa: PLC0415

    # A method that warns (a near-singular covariance, a neural map that did
    # not converge) is told to the user in one line and in the report, not
    # raised: the run still finishes and its audit shows the consequence.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        result = experiments.run_feature(
            data,
            method=settings["method"],
            ts=settings["t"],
            seed=args.seed,
            max_rows=settings["max_rows"],
            auditors=settings["auditors"],
            checkpoint=ckpt,
            progress=progress,
            neural_iterations=args.neural_iterations,
        )
    notes = []
    for w in caught:
        if issubclass(w.category, RuntimeWarning):
            if str(w.message) not in notes:
                notes.append(str(w.message))
        else:  # not ours to swallow
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    sections, metrics = report.feature_sections(result, data, args.out)
    if notes and sections:
        text = "\n\n".join(f"**Note:** {n}" for n in notes)
        sections[0] = sections[0]._replace(
            text=sections[0].text + "\n\n" + text
        )
    metrics = (
        {**metrics, "warnings": notes} if isinstance(metrics, dict) else metrics
    )
    return Part(result, data, sections, metrics)


def datapoint_part(args, data, config, ckpt, progress, *, figures) -> Part:
    """Runs data-point unlearning and builds its report sections.

    Writes every model's parameters to ``OUT/models/seed-S/NAME.npz``
    (``jaxunlearn.experiments.load_model``) and the rows used to
    ``OUT/split.npz``.

    Args:
      args: the parsed command line.
      data: the loaded ``ClassificationData``.
      config: the run's ``experiments.DatapointConfig``.
      ckpt: the run's checkpoint.
      progress: a progress-bar factory or ``None``.
      figures: draw the figures (needs matplotlib).

    Returns:
      The finished :class:`Part`.
    """
    from jaxunlearn import experiments, report  # noqa: PLC0415

    result = experiments.run_datapoint(
        data,
        config,
        checkpoint=ckpt,
        progress=progress,
        model_dir=os.path.join(args.out, "models"),
    )
    _output.write_split(args.out, data, result)
    sections, metrics = report.datapoint_sections(
        result, args.out, figures=figures
    )
    note = _cap_note(result, config)
    if note:  # one line on screen and in the report
        print(f"note: {note}", file=sys.stderr)
        sections[0] = sections[0]._replace(
            text=sections[0].text + f"\n\n**Note:** {note}"
        )
    return Part(result, data, sections, metrics)


def _cap_note(result, config) -> str:
    """The line for runs that ended at their epoch cap short of the target."""
    missed = [
        u.seed
        for u in result.units
        if u.models["unlearned"].get("target_reached", 1.0) < 0.5
    ]
    if not missed:
        return ""
    return (
        f"MI unlearning ended at its cap of {config.unlearn_epochs} epochs"
        f" without reaching its target on {len(missed)} of"
        f" {len(result.units)} seed(s) ({', '.join(map(str, missed))}):"
        " compare its forget accuracy with the retrained model's, or raise"
        " --epochs"
    )


def cmd_feature(args) -> dict:
    """``jaxunlearn feature``: repair, audit, write the repaired rows.

    Args:
      args: the parsed command line.

    Returns:
      The ``--json`` object.
    """
    from jaxunlearn import experiments, feature, report  # noqa: PLC0415

    if args.action == "apply":
        return cmd_feature_apply(args)
    if args.repair is not None:
        raise UsageError("--repair: only with 'jaxunlearn feature apply'")
    data = experiments.load_feature_data(
        args.data, args.attribute, target=args.target
    )
    settings = _feature_settings(args, data)
    level = _output_level(args, settings["t"])
    if data.table is not None:
        _output.check_table_columns(data.table)
    ckpt = _checkpoint(
        args,
        {
            "command": "feature",
            "data": args.data,
            "attribute": args.attribute,
            "method": settings["method"],
            "t": settings["t"],
            "seed": args.seed,
            "max_rows": args.max_rows,
            "auditors": settings["auditors"],
        },
    )
    part = feature_part(args, data, settings, ckpt, _output.progress(args))
    if part.result.tables is not None:
        repaired = _output.write_repaired_table(
            args.out, part.result, data, level, args.seed
        )
        intro = (
            f"Every row, repaired at t = {level:g}: repaired.csv (columns"
            " row and split first); fitted repair: repair.npz (jaxunlearn"
            " feature apply, jaxunlearn.feature.load)."
        )
    else:
        repaired = _output.write_repaired(
            args.out, part.result, data, args.attribute
        )
        intro = (
            f"Repaired rows of both splits: {os.path.basename(repaired)};"
            " fitted repair: repair.npz (jaxunlearn.feature.load)."
        )
    feature.save(part.result.repair, os.path.join(args.out, "repair.npz"))
    report.write_report(
        args.out,
        title=f"Feature unlearning: {data.name}, Z = {args.attribute}",
        sections=part.sections,
        metrics=part.metrics,
        intro=intro,
    )
    _output.say(args, report.markdown_table(_output.feature_rows(part.result)))
    return _output.feature_json(part.result, data, args.attribute)


def _output_level(args, ts) -> float:
    """The level of repaired.csv: ``--repaired-t``, else the largest."""
    if args.repaired_t is None:
        return max(ts)
    if args.repaired_t not in ts:
        raise UsageError(
            f"--repaired-t: expected one of the levels --t {list(ts)}, got"
            f" {args.repaired_t}"
        )
    return args.repaired_t


def cmd_feature_apply(args) -> dict:
    """``jaxunlearn feature apply``: repair a CSV file with a saved repair.

    Args:
      args: the parsed command line.

    Returns:
      The ``--json`` object: rows, level, method, output path.
    """
    import jax  # noqa: PLC0415

    from jaxunlearn import _io, feature  # noqa: PLC0415

    if args.repair is None:
        raise UsageError("--repair: expected the repair.npz to apply")
    if not args.data.startswith("csv:") or len(args.data) == 4:
        raise UsageError(f"--data: expected csv:PATH, got {args.data!r}")
    t = 1.0 if args.repaired_t is None else args.repaired_t
    if not 0.0 <= t <= 1.0:
        raise UsageError(f"--repaired-t: expected a level in [0, 1], got {t}")
    repair = feature.load(args.repair)
    if repair.frame is None or repair.labels is None:
        raise ValueError(
            f"repair: {args.repair!r} was not fitted on a table; apply needs"
            " the repair.npz of a tabular run (adult, compas, csv:PATH)"
        )
    table = _read_table(args.data[4:], args.attribute, repair.frame.columns)
    _output.check_table_columns(table)
    cols = list(repair.frame.columns)
    features = table[cols].copy()
    for col, kind in zip(cols, repair.frame.spec.kinds, strict=True):
        if kind == "categorical":  # labels as read by the run: text
            features[col] = features[col].astype(str)
    z = table[args.attribute].astype(str).to_numpy(dtype=object)
    try:
        repaired = feature.transform(
            repair, features, z, t=t, key=jax.random.key(args.seed)
        )
    except ValueError as err:  # name the flag of the offending input
        msg = str(err)
        if msg.startswith("z:"):
            msg = f"attribute: column {args.attribute!r}:" + msg[2:]
        elif msg.startswith("x["):  # x['job']: categories ... not seen
            msg = f"spec: column {msg[2:]}"
        raise ValueError(msg) from err
    frame = _output.repaired_table(table, repaired)
    path = args.out
    if not path.endswith(".csv"):
        os.makedirs(path, exist_ok=True)
        path = os.path.join(path, "repaired.csv")
    _io.atomic_write_text(path, frame.to_csv(index=False))
    _output.say(args, f"repaired {len(frame)} rows at t = {t:g}: {path}")
    return {"rows": len(frame), "t": t, "method": repair.method, "out": path}


def _read_table(path: str, attribute: str, columns):
    import pandas as pd  # noqa: PLC0415

    if not os.path.isfile(path):
        raise ValueError(f"spec: no such file {path!r}")
    try:
        table = pd.read_csv(path)
    except Exception as err:  # noqa: BLE001 - pandas raises many kinds
        raise ValueError(
            f"spec: cannot parse {path!r} as CSV ({type(err).__name__})"
        ) from err
    if attribute not in table.columns:
        raise ValueError(
            f"attribute: column {attribute!r} is not in {path!r}; columns"
            f" are {list(table.columns)[:20]}"
        )
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(
            f"spec: {path!r} lacks the repaired columns {missing[:10]}"
        )
    return table


def cmd_datapoint(args) -> dict:
    """``jaxunlearn datapoint``: original, MI unlearning and baselines.

    Args:
      args: the parsed command line.

    Returns:
      The ``--json`` object.
    """
    from jaxunlearn import experiments, report  # noqa: PLC0415

    forget = parse_forget(args.forget)
    if args.seeds < 1:
        raise UsageError(f"--seeds: expected >= 1, got {args.seeds}")
    seeds = tuple(range(args.seed, args.seed + args.seeds))
    config = _datapoint_config(args, forget, seeds)
    data = experiments.load_classification(args.data, seed=args.seed)
    ckpt = _checkpoint(
        args, {"command": "datapoint", "data": args.data, **config._asdict()}
    )
    figures = _output.plots_available(args)
    part = datapoint_part(
        args, data, config, ckpt, _output.progress(args), figures=figures
    )
    if not figures:
        _output.say(args, "figures left out: matplotlib is not installed")
    report.write_report(
        args.out,
        title=f"Data-point unlearning: {data.name}, forget {args.forget}",
        sections=part.sections,
        metrics=part.metrics,
        intro=_SAVED,
    )
    _output.say(args, report.markdown_table(_output.summary_rows(part.result)))
    return _output.datapoint_json(part.result)


_SAVED = (
    "Parameters of every model: models/seed-S/NAME.npz (load with"
    " jaxunlearn.experiments.load_model); the rows used: split.npz."
)

_DEMO_INTRO = (
    "Two unlearning problems on the 1,797 bundled 8x8 digits"
    " (Xu & Strohmer, arXiv:2502.05684). Data-point unlearning: remove"
    " 75% of the training 3s from a trained MLP with MI-regularized"
    " fine-tuning, beside retraining from scratch and two baselines."
    " Feature unlearning: remove an attribute measured from the pixels"
    " (stroke thickness above the class median) from the images by"
    " optimal transport to the Wasserstein barycenter of the groups."
)


def cmd_demo(args) -> dict:
    """``jaxunlearn demo``: the ``feature`` and ``datapoint`` parts on digits.

    Args:
      args: the parsed command line.

    Returns:
      ``{"datapoint": ..., "feature": ...}``, each its command's object.
    """
    from jaxunlearn import experiments, report  # noqa: PLC0415

    settings = _feature_settings(args)
    settings["method"] = settings["method"] or "gaussian"
    config = _datapoint_config(args, ("class", 3, 0.75), (args.seed,))
    ckpt = _checkpoint(
        args, {"command": "demo", **settings, **config._asdict()}
    )
    progress = _output.progress(args)
    started = time.perf_counter()
    fpart = feature_part(
        args,
        experiments.load_feature_data("digits", "thickness"),
        settings,
        ckpt,
        progress,
    )
    dpart = datapoint_part(
        args,
        experiments.load_classification("digits", seed=args.seed),
        config,
        ckpt,
        progress,
        figures=_output.matplotlib_installed(),
    )
    elapsed = time.perf_counter() - started
    report.write_report(
        args.out,
        title="jaxunlearn demo: unlearning on scikit-learn digits",
        sections=dpart.sections + fpart.sections,
        metrics=dpart.metrics | fpart.metrics | {"wall_seconds": elapsed},
        intro=f"{_DEMO_INTRO} Total wall time {elapsed:.0f} s. {_SAVED}",
    )
    _output.say(args, report.markdown_table(_output.summary_rows(dpart.result)))
    return {
        "datapoint": _output.datapoint_json(dpart.result),
        "feature": _output.feature_json(fpart.result, fpart.data, "thickness"),
    }


def _reproduction(args, key):
    from jaxunlearn import experiments  # noqa: PLC0415

    if args.experiment == "gmm":
        kw = {
            "seeds": args.seeds or 10,
            "epochs": args.epochs or 100,
            "baselines": not args.no_baselines,
        }
        if args.size:
            kw["n"] = args.size + args.size % 2
        res = experiments.gmm_reproduction(key=key, **kw)
        return (
            res,
            ("accuracy", "p_forget", "mi", "mi_direct"),
            ("GMM toy: forget one point (Xu & Strohmer)"),
        )
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
    return (
        res,
        ("retain", "forget", "test"),
        ("MNIST-5k: forget 75% of the digit 3 (Xu & Strohmer), in %"),
    )


def cmd_reproduce(args) -> dict:
    """``jaxunlearn reproduce {gmm,mnist}``: the paper's tables beside ours.

    Args:
      args: the parsed command line.

    Returns:
      ``{"rows": protocol -> figures, "config": settings}``.
    """
    import jax  # noqa: PLC0415

    from jaxunlearn import experiments, report  # noqa: PLC0415

    for flag in ("seeds", "epochs", "size"):
        v = getattr(args, flag)
        if v is not None and v < 1:
            raise UsageError(f"--{flag}: expected >= 1, got {v}")
    if args.resume:
        raise UsageError(
            "--resume: reproduce runs every seed in one vmapped program;"
            " there is nothing to resume"
        )
    bar = _output.progress(args)
    bar = bar(total=1, desc=f"reproduce {args.experiment}") if bar else None
    res, metrics, title = _reproduction(args, jax.random.key(args.seed))
    if bar is not None:
        bar.update()
        bar.close()
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
    _output.say(args, experiments.format_table(res, metrics=metrics, scale=1.0))
    return {"rows": res.rows, "config": res.config}


COMMANDS = {
    "demo": cmd_demo,
    "feature": cmd_feature,
    "datapoint": cmd_datapoint,
    "reproduce": cmd_reproduce,
}
