"""The ``minicnn`` command: the tour, one subcommand per registry method, weights, engine.

The subcommands are registered by the modules of ``vis/commands/``; the
method subcommands and their options come from ``vis/registry.py``. Errors a
user can fix (a bad name, a missing file) print one line, ``minicnn: error:
...``, and exit with 2; Ctrl-C prints ``interrupted; nothing written`` (every
file is written atomically) and exits with 130.
"""

import argparse
import sys

from .commands import (adversarial, dataset, engine, examples, features, homework, maps,
                       synthesis, tour, weights)

COMMANDS = (tour, features, maps, dataset, synthesis, adversarial, weights, engine, examples,
            homework)


def build_parser():
    """The argparse parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="minicnn",
        description="A from-scratch NumPy CNN and the classic CNN visualization methods.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv=None):
    """Entry point of the ``minicnn`` console script; returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv[:1] == ["bench"]:                  # every option, --help too, is the bench's
            return engine.run_bench(argv[1:]) or 0
        args = build_parser().parse_args(argv)
        return args.func(args) or 0
    except BrokenPipeError:                        # minicnn ... | head: the reader left
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("\nminicnn: interrupted; nothing written", file=sys.stderr)
        return 130
    except (ValueError, KeyError, FileNotFoundError, FileExistsError,
            PermissionError, RuntimeError) as e:
        message = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"minicnn: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
