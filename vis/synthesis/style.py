r"""Neural style transfer: the content of one image in the style of another.

Gatys, Ecker & Bethge 2016 ("Image Style Transfer Using Convolutional Neural
Networks"), Sec. 2. Content is the feature map of one layer (Eq. 1), style the
Gram matrices of several (Eqs. 3-5, as in texture synthesis); the image
minimizes (Eq. 7)::

    L_total = alpha L_content(p, x, conv4_2) + beta sum_l w_l E_l(a, x)
    L_content = 1/2 sum (F - P)^2      E_l = sum (G - A)^2 / (4 C_l^2 M_l^2)

with ``conv4_2`` for content, ``conv1_1 ... conv5_1`` for style, ``w_l = 1/5``,
``alpha / beta = 1e-3`` or ``1e-4`` (Fig. 2), L-BFGS, average pooling, from
white noise (Sec. 2; Sec. 3.3 shows a content or style start converges to a
similar image). Caffe's in-place ReLU makes their ``conv4_2`` our ``relu4_2``.
Objectives are maximized here, so the loop maximizes ``-L_total``.

Presets (:data:`PRESETS`), each with its published numbers and input range:

==================  ==========================================================
"gatys2016"         the paper, as above: alpha 1, beta 1e3, noise start,
                    L-BFGS, 500 evaluations (Gatys' code: max_iter 500); Caffe
"gatys-code"        Gatys' PyTorch code: Gram / M with MSE, style weights
                    ``1e3 / C_l^2``, content weight 1 (MSE), content start,
                    L-BFGS 500, max pooling; Caffe 0-255 BGR
"pytorch"           PyTorch tutorial (VGG19): content ``conv_4`` (our conv2_2),
                    style ``conv_1..conv_5`` (conv1_1, conv1_2, conv2_1,
                    conv2_2, conv3_1), pre-ReLU; Gram / (a b c d), MSE; style
                    weight 1e6, content 1; L-BFGS 300, content start, max
                    pooling; torchvision units. It clamps to [0, 1] inside the
                    closure; we bound the pixels instead
"cs231n"            cs231n assignment 3 ("composition_vii"): content weight
                    5e-2, style weights (20000, 500, 12, 1), TV 5e-2, Gram /
                    (H W C) with sums; Adam lr 3.0, 200 steps, lr 0.1 from step
                    180, content start; torchvision units. Its SqueezeNet
                    layers (features 1, 4, 6, 7 style; 3 content) are mapped
                    by position to relu1_1, relu2_2, relu3_1, relu3_2 and
                    relu2_1 (the n-th module after the k-th pool -> relu{k+1}_n)
==================  ==========================================================

The weights assume the preset's input range; on a net with another range
they are converted as ``common.py`` says (content and TV by ``s**-2``, style
by ``s**-4``, Adam's lr by ``s``), which is exact for a bias-free ReLU net.

Example:
    >>> import numpy as np
    >>> from minicnn import models
    >>> net = models.vgg16(include_top=False, seed=0)
    >>> x = np.random.default_rng(0).standard_normal((1, 3, 32, 32)).astype(np.float32)
    >>> r = style_transfer(net, x, x[:, :, ::-1], steps=2, progress=False)
    >>> sorted(k for k in r.history if not k.startswith("style "))
    ['content relu4_2', 'objective', 'style']
"""

import numpy as np

from minicnn.backend import asnumpy, get_array_module

from ..objectives import content as content_loss
from ..objectives import style as style_loss
from ..objectives import total_variation
from ..optimize import optimize
from .common import CAFFE, TORCHVISION, check_batch, check_layers, check_size, choose
from .common import input_scale, noise
from .texture import gram_targets, pooled

_GATYS_STYLE = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]

#: name -> preset. "units": the input range the weights assume (``common.py``).
PRESETS = {
    "gatys2016": {"source": "Gatys et al. 2016, Sec. 2, Eq. 7, Fig. 2",
                  "content_layer": "relu4_2", "style_layers": _GATYS_STYLE,
                  "style_weights": [0.2] * 5, "content_norm": "gatys", "style_norm": "gatys",
                  "alpha": 1.0, "beta": 1e3, "tv": 0.0, "init": "noise", "step": "lbfgs",
                  "steps": 500, "lr": None, "pooling": "average", "units": CAFFE},
    "gatys-code": {"source": "Gatys' PyTorch code (NeuralStyleTransfer.ipynb)",
                   "content_layer": "relu4_2", "style_layers": _GATYS_STYLE,
                   "style_weights": [1e3 / c ** 2 for c in (64, 128, 256, 512, 512)],
                   "content_norm": "mse", "style_norm": "gatys-code", "alpha": 1.0,
                   "beta": 1.0, "tv": 0.0, "init": "content", "step": "lbfgs", "steps": 500,
                   "lr": None, "pooling": "max", "units": CAFFE},
    "pytorch": {"source": "PyTorch tutorial, Neural Transfer Using PyTorch",
                "content_layer": "conv2_2",
                "style_layers": ["conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1"],
                "style_weights": [1.0] * 5, "content_norm": "mse", "style_norm": "pytorch",
                "alpha": 1.0, "beta": 1e6, "tv": 0.0, "init": "content", "step": "lbfgs",
                "steps": 300, "lr": None, "pooling": "max", "units": TORCHVISION},
    "cs231n": {"source": "cs231n assignment 3, StyleTransfer (composition_vii)",
               "content_layer": "relu2_1",
               "style_layers": ["relu1_1", "relu2_2", "relu3_1", "relu3_2"],
               "style_weights": [20000.0, 500.0, 12.0, 1.0], "content_norm": "sum",
               "style_norm": "cs231n", "alpha": 5e-2, "beta": 1.0, "tv": 5e-2,
               "init": "content", "step": "adam", "steps": 200,
               "lr": (3.0, 180, 0.1), "pooling": "max", "units": TORCHVISION},
}

