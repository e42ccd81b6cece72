r"""The map methods of the tour and the subcommands: one table, one ``explain``.

``METHODS`` names every map method with its title, its paper and a short
recipe that turns the method's own result into one ``Explanation``;
``explain(name, net, x)`` runs it. The helpers below it read what the
``minicnn`` commands need from a model (its classes, its conv layers) and
turn image files or shapes test images into ``Inputs``. Used by
``vis/tour.py``, ``vis/gallery.py`` and ``vis/cli_methods.py``.

**One map per method.** Gradient-family methods give an attribution of the
input's shape; its map is ``max_c |a|`` (Simonyan et al. 2014, Sec. 3.1; see
``vis/draw.py``). CAM and Grad-CAM give their upsampled map, occlusion the
drop of the class score. The target is the top-scoring class, as in
Simonyan's localization (Sec. 6).

**Cheaper settings for the evaluation.** SmoothGrad, integrated gradients
and occlusion cost tens to hundreds of passes per image; over 200 images
their paper defaults would take minutes. The table uses ``EVAL_SETTINGS``
(fewer noisy copies, fewer steps, a coarser occlusion grid) and says so in
its "settings" column; the gallery uses the paper defaults (``--quick`` uses
the cheap ones everywhere).

Example:
    >>> import numpy as np
    >>> from minicnn import models
    >>> net = models.tiny()
    >>> x = np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype(np.float32)
    >>> e = explain("gradcam", net, x)
    >>> e.map.shape, e.attribution is None, e.layer == conv_layers(net)[-1]
    ((2, 64, 64), True, True)
"""

import difflib
import warnings
from pathlib import Path
from typing import NamedTuple, Optional

import numpy as np

from minicnn.backend import asnumpy
from minicnn.data import make_shapes
from minicnn.layers import Conv2d, ReLU
from minicnn.tiny import TEST_SEED

from . import draw
from .attribution import (deconvnet, guided_backprop, integrated_gradients, saliency,
                          smoothgrad)
from .cam import cam as class_activation_map
from .cam import gradcam, guided_gradcam
from .image import center_crop, load_image, resize
from .occlusion import occlusion, softmax
from .targets import class_indices, score_layer

SHAPES_SIZE = (64, 64)          # minicnn.data.make_shapes' default size


# --- the methods, one line each ----------------------------------------------------

class Method(NamedTuple):
    """A map method: its title, the paper (author year, section) and its function."""
    title: str
    paper: str
    fn: object


class Explanation(NamedTuple):
    """What a method says about a batch.

    Attributes:
        map: (N, H, W) at the input size: for overlays and localization scores.
        attribution: (N, C, H, W) for the gradient family, else None.
        signed: the map has a meaningful sign (CAM, occlusion).
        layer: where the method looks ("input", or the feature layer).
        target: (N,) class indices explained.
        note: settings and diagnostics for a caption (e.g. the IG gap).
    """
    map: np.ndarray
    attribution: Optional[np.ndarray]
    signed: bool
    layer: str
    target: np.ndarray
    note: str


def _from_attribution(a, target, layer="input", note=""):
    return Explanation(draw.attribution_map(a), asnumpy(a), False, layer,
                       np.asarray(target), note)


def _saliency(net, x, target):
    m = saliency(net, x, target)
    return Explanation(m, None, False, "input",
                       class_indices(net.outputs[score_layer(net)], target), "")


def _deconvnet(net, x, target):
    return _from_attribution(deconvnet(net, x, target),
                             class_indices(net.outputs[score_layer(net)], target))


def _guided(net, x, target):
    return _from_attribution(guided_backprop(net, x, target),
                             class_indices(net.outputs[score_layer(net)], target))


def _smoothgrad(net, x, target, n=50, sigma=0.15, seed=0):
    idx = _resolve(net, x, target)
    a = smoothgrad(net, x, idx, n=n, sigma=sigma, seed=seed)
    return _from_attribution(a, idx, note=f"n={n}, sigma={sigma:g}")


def _ig(net, x, target, steps=50):
    r = integrated_gradients(net, x, target, steps=steps)
    gap = float(np.max(np.abs(r.gap) / np.maximum(np.abs(r.score_diff), 1e-12)))
    return _from_attribution(r.attribution, r.target,
                             note=f"{steps} steps, completeness gap {100 * gap:.1f}%")


def _cam(net, x, target):
    r = class_activation_map(net, x, target)
    return Explanation(r.upsampled, None, True, r.layer, np.asarray(r.target), "")


def _gradcam(net, x, target, layer=None):
    r = gradcam(net, x, target, layer=layer)
    return Explanation(r.upsampled, None, False, r.layer, np.asarray(r.target), "")


