"""The dataset subcommands: ``patches``, ``neighbours``, ``embed``, ``bias``.

::

    minicnn patches [--model M] [--layer L] [--channels C...] [-k 9] [--n 2000 | --images DIR]
    minicnn neighbours [--model M] [--layer L] [-k 6] [--metric l2|cosine] [--n 1000]
    minicnn embed [--model M] [--layer L] [--n 500] [--perplexity 30] [--seed 0] [--cache F]
    minicnn bias [--n 2000]

The data are the shapes test images (``--n`` of them, seed ``TEST_SEED``) or
the images of a folder (``--images DIR``, scaled and centre-cropped to the
model's input). Each writes PNGs (``patches`` also an HTML page per layer)
into ``--out`` and prints its numbers.
"""

import html
import inspect
from pathlib import Path

import numpy as np

from minicnn.data import TEST_SEED
from vis import draw, pictures
from vis.features.codes import codes
from vis.features.dataset_bias import dataset_bias
from vis.features.layout import grid_layout
from vis.features.neighbours import label_agreement, nearest_neighbours
from vis.features.patches import top_patches
from vis.features.pca import pca
from vis.features.sources import ShapesSource, as_source
from vis.features.tsne import tsne
from vis.netinfo import code_layer, last_conv
from vis.registry import METHODS

from . import common


def _source(args, net):
    if args.images:
        return as_source(args.images, net)
    if tuple(net.meta.get("input_size", (224, 224))) not in ((64, 64), [64, 64]):
        raise ValueError(f"{net.meta.get('arch', 'this model')} needs --images FOLDER "
                         "(the shapes images are 64x64)")
    return ShapesSource(args.n, seed=TEST_SEED)


def _images_and_labels(source):
    images, labels = source.read(0, len(source))
    return images, (None if labels is None else np.asarray(labels))


def _patches(args):
    rec, net = METHODS["patches"], common.load_model(args.model)
    layer = common.check_layer(net, args.layer or last_conv(net), "patches")
    source = _source(args, net)
    channels = common.check_channels(net, layer, args.channels or list(range(min(
        8, net.output_shapes()[layer][0]))))
    out, stem = common.out_dir(args.out), common.model_stem(args.model)
    paths = {r: out / f"{stem}_patches_{layer}_{r}.png" for r in ("deconvnet", "guided")}
    page = out / f"{stem}_patches_{layer}.html"
    common.check_free(list(paths.values()) + [page], args.force)
    with common.blas_threads(net):
        r = top_patches(net, source, layer, channels=channels, k=args.k, workers=args.workers)
    for rule, path in paths.items():
        title = (f"{rec.title} ({rec.paper}) - {stem}\n{layer}, channels "
                 f"{', '.join(map(str, channels))}: top {args.k} of {len(source)} images | "
                 f"their {rule} projections (hatched: padding)")
        common.save(path, pictures.patch_grid(r, rule=rule), args.force, title)
    rows = "".join(f"<tr><td>{int(c)}</td>" + "".join(
        f"<td>{v:.3g}<br>image {int(i)}<br>{tuple(int(b) for b in box)}</td>"
        for v, i, box in zip(r.values[n], r.image_index[n], r.boxes[n])) + "</tr>"
        for n, c in enumerate(r.channels))
    text = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(layer)}"
            f"</title></head><body><h1>{html.escape(rec.title)}: {html.escape(stem)} "
            f"{html.escape(layer)}</h1><p>{html.escape(rec.paper)}. Each cell: the unit's "
            "value, the image index, the receptive-field box (x0, y0, x1, y1).</p>"
            + "".join(f'<p><img src="{p.name}" alt="{html.escape(rule)} projections" '
                      f'style="max-width:100%"></p>' for rule, p in paths.items())
            + f"<table border='1'>{rows}</table></body></html>\n")
    common.save_text(page, text, args.force)


