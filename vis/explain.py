r"""One map per method: every attribution method's result as one ``Explanation``.

The map methods return different things — an attribution of the input's
shape, a coarse class activation map, a grid of score drops. To put them side
by side (the tour, the localization table, the ``minicnn`` subcommands) each
gets a short adapter here that turns its own result into one ``Explanation``
whose ``map`` is ``(N, H, W)`` at the input size:

* the gradient family gives an attribution ``a`` (N, C, H, W); its map is
  ``max_c |a|`` (Simonyan et al. 2014, Sec. 3.1);
* CAM and Grad-CAM give their upsampled map (CAM's is signed);
* occlusion gives the drop of the score (signed).

The registry (``vis/registry.py``) names which adapter belongs to which
method; ``explain(name, net, x)`` runs it.

Example:
    >>> import numpy as np
    >>> from minicnn import models
    >>> net = models.load("tiny")
    >>> x = np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype(np.float32)
    >>> e = explain("gradcam", net, x)
    >>> e.map.shape, e.attribution is None, e.layer
    ((2, 64, 64), True, 'relu4_2')
"""

from typing import NamedTuple, Optional

import numpy as np

from minicnn.backend import asnumpy

from .attribution.cam import cam, gradcam, guided_gradcam
from .attribution.gradients import (deconvnet, guided_backprop, integrated_gradients,
                                    saliency, smoothgrad)
from .attribution.occlusion import occlusion
from .netinfo import input_size
from .targets import injection, is_unit


class Explanation(NamedTuple):
    """What a map method says about a batch.

    Attributes:
        map: (N, H, W) at the input size: for overlays and localization scores.
        attribution: (N, C, H, W) for the gradient family, else None.
        signed: the map has a meaningful sign (CAM, occlusion).
        layer: where the method looks ("input", or the feature layer).
        target: (N,) class indices, or N unit tuples ``(layer, channel, i, j)``.
        note: settings and diagnostics for a caption (e.g. the IG gap).
    """
    map: np.ndarray
    attribution: Optional[np.ndarray]
    signed: bool
    layer: str
    target: object
    note: str


def _targets(net, x, target):
    """The target of every sample, fixed once on the clean input."""
    used = injection(net, x, target)[1]
    return used if is_unit(target) else np.asarray(used)


def _from_attribution(a, target, layer="input", note=""):
    a = asnumpy(a)
    return Explanation(np.abs(a).max(axis=1), a, False, layer, target, note)


def _saliency(net, x, target):
    used = _targets(net, x, target)
    return Explanation(saliency(net, x, target), None, False, "input", used, "")


def _deconvnet(net, x, target):
    return _from_attribution(deconvnet(net, x, target), _targets(net, x, target))


def _guided(net, x, target):
    return _from_attribution(guided_backprop(net, x, target), _targets(net, x, target))


def _smoothgrad(net, x, target, n=50, sigma=0.15, seed=0):
    used = _targets(net, x, target)
    fixed = target if is_unit(target) else used
    a = smoothgrad(net, x, fixed, n=n, sigma=sigma, seed=seed)
    return _from_attribution(a, used, note=f"n={n}, sigma={sigma:g}")


def _ig(net, x, target, steps=50):
    r = integrated_gradients(net, x, target, steps=steps)
    gap = float(np.max(np.abs(r.gap) / np.maximum(np.abs(r.score_diff), 1e-12)))
    return _from_attribution(r.attribution, r.target,
                             note=f"{steps} steps, completeness gap {100 * gap:.1f}%")


def _cam(net, x, target):
    r = cam(net, x, target)
    return Explanation(r.upsampled, None, True, r.layer, np.asarray(r.target), "")


def _gradcam(net, x, target, layer=None):
    r = gradcam(net, x, target, layer=layer)
    return Explanation(r.upsampled, None, False, r.layer, r.target, "")


def _guided_gradcam(net, x, target, layer=None):
    r = guided_gradcam(net, x, target, layer=layer)
    return _from_attribution(r.attribution, r.gradcam.target,
                             layer=f"input x {r.gradcam.layer}")


def _occlusion(net, x, target, window=None, stride=None):
    window, stride = occlusion_defaults(net, window, stride)
    r = occlusion(net, x, target, window=window, stride=stride, progress=False)
    return Explanation(r.score_drop, None, True, "input", r.target,
                       f"window {window}, stride {stride}")


def centre_prior(net, x, target=None):
    """The centre baseline: a Gaussian (sigma = W/4) in the middle of every image.

    Zhang et al. 2016, Sec. 5.1 ("center" baseline): a map that ignores the
    image entirely; what it scores is what a method gets for free.
    """
    N, _, H, W = x.shape
    y, z = np.mgrid[0:H, 0:W]
    g = np.exp(-(((y - (H - 1) / 2) ** 2 + (z - (W - 1) / 2) ** 2) / (2 * (W / 4) ** 2)))
    return Explanation(np.broadcast_to(g, (N, H, W)), None, False, "none",
                       np.full(N, -1), "")


def occlusion_defaults(net, window=None, stride=None):
    """Zeiler's grey square scaled to the input: window/stride 8/4 px at 64x64
    (the defaults of ``occlusion``), 28/14 at 224x224."""
    H = input_size(net)[0]
    window = window or max(1, round(8 * H / 64))
    return window, stride or max(1, window // 2)


#: The adapter of each map method, by its registry name.
ADAPTERS = {"saliency": _saliency, "deconvnet": _deconvnet, "guided": _guided,
            "smoothgrad": _smoothgrad, "ig": _ig, "cam": _cam, "gradcam": _gradcam,
            "guided-gradcam": _guided_gradcam, "occlusion": _occlusion,
            "centre": centre_prior}


def explain(name, net, x, target=None, **options):
    """Run map method ``name`` on a preprocessed batch and return its ``Explanation``.

    Args:
        name: a key of ``ADAPTERS`` ("saliency", "deconvnet", "guided",
            "smoothgrad", "ig", "cam", "gradcam", "guided-gradcam",
            "occlusion", "centre").
        net: a Net. x: (N, C, H, W) preprocessed batch.
        target: None (top class), a class index or name, N indices, or a unit
            ``(layer, channel[, i, j])`` / ``(layer, "top")``.
        **options: the method's own (see its registry record).

    Raises:
        ValueError: an unknown method name (listing the known ones).
    """
    if name not in ADAPTERS:
        raise ValueError(f"unknown map method {name!r}: choose from {', '.join(ADAPTERS)}")
    return ADAPTERS[name](net, x, target, **options)
