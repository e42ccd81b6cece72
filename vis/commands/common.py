"""The steps every ``minicnn`` subcommand shares: model, inputs, output folder, saving.

Errors a user can fix are raised as ``ValueError``, ``KeyError``,
``FileNotFoundError``, ``FileExistsError`` or ``PermissionError`` with one
sentence in command-line words (``--force``, ``--out``); ``vis/cli.py`` prints
them as ``minicnn: error: ...``. Nothing is written before every argument has
been checked, and an existing file is never overwritten without ``--force``.

Results (the files written, top-5 lists, tables, final numbers) go to stdout;
everything else (``note: ...``, ``warning: ...``, progress bars) goes to
stderr, so ``minicnn ... > results.txt`` keeps only the results.
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

from vis import draw
from vis.image import save_png
from vis.inputs import load_images, parse_target, shapes_samples, top_classes
from vis.netinfo import has_scores, input_size, last_conv


def blas_threads(net):
    """One BLAS thread for a small net (64x64 input), the library's default otherwise.

    OpenBLAS threads spin while they wait: on a shared 2-core machine two small
    jobs with two threads each take ~7x longer than with one (measured with two
    tours side by side), while a VGG16 at 224x224 gains from both cores.
    """
    from threadpoolctl import threadpool_limits
    return threadpool_limits(1 if input_size(net)[0] * input_size(net)[1] <= 64 * 64 else None)


def note(text):
    """Tell the user something that is not a result: ``note: text`` on stderr."""
    print(f"note: {text}", file=sys.stderr)


def tell(lines):
    """Lines that already carry their ``note:``/``warning:`` prefix, on stderr."""
    for line in lines:
        print(line, file=sys.stderr)


def load_model(name):
    """An installed model by name or ``.npz`` path, with command-line wording on failure."""
    from minicnn import models
    try:
        net = models.load(name)
    except KeyError as e:
        raise ValueError(str(e.args[0] if e.args else e)) from None
    net.meta["name"] = model_stem(name)            # what messages call it (tiny_biased)
    return net


def model_stem(name):
    return Path(name).stem if str(name).endswith(".npz") else str(name)


def inputs(args, net):
    """The images of ``--image`` or ``--sample`` (default ``--sample 0`` for 64x64 models)."""
    if getattr(args, "image", None):
        result = load_images(args.image, net)
        tell(result.notes)
        return result
    if args.sample is None and input_size(net) != (64, 64):
        raise ValueError(f"{net.meta.get('arch', 'this model')} needs --image PATH "
                         "(the shapes samples are 64x64)")
    return shapes_samples(args.sample if args.sample is not None else [0], net)


def shapes_samples_images(indices, net):
    """RGB (N, 3, 64, 64) of shapes test samples (``vis.inputs.shapes_samples``)."""
    return shapes_samples(indices, net).images


def out_of_domain_note(net, inputs_):
    """One sentence when photos are given to the shapes model, which knows 8 shapes only."""
    if inputs_.boxes is None and net.meta.get("arch") == "tiny":
        note("tiny knows 8 synthetic shapes at 64x64 (minicnn.data); a photo is out of its "
             "domain, so its classes and maps say little about the photo")


def target(args, net):
    """The ``--target`` of the command; for a net without class scores, the most active
    unit of its last conv layer (``LAYER:top``), said once."""
    if getattr(args, "target", None) is not None:
        return parse_target(args.target, net)
    if has_scores(net):
        return None
    layer = last_conv(net)
    note(f"{net.meta.get('arch', 'this model')} has no class scores: explaining the most "
         f"active unit of {layer} (--target {layer}:top; choose one with --target "
         "LAYER:CHANNEL[@ROW,COL])")
    return (layer, "top")


def out_dir(path):
    """The output folder as a Path, refused before any work if it cannot be made: a
    file, or under a file or a folder this user cannot write. Created by ``save``."""
    out = Path(path)
    if str(path) == "":
        raise ValueError("--out is empty: give a folder")
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out {out} is a file, not a folder")
    parent = out
    while not parent.exists():                  # the deepest folder that exists
        parent = parent.parent
    if not parent.is_dir():
        raise FileExistsError(f"cannot create --out {out}: {parent} is a file")
    try:                                        # a real try: access() says yes to root
        os.rmdir(tempfile.mkdtemp(prefix=".minicnn-", dir=parent))
    except OSError as e:
        raise PermissionError(f"cannot create --out {out}: {parent}: "
                              f"{e.strerror or e}") from None
    return out


def check_free(paths, force):
    """Refuse before computing anything if a file would be overwritten without ``--force``."""
    taken = [p for p in paths if Path(p).exists()]
    if taken and not force:
        more = f" (and {len(taken) - 1} more)" if len(taken) > 1 else ""
        raise FileExistsError(f"{taken[0]} exists{more}: use --force to overwrite, or "
                              "another --out")


def save(path, picture, force, title=None, scale=None):
    """Write one PNG (with its title strip and colour scale), creating the folder."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PermissionError(f"cannot create the output folder {path.parent}: "
                              f"{e.strerror}") from None
    if title is not None:
        picture = draw.titled(picture, title, scale)
    try:
        save_png(path, picture, force=force)
    except FileExistsError:
        raise FileExistsError(f"{path} exists: use --force to overwrite") from None
    print(f"wrote {path}")


