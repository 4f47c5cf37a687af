"""The ``jaxunlearn`` command: demo, feature, datapoint, reproduce.

A thin layer over ``jaxunlearn.experiments`` (the runs) and
``jaxunlearn.report`` (plots and the Markdown / HTML / JSON report); see
``docs/cli.md`` for every flag, the ``--json`` schema and the CSV / NPZ
conventions. The package holds the parser (``_parser``), the flag syntax
(``_specs``), the commands (``_commands``), what they print and write
besides the report (``_output``) and the entry point (``_main``).

User errors (unknown data set, unreadable or malformed file, missing
column, bad flag values) print one line ``jaxunlearn: error: ...`` and exit
with status 2, without a traceback (set ``JAXUNLEARN_DEBUG=1`` to see one).
An interrupted run exits with status 130; rerun it with ``--resume`` to
continue from the last finished unit.
"""

from jaxunlearn.cli._main import EXIT_INTERRUPTED, EXIT_USAGE, main
from jaxunlearn.cli._parser import UsageError, build_parser
from jaxunlearn.cli._specs import parse_forget, parse_ts

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "UsageError",
    "build_parser",
    "main",
    "parse_forget",
    "parse_ts",
]
