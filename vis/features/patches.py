r"""Maximally activating patches and their deconvnet / guided projections.

Zeiler & Fergus 2014, Sec. 4 and Fig. 2: for a feature map of a layer, the 9
strongest activations "across the validation data", each shown as the image
patch the unit sees and, beside it, that one activation projected back to
pixel space by the deconvnet (Sec. 2.1); Springenberg et al. 2015, Fig. 7
shows the same patches with guided backpropagation. Three steps:

1. **Search** (``shards.py``, ``topk.py``): stream the dataset and keep, for
   each channel c, the k images whose strongest unit of c is largest —
   ``values (C, k)``, ``image_index (C, k)``, ``position (C, k, 2)``. One
   entry per image; ties go to the lower image index.
2. **Patch**: unit (i, j) of a layer sees the input box
   ``net.receptive_field(layer).box(i, j) = (x0, y0, x1, y1)``::

       y0 = offset + i * stride       y1 = y0 + size       (rows; likewise x, columns)

   the composition of every window, stride and padding below the layer
   (``minicnn/net.py``). Near the border the box hangs over the image; the
   network saw zero *input* there (its padding), so the patch shows
   ``deprocess(0)`` there — the mean colour — and ``inside`` marks the real
   pixels, for the drawing to show the padding as such.
3. **Project** (Zeiler & Fergus 2014, Sec. 2.1: "we set all other
   activations in the layer to zero and pass the feature maps as input to
   the attached deconvnet layer"): inject ``g = A`` at the one unit and 0
   elsewhere, and backpropagate under the rule::

       g[c, i, j] = A[c, i, j],  0 elsewhere        (vis/targets.py)
       projection = net.backward({layer: g}, rule)  ("deconvnet" or "guided")

   cropped to the same box. The projection is zero outside the receptive
   field, so the crop loses nothing. It is in network-input units (channels
   reordered to RGB); the drawing normalises it.

Where this differs from the paper: Zeiler & Fergus show 9 activations of a
*random subset* of feature maps of ImageNet's validation set through their
own deconvnet code; this code searches every channel asked for, over any
source, and projects with the same engine whose backward rules are the
lecture's (``minicnn/layers/relu.py``).

Example:
    >>> from minicnn import models
    >>> from vis.features.sources import ShapesSource
    >>> net = models.load("tiny")
    >>> r = top_patches(net, ShapesSource(32, seed=0), "relu3_2", channels=[1, 7], k=4,
    ...                 progress=False)
    >>> r.values.shape, r.patches.shape, r.guided.shape   # relu3_2 units see 32x32
    ((2, 4), (2, 4, 3, 32, 32), (2, 4, 3, 32, 32))
    >>> bool((r.values[:, :-1] >= r.values[:, 1:]).all())
    True
"""

from typing import NamedTuple, Optional

import numpy as np

from minicnn.backend import asnumpy, get_array_module
from minicnn.preprocessing import deprocess, preprocess
from minicnn.progress import Progress

from ..netinfo import channel_order
from .shards import scan
from .sources import as_source


class TopPatches(NamedTuple):
    """The k maximally activating patches of each channel of a layer.

    Attributes:
        layer: the layer's name. channels: (C,) int64, the channels in order.
        values: (C, k) float32, best first: the image's strongest unit of the channel.
        image_index: (C, k) int64, index of the image in the source.
        position: (C, k, 2) int64, the unit's (i, j) in the layer's map.
        boxes: (C, k, 4) int64 receptive-field boxes ``(x0, y0, x1, y1)`` in
            input pixels (``ReceptiveField.box``, as ``Shapes.boxes``), end
            exclusive, possibly beyond the image.
        patches: (C, k, 3, RH, RW) float32 RGB in [0, 1], RH x RW the field's size.
        inside: (C, k, RH, RW) bool, True on pixels of the image (False: padding).
        deconvnet: (C, k, 3, RH, RW) float32 projections (None if not asked for).
        guided: (C, k, 3, RH, RW) float32 guided-backprop projections (or None).
        labels: (C, k) int64 labels of the images, or None.
    """
    layer: str
    channels: np.ndarray
    values: np.ndarray
    image_index: np.ndarray
    position: np.ndarray
    boxes: np.ndarray
    patches: np.ndarray
    inside: np.ndarray
    deconvnet: Optional[np.ndarray]
    guided: Optional[np.ndarray]
    labels: Optional[np.ndarray]


