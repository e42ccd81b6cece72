"""The map subcommands: one per map method of the registry, plus ``localize``.

::

    minicnn METHOD [--model NAME] [--image PATH... | --sample N...] [--target T]
                   [--out DIR] [--force] [the method's options]

METHOD is any record of kind ``map`` in ``vis/registry.py`` (saliency,
deconvnet, guided, smoothgrad, ig, cam, gradcam, guided-gradcam, occlusion);
its options come from the record. Each input gives one PNG
``<input>_<model>_<method>.png``: a title strip (method, model, target,
layer), then input | raw map | overlay, and under the map and the overlay
each its own colour scale, labelled. ``localize`` draws the image with the
predicted box (red; the true box green for samples) | map | segmentation,
with the map's scale under the map.
"""

from vis import draw
from vis.explain import explain
from vis.localization.scores import box_iou
from minicnn.preprocessing import preprocess
from vis.registry import METHODS, map_methods
from vis.tour.panels import (localization_panels, localization_scales, method_panels,
                             method_scales)

from . import common


def _options(args, net, record):
    """The method's own options from the command line (``--layer`` checked)."""
    options = {o.name: getattr(args, o.name) for o in record.options}
    if options.get("layer") is not None:
        options["layer"] = common.check_layer(net, options["layer"], record.name)
    return options


def _check_target(record, target):
    if isinstance(target, tuple) and "unit" not in record.targets:
        raise ValueError(f"{record.name} explains a class score, not a unit; this model "
                         "has no class scores" if target[1] == "top" else
                         f"{record.name} explains a class score, not a unit: give a class")


def _map_method(args):
    record = METHODS[args.command]
    net = common.load_model(args.model)
    inputs = common.inputs(args, net)
    target = common.target(args, net)
    _check_target(record, target)
    options = _options(args, net, record)
    side = min(inputs.images.shape[2:])
    window = options.get("window")                  # None: the method's default
    if window is not None and not 0 < window <= side:     # before the forward pass
        raise ValueError(f"--window {window} must be between 1 and the image size {side}")
    out = common.out_dir(args.out)
    stem = common.model_stem(args.model)
    paths = [out / f"{name}_{stem}_{record.name}.png" for name in inputs.names]
    common.check_free(paths, args.force)
    common.out_of_domain_note(net, inputs)
    x = preprocess(inputs.images, net)
    common.print_top(net, x, inputs)
    with common.blas_threads(net):
        e = explain(record.name, net, x, target, **options)
    factor = draw.auto_zoom(inputs.images.shape[2])
    spans = draw.panel_spans(3, inputs.images.shape[3] * factor)
    for n, path in enumerate(paths):
        panels = [inputs.images[n]] + method_panels(inputs.images[n], e, n, net)
        note = f", {e.note}" if e.note else ""
        title = (f"{record.title} ({record.paper}) - {stem}\n"
                 f"{inputs.names[n]}: {common.target_label(net, e.target[n])}, layer "
                 f"{e.layer}{note}\ninput | map | overlay")
        print(title.replace("\n", "; "))
        common.save(path, draw.side_by_side(panels, factor=factor), args.force, title,
                    method_scales(e, spans))


def _localize(args):
    record = METHODS["localize"]
    net = common.load_model(args.model)
    inputs = common.inputs(args, net)
    target = common.target(args, net)
    _check_target(METHODS[args.source], target)
    out = common.out_dir(args.out)
    stem = common.model_stem(args.model)
    paths = [out / f"{name}_{stem}_localize.png" for name in inputs.names]
    common.check_free(paths, args.force)
    common.out_of_domain_note(net, inputs)
    x = preprocess(inputs.images, net)
    common.print_top(net, x, inputs)
    with common.blas_threads(net):
        e = explain(args.source, net, x, target)
    factor = draw.auto_zoom(inputs.images.shape[2])
    spans = draw.panel_spans(3, inputs.images.shape[3] * factor)
    for n, path in enumerate(paths):
        true_box = None if inputs.boxes is None else inputs.boxes[n]
        panels, _, box = localization_panels(inputs.images[n], e.map[n], true_box)
        score = "" if true_box is None else (f", true box {tuple(int(v) for v in true_box)}, "
                                             f"IoU {float(box_iou(box, true_box)):.2f}")
        title = (f"{record.title} ({record.paper}) - {stem}\n{inputs.names[n]}: "
                 f"{METHODS[args.source].title} for {common.target_label(net, e.target[n])}"
                 f" -> box (x0, y0, x1, y1) = {box}{score}\n"
                 "boxes (red predicted, green true) | map | segmentation")
        print(title.replace("\n", "; "))
        common.save(path, draw.side_by_side(panels, factor=factor), args.force, title,
                    localization_scales(spans))


def register(sub):
    """One subcommand per map method of the registry, and ``localize``."""
    parents = [common.model_parent(), common.input_parent(), common.target_parent()]
    for name in map_methods() + ["localize"]:
        record = METHODS[name]
        p = sub.add_parser(name, parents=parents, help=f"{record.paper}: {record.summary}",
                           description=f"{record.title} ({record.paper}): {record.summary}.")
        for o in record.options:
            kwargs = {"choices": map_methods()} if o.name == "source" else {}
            common.add_option(p, record, o.name, **kwargs)
        p.set_defaults(func=_localize if name == "localize" else _map_method, command=name)
