r"""``minicnn tour``: every method on a few images, one HTML page, and how well each localizes.

The tour is the lecture in one command::

    minicnn tour --out out/tour                # tiny on 4 shapes test images, ~1 min on 2 cores
    minicnn tour --out out/tour --quick        # 2 images, 20 evaluation images: a smoke test
    minicnn tour --model vgg16 --image cat.jpg --out out/vgg16-tour

It writes PNGs and an ``index.html`` (no external assets, relative links),
one section per lecture topic:

1. *The network*: the summary table, the first-layer filters (Krizhevsky et
   al. 2012, Fig. 3), the activations of every conv layer for one image.
2. *Gradients and rules*: saliency, deconvnet and guided backprop side by
   side with the table of Simonyan et al. 2014, Sec. 4 (they differ only at
   the ReLUs).
3. *Beyond the gradient*: SmoothGrad and integrated gradients.
4. *Class activation maps*: CAM, Grad-CAM, Guided Grad-CAM.
5. *Occlusion*.
6. *Localization*: saliency -> graph-cut segmentation -> box, against the
   true box (Simonyan et al. 2014, Sec. 6).
7. *How well do they localize?*: every map method on ``n_eval`` shapes test
   images (``minicnn.tiny.TEST_SEED``), scored by ``vis.localize.evaluate``:
   pointing game (Zhang et al. 2016), box IoU of the graph-cut box, energy
   inside the mask; also written to ``localization.json`` and ``.csv``. A
   *centre prior* row (a Gaussian in the middle of the image, Zhang et al.'s
   "center" baseline) shows what a map that ignores the image scores.

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

**Nothing half-written.** Everything goes into a temporary folder beside
``--out``, renamed into place at the end; an error or Ctrl-C removes it. An
existing non-empty ``--out`` is replaced only with ``--force``, and only if it
is a previous tour (its ``index.html`` says so), so ``--force`` never wipes a
folder of other files.

The same work without the command line: ``run_tour(net, out, ...)`` returns
the numbers (localization table, top classes) as a dict.

Example:
    >>> import numpy as np
    >>> from minicnn import models
    >>> net = models.tiny()
    >>> x = np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype(np.float32)
    >>> e = explain("gradcam", net, x)
    >>> e.map.shape, e.attribution is None, e.layer == conv_layers(net)[-1]
    ((2, 64, 64), True, True)
"""

import csv
import difflib
import html
import io as _io
import json
import os
import shutil
import tempfile
import time
import uuid
import warnings
from pathlib import Path
from typing import NamedTuple, Optional

import numpy as np

from minicnn.backend import asnumpy
from minicnn.data import make_shapes
from minicnn.layers import Conv2d, ReLU
from minicnn.progress import Progress
from minicnn.tiny import TEST_SEED

from . import draw
from .activations import activation_grid, activations
from .attribution import (deconvnet, guided_backprop, integrated_gradients, saliency,
                          smoothgrad)
from .cam import cam as class_activation_map
from .cam import gap_head, gradcam, guided_gradcam
from .filters import filter_grid, first_layer_filters
from .image import center_crop, load_image, preprocess, resize, save_png
from .localize import box_iou, evaluate, localize
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


# --- pictures of one explanation ----------------------------------------------------

def method_panels(image01, e, n, channel_order="RGB"):
    """[raw map, overlay] for sample ``n`` of Explanation ``e`` (float (3, H, W) each).

    The raw map: an attribution as a colour image (``draw.signed_rgb``), a
    signed map on a diverging scale, a non-negative map in grey, capped at its
    99th percentile (``draw.cap``).
    """
    m = e.map[n] if e.signed else draw.cap(e.map[n])
    if e.attribution is not None:
        raw = draw.signed_rgb(e.attribution[n], channel_order)
    elif e.signed:
        raw = draw.diverging(m)
    else:
        raw = draw.grey(m)
    return [raw, draw.heat_overlay(image01, m)]


