r"""Texture synthesis: an image with the same feature correlations as a texture.

Gatys, Ecker & Bethge 2015 ("Texture Synthesis Using Convolutional Neural
Networks"), Sec. 2. A texture is represented by the Gram matrices of the
feature maps of several layers (Eq. 1), ``G^l = F^l F^l^T`` (C_l x C_l,
summed over the M_l positions); a new sample starts from white noise and is
changed until its Gram matrices match those of the texture (Eqs. 4-5)::

    E_l = 1 / (4 C_l^2 M_l^2) sum_ij (G^l_ij - A^l_ij)^2        L = sum_l w_l E_l

minimized by L-BFGS. The layers of their full model are ``conv1_1, pool1,
pool2, pool3, pool4`` of VGG19 (Fig. 2; Caffe's in-place ReLU makes their
``conv1_1`` our ``relu1_1``), and "we replaced the max-pooling operation by
average pooling" (``pooling="average"``: :func:`average_pooling`).

Defaults and where they come from:

* layers: the first conv's ReLU and the pooling layers, up to four (the
  paper's choice, on any net); equal weights ``w_l = 1 / L`` (Gatys' code uses
  1e9 for each: only the ratio matters to L-BFGS);
* E_l normalisation: the paper's (``objectives.STYLE_NORMALIZATIONS``); the
  Gram matrices of a texture of another size are rescaled by ``M_x / M_texture``
  so that the target is per position the same;
* start: N(0, 1) in Caffe units (Gatys' ``ImageSyn``: ``np.random.randn``),
  i.e. std ``input_scale(net) / 255`` here;
* L-BFGS-B with the pixel bounds, 200 evaluations (ours; the paper's Fig. 2
  used more).

Where this code differs: Gatys et al. also rescale VGG19's weights so that
every filter's mean activation over images and positions is one; we use the
weights as they are.

Example:
    >>> import numpy as np
    >>> from minicnn import models
    >>> net = models.load("tiny")
    >>> tex = np.random.default_rng(0).standard_normal((1, 3, 32, 32)).astype(np.float32)
    >>> r = texture(net, tex, steps=3, progress=False)
    >>> r.info["layers"], r.x.shape
    (['relu1_1', 'pool1', 'pool2', 'pool3'], (1, 3, 32, 32))
"""

import copy

from minicnn.backend import get_array_module
from minicnn.layers import MaxPool2d, ReLU
from minicnn.layers.avgpool import AvgPool2d
from minicnn.net import Net

from ..objectives import gram_matrix, style
from ..optimize import optimize
from .common import CAFFE, check_batch, check_layers, check_size, input_scale, noise, shapes_upto

POOLINGS = ("average", "max")


def average_pooling(net):
    """A copy of ``net`` whose max-pooling layers average instead (same names and windows).

    The other layers are shallow copies sharing the parameter arrays, so the
    copy costs no memory; the original net is unchanged.
    """
    layers = []
    for layer in net.layers:
        if isinstance(layer, MaxPool2d):
            layers.append(AvgPool2d(layer.name, layer.kernel_size, layer.stride, layer.padding))
        else:
            twin = copy.copy(layer)
            twin.params, twin.grads = dict(layer.params), {}
            layers.append(twin)
    return Net(layers, dict(net.meta))


def pooled(net, pooling):
    """``net`` itself for "max", :func:`average_pooling` of it for "average"."""
    if pooling not in POOLINGS:
        raise ValueError(f"unknown pooling {pooling!r}: use one of {', '.join(POOLINGS)}")
    return average_pooling(net) if pooling == "average" else net


def texture_layers(net):
    """Gatys 2015's layers on any net: the first conv's ReLU, then up to four pooling layers."""
    first = next((lay.name for lay in net.layers if isinstance(lay, ReLU)), net.layers[0].name)
    pools = [lay.name for lay in net.layers if isinstance(lay, MaxPool2d)][:4]
    return [first] + pools


def gram_targets(net, image, layers, normalize, size):
    """Gram matrices of ``image`` at ``layers``, rescaled to an output of ``size``."""
    net.forward(image, until=max(layers, key=net.index))
    out = []
    shapes = shapes_upto(net, (image.shape[1],) + tuple(size), max(layers, key=net.index))
    for layer in layers:
        A = gram_matrix(net.outputs[layer], normalize)
        if normalize == "gatys":                    # unnormalised: sum over M positions
            h, w = net.outputs[layer].shape[2:]
            A = A * (shapes[layer][1] * shapes[layer][2] / (h * w))
        out.append(A[0] if A.shape[0] == 1 else A)
    return out


def texture(net, texture_image, size=None, layers=None, weights=None, pooling="average",
            normalize="gatys", steps=200, x0=None, seed=0, progress=True):
    """Gatys et al. 2015: synthesize a texture by matching Gram matrices with L-BFGS-B.

    Args:
        net: a Net. texture_image: (1, C, h, w) preprocessed texture.
        size: (H, W) of the result; default the texture's size.
        layers: default :func:`texture_layers`. weights: w_l, default 1/L.
        pooling: "average" (the paper) or "max". normalize: a key of
            ``objectives.STYLE_NORMALIZATIONS``.
        steps: L-BFGS-B evaluations. x0: start (1, C, H, W); default seeded noise.

    Returns:
        ``optimize.Result``: ``history["style"]`` is L per evaluation, with one
        ``"style <layer>"`` entry per layer; ``info``: ``layers``, ``pooling``.

    Raises:
        KeyError: unknown layer or normalization. ValueError: an image too small
            for the deepest layer (naming it and the minimum size), bad pooling.
    """
    check_batch(texture_image, "texture_image")
    layers = check_layers(net, layers or texture_layers(net))
    work = pooled(net, pooling)
    size = tuple(size or texture_image.shape[2:])
    check_size(net, texture_image, layers, "the texture image")
    shape = (1, texture_image.shape[1]) + size
    check_size(net, noise(shape, 0, 0), layers, "the output size")
    targets = gram_targets(work, texture_image, layers, normalize, size)
    if x0 is None:
        x0 = noise(shape, input_scale(net) / CAFFE, seed, like=texture_image)
    xp = get_array_module(texture_image)
    result = optimize(work, -style(layers, targets, weights, normalize), xp.asarray(x0),
                      steps=steps, step="lbfgs", bounds="pixels", seed=seed,
                      progress=progress, desc="texture")
    result.info.update(layers=layers, pooling=pooling)
    return result
