"""Engine commands: ``summary``, ``bench``, ``train-tiny``.

::

    minicnn summary MODEL              # an architecture, an installed model or an .npz
    minicnn bench [--help] [options]   # benchmarks/bench.py (needs a clone)
    minicnn train-tiny --out PATH      # retrain the shapes model from its seed
"""

import argparse
import importlib.util
from pathlib import Path

from . import common


def _summary(args):
    """An architecture by name (untrained: the shapes and counts are the same), else a
    model; an architecture whose weights are not installed is said on stderr."""
    from minicnn import models, zoo
    name = args.model_option or args.model
    if name is None:
        raise ValueError("summary: give a model (`minicnn summary tiny` or --model tiny)")
    if name in models.ARCHITECTURES and not str(name).endswith(".npz"):
        net = models.ARCHITECTURES[name](seed=None)
        row = {r["name"]: r for r in zoo.list_models()}.get(name)
        if row is not None and not row["installed"]:
            said = ("it has no weights" if row["status"] == "no weights"
                    else "its weights are not installed")
            common.note(f"{name} is shown as an architecture: {said} (`minicnn weights "
                        "list` says how to get them)")
    else:
        net = common.load_model(name)
    print(net.summary())


def bench_script():
    """``benchmarks/bench.py`` of the clone this package runs from, or None."""
    root = Path(__file__).resolve().parents[2]
    script = root / "benchmarks" / "bench.py"
    return script if script.is_file() else None


def _bench(args):
    return run_bench(args.bench_args)


def run_bench(argv):
    """Run ``benchmarks/bench.py`` with ``argv`` (its own options, ``--help`` included)."""
    script = bench_script()
    if script is None:
        raise FileNotFoundError("minicnn bench runs benchmarks/bench.py from a clone of the "
                                "repository; this installation has no benchmarks folder "
                                "(install with pip install -e . from a clone)")
    spec = importlib.util.spec_from_file_location("minicnn_bench", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(argv, prog="minicnn bench", parser_class=_OneLineParser)   # figures printed


class _OneLineParser(argparse.ArgumentParser):
    """The bench's options with the command line's one-line usage errors."""

    def error(self, message):
        raise ValueError(f"{message} (see `{self.prog} --help`)")


def _train_tiny(args):
    from minicnn import io, tiny
    default = io.weights_dir() / "tiny.npz"
    if args.epochs is not None and args.epochs < 1:
        raise ValueError(f"--epochs must be at least 1 (got {args.epochs})")
    out = Path(args.out) if args.out else default
    if out.exists() and not args.force:   # refuse before the work, not after
        hint = ("give --out PATH for a new file (--force would replace the shipped model "
                "that every command uses)" if out.resolve() == default.resolve()
                else "use --force to overwrite, or another --out")
        raise FileExistsError(f"{out} exists: {hint}")
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
    from minicnn.tiny import EPOCHS
    p = sub.add_parser("summary", help="print a model's layers, output shapes and parameters")
    p.add_argument("model", nargs="?", help="an architecture (vgg16, tiny, ...), an installed "
                   "model or a path to an .npz")
    p.add_argument("--model", dest="model_option", metavar="MODEL",
                   help="the same, as an option like every other command's (no default)")
    p.set_defaults(func=_summary)
    p = sub.add_parser("bench", help="time VGG16 forward/backward against PyTorch "
                       "(benchmarks/bench.py; `minicnn bench --help`)", add_help=False)
    p.add_argument("bench_args", nargs=argparse.REMAINDER,
                   help="the options of benchmarks/bench.py (`minicnn bench --help`)")
    p.set_defaults(func=_bench)
    p = sub.add_parser("train-tiny", help="retrain the embedded shapes model from its seed")
    p.add_argument("--out", type=Path, help="destination .npz (default: the shipped "
                   "minicnn/weights/tiny.npz, which needs --force)")
    p.add_argument("--epochs", type=int, default=None,
                   help=f"training epochs (default: the recipe's {EPOCHS}, "
                   "minicnn.tiny.EPOCHS)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_train_tiny)