def localization_panels(image01, m, true_box=None, **kwargs):
    """[image with boxes, map, segmentation] for Simonyan et al. 2014, Sec. 6.

    Returns:
        (panels, mask (H, W) bool, box (x0, y0, x1, y1)); the true box is drawn
        green, the predicted box red.
    """
    mask, box = localize(image01, m, **kwargs)
    boxed = image01 if true_box is None else draw.draw_box(image01, true_box, draw.TRUE_BOX)
    boxed = draw.draw_box(boxed, box, draw.PRED_BOX)
    return [boxed, draw.grey(draw.cap(m)), draw.mask_overlay(image01, mask)], mask, box


# --- the tour -----------------------------------------------------------------------

GENERATOR = "minicnn tour"

RULES = [  # Simonyan et al. 2014, Sec. 4 (minicnn/layers/relu.py)
    ("gradient", "dout * (x > 0)", "the forward input",
     "saliency, Grad-CAM (Simonyan et al. 2014, Sec. 3.1)"),
    ("deconvnet", "dout * (dout > 0)", "the backward signal",
     "deconvnet (Zeiler & Fergus 2014, Sec. 2.1)"),
    ("guided", "dout * (x > 0) * (dout > 0)", "both",
     "guided backprop (Springenberg et al. 2015, Sec. 3.4)"),
]


def _prepare(out, force):
    """Check ``out`` and make the temporary sibling folder to write into."""
    if out.exists():
        if not out.is_dir():
            raise FileExistsError(f"{out} exists and is not a folder")
        if any(out.iterdir()):
            if not force:
                raise FileExistsError(f"{out} exists and is not empty: pass --force to "
                                      "replace it")
            if not _is_tour(out):
                raise FileExistsError(f"{out} holds files that are not a minicnn tour; "
                                      "--force only replaces a previous tour: choose "
                                      "another --out")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent))
        os.chmod(tmp, 0o755)
    except OSError as e:
        raise PermissionError(f"cannot write the tour to {out}: "
                              f"{e.strerror or e} ({e.filename or out.parent})") from None
    return tmp


def _is_tour(folder):
    index = folder / "index.html"
    try:
        return index.is_file() and f'content="{GENERATOR}"' in index.read_text("utf-8")[:2000]
    except (OSError, UnicodeDecodeError):
        return False


