"""The entry point: parse, run one command, report errors in one line."""

import json
import os
import sys
from collections.abc import Sequence

from jaxunlearn.cli import _output
from jaxunlearn.cli._commands import COMMANDS
from jaxunlearn.cli._parser import build_parser
from jaxunlearn.cli._specs import flag_message

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


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
        result = COMMANDS[args.command](args)
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
        print(f"jaxunlearn: error: {flag_message(msg)}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        from jaxunlearn.experiments import jsonable  # noqa: PLC0415

        print(json.dumps(_output.json_clean(jsonable(result)), sort_keys=True))
    else:
        _output.say(args, f"report: {os.path.join(args.out, 'report.html')}")
    return 0
