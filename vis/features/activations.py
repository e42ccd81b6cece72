"""Activation maps: what each channel of a layer responds to in one image.

The simplest look inside a CNN (Zeiler & Fergus 2014, Fig. 2 shows the
strongest ones; Yosinski et al. 2015, "Understanding neural networks through
deep visualization", show all of a layer live): run one forward pass and draw
every channel of a layer's output ``(C, h, w)`` as a small grey image, the C
images tiled in a grid. Early layers look like edge maps of the input; deep
layers become sparse and blob-like, firing only where a part they detect is.

Display normalisation (Chollet, *Deep Learning with Python*, §5.4.1,
"Visualizing intermediate activations"): each channel is standardised on its
own, then mapped to grey levels::

    g = uint8(clip(64 * (a - mean(a)) / (std(a) + 1e-5) + 128, 0, 255))

so mid-grey is the channel's mean and +-2 standard deviations span the range
(the ``1e-5`` of his 2nd edition keeps a dead channel at flat grey 128).
Per-channel scaling shows the *pattern* of every channel; it hides how strong
the channels are relative to each other (a nearly dead channel looks as
contrasted as a busy one). The normalisation and the grid (1 px black gaps,
no outer border, as in his 2nd edition) are ``vis.image.chollet_normalize``
and ``vis.image.tile``, shared with the rest of the drawing code; this module
only picks the layers and the channels.

Example:
    >>> import numpy as np
    >>> g = activation_grid(np.zeros((5, 2, 3)), ncols=3)   # 2 rows of 3 tiles
    >>> g.shape, g.dtype, int(g[0, 0])
    ((5, 11), dtype('uint8'), 128)
"""

import numpy as np

from minicnn.backend import asnumpy

from ..image import tile


def activations(net, x, layers=None):
    """Outputs of some layers for a batch, from one forward pass.

    Args:
        net: a ``minicnn.net.Net``.
        x: (N, C, H, W) preprocessed batch.
        layers: layer names; None means every layer whose output is 4-D
            (N, C, h, w), i.e. the convolutional side of the net.

    Returns:
        ``{name: (N, C', h, w) NumPy array}`` in forward order. The forward
        stops after the last layer asked for.
    """
    if layers is None:
        net.forward(x)
        return {name: asnumpy(out) for name, out in net.outputs.items() if out.ndim == 4}
    if isinstance(layers, str):
        layers = [layers]
    last = max(layers, key=net.index)      # KeyError with close names if unknown
    net.forward(x, until=last)
    return {name: asnumpy(net.outputs[name]) for name in sorted(layers, key=net.index)}


def activation_grid(act, ncols=None, pad=1):
    """One layer's activations for one image as a tiled grey grid.

    Args:
        act: (C, h, w) activations, e.g. ``activations(net, x)["conv1_1"][0]``.
        ncols: tiles per row (None: ceil(sqrt(C))). pad: pixels between tiles.

    Returns:
        (H, W) uint8 grey image (display layout, see ``vis.image``),
        H = rows * (h + pad) - pad and W = ncols * (w + pad) - pad; channel k
        at tile (r, c) = (k // ncols, k % ncols), top-left corner
        (r * (h + pad), c * (w + pad)); gaps and unused tiles are 0.
    """
    act = np.asarray(asnumpy(act))
    if act.ndim != 3:
        raise ValueError(f"expected one image's activations (C, h, w), got {act.shape}; "
                         "index the batch first, e.g. acts[name][0]")
    return tile(act, ncols=ncols, pad=pad, normalize=True)