def _commit(tmp, out):
    """Move the finished folder into place; an older tour is removed only afterwards."""
    if not out.exists():
        os.replace(tmp, out)
        return
    old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
    os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def run_tour(net, out, images=None, samples=4, n_eval=200, quick=False, force=False,
             progress=True):
    """Run every method, write the PNGs, ``index.html`` and the localization table.

    Args:
        net: a Net with class scores (e.g. ``models.load("tiny")``).
        out: destination folder (must not exist, be empty, or be a previous
            tour with ``force``).
        images: image files to explain instead of shapes samples.
        samples: number of shapes test images (seed ``TEST_SEED``) in the gallery.
        n_eval: shapes test images for the localization table (0: no table;
            only for 64x64 models).
        quick: the cheap ``EVAL_SETTINGS`` in the gallery too.
        force: replace a previous tour at ``out``.
        progress: show a progress bar on stderr.

    Returns:
        dict: ``out`` (str), ``model``, ``seconds``, ``files`` (written, relative
        to ``out``), ``top`` (per image: name, label, top-5 ``(index, name,
        probability)``), ``localization`` (method -> ``pointing``,
        ``box_iou``, ``energy``, ``title``, ``settings``, ``paper``; {} when
        not evaluated), ``n_eval``, ``timings`` (step -> seconds) and
        ``notes`` (image conversions, e.g. greyscale to RGB).

    Raises:
        FileExistsError: ``out`` is taken (see ``force``).
        PermissionError: ``out`` cannot be written. Nothing is left behind.
        ValueError: a net without class scores, unreadable or too small images.
    """
    start = time.perf_counter()
    out = Path(os.path.abspath(os.fspath(out)))
    K = class_count(net)
    names = class_names(net)
    inputs = load_images(images, net) if images else shapes_samples(range(samples), net)
    shapes_model = tuple(int(v) for v in net.meta["input_size"]) == SHAPES_SIZE
    n_eval = n_eval if shapes_model else 0
    tmp = _prepare(out, force)
    try:
        tour = _Tour(net, tmp, inputs, names, K, quick, progress)
        result = tour.run(n_eval)
        _commit(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    result.update(out=str(out), seconds=time.perf_counter() - start)
    return result


class _Tour:
    """The steps of ``run_tour`` writing into one folder; ``sections`` collects the HTML."""

    def __init__(self, net, folder, inputs, names, K, quick, progress):
        self.net, self.folder, self.inputs, self.names = net, folder, inputs, names
        self.quick, self.progress = quick, progress
        self.arch = net.meta.get("arch", "net")
        self.order = net.meta.get("preprocess", {}).get("channel_order", "RGB")
        self.x = preprocess(inputs.images, net)
        self.zoom = draw.auto_zoom(inputs.images.shape[2], 192)
        self.files, self.sections, self.timings = [], [], {}
        self.has_cam = True
        try:
            gap_head(net)
        except ValueError as e:
            self.has_cam, self.no_cam = False, str(e)

    # -- helpers
    def save(self, name, picture):
        save_png(self.folder / name, picture)
        self.files.append(name)
        return name

    def figure(self, name, picture, caption):
        src = self.save(name, picture)
        return (f'<figure><img src="{html.escape(src)}" alt="{html.escape(caption)}">'
                f"<figcaption>{html.escape(caption)}</figcaption></figure>")

    def target_text(self, k):
        return f"{self.names[k]} ({k})"

    def gallery_options(self, name):
        return dict(EVAL_SETTINGS.get(name, {})) if self.quick else {}

    # -- steps
    def run(self, n_eval):
        methods = [m for m in METHODS if m != "cam" or self.has_cam]
        eval_methods = methods + ["centre"] if n_eval else []
        steps = 3 + len(methods) + 1 + len(eval_methods)
        bar = Progress(steps, f"tour {self.arch}", enabled=self.progress)
        self.top = top_classes(self.net, self.x)
        self.section_inputs()
        bar.update(info="images")
        self.section_network()
        bar.update(info="network")
        results = {}
        for name in methods:
            start = time.perf_counter()
            results[name] = explain(name, self.net, self.x, None, **self.gallery_options(name))
            self.timings[name] = time.perf_counter() - start
            bar.update(info=name)
        self.section_methods(results)
        self.section_localization(results["saliency"])
        bar.update(info="localization")
        table = {}
        if n_eval:
            data = make_shapes(n_eval, seed=TEST_SEED)
            for name in eval_methods:
                table[name] = self.evaluate(name, data)
                bar.update(info=f"evaluate {name}")
        self.section_table(table, n_eval)
        self.write_tables(table, n_eval)
        self.write_index()
        bar.update(info="index.html")
        bar.close()
        top = [{"name": nm, "label": (self.names[lb] if lb >= 0 else None), "top5": t}
               for nm, lb, t in zip(self.inputs.names, self.inputs.labels, self.top)]
        return {"model": self.arch, "files": list(self.files), "top": top,
                "localization": table, "n_eval": n_eval, "timings": self.timings,
                "notes": list(self.inputs.notes)}

    def evaluate(self, name, data):
        """One row of the table: ``vis.localize.evaluate`` of one map method."""
        opts = EVAL_SETTINGS.get(name, {})

        def method(net, x):
            return centre_prior(net, x) if name == "centre" else explain(name, net, x,
                                                                         **opts).map
        if name == "centre":
            title, paper = "Centre prior (baseline)", PAPERS["centre"]
        else:
            title, paper = METHODS[name].title, METHODS[name].paper
        settings = ", ".join(f"{k}={v}" for k, v in opts.items())
        start = time.perf_counter()
        r = evaluate(method, self.net, data, progress=False)
        self.timings[f"evaluate {name}"] = time.perf_counter() - start
        return {"title": title, "pointing": r["pointing"], "pointing_box": r["pointing_box"],
                "box_iou": r["box_iou"],
                "energy": r["energy"], "settings": settings, "paper": paper}

    def section_inputs(self):
        figs = []
        for n, name in enumerate(self.inputs.names):
            img = self.inputs.images[n]
            if self.inputs.boxes is not None:
                img = draw.draw_box(img, self.inputs.boxes[n], draw.TRUE_BOX)
            label = self.inputs.labels[n]
            truth = f"true: {self.names[label]}; " if label >= 0 else ""
            top = ", ".join(f"{nm} {p:.2f}" for _, nm, p in self.top[n])
            figs.append(self.figure(f"{name}.png", draw.side_by_side([img], factor=self.zoom),
                                    f"{name}: {truth}top classes {top}"))
        source = ("shapes test images (minicnn.data.make_shapes, seed "
                  f"{TEST_SEED}), true box in green" if self.inputs.boxes is not None
                  else "the given image files, resized and centre-cropped")
        self.sections.append(("inputs", "The images", f"<p>{html.escape(source)}.</p>"
                              + _row(figs)))

    def section_network(self):
        body = [f"<pre>{html.escape(self.net.summary())}</pre>"]
        try:
            grid = filter_grid(first_layer_filters(self.net))
            body.append(self.figure("filters.png", grid,
                                    f"First-layer filters, layer {first_conv(self.net)}, "
                                    f"each min-max scaled ({PAPERS['filters']})"))
        except ValueError as e:
            body.append(f"<p>{html.escape(str(e))}</p>")
        layers = conv_layers(self.net)
        acts = activations(self.net, self.x[:1], layers)
        figs = []
        for layer in layers:
            grid = activation_grid(acts[layer][0])
            factor = max(1, round(320 / grid.shape[0]))
            figs.append(self.figure(f"activations_{layer}.png", draw.zoom(grid, factor),
                                    f"Activations of {layer} for {self.inputs.names[0]}, "
                                    f"{acts[layer].shape[1]} channels ({PAPERS['activations']})"))
        body.append(_row(figs))
        self.sections.append(("network", "The network", "".join(body)))

    def method_figures(self, e, name):
        figs = []
        for n, stem in enumerate(self.inputs.names):
            panels = method_panels(self.inputs.images[n], e, n, self.order)
            note = f"; {e.note}" if e.note else ""
            caption = (f"{METHODS[name].title} ({stem}): layer {e.layer}, target "
                       f"{self.target_text(int(e.target[n]))}{note}; map | overlay "
                       f"({METHODS[name].paper})")
            figs.append(self.figure(f"{stem}_{name}.png",
                                    draw.side_by_side(panels, factor=self.zoom), caption))
        return figs

    def section_methods(self, results):
        def rows(names):
            figs = {name: self.method_figures(results[name], name) for name in names}
            return "".join(_row([figs[name][n] for name in names])
                           for n in range(len(self.inputs.names)))
        rules = ("<table><tr><th>rule</th><th>ReLU backward: dx =</th><th>masks by</th>"
                 "<th>used by</th></tr>"
                 + "".join(f"<tr><td>{html.escape(a)}</td><td><code>{html.escape(b)}</code></td>"
                           f"<td>{html.escape(c)}</td><td>{html.escape(d)}</td></tr>"
                           for a, b, c, d in RULES) + "</table>"
                 "<p>Simonyan et al. 2014, Sec. 4: the three differ only at the ReLUs; the "
                 "convolution goes back by its transpose and max-pooling through its "
                 "switches under all three (minicnn/layers/relu.py). Each picture: the "
                 "attribution (0 = grey, or the map in grey) | its map max<sub>c</sub> |a| over "
                 "the image.</p>")
        self.sections.append(("gradients", "Gradients and rules",
                              rules + rows(["saliency", "deconvnet", "guided"])))
        self.sections.append(("beyond", "Beyond the gradient",
                              "<p>SmoothGrad averages the gradient over noisy copies; "
                              "integrated gradients average it along the path from a "
                              "baseline (the mean image) and multiply by the difference, "
                              "so the attributions add up to the score difference "
                              "(completeness).</p>" + rows(["smoothgrad", "ig"])))
        cams = ["cam", "gradcam", "guided-gradcam"] if self.has_cam else ["gradcam",
                                                                          "guided-gradcam"]
        note = "" if self.has_cam else f"<p>CAM: {html.escape(self.no_cam)}.</p>"
        self.sections.append(("cam", "Class activation maps",
                              "<p>CAM's signed map on a blue-white-red scale (0 = white); "
                              "Grad-CAM after its ReLU in grey.</p>" + note + rows(cams)))
        self.sections.append(("occlusion", "Occlusion",
                              "<p>The drop of the class score when a grey square (the mean "
                              "colour) hides each patch; red = the patch mattered.</p>"
                              + rows(["occlusion"])))

    def section_localization(self, e):
        figs = []
        for n, stem in enumerate(self.inputs.names):
            true_box = None if self.inputs.boxes is None else self.inputs.boxes[n]
            panels, _, box = localization_panels(self.inputs.images[n], e.map[n], true_box)
            score = ""
            if true_box is not None:
                score = f", box IoU {float(box_iou(box, true_box)):.2f}"
            caption = (f"Localization ({stem}): saliency for "
                       f"{self.target_text(int(e.target[n]))} -> graph-cut segmentation -> "
                       f"box (red; true box green{score}) ({PAPERS['localize']})")
            figs.append(self.figure(f"{stem}_localize.png",
                                    draw.side_by_side(panels, factor=self.zoom), caption))
        self.sections.append(("localization", "Localization",
                              "<p>Pixels above the 95% saliency quantile seed the object, "
                              "below the 30% quantile the background; a colour graph cut "
                              "grows the object; its largest component gives the box.</p>"
                              + _row(figs)))

    def section_table(self, table, n_eval):
        if not table:
            why = ("the scores need the shapes test images, which only 64x64 models take"
                   if self.inputs.images.shape[2:] != SHAPES_SIZE else "n_eval is 0")
            self.sections.append(("scores", "How well do they localize?",
                                  f"<p>Not evaluated: {why}.</p>"))
            return
        head = ("<table><tr><th>method</th><th>pointing (mask)</th><th>pointing (box)</th>"
                "<th>box IoU</th>"
                "<th>energy inside</th><th>settings</th><th>paper</th></tr>")
        rows = "".join(f"<tr><td>{html.escape(r['title'])}</td><td>{r['pointing']:.3f}</td>"
                       f"<td>{r['pointing_box']:.3f}</td>"
                       f"<td>{r['box_iou']:.3f}</td><td>{r['energy']:.3f}</td>"
                       f"<td>{html.escape(r['settings'])}</td><td>{html.escape(r['paper'])}</td>"
                       "</tr>" for r in table.values())
        text = (f"<p>{n_eval} shapes test images (seed {TEST_SEED}), target: the top class. "
                f"Pointing game ({PAPERS['pointing']}): the map's maximum within 4 px (the "
                "paper's 15 px at 224) of the object's mask (their COCO protocol) or of its "
                "box (their VOC07 protocol). Box IoU: the graph-cut box against the true box. Energy inside "
                f"({PAPERS['energy']}): the share of the positive map on the object. Also in "
                '<a href="localization.json">localization.json</a> and '
                '<a href="localization.csv">localization.csv</a>.</p>')
        self.sections.append(("scores", "How well do they localize?", text + head + rows
                              + "</table>"))

    def write_tables(self, table, n_eval):
        meta = {"model": self.arch, "n_eval": n_eval, "seed": TEST_SEED, "target": "top class",
                "methods": table}
        (self.folder / "localization.json").write_text(json.dumps(meta, indent=2) + "\n",
                                                       encoding="utf-8")
        buf = _io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["method", "title", "pointing", "pointing_box", "box_iou", "energy", "n",
                    "settings", "paper"])
        for name, r in table.items():
            w.writerow([name, r["title"], f"{r['pointing']:.4f}", f"{r['pointing_box']:.4f}",
                        f"{r['box_iou']:.4f}",
                        f"{r['energy']:.4f}", n_eval, r["settings"], r["paper"]])
        (self.folder / "localization.csv").write_text(buf.getvalue(), encoding="utf-8")
        self.files += ["localization.json", "localization.csv"]

    def write_index(self):
        nav = " · ".join(f'<a href="#{key}">{html.escape(title)}</a>'
                         for key, title, _ in self.sections)
        body = "".join(f'<section id="{key}"><h2>{html.escape(title)}</h2>{content}</section>'
                       for key, title, content in self.sections)
        page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
                f'<meta name="generator" content="{GENERATOR}">'
                f"<title>minicnn tour: {html.escape(self.arch)}</title><style>{_CSS}</style>"
                f"</head><body><h1>minicnn tour: {html.escape(self.arch)}</h1>"
                f"<nav>{nav}</nav>{body}</body></html>\n")
        (self.folder / "index.html").write_text(page, encoding="utf-8")
        self.files.append("index.html")


