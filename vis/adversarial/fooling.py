r"""Fooling images: climb one class score until the net says that class.

The recipe of the cs231n assignment ("Network Visualization", "Fooling
images", after Szegedy et al. 2014, "Intriguing properties of neural
networks"): start from a real image and do gradient *ascent* on the score
``S_t`` of a target class ``t`` (the score before the softmax, as in
Simonyan et al. 2014, Sec. 2), with a step of fixed L2 length, until the net
predicts ``t``::

    repeat at most max_iter times:
        if argmax S(x) == t: stop
        g = dS_t / dx
        x = x + lr * g / ||g||_2

cs231n's defaults: ``lr = 1`` and 100 iterations (its SqueezeNet input is
ImageNet-normalized, so one step there is about 0.22 in [0, 1] pixel units).
Here the step ``lr`` is the L2 length of the change of the RGB image in [0, 1]
pixel units (``pixels.py``), each sample stops on its own, and every iterate
is clipped to the valid pixel range (cs231n does not clip). The difference
from the original is invisible; cs231n shows it magnified ten times, which
:class:`FoolingResult` returns ready to display.

Example:
    >>> import numpy as np
    >>> from minicnn import models
    >>> from minicnn.data import make_shapes
    >>> from minicnn.preprocessing import preprocess
    >>> net = models.load("tiny")
    >>> data = make_shapes(2, seed=12345)            # a circle and a triangle
    >>> r = fooling_image(net, preprocess(data.images, net.meta), target=5)
    >>> r.pred.tolist(), r.success.tolist(), r.magnified.shape
    ([5, 5], [True, True], (2, 3, 64, 64))
"""

from typing import NamedTuple

import numpy as np

from minicnn.backend import asnumpy, get_array_module

from ..netinfo import score_layer
from .common import (FIELDS_DOC, check_batch, check_labels, check_positive, outcome,
                     scores)
from .iterative import _norm2
from .pixels import clip, pixel_space

#: cs231n's display of the change: ten times the difference, around mid-grey.
MAGNIFY = 10.0


class FoolingResult(NamedTuple):
    x: object
    image: object
    delta: object
    pred: object
    confidence: object
    clean_pred: object
    true_label: object
    target: object
    success: object
    forward: object
    backward: object
    iterations: object
    magnified: object


FoolingResult.__doc__ = f"""Result of :func:`fooling_image`.

    Attributes:
        {FIELDS_DOC}
        iterations: (N,) gradient steps each sample took (0: already the target).
        magnified: (N, 3, H, W) ``clip(0.5 + 10 * delta, 0, 1)``, the change
            made visible (cs231n shows ``10 * (X_fooling - X)``).
    """


def fooling_image(net, x, target, lr=1.0, max_iter=100, bounds=(0.0, 1.0)):
    """Normalized gradient ascent on the target score until the net predicts it.

    Args:
        net: a Net with class scores; x: (N, C, H, W) preprocessed batch.
        target: target class (an int or N ints).
        lr: L2 length of each step in [0, 1] RGB pixel units (cs231n: 1).
        max_iter: most steps per sample (cs231n: 100).
        bounds: valid pixel range (low, high); None for none.

    Returns:
        :class:`FoolingResult`; samples that did not reach the target after
        ``max_iter`` steps have ``success == False`` and keep their last iterate.

    Raises:
        ValueError: a target out of range, lr <= 0, max_iter < 1.
    """
    check_batch(x)
    N = x.shape[0]
    t = check_labels(net, target, N, name="target")
    lr = check_positive(lr, "lr")
    max_iter = check_positive(max_iter, "max_iter", integer=True)
    xp = get_array_module(x)
    space = pixel_space(net, x, bounds)
    name = score_layer(net)
    x_adv = x.copy()
    iterations = np.zeros(N, np.int64)
    forward = np.zeros(N, np.int64)
    active = np.arange(N)                       # samples still climbing
    clean_pred, s_final = None, None
    for it in range(max_iter + 1):
        idx = xp.asarray(active)
        s = scores(net, x_adv[idx])
        s_final = xp.zeros((N, s.shape[1]), s.dtype) if s_final is None else s_final
        s_final[idx] = s                            # scores of each sample's latest iterate
        forward[active] += 1
        pred = asnumpy(s).argmax(axis=1)
        if clean_pred is None:
            clean_pred = pred.copy()
        going = pred != t[active]
        if not going.any() or it == max_iter:
            break
        onehot = xp.zeros_like(s)                  # dS_t/dS, zero for finished rows
        onehot[xp.arange(len(active)), xp.asarray(t[active])] = xp.asarray(going, s.dtype)
        g_px = net.backward({name: onehot}) * space.k
        n = _norm2(g_px)
        step = xp.where(n > 0, g_px / xp.maximum(n, 1e-30), 0) * space.k
        x_adv[idx] = clip(x_adv[idx] + lr * step, space).astype(x.dtype)
        iterations[active[going]] += 1
        active = active[going]
    fields = outcome(net, x, x_adv, clean_pred, None, t, forward=forward,
                     backward=iterations.copy(), s_adv=s_final)
    magnified = np.clip(0.5 + MAGNIFY * fields["delta"], 0.0, 1.0)
    return FoolingResult(**fields, iterations=iterations, magnified=magnified)
