"""The tour's real-photo section: one unit of each deep block, projected under the three rules.

Zeiler & Fergus 2014 (Sec. 2.1, Fig. 2) show what a unit of a deep layer
responds to by projecting its strongest activation back to the pixels;
Springenberg et al. 2015 (Sec. 3.4, Fig. 6) do the same with guided
backpropagation. For the last conv layer of each of the last three blocks
(``relu3_3``, ``relu4_3``, ``relu5_3`` in VGG16) this section takes each
image's most active unit (the target ``(layer, "top")``) and shows the true
gradient, the deconvnet and the guided projection side by side: they differ
only at the ReLUs (``minicnn/layers/relu.py``).
"""

from minicnn.layers import MaxPool2d

from vis import draw
from vis.attribution.gradients import gradients
from vis.netinfo import channel_order, conv_layers
from vis.targets import injection

from . import page

RULES = ("gradient", "deconvnet", "guided")


def block_ends(net, count=3):
    """The conv output just before each max-pool, and the last one: the blocks' ends."""
    convs, ends = conv_layers(net), []
    for i, layer in enumerate(net.layers):
        before = [c for c in convs if net.index(c) < i]
        if isinstance(layer, MaxPool2d) and before:
            ends.append(before[-1])
    ends.append(convs[-1])
    return list(dict.fromkeys(ends))[-count:]


def photo_section(gallery):
    """(id, title, html) of the section, written into ``gallery``'s folder."""
    net, x, inputs = gallery.net, gallery.x, gallery.inputs
    figs, order = [], channel_order(net)
    for layer in block_ends(net):
        _, used = injection(net, x, (layer, "top"))
        maps = {rule: gradients(net, x, (layer, "top"), rule=rule) for rule in RULES}
        for n, stem in enumerate(inputs.names):
            _, k, i, j = used[n]
            panels = [inputs.images[n]] + [draw.signed_rgb(maps[r][n], order) for r in RULES]
            caption = (f"{stem}: the most active unit of {layer} (channel {k} at row {i}, "
                       f"column {j}) projected to the pixels: image | gradient | deconvnet "
                       "(Zeiler & Fergus 2014, Sec. 2.1) | guided backprop (Springenberg "
                       "et al. 2015, Sec. 3.4)")
            figs.append(gallery.figure(f"{stem}_{layer}_rules.png",
                                       draw.side_by_side(panels, factor=1), caption))
    arch = net.meta.get("arch", "the net")
    intro = (f"<p>{arch} on the given photo. Each row: one unit of a deep layer, its "
             "strongest activation sent back to the pixels under the three backward "
             "rules.</p>")
    return "photo", f"A real photo through {arch}", intro + page.row(figs)
