"""One ``minicnn`` subcommand per method: parse, load, call the method, draw, save.

::

    minicnn METHOD [--model NAME] [--image PATH... | --sample N...] [--target CLASS]
                   [--out DIR] [--force] [the method's options]

    METHOD          what it shows                               its options
    saliency        max_c |d score / d image|                   -
    deconvnet       backward pass, deconvnet ReLU rule          -
    guided          backward pass, guided ReLU rule             -
    gradcam         Grad-CAM                                    --layer L
    guided-gradcam  guided backprop x Grad-CAM                  --layer L
    cam             CAM (nets ending GlobalAvgPool -> Linear)   -
    occlusion       score drop under a sliding grey square      --window PX --stride PX
    smoothgrad      gradient averaged over noisy copies         -n N --sigma S --seed SEED
    ig              integrated gradients                        --steps N
    localize        map -> graph-cut segmentation -> box        --from METHOD

    minicnn activations [--model NAME] [--image PATH... | --sample N...] [--layer L...]
                        [--out DIR] [--force]
    minicnn filters [--model NAME] [--out DIR] [--force]

Inputs: ``--image`` files are read by ``vis.image.load_image`` (greyscale,
RGBA ... converted, with a note), their shorter side resized to the model's
input size and the centre cropped; ``--sample N`` takes image N of the shapes
test set (``make_shapes(max(N) + 1, seed=minicnn.tiny.TEST_SEED)``, 64x64
models only). Without either, a 64x64 model gets ``--sample 0``.

Outputs (``--out``, default ``out/``; an existing PNG is never overwritten
without ``--force``), one PNG per input, panels side by side, each enlarged
to about 256 px by pixel repetition:

* map methods: ``<input>_<model>_<method>.png`` = input | raw map | overlay.
  The raw map is the attribution as a colour image (0 = grey) for the
  gradient family, the signed map on a blue-white-red scale for CAM and
  occlusion, the map in grey for saliency and Grad-CAM (see ``vis/draw.py``).
* ``localize``: ``<input>_<model>_localize.png`` = input with the predicted
  box (red; the true box green for samples) | map | segmentation.
* ``activations``: ``<input>_<model>_activations_<layer>.png``, one grid per
  layer (default: the output of every conv layer), enlarged to about 320 px.
* ``filters``: ``<model>_filters.png``.

Each command prints the paths it wrote and the top-5 classes of each input.
"""

import argparse
from pathlib import Path

from . import draw
from .activations import activation_grid, activations
from .filters import filter_grid, first_layer_filters
from .image import preprocess, save_png
from .localize import box_iou
from .gallery import localization_panels, method_panels
from .recipes import (METHODS, PAPERS, class_names, conv_layers, explain, first_conv,
                      load_images, parse_target, shapes_samples, spatial_layers, top_classes)


# --- shared steps ---------------------------------------------------------------------

def load_model(name):
    """``models.load(name)``; an unknown name is a ValueError listing the known ones."""
    from minicnn import fetch, models
    try:
        return models.load(name)
    except KeyError:
        known = sorted({row["name"] for row in fetch.list_models()} | set(models.ARCHITECTURES))
        raise ValueError(f"unknown model {name!r}: choose from {', '.join(known)} "
                         "(or a path to an .npz)") from None


def _model_stem(name):
    return Path(name).stem if str(name).endswith(".npz") else str(name)


def _inputs(args, net):
    """The images of ``--image`` or ``--sample`` (default ``--sample 0`` for 64x64 models)."""
    if args.image:
        inputs = load_images(args.image, net)
        for note in inputs.notes:
            print(f"note: {note}")
        return inputs
    if args.sample is None and tuple(net.meta.get("input_size", ())) != (64, 64):
        raise ValueError(f"{net.meta.get('arch', 'this model')} needs --image PATH "
                         "(the shapes samples are 64x64)")
    return shapes_samples(args.sample if args.sample is not None else [0], net)


def _out_dir(path):
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out {out} is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PermissionError(f"cannot create the output folder {out}: {e.strerror}") from None
    return out


def _check_free(paths, force):
    """Refuse before computing anything if a PNG would be overwritten without ``--force``."""
    taken = [p for p in paths if p.exists()]
    if taken and not force:
        more = f" (and {len(taken) - 1} more)" if len(taken) > 1 else ""
        raise FileExistsError(f"{taken[0]} exists{more}: pass --force to overwrite")


