"""``python -m traffickstats``: the command line (see :mod:`traffickstats.cli`)."""
import sys

from .cli import main

sys.exit(main())