def _guided_gradcam(net, x, target, layer=None):
    r = guided_gradcam(net, x, target, layer=layer)
    return _from_attribution(r.attribution, r.gradcam.target,
                             layer=f"input x {r.gradcam.layer}")


def _occlusion(net, x, target, window=None, stride=None):
    window, stride = occlusion_defaults(net, window, stride)
    r = occlusion(net, x, target, window=window, stride=stride, progress=False)
    return Explanation(r.score_drop, None, True, "input", r.target,
                       f"window {window}, stride {stride}")


#: Every map method: CLI name -> Method. The order is the lecture's.
METHODS = {
    "saliency": Method("Saliency", "Simonyan et al. 2014, Sec. 3.1", _saliency),
    "deconvnet": Method("Deconvnet", "Zeiler & Fergus 2014, Sec. 2.1", _deconvnet),
    "guided": Method("Guided backprop", "Springenberg et al. 2015, Sec. 3.4", _guided),
    "smoothgrad": Method("SmoothGrad", "Smilkov et al. 2017, Eq. 3", _smoothgrad),
    "ig": Method("Integrated gradients", "Sundararajan et al. 2017, Eq. 1 and 3", _ig),
    "cam": Method("CAM", "Zhou et al. 2016, Sec. 2, Eq. 2", _cam),
    "gradcam": Method("Grad-CAM", "Selvaraju et al. 2017, Sec. 3, Eq. 1-2", _gradcam),
    "guided-gradcam": Method("Guided Grad-CAM", "Selvaraju et al. 2017, Sec. 3",
                             _guided_gradcam),
    "occlusion": Method("Occlusion", "Zeiler & Fergus 2014, Sec. 4.2", _occlusion),
}

#: Settings of the expensive methods in the localization table (see the module docstring).
EVAL_SETTINGS = {"smoothgrad": {"n": 24}, "ig": {"steps": 8},
                 "occlusion": {"window": 16, "stride": 8}}

PAPERS = {
    "filters": "Krizhevsky et al. 2012, Fig. 3",
    "activations": "Zeiler & Fergus 2014, Fig. 2; Chollet 2017, Sec. 5.4.1",
    "localize": "Simonyan et al. 2014, Sec. 6",
    "pointing": "Zhang et al. 2016, Sec. 5.1",
    "energy": "Wang et al. 2020 (Score-CAM), Sec. 5.2",
    "centre": "Zhang et al. 2016, Sec. 5.1 (center baseline)",
}


def explain(name, net, x, target=None, **options):
    """Run map method ``name`` (a key of ``METHODS``) on a preprocessed batch.

    Args:
        name: "saliency", "deconvnet", "guided", "smoothgrad", "ig", "cam",
            "gradcam", "guided-gradcam" or "occlusion".
        net: a Net. x: (N, C, H, W) preprocessed batch.
        target: None (top class), a class index or N indices.
        **options: the method's own: ``layer`` (gradcam, guided-gradcam),
            ``n, sigma, seed`` (smoothgrad), ``steps`` (ig), ``window, stride``
            (occlusion).

    Returns:
        Explanation (map (N, H, W), attribution, signed, layer, target, note).
    """
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}: choose from {', '.join(METHODS)}")
    return METHODS[name].fn(net, x, target, **options)


def _resolve(net, x, target):
    """Class indices (N,) for a class target, from one forward pass."""
    return class_indices(net.forward(x, until=score_layer(net)), target)