def _save(path, picture, force):
    save_png(path, picture, force=force)
    print(f"wrote {path}")


def _print_top(net, x, inputs):
    """One line per input: the top-5 classes with their softmax probabilities."""
    for stem, label, top in zip(inputs.names, inputs.labels, top_classes(net, x)):
        truth = f" (true: {_class_name(net, label)})" if label >= 0 else ""
        print(f"{stem}{truth}: " + ", ".join(f"{nm} {p:.2f}" for _, nm, p in top))


def _class_name(net, k):
    return class_names(net)[int(k)]


def _check_layer(net, layer, command):
    choices = spatial_layers(net)
    if layer not in choices:
        raise ValueError(f"unknown layer {layer!r} for {command}: choose from "
                         + ", ".join(choices))
    return layer


def _method_options(args, net):
    """The method's own options from the command line."""
    if args.command in ("gradcam", "guided-gradcam"):
        return {"layer": None if args.layer is None else _check_layer(net, args.layer,
                                                                      args.command)}
    if args.command == "occlusion":
        return {"window": args.window, "stride": args.stride}
    if args.command == "smoothgrad":
        return {"n": args.n, "sigma": args.sigma, "seed": args.seed}
    if args.command == "ig":
        return {"steps": args.steps}
    return {}


# --- the commands ---------------------------------------------------------------------

def _map_method(args):
    net = load_model(args.model)
    inputs = _inputs(args, net)
    target = parse_target(args.target, net)
    options = _method_options(args, net)
    out = _out_dir(args.out)
    paths = [out / f"{stem}_{_model_stem(args.model)}_{args.command}.png" for stem in inputs.names]
    _check_free(paths, args.force)
    x = preprocess(inputs.images, net)
    _print_top(net, x, inputs)
    e = explain(args.command, net, x, target, **options)
    order = net.meta.get("preprocess", {}).get("channel_order", "RGB")
    factor = draw.auto_zoom(inputs.images.shape[2])
    method = METHODS[args.command]
    for n, path in enumerate(paths):
        panels = [inputs.images[n]] + method_panels(inputs.images[n], e, n, order)
        note = f", {e.note}" if e.note else ""
        print(f"{method.title} of {inputs.names[n]} for class {_class_name(net, e.target[n])} "
              f"({int(e.target[n])}), layer {e.layer}{note} ({method.paper}): "
              "input | map | overlay")
        _save(path, draw.side_by_side(panels, factor=factor), args.force)


def _localize(args):
    net = load_model(args.model)
    inputs = _inputs(args, net)
    target = parse_target(args.target, net)
    out = _out_dir(args.out)
    paths = [out / f"{stem}_{_model_stem(args.model)}_localize.png" for stem in inputs.names]
    _check_free(paths, args.force)
    x = preprocess(inputs.images, net)
    _print_top(net, x, inputs)
    e = explain(args.source, net, x, target)
    factor = draw.auto_zoom(inputs.images.shape[2])
    for n, path in enumerate(paths):
        true_box = None if inputs.boxes is None else inputs.boxes[n]
        panels, _, box = localization_panels(inputs.images[n], e.map[n], true_box)
        score = "" if true_box is None else (f", true box {tuple(int(v) for v in true_box)}, "
                                             f"IoU {float(box_iou(box, true_box)):.2f}")
        print(f"{inputs.names[n]}: {METHODS[args.source].title} for class "
              f"{_class_name(net, e.target[n])} -> box (x0, y0, x1, y1) = {box}{score} "
              f"({PAPERS['localize']}): image with boxes | map | segmentation")
        _save(path, draw.side_by_side(panels, factor=factor), args.force)


def _activations(args):
    net = load_model(args.model)
    inputs = _inputs(args, net)
    layers = [_check_layer(net, layer, "activations") for layer in args.layer] \
        if args.layer else conv_layers(net)
    out = _out_dir(args.out)
    stem = _model_stem(args.model)
    paths = {(n, layer): out / f"{name}_{stem}_activations_{layer}.png"
             for n, name in enumerate(inputs.names) for layer in layers}
    _check_free(list(paths.values()), args.force)
    x = preprocess(inputs.images, net)
    try:
        _print_top(net, x, inputs)
    except ValueError:                       # a trunk without class scores (vgg16_hed)
        pass
    acts = activations(net, x, layers)
    for (n, layer), path in paths.items():
        grid = activation_grid(acts[layer][n])
        print(f"activations of {layer} for {inputs.names[n]}: {acts[layer].shape[1]} "
              f"channels, {acts[layer].shape[2]}x{acts[layer].shape[3]} each "
              f"({PAPERS['activations']})")
        _save(path, draw.zoom(grid, max(1, round(320 / grid.shape[0]))), args.force)


