"""``python -m minicnn``: the ``minicnn`` command, the same as the console script.

The command line lives in ``vis/cli.py`` (it runs the methods); this is the
engine's one reference to ``vis``, made only when run as a program, never
on ``import minicnn``.
"""

import sys

if __name__ == "__main__":
    from vis.cli import main
    sys.exit(main())
