r"""The fast gradient sign method: one step of size epsilon along the gradient's sign.

Goodfellow, Shlens & Szegedy 2015, "Explaining and harnessing adversarial
examples", Sec. 3 (the unnumbered equation of the "fast gradient sign method")::

    eta   = epsilon * sign( grad_x J(theta, x, y) )
    x_adv = x + eta                                  (untargeted: climb J)
    x_adv = x - epsilon * sign( grad_x J(x, t) )     (targeted: descend J of target t)

Why does so small a step work? The linearity argument of Sec. 3: for a
linear score ``w . x`` the step changes the score by ``epsilon * ||w||_1``,
which grows with the dimension while ``||eta||_inf`` stays epsilon. The test
suite checks that closed form on a logistic regression.

The paper's numbers: epsilon = .25 on MNIST (pixels in [0, 1]), .1 on
CIFAR-10 and .007 for the panda/gibbon on GoogLeNet ("the smallest bit of an 8
bit image encoding after GoogLeNet's conversion to real numbers"). There is no
default here: epsilon is the experiment.

Where this code differs from the paper (see ``pixels.py``):

* epsilon is in [0, 1] RGB pixel units whatever the preprocessing, and the
  result is clipped to the valid pixel range (``bounds``), as the Kurakin et
  al. 2017 ``Clip`` and every library do; the paper did not clip.
* ``sign(0) = 0``: where the gradient is exactly zero nothing moves (Captum's
  ``FGSM`` leaves values with ``|g| <= 1e-6`` unmoved instead).

Example:
    >>> import numpy as np
    >>> from minicnn import models
    >>> from minicnn.data import make_shapes
    >>> from minicnn.preprocessing import preprocess
    >>> net = models.load("tiny")
    >>> data = make_shapes(4, seed=12345)
    >>> r = fgsm(net, preprocess(data.images, net.meta), data.labels, epsilon=8 / 255)
    >>> float(np.abs(r.delta).max()) <= 8 / 255 + 1e-6, r.image.shape, r.forward, r.backward
    (True, (4, 3, 64, 64), 2, 1)
"""

from typing import NamedTuple

from minicnn.backend import asnumpy, get_array_module

from .common import (FIELDS_DOC, check_batch, check_epsilon, check_flag, check_labels,
                     loss_gradient, outcome)
from .pixels import clip, pixel_space


class FGSMResult(NamedTuple):
    x: object
    image: object
    delta: object
    pred: object
    confidence: object
    clean_pred: object
    true_label: object
    target: object
    success: object
    forward: int
    backward: int
    loss: object


FGSMResult.__doc__ = f"""Result of :func:`fgsm`.

    Attributes:
        {FIELDS_DOC}
        loss: (N,) cross-entropy J(x, y) at the clean input.
    """


def fgsm(net, x, label, epsilon, targeted=False, bounds=(0.0, 1.0)):
    """One fast-gradient-sign step (Goodfellow et al. 2015, Sec. 3).

    Args:
        net: a Net with class scores.
        x: (N, C, H, W) preprocessed batch (NumPy or CuPy).
        label: true class per sample (an int or N ints); with
            ``targeted=True`` the target class instead.
        epsilon: L-inf size of the step in [0, 1] pixel units (8/255 = eight
            grey levels).
        targeted: step *down* the loss of ``label`` instead of up.
        bounds: valid pixel range (low, high) the result is clipped to, in
            pixel units; None for no clipping (the paper's form).

    Returns:
        :class:`FGSMResult`; ``forward == 2`` (gradient and check) and
        ``backward == 1`` per image.

    Raises:
        ValueError: epsilon < 0 or not finite, a label out of range, a batch
            that is not (N, C, H, W), ``targeted`` not True/False.
    """
    check_batch(x)
    eps = check_epsilon(epsilon, at_most=1.0)
    y = check_labels(net, label, x.shape[0])
    targeted = check_flag(targeted, "targeted")
    xp = get_array_module(x)
    space = pixel_space(net, x, bounds)
    loss, s, g = loss_gradient(net, x, y)
    # BEGIN SOLUTION fgsm
    direction = -1 if targeted else 1
    x_adv = clip(x + (direction * eps) * space.k * xp.sign(g), space).astype(x.dtype)
    # END SOLUTION fgsm
    clean_pred = asnumpy(s).argmax(axis=1)
    fields = outcome(net, x, x_adv, clean_pred, None if targeted else y,
                     y if targeted else None, forward=1, backward=1)
    return FGSMResult(**fields, loss=loss)