def crop(image, box, fill):
    """The window ``box = (x0, y0, x1, y1)`` of ``image`` (3, H, W), padded with ``fill``.

    Returns:
        patch (3, y1 - y0, x1 - x0) and inside (y1 - y0, x1 - x0) bool.
    """
    x0, y0, x1, y1 = (int(v) for v in box)
    H, W = image.shape[1:]
    patch = np.empty((image.shape[0], y1 - y0, x1 - x0), image.dtype)
    patch[:] = np.asarray(fill, image.dtype).reshape(-1, 1, 1)
    inside = np.zeros((y1 - y0, x1 - x0), bool)
    ya, yb, xa, xb = max(y0, 0), min(y1, H), max(x0, 0), min(x1, W)
    if ya < yb and xa < xb:
        patch[:, ya - y0:yb - y0, xa - x0:xb - x0] = image[:, ya:yb, xa:xb]
        inside[ya - y0:yb - y0, xa - x0:xb - x0] = True
    return patch, inside


def check_layer(net, layer):
    """The layer's (C, h, w); ValueError for a layer without spatial extent."""
    shape = net.output_shapes()[net[layer].name]
    if len(shape) != 3:
        raise ValueError(f"{layer} outputs {tuple(shape)}, a vector with no spatial "
                         "extent: maximally activating patches need a conv-side layer "
                         "(N, C, h, w); use codes() for vectors")
    return shape


def _check(net, source, layer, channels, k, rules):
    C = check_layer(net, layer)[0]
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    if k > len(source):
        raise ValueError(f"k={k} is larger than the dataset ({len(source)} images): "
                         "top_patches keeps one patch per image")
    channels = np.arange(C) if channels is None else np.asarray(channels, np.int64).reshape(-1)
    bad = channels[(channels < 0) | (channels >= C)]
    if bad.size or channels.size == 0:
        what = f"channel {int(bad[0])} out of range" if bad.size else "no channels given"
        raise ValueError(f"{what}: {layer} has {C} channels, 0 .. {C - 1}")
    unknown = [r for r in rules if r not in ("deconvnet", "guided")]
    if unknown:
        raise ValueError(f"unknown projection rule {unknown[0]!r}: use 'deconvnet' and/or "
                         "'guided'")
    return channels


def project(net, x, layers, units, rules=("deconvnet", "guided")):
    """Backpropagate single units to the input, one unit per image, under each rule.

    Args:
        x: (B, C, H, W) preprocessed images.
        layers: the layer of each image's unit: one name, or B names (one
            forward pass to the deepest and one backward pass per rule serve
            them all: an image's gradient is zero at every other layer).
        units: (B, 3) int (channel, i, j), one per image of the batch.
        rules: backward rules.

    Returns:
        ``{rule: (B, C, H, W)}`` input-space projections, in the network's
        channel order.
    """
    layers = [layers] * len(units) if isinstance(layers, str) else list(layers)
    net.forward(x, until=max(set(layers), key=net.index))
    grads = {}
    for name in set(layers):
        out = net.outputs[name]
        xp = get_array_module(out)
        rows = np.array([r for r, lay in enumerate(layers) if lay == name])
        n = xp.asarray(rows)
        c, i, j = (xp.asarray(units[rows, a]) for a in range(3))
        g = xp.zeros_like(out)
        g[n, c, i, j] = out[n, c, i, j]
        grads[name] = g
    return {rule: net.backward(grads, rule=rule) for rule in rules}


