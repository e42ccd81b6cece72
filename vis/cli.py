"""The ``minicnn`` command: the tour, one subcommand per registry method, weights, engine.

The subcommands are registered by the modules of ``vis/commands/``; the
method subcommands and their options come from ``vis/registry.py``. Errors a
user can fix (a bad name, a missing file, an option the command does not
take) print one line, ``minicnn: error: ...``, and exit with 2; Ctrl-C prints
``interrupted; nothing written`` (every file is written atomically) and exits
with 130. Results go to stdout; notes, warnings (``warning: ...``, one line
each) and progress bars to stderr.
"""

import argparse
import sys
import warnings

from .commands import (adversarial, dataset, engine, examples, features, homework, maps,
                       synthesis, tour, weights)

COMMANDS = (tour, features, maps, dataset, synthesis, adversarial, weights, engine, examples,
            homework)


class UsageError(Exception):
    """A command line argparse refused (unknown option, bad value, missing argument)."""


class Parser(argparse.ArgumentParser):
    """argparse with a one-line error that points to the command's ``--help``."""

    def error(self, message):
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _one_line(message, category, filename, lineno, file=None, line=None):
    """``warnings.showwarning`` for the command line: ``warning: message`` on stderr."""
    print(f"warning: {message}", file=sys.stderr)


def command_prog(parser, argv):
    """``minicnn weights fetch``: the deepest subcommand that ``argv`` starts with."""
    for word in argv:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs or word not in subs[0].choices:
            break
        parser = subs[0].choices[word]
    return parser.prog


def parse(argv):
    """The parsed arguments; an option the subcommand does not take is a UsageError
    that names the subcommand (argparse would blame ``minicnn`` itself)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        prog = command_prog(parser, argv)
        raise UsageError(f"unrecognized arguments: {' '.join(extra)} (see `{prog} --help`)")
    return args


def build_parser():
    """The argparse parser with every registered subcommand."""
    parser = Parser(
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
        args = parse(argv)
        with warnings.catch_warnings():
            warnings.showwarning = _one_line
            return args.func(args) or 0
    except BrokenPipeError:                        # minicnn ... | head: the reader left
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("\nminicnn: interrupted; nothing written", file=sys.stderr)
        return 130
    except (UsageError, ValueError, KeyError, FileNotFoundError, FileExistsError,
            PermissionError, RuntimeError) as e:
        message = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"minicnn: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
