"""The ``minicnn`` command: the tour, one subcommand per method, weights, training.

Each group of subcommands lives beside the code it runs and registers itself
here through a ``register(subparsers)`` function. Errors a user can fix (a bad
name, a missing file) print one line, ``minicnn: error: …``, and exit with 2.
"""

import argparse
import sys
from pathlib import Path


def _summary(args):
    from minicnn import models
    if args.model not in models.ARCHITECTURES:
        raise ValueError(f"unknown model {args.model!r}: choose from "
                         + ", ".join(sorted(models.ARCHITECTURES)))
    net = models.ARCHITECTURES[args.model]()
    print(net.summary())


def _bench(args):
    from minicnn import bench
    bench.main(args.bench_args)


def _train_tiny(args):
    from minicnn import io, tiny
    out = args.out or io.weights_dir() / "tiny.npz"
    if out.exists() and not args.force:   # refuse before an hour of work, not after
        raise FileExistsError(f"{out} exists: pass --force to overwrite it")
    net, history, seconds = tiny.train_tiny(epochs=args.epochs, progress=not args.quiet)
    acc = tiny.test_accuracy(net)
    net.meta["source"]["test_accuracy"] = acc
    io.save(net, out, force=args.force)
    print(f"trained tiny in {seconds:.0f} s; validation accuracy per epoch "
          + ", ".join(f"{a:.3f}" for a in history["val_acc"]))
    print(f"accuracy on {tiny.N_TEST} fresh shapes (seed {tiny.TEST_SEED}): {acc:.4f}")
    print(f"wrote {out}")


def register(sub):
    """Engine commands: summary, bench, train-tiny."""
    p = sub.add_parser("summary", help="print a model's layers, output shapes and parameters")
    p.add_argument("model")
    p.set_defaults(func=_summary)
    p = sub.add_parser("bench", help="time VGG16 forward/backward (and PyTorch when installed)",
                       add_help=False)
    p.add_argument("bench_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=_bench)
    p = sub.add_parser("train-tiny", help="retrain the embedded shapes model from its seed")
    p.add_argument("--out", type=Path, help="default: weights/tiny.npz")
    p.add_argument("--epochs", type=int, default=None, help="default: the recipe's")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_train_tiny)


def _registrars():
    import importlib
    mods = [sys.modules[__name__]]
    for name in ("vis.cli_weights", "vis.cli_methods", "vis.tour"):
        try:
            mods.append(importlib.import_module(name))
        except ModuleNotFoundError as e:
            if e.name != name:      # a real missing dependency inside the module
                raise
    return mods


def build_parser():
    """The argparse parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="minicnn",
        description="A from-scratch NumPy CNN and the classic CNN visualization methods.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _registrars():
        module.register(sub)
    return parser


def main(argv=None):
    """Entry point of the ``minicnn`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except (ValueError, KeyError, FileNotFoundError, FileExistsError,
            PermissionError, RuntimeError) as e:
        message = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"minicnn: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