def top_patches(net, source, layer, channels=None, k=9, rules=("deconvnet", "guided"),
                batch_size=128, workers=1, client=None, progress=True):
    """Zeiler & Fergus 2014, Fig. 2: the k strongest images of each channel, as patches.

    Args:
        net: a Net. source: a dataset (``sources.py``: ShapesSource, an RGB
            array (N, 3, H, W) in [0, 1], a Shapes set or a folder).
        layer: a layer with a spatial output (C, h, w), e.g. ``"relu4_2"``;
            or a list of layers, searched and projected in one pass.
        channels: which channels (default: all C).
        k: patches per channel (9: Zeiler & Fergus 2014, Fig. 2, "top 9").
        rules: projections to compute: any of "deconvnet" (Zeiler & Fergus
            2014, Sec. 2.1) and/or "guided" (Springenberg et al. 2015,
            Sec. 3.4); () for none (the search and the patches only).
        batch_size: images per forward pass.
        workers: shards in worker processes (1: this process only).
        client: a ``dask.distributed.Client`` to run the shards on.
        progress: progress bars.

    Returns:
        TopPatches (C = number of channels asked for), or ``{layer:
        TopPatches}`` for a list of layers; identical whatever ``workers``,
        ``client`` and ``batch_size``.

    Raises:
        KeyError: unknown layer. ValueError: a layer without spatial extent,
        k < 1 or k larger than the dataset, a channel out of range, an
        unknown rule, an empty source.
    """
    source = as_source(source, net)
    rules = tuple(rules)
    names = [net[layer].name] if isinstance(layer, str) else [net[n].name for n in layer]
    chosen = {name: _check(net, source, name, channels, k, rules) for name in names}
    states = scan(net, source, names, channels, k, batch_size, workers, client, progress)
    out = _patches(net, source, chosen, states, rules, batch_size, progress)
    return out[names[0]] if isinstance(layer, str) else out


def _patches(net, source, chosen, states, rules, batch_size, progress):
    """Steps 2 and 3 for every layer: crop the patches, project the units.

    The units of all layers are visited in image order, so that every image
    is read once and one forward pass serves all the units on it.
    """
    rows = []                                          # (layer, slot in its arrays, unit)
    out = {}
    for name, state in states.items():
        C, k = state.values.shape
        rf = net.receptive_field(name)
        units = np.concatenate([chosen[name].repeat(k)[:, None],
                                state.position.reshape(-1, 2)], axis=1)
        out[name] = {"boxes": np.array([rf.box(i, j) for i, j in units[:, 1:]], np.int64),
                     "patches": np.empty((C * k, 3) + rf.size, np.float32),
                     "inside": np.empty((C * k,) + rf.size, bool),
                     "labels": np.zeros(C * k, np.int64) if source.has_labels else None}
        out[name].update({rule: np.zeros((C * k, 3) + rf.size, np.float32) for rule in rules})
        rows += [(name, r, u, n) for r, (u, n) in enumerate(zip(units,
                                                                  state.image_index.reshape(-1)))]
    rows.sort(key=lambda row: row[3])                  # image order: one read each
    fill = deprocess(np.zeros((1, 3, 1, 1), np.float32), net.meta)[0, :, 0, 0]
    bgr = channel_order(net) == "BGR"
    params = list(net.state_dict().values())
    xp = get_array_module(params[0]) if params else np
    bar = Progress(-(-len(rows) // batch_size), f"patches {', '.join(states)}",
                   enabled=progress)
    for a in range(0, len(rows), batch_size):
        batch = rows[a:a + batch_size]
        images, labels = source.take([row[3] for row in batch])
        labels = [None] * len(batch) if labels is None else labels
        for (name, r, _, _), image, label in zip(batch, images, labels):
            o = out[name]
            o["patches"][r], o["inside"][r] = crop(image, o["boxes"][r], fill)
            if o["labels"] is not None:
                o["labels"][r] = label
        if rules:
            x = xp.asarray(preprocess(images, net.meta))
            units = np.array([row[2] for row in batch])
            for rule, dx in project(net, x, [row[0] for row in batch], units, rules).items():
                dx = asnumpy(dx)
                dx = dx[:, ::-1] if bgr else dx
                for (name, r, _, _), d in zip(batch, dx):
                    out[name][rule][r] = crop(d, out[name]["boxes"][r], 0.0)[0]
        bar.update()
    bar.close()
    result = {}
    for name, state in states.items():
        C, k = state.values.shape
        o = {key: None if v is None else v.reshape((C, k) + v.shape[1:])
             for key, v in out[name].items()}
        result[name] = TopPatches(name, chosen[name], state.values.astype(np.float32),
                                  state.image_index, state.position, o["boxes"], o["patches"],
                                  o["inside"], o.get("deconvnet"), o.get("guided"), o["labels"])
    return result