_CSS = ("body{font-family:sans-serif;max-width:1400px;margin:1em auto;padding:0 1em}"
        "figure{display:inline-block;margin:4px;vertical-align:top;max-width:420px}"
        "figcaption{font-size:0.8em}img{image-rendering:pixelated}"
        ".row{display:flex;flex-wrap:wrap;align-items:flex-start}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}"
        "pre{background:#f6f6f6;padding:0.5em;overflow-x:auto}")


def _row(figures):
    return f'<div class="row">{"".join(figures)}</div>'


# --- the command ---------------------------------------------------------------------

def _tour(args):
    from .cli_methods import load_model
    samples = args.samples if args.samples is not None else (2 if args.quick else 4)
    n_eval = args.n_eval if args.n_eval is not None else (20 if args.quick else 200)
    if samples < 1 or n_eval < 0:
        raise ValueError(f"--samples must be at least 1 and --n-eval at least 0 "
                         f"(got {samples} and {n_eval})")
    net = load_model(args.model)
    result = run_tour(net, args.out, images=args.image, samples=samples, n_eval=n_eval,
                      quick=args.quick, force=args.force, progress=not args.no_progress)
    for note in result["notes"]:
        print(f"note: {note}")
    for t in result["top"]:
        truth = f" (true: {t['label']})" if t["label"] else ""
        print(f"{t['name']}{truth}: " + ", ".join(f"{nm} {p:.2f}" for _, nm, p in t["top5"]))
    if result["localization"]:
        print(f"{'method':<32}{'pointing':>9}{'(box)':>7}{'box IoU':>9}{'energy':>8}   "
              f"({result['n_eval']} shapes test images)")
        for r in result["localization"].values():
            print(f"{r['title']:<32}{r['pointing']:>9.3f}{r['pointing_box']:>7.3f}"
                  f"{r['box_iou']:>9.3f}{r['energy']:>8.3f}")
    print(f"wrote {len(result['files'])} files to {result['out']} in "
          f"{result['seconds']:.1f} s; open {Path(result['out']) / 'index.html'}")


def register(sub):
    """The ``tour`` command."""
    p = sub.add_parser("tour", help="every method on a few images: PNGs, index.html and "
                       "a localization table")
    p.add_argument("--out", default="out/tour", help="destination folder (default: out/tour)")
    p.add_argument("--model", default="tiny", help="installed model name (default: tiny)")
    p.add_argument("--image", nargs="+", metavar="PATH", help="explain these files instead "
                   "of shapes test images")
    p.add_argument("--samples", type=int, metavar="K", help="shapes test images in the "
                   "gallery (default 4; 2 with --quick)")
    p.add_argument("--n-eval", type=int, metavar="N", help="shapes test images for the "
                   "localization table (default 200; 20 with --quick; 0: none)")
    p.add_argument("--quick", action="store_true", help="a fast smoke test: fewer images, "
                   "the cheap settings everywhere")
    p.add_argument("--force", action="store_true", help="replace a previous tour at --out")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_tour)