def _neighbours(args):
    rec, net = METHODS["neighbours"], common.load_model(args.model)
    layer = args.layer or code_layer(net)
    net[layer]                                             # KeyError with close names
    source = _source(args, net)
    if len(source) <= args.k:                      # each query's own code is not counted
        raise ValueError(f"--k {args.k} neighbours need at least {args.k + 1} images, "
                         f"{'--n' if not args.images else '--images'} gives {len(source)}")
    out, stem = common.out_dir(args.out), common.model_stem(args.model)
    paths = {s: out / f"{stem}_neighbours_{s}.png" for s in ("code", "pixel")}
    common.check_free(list(paths.values()), args.force)
    with common.blas_threads(net):
        c = codes(net, source, layer)
    images, labels = _images_and_labels(source)
    queries = np.arange(min(args.queries, len(source)))
    for space, X in (("code", c.codes), ("pixel", images.reshape(len(images), -1))):
        nn = nearest_neighbours(X, queries, k=args.k, metric=args.metric)
        rate = label_agreement(nn.index, labels, queries) if labels is not None else None
        said = "" if rate is None else f"; neighbours with the query's label: {rate:.3f}"
        title = (f"{rec.title} ({rec.paper}) - {stem}\n{space} space"
                 f"{f' ({layer})' if space == 'code' else ''}, {args.metric}: each query "
                 f"(green) and its {args.k} nearest of {len(source)} (red: another class)"
                 f"{said}")
        print(title.replace("\n", "; "))
        common.save(paths[space], pictures.neighbour_rows(images, queries, nn.index,
                                                          labels=labels), args.force, title)


#: The most points ``vis.features.tsne.tsne`` takes by default (its ``max_points``).
TSNE_MAX = inspect.signature(tsne).parameters["max_points"].default


def _check_tsne(perplexity, N, most=TSNE_MAX):
    """t-SNE's limits (``vis.features.tsne``: 3 <= N <= max_points, 1 <= perplexity < N - 1),
    checked before the codes are computed."""
    if not 3 <= N <= most:
        raise ValueError(f"t-SNE here takes 3 to {most} images (exact t-SNE keeps N x N "
                         f"arrays); got {N}: choose --n in that range")
    if not 1 <= perplexity < N - 1:
        raise ValueError(f"--perplexity {perplexity:g} must be in [1, N - 1) for N = {N} "
                         f"images (an effective number of neighbours); e.g. --perplexity "
                         f"{min(30, max(1, (N - 1) // 3))}, or a larger --n")


def _embed(args):
    rec, net = METHODS["embed"], common.load_model(args.model)
    layer = args.layer or code_layer(net)
    net[layer]
    source = _source(args, net)
    _check_tsne(args.perplexity, len(source))
    out, stem = common.out_dir(args.out), common.model_stem(args.model)
    paths = {s: out / f"{stem}_{s}_{layer}.png" for s in ("tsne", "grid", "pca")}
    common.check_free(list(paths.values()), args.force)
    with common.blas_threads(net):
        c = codes(net, source, layer, cache=args.cache)
        t = tsne(c.codes, perplexity=args.perplexity, seed=args.seed, progress=True)
        p = pca(c.codes, 2)
    images, labels = _images_and_labels(source)
    names = net.meta.get("class_names") or [str(k) for k in range(int(labels.max()) + 1)] \
        if labels is not None else ["images"]
    labels = labels if labels is not None else np.zeros(len(images), int)
    head = f"{stem}, {layer}, {len(images)} images"
    common.save(paths["tsne"], pictures.scatter(t.embedding, labels, names),
                args.force, f"{rec.title} ({rec.paper}) - {head}\nperplexity "
                f"{args.perplexity:g}, seed {args.seed}, KL {t.kl:.3f}")
    common.save(paths["grid"], pictures.thumbnail_grid(images, grid_layout(t.embedding)),
                args.force, f"t-SNE thumbnail grid (Karpathy) - {head}")
    ratio = ", ".join(f"{v:.1%}" for v in p.explained_variance_ratio[:2])
    common.save(paths["pca"], pictures.scatter(p.projected, labels, names), args.force,
                f"PCA of CNN codes - {head}\nexplained variance {ratio}")
    print(f"t-SNE KL divergence {t.kl:.4f}; PCA explained variance {ratio}")