def save_text(path, text, force):
    """Write a text file (an HTML page) atomically, creating the folder."""
    from minicnn.files import atomic_write
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        atomic_write(path, lambda f: f.write(text.encode("utf-8")), force=force)
    except FileExistsError:
        raise FileExistsError(f"{path} exists: use --force to overwrite") from None
    print(f"wrote {path}")


def class_label(net, k):
    from vis.netinfo import class_names
    return f"{class_names(net)[int(k)]} ({int(k)})"


def target_label(net, used):
    """A target as a caption says it: ``star (4)`` or ``unit relu5_3:12@7,9``."""
    if isinstance(used, tuple):
        at = f"@{used[2]},{used[3]}" if len(used) == 4 else ""
        return f"unit {used[0]}:{used[1]}{at}"
    return class_label(net, used)


def print_top(net, x, inputs_):
    """One line per input: the top-5 classes with their softmax probabilities."""
    if not has_scores(net):
        return
    for stem, label, top in zip(inputs_.names, inputs_.labels, top_classes(net, x)):
        truth = f" (true: {class_label(net, label)})" if label >= 0 else ""
        print(f"{stem}{truth}: " + ", ".join(f"{nm} {p:.2f}" for _, nm, p in top))


def check_layer(net, layer, command, spatial=True):
    """A layer name the command can use: unknown -> close names; not spatial -> says so."""
    from vis.netinfo import spatial_layers
    name = net[layer].name                          # KeyError with close names if unknown
    if spatial and name not in spatial_layers(net):
        shape = net.output_shapes()[name]
        raise ValueError(f"layer {name} is not spatial (output {tuple(shape)}): {command} "
                         f"needs a layer with a (C, h, w) output, e.g. {last_conv(net)}")
    return name


def check_channels(net, layer, channels):
    """``--channels`` of ``layer``, each in 0 .. C - 1, checked before any work."""
    C = net.output_shapes()[layer][0]
    bad = [c for c in channels if not 0 <= c < C]
    if bad:
        raise ValueError(f"--channels {bad[0]}: {layer} has {C} channels, 0 .. {C - 1}")
    return list(channels)


def help_text(option):
    """``--help`` text of a registry ``Option``: what it is, its default and its source.

    A default of None is said in words (``option.absent``: "the preset's"),
    never as "None".
    """
    if option.default is None:
        default = option.absent or "chosen by the method"
    elif isinstance(option.default, float):
        default = f"{option.default:g}"
    else:
        default = option.default
    return f"{option.help} (default: {default}; {option.source})".replace("%", "%%")


def add_option(parser, record, name, **kwargs):
    """The registry option ``name`` of method ``record`` as an argument, with its help.

    ``positive`` options take whole numbers >= 1 (``int``) or numbers > 0 (``float``).
    """
    o = next(o for o in record.options if o.name == name)
    kind = (positive_int if o.type is int else positive_float) if o.positive else o.type
    parser.add_argument(o.cli_flag, dest=o.name, default=o.default, type=kind,
                        help=help_text(o), **kwargs)


def positive_int(text):
    """argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def positive_float(text):
    """argparse type: a number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:                               # NaN too
        raise argparse.ArgumentTypeError(f"{value:g} must be greater than 0")
    return value


def model_parent():
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--model", default="tiny", metavar="NAME",
                   help="installed model: tiny (default), vgg16_hed, vgg16, alexnet, ... "
                        "(`minicnn weights list`) or a path to an .npz")
    p.add_argument("--out", default="out", metavar="DIR",
                   help="folder for the PNGs (default: out/)")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    return p


def input_parent():
    p = argparse.ArgumentParser(add_help=False)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--image", nargs="+", metavar="PATH", help="image files")
    group.add_argument("--sample", nargs="+", type=int, metavar="N",
                       help="shapes test images (64x64 models; default: 0)")
    return p


def target_parent():
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--target", metavar="T",
                   help="class index or name, or a unit LAYER:CHANNEL[@ROW,COL] or LAYER:top "
                        "(default: the top class; the most active unit of the last conv "
                        "layer for a net without class scores)")
    return p
