r"""Feature inversion: which images does a layer confuse with the original?

Mahendran & Vedaldi 2015 ("Understanding Deep Image Representations by
Inverting Them"). Given the representation ``Phi_0 = Phi(x_0)`` of an
image at one layer, find

    x* = argmin_x  ||Phi(x) - Phi_0||^2 / ||Phi_0||^2  +  lambda_a R_a(x)  +  lambda_V R_V(x)

with the alpha-norm ``R_a = sum |x|^a``, a = 6 (it keeps the pixels in
range) and total variation ``R_V = sum ((dx)^2 + (dy)^2)^(beta/2)``, beta = 2
(it favours piecewise-smooth images). As the paper balances its terms, the
loss is normalised by ``||Phi_0||^2`` so that one set of weights suits every
layer (CVPR 2015, Sec. 3). The priors are normalised by the image size and a
typical pixel norm B (80 on the 0-255 mean-subtracted scale; converted to
this net's units) and gradient ``V = B / 6.5``, the constants of the journal
version (Mahendran & Vedaldi 2016, IJCV, "Visualizing deep convolutional
neural networks using natural pre-images", on balancing the terms; the CVPR
paper scales the input by the average image norm instead)::

    lambda_a sum |x|^a / (H W B^a)      lambda_V sum (...)^(beta/2) / (H W V^beta)

Deeper layers keep less of the image and need a stronger prior: the TV
weight grows tenfold from early to middle to late layers,
``lambda_V = 1e-3 x (1, 10, 100)`` (thirds of the conv stack), with
``lambda_a = 1e-3``. These values are ours, measured on ``vgg16_hed`` at
64-128 px; their ratio follows the paper's advice of more regularization for
deeper layers, their scale depends on the normalisation above.

Where this code differs: L-BFGS-B with the pixel bounds instead of the
paper's momentum gradient descent (R. Fong's PyTorch reimplementation,
``invert.py``: SGD, momentum 0.9, lr 100, 200 steps, lr x0.1 after 100), 200
evaluations; the start is N(0, (1e-3)^2) noise in torchvision units (that
code's), converted.

Example:
    >>> import numpy as np
    >>> from minicnn import models
    >>> net = models.load("tiny")
    >>> x = np.random.default_rng(0).uniform(-1, 1, (1, 3, 32, 32)).astype(np.float32)
    >>> r = invert(net, x, "relu1_2", steps=3, progress=False)
    >>> r.info["depth"], sorted(r.history)
    ('early', ['alpha', 'content relu1_2', 'objective', 'tv'])
    >>> inversion_layers(net)
    ['relu1_2', 'relu2_2', 'relu3_2', 'relu4_2']
"""

import numpy as np

from minicnn.backend import asnumpy, get_array_module
from minicnn.layers import MaxPool2d

from ..netinfo import conv_layers
from ..objectives import alpha_norm, content, total_variation
from ..optimize import optimize, to_image
from .common import TORCHVISION, check_batch, check_layers, check_size, input_scale, noise

#: Mahendran & Vedaldi's typical pixel norm on the 0-255 scale, and V = B / 6.5.
B_CAFFE = 80.0
DEPTHS = ("early", "middle", "late")
#: TV weight per depth and the alpha-norm weight (module docstring: ours).
TV_WEIGHTS = {"early": 1e-3, "middle": 1e-2, "late": 1e-1}
ALPHA_WEIGHT = 1e-3


def depth(net, layer):
    """"early", "middle" or "late": the third of the conv stack the layer's conv falls in."""
    convs = conv_layers(net)
    below = [c for c in convs if net.index(c) <= net.index(layer)]
    f = (len(below) - 1) / max(len(convs) - 1, 1) if below else 0.0
    return DEPTHS[min(int(f * 3), 2)]


def inversion_layers(net):
    """The ReLU before each pooling layer and the last conv's: one layer per block."""
    names, convs = [], conv_layers(net)
    for i, layer in enumerate(net.layers):
        if isinstance(layer, MaxPool2d) and i > 0 and net.layers[i - 1].name in convs:
            names.append(net.layers[i - 1].name)
    if convs and convs[-1] not in names:
        names.append(convs[-1])
    return names


def invert(net, x, layer, steps=200, tv_weight=None, alpha_weight=None, alpha=6.0,
           beta=2.0, step="lbfgs", lr=None, x0=None, seed=0, progress=True):
    """Mahendran & Vedaldi 2015: reconstruct ``x`` from its representation at ``layer``.

    Args:
        net: a Net. x: (N, C, H, W) preprocessed image(s). layer: e.g. "relu3_3".
        steps: evaluations (L-BFGS-B) or steps. tv_weight, alpha_weight: lambda_V,
            lambda_a (default by depth, see :data:`TV_WEIGHTS`). alpha, beta: the exponents.
        step, lr: as ``optimize`` (lr only for gradient steps).
        x0: start; default seeded small noise.

    Returns:
        ``optimize.Result``; ``info``: ``layer``, ``depth``, the weights, and per
        image ``feature_error`` = ||Phi(x*) - Phi_0|| / ||Phi_0||, ``image_error``,
        the RMS difference of the two images in [0, 1] RGB, and
        ``image_correlation``, the Pearson correlation of their pixels (blind to
        the loss of contrast the priors cause).

    Raises:
        KeyError: unknown layer. ValueError: an image too small for the layer.
    """
    check_batch(x)
    layer = check_layers(net, [layer])[0]
    check_size(net, x, [layer], "the image")
    where = depth(net, layer)
    lam_v = TV_WEIGHTS[where] if tv_weight is None else tv_weight
    lam_a = ALPHA_WEIGHT if alpha_weight is None else alpha_weight
    H, W = x.shape[2:]
    B = B_CAFFE * input_scale(net) / 255.0
    V = B / 6.5
    P = net.forward(x, until=layer).copy()
    goal = -(content(layer, P, "mahendran") + lam_a / (H * W * B ** alpha) * alpha_norm(alpha)
             + lam_v / (H * W * V ** beta) * total_variation(beta))
    if x0 is None:
        x0 = noise(x.shape, 1e-3 * input_scale(net) / TORCHVISION, seed, like=x)
    result = optimize(net, goal, get_array_module(x).asarray(x0), steps=steps, step=step,
                      lr=0.05 * input_scale(net) if lr is None else lr, bounds="pixels",
                      seed=seed, progress=progress, desc=f"invert {layer}")
    F = net.forward(get_array_module(x).asarray(result.x), until=layer)
    N = len(x)
    ferr = np.sqrt(asnumpy(((F - P) ** 2).reshape(N, -1).sum(axis=1))
                   / asnumpy((P * P).reshape(N, -1).sum(axis=1)))
    a, b = result.image.reshape(N, -1), to_image(net, x).reshape(N, -1)
    ierr = np.sqrt(((a - b) ** 2).mean(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):      # a flat image: NaN
        corr = [np.corrcoef(u, v)[0, 1] for u, v in zip(a, b)]
    result.info.update(layer=layer, depth=where, tv_weight=lam_v, alpha_weight=lam_a,
                       feature_error=ferr.astype(np.float64), image_error=ierr.astype(np.float64),
                       image_correlation=np.asarray(corr, np.float64))
    return result


def invert_layers(net, x, layers=None, **options):
    """:func:`invert` at several layers (default :func:`inversion_layers`): ``{layer: Result}``.

    Every layer is checked before the first inversion starts."""
    layers = check_layers(net, layers or inversion_layers(net))
    check_size(net, x, layers, "the image")
    return {layer: invert(net, x, layer, **options) for layer in layers}
