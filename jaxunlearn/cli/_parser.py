"""The argument parser of the ``jaxunlearn`` command (flags and help)."""

import argparse
import textwrap

_EPILOG = (
    "Run 'jaxunlearn COMMAND --help' for a command's flags; docs/cli.md"
    " describes every flag, the --json schema and the output folder. A bad"
    " command line prints one 'jaxunlearn: error:' line and exits with"
    " status 2; an interrupted run exits with 130 (rerun with --resume)."
)


class UsageError(ValueError):
    """A bad command line (reported in one line, exit status 2)."""


class _Formatter(argparse.HelpFormatter):
    # Appends "(default: X)" to a flag's help when X says something.
    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if (
            action.option_strings
            and default is not None
            and default is not False
            and default is not argparse.SUPPRESS
            and "default" not in text
        ):
            text += " (default: %(default)s)"
        return text

    # Wraps at spaces only: "fashion-mnist[:DIR]" stays on one line.
    def _split_lines(self, text, width):
        text = self._whitespace_matcher.sub(" ", text).strip()
        return textwrap.wrap(text, width, break_on_hyphens=False)


def _wide(prog):
    return _Formatter(prog, max_help_position=30)


def _top(prog):
    # The command list: argparse sizes its column on the flags alone.
    formatter = _Formatter(prog, max_help_position=30)
    formatter._action_max_length = 14
    return formatter


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        raise UsageError(message)


def _sub(sub, name: str, help_text: str, description: str) -> _Parser:
    return sub.add_parser(
        name,
        help=help_text,
        description=description,
        formatter_class=_wide,
    )


def _common(p: argparse.ArgumentParser, out: str) -> None:
    g = p.add_argument_group("common flags")
    g.add_argument("--seed", metavar="N", type=int, default=0, help="base seed")
    g.add_argument("--out", metavar="DIR", default=out, help="report folder")
    g.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object with the results on stdout (no bars)",
    )
    g.add_argument(
        "--quiet", action="store_true", help="no progress bars or messages"
    )
    g.add_argument(
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
):
    g = p.add_argument_group("data-point unlearning")
    g.add_argument(
        "--gamma",
        metavar="G|auto",
        default=gamma,
        help="MI weight, or 'auto' (the calibrated controller; the default"
        " when not given)",
    )
    g.add_argument(
        "--epochs",
        metavar="N",
        type=int,
        default=unlearn_epochs,
        help="MI unlearning epochs (the cap under 'auto')"
        + (
            ""
            if unlearn_epochs
            else "; when not given: 20 under 'auto', 5 with a fixed --gamma"
        ),
    )
    g.add_argument(
        "--original-epochs",
        metavar="N",
        type=int,
        default=epochs,
        help="epochs of the original and of the retrained model",
    )
    g.add_argument(
        "--baseline-epochs",
        metavar="N",
        type=int,
        default=5,
        help="epochs of finetune, neggrad and scrub",
    )
    g.add_argument(
        "--hidden",
        metavar="W1,W2,...",
        default="128,64",
        help="hidden widths of the MLP",
    )
    g.add_argument(
        "--batch-size",
        metavar="N",
        type=int,
        default=64,
        help="retain rows per step",
    )
    g.add_argument(
        "--learning-rate",
        metavar="LR",
        type=float,
        default=1e-3,
        help="Adam's step size",
    )
    return g


def _feature_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("feature unlearning")
    g.add_argument(
        "--method",
        metavar="NAME",
        default=None,
        help="gaussian | quantile | empirical (alias coupling) | semidiscrete"
        " (fixed barycenter atoms: passes the strict audit on new rows, at a"
        " cost in accuracy) | latent_semidiscrete (the same in a PCA code"
        " space, each atom an image) | neural; default semidiscrete on"
        " tables, latent_semidiscrete on images (gaussian in the demo)",
    )
    g.add_argument(
        "--neural-iterations",
        metavar="N",
        type=int,
        default=400,
        help="training iterations of --method neural",
    )
    g.add_argument(
        "--t",
        metavar="LEVELS",
        default="0,0.25,0.5,0.75,1",
        help="repair levels in [0, 1], comma separated or a:b:n",
    )
    g.add_argument(
        "--auditors",
        metavar="NAMES",
        default="logistic,boosting",
        help="Z auditors, each trained and scored by 5-fold CV on repaired"
        " held-out rows (the strict audit): logistic and/or boosting",
    )
    g.add_argument(
        "--max-rows",
        metavar="N",
        type=int,
        default=None,
        help="use a random subset of at most this many rows (all when not"
        " given)",
    )


def _add_demo(sub) -> None:
    p = _sub(
        sub,
        "demo",
        "feature and data-point unlearning on scikit-learn digits, with a"
        " report",
        "Runs the 'datapoint' command (forget 75% of the training 3s) and"
        " the 'feature' command (Z = stroke thickness) on the bundled"
        " digits and writes one report.",
    )
    _common(p, "reports/demo")
    # The calibrated controller (gamma="auto", at most 20 epochs): on digits
    # it lands within 5 / 1 points of retraining on 10 of 10 seeds
    # (studies/controller, docs/datapoint.md).
    g = _datapoint_flags(p, epochs=30, gamma="auto", unlearn_epochs=20)
    g.add_argument(
        "--baselines",
        metavar="NAMES",
        default="retrain,finetune,neggrad",
        help="comma separated: retrain, finetune, neggrad, scrub",
    )
    _feature_flags(p)