INITS = ("content", "noise")


def _content_loss_of(net, image, layer, P, norm):
    """The content loss of ``image`` itself (e.g. the style image), same size as P, else NaN."""
    F = net.forward(image, until=layer)
    if tuple(F.shape[1:]) != tuple(P.shape[1:]):
        return float("nan")
    return float(asnumpy(content_loss(layer, P, norm).fn(F)[0]).sum())


def style_transfer(net, content, style, preset="gatys2016", alpha=None, beta=None,
                   tv_weight=None, content_layer=None, style_layers=None, style_weights=None,
                   init=None, step=None, steps=None, pooling=None, seed=0, progress=True):
    """Gatys et al. 2016: maximize ``-(alpha L_content + beta L_style + tv TV)``.

    Args:
        net: a Net. content: (1, C, H, W) preprocessed content image (sets the
            output size). style: (1, C, h, w) preprocessed style image.
        preset: a key of :data:`PRESETS`; every other argument overrides it
            (weights in the preset's units are converted, overrides are used as given).
        init: "content" or "noise" (seeded). step: "lbfgs" or a gradient step.

    Returns:
        ``optimize.Result``; history "content <layer>", "style", "style <layer>"
        (and "tv"); ``info``: layers, the weights used, ``style_content_loss``:
        the style image's own content loss (NaN if its size differs).

    Raises:
        KeyError: unknown preset or a layer the net does not have.
        ValueError: an image too small for the deepest layer (naming it and
            the minimum size), unknown init.
    """
    p = dict(choose("preset", preset, PRESETS))
    check_batch(content, "content")
    check_batch(style, "style")
    s = input_scale(net) / p["units"]
    c_layer = check_layers(net, [content_layer or p["content_layer"]], "content layer")[0]
    s_layers = check_layers(net, style_layers or p["style_layers"], "style layer")
    weights = style_weights or (p["style_weights"] if style_layers is None
                                else [1.0 / len(s_layers)] * len(s_layers))
    merged = {}                           # AlexNet: relu1_1 and relu1_2 both map to relu1
    for name, w in zip(s_layers, weights):
        merged[name] = merged.get(name, 0.0) + float(w)
    s_layers, weights = list(merged), list(merged.values())
    a = p["alpha"] * s ** -2 if alpha is None else alpha
    b = p["beta"] * s ** -4 if beta is None else beta
    tv = p["tv"] * s ** -2 if tv_weight is None else tv_weight
    init = init or p["init"]
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}: use one of {', '.join(INITS)}")
    check_size(net, content, [c_layer], "the content image")
    check_size(net, style, s_layers, "the style image")
    check_size(net, content, s_layers, "the content image (the output size)")
    work = pooled(net, pooling or p["pooling"])
    P = work.forward(content, until=c_layer).copy()
    A = gram_targets(work, style, s_layers, p["style_norm"], content.shape[2:])
    goal = a * content_loss(c_layer, P, p["content_norm"]) \
        + b * style_loss(s_layers, A, weights, p["style_norm"])
    if tv:
        goal = goal + tv * total_variation(2)
    xp = get_array_module(content)
    x0 = content.copy() if init == "content" else \
        noise(content.shape, input_scale(net) / CAFFE, seed, like=content)
    step = step or p["step"]
    lr = p["lr"]
    if step != "lbfgs" and isinstance(lr, tuple):          # (lr, decay step, factor)
        lr0, at, factor = lr[0] * s, lr[1], lr[2]
        lr = (lambda i: lr0 * (factor if i >= at else 1.0))
    elif step != "lbfgs":
        lr = 0.05 * input_scale(net) if lr is None else lr * s
    result = optimize(work, -goal, xp.asarray(x0), steps=steps or p["steps"], step=step,
                      lr=lr, bounds="pixels", seed=seed, progress=progress, desc="style")
    own = _content_loss_of(work, style, c_layer, P, p["content_norm"])
    result.info.update(content_layer=c_layer, style_layers=s_layers, alpha=a, beta=b,
                       tv_weight=tv, preset=preset, style_content_loss=np.float64(own))
    return result
