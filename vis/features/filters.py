"""First-layer filters as colour images.

A first-layer filter ``W[f]`` of shape (C=3, KH, KW) lives in the same space
as an input patch, so it can be drawn as a tiny RGB image: the patch that
excites it most, up to scale (its dot product with a unit-norm patch is
largest for the patch parallel to it; "patch" in the network's input units).
Krizhevsky et al. 2012, Fig. 3, showed AlexNet's 96 11x11 filters this way —
oriented edges, gratings and colour blobs, like Gabor filters and the
receptive fields of V1 — and cs231n's "Visualizing what ConvNets learn" made
it the first slide. Deeper filters have C = 64, 128 … input channels with no
colour meaning; for those, :func:`filter_norms` gives one number per filter,
and the other methods (activation maximisation, maximally activating patches)
show what they want.

Display: each filter is min-max scaled *on its own* over all its KH*KW*3
values (one scale for its three channels, so its hue is kept)::

    img = (W[f] - min W[f]) / (max W[f] - min W[f])        in [0, 1]

This hides the filters' relative strength, as every per-filter display does.
Caffe and Keras' VGG weights expect BGR input (``meta["preprocess"]
["channel_order"]``), so their filters' channels are reversed to RGB first.
A constant filter (max = min) is drawn flat grey 0.5.

Example:
    >>> from minicnn import models
    >>> first_layer_filters(models.tiny()).shape      # tiny's conv1_1: 8 3x3 filters
    (8, 3, 3, 3)
"""

import math

import numpy as np

from minicnn.backend import asnumpy

from ..image import tile
from ..netinfo import first_conv


def first_layer_filters(net):
    """The first conv layer's filters as RGB images in [0, 1].

    Args:
        net: a ``minicnn.net.Net`` whose first Conv2d sees the 3 image channels.

    Returns:
        (F, KH, KW, 3) float64, each filter min-max scaled to [0, 1] on its own,
        channels in RGB order whatever the net's ``channel_order``.
    """
    conv = first_conv(net)
    W = np.asarray(asnumpy(conv.params["W"]), dtype=np.float64)   # (F, C, KH, KW)
    if W.shape[1] != 3:
        raise ValueError(f"{conv.name}: filters have {W.shape[1]} input channels, "
                         "not 3 colour channels; use filter_norms for such layers")
    W = W.transpose(0, 2, 3, 1)                                      # (F, KH, KW, C)
    order = net.meta.get("preprocess", {}).get("channel_order", "RGB").upper()
    if order == "BGR":
        W = W[..., ::-1]
    lo = W.min(axis=(1, 2, 3), keepdims=True)
    span = W.max(axis=(1, 2, 3), keepdims=True) - lo
    return np.divide(W - lo, span, out=np.full_like(W, 0.5), where=span > 0)


def filter_grid(filters, ncols=None, pad=1, upscale=None):
    """Tile filter images into one picture, each enlarged by pixel repetition.

    Args:
        filters: (F, KH, KW, 3) RGB in [0, 1] from :func:`first_layer_filters`
            (or (F, KH, KW) grey).
        ncols: tiles per row (None: ceil(sqrt(F))).
        pad: black pixels between tiles, counted after upscaling.
        upscale: integer zoom s (nearest neighbour, so the weights stay visible
            as squares); None: ceil(32 / max(KH, KW)), tiles of about 32 px
            whatever the kernel (11x for VGG's 3x3, 3x for AlexNet's 11x11).

    Returns:
        uint8 (rows * (KH*s + pad) - pad, ncols * (KW*s + pad) - pad, 3), the
        display layout of ``vis.image`` (no last axis for grey filters);
        filter k at tile (k // ncols, k % ncols).
    """
    filters = np.asarray(filters, dtype=np.float64)
    s = upscale or math.ceil(32 / max(filters.shape[1:3]))
    big = filters.repeat(s, axis=1).repeat(s, axis=2)
    if big.ndim == 4:
        big = big.transpose(0, 3, 1, 2)                  # (F, 3, h, w), as tile expects
    return tile(big, ncols=ncols, pad=pad, normalize=False)


def filter_norms(net, layer):
    """L2 norm of each filter of a conv or linear layer: a quick look at dead or tiny filters.

    Args:
        net: a Net. layer: name of a layer with a weight ``W`` of shape
            (F, C, KH, KW) or (F, D).

    Returns:
        (F,) float64, ``||W[f]||_2``.
    """
    W = np.asarray(asnumpy(net[layer].params["W"]), dtype=np.float64)
    return np.sqrt((W.reshape(W.shape[0], -1) ** 2).sum(axis=1))
