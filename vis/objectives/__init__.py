r"""Objectives: what a synthesized image should do to the network, as terms that add and scale.

**Sign convention, the one used everywhere in vis: an objective is
maximized.** Every term's value is what its name says — ``class_score`` is
the score, ``content`` is the content *loss*, ``total_variation`` is the
variation — so losses and priors enter with a minus sign::

    class_score(3) - 1e-3 * l2()                        Simonyan et al. 2014, Sec. 2
    -(content("relu4_2", P) + 1e3 * style(L, A))         Gatys et al. 2016, Eq. 7

A term reads one array — a layer's output in ``net.outputs`` or the image
``x`` itself — and returns its value per sample ``(N,)`` and the gradient of
that value with respect to the array. An objective is a weighted sum of
terms; calling it after ``net.forward`` returns an :class:`Evaluation`: the
objective per sample, every named term's own value (for the history), the
gradients ``{layer: dObjective/dA}`` to inject with ``net.backward``, and the
gradient of the image-space terms (priors). Design after Lucid/Lucent's
objectives (small objects that add and scale), with the gradients written out.

=====================  ==========================================================
``class_score(c)``     ``S_c``, the score before the softmax (Simonyan 2014, Sec. 2)
``class_probability``  ``log softmax(S)_c``: raised also by lowering other classes
``channel(layer, k)``  mean of channel k over positions (Olah et al. 2017)
``neuron(layer, k)``   one unit, the centre one by default (Yosinski 2015 toolbox)
``deepdream(layer)``   ``1/2 ||A||^2``; its gradient is A (Mordvintsev's objective_L2)
``content(layer, P)``  ``||F - P||^2``, normalised as in Gatys 2016 Eq. 1 (``1/2 sum``),
                       Mahendran 2015 (``/ ||P||^2``), ``mse`` or ``sum``
``style(layers, A)``   ``sum_l w_l E_l``, E_l in :data:`STYLE_NORMALIZATIONS`
``l2()``               ``||x||^2`` (Simonyan 2014, Sec. 2)
``alpha_norm(a)``      ``sum |x|^a`` (Mahendran & Vedaldi 2015: a = 6)
``total_variation(b)`` ``sum ((x[i,j+1]-x[i,j])^2 + (x[i+1,j]-x[i,j])^2)^(b/2)``
                       (Mahendran & Vedaldi 2015: b = 2), per channel
=====================  ==========================================================

Example:
    >>> import numpy as np
    >>> from minicnn import models
    >>> net = models.load("tiny")
    >>> x = np.zeros((2, 3, 64, 64), np.float32)
    >>> objective = class_score([1, 5]) - 1e-3 * l2()
    >>> _ = net.forward(x)
    >>> ev = objective(net, x)
    >>> sorted(ev.terms), ev.value.shape, sorted(ev.grads), ev.dx.shape
    (['l2', 'score'], (2,), ['fc'], (2, 3, 64, 64))
"""

from .content_style import (CONTENT_NORMALIZATIONS, STYLE_NORMALIZATIONS, content, gram_matrix,
                            style)
from .priors import alpha_norm, l2, total_variation
from .terms import SCORES, Evaluation, Objective, Term
from .units import channel, class_probability, class_score, deepdream, neuron

__all__ = ["SCORES", "Evaluation", "Objective", "Term", "class_score", "class_probability",
           "channel", "neuron", "deepdream", "content", "gram_matrix", "style",
           "CONTENT_NORMALIZATIONS", "STYLE_NORMALIZATIONS", "l2", "alpha_norm",
           "total_variation"]