def occlusion_defaults(net, window=None, stride=None):
    """Zeiler's grey square scaled to the input: window/stride 8/4 px at 64x64
    (the defaults of ``vis/occlusion.py``), 28/14 at 224x224."""
    H = int(net.meta.get("input_size", SHAPES_SIZE)[0])
    window = window or max(1, round(8 * H / 64))
    return window, stride or max(1, window // 2)


def centre_prior(net, x):
    """The centre baseline: a Gaussian (sigma = W/4) in the middle of every image, (N, H, W)."""
    N, _, H, W = x.shape
    y, z = np.mgrid[0:H, 0:W]
    g = np.exp(-(((y - (H - 1) / 2) ** 2 + (z - (W - 1) / 2) ** 2) / (2 * (W / 4) ** 2)))
    return np.broadcast_to(g, (N, H, W))


# --- the model and its inputs --------------------------------------------------------

def class_count(net):
    """Number of classes K (the score layer's width); ValueError for a net without scores."""
    name = score_layer(net)
    shape = net.output_shapes()[name]
    if len(shape) != 1:
        raise ValueError(f"{net.meta.get('arch', 'this net')} has no class scores (its last "
                         f"layer {name} outputs {tuple(shape)}); only activations and "
                         "filters apply")
    return shape[0]


def class_names(net):
    """The K class names of ``net.meta``, or "0" .. "K-1"."""
    K = class_count(net)
    names = net.meta.get("class_names")
    return list(names) if names and len(names) == K else [str(k) for k in range(K)]


def parse_target(text, net):
    """A ``--target`` string (class index or name, any case) -> int, or None for None.

    Raises:
        ValueError: an index outside 0 .. K-1 (naming the range) or an unknown name.
    """
    if text is None:
        return None
    names, arch = class_names(net), net.meta.get("arch", "this net")
    K = len(names)
    try:
        k = int(text)
    except ValueError:
        lookup = {n.lower(): i for i, n in enumerate(names)}
        if str(text).lower() in lookup:
            return lookup[str(text).lower()]
        close = difflib.get_close_matches(str(text), names, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        listing = f": {', '.join(names)}" if K <= 20 else ""
        raise ValueError(f"unknown class {text!r}{hint} ({arch} has {K} classes, "
                         f"0 .. {K - 1}{listing})") from None
    if not 0 <= k < K:
        raise ValueError(f"class {k} out of range: {arch} has {K} classes, 0 .. {K - 1}")
    return k


class Inputs(NamedTuple):
    """Images to explain.

    Attributes:
        images: (N, 3, H, W) float32 RGB in [0, 1] at the model's input size.
        names: N file-name stems ("cat", "sample3").
        labels: (N,) true classes (-1 when unknown).
        boxes: (N, 4) true boxes (x0, y0, x1, y1), or None for files.
        notes: conversions worth telling the user (greyscale, RGBA ...).
    """
    images: np.ndarray
    names: list
    labels: np.ndarray
    boxes: Optional[np.ndarray]
    notes: list


def load_images(paths, net):
    """Files -> ``Inputs``: shorter side resized to the model's input, centre-cropped.

    Raises:
        ValueError: not an image (naming the file), or smaller than the input size.
        FileNotFoundError: no such file.
    """
    H, W = (int(v) for v in net.meta.get("input_size", (224, 224)))
    arch = net.meta.get("arch", "this net")
    images, names, notes = [], [], []
    for path in paths:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            img = load_image(path)
        notes += [str(w.message) for w in caught]
        h, w = img.shape[1:]
        if h < H or w < W:
            raise ValueError(f"{path} is {w}x{h} pixels, too small: {arch} needs at least "
                             f"{W}x{H}")
        s = max(H / h, W / w)                      # the smallest scale that covers (H, W)
        img = center_crop(resize(img, (max(H, round(h * s)), max(W, round(w * s)))), (H, W))
        stem = Path(path).stem
        names.append(stem if stem not in names else f"{stem}-{len(names)}")
        images.append(img)
    return Inputs(np.stack(images).astype(np.float32), names,
                  np.full(len(paths), -1), None, notes)


def shapes_samples(indices, net):
    """Shapes test images ``indices`` (seed ``TEST_SEED``) -> ``Inputs`` with labels and boxes.

    Raises:
        ValueError: a negative index, or a model whose input is not 64x64.
    """
    size = tuple(int(v) for v in net.meta.get("input_size", (224, 224)))
    if size != SHAPES_SIZE:
        raise ValueError(f"the shapes samples are 64x64 but {net.meta.get('arch', 'this net')} "
                         f"takes {size[0]}x{size[1]} input: give --image PATH instead")
    indices = [int(i) for i in indices]
    if min(indices) < 0:
        raise ValueError(f"sample index {min(indices)} is negative")
    data = make_shapes(max(indices) + 1, seed=TEST_SEED)
    return Inputs(data.images[indices], [f"sample{i}" for i in indices],
                  data.labels[indices], data.boxes[indices], [])


def top_classes(net, x, top=5):
    """Softmax probabilities of ``x``'s top classes: N lists of (index, name, probability)."""
    from minicnn.io import decode_predictions
    scores = asnumpy(net.forward(x, until=score_layer(net)))
    return decode_predictions(softmax(scores), class_names(net),
                              top=min(top, scores.shape[1]))


def conv_layers(net):
    """The ReLU after each Conv2d (or the conv itself): a Keras-style "conv layer" output."""
    names = []
    for i, layer in enumerate(net.layers):
        if isinstance(layer, Conv2d):
            nxt = net.layers[i + 1] if i + 1 < len(net.layers) else None
            names.append((nxt if isinstance(nxt, ReLU) else layer).name)
    return names


def first_conv(net):
    """Name of the first Conv2d layer."""
    return next(layer.name for layer in net.layers if isinstance(layer, Conv2d))


def spatial_layers(net):
    """Names of the layers with a spatial output (C, h, w), for Grad-CAM and activations."""
    return [name for name, shape in net.output_shapes().items() if len(shape) == 3]