def _bias(args):
    rec = METHODS["bias"]
    biased, clean = common.load_model("tiny_biased"), common.load_model("tiny")
    out = common.out_dir(args.out)
    path = out / "tiny_biased_bias.png"
    common.check_free([path], args.force)
    with common.blas_threads(clean):
        r = dataset_bias(biased, clean, n=args.n)
    print(f"{'':<44}{'tiny_biased':>12}{'tiny':>8}   ({r.n} test images, class "
          f"{r.class_name} marked in training)")
    for field in r.biased._fields:
        print(f"{field:<44}{getattr(r.biased, field):>12.4f}{getattr(r.clean, field):>8.4f}")
    rows = [pictures.map_overlay_row(r.images, m, r.box) for m in
            (r.cam_biased, r.cam_clean)]
    picture = np.concatenate([draw.side_by_side([r.images[i] for i in range(len(r.images))],
                                                pad=2, factor=draw.auto_zoom(64, 128))]
                             + rows, axis=0)
    title = (f"{rec.title} ({rec.paper})\nmarked images | CAM of '{r.class_name}' in "
             f"tiny_biased | in tiny (box: the mark); CAM energy in the box "
             f"{r.biased.cam_energy:.3f} vs {r.clean.cam_energy:.3f}")
    common.save(path, picture, args.force, title,
                draw.Scale("jet", "min", "max", "CAM rows 2-3, each image on its own scale"))


def _source_options(p, record):
    common.add_option(p, record, "n")
    p.add_argument("--images", metavar="DIR", help="a folder of images instead of the "
                   "shapes test images (scaled and centre-cropped to the model's input)")


def _out_options(p):
    p.add_argument("--out", default="out", metavar="DIR",
                   help="folder for the PNGs (default: out/)")
    p.add_argument("--force", action="store_true", help="overwrite existing files")


def register(sub):
    """The dataset commands; the methods' options come from the registry records."""
    model = common.model_parent()
    for name in ("patches", "neighbours", "embed", "bias"):
        rec = METHODS[name]
        p = sub.add_parser(name, parents=[] if name == "bias" else [model], help=rec.summary,
                           description=f"{rec.title} ({rec.paper}): {rec.summary}.")
        if name == "bias":
            _out_options(p)
            common.add_option(p, rec, "n")
            p.set_defaults(func=_bias)
            continue
        p.add_argument("--layer", help="the layer (default: " + (
            "the last conv layer" if name == "patches" else "the input of the last Linear, "
            "the CNN code") + ")")
        _source_options(p, rec)
        if name == "patches":
            p.add_argument("--channels", nargs="+", type=int, metavar="C",
                           help="channels (default: the first 8)")
            common.add_option(p, rec, "k")
            p.add_argument("--workers", type=common.positive_int, default=1,
                           help="worker processes (default: 1; the top-k merge is exact)")
            p.set_defaults(func=_patches)
        elif name == "neighbours":
            common.add_option(p, rec, "k")
            common.add_option(p, rec, "metric", choices=("l2", "cosine"))
            p.add_argument("--queries", type=common.positive_int, default=8,
                           help="query images, the first of the data (default: 8)")
            p.set_defaults(func=_neighbours)
        else:
            common.add_option(p, rec, "perplexity")
            common.add_option(p, rec, "seed")
            p.add_argument("--cache", type=Path, help="a .npy file for the codes, reused "
                           "when it matches (default: no cache)")
            p.set_defaults(func=_embed)
