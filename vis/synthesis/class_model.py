r"""Class model visualization: the image the network scores highest for a class.

Simonyan, Vedaldi & Zisserman 2014 ("Deep Inside Convolutional Networks"),
Sec. 2, Eq. 1::

    I* = argmax_I  S_c(I) - lambda ||I||_2^2

"where S_c is the score of class c, computed by the classification layer of
the ConvNet ... We use the (unnormalised) class scores S_c, rather than the
class posteriors returned by the soft-max layer, P_c = exp S_c / sum_c exp S_c.
The reason is that the maximisation of the class posterior can be achieved by
minimising the scores of other classes." The optimisation starts from the zero
image (the ConvNet was trained on zero-centred images; the mean image is added
back for display) and uses back-propagation.

``objective="probability"`` maximizes ``log P_c`` instead (log-softmax), to see
the contrast the slide draws: on the shapes model the score alone drives some
images to *another* class, whose score grows faster; the posterior cannot.

Defaults and where they come from:

* start: zeros in network input space, the dataset mean (Simonyan, Sec. 2);
* lambda = 1e-3 on torchvision-normalised input (cs231n assignment 3,
  ``l2_reg``; the paper gives no value), converted to this net's units
  (``common.py``: lambda scales by ``s**-2``);
* Adam with lr 0.05 per unit of [0, 1] RGB (Lucid/Lucent's default optimizer),
  i.e. ``0.05 * input_scale(net)``, 100 steps, pixels kept in [0, 1]; the paper
  does not give its step rule or number of steps.

Example:
    >>> from minicnn import models
    >>> net = models.load("tiny")
    >>> r = class_model(net, [0, 3], steps=3, progress=False)
    >>> r.x.shape, r.info["classes"].tolist(), r.history["score"].shape
    ((2, 3, 64, 64), [0, 3], (3, 2))
"""

import numpy as np

from minicnn.backend import asnumpy

from ..netinfo import class_count, input_size, score_layer
from ..objectives import class_probability, class_score, l2
from ..optimize import optimize
from .common import TORCHVISION, choose, input_scale, on_device

#: The two objectives of the slide.
OBJECTIVES = {"score": class_score, "probability": class_probability}


def _softmax(S):
    e = np.exp(S - S.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def class_model(net, target, objective="score", l2_weight=None, steps=100, step="adam",
                lr=None, size=None, transforms=(), seed=0, progress=True):
    """Simonyan et al. 2014, Sec. 2: maximize ``S_c - lambda ||x||^2`` from the mean image.

    Args:
        net: a classifier (its last layer, or the one before a Softmax, gives scores).
        target: a class index, or a list of N classes (one image each).
        objective: ``"score"`` (the paper) or ``"probability"`` (log-softmax).
        l2_weight: lambda, in this net's input units (default: module docstring).
        steps, step, lr, transforms, seed, progress: as ``optimize`` (lr default
            ``0.05 * input_scale(net)``).
        size: (H, W) of the image; default the model's input size.

    Returns:
        ``optimize.Result``; ``info`` holds ``classes`` (N,), ``scores_start`` and
        ``scores`` (N, K) at the start and final image, ``probabilities`` (N, K)
        and ``predicted`` (N,) of the final image.

    Raises:
        KeyError: unknown objective. ValueError: a net without class scores,
            a class out of range.
    """
    make = choose("objective", objective, OBJECTIVES)
    K = class_count(net)
    classes = np.atleast_1d(np.asarray(target))
    if classes.dtype.kind not in "iu" or ((classes < 0) | (classes >= K)).any():
        raise ValueError(f"target {target!r}: class indices 0 .. {K - 1} expected")
    s = input_scale(net)
    lam = 1e-3 * (TORCHVISION / s) ** 2 if l2_weight is None else l2_weight
    H, W = size or input_size(net)
    x0 = on_device(net, np.zeros((len(classes), net.input_shape()[0], H, W), np.float32))
    goal = make(classes.tolist()) - lam * l2()
    result = optimize(net, goal, x0, steps=steps, step=step,
                      lr=0.05 * s if lr is None else lr, transforms=transforms,
                      bounds="pixels", seed=seed, progress=progress,
                      desc=f"class model ({objective})")
    name = score_layer(net)
    start = asnumpy(net.forward(x0, until=name)).astype(np.float64)
    final = asnumpy(net.forward(on_device(net, result.x), until=name)).astype(np.float64)
    result.info.update(classes=classes, scores_start=start, scores=final,
                       probabilities=_softmax(final), predicted=final.argmax(axis=1))
    return result
