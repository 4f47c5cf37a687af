"""The ``jaxunlearn`` command."""

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Runs the command line.

    Args:
      argv: arguments without the program name; ``None`` reads ``sys.argv``.

    Returns:
      The exit code.
    """
    parser = argparse.ArgumentParser(prog="jaxunlearn")
    parser.add_subparsers(dest="command", required=True)
    parser.parse_args(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
