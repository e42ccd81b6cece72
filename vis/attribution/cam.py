r"""Class activation maps: CAM, Grad-CAM and Guided Grad-CAM.

**CAM** — Zhou et al. 2016, "Learning Deep Features for Discriminative
Localization", Sec. 2, Eq. 2. When a net ends in global average pooling and
one linear layer, ``S_c = sum_k w_k^c * mean_{x,y} f_k(x, y) + b_c``, so the
class score is the spatial mean of the *class activation map*::

    M_c(x, y) = sum_k w_k^c f_k(x, y)                (N, h, w)

``f_k`` is the output of the layer feeding the GAP (the last conv block, after
its ReLU), ``w^c`` the row of the linear layer. Like the paper we drop the
bias and keep the sign (Zhou's code then rescales to [0, 1] for display).

**Grad-CAM** — Selvaraju et al. 2017, Sec. 3, Eq. 1-2. For any net and any
conv-side layer ``A`` (N, K, h, w)::

    alpha_k^c = 1/Z sum_{i,j} dy^c / dA_ij^k            (Eq. 1, Z = h*w)
    L^c       = ReLU(sum_k alpha_k^c A^k)              (Eq. 2)

``dy^c/dA`` is ``net.backward({score: e_c}, until=layer)``. On a GAP → Linear
net, ``dy^c/dA_ij^k = w_k^c / Z`` at every (i, j), hence ``alpha = w^c / Z``
and Grad-CAM = ReLU(CAM) / Z: Grad-CAM generalises CAM (Sec. 3, "Grad-CAM
generalizes CAM"). ``y^c`` is the score before the softmax.

*Default layer.* The paper uses the last conv layer (``relu5_3``'s output in
VGG16: Caffe's ReLU is in place); Chollet's Keras recipe uses
``block5_conv3`` (conv + ReLU, 14x14); pytorch-grad-cam's README suggests
``model.features[-1]`` for VGG, which is after pool5 (7x7). We take the
**ReLU after the last ``Conv2d``** (``relu5_3`` in VGG16, 14x14; in
``tiny`` see the example below), i.e. before the last pool. For a *unit*
target the default is the last conv output before the unit's layer.

**Guided Grad-CAM** — Selvaraju et al. 2017, Sec. 3 ("Guided Grad-CAM"):
guided backprop times the Grad-CAM map upsampled to the input by bilinear
interpolation (``image.resize_maps``: half-pixel centres, as PyTorch's
``align_corners=False``)::

    G(x) = guided_backprop(x) * upsample(L^c)[None]     (N, C, H, W)

Example:
    >>> import numpy as np
    >>> from minicnn import models
    >>> from minicnn.data import make_shapes
    >>> from minicnn.preprocessing import preprocess
    >>> net = models.load("tiny")
    >>> x = preprocess(make_shapes(2, seed=1).images, net)
    >>> r = gradcam(net, x)
    >>> r.layer, r.coarse.shape, r.upsampled.shape
    ('relu4_2', (2, 8, 8), (2, 64, 64))
"""

from typing import NamedTuple

import numpy as np

from minicnn.backend import asnumpy, get_array_module

from .gradients import guided_backprop
from ..image import resize_maps
from ..netinfo import conv_layers, gap_head, last_conv
from ..targets import class_indices, injection, is_unit, resolve, score_layer


class CAMResult(NamedTuple):
    """A class activation map.

    Attributes:
        coarse: (N, h, w) at the layer's resolution.
        upsampled: (N, H, W) bilinearly resized to the input.
        target: (N,) class indices used (for a unit target: the N unit tuples).
        layer: name of the feature layer.
    """
    coarse: np.ndarray
    upsampled: np.ndarray
    target: object
    layer: str


def _result(maps, x, target, layer):
    up = resize_maps(maps, x.shape[2:])
    return CAMResult(asnumpy(maps), asnumpy(up), target, layer)


