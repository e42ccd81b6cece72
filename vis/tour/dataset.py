"""The tour's dataset sections: units across the data, the space of CNN codes, dataset bias.

Smaller than the subcommands' defaults so the tour stays quick: the top 9
patches of 8 channels of the last conv layer over 500 shapes test images
(Zeiler & Fergus 2014, Fig. 2), t-SNE and nearest neighbours of 300 codes
(van der Maaten & Hinton 2008; Krizhevsky et al. 2012, Fig. 4), and the
watermark model against the clean one on 300 images (``minicnn bias`` runs
2,000).
"""

import html

import numpy as np

from minicnn.data import TEST_SEED
from vis import pictures
from vis.features.codes import codes
from vis.features.dataset_bias import dataset_bias
from vis.features.neighbours import label_agreement, nearest_neighbours
from vis.features.patches import top_patches
from vis.features.sources import ShapesSource
from vis.features.tsne import tsne
from vis.netinfo import code_layer, last_conv
from vis.registry import METHODS, SECTIONS

from . import page


def units_section(gallery):
    net, rec = gallery.net, METHODS["patches"]
    layer = last_conv(net)
    channels = list(range(min(8, net.output_shapes()[layer][0])))
    r = top_patches(net, ShapesSource(500, seed=TEST_SEED), layer, channels=channels, k=9,
                    progress=False)
    figs = [gallery.figure(f"patches_{layer}_{rule}.png", pictures.patch_grid(r, rule=rule),
                           f"{rec.title}: channels 0-{len(channels) - 1} of {layer}, the top 9 "
                           f"of 500 shapes test images | their {rule} projections (hatched: "
                           f"padding) ({rec.paper})") for rule in ("deconvnet", "guided")]
    intro = ("<p>For each channel, the 9 images whose strongest unit of the channel is "
             "largest, cropped to the unit's receptive field, and that one activation "
             "projected back to the pixels.</p>")
    return "units", SECTIONS["units"], intro + page.row(figs)


def codes_section(gallery):
    net = gallery.net
    layer, source = code_layer(net), ShapesSource(300, seed=TEST_SEED)
    c = codes(net, source, layer, progress=False)
    images, labels = source.read(0, len(source))
    t = tsne(c.codes, seed=0)
    names = gallery.names
    rec, nrec = METHODS["embed"], METHODS["neighbours"]
    figs = [gallery.figure(f"tsne_{layer}.png", pictures.scatter(t.embedding, labels, names),
                           f"{rec.title}: {layer} of 300 shapes test images, perplexity 30, "
                           f"KL {t.kl:.3f} ({rec.paper})")]
    queries = np.arange(6)
    for space, X in (("code", c.codes), ("pixel", images.reshape(len(images), -1))):
        nn = nearest_neighbours(X, queries, k=6)
        rate = label_agreement(nn.index, labels, queries)
        figs.append(gallery.figure(
            f"neighbours_{space}.png", pictures.neighbour_rows(images, queries, nn.index,
                                                               labels=labels),
            f"Nearest neighbours in {space} space ({layer if space == 'code' else 'pixels'})"
            f": query (green) and its 6 nearest of 300 (red: another class); share with the "
            f"query's class {rate:.2f} ({nrec.paper})"))
    intro = ("<p>The input of the last Linear layer is a code for the image: close codes, "
             "similar images, though their pixels differ.</p>")
    return "codes", SECTIONS["codes"], intro + page.row(figs)


def bias_section(gallery):
    from minicnn import models
    rec = METHODS["bias"]
    r = dataset_bias(models.load("tiny_biased"), gallery.net, n=300, progress=False)
    rows = [pictures.map_overlay_row(r.images, m, r.box) for m in (r.cam_biased, r.cam_clean)]
    fig = gallery.figure("bias_cam.png", np.concatenate(rows, axis=0),
                         f"CAM of '{r.class_name}' on marked images: tiny_biased (top) and "
                         f"tiny (bottom); box: the mark ({rec.paper})")
    table = ("<table><tr><th></th><th>tiny_biased</th><th>tiny</th></tr>" + "".join(
        f"<tr><td>{html.escape(f.replace('_', ' '))}</td><td>{getattr(r.biased, f):.3f}</td>"
        f"<td>{getattr(r.clean, f):.3f}</td></tr>" for f in r.biased._fields) + "</table>")
    intro = (f"<p>tiny_biased was trained with a small mark in the corner of every "
             f"'{html.escape(r.class_name)}' image. Without the mark it never finds that class; "
             f"with the mark pasted on other shapes it calls them '{html.escape(r.class_name)}'"
             f"; its CAM lights up the mark ({r.n} shapes test images).</p>")
    return "bias", SECTIONS["bias"], intro + table + fig
