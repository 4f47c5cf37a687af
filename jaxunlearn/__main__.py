"""``python -m jaxunlearn`` runs the command-line interface."""

import sys

from jaxunlearn.cli import main

if __name__ == "__main__":
    sys.exit(main())