def _filters(args):
    net = load_model(args.model)
    out = _out_dir(args.out)
    path = out / f"{_model_stem(args.model)}_filters.png"
    _check_free([path], args.force)
    filters = first_layer_filters(net)
    print(f"first-layer filters of {first_conv(net)}: {filters.shape[0]} filters, "
          f"{filters.shape[1]}x{filters.shape[2]}, each min-max scaled ({PAPERS['filters']})")
    _save(path, filter_grid(filters), args.force)


# --- the parser -----------------------------------------------------------------------

def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _model_parent():
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--model", default="tiny", metavar="NAME",
                   help="installed model: tiny (default), vgg16, vgg16_hed, alexnet, ... "
                        "(`minicnn weights list`) or a path to an .npz")
    p.add_argument("--out", default="out", metavar="DIR",
                   help="folder for the PNGs (default: out/)")
    p.add_argument("--force", action="store_true", help="overwrite existing PNGs")
    return p


def _input_parent():
    p = argparse.ArgumentParser(add_help=False)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--image", nargs="+", metavar="PATH", help="image files")
    group.add_argument("--sample", nargs="+", type=int, metavar="N",
                       help="shapes test images (64x64 models; default: 0)")
    return p


def _target_parent():
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--target", metavar="CLASS",
                   help="class index or name to explain (default: the top class)")
    return p


HELP = {
    "saliency": "Simonyan 2014: max over channels of |d score / d image|",
    "deconvnet": "Zeiler & Fergus 2014: backward pass with the deconvnet ReLU rule",
    "guided": "Springenberg 2015: guided backpropagation",
    "gradcam": "Selvaraju 2017: Grad-CAM at a conv layer",
    "guided-gradcam": "Selvaraju 2017: guided backprop x Grad-CAM",
    "cam": "Zhou 2016: class activation map (GlobalAvgPool -> Linear nets)",
    "occlusion": "Zeiler & Fergus 2014: score drop under a sliding grey square",
    "smoothgrad": "Smilkov 2017: gradient averaged over noisy copies",
    "ig": "Sundararajan 2017: integrated gradients",
}


def register(sub):
    """The method commands (see the module docstring)."""
    model, inputs, target = _model_parent(), _input_parent(), _target_parent()
    for name in METHODS:
        p = sub.add_parser(name, parents=[model, inputs, target], help=HELP[name])
        if name in ("gradcam", "guided-gradcam"):
            p.add_argument("--layer", help="a conv-side layer (default: the ReLU after the "
                           "last conv, e.g. relu3_2 in tiny, relu5_3 in VGG16)")
        if name == "occlusion":
            p.add_argument("--window", type=_positive_int, metavar="PX",
                           help="square side (default: 8 px at 64x64, 28 at 224x224)")
            p.add_argument("--stride", type=_positive_int, metavar="PX",
                           help="step (default: half the window)")
        if name == "smoothgrad":
            p.add_argument("-n", type=_positive_int, default=50,
                           help="noisy copies (default 50, Smilkov et al.)")
            p.add_argument("--sigma", type=float, default=0.15,
                           help="noise std as a fraction of the image range (default 0.15)")
            p.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
        if name == "ig":
            p.add_argument("--steps", type=_positive_int, default=50,
                           help="points on the path (default 50)")
        p.set_defaults(func=_map_method, command=name)
    p = sub.add_parser("localize", parents=[model, inputs, target],
                       help="Simonyan 2014, Sec. 6: map -> graph-cut segmentation -> box")
    p.add_argument("--from", dest="source", default="saliency", choices=list(METHODS),
                   help="the map to start from (default: saliency)")
    p.set_defaults(func=_localize, command="localize")
    p = sub.add_parser("activations", parents=[model, inputs],
                       help="the activation maps of conv layers for each image")
    p.add_argument("--layer", nargs="+", help="layers (default: every conv layer's output)")
    p.set_defaults(func=_activations, command="activations")
    p = sub.add_parser("filters", parents=[model], help="the first-layer filters as images")
    p.set_defaults(func=_filters, command="filters")