def cam(net, x, target=None):
    """Zhou et al. 2016, Eq. 2: ``M_c = sum_k w_k^c f_k`` (signed, no bias).

    Args:
        net: a Net ending GlobalAvgPool -> Linear (optionally -> Softmax).
        x: (N, C, H, W) preprocessed batch.
        target: None (top class), a class index or N indices.

    Returns:
        CAMResult with coarse (N, h, w) and upsampled (N, H, W) maps.
    """
    if is_unit(target):
        raise ValueError("CAM explains a class score; give a class index (or None)")
    feature, fc = gap_head(net)
    xp = get_array_module(x)
    idx = class_indices(net.forward(x, until=score_layer(net)), resolve(net, target))
    # BEGIN SOLUTION cam
    f = net.outputs[feature]                                  # (N, K, h, w)
    w = net[fc].params["W"][xp.asarray(idx)]                  # (N, K)
    maps = xp.einsum("nk,nkhw->nhw", w.astype(f.dtype, copy=False), f)
    # END SOLUTION cam
    return _result(maps, x, idx, feature)


def default_layer(net, target=None):
    """Grad-CAM's layer: the ReLU after the last ``Conv2d`` (``netinfo.last_conv``).

    For a unit target ``(layer, channel, ...)`` it is the last conv output
    *before* that layer, so the map says where the unit looked.
    """
    if not is_unit(target):
        return last_conv(net)
    before = [name for name in conv_layers(net) if net.index(name) < net.index(target[0])]
    if not before:
        raise ValueError(f"Grad-CAM of a unit of {target[0]} needs a conv layer before it; "
                         "there is none: give layer=")
    return before[-1]


def gradcam(net, x, target=None, layer=None, relu=True):
    """Selvaraju et al. 2017, Eq. 1-2, at ``layer`` (default: :func:`default_layer`).

    Args:
        x: (N, C, H, W).
        target: class target or a unit after ``layer`` (see ``targets.py``).
        layer: any layer with a 4-D output (N, K, h, w).
        relu: apply Eq. 2's ReLU (False keeps the negative evidence too).

    Returns:
        CAMResult with coarse (N, h, w) and upsampled (N, H, W) maps.
    """
    layer = default_layer(net, target) if layer is None else net[layer].name
    grads, used = injection(net, x, target)
    A = net.outputs.get(layer)
    if A is None or A.ndim != 4:
        what = "was not run" if A is None else f"has output shape {tuple(A.shape)}"
        raise ValueError(f"Grad-CAM needs a conv-side layer before the target; "
                         f"{layer} {what}")
    dA = net.backward(grads, until=layer)                     # dy^c/dA, (N, K, h, w)
    xp = get_array_module(dA)
    # BEGIN SOLUTION gradcam-weights
    alpha = dA.mean(axis=(2, 3))                              # Eq. 1, (N, K)
    maps = xp.einsum("nk,nkhw->nhw", alpha, A)                # Eq. 2, before ReLU
    # END SOLUTION gradcam-weights
    return _result(xp.maximum(maps, 0) if relu else maps, x, used, layer)


class GuidedGradCAM(NamedTuple):
    """Guided Grad-CAM.

    Attributes:
        attribution: (N, C, H, W) guided backprop times the upsampled Grad-CAM.
        gradcam: the CAMResult it used.
    """
    attribution: np.ndarray
    gradcam: CAMResult


def guided_gradcam(net, x, target=None, layer=None):
    """Selvaraju et al. 2017, "Guided Grad-CAM": ``guided_backprop * upsample(gradcam)``.

    Args:
        x: (N, C, H, W); target, layer: as for :func:`gradcam`.

    Returns:
        GuidedGradCAM(attribution (N, C, H, W), gradcam CAMResult).
    """
    heat = gradcam(net, x, target, layer)
    same = target if is_unit(target) else heat.target      # same class for both
    gb = guided_backprop(net, x, same)
    return GuidedGradCAM(gb * heat.upsampled[:, None].astype(gb.dtype), heat)
