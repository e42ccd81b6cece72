"""``minicnn activations`` and ``minicnn filters``: what a layer holds.

::

    minicnn activations [--model NAME] [--image PATH... | --sample N...] [--layer L...]
    minicnn filters [--model NAME]

``activations`` writes ``<input>_<model>_activations_<layer>.png``, one grid
per layer (default: the output of every conv layer), Chollet's per-map
normalisation; ``filters`` writes ``<model>_filters.png``, the first conv
layer's filters, each min-max scaled.
"""

from minicnn.preprocessing import preprocess
from vis import draw
from vis.features.activations import activation_grid, activations
from vis.features.filters import filter_grid, first_layer_filters
from vis.netinfo import conv_layers, first_conv
from vis.registry import METHODS

from . import common


def _activations(args):
    record = METHODS["activations"]
    net = common.load_model(args.model)
    inputs = common.inputs(args, net)
    layers = ([common.check_layer(net, layer, "activations") for layer in args.layer]
              if args.layer else conv_layers(net))
    out = common.out_dir(args.out)
    stem = common.model_stem(args.model)
    paths = {(n, layer): out / f"{name}_{stem}_activations_{layer}.png"
             for n, name in enumerate(inputs.names) for layer in layers}
    common.check_free(list(paths.values()), args.force)
    common.out_of_domain_note(net, inputs)
    x = preprocess(inputs.images, net)
    common.print_top(net, x, inputs)
    acts = activations(net, x, layers)
    for (n, layer), path in paths.items():
        grid = activation_grid(acts[layer][n])
        C, h, w = acts[layer].shape[1:]
        title = (f"{record.title} of {layer} ({record.paper}) - {stem}\n"
                 f"{inputs.names[n]}: {C} channels, {h}x{w} each, each map normalised")
        print(title.replace("\n", "; "))
        common.save(path, draw.zoom(grid, max(1, round(320 / grid.shape[0]))), args.force,
                    title, draw.Scale("gray", "mean - 2 std", "mean + 2 std", "every map"))


def _filters(args):
    record = METHODS["filters"]
    net = common.load_model(args.model)
    out = common.out_dir(args.out)
    stem = common.model_stem(args.model)
    path = out / f"{stem}_filters.png"
    common.check_free([path], args.force)
    filters = first_layer_filters(net)
    title = (f"{record.title} ({record.paper}) - {stem}\n{first_conv(net).name}: "
             f"{filters.shape[0]} filters, {filters.shape[1]}x{filters.shape[2]}, "
             "each min-max scaled")
    print(title.replace("\n", "; "))
    common.save(path, filter_grid(filters), args.force, title)


def register(sub):
    """The ``activations`` and ``filters`` commands."""
    model, inputs = common.model_parent(), common.input_parent()
    r = METHODS["activations"]
    p = sub.add_parser("activations", parents=[model, inputs], help=r.summary,
                       description=f"{r.title} ({r.paper}): {r.summary}.")
    p.add_argument("--layer", nargs="+", help="layers (default: every conv layer's output)")
    p.set_defaults(func=_activations, command="activations")
    r = METHODS["filters"]
    p = sub.add_parser("filters", parents=[model], help=r.summary,
                       description=f"{r.title} ({r.paper}): {r.summary}.")
    p.set_defaults(func=_filters, command="filters")
