"""``python -m vis`` runs the ``minicnn`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