def _add_feature(sub) -> None:
    p = _sub(
        sub,
        "feature",
        "remove an attribute Z from features",
        "Fits an optimal-transport repair that removes the attribute Z from"
        " the features, applies it at every repair level t and audits how"
        " much of Z is left.",
    )
    p.add_argument(
        "action",
        nargs="?",
        choices=("apply",),
        help="'apply': repair the rows of --data csv:PATH with a saved"
        " --repair and write them to --out (a .csv file or a folder)",
    )
    g = p.add_argument_group("data")
    g.add_argument(
        "--data",
        metavar="SPEC",
        required=True,
        help="adult | compas | digits | mnist5k | fashion-mnist[:DIR] |"
        " csv:PATH | npz:PATH",
    )
    g.add_argument(
        "--repair",
        metavar="PATH",
        default=None,
        help="feature apply: the repair.npz of an earlier tabular run",
    )
    g.add_argument(
        "--repaired-t",
        metavar="T",
        type=float,
        default=None,
        help="repair level of the written rows (repaired.csv): one of --t;"
        " default the largest of --t (1 by default); 1 under 'apply'",
    )
    g.add_argument(
        "--attribute",
        metavar="Z",
        required=True,
        help="Z: sex/race (adult, compas), thickness/ink (digits), a CSV"
        " column or an NPZ array",
    )
    g.add_argument(
        "--target",
        metavar="COLUMN",
        default=None,
        help="target column of a CSV (y or target)",
    )
    _feature_flags(p)
    _common(p, "reports/feature")


def _add_datapoint(sub) -> None:
    p = _sub(
        sub,
        "datapoint",
        "unlearn training rows from a classifier",
        "Trains an MLP, forgets the requested rows by MI-regularized"
        " fine-tuning and audits it beside the original model and the"
        " baselines, for one or more seeds. Writes OUT/report.html,"
        " OUT/metrics.json, the rows used (OUT/split.npz) and every model's"
        " parameters (OUT/models/seed-S/NAME.npz, read by"
        " jaxunlearn.experiments.load_model).",
    )
    g = p.add_argument_group("data and request")
    g.add_argument(
        "--data",
        metavar="SPEC",
        required=True,
        help="digits | mnist5k | fashion-mnist[:DIR] | npz:PATH (DIR: the"
        " Fashion-MNIST IDX files; default $JAXUNLEARN_DATA)",
    )
    g.add_argument(
        "--forget",
        metavar="SPEC",
        required=True,
        help="class:C:FRACTION (e.g. class:3:0.75) or indices:FILE (rows of"
        " the --data file, from 0; text or .npy)",
    )
    g.add_argument(
        "--baselines",
        metavar="NAMES",
        default="retrain,finetune,neggrad",
        help="comma separated: retrain, finetune, neggrad, scrub ('' for none)",
    )
    g.add_argument(
        "--seeds", metavar="S", type=int, default=1, help="number of seeds"
    )
    _datapoint_flags(p, epochs=30)
    _common(p, "reports/datapoint")


def _add_reproduce(sub) -> None:
    p = _sub(
        sub,
        "reproduce",
        "the paper's tables beside ours",
        "Reruns a table of Xu & Strohmer (arXiv:2502.05684) and prints our"
        " numbers (mean and std over seeds) beside the authors'.",
    )
    p.add_argument(
        "experiment",
        choices=("gmm", "mnist"),
        help="gmm: the Gaussian-mixture toy; mnist: MNIST-5k, forget 75%% of"
        " the 3s",
    )
    g = p.add_argument_group("settings")
    g.add_argument(
        "--seeds",
        metavar="S",
        type=int,
        default=None,
        help="repetitions (gmm 10, mnist 3)",
    )
    g.add_argument(
        "--epochs",
        metavar="N",
        type=int,
        default=None,
        help="original / retrain / fine-tune epochs (gmm 100, mnist 20;"
        " the paper: 100)",
    )
    g.add_argument(
        "--size",
        metavar="N",
        type=int,
        default=None,
        help="gmm: points n (5000); mnist: a subset of MNIST-5k rows",
    )
    g.add_argument(
        "--no-baselines",
        action="store_true",
        help="only original, retrain, fine-tune and MI unlearning",
    )
    _common(p, "reports/reproduce")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``jaxunlearn`` command.

    Returns:
      An ``argparse.ArgumentParser`` whose errors raise :class:`UsageError`.
    """
    parser = _Parser(
        prog="jaxunlearn",
        description="Machine unlearning by information-theoretic"
        " regularization (Xu & Strohmer, arXiv:2502.05684).",
        epilog=_EPILOG,
        formatter_class=_top,
    )
    sub = parser.add_subparsers(
        dest="command",
        required=True,
        parser_class=_Parser,
        title="commands",
        metavar="COMMAND",
    )
    _add_demo(sub)
    _add_feature(sub)
    _add_datapoint(sub)
    _add_reproduce(sub)
    return parser
